/*
 * placement.h: which paths an input may place in a tree: the one tree rule
 * of every tool that reads a TREE or a LAYER (di-layer through
 * common/treeindex, di-merge, di-diff, di-cook, common/flatten for
 * di-overlay --export and di-diff's bases, and each --contents input of
 * di-overlay --run, whose inputs are then copied one over another).
 *
 * Within one input (a tar, read in its order):
 *   - the first entry for a path wins it, as tar -xk extracts; a later
 *     entry for the same path is a repeat and places nothing, and so is a
 *     non-directory at a path that an earlier entry made a directory,
 *     itself or as the parent of what it held;
 *   - an entry under a path that the same input made a non-directory (a
 *     file, a symbolic link, anything but a directory) is malformed: no
 *     extraction can place it without writing through a link or failing.
 *     It is fatal: errx naming the input, the entry's offset and name, and
 *     the path in its way.  Whiteouts obey it too (a layer cannot delete
 *     a name inside a file of its own).
 * Across inputs (struct placement), taken in order of precedence:
 *   - the first input to place a path wins it; directories that several
 *     inputs hold are one directory, described by the first input that
 *     has an entry for it;
 *   - nothing is placed under a path that an earlier input made a
 *     non-directory, deleted (a whiteout, PATH_GONE) or made opaque
 *     (PATH_OPAQUE);
 *   - with PLACEMENT_REPLACES (layers, and di-merge --last-wins), a
 *     non-directory of a later input at a path that an earlier input made
 *     a directory had replaced what the inputs after it hold there: the
 *     path becomes opaque to them.
 *
 * Records live in pathsets (see pathset.h); `input` in the tree is the
 * rank of the input that decided the path (0: the first taken), as are
 * `gone` and `opaque`.  Memory grows with the number of paths.
 */
#ifndef DI_PLACEMENT_H
#define DI_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "pathset.h"
#include "tar_reader.h"

/* --- one input ------------------------------------------------------------ */

struct input_paths;

/*
 * The paths of one input named LABEL (borrowed, kept for messages), with
 * EXTRA bytes per path for the tool.
 */
struct input_paths *input_paths_new(const char *label, size_t extra);
void input_paths_free(struct input_paths *in);

/*
 * Entry E of the input, at the normalized PATH (its parents are made
 * directories of the input, implied).  Returns its record if E is the
 * first entry for PATH (type set to E's typeflag, PATH_DIR for a
 * directory), or NULL for a repeat.  The root ("") is a directory whatever
 * an entry says: only a directory entry places it.  errx when E lies under
 * a path this input made a non-directory.
 */
struct path_info *input_paths_take(struct input_paths *in,
                                   const struct tar_entry *e, const char *path);

/*
 * A whiteout E at PATH, which places no path of its own: only the rule on
 * its parents is checked (and they become directories of the input).
 */
void input_paths_check(struct input_paths *in, const struct tar_entry *e,
                       const char *path);

/* The input's set: a record per path seen (entries, implied parents). */
struct pathset *input_paths_set(const struct input_paths *in);

/* --- a tree of several inputs ------------------------------------------ */

enum {
	/* A non-directory over an earlier input's directory hides below. */
	PLACEMENT_REPLACES = 1 << 0,
};

struct placement;

/* An empty tree keeping EXTRA bytes per path; FLAGS: PLACEMENT_*. */
struct placement *placement_new(size_t extra, unsigned flags);

/* Free P; its tree is returned to the caller (pathset_free it). */
struct pathset *placement_finish(struct placement *p);

struct pathset *placement_tree(const struct placement *p);

/* Start the next input, in order of precedence. */
void placement_next_input(struct placement *p);

/* The rank of the current input (0: the first). */
uint32_t placement_rank(const struct placement *p);

/*
 * The tree's record for an entry of type TYPEFLAG at PATH from the
 * current input (which input_paths_take has let through), or NULL: the
 * path is decided, deleted or hidden.  The parents the tree lacks become
 * directories implied by this input.  The record is marked PATH_WRITTEN,
 * except for a hardlink ('1'), which the caller marks once it is written.
 */
struct path_info *placement_claim(struct placement *p, const char *path,
                                  char typeflag);

/*
 * The current input deletes PATH (PATH_GONE) or hides what is under it
 * (PATH_OPAQUE) for the inputs after it, unless an earlier input did.
 */
void placement_mark(struct placement *p, const char *path, int flag);

#endif
