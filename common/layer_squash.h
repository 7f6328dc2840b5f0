/*
 * layer_squash.h: one layer that does what a range of layers did.
 *
 * Applied on the layers below the range, the squashed layer gives the
 * tree the range gave: the range's flattening (flatten.h: whiteouts and
 * opaque directories inside the range resolved, each path once, from the
 * highest layer that has it), followed by the marks that still act on the
 * layers below: a whiteout ".wh.NAME" for each path the range deletes and
 * does not put back, an opaque mark ".wh..wh..opq" for each directory
 * whose lower contents the range hides (an opaque directory, or one made
 * again over a deletion or a non-directory).  A mark under a path that is
 * marked already, or under a non-directory, is left out.  The marks come
 * last, sorted; a mark acts only on lower layers wherever it sits.
 */
#ifndef DI_LAYER_SQUASH_H
#define DI_LAYER_SQUASH_H

#include <stdint.h>

#include "flatten.h"

/*
 * Write the squashed layer of LAYERS (the range, bottom first) to FD as a
 * whole tar with its end-of-archive; returns how many bytes it wrote.
 */
int64_t layer_squash(const struct flatten_layers *layers, int fd,
                     int64_t mtime);

#endif
