/*
 * Unit tests of common/gosort: it sorts, and it is deterministic for a
 * comparison that is not a strict weak order (the case it exists for).
 */
#include <stdlib.h>

#include "check.h"
#include "gosort.h"

static int
less_int(void *data, size_t i, size_t j)
{
	int *a = data;
	return a[i] < a[j];
}

static void
swap_int(void *data, size_t i, size_t j)
{
	int *a = data, t = a[i];
	a[i] = a[j];
	a[j] = t;
}

/* Rock-paper-scissors: every element beats the next one modulo 3. */
static int
less_cycle(void *data, size_t i, size_t j)
{
	int *a = data;
	return (a[i] + 1) % 3 == a[j] % 3;
}

int
main(void)
{
	enum { N = 5000 };
	int *a = malloc(N * sizeof(int)), *b = malloc(N * sizeof(int));
	int sorted = 1;

	srand(1);
	for (int i = 0; i < N; i++)
		a[i] = rand() % 1000;
	gosort(&(struct gosort_ops){a, less_int, swap_int}, N);
	for (int i = 1; i < N; i++)
		sorted &= a[i - 1] <= a[i];
	CHECK(sorted);

	for (int i = 0; i < N; i++)
		a[i] = b[i] = (i * 7919) % 3;
	gosort(&(struct gosort_ops){a, less_cycle, swap_int}, N);
	gosort(&(struct gosort_ops){b, less_cycle, swap_int}, N);
	CHECK(memcmp(a, b, N * sizeof(int)) == 0);

	/* Already sorted and reversed inputs (pdqsort's special paths). */
	for (int i = 0; i < N; i++)
		a[i] = N - i;
	gosort(&(struct gosort_ops){a, less_int, swap_int}, N);
	CHECK(a[0] == 1 && a[N - 1] == N);
	gosort(&(struct gosort_ops){a, less_int, swap_int}, N);
	CHECK(a[0] == 1 && a[N - 1] == N);
	free(a);
	free(b);
	return check_done();
}
