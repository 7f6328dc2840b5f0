/*
 * xalloc.h: allocation that does not return on failure.
 *
 * Running out of memory is a work failure like any other: these report it
 * with err(3) and exit EXIT_DATA, so that callers need no NULL checks.
 * (The fuzz targets turn err(3) into a jump back, as for any error.)
 */
#ifndef DI_XALLOC_H
#define DI_XALLOC_H

#include <stddef.h>

void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
