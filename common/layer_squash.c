/*
 * layer_squash.c: one layer that does what a range of layers did: their
 * flattening and the marks that still act below (see layer_squash.h).
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "layer_squash.h"
#include "pathset.h"
#include "tar_writer.h"
#include "whiteout.h"

#define COVERS PATH_TOOL /* a mark written here hides what is under P */

static void
visit(void *ctx, const struct flatten_item *it)
{
	flatten_write_item(ctx, it);
}

/* Is a parent of P (the root included) marked, or not a directory? */
static int
covered(struct pathset *tree, const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && path[i] != '/')
			continue;
		struct path_info *q = pathset_getn(tree, path, i);
		if (q != NULL && (q->flags & COVERS))
			return 1;
	}
	return 0;
}

static void
put_mark(struct tar_writer *w, char *name, int64_t mtime)
{
	struct tar_entry e;

	whiteout_entry(&e, name, mtime);
	tar_writer_header(w, &e);
	free(name);
}

/* The mark P needs, if any; P is then COVERS for the paths under it. */
static void
mark_one(struct tar_writer *w, struct pathset *tree, struct path_info *p,
         int64_t mtime)
{
	int in_tree = p->type != 0;

	if (*p->path != '\0' && covered(tree, p->path))
		return;
	if (in_tree && !(p->flags & PATH_DIR)) {
		p->flags |= COVERS;
	} else if (in_tree || !(p->flags & PATH_GONE)) {
		if (!(p->flags & (PATH_GONE | PATH_OPAQUE)))
			return;
		put_mark(w, whiteout_opaque_name(p->path), mtime);
		p->flags |= COVERS;
	} else {
		put_mark(w, whiteout_name(p->path), mtime);
		p->flags |= COVERS;
	}
}

int64_t
layer_squash(const struct flatten_layers *layers, int fd, int64_t mtime)
{
	struct tar_writer *w = tar_writer_new(fd);
	struct pathset *tree = flatten_walk(layers, 0, visit, w);
	struct path_info **v;
	int64_t size;

	flatten_write_implied(w, tree, mtime);
	v = pathset_sorted(tree);
	for (size_t i = 0; v[i] != NULL; i++)
		mark_one(w, tree, v[i], mtime);
	free(v);
	pathset_free(tree);
	size = (int64_t)tar_writer_offset(w) + 2 * TAR_BLOCK;
	tar_writer_finish(w);
	return size;
}
