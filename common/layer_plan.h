/*
 * layer_plan.h: how a closure of store paths is cut into at most N layers
 * so that related images share as many layer bytes as possible.
 *
 * Nix changes a store path whenever anything it references changes, so
 * what changes between two builds is always a path and everything above
 * it.  The plan keeps what is stable apart from what is not, using only
 * facts that are a function of a path itself (its size, and what lies
 * below it, which its hash already fixes) or of the closure's sizes:
 *
 *   1. a closure of N paths or fewer gets a layer per path;
 *   2. else the N - G largest paths (G = max(2, N/2)) get a layer each;
 *   3. every other path is keyed by which of those large paths reach it
 *      and by its height (the longest chain of references below it); the
 *      paths that reach at least half the closure (the roots, the
 *      application, what wraps it) are one group of their own, the top;
 *   4. while there are more than G groups, the smallest group (not the
 *      top) joins the group nearest to it: fewest large paths reaching one
 *      and not the other, then the nearest height, then the smallest;
 *   5. layers go bottom first: by height, then by their first path.
 *
 * Ties are broken by the paths' names, never by the order they were
 * given in, so the plan is a pure function of the graph and the sizes.
 * Memory grows with the square of the number of paths (a bit per pair).
 */
#ifndef DI_LAYER_PLAN_H
#define DI_LAYER_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct layer_plan;

/* A plan for N paths, numbered 0..N-1 in byte order of their names. */
struct layer_plan *layer_plan_new(size_t n);
/* Path I's size in bytes (what it adds to a layer). */
void layer_plan_size(struct layer_plan *p, size_t i, uint64_t size);
/* Path FROM references path TO (a self-reference is ignored). */
void layer_plan_ref(struct layer_plan *p, size_t from, size_t to);
/* Cut the paths into at most MAX layers (MAX >= 1); never an empty one. */
void layer_plan_make(struct layer_plan *p, size_t max);

size_t layer_plan_count(const struct layer_plan *p);
/* Layer K (0 at the bottom): its paths, ascending, and its bytes. */
const size_t *layer_plan_layer(const struct layer_plan *p, size_t k, size_t *n);
uint64_t layer_plan_bytes(const struct layer_plan *p, size_t k);

void layer_plan_free(struct layer_plan *p);

#endif
