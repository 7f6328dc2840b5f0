/* image_ref.c: matching image names through the reference grammar. */
#include <stdlib.h>
#include <string.h>

#include "image_ref.h"
#include "reference.h"

/* The repository path as written when the domain is implied, or NULL. */
static const char *
short_path(const struct reference *r)
{
	if (strcmp(r->domain, "localhost") == 0)
		return r->path;
	if (strcmp(r->domain, REFERENCE_DOCKER_HUB) == 0)
		return strncmp(r->path, "library/", 8) == 0 &&
		               strchr(r->path + 8, '/') == NULL
		           ? r->path + 8
		           : r->path;
	return NULL;
}

/* Same repository: equal names, or one on localhost by its path alone. */
static int
same_name(const struct reference *a, const struct reference *b)
{
	const char *x, *y;

	if (strcmp(a->domain, b->domain) == 0)
		return strcmp(a->path, b->path) == 0;
	if (strcmp(a->domain, "localhost") != 0 &&
	    strcmp(b->domain, "localhost") != 0)
		return 0;
	x = short_path(a);
	y = short_path(b);
	return x != NULL && y != NULL && strcmp(x, y) == 0;
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
		match = same_name(&have, &want);
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
