/*
 * reclaim.h: give back what a failed run left behind.
 *
 * Code that fails with errx(3) never frees what it held, and under
 * fuzz.h errx jumps back to the target, so a parser that fails a million
 * times would leak a million times and end the run for want of memory or
 * descriptors.  Between reclaim_begin and reclaim_end every allocation
 * still live is remembered (through the sanitizer allocator's hooks); after
 * a failed run reclaim_end frees them and closes every descriptor the run
 * opened.  Library state that is set up lazily on first use (OpenSSL's
 * digest tables, jq's per-thread contexts) must be warmed up by a good run
 * first, or it would be freed under the library's feet: ASan reports that.
 */
#ifndef DI_FUZZ_RECLAIM_H
#define DI_FUZZ_RECLAIM_H

#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define RECLAIM_SLOTS (1u << 18) /* a power of two */
#define RECLAIM_TOMB ((const void *)1)
#define RECLAIM_FDS 16 /* descriptors a run may leave open */

static const void *reclaim_slot[RECLAIM_SLOTS];
static uint32_t reclaim_used[RECLAIM_SLOTS / 2]; /* slots filled, in order */
static size_t reclaim_nused;
static int reclaim_on;
static int reclaim_first_fd;
static unsigned reclaim_fds_open; /* bit i: first_fd + i open at begin */

static size_t
reclaim_hash(const void *p)
{
	uintptr_t x = (uintptr_t)p >> 4;

	x ^= x >> 17;
	x *= 0xed5ad4bbu;
	return (size_t)(x ^ (x >> 11)) & (RECLAIM_SLOTS - 1);
}

static void
reclaim_malloc_hook(const volatile void *p, size_t n)
{
	(void)n;
	if (!reclaim_on || p == NULL || reclaim_nused >= RECLAIM_SLOTS / 2)
		return;
	for (size_t i = reclaim_hash((const void *)p);;
	     i = (i + 1) & (RECLAIM_SLOTS - 1)) {
		if (reclaim_slot[i] == NULL) {
			reclaim_used[reclaim_nused++] = (uint32_t)i;
			reclaim_slot[i] = (const void *)p;
			return;
		}
		if (reclaim_slot[i] == RECLAIM_TOMB) {
			reclaim_slot[i] = (const void *)p;
			return;
		}
	}
}

static void
reclaim_free_hook(const volatile void *p)
{
	if (!reclaim_on || p == NULL)
		return;
	for (size_t i = reclaim_hash((const void *)p); reclaim_slot[i] != NULL;
	     i = (i + 1) & (RECLAIM_SLOTS - 1)) {
		if (reclaim_slot[i] == p) {
			reclaim_slot[i] = RECLAIM_TOMB;
			return;
		}
	}
}

static void
reclaim_init(void)
{
	__sanitizer_install_malloc_and_free_hooks(reclaim_malloc_hook,
	                                          reclaim_free_hook);
}

/* Start remembering; descriptors from the lowest free one on are the run's. */
static void
reclaim_begin(void)
{
	reclaim_first_fd = dup(0);
	if (reclaim_first_fd >= 0)
		close(reclaim_first_fd);
	reclaim_fds_open = 0;
	for (int i = 0; i < RECLAIM_FDS; i++)
		if (fcntl(reclaim_first_fd + i, F_GETFD) >= 0)
			reclaim_fds_open |= 1u << i;
	reclaim_on = 1;
}

/* Stop; after a FAILED run free what is left and close the run's fds. */
static void
reclaim_end(int failed)
{
	reclaim_on = 0;
	for (size_t k = 0; k < reclaim_nused; k++) {
		const void *p = reclaim_slot[reclaim_used[k]];
		if (failed && p != RECLAIM_TOMB)
			free((void *)p);
		reclaim_slot[reclaim_used[k]] = NULL;
	}
	reclaim_nused = 0;
	if (!failed || reclaim_first_fd < 0)
		return;
	for (int i = 0; i < RECLAIM_FDS; i++)
		if (!(reclaim_fds_open & (1u << i)))
			close(reclaim_first_fd + i);
}

#endif
