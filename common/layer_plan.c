/*
 * layer_plan.c: the grouping of a closure into layers (layer_plan.h).
 */
#include <stdlib.h>
#include <string.h>

#include "layer_plan.h"
#include "xalloc.h"

typedef uint64_t word;
#define WORD_BITS 64

/* Paths per layer above which the closure is cut the tight way. */
#define TIGHT_RATIO 6
/* In the tight case, a path of 1/(BIG_SHARE * N) of the bytes is large. */
#define BIG_SHARE 3
/* Layers of paths grouped by their users: the tight case, the other. */
#define TIGHT_CLASSES 2
#define LOOSE_CLASSES 3

struct path {
	uint64_t size;
	size_t *refs, nrefs;
	size_t height, below; /* longest chain below; paths reached, self in */
	size_t users;         /* paths outside the top that reference it */
	size_t layer;         /* while planning: its layer, if it leads one */
	int done, top;
};

struct group {
	size_t *v, n;
	uint64_t bytes;
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

static int
reaches(const struct layer_plan *p, size_t from, size_t to)
{
	return row(p, from)[to / WORD_BITS] >> (to % WORD_BITS) & 1;
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

/* Users of each path among the paths outside the top, each counted once. */
static void
count_users(struct layer_plan *p)
{
	size_t *seen = xcalloc(p->n ? p->n : 1, sizeof(*seen));

	for (size_t i = 0; i < p->n; i++) {
		const struct path *x = &p->p[i];
		if (x->top)
			continue;
		for (size_t k = 0; k < x->nrefs; k++) {
			size_t j = x->refs[k];
			if (seen[j] != i + 1) {
				seen[j] = i + 1;
				p->p[j].users++;
			}
		}
	}
	free(seen);
}

static size_t
add_group(struct layer_plan *p)
{
	p->layers =
	    xreallocarray(p->layers, p->nlayers + 1, sizeof(*p->layers));
	memset(&p->layers[p->nlayers], 0, sizeof(*p->layers));
	return p->nlayers++;
}

static void
group_add(struct layer_plan *p, size_t k, size_t i)
{
	struct group *g = &p->layers[k];

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

static size_t
class_of(const struct layer_plan *p, size_t i, size_t classes)
{
	size_t u = p->p[i].users;

	return u < classes - 1 ? u : classes - 1;
}

static size_t
count_classes(const struct layer_plan *p, const size_t *v, size_t n,
              size_t classes)
{
	size_t c = 0;

	for (size_t k = 0; k < classes; k++)
		for (size_t i = 0; i < n; i++)
			if (class_of(p, v[i], classes) == k) {
				c++;
				break;
			}
	return c;
}

/*
 * Paths V (largest first) into at most LEFT layers: the largest a layer
 * each, the rest a layer for each class of users, CLASSES of them.  A
 * class left empty gives its layer to one more of the largest.
 */
static void
singles_then_classes(struct layer_plan *p, const size_t *v, size_t n,
                     size_t left, size_t classes)
{
	size_t s = left > classes ? left - classes : 0;

	if (classes > left)
		classes = left;
	if (n <= left)
		s = n;
	for (;;) {
		size_t c = count_classes(p, v + s, n - s, classes);
		if (s >= n || s + c >= left)
			break;
		s = left - c < n ? left - c : n;
	}
	for (size_t i = 0; i < s; i++)
		group_add(p, add_group(p), v[i]);
	for (size_t k = 0; k < classes && s < n; k++) {
		size_t g = (size_t)-1;
		for (size_t i = s; i < n; i++) {
			if (class_of(p, v[i], classes) != k)
				continue;
			if (g == (size_t)-1)
				g = add_group(p);
			group_add(p, g, v[i]);
		}
	}
}

/* A path of at least 1/(BIG_SHARE * max) of TOTAL bytes. */
static int
is_big(uint64_t size, size_t max, uint64_t total)
{
	uint64_t scaled;

	if (__builtin_mul_overflow(size, (uint64_t)BIG_SHARE * max, &scaled))
		return 1;
	return scaled >= total;
}

/*
 * The largest of the large paths that reach I, or -1: of a runtime and the
 * large modules over it, the runtime, so that its libraries stay with it
 * whichever modules an image has.
 */
static long
anchor_of(const struct layer_plan *p, size_t i, const size_t *big, size_t nbig)
{
	/* BIG is largest first: the first that reaches I. */
	for (size_t b = 0; b < nbig; b++)
		if (reaches(p, big[b], i))
			return (long)big[b];
	return -1;
}

/* Step 3: large paths with what only they hold below them, then the rest. */
static void
plan_tight(struct layer_plan *p, const size_t *order, size_t n, size_t left,
           size_t max)
{
	size_t classes = left < TIGHT_CLASSES ? left : TIGHT_CLASSES;
	size_t *big = xreallocarray(NULL, n ? n : 1, sizeof(*big));
	size_t *rest = xreallocarray(NULL, n ? n : 1, sizeof(*rest));
	size_t nbig = 0, nrest = 0;
	uint64_t total = 0;

	for (size_t i = 0; i < p->n; i++)
		total += p->p[i].size;
	for (size_t k = 0; k < n && nbig + classes < left; k++)
		if (is_big(p->p[order[k]].size, max, total))
			big[nbig++] = order[k];
	for (size_t b = 0; b < nbig; b++) {
		p->p[big[b]].layer = add_group(p);
		group_add(p, p->p[big[b]].layer, big[b]);
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		long a;
		if (p->p[i].layer != (size_t)-1)
			continue; /* one of the large */
		a = anchor_of(p, i, big, nbig);
		if (a >= 0)
			group_add(p, p->p[a].layer, i);
		else
			rest[nrest++] = i;
	}
	singles_then_classes(p, rest, nrest, left - nbig, classes);
	free(big);
	free(rest);
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

/* Steps 2 to 5, for a closure of more than MAX paths (MAX >= 2). */
static void
plan_closure(struct layer_plan *p, size_t max)
{
	size_t *order = xreallocarray(NULL, p->n, sizeof(*order));
	size_t n = 0, ntop = 0, left;

	for (size_t i = 0; i < p->n; i++) {
		p->p[i].top = 4 * p->p[i].below >= 3 * p->n;
		p->p[i].layer = (size_t)-1;
		if (p->p[i].top)
			ntop++;
		else
			order[n++] = i;
	}
	count_users(p);
	sort_plan = p;
	qsort(order, n, sizeof(*order), by_size);
	left = max - (ntop > 0);
	if (max <= SIZE_MAX / TIGHT_RATIO && p->n > TIGHT_RATIO * max)
		plan_tight(p, order, n, left, max);
	else
		singles_then_classes(p, order, n, left, LOOSE_CLASSES);
	if (ntop > 0) {
		size_t t = add_group(p);
		p->layers[t].top = 1;
		for (size_t i = 0; i < p->n; i++)
			if (p->p[i].top)
				group_add(p, t, i);
	}
	free(order);
}

void
layer_plan_make(struct layer_plan *p, size_t max)
{
	p->words = (p->n + WORD_BITS - 1) / WORD_BITS;
	p->reached = xcalloc(p->n * p->words + 1, sizeof(word));
	for (size_t i = 0; i < p->n; i++)
		measure(p, i);
	if (p->n <= max) {
		for (size_t i = 0; i < p->n; i++)
			group_add(p, add_group(p), i);
	} else if (max == 1) {
		size_t all = add_group(p);
		for (size_t i = 0; i < p->n; i++)
			group_add(p, all, i);
	} else {
		plan_closure(p, max);
	}
	for (size_t k = 0; k < p->nlayers; k++)
		qsort(p->layers[k].v, p->layers[k].n, sizeof(size_t), by_index);
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
	for (size_t k = 0; k < p->nlayers; k++)
		free(p->layers[k].v);
	free(p->layers);
	free(p->reached);
	free(p->p);
	free(p);
}
