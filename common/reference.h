/*
 * reference.h: image references as Docker spells them,
 * [registry[:port]/]repository[:tag][@sha256:digest], with Docker's
 * defaults: registry docker.io (whose API host is registry-1.docker.io),
 * "library/" before one-word names on docker.io.
 *
 * The parser works on a memory buffer and reports errors rather than
 * exiting, so that it can be fed any bytes.  A struct reference owns its
 * strings; reference_free releases them.
 */
#ifndef DI_REFERENCE_H
#define DI_REFERENCE_H

#include <stddef.h>

#define REFERENCE_DOCKER_HUB "docker.io"

struct reference {
	char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* "library/alpine" */
	char *tag;    /* NULL when the reference has none */
	char *digest; /* "sha256:<hex>", or NULL */
};

/*
 * Parse the LEN bytes at S.  Returns 0 and fills REF, or -1 with *WHY
 * (malloc'd) saying what is wrong; REF is then left empty.
 */
int reference_parse(const char *s, size_t len, struct reference *ref,
                    char **why);
void reference_free(struct reference *ref);

/* The host to send API requests to: registry-1.docker.io for docker.io. */
const char *reference_api_host(const struct reference *ref);
/* The name as Docker shows it: "alpine", "user/app", "host:5000/app". */
char *reference_familiar_name(const struct reference *ref);
/* Is TAG a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})? */
int reference_tag_valid(const char *tag, size_t len);
/*
 * Does the name in the LEN bytes at S begin with a registry part, by the
 * grammar's rule (a first component with ".", ":" or an upper-case
 * letter, or "localhost")?  "busybox" and "user/app" do not; "Foo/app",
 * "localhost/app" and "r.io/app" do.
 */
int reference_has_domain(const char *s, size_t len);
/* Is NAME a valid repository name, with an optional registry part? */
int reference_name_valid(const char *name, size_t len);

#endif
