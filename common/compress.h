/*
 * compress.h: deterministic gzip and zstd compression of a stream, on
 * worker threads, with memory that does not grow with the input.
 *
 * The compressed bytes depend only on the input, the kind, the level and
 * the library's version (zlib or libzstd), never on the number of threads
 * or on how the input is cut into compressor_write calls.
 *
 * gzip: the input is cut into fixed blocks of COMPRESS_GZIP_BLOCK bytes,
 * each deflated on its own (primed with the previous block's last 32 KiB
 * as dictionary) and ended with a sync flush, so that the blocks join into
 * one deflate stream: one gzip member with no name, mtime 0, OS 3 (Unix),
 * and one trailer (CRC-32 and ISIZE).  Default level 6.
 * zstd: libzstd's multithreaded mode (at least one worker, so the bytes are
 * those of its multithreaded format whatever the count), level 3 by
 * default, with the content checksum, without the content size.
 *
 * The sink is called from the thread that calls compressor_write and
 * compressor_finish, in order.  A compressor owns its threads and buffers.
 */
#ifndef DI_COMPRESS_H
#define DI_COMPRESS_H

#include <stddef.h>

enum compress_kind { COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_ZSTD };

/* The input size of one independently deflated gzip block. */
#define COMPRESS_GZIP_BLOCK (128 * 1024)

/* "none", "gzip" or "zstd"; 0, or -1 for any other name. */
int compress_kind_parse(const char *name, enum compress_kind *kind);
/* "none", "gzip", "zstd". */
const char *compress_kind_name(enum compress_kind kind);
/* The media-type suffix of a compressed tar: "", "+gzip", "+zstd". */
const char *compress_kind_suffix(enum compress_kind kind);
/* The OCI layer media type: application/vnd.oci.image.layer.v1.tar[+...]. */
const char *compress_oci_layer_type(enum compress_kind kind);
/*
 * The Docker schema2 layer media type
 * (application/vnd.docker.image.rootfs.diff.tar[.gzip]); NULL for zstd,
 * which that schema does not name.
 */
const char *compress_docker_layer_type(enum compress_kind kind);
/* The library and its version that fix the bytes, e.g. "zlib 1.2.13". */
const char *compress_library_version(enum compress_kind kind);

/* Takes the compressed bytes in order: 0, or -1 to stop. */
typedef int (*compress_sink)(void *ctx, const void *buf, size_t len);

/*
 * A compressor that hands its output to SINK.  Never NULL: a failure to
 * set up (threads, the library) is reported by the first write or finish.
 */
struct compressor *compressor_new(enum compress_kind kind, compress_sink sink,
                                  void *ctx);
/*
 * Before the first write: the level (gzip 1-9, zstd 1-19) and the number
 * of worker threads (0: one per online processor).  0, or -1 when out of
 * range or too late.  Neither changes the bytes beyond what the level does.
 */
int compressor_set_level(struct compressor *c, int level);
int compressor_set_threads(struct compressor *c, int threads);
/* Compress LEN bytes of BUF; 0, or -1 (then compressor_error says why). */
int compressor_write(struct compressor *c, const void *buf, size_t len);
/*
 * Flush, end the stream and free the compressor, whatever happens: 0, or
 * -1 with errno set (the sink's own errno when the sink said -1, else
 * EIO).  Read compressor_error before, if a write failed already.
 */
int compressor_finish(struct compressor *c);
/* Free without ending the stream (after an error, or to give up). */
void compressor_abandon(struct compressor *c);
/* Why the last call failed ("the output failed" when the sink said -1). */
const char *compressor_error(const struct compressor *c);
/* Uncompressed and compressed byte counts so far. */
unsigned long long compressor_bytes_in(const struct compressor *c);
unsigned long long compressor_bytes_out(const struct compressor *c);

#endif
