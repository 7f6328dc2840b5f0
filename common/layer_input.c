/*
 * layer_input.c: di-cook's inputs as layers (layer_input.h): which stream
 * an input is, each layer's size before its bytes, and the spool that a
 * pipe or a compressed layer needs for it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "errors.h"
#include "fdio.h"
#include "layer_input.h"
#include "spool.h"
#include "stack.h"
#include "xalloc.h"

enum input_kind { INPUT_BUNDLE, INPUT_LAYER, INPUT_STACK };

struct layer_input {
	enum input_kind kind;
	char *label;
	struct layer_source src;
	struct tar_reader *r;    /* a bundle's or a STACK's outer tar */
	struct stack_reader *sr; /* a STACK's list */
	char *json;              /* a bundle's json */
	char *member_label;
	int fd;        /* a plain layer's file or spool, to close */
	int done;      /* the one layer of a bundle or a plain layer given */
	int stored;    /* gzip and zstd layers kept compressed */
	int member_fd; /* the spool of a compressed STACK member */
};

/* "gzip" or "zstd" when a layer so compressed can be kept as it is. */
static const char *
storable(const char *compression)
{
	if (strcmp(compression, "gzip") == 0)
		return "gzip";
	if (strcmp(compression, "zstd") == 0)
		return "zstd";
	return NULL;
}

static int
open_fd(const char *path)
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO)
	                                : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		err(EXIT_DATA, "%s", path);
	return fd;
}

static void
spool_write(int fd, const void *p, size_t n)
{
	if (fdio_write_all(fd, p, n) < 0)
		err(EXIT_DATA, "spool");
}

/* What may follow the end-of-archive: padding to a record, not more. */
#define SPOOL_SLACK (1 << 20)

/* The spool's bytes: the header blocks read already, then the rest. */
struct replay {
	const unsigned char *head;
	size_t headlen, pos;
	struct instream *in;
	const char *label;
};

static ssize_t
replay_read(void *ctx, void *buf, size_t n)
{
	struct replay *p = ctx;
	ssize_t got;

	if (p->pos < p->headlen) {
		if (n > p->headlen - p->pos)
			n = p->headlen - p->pos;
		memcpy(buf, p->head + p->pos, n);
		p->pos += n;
		return (ssize_t)n;
	}
	if ((got = instream_read(p->in, buf, n)) < 0)
		errx(EXIT_DATA, "%s: %s", p->label, instream_error(p->in));
	return got;
}

static void
spool_sink(void *ctx, const void *p, size_t n)
{
	spool_write(*(int *)ctx, p, n);
}

/*
 * Spool the tar up to its end-of-archive and what pads it; a stream that
 * goes on for more (a few bytes of gzip that inflate to gigabytes of
 * zeros) is refused before it fills the disk.  R has read the first
 * entry's headers (E, when GOT is 1) or the end-of-archive already.
 */
static void
spool_rest(struct layer_input *li, struct tar_reader *r, struct tar_entry *e,
           int got)
{
	static const unsigned char zeros[2 * TAR_BLOCK];
	struct layer_source *s = &li->src;
	struct instream *in = tar_reader_stream(r);
	struct replay p = {zeros, (size_t)instream_offset(in), 0, in, s->label};
	unsigned char buf[64 * 1024];
	struct tar_reader *copy;
	struct instream *spooled;
	uint64_t after = 0;
	ssize_t n;

	if (got == 1) {
		p.head = e->raw;
		p.headlen = e->rawlen;
	}
	li->fd = spool_tempfile();
	spooled = instream_fnopen(replay_read, &p, s->label);
	instream_plain(spooled);
	instream_tee_fn(spooled, spool_sink, &li->fd);
	copy = tar_reader_new(spooled);
	while ((got = tar_reader_next(copy, &e)) == 1)
		while (tar_reader_read(copy, buf, sizeof(buf)) > 0)
			;
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(copy));
	while ((n = instream_read(spooled, buf, sizeof(buf))) > 0)
		if ((after += (uint64_t)n) > SPOOL_SLACK)
			errx(EXIT_DATA,
			     "%s: more than %d bytes follow the end of the "
			     "archive at offset %" PRIu64,
			     s->label, SPOOL_SLACK, tar_reader_offset(copy));
	tar_reader_close(copy);
	s->size = lseek(li->fd, 0, SEEK_END);
	s->in = instream_range(li->fd, 0, (uint64_t)s->size, s->label);
	instream_plain(s->in);
}

/* A plain layer: the file in place when it can be, else a spool. */
static void
open_plain(struct layer_input *li, struct tar_reader *r, struct tar_entry *e,
           int got, int raw, const struct stat *st, off_t start)
{
	struct layer_source *s = &li->src;

	const char *kept =
	    li->stored ? storable(instream_compression(tar_reader_stream(r)))
	               : NULL;

	li->kind = INPUT_LAYER;
	if (got == 0 && instream_offset(tar_reader_stream(r)) == 0)
		errx(EXIT_DATA, "%s: not a tar: empty", s->label);
	if (raw >= 0 && kept != NULL) {
		/* Read twice, decompressed and as it is: the file in place. */
		li->fd = s->fd = raw;
		s->off = (uint64_t)start;
		s->size = st->st_size - start;
		s->compression = kept;
		s->is_tar = 0;
		s->in =
		    instream_range(raw, s->off, (uint64_t)s->size, s->label);
		instream_plain(s->in);
	} else if (raw >= 0 &&
	           strcmp(instream_compression(tar_reader_stream(r)), "none") ==
	               0) {
		li->fd = raw;
		s->size = st->st_size - start;
		s->in = instream_range(raw, (uint64_t)start, (uint64_t)s->size,
		                       s->label);
		instream_plain(s->in);
	} else {
		if (raw >= 0)
			close(raw);
		spool_rest(li, r, e, got);
	}
	tar_reader_close(r);
}

static struct layer_input *
open_input(const char *path, int stored)
{
	struct layer_input *li = xcalloc(1, sizeof(*li));
	int fd = open_fd(path), raw = -1, got;
	struct tar_entry *e = NULL;
	struct tar_reader *r;
	struct stat st;
	off_t start = 0;
	char *why;

	li->label = xstrdup(strcmp(path, "-") == 0 ? "stdin" : path);
	li->fd = li->member_fd = li->src.fd = -1;
	li->stored = stored;
	li->src.compression = "none";
	li->src.label = li->label;
	li->src.paths = jv_null();
	li->src.is_tar = 1;
	li->src.last = 1;
	if (fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", li->label);
	/* Where the file starts: "-" may be a file read in part already. */
	if (S_ISREG(st.st_mode)) {
		if ((raw = dup(fd)) < 0)
			err(EXIT_DATA, "dup");
		if ((start = lseek(fd, 0, SEEK_CUR)) < 0)
			start = 0;
	}
	r = tar_reader_new(instream_fdopen(fd, li->label));
	if ((got = tar_reader_next(r, &e)) < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (got == 1 && strcmp(e->name, "VERSION") == 0) {
		li->kind = INPUT_BUNDLE;
		if (bundle_read_head_from(r, e, &li->json, &why) < 0)
			errx(EXIT_DATA, "%s: %s", li->label, why);
		/* E is the reader's current entry: layer.tar now. */
		li->r = li->src.tar = r;
		li->src.json = li->json;
		li->src.size = e->datasize;
	} else if (got == 1 && stack_sniff(e)) {
		li->kind = INPUT_STACK;
		li->r = r;
		if ((li->sr = stack_reader_new(r, e, li->label, &why)) == NULL)
			errx(EXIT_DATA, "%s", why);
	} else {
		open_plain(li, r, e, got, raw, &st, start);
		raw = -1;
	}
	if (raw >= 0)
		close(raw);
	return li;
}

struct layer_input *
layer_input_open(const char *path)
{
	return open_input(path, 0);
}

struct layer_input *
layer_input_open_stored(const char *path)
{
	return open_input(path, 1);
}

static const char *
sniff_member(const unsigned char *p, size_t n)
{
	static const unsigned char gz[] = {0x1f, 0x8b},
	                           zst[] = {0x28, 0xb5, 0x2f, 0xfd};

	if (n >= sizeof(gz) && memcmp(p, gz, sizeof(gz)) == 0)
		return "gzip";
	if (n >= sizeof(zst) && memcmp(p, zst, sizeof(zst)) == 0)
		return "zstd";
	return NULL;
}

/* The previous member's spool and stream, done with. */
static void
member_done(struct layer_input *li)
{
	struct layer_source *s = &li->src;

	if (s->in != NULL)
		instream_close(s->in);
	s->in = NULL;
	if (li->member_fd >= 0)
		close(li->member_fd);
	li->member_fd = s->fd = -1;
	s->compression = "none";
	s->is_tar = 1;
	s->npeek = s->peekpos = 0;
}

/*
 * Sniff the member's first bytes; a compressed one is spooled as it is,
 * to be read decompressed and then copied.
 */
static void
take_member(struct layer_input *li)
{
	struct layer_source *s = &li->src;
	unsigned char buf[64 * 1024];
	ssize_t got = 0;

	s->tar = li->r;
	while (s->npeek < sizeof(s->peek) && (int64_t)s->npeek < s->size &&
	       (got = tar_reader_read(li->r, s->peek + s->npeek,
	                              sizeof(s->peek) - s->npeek)) > 0)
		s->npeek += (size_t)got;
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(li->r));
	if ((s->compression = sniff_member(s->peek, s->npeek)) == NULL) {
		s->compression = "none";
		return;
	}
	li->member_fd = s->fd = spool_tempfile();
	s->off = 0;
	spool_write(s->fd, s->peek, s->npeek);
	while ((got = tar_reader_read(li->r, buf, sizeof(buf))) > 0)
		spool_write(s->fd, buf, (size_t)got);
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(li->r));
	s->npeek = 0;
	s->tar = NULL;
	s->is_tar = 0;
	s->in = instream_range(s->fd, 0, (uint64_t)s->size, s->label);
	instream_plain(s->in);
}

static int
next_of_stack(struct layer_input *li, struct layer_source **out)
{
	struct layer_source *s = &li->src;
	const char *name;
	size_t i;
	char *why;
	int got;

	member_done(li);
	if ((got = stack_reader_next(li->sr, &i, &s->size, &name, &why)) < 0)
		errx(EXIT_DATA, "%s", why);
	if (got == 0)
		return 0;
	free(li->member_label);
	li->member_label = xasprintf("%s: %s", li->label, name);
	s->label = li->member_label;
	s->tar = li->r;
	jv_free(s->paths);
	s->paths = stack_reader_paths(li->sr, i);
	s->last = i + 1 == stack_reader_count(li->sr);
	if (li->stored)
		take_member(li);
	*out = s;
	return 1;
}

int
layer_input_next(struct layer_input *li, struct layer_source **out)
{
	if (li->kind == INPUT_STACK)
		return next_of_stack(li, out);
	if (li->done)
		return 0;
	li->done = 1;
	*out = &li->src;
	return 1;
}

ssize_t
layer_source_read(struct layer_source *s, void *buf, size_t n)
{
	ssize_t got;

	if (s->peekpos < s->npeek) {
		if (n > s->npeek - s->peekpos)
			n = s->npeek - s->peekpos;
		memcpy(buf, s->peek + s->peekpos, n);
		s->peekpos += n;
		return (ssize_t)n;
	}
	got = s->tar ? tar_reader_read(s->tar, buf, n)
	             : instream_read(s->in, buf, n);

	if (got < 0)
		errx(EXIT_DATA, "%s",
		     s->tar ? tar_reader_error(s->tar) : instream_error(s->in));
	return got;
}

struct instream *
layer_source_plain(const struct layer_source *s)
{
	return instream_range(s->fd, s->off, (uint64_t)s->size, s->label);
}

void
layer_input_close(struct layer_input *li)
{
	if (li == NULL)
		return;
	if (li->kind == INPUT_STACK)
		member_done(li);
	if (li->r != NULL)
		tar_reader_close(li->r);
	if (li->src.in != NULL)
		instream_close(li->src.in);
	if (li->fd >= 0)
		close(li->fd);
	stack_reader_free(li->sr);
	jv_free(li->src.paths);
	free(li->json);
	free(li->member_label);
	free(li->label);
	free(li);
}
