/* image_ref.c: matching image names through the reference grammar. */
#include <stdlib.h>
#include <string.h>

#include "image_ref.h"
#include "reference.h"

/* R's path without the "library/" that the grammar puts before one word. */
static const char *
short_path(const struct reference *r)
{
	if (strcmp(r->domain, REFERENCE_DOCKER_HUB) == 0 &&
	    strncmp(r->path, "library/", 8) == 0 &&
	    strchr(r->path + 8, '/') == NULL)
		return r->path + 8;
	return r->path;
}

/* Is L on localhost, and S (parsed as R) its path without a registry? */
static int
local_alias(const struct reference *l, const char *s, const struct reference *r)
{
	return strcmp(l->domain, "localhost") == 0 &&
	       !reference_has_domain(s, strlen(s)) &&
	       strcmp(l->path, short_path(r)) == 0;
}

/* Same repository: equal names, or one on localhost by its path alone. */
static int
same_name(const char *as, const struct reference *a, const char *bs,
          const struct reference *b)
{
	if (strcmp(a->domain, b->domain) == 0)
		return strcmp(a->path, b->path) == 0;
	return local_alias(a, bs, b) || local_alias(b, as, a);
}

int
image_ref_match(const char *ref, const char *name, const char *tag)
{
	struct reference have, want;
	char *why;
	int match = 1;

	if (reference_parse(ref, strlen(ref), &have, &why) < 0) {
		free(why);
		return 0;
	}
	if (name != NULL) {
		if (reference_parse(name, strlen(name), &want, &why) < 0) {
			free(why);
			reference_free(&have);
			return 0;
		}
		match = same_name(ref, &have, name, &want);
		if (tag == NULL && want.tag != NULL)
			tag = want.tag;
	}
	if (match && tag != NULL)
		match = strcmp(have.tag ? have.tag : "latest", tag) == 0;
	reference_free(&have);
	if (name != NULL)
		reference_free(&want);
	return match;
}

int
image_ref_check(const char *name, char **why)
{
	struct reference r;

	if (reference_parse(name, strlen(name), &r, why) < 0)
		return -1;
	reference_free(&r);
	return 0;
}
