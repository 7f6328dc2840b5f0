/*
 * gosort.h: the sort that Go 1.19's sort.Sort performs (pattern-defeating
 * quicksort), comparison for comparison and swap for swap.
 *
 * Docker's tarsum orders per-file sums with a comparison that is not a
 * strict weak order when an archive holds duplicate names, so the result
 * depends on the exact algorithm; this reproduces it.
 */
#ifndef DI_GOSORT_H
#define DI_GOSORT_H

#include <stddef.h>

struct gosort_ops {
	void *data;
	int (*less)(void *data, size_t i, size_t j);
	void (*swap)(void *data, size_t i, size_t j);
};

void gosort(const struct gosort_ops *ops, size_t n);

#endif
