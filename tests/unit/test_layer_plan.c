/*
 * test_layer_plan: the grouping of a closure into layers, on random
 * reference graphs: every path in exactly one layer, never more layers than
 * asked nor an empty one, a layer per path when they fit, and the same plan
 * whatever order the references are given in; and on a closure shaped like
 * an application's, what a rebuild or a new dependency keeps (TAP).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layer_plan.h"

enum { PATHS = 300, MAXREFS = 6 };

struct graph {
	uint64_t size[PATHS];
	size_t refs[PATHS][MAXREFS], nrefs[PATHS];
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* References go to lower numbers only: a DAG, as Nix's are. */
static void
make_graph(struct graph *g)
{
	for (size_t i = 0; i < PATHS; i++) {
		g->size[i] =
		    next() % 4 == 0 ? next() % 100000000 : next() % 300000;
		g->nrefs[i] = i == 0 ? 0 : next() % MAXREFS;
		for (size_t k = 0; k < g->nrefs[i]; k++)
			g->refs[i][k] = next() % i;
	}
}

static struct layer_plan *
plan(const struct graph *g, size_t max, int reversed)
{
	struct layer_plan *p = layer_plan_new(PATHS);

	for (size_t n = 0; n < PATHS; n++) {
		size_t i = reversed ? PATHS - 1 - n : n;
		layer_plan_size(p, i, g->size[i]);
		for (size_t k = 0; k < g->nrefs[i]; k++)
			layer_plan_ref(
			    p, i,
			    g->refs[i][reversed ? g->nrefs[i] - 1 - k : k]);
	}
	layer_plan_make(p, max);
	return p;
}

/* Each path once, no empty layer, bytes that add up. */
static int
partition(const struct layer_plan *p, const struct graph *g)
{
	int seen[PATHS] = {0}, good = 1;

	for (size_t k = 0; k < layer_plan_count(p); k++) {
		size_t n;
		const size_t *v = layer_plan_layer(p, k, &n);
		uint64_t bytes = 0;
		good &= n > 0;
		for (size_t i = 0; i < n; i++) {
			good &= i == 0 || v[i - 1] < v[i];
			seen[v[i]]++;
			bytes += g->size[v[i]];
		}
		good &= bytes == layer_plan_bytes(p, k);
	}
	for (size_t i = 0; i < PATHS; i++)
		good &= seen[i] == 1;
	return good;
}

static int
same_plan(const struct layer_plan *a, const struct layer_plan *b)
{
	if (layer_plan_count(a) != layer_plan_count(b))
		return 0;
	for (size_t k = 0; k < layer_plan_count(a); k++) {
		size_t na, nb;
		const size_t *va = layer_plan_layer(a, k, &na);
		const size_t *vb = layer_plan_layer(b, k, &nb);
		if (na != nb || memcmp(va, vb, na * sizeof(*va)) != 0)
			return 0;
	}
	return 1;
}

/*
 * A closure shaped like an application's: a libc, libraries over it, a
 * runtime over them, modules over the runtime and over each other, an
 * application using some of them, its wrapper; with NEWDEP, one more
 * small module that only the application uses.  Sizes as in
 * tests/lib/synthstore.py: a large runtime and libc, small modules.
 */
enum { LIBS = 12, MODS = 120, APP = LIBS + MODS + 2, APPSIZE = 5000000 };

static struct layer_plan *
app_plan(size_t max, uint64_t app_size, int newdep)
{
	size_t n = APP + 2 + (newdep != 0), runtime = LIBS + 1;
	struct layer_plan *p = layer_plan_new(n);

	rng = 2463534242ULL;
	layer_plan_size(p, 0, 30000000);
	for (size_t i = 1; i <= LIBS; i++) {
		layer_plan_size(p, i, 100000 + next() % 8000000);
		layer_plan_ref(p, i, 0);
		layer_plan_ref(p, runtime, i);
	}
	layer_plan_size(p, runtime, 110000000);
	for (size_t i = runtime + 1; i < APP; i++) {
		layer_plan_size(p, i,
		                next() % 16 == 0 ? next() % 40000000
		                                 : next() % 600000);
		layer_plan_ref(p, i, runtime);
		for (size_t k = next() % 4; k > 0 && i > runtime + 1; k--)
			layer_plan_ref(
			    p, i, runtime + 1 + next() % (i - runtime - 1));
		if (next() % 2 == 0)
			layer_plan_ref(p, APP, i);
	}
	layer_plan_size(p, APP, app_size);
	layer_plan_ref(p, APP, runtime);
	layer_plan_size(p, APP + 1, 10000);
	layer_plan_ref(p, APP + 1, APP);
	if (newdep) {
		layer_plan_size(p, APP + 2, 200000);
		layer_plan_ref(p, APP + 2, runtime);
		layer_plan_ref(p, APP, APP + 2);
	}
	layer_plan_make(p, max);
	return p;
}

static int
has_layer(const struct layer_plan *p, const size_t *v, size_t n)
{
	for (size_t k = 0; k < layer_plan_count(p); k++) {
		size_t m;
		const size_t *w = layer_plan_layer(p, k, &m);
		if (m == n && memcmp(v, w, n * sizeof(*v)) == 0)
			return 1;
	}
	return 0;
}

/* The share, in percent, of NEW's bytes in layers OLD has too. */
static uint64_t
kept(const struct layer_plan *old, const struct layer_plan *new)
{
	uint64_t all = 0, same = 0;

	for (size_t k = 0; k < layer_plan_count(new); k++) {
		size_t n;
		const size_t *v = layer_plan_layer(new, k, &n);
		all += layer_plan_bytes(new, k);
		if (has_layer(old, v, n))
			same += layer_plan_bytes(new, k);
	}
	return 100 * same / all;
}

/*
 * A rebuilt application changes only the top layer (it and its wrapper
 * are 1.5% of the bytes); a new small dependency, that and the layer of
 * what only the application uses, which here holds large modules: with
 * 10 layers a fifth of the bytes (80% kept), with 4 half.
 */
static void
check_app(void)
{
	static const size_t limits[] = {4, 10, 50, 100};

	for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); l++) {
		struct layer_plan *a = app_plan(limits[l], APPSIZE, 0);
		struct layer_plan *b = app_plan(limits[l], APPSIZE + 50000, 0);
		struct layer_plan *c = app_plan(limits[l], APPSIZE, 1);
		CHECK(layer_plan_count(a) == limits[l]);
		CHECK(kept(a, b) >= 97);
		CHECK(kept(a, c) >= (limits[l] > 10  ? 95
		                     : limits[l] > 4 ? 78
		                                     : 45));
		layer_plan_free(a);
		layer_plan_free(b);
		layer_plan_free(c);
	}
}

int
main(void)
{
	static const size_t limits[] = {1, 2, 3, 10, 50, 100, 299, 300, 1000};
	static struct graph g;

	for (int round = 0; round < 4; round++) {
		make_graph(&g);
		for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); l++) {
			size_t max = limits[l];
			struct layer_plan *p = plan(&g, max, 0);
			struct layer_plan *q = plan(&g, max, 1);
			size_t n = layer_plan_count(p);
			CHECK(partition(p, &g));
			CHECK(n <= max);
			CHECK(max < PATHS || n == PATHS);
			CHECK(same_plan(p, q));
			layer_plan_free(p);
			layer_plan_free(q);
		}
	}
	check_app();
	return check_done();
}
