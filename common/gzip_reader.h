/*
 * gzip_reader.h: decompressing a gzip stream with ISA-L's inflate, which
 * is several times faster than zlib's, in constant memory.
 *
 * It takes what Go's compress/gzip (Docker, containerd) takes: one member
 * or several in a row, each with its CRC-32 and ISIZE checked, and nothing
 * after the last member but the end of the input.  A cut stream, a bad
 * checksum or length, a bad header or deflate data, and trailing bytes are
 * errors naming the compressed byte offset.
 */
#ifndef DI_GZIP_READER_H
#define DI_GZIP_READER_H

#include <stddef.h>
#include <sys/types.h>

/* Compressed bytes: up to N into BUF, 0 at the end, -1 on an error. */
typedef ssize_t (*gzip_source_fn)(void *ctx, void *buf, size_t n);

struct gzip_reader;

struct gzip_reader *gzip_reader_new(gzip_source_fn fn, void *ctx);
/*
 * Up to N decompressed bytes (fewer only at the end): the count, 0 at the
 * end, -1 on an error.
 */
ssize_t gzip_reader_read(struct gzip_reader *g, void *buf, size_t n);
/* Why the read failed; NULL when the source failed (it says why itself). */
const char *gzip_reader_error(const struct gzip_reader *g);
void gzip_reader_free(struct gzip_reader *g);

#endif
