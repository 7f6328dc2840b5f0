/*
 * timestamp.h: the one time a tool stamps on what it makes.
 *
 * Output must not depend on the clock: the time is SOURCE_DATE_EPOCH when
 * it is set, else 1 (1970-01-01T00:00:01Z, the `created` of Nix's
 * dockerTools), or what an option such as --mtime gives.
 */
#ifndef DI_TIMESTAMP_H
#define DI_TIMESTAMP_H

#include <stdint.h>

/*
 * SOURCE_DATE_EPOCH, else 1.  A value that is not a number of seconds is
 * a usage error (exit 2).
 */
int64_t timestamp_default(void);

/*
 * Parse S: seconds since the epoch, "@seconds" or an RFC 3339 time in UTC
 * ("2001-02-03T04:05:06Z").  Returns 0, or -1 when S is none of these.
 */
int timestamp_parse(const char *s, int64_t *out);

/* T as RFC 3339 in UTC, "1970-01-01T00:00:01Z", into BUF. */
void timestamp_rfc3339(int64_t t, char buf[32]);

#endif
