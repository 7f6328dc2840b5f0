/*
 * Unit tests of common/compress: what it writes decompresses, with the real
 * gzip and zstd programs, to what it was given, for sizes around the block
 * boundaries; and the bytes are the same for 1, 2 and 8 threads, for any
 * cutting of the input into writes, and from one run to the next.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

#include "buffer.h"
#include "check.h"
#include "compress.h"

#define B COMPRESS_GZIP_BLOCK

static int
to_buffer(void *ctx, const void *buf, size_t len)
{
	buffer_append(ctx, buf, len);
	return 0;
}

/* Text-like bytes that compress about as a tree of files does. */
static unsigned char *
make_input(size_t n)
{
	static const char *const words[] = {
	    "usr", "lib",   "share",   "the ",      "and ",
	    "\n",  "int ",  "return ", "0x",        "{",
	    "}",   ";\n\t", "static ", "libc.so.6", "\0\0\0\0"};
	unsigned char *p = malloc(n + 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n;) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (x % 7 == 0) {
			p[i++] = (unsigned char)(x >> 8);
			continue;
		}
		const char *w = words[(x >> 4) % 15];
		size_t len = (x >> 4) % 15 == 14 ? 4 : strlen(w);
		for (size_t k = 0; k < len && i < n; k++)
			p[i++] = (unsigned char)w[k];
	}
	return p;
}

/* Compress IN in writes of CHUNK bytes with THREADS threads. */
static int
compress_with(enum compress_kind kind, const unsigned char *in, size_t n,
              int threads, size_t chunk, struct buffer *out)
{
	struct compressor *c = compressor_new(kind, to_buffer, out);
	if (compressor_set_threads(c, threads) != 0)
		return -1;
	for (size_t off = 0; off < n; off += chunk)
		if (compressor_write(c, in + off,
		                     n - off < chunk ? n - off : chunk) != 0) {
			compressor_abandon(c);
			return -1;
		}
	return compressor_finish(c);
}

static int
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	int ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Does the real PROGRAM -dc turn Z back into IN? */
static int
real_program_gives(const char *program, const struct buffer *z,
                   const unsigned char *in, size_t n)
{
	char dir[] = "/tmp/test_compress.XXXXXX", zpath[64], rpath[64],
	     cmd[256];
	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(zpath, sizeof zpath, "%s/z", dir);
	snprintf(rpath, sizeof rpath, "%s/raw", dir);
	int ok = write_file(zpath, z->data, z->len) == 0 &&
	         write_file(rpath, in, n) == 0;
	snprintf(cmd, sizeof cmd, "%s -dc < %s | cmp -s - %s", program, zpath,
	         rpath);
	ok = ok && system(cmd) == 0;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok = 0;
	return ok;
}

/*
 * Exactly one gzip member with the fixed header, and it holds IN: zlib's
 * own inflate reaches the end of the member at the last byte.
 */
static int
one_gzip_member(const struct buffer *z, const unsigned char *in, size_t n)
{
	static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0,
	                                         0,    0,    0, 0, 3};
	if (z->len < 18 || memcmp(z->data, header, 10) != 0)
		return 0;
	unsigned char *out = malloc(n + 1);
	z_stream s = {0};
	if (inflateInit2(&s, 31) != Z_OK)
		return 0;
	s.next_in = z->data;
	s.avail_in = (uInt)z->len;
	s.next_out = out;
	s.avail_out = (uInt)n + 1;
	int r = inflate(&s, Z_FINISH);
	int ok = r == Z_STREAM_END && s.avail_in == 0 && s.total_out == n &&
	         memcmp(out, in, n) == 0;
	inflateEnd(&s);
	free(out);
	return ok;
}

static int
same(const struct buffer *a, const struct buffer *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Everything the tests say about one kind and one size. */
static void
check_size(enum compress_kind kind, size_t n)
{
	const char *name = compress_kind_name(kind);
	unsigned char *in = make_input(n);
	struct buffer one = {0}, two = {0}, eight = {0}, again = {0},
	              bytewise = {0};
	int ok = compress_with(kind, in, n, 1, 1 << 20, &one) == 0 &&
	         compress_with(kind, in, n, 2, 7777, &two) == 0 &&
	         compress_with(kind, in, n, 8, B + 1, &eight) == 0 &&
	         compress_with(kind, in, n, 1, 1 << 20, &again) == 0;
	if (ok && n <= 4 * B + 1)
		ok = compress_with(kind, in, n, 2, 1, &bytewise) == 0;
	printf("# %s, %zu bytes -> %zu\n", name, n, one.len);
	CHECK(ok);
	CHECK(real_program_gives(name, &one, in, n));
	CHECK(same(&one, &two));
	CHECK(same(&one, &eight));
	CHECK(same(&one, &again));
	if (n <= 4 * B + 1)
		CHECK(same(&one, &bytewise));
	if (kind == COMPRESS_GZIP)
		CHECK(one_gzip_member(&one, in, n));
	buffer_free(&one);
	buffer_free(&two);
	buffer_free(&eight);
	buffer_free(&again);
	buffer_free(&bytewise);
	free(in);
}

static int
refuse(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	(void)len;
	++*(int *)ctx;
	return -1;
}

/* A sink that stops the stream: -1, the reason, and no more calls. */
static void
check_sink_failure(enum compress_kind kind)
{
	int calls = 0;
	size_t n = 40 * B;
	unsigned char *in = make_input(n);
	struct compressor *c = compressor_new(kind, refuse, &calls);
	int r = 0;
	for (size_t off = 0; r == 0 && off < n; off += B)
		r = compressor_write(c, in + off, B);
	if (r == 0) {
		/* the stream is short: the sink's errno comes back */
		errno = ENOSPC;
		CHECK(compressor_finish(c) == -1 && errno == ENOSPC);
		CHECK(calls == 1);
		free(in);
		return;
	}
	CHECK_STR(compressor_error(c), "the output failed");
	CHECK(calls == 1);
	CHECK(compressor_write(c, in, 1) == -1 && calls == 1);
	/* finish after a failure: -1, and freed */
	CHECK(compressor_finish(c) == -1);
	free(in);
}

static void
check_names(void)
{
	enum compress_kind k = COMPRESS_NONE;
	CHECK(compress_kind_parse("gzip", &k) == 0 && k == COMPRESS_GZIP);
	CHECK(compress_kind_parse("zstd", &k) == 0 && k == COMPRESS_ZSTD);
	CHECK(compress_kind_parse("none", &k) == 0 && k == COMPRESS_NONE);
	CHECK(compress_kind_parse("xz", &k) == -1);
	CHECK(compress_kind_parse("GZIP", &k) == -1);
	CHECK_STR(compress_kind_name(COMPRESS_ZSTD), "zstd");
	CHECK_STR(compress_oci_layer_type(COMPRESS_GZIP),
	          "application/vnd.oci.image.layer.v1.tar+gzip");
	CHECK_STR(compress_oci_layer_type(COMPRESS_ZSTD),
	          "application/vnd.oci.image.layer.v1.tar+zstd");
	CHECK_STR(compress_docker_layer_type(COMPRESS_GZIP),
	          "application/vnd.docker.image.rootfs.diff.tar.gzip");
	CHECK(compress_docker_layer_type(COMPRESS_ZSTD) == NULL);
}

static void
check_settings(void)
{
	struct buffer out = {0};
	struct compressor *c = compressor_new(COMPRESS_GZIP, to_buffer, &out);
	CHECK(compressor_set_level(c, 0) == -1);
	CHECK(compressor_set_level(c, 10) == -1);
	CHECK(compressor_set_level(c, 9) == 0);
	CHECK(compressor_set_threads(c, -1) == -1);
	CHECK(compressor_write(c, "x", 1) == 0);
	CHECK(compressor_set_level(c, 6) == -1);
	CHECK(compressor_set_threads(c, 2) == -1);
	CHECK(compressor_finish(c) == 0);
	/* Level 9 says so in the header, as gzip -9 does. */
	CHECK(out.len > 9 && out.data[8] == 2);
	buffer_free(&out);
}

int
main(void)
{
	static const size_t sizes[] = {0,
	                               1,
	                               2,
	                               100,
	                               B - 1,
	                               B,
	                               B + 1,
	                               2 * B - 1,
	                               2 * B,
	                               2 * B + 1,
	                               17 * B + 12345,
	                               20 << 20,
	                               (20 << 20) + 1};
	check_names();
	check_settings();
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		check_size(COMPRESS_GZIP, sizes[i]);
		check_size(COMPRESS_ZSTD, sizes[i]);
	}
	check_sink_failure(COMPRESS_GZIP);
	check_sink_failure(COMPRESS_ZSTD);
	check_sink_failure(COMPRESS_NONE);
	return check_done();
}
