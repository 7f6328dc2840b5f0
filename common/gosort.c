/*
 * gosort.c: Go 1.19's sort.Sort.  Indices are signed, as in Go, because
 * some loops run down to -1.
 */
#include <stdint.h>

#include "gosort.h"

typedef const struct gosort_ops ops_t;

enum hint { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static int
less(ops_t *o, long i, long j)
{
	return o->less(o->data, (size_t)i, (size_t)j);
}

static void
swap(ops_t *o, long i, long j)
{
	o->swap(o->data, (size_t)i, (size_t)j);
}

static int
bit_length(unsigned long x)
{
	int n = 0;

	for (; x; x >>= 1)
		n++;
	return n;
}

static void
insertion_sort(ops_t *o, long a, long b)
{
	for (long i = a + 1; i < b; i++)
		for (long j = i; j > a && less(o, j, j - 1); j--)
			swap(o, j, j - 1);
}

static void
sift_down(ops_t *o, long lo, long hi, long first)
{
	long root = lo;

	for (;;) {
		long child = 2 * root + 1;
		if (child >= hi)
			return;
		if (child + 1 < hi && less(o, first + child, first + child + 1))
			child++;
		if (!less(o, first + root, first + child))
			return;
		swap(o, first + root, first + child);
		root = child;
	}
}

static void
heap_sort(ops_t *o, long a, long b)
{
	long hi = b - a;

	for (long i = (hi - 1) / 2; i >= 0; i--)
		sift_down(o, i, hi, a);
	for (long i = hi - 1; i >= 0; i--) {
		swap(o, a, a + i);
		sift_down(o, 0, i, a);
	}
}

static long
order2_median(ops_t *o, long a, long b, long c, int *swaps)
{
	long t;

	if (less(o, b, a)) {
		(*swaps)++;
		t = a, a = b, b = t;
	}
	if (less(o, c, b)) {
		(*swaps)++;
		t = b, b = c, c = t;
	}
	if (less(o, b, a)) {
		(*swaps)++;
		t = a, a = b, b = t;
	}
	return b;
}

static long
choose_pivot(ops_t *o, long a, long b, enum hint *hint)
{
	long l = b - a, i = a + l / 4, j = a + l / 4 * 2, k = a + l / 4 * 3;
	int swaps = 0;

	if (l >= 8) {
		if (l >= 50) {
			i = order2_median(o, i - 1, i, i + 1, &swaps);
			j = order2_median(o, j - 1, j, j + 1, &swaps);
			k = order2_median(o, k - 1, k, k + 1, &swaps);
		}
		j = order2_median(o, i, j, k, &swaps);
	}
	*hint = swaps == 0    ? HINT_INCREASING
	        : swaps == 12 ? HINT_DECREASING
	                      : HINT_UNKNOWN;
	return j;
}

static void
reverse_range(ops_t *o, long a, long b)
{
	for (long i = a, j = b - 1; i < j; i++, j--)
		swap(o, i, j);
}

static int
partial_insertion_sort(ops_t *o, long a, long b)
{
	long i = a + 1;

	for (int step = 0; step < 5; step++) {
		while (i < b && !less(o, i, i - 1))
			i++;
		if (i == b)
			return 1;
		if (b - a < 50)
			return 0;
		swap(o, i, i - 1);
		if (i - a >= 2)
			for (long j = i - 1; j >= 1 && less(o, j, j - 1); j--)
				swap(o, j, j - 1);
		if (b - i >= 2)
			for (long j = i + 1; j < b && less(o, j, j - 1); j++)
				swap(o, j, j - 1);
	}
	return 0;
}

static void
break_patterns(ops_t *o, long a, long b)
{
	long length = b - a;

	if (length < 8)
		return;
	uint64_t random = (uint64_t)length;
	unsigned long modulus = 1UL << bit_length((unsigned long)length);
	for (long idx = a + (length / 4) * 2 - 1;
	     idx <= a + (length / 4) * 2 + 1; idx++) {
		random ^= random << 13;
		random ^= random >> 17;
		random ^= random << 5;
		long other = (long)((unsigned long)random & (modulus - 1));
		if (other >= length)
			other -= length;
		swap(o, idx, a + other);
	}
}

static long
partition_equal(ops_t *o, long a, long b, long pivot)
{
	long i = a + 1, j = b - 1;

	swap(o, a, pivot);
	for (;;) {
		while (i <= j && !less(o, a, i))
			i++;
		while (i <= j && less(o, a, j))
			j--;
		if (i > j)
			return i;
		swap(o, i, j);
		i++;
		j--;
	}
}

static long
partition(ops_t *o, long a, long b, long pivot, int *already)
{
	long i = a + 1, j = b - 1;

	swap(o, a, pivot);
	while (i <= j && less(o, i, a))
		i++;
	while (i <= j && !less(o, j, a))
		j--;
	*already = i > j;
	if (i > j) {
		swap(o, j, a);
		return j;
	}
	swap(o, i, j);
	i++;
	j--;
	for (;;) {
		while (i <= j && less(o, i, a))
			i++;
		while (i <= j && !less(o, j, a))
			j--;
		if (i > j)
			break;
		swap(o, i, j);
		i++;
		j--;
	}
	swap(o, j, a);
	return j;
}

static void
pdqsort(ops_t *o, long a, long b, int limit)
{
	int balanced = 1, partitioned = 1;

	for (;;) {
		long length = b - a, pivot, mid;
		enum hint hint;
		if (length <= 12) {
			insertion_sort(o, a, b);
			return;
		}
		if (limit == 0) {
			heap_sort(o, a, b);
			return;
		}
		if (!balanced) {
			break_patterns(o, a, b);
			limit--;
		}
		pivot = choose_pivot(o, a, b, &hint);
		if (hint == HINT_DECREASING) {
			reverse_range(o, a, b);
			pivot = (b - 1) - (pivot - a);
			hint = HINT_INCREASING;
		}
		if (balanced && partitioned && hint == HINT_INCREASING &&
		    partial_insertion_sort(o, a, b))
			return;
		if (a > 0 && !less(o, a - 1, pivot)) {
			a = partition_equal(o, a, b, pivot);
			continue;
		}
		mid = partition(o, a, b, pivot, &partitioned);
		if (mid - a < b - mid) {
			balanced = mid - a >= length / 8;
			pdqsort(o, a, mid, limit);
			a = mid + 1;
		} else {
			balanced = b - mid >= length / 8;
			pdqsort(o, mid + 1, b, limit);
			b = mid;
		}
	}
}

void
gosort(const struct gosort_ops *ops, size_t n)
{
	if (n > 1)
		pdqsort(ops, 0, (long)n, bit_length(n));
}
