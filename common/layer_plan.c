/*
 * layer_plan.c: the grouping of a closure into layers (layer_plan.h).
 */
#include <stdlib.h>
#include <string.h>

#include "layer_plan.h"
#include "xalloc.h"

typedef uint64_t word;
#define WORD_BITS 64

struct path {
	uint64_t size;
	size_t *refs, nrefs;
	size_t height, below; /* longest chain below; paths reached, self in */
	int done;
	long solo; /* index among the large paths, or -1 */
};

/* A group of paths with one key. */
struct group {
	size_t *v, n;
	uint64_t bytes;
	word *reach; /* which large paths reach it */
	size_t height;
	int top;
};

struct layer_plan {
	size_t n, words;
	struct path *p;
	word *reached; /* n rows of n bits: what each path reaches */
	struct group *layers;
	size_t nlayers;
};

struct layer_plan *
layer_plan_new(size_t n)
{
	struct layer_plan *p = xcalloc(1, sizeof(*p));

	p->n = n;
	p->p = xcalloc(n ? n : 1, sizeof(*p->p));
	return p;
}

void
layer_plan_size(struct layer_plan *p, size_t i, uint64_t size)
{
	p->p[i].size = size;
}

void
layer_plan_ref(struct layer_plan *p, size_t from, size_t to)
{
	struct path *x = &p->p[from];

	if (from == to)
		return;
	x->refs = xreallocarray(x->refs, x->nrefs + 1, sizeof(*x->refs));
	x->refs[x->nrefs++] = to;
}

static word *
row(const struct layer_plan *p, size_t i)
{
	return p->reached + i * p->words;
}

static size_t
popcount(const word *v, size_t words)
{
	size_t c = 0;

	for (size_t i = 0; i < words; i++)
		c += (size_t)__builtin_popcountll(v[i]);
	return c;
}

/* Heights and what each path reaches, below first (the graph is a DAG). */
static void
measure(struct layer_plan *p, size_t i)
{
	struct path *x = &p->p[i];

	if (x->done)
		return;
	x->done = 1;
	row(p, i)[i / WORD_BITS] |= (word)1 << (i % WORD_BITS);
	for (size_t k = 0; k < x->nrefs; k++) {
		size_t j = x->refs[k];
		measure(p, j);
		if (p->p[j].height + 1 > x->height)
			x->height = p->p[j].height + 1;
		for (size_t w = 0; w < p->words; w++)
			row(p, i)[w] |= row(p, j)[w];
	}
	x->below = popcount(row(p, i), p->words);
}

static struct group *
add_group(struct layer_plan *p, size_t solo_words)
{
	struct group *g;

	p->layers = xreallocarray(p->layers, p->nlayers + 1, sizeof(*g));
	g = &p->layers[p->nlayers++];
	memset(g, 0, sizeof(*g));
	g->reach = xcalloc(solo_words ? solo_words : 1, sizeof(word));
	return g;
}

static void
group_add(struct group *g, struct layer_plan *p, size_t i)
{
	g->v = xreallocarray(g->v, g->n + 1, sizeof(*g->v));
	g->v[g->n++] = i;
	g->bytes += p->p[i].size;
}

/* Larger first; of equal sizes, the first name. */
static const struct layer_plan *sort_plan;

static int
by_size(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	uint64_t si = sort_plan->p[i].size, sj = sort_plan->p[j].size;

	if (si != sj)
		return si > sj ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int
by_index(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	return i < j ? -1 : i > j;
}

/* The key of a path that is not large: the top, or (reach, height). */
static int
same_key(const struct group *g, const word *reach, size_t height, int top,
         size_t words)
{
	if (g->top || top)
		return g->top && top;
	return g->height == height &&
	       memcmp(g->reach, reach, words * sizeof(word)) == 0;
}

static void
reach_of(const struct layer_plan *p, size_t i, const size_t *solos,
         size_t nsolos, word *out, size_t words)
{
	memset(out, 0, words * sizeof(word));
	for (size_t s = 0; s < nsolos; s++)
		if (row(p, solos[s])[i / WORD_BITS] >> (i % WORD_BITS) & 1)
			out[s / WORD_BITS] |= (word)1 << (s % WORD_BITS);
}

/* Key every path that is not large; paths come in name order. */
static void
key_groups(struct layer_plan *p, const size_t *solos, size_t nsolos,
           size_t first)
{
	size_t words = (nsolos + WORD_BITS - 1) / WORD_BITS;
	word *reach = xcalloc(words ? words : 1, sizeof(word));

	for (size_t i = 0; i < p->n; i++) {
		struct path *x = &p->p[i];
		size_t k;
		int top = 2 * x->below >= p->n;
		if (x->solo >= 0)
			continue;
		reach_of(p, i, solos, nsolos, reach, words);
		for (k = first; k < p->nlayers; k++)
			if (same_key(&p->layers[k], reach, x->height, top,
			             words))
				break;
		if (k == p->nlayers) {
			struct group *g = add_group(p, words);
			memcpy(g->reach, reach, words * sizeof(word));
			g->height = x->height;
			g->top = top;
		}
		group_add(&p->layers[k], p, i);
	}
	free(reach);
}

/* How far apart two groups' keys are, as a pair to compare. */
static void
distance(const struct group *a, const struct group *b, size_t words,
         size_t d[2])
{
	d[0] = 0;
	for (size_t w = 0; w < words; w++)
		d[0] += (size_t)__builtin_popcountll(a->reach[w] ^ b->reach[w]);
	d[1] = a->height > b->height ? a->height - b->height
	                             : b->height - a->height;
}

static int
smaller(const struct group *a, const struct group *b)
{
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes;
	return a->v[0] < b->v[0];
}

/* Step 4: the smallest group joins its nearest; 0 when none can. */
static int
merge_one(struct layer_plan *p, size_t first, size_t words)
{
	long i = -1, j = -1;
	size_t best[2] = {0, 0}, d[2];

	for (size_t k = first; k < p->nlayers; k++)
		if (!p->layers[k].top &&
		    (i < 0 || smaller(&p->layers[k], &p->layers[i])))
			i = (long)k;
	for (size_t k = first; i >= 0 && k < p->nlayers; k++) {
		if ((long)k == i || p->layers[k].top)
			continue;
		distance(&p->layers[i], &p->layers[k], words, d);
		if (j < 0 || d[0] < best[0] ||
		    (d[0] == best[0] &&
		     (d[1] < best[1] ||
		      (d[1] == best[1] &&
		       smaller(&p->layers[k], &p->layers[j]))))) {
			j = (long)k;
			best[0] = d[0];
			best[1] = d[1];
		}
	}
	if (j < 0)
		return 0;
	struct group *from = &p->layers[i], *to = &p->layers[j];
	for (size_t k = 0; k < from->n; k++)
		group_add(to, p, from->v[k]);
	qsort(to->v, to->n, sizeof(*to->v), by_index);
	free(from->v);
	free(from->reach);
	memmove(from, from + 1, (p->nlayers - (size_t)i - 1) * sizeof(*from));
	p->nlayers--;
	return 1;
}

static size_t
layer_height(const struct layer_plan *p, const struct group *g)
{
	size_t h = 0;

	for (size_t k = 0; k < g->n; k++)
		if (p->p[g->v[k]].height > h)
			h = p->p[g->v[k]].height;
	return g->top ? (size_t)-1 : h;
}

static int
bottom_first(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	size_t hx = layer_height(sort_plan, x), hy = layer_height(sort_plan, y);

	if (hx != hy)
		return hx < hy ? -1 : 1;
	return x->v[0] < y->v[0] ? -1 : x->v[0] > y->v[0];
}

static void
one_each(struct layer_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		group_add(add_group(p, 0), p, i);
}

void
layer_plan_make(struct layer_plan *p, size_t max)
{
	size_t g = max / 2 < 2 ? 2 : max / 2, nsolos, *order;

	p->words = (p->n + WORD_BITS - 1) / WORD_BITS;
	p->reached = xcalloc(p->n * p->words + 1, sizeof(word));
	for (size_t i = 0; i < p->n; i++)
		measure(p, i);
	if (p->n <= max) {
		one_each(p);
	} else if (max == 1) {
		struct group *all = add_group(p, 0);
		for (size_t i = 0; i < p->n; i++)
			group_add(all, p, i);
	} else {
		nsolos = max > g ? max - g : 0;
		order = xreallocarray(NULL, p->n, sizeof(*order));
		for (size_t i = 0; i < p->n; i++) {
			order[i] = i;
			p->p[i].solo = -1;
		}
		sort_plan = p;
		qsort(order, p->n, sizeof(*order), by_size);
		qsort(order, nsolos, sizeof(*order), by_index);
		for (size_t s = 0; s < nsolos; s++) {
			p->p[order[s]].solo = (long)s;
			group_add(add_group(p, 0), p, order[s]);
		}
		key_groups(p, order, nsolos, nsolos);
		while (
		    p->nlayers - nsolos > g &&
		    merge_one(p, nsolos, (nsolos + WORD_BITS - 1) / WORD_BITS))
			;
		free(order);
	}
	sort_plan = p;
	qsort(p->layers, p->nlayers, sizeof(*p->layers), bottom_first);
}

size_t
layer_plan_count(const struct layer_plan *p)
{
	return p->nlayers;
}

const size_t *
layer_plan_layer(const struct layer_plan *p, size_t k, size_t *n)
{
	*n = p->layers[k].n;
	return p->layers[k].v;
}

uint64_t
layer_plan_bytes(const struct layer_plan *p, size_t k)
{
	return p->layers[k].bytes;
}

void
layer_plan_free(struct layer_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->p[i].refs);
	for (size_t k = 0; k < p->nlayers; k++) {
		free(p->layers[k].v);
		free(p->layers[k].reach);
	}
	free(p->layers);
	free(p->reached);
	free(p->p);
	free(p);
}
