/*
 * stack.c: the STACK stream (stack.h): a list of layers, then the layers,
 * as members of one tar.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "json.h"
#include "stack.h"
#include "tar_writer.h"
#include "xalloc.h"

/* A STACK's list is small: a line per store path. */
#define INDEX_MAX (64 << 20)

int
stack_sniff(const struct tar_entry *e)
{
	return e != NULL && strcmp(e->name, STACK_INDEX) == 0 &&
	       (e->typeflag == '0' || e->typeflag == '\0');
}

void
stack_member_name(size_t i, char buf[32])
{
	snprintf(buf, 32, "%03zu.tar", i + 1);
}

/* --- writing ------------------------------------------------------------ */

struct stack_writer {
	struct tar_writer *tw;
	jv layers;
	size_t next, count;
	int64_t mtime, size; /* of the layer being written */
};

static int64_t
layer_size(jv layers, size_t i)
{
	jv l = jv_array_get(jv_copy(layers), (int)i);
	jv s = json_get(l, "size");
	int64_t n = (int64_t)jv_number_value(s);

	jv_free(s);
	return n;
}

jv
stack_list(jv layers)
{
	jv named = jv_array();
	char name[32];

	for (int i = 0; i < jv_array_length(jv_copy(layers)); i++) {
		jv l = jv_array_get(jv_copy(layers), (int)i);
		stack_member_name((size_t)i, name);
		named = jv_array_append(
		    named, jv_object_merge(jv_object_set(jv_object(),
		                                         jv_string("name"),
		                                         jv_string(name)),
		                           l));
	}
	jv_free(layers);
	return jv_object_set(jv_object(), jv_string("layers"), named);
}

struct stack_writer *
stack_writer_new(int fd, jv layers, int64_t mtime)
{
	struct stack_writer *w = xcalloc(1, sizeof(*w));
	jv index = stack_list(layers);
	char *text;

	w->layers = json_get(jv_copy(index), "layers");
	w->count = (size_t)jv_array_length(jv_copy(w->layers));
	w->mtime = mtime;
	w->tw = tar_writer_new(fd);
	text = json_dump(index);
	tar_writer_file(w->tw, STACK_INDEX, 0644, mtime, text, strlen(text));
	free(text);
	return w;
}

void
stack_writer_layer_begin(struct stack_writer *w)
{
	struct tar_entry e = {0};
	char name[32];

	if (w->next >= w->count)
		errx(EXIT_DATA, "STACK: more layers than its list has");
	stack_member_name(w->next, name);
	w->size = layer_size(w->layers, w->next);
	e.name = name;
	e.linkname = e.uname = e.gname = "";
	e.mode = 0644;
	e.size = w->size;
	e.mtime = w->mtime;
	e.typeflag = '0';
	tar_writer_header(w->tw, &e);
	/* The layer's bytes go to the descriptor by another writer. */
	tar_writer_flush(w->tw);
}

void
stack_writer_layer_end(struct stack_writer *w, uint64_t written)
{
	char name[32];

	stack_member_name(w->next, name);
	if (written != (uint64_t)w->size)
		errx(EXIT_DATA,
		     "STACK: %s: %" PRIu64 " bytes written, %" PRId64
		     " announced (did the store change while it was read?)",
		     name, written, w->size);
	tar_writer_pad(w->tw, w->size);
	w->next++;
}

void
stack_writer_finish(struct stack_writer *w)
{
	if (w->next != w->count)
		errx(EXIT_DATA, "STACK: %zu layers written, %zu listed",
		     w->next, w->count);
	tar_writer_finish(w->tw);
	jv_free(w->layers);
	free(w);
}

/* --- reading ------------------------------------------------------------ */

struct stack_reader {
	struct tar_reader *r;
	const char *label;
	jv layers;
	size_t count, next;
};

/* Each listed layer: an object with a size and an array of strings. */
static int
check_layer(jv l, size_t i, const char *label, char **why)
{
	jv size = json_get(jv_copy(l), "size");
	jv paths = json_get(jv_copy(l), "paths");
	int ok = jv_get_kind(l) == JV_KIND_OBJECT &&
	         jv_get_kind(size) == JV_KIND_NUMBER &&
	         jv_number_value(size) >= 0 && jv_number_value(size) < 9.0e15 &&
	         jv_get_kind(paths) == JV_KIND_ARRAY;

	for (int k = 0; ok && k < jv_array_length(jv_copy(paths)); k++) {
		jv p = jv_array_get(jv_copy(paths), k);
		ok = jv_get_kind(p) == JV_KIND_STRING;
		jv_free(p);
	}
	jv_free(size);
	jv_free(paths);
	jv_free(l);
	if (!ok)
		return error_set(why,
		                 "%s: " STACK_INDEX ": layer %zu: not "
		                 "{\"size\": N, \"paths\": [...]}",
		                 label, i + 1);
	return 0;
}

static jv
read_index(struct tar_reader *r, struct tar_entry *e, const char *label,
           char **why)
{
	char *text;
	size_t len = 0;
	ssize_t n;
	jv v;

	if (e->size > INDEX_MAX) {
		error_set(why, "%s: " STACK_INDEX " is too large", label);
		return jv_invalid();
	}
	text = xcalloc(1, (size_t)e->size + 1);
	while ((n = tar_reader_read(r, text + len, (size_t)e->size - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		error_set(why, "%s", tar_reader_error(r));
		free(text);
		return jv_invalid();
	}
	v = json_parse(text, len);
	free(text);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		error_set(why, "%s: " STACK_INDEX ": not a JSON object", label);
		return jv_invalid();
	}
	return json_get(v, "layers");
}

struct stack_reader *
stack_reader_new(struct tar_reader *r, struct tar_entry *e, const char *label,
                 char **why)
{
	jv layers = read_index(r, e, label, why);
	struct stack_reader *s;

	if (!jv_is_valid(layers))
		return NULL;
	if (jv_get_kind(layers) != JV_KIND_ARRAY) {
		jv_free(layers);
		error_set(why, "%s: " STACK_INDEX ": no \"layers\" array",
		          label);
		return NULL;
	}
	for (int i = 0; i < jv_array_length(jv_copy(layers)); i++)
		if (check_layer(jv_array_get(jv_copy(layers), i), (size_t)i,
		                label, why) < 0) {
			jv_free(layers);
			return NULL;
		}
	s = xcalloc(1, sizeof(*s));
	s->r = r;
	s->label = label;
	s->count = (size_t)jv_array_length(jv_copy(layers));
	s->layers = layers;
	return s;
}

size_t
stack_reader_count(const struct stack_reader *s)
{
	return s->count;
}

jv
stack_reader_paths(const struct stack_reader *s, size_t i)
{
	return json_get(jv_array_get(jv_copy(s->layers), (int)i), "paths");
}

int
stack_reader_next(struct stack_reader *s, size_t *index, int64_t *size,
                  const char **name, char **why)
{
	struct tar_entry *e;
	char want[32];
	int got;

	if ((got = tar_reader_next(s->r, &e)) < 0)
		return error_set(why, "%s", tar_reader_error(s->r));
	if (s->next == s->count) {
		if (got == 0)
			return 0;
		return error_set(why,
		                 "%s: offset %" PRIu64 ": '%s': more members "
		                 "than " STACK_INDEX " lists",
		                 s->label, e->offset, e->name);
	}
	stack_member_name(s->next, want);
	if (got == 0)
		return error_set(
		    why, "%s: ends before %s, which " STACK_INDEX " lists",
		    s->label, want);
	if (strcmp(e->name, want) != 0 || e->typeflag != '0' ||
	    e->size != layer_size(s->layers, s->next))
		return error_set(why,
		                 "%s: offset %" PRIu64 ": '%s': " STACK_INDEX
		                 " lists %s of %" PRId64 " bytes here",
		                 s->label, e->offset, e->name, want,
		                 layer_size(s->layers, s->next));
	*index = s->next++;
	*size = e->size;
	*name = e->name;
	return 1;
}

void
stack_reader_free(struct stack_reader *s)
{
	if (s == NULL)
		return;
	jv_free(s->layers);
	free(s);
}
