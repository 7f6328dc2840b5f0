/*
 * treemerge.h: several sources of entries, directories on disk
 * (common/dirtree) and TREEs (common/treeindex), walked as one tree in
 * walk order (dirtree_cmp), without holding any file's data:
 *
 *   - the first source (in the order they were added) that has a path
 *     wins it; a directory present in several sources is one directory,
 *     with the first one's metadata, holding the contents of all;
 *   - nothing is placed under a path that a winning entry made a
 *     non-directory (what cp -r or tar -xk would leave);
 *   - a directory that no source has, but that holds entries, is made
 *     with mode 0755, owner 0:0 and time 0;
 *   - files that are hard links of each other within one source stay
 *     links: the first path walked gets the data, later paths are '1'
 *     entries naming it.
 *
 * The merge can be walked again from the start (treemerge_start), every
 * source read anew: tools that must know a layer's checksum before they
 * write it walk twice and compare treemerge_stamp of each entry.
 *
 * Failures (an unreadable directory, a corrupt tar, a file that changed
 * while it was read) are fatal: errx(3) naming the file.
 */
#ifndef DI_TREEMERGE_H
#define DI_TREEMERGE_H

#include <stdint.h>
#include <sys/types.h>

#include "tar_reader.h"

struct treemerge;

struct treemerge *treemerge_new(void);

/*
 * A directory: its contents, or itself and its contents with
 * DIRTREE_SELF, named under PREFIX (see dirtree_open).
 */
void treemerge_add_dir(struct treemerge *m, const char *dir, const char *prefix,
                       unsigned dirtree_flags);
/* A tar, compressed or not ("-": standard input). */
void treemerge_add_tree(struct treemerge *m, const char *path);

/* Leave out of directories the file FD is open on (the output). */
void treemerge_exclude_output(struct treemerge *m, int fd);

/* Begin the walk, or begin it again. */
void treemerge_start(struct treemerge *m);

/*
 * The next entry: 1 with *out set, 0 at the end.  The entry is the
 * merge's, valid until the next call; the caller may change its fields
 * (owner, time) before writing it.
 */
int treemerge_next(struct treemerge *m, struct tar_entry **out);

/* Data of the current entry: up to N bytes, 0 at its end. */
size_t treemerge_read(struct treemerge *m, void *buf, size_t n);

/*
 * A fingerprint of the current entry, its source's metadata and the data
 * read from it; take it after reading the data.
 */
uint64_t treemerge_stamp(const struct treemerge *m);

/* errx when a tar read in place changed during the walks. */
void treemerge_check_unchanged(const struct treemerge *m);

void treemerge_free(struct treemerge *m);

#endif
