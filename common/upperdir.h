/*
 * upperdir.h: an overlayfs upper directory turned into a LAYER.
 *
 * What a process changed over a lower root, as overlayfs recorded it in the
 * upper directory, is written as a layer in OCI form: new and changed
 * entries as they are; a whiteout (a character device 0/0, or a file
 * carrying overlayfs's whiteout attribute) as an empty file ".wh.NAME"; a
 * directory marked opaque (trusted.overlay.opaque or user.overlay.opaque
 * "y", a directory that replaced one below) as the directory followed by
 * ".wh..wh..opq".  A whiteout is told by what it is, never by its link
 * count: overlayfs makes all its whiteouts links to one inode, so they are
 * never taken for hard links, of each other or of anything else.
 *
 * Entries come normalized as di-layer writes them: in walk order
 * (dirtree_cmp: parents first, siblings in byte order, whiteouts among
 * them by their own names), names relative, directories ending in '/',
 * every time MTIME, no user or group names, hard links within the layer
 * kept as links.  Owners are what the command set: as they are on disk,
 * or shifted back by IDS when the command saw the directory through a
 * user namespace's map (a file capability's root id too).  Extended
 * attributes are kept but overlayfs's own and the host's (SELinux
 * labels).  A file in the upper directory whose name begins ".wh." is an
 * error: no layer could tell it from a whiteout.
 *
 * The walk holds one directory open at a time and names files relative to
 * it, so depth is not bounded by PATH_MAX nor by the number of open files.
 * Memory grows with the number of hard-linked files and the size of the
 * directories on the current path, never with file sizes.
 */
#ifndef DI_UPPERDIR_H
#define DI_UPPERDIR_H

#include <stdint.h>

#include "rootdir.h"
#include "tar_writer.h"

/* IDS may be NULL (owners as on disk). */
void upperdir_write_layer(const char *dir, struct tar_writer *w, int64_t mtime,
                          const struct rootdir_ids *ids);

#endif
