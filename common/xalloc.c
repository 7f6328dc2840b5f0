#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "xalloc.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		err(EXIT_DATA, "malloc");
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n, size)) == NULL)
		err(EXIT_DATA, "malloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		err(EXIT_DATA, "malloc");
	return d;
}

char *
xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (d == NULL)
		err(EXIT_DATA, "malloc");
	return d;
}
