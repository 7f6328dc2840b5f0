/*
 * compress.c: TEMPORARY single-threaded gzip (zlib) and zstd (libzstd)
 * behind compress.h; see there.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"
#include "xalloc.h"

#define OUT_SIZE (256 * 1024)
#define GZIP_LEVEL 6
#define ZSTD_LEVEL 3

struct compressor {
	enum compress_kind kind;
	compress_sink sink;
	void *ctx;
	z_stream z;
	ZSTD_CCtx *zc;
	unsigned char *out;
	const char *error;
};

int
compress_kind_parse(const char *name, enum compress_kind *kind)
{
	static const char *names[] = {"none", "gzip", "zstd"};

	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*kind = (enum compress_kind)i;
			return 0;
		}
	return -1;
}

const char *
compress_kind_name(enum compress_kind kind)
{
	return kind == COMPRESS_GZIP   ? "gzip"
	       : kind == COMPRESS_ZSTD ? "zstd"
	                               : "none";
}

struct compressor *
compressor_new(enum compress_kind kind, compress_sink sink, void *ctx)
{
	struct compressor *c = xcalloc(1, sizeof(*c));

	c->kind = kind;
	c->sink = sink;
	c->ctx = ctx;
	c->out = xcalloc(1, OUT_SIZE);
	if (kind == COMPRESS_GZIP) {
		/* windowBits 15 + 16: a gzip wrapper, mtime 0, no name. */
		if (deflateInit2(&c->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
		                 Z_DEFAULT_STRATEGY) != Z_OK)
			c->error = "deflateInit2 failed";
	} else if (kind == COMPRESS_ZSTD) {
		c->zc = ZSTD_createCCtx();
		if (c->zc == NULL ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
		        c->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)))
			c->error = "ZSTD_createCCtx failed";
	}
	return c;
}

static int
emit(struct compressor *c, size_t n)
{
	if (n > 0 && c->sink(c->ctx, c->out, n) < 0) {
		c->error = "the output failed";
		return -1;
	}
	return 0;
}

static int
gzip_run(struct compressor *c, const void *buf, size_t len, int flush)
{
	int zrc;

	c->z.next_in = (Bytef *)buf;
	c->z.avail_in = (uInt)len;
	do {
		c->z.next_out = c->out;
		c->z.avail_out = OUT_SIZE;
		zrc = deflate(&c->z, flush);
		if (zrc == Z_STREAM_ERROR) {
			c->error = "deflate failed";
			return -1;
		}
		if (emit(c, OUT_SIZE - c->z.avail_out) < 0)
			return -1;
	} while (c->z.avail_out == 0 ||
	         (flush == Z_FINISH && zrc != Z_STREAM_END));
	return 0;
}

static int
zstd_run(struct compressor *c, const void *buf, size_t len,
         ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {buf, len, 0};
	size_t left;

	do {
		ZSTD_outBuffer out = {c->out, OUT_SIZE, 0};
		left = ZSTD_compressStream2(c->zc, &out, &in, end);
		if (ZSTD_isError(left)) {
			c->error = ZSTD_getErrorName(left);
			return -1;
		}
		if (emit(c, out.pos) < 0)
			return -1;
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

int
compressor_write(struct compressor *c, const void *buf, size_t len)
{
	if (c->error != NULL)
		return -1;
	while (len > 0) {
		/* zlib counts in uInt. */
		size_t n = len < (1u << 30) ? len : (1u << 30);
		int rc = c->kind == COMPRESS_GZIP
		             ? gzip_run(c, buf, n, Z_NO_FLUSH)
		         : c->kind == COMPRESS_ZSTD
		             ? zstd_run(c, buf, n, ZSTD_e_continue)
		             : (c->sink(c->ctx, buf, n) < 0
		                    ? (c->error = "the output failed", -1)
		                    : 0);
		if (rc < 0)
			return -1;
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

int
compressor_finish(struct compressor *c)
{
	int rc = c->error                   ? -1
	         : c->kind == COMPRESS_GZIP ? gzip_run(c, NULL, 0, Z_FINISH)
	         : c->kind == COMPRESS_ZSTD ? zstd_run(c, NULL, 0, ZSTD_e_end)
	                                    : 0;

	compressor_abandon(c);
	return rc;
}

void
compressor_abandon(struct compressor *c)
{
	if (c == NULL)
		return;
	if (c->kind == COMPRESS_GZIP)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zc);
	free(c->out);
	free(c);
}

const char *
compressor_error(const struct compressor *c)
{
	return c->error ? c->error : "no error";
}
