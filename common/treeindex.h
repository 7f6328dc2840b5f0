/*
 * treeindex.h: a TREE (a tar, compressed or not) read once into an index
 * of its entries in walk order (dirtree_cmp), whose data is then read back
 * by offset, as often as needed and in any order.
 *
 * The index holds the entries the tree rule (common/placement) lets the
 * tar place: names normalized (no "./", no leading '/', no root entry),
 * the first entry for a path winning, an entry under a path the tar made
 * a non-directory refused; hard links resolved, in time linear in their
 * number however they chain, to the entry that holds their data.  It holds no
 * file data: an uncompressed regular file is read in place; anything else (a
 * pipe, compressed input) is decompressed into an unlinked spool file under
 * $TMPDIR.  Memory grows with the number of entries, not their size.
 *
 * Errors in the input (a corrupt tar, a name climbing out with "..", an
 * entry under a file, a hard link to nothing) are fatal: errx(3) naming the
 * input and the entry.
 */
#ifndef DI_TREEINDEX_H
#define DI_TREEINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tar_reader.h"

struct treeindex_entry {
	/*
	 * The header as a tar_entry: name is the normalized path plus '/'
	 * for a directory; records hold only SCHILY.xattr.* ones.  A hard
	 * link is given its target's type, mode, owner, size and
	 * attributes.
	 */
	struct tar_entry tar;
	/* The normalized path (tar.name without a trailing '/'). */
	char *path;
	/* Where its data starts in the index's file. */
	int64_t data_offset;
	/*
	 * Entries that are hard links of each other share a group (the
	 * index of the entry that holds the data, plus one); 0 for none.
	 */
	size_t group;
};

struct treeindex;

/* Read PATH ("-" for standard input); errx on bad input. */
struct treeindex *treeindex_open(const char *path);

size_t treeindex_count(const struct treeindex *x);
const struct treeindex_entry *treeindex_get(const struct treeindex *x,
                                            size_t i);

/*
 * Read up to N bytes of E's data starting at OFFSET within it: the count,
 * 0 past its end; errx on a read error.
 */
size_t treeindex_pread(struct treeindex *x, const struct treeindex_entry *e,
                       void *buf, size_t n, int64_t offset);

/* errx when a file read in place changed since it was indexed. */
void treeindex_check_unchanged(const struct treeindex *x);

const char *treeindex_label(const struct treeindex *x);

void treeindex_close(struct treeindex *x);

#endif
