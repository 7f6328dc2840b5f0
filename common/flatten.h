/*
 * flatten.h: the root file system that a stack of layers makes, as one
 * TREE, computed from the layer streams alone (nothing is extracted).
 *
 * The layers are read top layer first, each once from start to end, with a
 * set of the paths decided so far: an entry is written when no layer above
 * decided its path, deleted it (whiteout), hid it (an opaque directory
 * above it) or put a non-directory over one of its parents.  A directory
 * that several layers hold is written once, with the metadata of the
 * highest layer that has an entry for it, and its contents are merged.
 * Whiteouts in either form (see whiteout.h) are obeyed wherever they sit in
 * their layer and never appear in the output.  Which paths a layer may
 * place is the tree rule of placement.h, which flatten applies and does
 * not restate: within one layer the first entry for a path wins (as tar
 * -xk would extract it), and an entry under a path the layer made a
 * non-directory is malformed.
 *
 * Order of the output, which depends only on the layers' bytes:
 *  1. for each layer from the top down, the entries it contributes, in
 *     their order in the layer, each copied byte for byte (header blocks
 *     as read, data, padding) unless it had to change (an overlayfs opaque
 *     xattr dropped, a hardlink re-aimed or turned into a file);
 *  2. a hardlink whose target comes from a lower layer is written right
 *     after that target;
 *  3. last, the copies that had to be read again (below), then the
 *     directories that layers imply (a parent of an entry) but that no layer
 *     describes, sorted, as 0755 root-owned directories
 *     (flatten_write only).
 *
 * Hardlinks follow the inode the layer meant: a hardlink whose target a
 * higher layer replaced or deleted becomes a regular copy of the target as
 * it was in the hardlink's own layer (or the one below), and further links
 * to that inode link to the copy.  When that target had already been passed
 * in the same layer, its layer is opened a second time at the end to read
 * it.  A hardlink to a path that does not exist beneath it is an error.
 *
 * Memory grows with the number of paths, never with the bytes of a layer;
 * a hardlink that waits for its target keeps its header packed (numbers
 * as varints, runs of zeros squeezed: about 130 bytes for a ustar
 * header), not a copy of the entry.  In all, a hardlink into a lower
 * layer costs about 400 bytes while it waits: its records in the tree
 * and in its layer's paths, its node, request and packed header.
 * Bad input is fatal: errx() naming the layer, the entry and the reason.
 */
#ifndef DI_FLATTEN_H
#define DI_FLATTEN_H

#include <stddef.h>
#include <stdint.h>

#include "pathset.h"
#include "tar_reader.h"
#include "tar_writer.h"

struct flatten_layers {
	size_t count;
	/*
	 * Open layer I (0 is the bottom layer) at its start.  Called once
	 * per layer, top layer first, and closed before the next is opened;
	 * called again only when a hardlink needs a skipped entry back.
	 */
	struct tar_reader *(*open)(void *ctx, size_t i);
	void *ctx;
	/*
	 * Close what open returned (R, of layer I), which may not have been
	 * read to its end; NULL: tar_reader_close.  For readers that belong
	 * to something else, such as an image's layer (image_layer_close).
	 */
	void (*close)(void *ctx, size_t i, struct tar_reader *r);
};

/* One entry of the flattened tree, as handed to a visitor. */
struct flatten_item {
	const char *path;              /* normalized */
	const struct tar_entry *entry; /* the header to write */
	/*
	 * entry->raw holds exactly the header blocks to write; when 0, the
	 * header must be encoded from entry (tar_writer_header).
	 */
	int passthrough;
	/* entry->datasize bytes of data to read, or NULL when there are none */
	struct tar_reader *data;
	size_t layer;           /* the layer it comes from */
	struct path_info *info; /* the tree's record of path */
	unsigned char *extra;   /* the record's EXTRA bytes (flatten_walk) */
};

typedef void (*flatten_visit_fn)(void *ctx, const struct flatten_item *it);

/*
 * Call VISIT for each entry of the flattened tree, in the order above
 * (without the implied directories of step 3).  Returns the tree's set:
 * records with a type are the tree's paths (PATH_IMPLIED without
 * PATH_WRITTEN: an implied directory), records without are only marks.
 * The set keeps EXTRA bytes per path for the visitor; the caller frees it.
 */
struct pathset *flatten_walk(const struct flatten_layers *layers, size_t extra,
                             flatten_visit_fn visit, void *ctx);

/*
 * Write the flattened tree to W, without the end-of-archive blocks; the
 * implied directories get time MTIME (the tool's SOURCE_DATE_EPOCH).
 */
void flatten_write(const struct flatten_layers *layers, struct tar_writer *w,
                   int64_t mtime);

/*
 * Write the directories of TREE (flatten_walk's set) that the layers
 * imply but never describe (step 3 above).
 */
void flatten_write_implied(struct tar_writer *w, struct pathset *tree,
                           int64_t mtime);

/* Write IT (header, data, padding) to W: a ready-made visitor's body. */
void flatten_write_item(struct tar_writer *w, const struct flatten_item *it);

/*
 * An opener for layers that are files: CTX is an array of COUNT paths
 * (const char *), bottom first; "-" is not allowed (it cannot be reopened).
 */
struct tar_reader *flatten_open_path(void *ctx, size_t i);

#endif
