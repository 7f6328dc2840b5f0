/*
 * path.h: names of tar members and files, normalized so that "./a/b",
 * "/a/b" and "a/b/" are one path.
 *
 * A normalized path is relative, has no "." or empty elements and no
 * trailing slash; the root is "".  Strings returned are the caller's to free.
 */
#ifndef DI_PATH_H
#define DI_PATH_H

/*
 * Normalize NAME.  Returns NULL when NAME climbs out of the root with "..",
 * so that no tool ever writes outside the place it was given.
 */
char *path_normalize(const char *name);

/*
 * Go's path.Join(".", path.Join("/", NAME)): ".." stops at the root, the
 * root is ".".  Docker's tarsum names files this way.
 */
char *path_go_clean(const char *name);

/* The parent of a normalized path ("" for a top-level name); caller frees. */
char *path_parent(const char *path);

/* Does normalized path P lie under (or equal) normalized directory DIR? */
int path_within(const char *p, const char *dir);

#endif
