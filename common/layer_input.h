/*
 * layer_input.h: an input of di-cook, opened as the layers it holds, each
 * with what is known of it before its bytes: a BUNDLE (one layer and its
 * json), a STACK (several layers, bottom first, each with its store
 * paths) or a plain LAYER tar.  The size of every layer comes before its
 * bytes: a plain file has it, a bundle's or a STACK's member header gives
 * it, and a pipe or a compressed layer is decompressed into a spool first
 * (refused when more than padding follows its end-of-archive).
 *
 * Opened with layer_input_open_stored, a layer compressed with gzip or
 * zstd (a plain file, or a STACK's member) is handed out as it is stored:
 * its compressed bytes, with COMPRESSION naming how, so that an image
 * taken apart and put back keeps its blobs.  layer_source_plain reads the
 * same layer decompressed, for its diff_id and its checks.  A compressed
 * layer on a pipe is decompressed as before: it has no place to be read
 * twice from.
 *
 * Bad input is fatal (errx naming the input, the member and the offset),
 * as for the other readers di-cook uses.
 */
#ifndef DI_LAYER_INPUT_H
#define DI_LAYER_INPUT_H

#include <jv.h>
#include <stdint.h>
#include <sys/types.h>

#include "instream.h"
#include "tar_reader.h"

struct layer_source {
	const char *label; /* the input, or "INPUT: 002.tar" */
	const char *json;  /* a bundle's json text, or NULL */
	jv paths;          /* a STACK layer's store paths, or jv_null() */
	int64_t size;
	int is_tar; /* is a plain tar, to be checked on its way */
	int last;   /* the input's last (top) layer */
	/* "none", or "gzip", "zstd": the bytes below are compressed so. */
	const char *compression;
	int fd; /* with COMPRESSION: the bytes are FD's from OFF */
	uint64_t off;
	/* A STACK member's first bytes, read to sniff it, then handed out. */
	unsigned char peek[4];
	size_t npeek, peekpos;
	/* The bytes come from one of these. */
	struct tar_reader *tar;
	struct instream *in;
};

struct layer_input;

/* PATH ("-": standard input) opened and sniffed. */
struct layer_input *layer_input_open(const char *path);
/* The same, a gzip or zstd layer kept compressed (see above). */
struct layer_input *layer_input_open_stored(const char *path);
/* The next layer: 1 with *out (the input's, valid until the next call), 0
 * after the last. */
int layer_input_next(struct layer_input *li, struct layer_source **out);
void layer_input_close(struct layer_input *li);

/* Up to N bytes of S's layer; 0 at the end of the source. */
ssize_t layer_source_read(struct layer_source *s, void *buf, size_t n);
/* A compressed source's bytes decompressed (the caller closes it). */
struct instream *layer_source_plain(const struct layer_source *s);

#endif
