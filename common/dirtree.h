/*
 * dirtree.h: a directory on disk read as tar entries, in walk order: a
 * directory comes before its contents and siblings come in byte order of
 * their names (the order of GNU tar --sort=name, and of dirtree_cmp).
 *
 * Each entry carries a struct tar_entry ready for tar_writer_header and
 * tarsum_begin:
 *   name      relative, PREFIX/ in front when a prefix is given, ending in
 *             '/' for a directory; never "./" and never the root itself
 *             (unless DIRTREE_SELF)
 *   typeflag  '0' file, '2' symlink, '3' char device, '4' block device,
 *             '5' directory, '6' fifo; '1' hard link with DIRTREE_HARDLINKS
 *   mode      the permission bits (st_mode & 07777), no file type bits
 *   uid, gid, mtime from lstat; uname and gname empty
 *   size      of a regular file, else 0
 *   linkname  a symlink's target (or a hard link's first name)
 *   devmajor, devminor of devices
 *   records   extended attributes as "SCHILY.xattr.NAME" records, sorted by
 *             name (security.capability among them)
 * The tool sets owner and time as it wants before writing.  Sockets are
 * skipped with a warning (tar cannot hold them).
 *
 * The data of the current regular file comes from dirtree_read, which
 * fails when the file is not the size lstat said or changed while it was
 * read.  Tools that read a directory twice (once to hash, once to write)
 * compare dirtree_stamp of each entry between the two walks: equal stamps
 * mean the entry's metadata and, if its data was read, its bytes did not
 * change.
 *
 * Memory grows with the depth of the tree and the size of the directories
 * on the current path, never with file sizes; with DIRTREE_HARDLINKS also
 * with the number of files that have more than one link.
 *
 * The walk owns the entries it returns; an entry is valid until the next
 * call to dirtree_next or dirtree_close.
 */
#ifndef DI_DIRTREE_H
#define DI_DIRTREE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "tar_reader.h"

enum dirtree_flags {
	/*
	 * Return the root itself first, named PREFIX (which must not be
	 * empty), then its contents if it is a directory.  The root may then
	 * be a file, a symlink (not followed) or anything else.  Without
	 * this flag the root must be a directory (a symlink to one is
	 * followed) and only its contents are returned.
	 */
	DIRTREE_SELF = 1 << 0,
	/* A file already returned under another name comes back as '1'. */
	DIRTREE_HARDLINKS = 1 << 1,
	/*
	 * Keep every extended attribute.  By default those that describe the
	 * host rather than the file are left out: security.selinux,
	 * security.ima, security.evm and overlayfs' own trusted.overlay.* and
	 * user.overlay.*.
	 */
	DIRTREE_ALL_XATTRS = 1 << 2,
	/* Read no extended attributes at all. */
	DIRTREE_NO_XATTRS = 1 << 3,
	/* No warnings (for a second walk of a tree already warned about). */
	DIRTREE_QUIET = 1 << 4,
};

struct dirtree_entry {
	struct tar_entry tar;
	/* The entry's path as in tar.name, without a trailing '/'. */
	const char *path;
	/* The file's path on disk (the root joined with the relative path). */
	const char *disk_path;
	/* What lstat said. */
	struct stat st;
};

struct dirtree;

/*
 * Start a walk of DIR.  PREFIX (NULL or "" for none) is put in front of
 * every name, without a leading or trailing '/'.  Returns NULL with errno
 * set when DIR cannot be opened (or is not a directory without
 * DIRTREE_SELF).
 */
struct dirtree *dirtree_open(const char *dir, const char *prefix,
                             unsigned flags);

/*
 * The next entry: 1 and *out set, 0 at the end, -1 on an error that
 * dirtree_error describes (a file that cannot be read, a directory that
 * changed while it was listed).  After an error the walk is over.
 */
int dirtree_next(struct dirtree *t, struct dirtree_entry **out);

/*
 * Leave out the file with this device and inode, with a warning: a tool's
 * own output file, when it is written inside the tree it reads.
 */
void dirtree_exclude(struct dirtree *t, dev_t dev, ino_t ino);

/* Do not descend into the directory dirtree_next just returned. */
void dirtree_prune(struct dirtree *t);

/*
 * Read the data of the current entry (a regular file): up to N bytes, 0 at
 * its end, -1 on an error (dirtree_error), including a file whose size or
 * times changed while it was read.  Other entries have no data.
 */
ssize_t dirtree_read(struct dirtree *t, void *buf, size_t n);

/*
 * A fingerprint of the current entry: its lstat identity (inode, size,
 * mode, owner, times, links, device), its name, link target and extended
 * attributes, and the bytes dirtree_read returned.  Take it after reading
 * the data.
 */
uint64_t dirtree_stamp(const struct dirtree *t);

/* "PATH: why" for the last error. */
const char *dirtree_error(const struct dirtree *t);

void dirtree_close(struct dirtree *t);

/*
 * Compare two normalized paths in walk order: element by element, each in
 * byte order; a directory before everything under it ("a" < "a/b" <
 * "a-b").  Returns <0, 0 or >0 like strcmp.
 */
int dirtree_cmp(const char *a, const char *b);

#endif
