/*
 * timestamp.c: SOURCE_DATE_EPOCH and the time formats options take, with
 * one set of bounds (see timestamp.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "timestamp.h"

static int
parse_seconds(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9' || strlen(s) > 12)
		return -1; /* digits only, and no overflow to worry about */
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0 || v > TIMESTAMP_MAX)
		return -1;
	*out = v;
	return 0;
}

int
timestamp_parse(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *end;
	time_t t;

	if (parse_seconds(*s == '@' ? s + 1 : s, out) == 0)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	if (t < 0 || t > TIMESTAMP_MAX)
		return -1;
	*out = (int64_t)t;
	return 0;
}

int64_t
timestamp_default(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int64_t t;

	if (sde == NULL || *sde == '\0')
		return 1;
	if (parse_seconds(sde, &t) < 0)
		usage_error("SOURCE_DATE_EPOCH is not a number of seconds "
		            "from 0 to %lld: '%s'",
		            TIMESTAMP_MAX, sde);
	return t;
}

void
timestamp_rfc3339(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
