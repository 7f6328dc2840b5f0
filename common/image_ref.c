/* image_ref.c: matching image references with Docker's defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "image_ref.h"

struct ref {
	char *name; /* registry/path, defaults filled in */
	char *bare; /* the name as written, without "localhost/" */
	char *tag;  /* NULL when none was written */
};

/* Split "name[:tag][@digest]"; a ':' before the last '/' is a port. */
static void
parse(const char *s, struct ref *r)
{
	char *copy = strdup(s), *at, *colon, *slash, *first_end;
	const char *domain = "docker.io", *path;

	if (copy == NULL)
		err(EXIT_DATA, "malloc");
	if ((at = strchr(copy, '@')) != NULL)
		*at = '\0';
	colon = strrchr(copy, ':');
	slash = strrchr(copy, '/');
	r->tag = NULL;
	if (colon != NULL && (slash == NULL || colon > slash)) {
		*colon = '\0';
		r->tag = strdup(colon + 1);
	}
	path = copy;
	first_end = strchr(copy, '/');
	if (first_end != NULL) {
		size_t n = (size_t)(first_end - copy);
		if (memchr(copy, '.', n) || memchr(copy, ':', n) ||
		    (n == 9 && strncmp(copy, "localhost", 9) == 0)) {
			*first_end = '\0';
			domain = strcmp(copy, "index.docker.io") ? copy
			                                         : "docker.io";
			path = first_end + 1;
		}
	}
	if (asprintf(&r->name, "%s/%s%s", domain,
	             strcmp(domain, "docker.io") == 0 && !strchr(path, '/')
	                 ? "library/"
	                 : "",
	             path) < 0)
		err(EXIT_DATA, "malloc");
	r->bare = strdup(strcmp(domain, "localhost") == 0 ? path : s);
	if (r->bare == NULL)
		err(EXIT_DATA, "malloc");
	if ((at = strchr(r->bare, '@')) != NULL)
		*at = '\0';
	if (r->tag != NULL && (colon = strrchr(r->bare, ':')) != NULL &&
	    !strchr(colon, '/'))
		*colon = '\0';
	free(copy);
}

static void
ref_free(struct ref *r)
{
	free(r->name);
	free(r->bare);
	free(r->tag);
}

int
image_ref_match(const char *ref, const char *name, const char *tag)
{
	struct ref have, want = {0};
	int match = 1;

	parse(ref, &have);
	if (name != NULL) {
		parse(name, &want);
		match = strcmp(have.name, want.name) == 0 ||
		        strcmp(have.bare, want.bare) == 0;
		if (tag == NULL)
			tag = want.tag;
	}
	if (match && tag != NULL)
		match = strcmp(have.tag ? have.tag : "latest", tag) == 0;
	ref_free(&have);
	if (name != NULL)
		ref_free(&want);
	return match;
}

const char *
image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}
