/*
 * bundle.h: the BUNDLE stream, one layer with its metadata: a tar holding
 * exactly VERSION ("1.0"), json and layer.tar, in that order,
 * as the directory that Nix's mkPureLayer made.  Metadata comes first so a
 * reader learns the layer's name before its bytes.
 */
#ifndef DI_BUNDLE_H
#define DI_BUNDLE_H

#include <stdint.h>

#include "tar_reader.h"
#include "tar_writer.h"

/*
 * Write VERSION, json (JSON text) and the header of layer.tar with
 * LAYER_SIZE bytes; the caller then writes the layer's bytes,
 * tar_writer_pad(w, LAYER_SIZE) and tar_writer_finish(w).
 */
void bundle_write_head(struct tar_writer *w, const char *json,
                       int64_t layer_size, int64_t mtime);

/*
 * Read VERSION and json from R and stop at layer.tar, whose bytes then come
 * from tar_reader_read.  Returns 0 with *json (malloc'd text), or -1 with
 * *why (malloc'd) naming what is missing or out of order.
 */
int bundle_read_head(struct tar_reader *r, char **json, char **why);
/*
 * The same when the caller has already read R's first entry E (to tell a
 * bundle from a plain layer); E must be VERSION.
 */
int bundle_read_head_from(struct tar_reader *r, struct tar_entry *e,
                          char **json, char **why);

#endif
