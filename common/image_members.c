/* image_members.c: an index of an image archive's members. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "image_members.h"
#include "instream.h"
#include "path.h"
#include "spool.h"
#include "tar_reader.h"
#include "xalloc.h"

#define LINK_HOPS 40

/* A member's name normalized, for the index and the visitors. */
static int
visit_entry(const struct tar_entry *e, uint64_t data,
            image_members_visit_fn visit, void *ctx)
{
	struct image_member x = {
	    .name = path_go_clean(e->name),
	    .type = e->typeflag,
	    .link = xstrdup(e->linkname),
	    .offset = data,
	    .size = e->datasize,
	};
	int stop = visit(ctx, &x);

	free(x.name);
	free(x.link);
	return stop;
}

/*
 * Read the header of the member at OFFSET with a reader of its own, so
 * that the data is never read: *NEXT is where the next member starts, or
 * 0 at the end of the archive.  Returns VISIT's answer, or -1 and *WHY.
 */
static int
walk_one(int fd, const char *label, uint64_t offset, uint64_t end,
         uint64_t *next, image_members_visit_fn visit, void *ctx, char **why)
{
	struct instream *in = instream_range(fd, offset, end - offset, label);
	struct tar_reader *r;
	struct tar_entry *e;
	uint64_t data;
	int got, rc = 0;

	instream_plain(in);
	r = tar_reader_new(in);
	*next = 0;
	got = tar_reader_next(r, &e);
	if (got < 0)
		rc = error_set(why, "%s: member at offset %" PRIu64 ": %s",
		               label, offset, tar_reader_error(r));
	else if (got == 1 && e->sparse)
		rc = error_set(why,
		               "%s: member '%s' at offset %" PRIu64
		               " is a sparse file (members are read where they "
		               "lie)",
		               label, e->name, offset);
	if (got == 1 && rc == 0) {
		data = offset + e->rawlen;
		*next = data + ((uint64_t)e->datasize + TAR_BLOCK - 1) /
		                   TAR_BLOCK * TAR_BLOCK;
		if (*next > end)
			rc = error_set(why,
			               "%s: member '%s' at offset %" PRIu64
			               " is truncated",
			               label, e->name, offset);
		else if (e->typeflag != 'g')
			rc = visit_entry(e, data, visit, ctx);
	}
	tar_reader_close(r);
	return rc;
}

int
image_members_walk(int fd, const char *label, image_members_visit_fn visit,
                   void *ctx, char **why)
{
	struct stat st;
	uint64_t offset = 0, next;
	int rc;

	*why = NULL;
	if (fstat(fd, &st) < 0)
		return error_set(why, "%s: %s", label, strerror(errno));
	do {
		rc = walk_one(fd, label, offset, (uint64_t)st.st_size, &next,
		              visit, ctx, why);
		offset = next;
	} while (rc == 0 && next != 0);
	return rc < 0 ? -1 : 0;
}

static int
add_member(void *ctx, const struct image_member *e)
{
	struct image_members *m = ctx;
	struct image_member *x;

	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	x = &m->v[m->n++];
	x->name = xstrdup(e->name);
	x->type = e->type;
	x->link = xstrdup(e->link);
	x->offset = e->offset;
	x->size = e->size;
	return 0;
}

void
image_members_open_fd(struct image_members *m, int fd, const char *label)
{
	char *why;

	memset(m, 0, sizeof(*m));
	m->label = xstrdup(label);
	m->fd = spool_plain(spool_fd(fd, label), label);
	if (image_members_walk(m->fd, m->label, add_member, m, &why) < 0)
		errx(EXIT_DATA, "%s", why);
	if (m->n == 0)
		errx(EXIT_DATA, "%s: not an image: an empty archive", m->label);
}

void
image_members_open(struct image_members *m, const char *path)
{
	int is_stdin = path == NULL || strcmp(path, "-") == 0;

	image_members_open_fd(m, spool_open(path), is_stdin ? "stdin" : path);
}

void
image_members_free(struct image_members *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].link);
	}
	free(m->v);
	free(m->label);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void
image_members_dup(struct image_members *to, const struct image_members *from)
{
	to->fd = dup(from->fd);
	if (to->fd < 0)
		err(EXIT_DATA, "%s: dup", from->label);
	to->label = xstrdup(from->label);
	to->n = from->n;
	to->v = xcalloc(from->n ? from->n : 1, sizeof(*to->v));
	for (size_t i = 0; i < from->n; i++) {
		to->v[i] = from->v[i];
		to->v[i].name = xstrdup(from->v[i].name);
		to->v[i].link =
		    from->v[i].link ? xstrdup(from->v[i].link) : NULL;
	}
}

static const struct image_member *
lookup(const struct image_members *m, const char *name)
{
	for (size_t i = m->n; i-- > 0;)
		if (strcmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
}

/* Where the link X points, as a clean name from the archive's root. */
static char *
link_target(const struct image_member *x)
{
	char *dir, *joined, *clean;

	if (x->type == '1' || x->link[0] == '/')
		return path_go_clean(x->link);
	dir = path_parent(x->name);
	joined = xasprintf("%s/%s", dir, x->link);
	clean = path_go_clean(joined);
	free(dir);
	free(joined);
	return clean;
}

const struct image_member *
image_members_find(const struct image_members *m, const char *name)
{
	char *cur = path_go_clean(name);
	const struct image_member *x = NULL;

	for (int hops = 0; hops < LINK_HOPS; hops++) {
		x = lookup(m, cur);
		free(cur);
		if (x == NULL || (x->type != '1' && x->type != '2'))
			break;
		cur = link_target(x);
		x = NULL;
	}
	return x != NULL && x->type == '0' ? x : NULL;
}

char *
image_members_slurp(const struct image_members *m, const char *name,
                    size_t limit, size_t *len)
{
	const struct image_member *x = image_members_find(m, name);
	char *buf;
	size_t got = 0;

	if (x == NULL)
		errx(EXIT_DATA, "%s: '%s' is missing", m->label, name);
	if ((uint64_t)x->size > limit)
		errx(EXIT_DATA, "%s: '%s' is too large (%" PRId64 " bytes)",
		     m->label, name, x->size);
	buf = xmalloc((size_t)x->size + 1);
	while (got < (size_t)x->size) {
		ssize_t n = pread(m->fd, buf + got, (size_t)x->size - got,
		                  (off_t)(x->offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(EXIT_DATA, "%s", m->label);
		if (n == 0)
			errx(EXIT_DATA, "%s: '%s' is truncated", m->label,
			     name);
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	return buf;
}
