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

#define LINK_HOPS 40

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err(EXIT_DATA, "spool");
		p += w;
		n -= (size_t)w;
	}
}

/* A spooled, decompressed copy of the compressed archive on FD. */
static int
decompress(int fd, const char *label)
{
	struct stat st;
	struct instream *in;
	char buf[128 * 1024];
	ssize_t n;
	int out = spool_tempfile();

	if (fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", label);
	in = instream_range(fd, 0, (uint64_t)st.st_size, label);
	while ((n = instream_read(in, buf, sizeof(buf))) > 0)
		write_all(out, buf, (size_t)n);
	if (n < 0)
		errx(EXIT_DATA, "%s: %s", label, instream_error(in));
	instream_close(in);
	close(fd);
	return out;
}

/* Is the archive on FD compressed?  Its first bytes tell. */
static int
is_compressed(int fd, const char *label)
{
	struct instream *in = instream_range(fd, 0, 8, label);
	char b[8];
	int compressed;

	/* Reading starts the decompressor, which may fail on 8 bytes. */
	(void)instream_read(in, b, 1);
	compressed = strcmp(instream_compression(in), "none") != 0;
	instream_close(in);
	return compressed;
}

static void
add_member(struct image_members *m, const struct tar_entry *e, uint64_t offset)
{
	struct image_member *x;
	char *name = path_go_clean(e->name);

	m->v = reallocarray(m->v, m->n + 1, sizeof(*m->v));
	if (m->v == NULL)
		err(EXIT_DATA, "malloc");
	x = &m->v[m->n++];
	x->name = name;
	x->type = e->typeflag;
	x->link = strdup(e->linkname);
	if (x->link == NULL)
		err(EXIT_DATA, "malloc");
	x->offset = offset;
	x->size = e->datasize;
}

/*
 * Read the header of the member at OFFSET with a reader of its own, so
 * that the data is never read: the next member starts after it.
 * Returns the next member's offset, or 0 at the end of the archive.
 */
static uint64_t
scan_one(struct image_members *m, uint64_t offset, uint64_t end)
{
	struct instream *in =
	    instream_range(m->fd, offset, end - offset, m->label);
	struct tar_reader *r;
	struct tar_entry *e;
	uint64_t data, next = 0;
	int got;

	instream_plain(in);
	r = tar_reader_new(in);
	got = tar_reader_next(r, &e);
	if (got < 0)
		errx(EXIT_DATA, "%s: member at offset %" PRIu64 ": %s",
		     m->label, offset, tar_reader_error(r));
	if (got == 1 && e->sparse)
		errx(EXIT_DATA,
		     "%s: member '%s' at offset %" PRIu64
		     " is a sparse file (members are read where they lie)",
		     m->label, e->name, offset);
	if (got == 1) {
		data = offset + e->rawlen;
		next = data + ((uint64_t)e->datasize + TAR_BLOCK - 1) /
		                  TAR_BLOCK * TAR_BLOCK;
		if (next > end)
			errx(EXIT_DATA,
			     "%s: member '%s' at offset %" PRIu64
			     " is truncated",
			     m->label, e->name, offset);
		if (e->typeflag != 'g')
			add_member(m, e, data);
	}
	tar_reader_close(r);
	return next;
}

void
image_members_open(struct image_members *m, const char *path)
{
	struct stat st;
	uint64_t offset = 0;

	memset(m, 0, sizeof(*m));
	m->label =
	    strdup(path == NULL || strcmp(path, "-") == 0 ? "stdin" : path);
	if (m->label == NULL)
		err(EXIT_DATA, "malloc");
	m->fd = spool_open(path);
	if (is_compressed(m->fd, m->label))
		m->fd = decompress(m->fd, m->label);
	if (fstat(m->fd, &st) < 0)
		err(EXIT_DATA, "%s", m->label);
	while ((offset = scan_one(m, offset, (uint64_t)st.st_size)) != 0)
		;
	if (m->n == 0)
		errx(EXIT_DATA, "%s: not an image: an empty archive", m->label);
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
	if (asprintf(&joined, "%s/%s", dir, x->link) < 0)
		err(EXIT_DATA, "malloc");
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
	buf = malloc((size_t)x->size + 1);
	if (buf == NULL)
		err(EXIT_DATA, "malloc");
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
