/*
 * rootdir.h: a directory on disk that stands for the root of a file
 * system, written entry by entry from a TREE, never outside it.
 *
 * Names are normalized (a name that climbs out with ".." is an error,
 * absolute names are taken from the root), and every path is resolved as
 * if the directory were "/" (openat2 RESOLVE_IN_ROOT): a symbolic link in
 * the tree that points outside, absolute or through "..", leads back inside,
 * exactly as it would for a process chrooted there.  Hard link targets are
 * resolved the same way.  The last name of an entry is never followed.
 *
 * Owners, modes (set-id bits too), extended attributes and modification
 * times are kept where the process may set them; what it may not (owners
 * other than 0 or device nodes in a user namespace, trusted.* attributes
 * without root) is left out, with one warning for each kind at close.
 */
#ifndef DI_ROOTDIR_H
#define DI_ROOTDIR_H

#include <sys/types.h>

#include "tar_reader.h"

struct rootdir;

/*
 * Ids 0 to COUNT-1 of a root, as the host stores them: ID + UID (or GID).
 * A root that a user namespace sees through the map "0 UID COUNT" holds
 * its owners shifted so; COUNT 0 means no shift (owners as they are).
 */
struct rootdir_ids {
	unsigned long uid, gid, count;
};

/* Reads up to N bytes of an entry's data: the count, 0 at its end, -1. */
typedef ssize_t (*rootdir_read_fn)(void *ctx, void *buf, size_t n);

/* DIR must exist; LABEL names it in messages. */
struct rootdir *rootdir_open(const char *dir, const char *label);

/*
 * Write E (a regular file's E->size bytes of data come from READ) in
 * place of whatever non-directory was at its name; a directory that is
 * there already takes E's metadata.  err(3) naming the entry on failure.
 */
void rootdir_write(struct rootdir *rd, const struct tar_entry *e,
                   rootdir_read_fn read, void *ctx);

/*
 * Store owners shifted by IDS from now on; an owner of COUNT or more has
 * no id inside and becomes root's, with a warning naming the first entry
 * and one counting them at close.  Extended attributes of overlayfs's own
 * (trusted.overlay.*, user.overlay.*) are never written, shifted or not:
 * they would be read as whiteouts or opaque marks.
 */
void rootdir_shift_ids(struct rootdir *rd, const struct rootdir_ids *ids);

/* Warn about what could not be kept, and free RD. */
void rootdir_close(struct rootdir *rd);

#endif
