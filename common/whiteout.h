/*
 * whiteout.h: the marks by which a layer deletes what lower layers hold.
 *
 * OCI image-spec (layer.md) form: a file ".wh.NAME" deletes NAME (and all
 * under it) from the layers below; a file ".wh..wh..opq" in a directory
 * hides everything the layers below hold in that directory.  Other names
 * that begin ".wh..wh." are AUFS bookkeeping and carry no file.
 *
 * overlayfs form (an upper directory, as di-overlay --run sees it): a
 * character device 0/0 named NAME deletes NAME; a directory with the xattr
 * trusted.overlay.opaque or user.overlay.opaque set to "y" is opaque.
 *
 * A mark only ever applies to lower layers, never to entries of its own
 * layer, so where it sits in its layer does not matter.
 */
#ifndef DI_WHITEOUT_H
#define DI_WHITEOUT_H

#include <stdint.h>

#include "tar_reader.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

enum whiteout_kind {
	WHITEOUT_NONE,         /* an ordinary entry */
	WHITEOUT_FILE,         /* deletes the target path and all under it */
	WHITEOUT_OPAQUE_DIR,   /* hides the lower contents of the target dir;
	                          carries no file of its own */
	WHITEOUT_OPAQUE_XATTR, /* an overlayfs opaque directory: a real
	                          directory whose lower contents are hidden */
	WHITEOUT_META,         /* AUFS bookkeeping (.wh..wh.*): ignore */
	WHITEOUT_BAD,          /* ".wh." with no name after it */
};

/*
 * What entry E, whose normalized path is PATH, marks.  For a whiteout or an
 * opaque mark, *target gets the normalized path it concerns (allocated;
 * the caller frees it), else NULL.
 */
enum whiteout_kind whiteout_classify(const struct tar_entry *e,
                                     const char *path, char **target);

/* Is E's xattr record KEY one of overlayfs's opaque marks? */
int whiteout_is_opaque_xattr(const char *key);

/* The name of the OCI whiteout that deletes normalized PATH; caller frees. */
char *whiteout_name(const char *path);
/* The name of the OCI opaque mark for directory DIR; caller frees. */
char *whiteout_opaque_name(const char *dir);

/*
 * Fill E with the header of an OCI whiteout file NAME (empty regular
 * file, mode 0644, owner 0:0, MTIME).  E's strings point at NAME and at
 * static empty strings; nothing to free but NAME.
 */
void whiteout_entry(struct tar_entry *e, const char *name, int64_t mtime);

#endif
