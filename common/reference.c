/*
 * reference.c: parsing image references by the grammar of Docker's
 * distribution/reference package.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "reference.h"
#include "xalloc.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static char *
dup_range(const char *s, size_t n)
{
	char *p = xstrndup(s, n);

	return p;
}

static int
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/*
 * A path component: [a-z0-9]+ joined by separators ".", "_", "__" or any
 * run of "-".
 */
static int
component_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return 0;
		if (i == n)
			return 1;
		if (s[i] == '.' ||
		    (s[i] == '_' && (i + 1 >= n || s[i + 1] != '_')))
			i++;
		else if (s[i] == '_')
			i += 2;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return 0;
		if (i == n)
			return 0;
	}
	return n > 0;
}

static int
path_valid(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!component_valid(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* A host name label: [A-Za-z0-9] or [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]. */
static int
label_valid(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
port_valid(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* host[:port], the host a name or an IPv6 address in brackets. */
static int
domain_valid(const char *s, size_t n)
{
	const char *colon;
	size_t hostlen = n;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL || close == s + 1)
			return 0;
		for (const char *p = s + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return 0;
		hostlen = (size_t)(close - s) + 1;
		if (hostlen == n)
			return 1;
		return s[hostlen] == ':' &&
		       port_valid(s + hostlen + 1, n - hostlen - 1);
	}
	colon = memchr(s, ':', n);
	if (colon != NULL) {
		hostlen = (size_t)(colon - s);
		if (!port_valid(colon + 1, n - hostlen - 1))
			return 0;
	}
	size_t start = 0;
	for (size_t i = 0; i <= hostlen; i++) {
		if (i < hostlen && s[i] != '.')
			continue;
		if (!label_valid(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

int
reference_tag_valid(const char *tag, size_t len)
{
	if (len == 0 || len > TAG_MAX_LEN || tag[0] == '.' || tag[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(tag[i]) && !strchr("_.-", tag[i]))
			return 0;
	return 1;
}

static int
digest_valid(const char *s, size_t n)
{
	if (n != 7 + 64 || memcmp(s, "sha256:", 7) != 0)
		return 0;
	for (size_t i = 7; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Docker's rule: the first component names a registry when it holds a "."
 * or a ":", is "localhost", or has an upper-case letter (which a
 * repository path may not); otherwise the registry is docker.io.
 */
static size_t
domain_length(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t k;

	if (slash == NULL)
		return 0;
	k = (size_t)(slash - s);
	if (memchr(s, '.', k) || memchr(s, ':', k) ||
	    (k == 9 && memcmp(s, "localhost", 9) == 0))
		return k;
	for (size_t i = 0; i < k; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return k;
	return 0;
}

int
reference_has_domain(const char *s, size_t len)
{
	return domain_length(s, len) > 0;
}

int
reference_name_valid(const char *name, size_t len)
{
	size_t dlen = domain_length(name, len);

	if (len == 0 || len > NAME_MAX_LEN || memchr(name, '\0', len))
		return 0;
	if (dlen > 0 && !domain_valid(name, dlen))
		return 0;
	return path_valid(name + (dlen ? dlen + 1 : 0),
	                  len - (dlen ? dlen + 1 : 0));
}

/* Split NAME into the registry and the repository path, with defaults. */
static void
split_name(const char *s, size_t n, struct reference *ref)
{
	size_t dlen = domain_length(s, n);
	const char *path = s + (dlen ? dlen + 1 : 0);
	size_t plen = n - (dlen ? dlen + 1 : 0);

	if (dlen == 0 || (dlen == 15 && memcmp(s, "index.docker.io", 15) == 0))
		ref->domain = dup_range(REFERENCE_DOCKER_HUB,
		                        strlen(REFERENCE_DOCKER_HUB));
	else
		ref->domain = dup_range(s, dlen);
	if (strcmp(ref->domain, REFERENCE_DOCKER_HUB) == 0 &&
	    memchr(path, '/', plen) == NULL) {
		ref->path = xmalloc(plen + 9);
		memcpy(ref->path, "library/", 8);
		memcpy(ref->path + 8, path, plen);
		ref->path[plen + 8] = '\0';
	} else {
		ref->path = dup_range(path, plen);
	}
}

static int
parse_name(const char *s, size_t n, struct reference *ref, char **why)
{
	size_t dlen = domain_length(s, n);

	if (n == 0)
		return error_set(why, "%s", "no repository name");
	if (n > NAME_MAX_LEN)
		return error_set(why, "repository name longer than %s bytes",
		                 "255");
	if (dlen > 0 && !domain_valid(s, dlen))
		return error_set(why, "%s", "invalid registry name");
	if (!path_valid(s + (dlen ? dlen + 1 : 0), n - (dlen ? dlen + 1 : 0))) {
		for (size_t i = dlen; i < n; i++)
			if (s[i] >= 'A' && s[i] <= 'Z')
				return error_set(
				    why, "%s",
				    "repository name must be lowercase");
		return error_set(why, "%s", "invalid repository name");
	}
	split_name(s, n, ref);
	return 0;
}

int
reference_parse(const char *s, size_t len, struct reference *ref, char **why)
{
	const char *at, *colon, *slash;
	size_t namelen = len;

	memset(ref, 0, sizeof(*ref));
	*why = NULL;
	if (memchr(s, '\0', len) != NULL)
		return error_set(why, "%s", "NUL byte in reference");
	at = memchr(s, '@', len);
	if (at != NULL) {
		namelen = (size_t)(at - s);
		if (!digest_valid(at + 1, len - namelen - 1))
			return error_set(
			    why, "%s",
			    "digest is not sha256: and 64 lowercase "
			    "hex digits");
	}
	/* A tag is after the last ':' that follows the last '/'. */
	colon = memrchr(s, ':', namelen);
	slash = memrchr(s, '/', namelen);
	if (colon != NULL && (slash == NULL || colon > slash)) {
		size_t taglen = namelen - (size_t)(colon - s) - 1;
		if (!reference_tag_valid(colon + 1, taglen))
			return error_set(why, "%s", "invalid tag");
		ref->tag = dup_range(colon + 1, taglen);
		namelen = (size_t)(colon - s);
	}
	if (parse_name(s, namelen, ref, why) < 0) {
		reference_free(ref);
		return -1;
	}
	if (at != NULL)
		ref->digest = dup_range(at + 1, len - (size_t)(at - s) - 1);
	return 0;
}

void
reference_free(struct reference *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

const char *
reference_api_host(const struct reference *ref)
{
	if (strcmp(ref->domain, REFERENCE_DOCKER_HUB) == 0)
		return "registry-1.docker.io";
	return ref->domain;
}

char *
reference_familiar_name(const struct reference *ref)
{
	char *s;

	if (strcmp(ref->domain, REFERENCE_DOCKER_HUB) != 0) {
		s = xasprintf("%s/%s", ref->domain, ref->path);
		return s;
	}
	if (strncmp(ref->path, "library/", 8) == 0 &&
	    strchr(ref->path + 8, '/') == NULL)
		s = xstrdup(ref->path + 8);
	else
		s = xstrdup(ref->path);
	return s;
}
