/* bundle.c: reading and writing the BUNDLE stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "bundle.h"
#include "errors.h"

#define JSON_MAX (16 << 20)

void
bundle_write_head(struct tar_writer *w, const char *json, int64_t layer_size,
                  int64_t mtime)
{
	struct tar_entry e = {0};

	tar_writer_file(w, "VERSION", 0644, mtime, "1.0", 3);
	tar_writer_file(w, "json", 0644, mtime, json, strlen(json));
	e.name = "layer.tar";
	e.linkname = e.uname = e.gname = "";
	e.mode = 0644;
	e.mtime = mtime;
	e.size = layer_size;
	e.typeflag = '0';
	tar_writer_header(w, &e);
}

/* The next member, which must be a regular file called NAME. */
static int
expect(struct tar_reader *r, const char *name, struct tar_entry **e, char **why)
{
	int got = tar_reader_next(r, e);

	if (got < 0)
		return error_set(why, "%s", tar_reader_error(r));
	if (got == 0)
		return error_set(why, "not a bundle: '%s' is missing", name);
	if (strcmp((*e)->name, name) != 0 || (*e)->typeflag != '0')
		return error_set(why, "not a bundle: expected '%s' next", name);
	return 0;
}

static int
slurp(struct tar_reader *r, struct tar_entry *e, struct buffer *b, char **why)
{
	char chunk[65536];
	ssize_t n;

	if (e->size > JSON_MAX)
		return error_set(why, "bundle member '%s' is too large",
		                 e->name);
	while ((n = tar_reader_read(r, chunk, sizeof(chunk))) > 0)
		buffer_append(b, chunk, (size_t)n);
	if (n < 0)
		return error_set(why, "%s", tar_reader_error(r));
	return 0;
}

int
bundle_read_head(struct tar_reader *r, char **json, char **why)
{
	struct tar_entry *e;

	if (expect(r, "VERSION", &e, why) < 0)
		return -1;
	return bundle_read_head_from(r, e, json, why);
}

int
bundle_read_head_from(struct tar_reader *r, struct tar_entry *e, char **json,
                      char **why)
{
	struct buffer b = {0};

	if (strcmp(e->name, "VERSION") != 0 || e->typeflag != '0') {
		error_set(why, "not a bundle: expected '%s' next", "VERSION");
		goto fail;
	}
	if (slurp(r, e, &b, why) < 0)
		goto fail;
	if (strcmp(buffer_str(&b), "1.0") != 0 &&
	    strcmp(buffer_str(&b), "1.0\n") != 0) {
		error_set(why, "bundle VERSION is '%s', not 1.0",
		          buffer_str(&b));
		goto fail;
	}
	buffer_reset(&b);
	if (expect(r, "json", &e, why) < 0 || slurp(r, e, &b, why) < 0)
		goto fail;
	if (expect(r, "layer.tar", &e, why) < 0)
		goto fail;
	*json = buffer_detach(&b);
	return 0;
fail:
	buffer_free(&b);
	return -1;
}
