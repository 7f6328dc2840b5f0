/*
 * errors.h: exit statuses and the usage error every tool shares.
 *
 * Failures are reported with libbsd's err(3) family, which prefixes the
 * program name; data and work failures exit EXIT_DATA, usage errors
 * EXIT_USAGE.
 */
#ifndef DI_ERRORS_H
#define DI_ERRORS_H

#include <err.h>
#include <stdarg.h>
#include <stdlib.h>

enum {
	EXIT_DATA = 1,
	EXIT_USAGE = 2,
};

/* Print "prog: message" and a hint to use --help; exit EXIT_USAGE. */
void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * For parsers that must not exit (they read outside data and are fuzzed):
 * set *WHY to a malloc'd message and return -1.
 */
int error_set(char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* error_set with a va_list, for the setters of each module's own errors. */
int error_vset(char **why, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Print the tool's name and version, as --version does; exit 0. */
void print_version(void) __attribute__((noreturn));

#endif
