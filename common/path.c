/* path.c: normalization of member names. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "path.h"
#include "xalloc.h"

/* Clean NAME; DOTDOT_OK says whether ".." may pop (at the root: ignored). */
static char *
clean(const char *name, int dotdot_ok)
{
	size_t n = strlen(name), len = 0;
	char *out = xmalloc(n + 1);

	for (const char *p = name; *p;) {
		const char *e = strchr(p, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if (k == 0 || (k == 1 && p[0] == '.')) {
			/* empty or "." element */
		} else if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (!dotdot_ok) {
				free(out);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, k);
			len += k;
		}
		p += k;
		if (*p == '/')
			p++;
	}
	out[len] = '\0';
	return out;
}

char *
path_normalize(const char *name)
{
	return clean(name, 0);
}

char *
path_go_clean(const char *name)
{
	char *s = clean(name, 1);

	if (*s == '\0') {
		free(s);
		s = xstrdup(".");
	}
	return s;
}

char *
path_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *s = xstrndup(path, slash ? (size_t)(slash - path) : 0);

	return s;
}

int
path_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}
