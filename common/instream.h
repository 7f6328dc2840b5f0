/*
 * instream.h: the bytes of one input (a file, standard input or a memory
 * buffer), decompressed when they are gzip, zstd, xz or bzip2.
 *
 * The stream counts the decompressed bytes it has handed out, so that
 * parsers can name the offset of a fault.  It can also copy every raw byte
 * it reads to a file descriptor (a tee), unchanged and uncompressed or not.
 */
#ifndef DI_INSTREAM_H
#define DI_INSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct instream;

/* Open PATH ("-" or NULL: standard input); on failure err(3) with the path. */
struct instream *instream_open(const char *path);
/* Take over FD (closed by instream_close unless it is standard input). */
struct instream *instream_fdopen(int fd, const char *label);
/*
 * LEN bytes of FD from OFFSET, read with pread(2) so that several streams
 * can share one descriptor; FD stays open after instream_close.
 */
struct instream *instream_range(int fd, uint64_t offset, uint64_t len,
                                const char *label);
/* Read from memory the caller keeps alive until instream_close. */
struct instream *instream_memopen(const void *buf, size_t len,
                                  const char *label);

/*
 * Bytes that a function hands out: up to N into BUF, 0 at the end, -1 on
 * an error (which the function reports itself, or instream_error says
 * "the source failed").
 */
typedef ssize_t (*instream_read_fn)(void *ctx, void *buf, size_t n);
struct instream *instream_fnopen(instream_read_fn fn, void *ctx,
                                 const char *label);

/* Hand out the bytes as they are, compressed or not (before any read). */
void instream_plain(struct instream *s);

/* Copy every raw byte read from now on to FD. */
void instream_tee(struct instream *s, int fd);
/* Hand every raw byte read from now on to FN as well (before a tee FD). */
typedef void (*instream_sink_fn)(void *ctx, const void *p, size_t n);
void instream_tee_fn(struct instream *s, instream_sink_fn fn, void *ctx);
/* Read and tee the rest of the raw input; -1 on a read or write error. */
int instream_drain_tee(struct instream *s);

/*
 * Read up to N bytes, fewer only at the end of the input.  Returns the count,
 * 0 at the end, -1 on an error described by instream_error().
 */
ssize_t instream_read(struct instream *s, void *buf, size_t n);

/* Hash every decompressed byte handed out from now on into D. */
struct digest;
void instream_digest(struct instream *s, struct digest *d);

/* Decompressed bytes handed out so far. */
uint64_t instream_offset(const struct instream *s);
/* "gzip", "zstd", "xz", "bzip2" or "none". */
const char *instream_compression(const struct instream *s);
const char *instream_label(const struct instream *s);
const char *instream_error(const struct instream *s);

void instream_close(struct instream *s);

#endif
