/*
 * errors.c: the usage error and --version that every tool shares, and the
 * one setter of the malloc'd messages that parsers return.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "xalloc.h"

void
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", getprogname());
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n",
	        getprogname());
	exit(EXIT_USAGE);
}

int
error_set(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(why, fmt, ap);
	va_end(ap);
	return -1;
}

int
error_vset(char **why, const char *fmt, va_list ap)
{
	*why = xvasprintf(fmt, ap);
	return -1;
}

void
print_version(void)
{
	printf("%s (di) %s\n", getprogname(), DI_VERSION);
	exit(0);
}
