/*
 * stream_kind.c: telling an IMAGE, a BUNDLE and a TREE apart.  The same
 * judge sees each member whether the headers come from a seekable walk
 * (image_members_walk) or from a decompressing stream (tar_reader).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "image_members.h"
#include "instream.h"
#include "json.h"
#include "path.h"
#include "stack.h"
#include "stream_kind.h"
#include "tar_reader.h"
#include "xalloc.h"

/* The image documents are small; a larger one is taken on trust. */
#define DOC_LIMIT (64u << 20)

/* What the members seen so far say. */
struct evidence {
	size_t n;    /* members seen */
	int bundle;  /* the first members were VERSION, json, layer.tar */
	int index;   /* index.json holds a manifests array */
	int layout;  /* oci-layout is there */
	int decided; /* -1, or the kind */
	/* By names alone: what a damaged image would still show. */
	int named_manifest, named_index, named_repos, named_layer;
	int only_image_names; /* no member an image would not have */
	/* The current member's data, NUL-terminated, or NULL (malloc'd). */
	char *(*fetch)(void *ctx, size_t *len);
	void *ctx;
};

static void
evidence_init(struct evidence *ev, char *(*fetch)(void *, size_t *), void *ctx)
{
	memset(ev, 0, sizeof(*ev));
	ev->decided = -1;
	ev->only_image_names = 1;
	ev->fetch = fetch;
	ev->ctx = ctx;
}

static jv
fetch_json(struct evidence *ev, int64_t size)
{
	size_t len;
	char *t;
	jv v;

	if (size > (int64_t)DOC_LIMIT)
		return jv_true(); /* too large to check: let the reader say */
	if ((t = ev->fetch(ev->ctx, &len)) == NULL)
		return jv_invalid();
	v = json_parse(t, len);
	free(t);
	return v;
}

/* docker save's manifest.json: a list of {Config, Layers}. */
static int
is_docker_manifest(jv v)
{
	int ok =
	    jv_get_kind(v) == JV_KIND_ARRAY && jv_array_length(jv_copy(v)) > 0;

	if (jv_get_kind(v) == JV_KIND_TRUE)
		return 1;
	if (ok)
		jv_array_foreach(v, i, e)
		{
			ok = ok && json_peek_string(e, "Config") != NULL &&
			     json_peek_is(e, "Layers", JV_KIND_ARRAY);
			jv_free(e);
		}
	jv_free(v);
	return ok;
}

/* The seed's repositories: {repository: {tag: id}}. */
static int
is_repositories(jv v)
{
	int ok = jv_get_kind(v) == JV_KIND_OBJECT &&
	         jv_object_length(jv_copy(v)) > 0;

	if (jv_get_kind(v) == JV_KIND_TRUE)
		return 1;
	if (ok)
		jv_object_foreach(v, k, tags)
		{
			ok = ok && jv_get_kind(tags) == JV_KIND_OBJECT;
			jv_free(k);
			jv_free(tags);
		}
	jv_free(v);
	return ok;
}

static int
is_oci_index(jv v)
{
	int ok = jv_get_kind(v) == JV_KIND_TRUE ||
	         json_peek_is(v, "manifests", JV_KIND_ARRAY);

	jv_free(v);
	return ok;
}

/* Could member P (normalized) be part of an image archive? */
static int
image_like(const char *p)
{
	static const char *const top[] = {
	    "",           ".",          "manifest.json",
	    "index.json", "oci-layout", "repositories"};
	size_t n = strcspn(p, "/"), hex = strspn(p, "0123456789abcdef");

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (strcmp(p, top[i]) == 0)
			return 1;
	if (n == 5 && strncmp(p, "blobs", 5) == 0)
		return 1;
	return hex == 64 && (hex == n || strncmp(p + 64, ".json", 5) == 0 ||
	                     strncmp(p + 64, ".tar", 4) == 0);
}

/*
 * The names, for an archive whose documents did not prove it an image:
 * image members only, and the ones each form must have.  Such an archive
 * is a damaged image, which the image reader reports, not a tree.
 */
static void
note_name(struct evidence *ev, const char *name)
{
	const char *slash = strchr(name, '/');

	ev->only_image_names &= image_like(name);
	ev->named_manifest |= strcmp(name, "manifest.json") == 0;
	ev->named_index |= strcmp(name, "index.json") == 0;
	ev->named_repos |= strcmp(name, "repositories") == 0;
	ev->named_layer |= slash != NULL && strcmp(slash, "/layer.tar") == 0;
}

static enum stream_kind
by_names(const struct evidence *ev)
{
	if (ev->only_image_names &&
	    (ev->named_manifest || (ev->named_index && ev->layout) ||
	     (ev->named_repos && ev->named_layer)))
		return STREAM_IMAGE;
	return STREAM_TREE;
}

/* Member NAME (normalized) of type TYPE: -1 to go on, or the kind. */
static int
judge(struct evidence *ev, const char *name, char type, int64_t size)
{
	static const char *const bundle[] = {"VERSION", "json", "layer.tar"};
	size_t i = ev->n++;

	if (i < 3)
		ev->bundle = (i == 0 || ev->bundle) && type == '0' &&
		             strcmp(name, bundle[i]) == 0;
	if (i == 2 && ev->bundle)
		return STREAM_BUNDLE;
	if (i == 0 &&
	    stack_sniff(&(struct tar_entry){.name = name, .typeflag = type}))
		return STREAM_STACK;
	note_name(ev, name);
	if (type != '0')
		return -1;
	if (strcmp(name, "manifest.json") == 0 &&
	    is_docker_manifest(fetch_json(ev, size)))
		return STREAM_IMAGE;
	if (strcmp(name, "repositories") == 0 &&
	    is_repositories(fetch_json(ev, size)))
		return STREAM_IMAGE;
	if (strcmp(name, "index.json") == 0)
		ev->index |= is_oci_index(fetch_json(ev, size));
	ev->layout |= strcmp(name, "oci-layout") == 0;
	return ev->index && ev->layout ? STREAM_IMAGE : -1;
}

/* --- a plain tar: headers, data seeked over --------------------------- */

struct walk {
	struct evidence ev;
	int fd;
	const struct image_member *x;
};

static char *
fetch_pread(void *ctx, size_t *len)
{
	struct walk *w = ctx;
	size_t n = (size_t)w->x->size, got = 0;
	char *t = xmalloc(n + 1);

	while (got < n) {
		ssize_t r =
		    pread(w->fd, t + got, n - got, (off_t)(w->x->offset + got));
		if (r <= 0) {
			free(t);
			return NULL;
		}
		got += (size_t)r;
	}
	t[n] = '\0';
	*len = n;
	return t;
}

static int
visit(void *ctx, const struct image_member *x)
{
	struct walk *w = ctx;

	w->x = x;
	w->ev.decided = judge(&w->ev, x->name, x->type, x->size);
	return w->ev.decided >= 0;
}

static enum stream_kind
of_plain(int fd, const char *label)
{
	struct walk w = {.fd = fd};
	char *why;

	evidence_init(&w.ev, fetch_pread, &w);
	if (image_members_walk(fd, label, visit, &w, &why) < 0) {
		free(why);
		w.ev.only_image_names =
		    0; /* damaged: the tree reader says so */
	}
	return w.ev.decided >= 0 ? (enum stream_kind)w.ev.decided
	                         : by_names(&w.ev);
}

/* --- a compressed tar: a stream --------------------------------------- */

static char *
fetch_stream(void *ctx, size_t *len)
{
	struct tar_reader *r = ctx;
	size_t cap = 64 * 1024, n = 0;
	char *t = xmalloc(cap + 1);
	ssize_t got;

	while ((got = tar_reader_read(r, t + n, cap - n)) > 0)
		if ((n += (size_t)got) == cap) {
			cap *= 2;
			t = xrealloc(t, cap + 1);
		}
	if (got < 0) {
		free(t);
		return NULL;
	}
	t[n] = '\0';
	*len = n;
	return t;
}

static enum stream_kind
of_stream(struct instream *in)
{
	struct tar_reader *r = tar_reader_new(in);
	struct evidence ev;
	struct tar_entry *e;
	int got;

	evidence_init(&ev, fetch_stream, r);
	while (ev.decided < 0 && (got = tar_reader_next(r, &e)) == 1) {
		char *name = path_go_clean(e->name);
		if (e->typeflag != 'g')
			ev.decided = judge(&ev, name, e->typeflag, e->datasize);
		free(name);
	}
	if (got < 0)
		ev.only_image_names = 0; /* damaged: the tree reader says so */
	tar_reader_close(r);
	return ev.decided >= 0 ? (enum stream_kind)ev.decided : by_names(&ev);
}

enum stream_kind
stream_kind_of(int fd, const char *label)
{
	struct stat st;
	struct instream *in;
	char b[1];

	if (fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", label);
	in = instream_range(fd, 0, (uint64_t)st.st_size, label);
	(void)instream_read(in, b, 0);
	if (strcmp(instream_compression(in), "none") != 0)
		return of_stream(in);
	instream_close(in);
	return of_plain(fd, label);
}

const char *
stream_kind_name(enum stream_kind k)
{
	static const char *const names[] = {"tree", "bundle", "image", "stack"};

	return names[k];
}
