/*
 * pathset.h: a set of normalized paths, each with a small record of what a
 * tool decided about it (its type, whether it is a directory, which input
 * or layer decided it, marks such as whiteouts).
 *
 * It is a hash table over records kept in fixed chunks, so a record's
 * address and its path string stay valid until pathset_free however many
 * paths are added, and a million paths cost about a hundred bytes each.
 * A set may also keep EXTRA bytes per path for the tool (di-diff keeps
 * digests there); they start zeroed.  What the flags mean for a tree (which
 * input may place what) is decided in one place, placement.h.
 */
#ifndef DI_PATHSET_H
#define DI_PATHSET_H

#include <stddef.h>
#include <stdint.h>

/* Bits of path_info.flags. */
enum {
	PATH_DIR = 1 << 0,     /* exists as a directory */
	PATH_IMPLIED = 1 << 1, /* exists only as the parent of other paths */
	PATH_WRITTEN = 1 << 2, /* an entry for it has been written */
	PATH_GONE = 1 << 3,    /* deleted (whiteout) for layers below `gone` */
	PATH_OPAQUE = 1 << 4,  /* contents hidden from layers below `opaque` */
	PATH_TOOL = 1 << 5,    /* first bit left to the tool */
};

struct path_info {
	const char *path; /* normalized; owned by the set */
	uint32_t input;   /* the input or layer that decided the path */
	uint32_t gone;    /* the layer of the PATH_GONE mark */
	uint32_t opaque;  /* the layer of the PATH_OPAQUE mark */
	uint64_t aux;     /* the tool's own: an offset, an index */
	char type;        /* typeflag that decided it; 0: nothing yet */
	uint8_t flags;    /* PATH_* bits */
};

struct pathset;

/* A new empty set keeping EXTRA zeroed bytes per path (0 for none). */
struct pathset *pathset_new(size_t extra);
void pathset_free(struct pathset *s);
size_t pathset_count(const struct pathset *s);

/* The record of PATH (LEN bytes, not NUL-terminated), or NULL. */
struct path_info *pathset_getn(const struct pathset *s, const char *path,
                               size_t len);
struct path_info *pathset_get(const struct pathset *s, const char *path);

/*
 * The record of PATH, added (zeroed, with a copy of PATH) if it was not
 * there; *added (if not NULL) says which happened.
 */
struct path_info *pathset_addn(struct pathset *s, const char *path, size_t len,
                               int *added);
struct path_info *pathset_add(struct pathset *s, const char *path, int *added);

/* The I-th record in the order of addition (I < pathset_count). */
struct path_info *pathset_at(const struct pathset *s, size_t i);

/* The EXTRA bytes of a record of S. */
unsigned char *pathset_extra(const struct pathset *s,
                             const struct path_info *p);

/*
 * Every record, sorted by path bytewise (so parents come before their
 * children); the caller frees the array, not the records.
 */
struct path_info **pathset_sorted(const struct pathset *s);

#endif
