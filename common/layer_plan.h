/*
 * layer_plan.h: how a closure of store paths is cut into at most N layers
 * so that related images share as many layer bytes as possible.
 *
 * Nix changes a store path whenever anything it references changes, so
 * what changes between two builds is always a path and everything above
 * it; and what two applications over one base do not share is what each
 * of them picked.  A layer is shared only if it holds the very same paths
 * in both images, so a path's layer must be decided by what is the same in
 * both: its size, what lies below it (which its hash fixes), and the large
 * paths above it, which related images have too.  Only the small paths
 * left at the end go by something that two images may see differently
 * (how many paths use them), and they are few bytes.
 *
 *   1. a closure of N paths or fewer gets a layer per path;
 *   2. the top (the paths that reach three quarters of the closure: the
 *      roots, the application, what wraps it) is the top layer;
 *   3. with more than 6 paths for each layer (the tight case), every path
 *      of at least 1/(3N) of the closure's bytes gets a layer, and each
 *      other path goes with the largest of them that reaches it (a runtime
 *      takes its libraries, whichever modules over it an image has); the
 *      largest of the paths none of them reaches get a layer each, while
 *      2 layers are left;
 *   4. otherwise the largest paths get a layer each, while 3 are left;
 *   5. the paths left go by how many paths outside the top reference them:
 *      none (what only the application uses, which differs between
 *      applications), one, several (the shared libraries), a layer each
 *      (in the tight case, one and several are one layer); a layer left
 *      empty goes to one more of the largest;
 *   6. layers go bottom first: by height (the longest chain of references
 *      below their highest path), then by their first path; the top last.
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
