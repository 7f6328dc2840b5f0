/*
 * test_layer_plan: the grouping of a closure into layers, on random
 * reference graphs: every path in exactly one layer, never more layers than
 * asked nor an empty one, a layer per path when they fit, and the same plan
 * whatever order the references are given in (TAP).
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
	return check_done();
}
