/*
 * compress.h: deterministic gzip and zstd streams for layer blobs.
 *
 * TEMPORARY: a minimal single-threaded stand-in with the interface of the
 * compress branch's module (zlib deflate level 6, a gzip header with no
 * name and no mtime; libzstd level 3), so that di-push builds before that
 * module lands.  At the merge, take the compress branch's compress.[ch]
 * and drop these two files.
 */
#ifndef DI_COMPRESS_H
#define DI_COMPRESS_H

#include <stddef.h>

enum compress_kind { COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_ZSTD };

/* "none", "gzip" or "zstd"; 0, or -1 for any other name. */
int compress_kind_parse(const char *name, enum compress_kind *kind);
/* "none", "gzip", "zstd". */
const char *compress_kind_name(enum compress_kind kind);

/* Takes the compressed bytes in order: 0, or -1 to stop. */
typedef int (*compress_sink)(void *ctx, const void *buf, size_t len);

/* Compresses everything written to it and hands the bytes to SINK. */
struct compressor *compressor_new(enum compress_kind kind, compress_sink sink,
                                  void *ctx);
int compressor_write(struct compressor *c, const void *buf, size_t len);
/* Flush, end the stream, free; 0 or -1. */
int compressor_finish(struct compressor *c);
/* Free without ending the stream. */
void compressor_abandon(struct compressor *c);
const char *compressor_error(const struct compressor *c);

#endif
