/*
 * timestamp.h: the one time a tool stamps on what it makes, and the one
 * rule for reading it.
 *
 * Output must not depend on the clock: the time is SOURCE_DATE_EPOCH when
 * it is set, else 1 (1970-01-01T00:00:01Z, the `created` of Nix's
 * dockerTools), or what an option such as --mtime gives.  A tool reads
 * SOURCE_DATE_EPOCH once, in main, before it writes anything, and passes
 * the value down; no library module reads the environment for it.
 *
 * Every time must fit every format a tool writes: a tar header holds any
 * time (a pax record past ustar's 11 octal digits), but the RFC 3339
 * `created` of an image's JSON has a four-digit year.  So a time is a
 * whole number of seconds from 0 to TIMESTAMP_MAX (9999-12-31T23:59:59Z).
 */
#ifndef DI_TIMESTAMP_H
#define DI_TIMESTAMP_H

#include <stdint.h>

/* 9999-12-31T23:59:59Z, the last second RFC 3339 can write. */
#define TIMESTAMP_MAX 253402300799LL

/*
 * SOURCE_DATE_EPOCH, else 1.  A value that is not a number of seconds from
 * 0 to TIMESTAMP_MAX is a usage error (exit 2, one message for every
 * tool).  Call it at start-up, before any output.
 */
int64_t timestamp_default(void);

/*
 * Parse S: seconds since the epoch, "@seconds" or an RFC 3339 time in UTC
 * ("2001-02-03T04:05:06Z"), from 0 to TIMESTAMP_MAX.  Returns 0, or -1
 * when S is none of these.
 */
int timestamp_parse(const char *s, int64_t *out);

/* T as RFC 3339 in UTC, "1970-01-01T00:00:01Z", into BUF. */
void timestamp_rfc3339(int64_t t, char buf[32]);

#endif
