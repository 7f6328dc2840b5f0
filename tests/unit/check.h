/*
 * check.h: a tiny TAP producer for the unit tests of common/.
 * CHECK(cond) records one assertion; check_done() prints the plan and
 * returns the exit status.
 */
#ifndef DI_CHECK_H
#define DI_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_count, check_failed;

#define CHECK(cond) check_one((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(a, b)                                                        \
	check_one((a) != NULL && strcmp((a), (b)) == 0, #a " == " #b,          \
	          __FILE__, __LINE__)

static inline void
check_one(int ok, const char *what, const char *file, int line)
{
	check_count++;
	if (!ok)
		check_failed++;
	printf("%sok %d - %s%s", ok ? "" : "not ", check_count, what,
	       ok ? "\n" : "");
	if (!ok)
		printf(" (%s:%d)\n", file, line);
}

static inline int
check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failed ? 1 : 0;
}

#endif
