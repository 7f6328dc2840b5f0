/*
 * image_members.h: the members of an image archive, found by name.
 *
 * An image archive names its parts in any order (docker save writes
 * manifest.json after the layers), so it is read from a seekable,
 * uncompressed copy: the file itself, or a spool of a pipe or of a
 * compressed archive (common/spool, which stops at the end-of-archive).
 * The scan reads headers only and seeks over data; members are then read
 * in place with pread(2).
 */
#ifndef DI_IMAGE_MEMBERS_H
#define DI_IMAGE_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

struct image_member {
	char *name;      /* normalized (path_normalize) */
	char type;       /* tar typeflag: '0', '1', '2', '5', ... */
	char *link;      /* link target as stored */
	uint64_t offset; /* of the data in the archive */
	int64_t size;
};

struct image_members {
	int fd;
	char *label;
	struct image_member *v;
	size_t n;
};

/*
 * Open PATH ("-" or NULL: stdin) as a seekable, uncompressed archive and
 * index its members.  errx naming LABEL on a malformed archive.
 */
void image_members_open(struct image_members *m, const char *path);
/* The same for FD (taken over: a file, a spool or a pipe). */
void image_members_open_fd(struct image_members *m, int fd, const char *label);

/*
 * Walk the headers of the uncompressed archive on FD (a regular file, from
 * its start), seeking over the data: VISIT is called for each member (X
 * and its strings valid during the call) and a non-zero answer stops the
 * walk.  Returns 0, or -1 and *WHY (malloc'd) naming the member or offset
 * where the archive is damaged; never exits.
 */
typedef int (*image_members_visit_fn)(void *ctx, const struct image_member *x);
int image_members_walk(int fd, const char *label, image_members_visit_fn visit,
                       void *ctx, char **why);
void image_members_free(struct image_members *m);
/* A second view of FROM's archive: its descriptor dup'd, the table copied. */
void image_members_dup(struct image_members *to,
                       const struct image_members *from);

/*
 * The regular file NAME (normalized or not), symlinks and hard links
 * followed within the archive; the last of equal names wins, as when
 * extracting.  NULL when there is none.
 */
const struct image_member *image_members_find(const struct image_members *m,
                                              const char *name);
/* NAME's bytes, NUL-terminated, at most LIMIT of them; errx when missing. */
char *image_members_slurp(const struct image_members *m, const char *name,
                          size_t limit, size_t *len);

#endif
