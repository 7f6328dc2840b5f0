/*
 * upperdir.h: an overlayfs upper directory turned into a LAYER.
 *
 * What a process changed over a lower root, as overlayfs recorded it in the
 * upper directory, is written as a layer in OCI form: new and changed
 * entries as they are; a character device 0/0 (a deletion) as an empty
 * file ".wh.NAME"; a directory marked opaque (trusted.overlay.opaque or
 * user.overlay.opaque "y", a directory that replaced one below) as the
 * directory followed by ".wh..wh..opq".
 *
 * Entries come normalized as di-layer writes them: in walk order
 * (dirtree_cmp: parents first, siblings in byte order, whiteouts among
 * them by their own names), names relative, directories ending in '/',
 * every time MTIME, no user or group names, hard links within the layer
 * kept as links.  Owners stay as they are on disk (what the command set
 * matters), and so do extended attributes but overlayfs's own and the
 * host's (SELinux labels).  A file in the upper directory whose name
 * begins ".wh." is an error: no layer could tell it from a whiteout.
 *
 * Memory grows with the number of entries, never with their bytes.
 */
#ifndef DI_UPPERDIR_H
#define DI_UPPERDIR_H

#include <stdint.h>

#include "tar_writer.h"

void upperdir_write_layer(const char *dir, struct tar_writer *w, int64_t mtime);

#endif
