/*
 * xalloc.h: allocation that does not return on failure.
 *
 * Running out of memory is a work failure like any other: these report it
 * with err(3) and exit EXIT_DATA, so that callers need no NULL checks.
 * (The fuzz targets turn err(3) into a jump back, as for any error.)
 * Every allocation of di's own goes through these; err(EXIT_DATA,
 * "malloc") is written out only beside library calls that allocate for
 * us (tsearch, open_memstream, libcurl, libarchive).
 */
#ifndef DI_XALLOC_H
#define DI_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif
