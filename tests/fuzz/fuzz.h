/*
 * fuzz.h: what every fuzz target shares.
 *
 * The tools treat bad input as fatal with err(3)/errx(3), which would end
 * a fuzzing run; here those functions jump back to the target instead, so
 * an error is an ordinary outcome and only crashes, sanitizer reports and
 * hangs are findings.  Include this in exactly one file per target.
 */
#ifndef DI_FUZZ_H
#define DI_FUZZ_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static jmp_buf fuzz_escape;

#define FUZZ_TRY() (setjmp(fuzz_escape) == 0)

void
err(int eval, const char *fmt, ...)
{
	(void)eval;
	(void)fmt;
	longjmp(fuzz_escape, 1);
}

void
errx(int eval, const char *fmt, ...)
{
	(void)eval;
	(void)fmt;
	longjmp(fuzz_escape, 1);
}

void
verrx(int eval, const char *fmt, va_list ap)
{
	(void)eval;
	(void)fmt;
	(void)ap;
	longjmp(fuzz_escape, 1);
}

void
warnx(const char *fmt, ...)
{
	(void)fmt;
}

void
warn(const char *fmt, ...)
{
	(void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
