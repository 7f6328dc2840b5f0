/*
 * image_rewrite.c: an IMAGE made of other images' layers, copied as
 * stored, and new ones, with the history in step (see image_rewrite.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "image_rewrite.h"
#include "json.h"
#include "path.h"
#include "xalloc.h"

#define COPY_BUF (1 << 20)

struct image_rewrite {
	struct image_writer *w;
	jv config, history;
	size_t nlayers, done;
	/* The image whose layers 0..done-1 this one still has, or NULL. */
	struct image *chain;
	unsigned char *buf;
};

struct image_rewrite *
image_rewrite_new(int fd, const char *name, const char *tag,
                  enum image_format format, int64_t mtime, jv config,
                  size_t nlayers)
{
	struct image_rewrite *rw = xcalloc(1, sizeof(*rw));

	rw->w = image_writer_new(fd, name, tag, format, mtime);
	rw->config = config;
	rw->history = jv_array();
	rw->nlayers = nlayers;
	rw->buf = xcalloc(1, COPY_BUF);
	return rw;
}

/* A layer's legacy json when it has none of its own: where and when. */
static char *
v1_json(struct image_rewrite *rw)
{
	jv v = jv_object();
	const char *keys[] = {"architecture", "os", "created"};

	for (size_t k = 0; k < 3; k++) {
		jv x = json_get(jv_copy(rw->config), keys[k]);
		if (jv_get_kind(x) == JV_KIND_STRING)
			v = jv_object_set(v, jv_string(keys[k]), x);
		else
			jv_free(x);
	}
	if (rw->done + 1 == rw->nlayers) /* old loaders read it there */
		v = jv_object_set(v, jv_string("config"),
		                  json_get(jv_copy(rw->config), "config"));
	return json_dump(v);
}

static void
layer_done(struct image_rewrite *rw, jv group)
{
	image_writer_layer_end(rw->w);
	rw->done++;
	rw->history = jv_array_concat(rw->history, group);
}

/* Copy IN's SIZE bytes to the writer; LABEL names it when it ends early. */
static void
pour(struct image_rewrite *rw, struct instream *in, int64_t size,
     const char *label)
{
	int64_t left = size;

	while (left > 0) {
		size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
		ssize_t got = instream_read(in, rw->buf, want);
		if (got < 0)
			errx(EXIT_DATA, "%s: %s", label, instream_error(in));
		if (got == 0)
			errx(EXIT_DATA, "%s: ends %" PRId64 " bytes early",
			     label, left);
		image_writer_layer_write(rw->w, rw->buf, (size_t)got);
		left -= got;
	}
}

/* A compressed layer's diff_id is checked by reading it decompressed. */
static void
verify(struct image *img, size_t i)
{
	image_layer_close(image_layer_open(img, i));
}

void
image_rewrite_copy(struct image_rewrite *rw, struct image *img, size_t i,
                   jv group)
{
	struct image_layer_meta m = {0};
	struct instream *in;
	char *json = NULL;
	char label[512];
	int top = rw->done + 1 == rw->nlayers;

	snprintf(label, sizeof(label), "%s: %s", image_label(img),
	         image_layer_path(img, i));
	if (rw->done == 0 && i == 0)
		rw->chain = img;
	else if (rw->chain != img || i != rw->done)
		rw->chain = NULL;
	m.label = label;
	m.size = image_layer_size(img, i);
	m.compression = image_layer_compression(img, i);
	m.diff_id = image_layer_diff_id(img, i);
	if (strcmp(m.compression, "none") != 0)
		verify(img, i);
	if (rw->chain != NULL && !top && image_layer_v1_id(img, i) != NULL) {
		m.v1_id = image_layer_v1_id(img, i);
		m.v1_json = image_layer_v1_json(img, i);
	} else {
		m.v1_json = json = v1_json(rw);
	}
	image_writer_layer_begin(rw->w, &m);
	in = image_layer_raw(img, i);
	pour(rw, in, m.size, label);
	instream_close(in);
	layer_done(rw, group);
	free(json);
}

/* --- new layers ----------------------------------------------------------- */

struct tee {
	struct image_rewrite *rw;
	struct layer_source *s;
	int64_t left;
};

static ssize_t
tee_read(void *ctx, void *buf, size_t n)
{
	struct tee *t = ctx;
	ssize_t got;

	if ((int64_t)n > t->left)
		n = (size_t)t->left;
	if (n == 0)
		return 0;
	if ((got = layer_source_read(t->s, buf, n)) == 0)
		errx(EXIT_DATA, "%s: ends %" PRId64 " bytes early", t->s->label,
		     t->left);
	t->left -= got;
	return got;
}

static void
tee_write(void *ctx, const void *p, size_t n)
{
	struct tee *t = ctx;

	image_writer_layer_write(t->rw->w, p, n);
}

/* A name that climbs out with ".." has no place in a layer. */
static void
check_name(const char *label, const struct tar_entry *e, const char *name)
{
	char *path = path_normalize(name);

	if (path == NULL)
		errx(EXIT_DATA,
		     "%s: offset %" PRIu64 ": '%s': '%s' climbs out with '..'",
		     label, e->offset, e->name, name);
	free(path);
}

static void
check_entry(const char *label, const struct tar_entry *e)
{
	if (e->typeflag == 'g')
		return;
	check_name(label, e, e->name);
	if (e->typeflag == '1')
		check_name(label, e, e->linkname);
}

/* S's bytes to the writer, read as a tar on their way when they are one. */
static void
pour_source(struct image_rewrite *rw, struct layer_source *s)
{
	struct tee t = {rw, s, s->size};
	struct instream *in = instream_fnopen(tee_read, &t, s->label);
	struct tar_reader *r;
	struct tar_entry *e;
	int got;

	instream_plain(in);
	instream_tee_fn(in, tee_write, &t);
	if (!s->is_tar) {
		if (instream_drain_tee(in) < 0)
			errx(EXIT_DATA, "%s: %s", s->label, instream_error(in));
		instream_close(in);
		return;
	}
	r = tar_reader_new(in);
	while ((got = tar_reader_next(r, &e)) == 1) {
		check_entry(s->label, e);
		while (tar_reader_read(r, rw->buf, COPY_BUF) > 0)
			;
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (instream_drain_tee(in) < 0)
		errx(EXIT_DATA, "%s: %s", s->label, instream_error(in));
	if (t.left != 0)
		errx(EXIT_DATA, "%s: bytes after the end-of-archive", s->label);
	tar_reader_close(r);
}

void
image_rewrite_source(struct image_rewrite *rw, struct layer_source *s, jv group)
{
	struct image_layer_meta m = {0};
	char *json = v1_json(rw);

	rw->chain = NULL;
	m.label = s->label;
	m.size = s->size;
	m.v1_json = json;
	image_writer_layer_begin(rw->w, &m);
	pour_source(rw, s);
	layer_done(rw, group);
	free(json);
}

void
image_rewrite_fd(struct image_rewrite *rw, int fd, int64_t size,
                 const char *label, jv group)
{
	struct image_layer_meta m = {0};
	char *json = v1_json(rw);
	struct instream *in = instream_fdopen(fd, label);

	rw->chain = NULL;
	m.label = label;
	m.size = size;
	m.v1_json = json;
	instream_plain(in);
	image_writer_layer_begin(rw->w, &m);
	pour(rw, in, size, label);
	instream_close(in);
	layer_done(rw, group);
	free(json);
}

void
image_rewrite_finish(struct image_rewrite *rw, jv tail)
{
	jv c = rw->config;

	if (rw->done != rw->nlayers)
		errx(EXIT_DATA, "%zu layers written, %zu announced", rw->done,
		     rw->nlayers);
	c = jv_object_delete(c, jv_string("rootfs"));
	c = jv_object_set(c, jv_string("history"),
	                  jv_array_concat(rw->history, tail));
	image_writer_finish(rw->w, c);
	free(rw->buf);
	free(rw);
}
