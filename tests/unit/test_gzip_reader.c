/*
 * Unit tests of common/gzip_reader, through instream as every tool reads
 * gzip: it gives back what gzip compressed, one member or several, and it
 * refuses what zlib's inflate refuses (read strictly, as Go's gzip reader
 * does: every member's CRC-32 and ISIZE, nothing after the last member).
 * The reference is zlib, run here on the same bytes: every byte of a small
 * stream is flipped in turn, and the stream is cut at every length, and
 * both must agree on each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

#include "buffer.h"
#include "check.h"
#include "compress.h"
#include "instream.h"

/* All of instream's bytes into OUT: 0, or -1 with its error in WHY. */
static int
read_all(const struct buffer *in, struct buffer *out, char *why, size_t len)
{
	struct instream *s = instream_memopen(in->data, in->len, "t");
	unsigned char buf[7000];
	ssize_t r;

	while ((r = instream_read(s, buf, sizeof(buf))) > 0)
		buffer_append(out, buf, (size_t)r);
	snprintf(why, len, "%s", r < 0 ? instream_error(s) : "");
	instream_close(s);
	return r < 0 ? -1 : 0;
}

/*
 * zlib's verdict: members one after the other, each checked, and the input
 * must end at a member's end.  0 with the bytes in OUT, or -1.
 */
static int
zlib_all(const struct buffer *in, struct buffer *out)
{
	z_stream z = {0};
	unsigned char buf[7000];
	int r = -1;

	if (inflateInit2(&z, 16 + 15) != Z_OK)
		return -1;
	z.next_in = in->data;
	z.avail_in = (uInt)in->len;
	for (;;) {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		int ret = inflate(&z, Z_NO_FLUSH);
		buffer_append(out, buf, sizeof(buf) - z.avail_out);
		if (ret == Z_STREAM_END) {
			if (z.avail_in == 0) {
				r = 0;
				break;
			}
			inflateReset(&z);
		} else if (ret != Z_OK) {
			break; /* an error, or Z_BUF_ERROR: cut short */
		}
	}
	inflateEnd(&z);
	return r;
}

/* Do both read IN the same way: refused by both, or the same bytes? */
static int
agree(const struct buffer *in, char *why, size_t len)
{
	struct buffer a = {0}, b = {0};
	int ra = read_all(in, &a, why, len), rb = zlib_all(in, &b);
	int same =
	    ra == rb &&
	    (ra < 0 || (a.len == b.len && memcmp(a.data, b.data, a.len) == 0));
	if (!same)
		printf("# disagree: ours %d (%s), zlib %d, %zu bytes\n", ra,
		       why, rb, in->len);
	buffer_free(&a);
	buffer_free(&b);
	return same;
}

static int
to_buffer(void *ctx, const void *buf, size_t len)
{
	buffer_append(ctx, buf, len);
	return 0;
}

/* gzip of N bytes of text-like data, with compress.c. */
static void
gzip_of(size_t n, unsigned seed, struct buffer *out, struct buffer *plain)
{
	struct compressor *c = compressor_new(COMPRESS_GZIP, to_buffer, out);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned char ch =
		    (unsigned char)("abcde \n/0"[(seed >> 16) % 9]);
		buffer_append(plain, &ch, 1);
	}
	compressor_set_threads(c, 1);
	if (compressor_write(c, plain->data, plain->len) != 0 ||
	    compressor_finish(c) != 0)
		abort();
}

/* Read IN; 0 and the bytes equal to WANT, or -1 with WHY. */
static int
reads_as(const struct buffer *in, const struct buffer *want)
{
	struct buffer got = {0};
	char why[256];
	int ok = read_all(in, &got, why, sizeof(why)) == 0 &&
	         got.len == want->len &&
	         (got.len == 0 || memcmp(got.data, want->data, got.len) == 0);
	buffer_free(&got);
	return ok;
}

/* Refused with a message that holds PART. */
static int
refused(const struct buffer *in, const char *part)
{
	struct buffer got = {0};
	char why[256];
	int ok = read_all(in, &got, why, sizeof(why)) == -1 &&
	         strstr(why, part) != NULL;
	if (!ok)
		printf("# wanted '%s', got '%s'\n", part, why);
	buffer_free(&got);
	return ok;
}

static void
check_cases(void)
{
	struct buffer one = {0}, p1 = {0}, two = {0}, p2 = {0}, b = {0},
	              both = {0}, bothp = {0}, empty = {0}, ep = {0};
	gzip_of(300000, 1, &one, &p1);
	gzip_of(5000, 2, &two, &p2);
	gzip_of(0, 3, &empty, &ep);

	CHECK(reads_as(&one, &p1));
	/* several members, an empty one among them: one stream */
	buffer_append(&both, one.data, one.len);
	buffer_append(&both, empty.data, empty.len);
	buffer_append(&both, two.data, two.len);
	buffer_append(&bothp, p1.data, p1.len);
	buffer_append(&bothp, p2.data, p2.len);
	CHECK(reads_as(&both, &bothp));
	CHECK(reads_as(&empty, &ep));

	buffer_append(&b, one.data, one.len);
	b.data[b.len - 8] ^= 1;
	CHECK(refused(&b, "gzip: gzip CRC-32 or length mismatch"));
	b.data[b.len - 8] ^= 1;
	b.data[b.len - 3] ^= 1;
	CHECK(refused(&b, "gzip: gzip CRC-32 or length mismatch"));
	b.data[b.len - 3] ^= 1;
	b.len -= 1;
	CHECK(refused(&b, "gzip: truncated gzip input"));
	b.len = one.len / 2;
	CHECK(refused(&b, "gzip: truncated gzip input"));
	b.len = one.len;
	buffer_append(&b, "hello", 5);
	CHECK(refused(&b, "trailing bytes after the gzip data"));
	b.len = one.len;
	buffer_append(&b, "hello, world", 12);
	CHECK(refused(&b, "trailing bytes after the gzip data at compressed "
	                  "byte"));
	b.len = one.len;
	buffer_append(&b, (char[512]){0}, 512);
	CHECK(refused(&b, "trailing bytes after the gzip data"));
	b.len = one.len;
	b.data[100] ^= 0x40;
	CHECK(refused(&b, "gzip: "));

	buffer_free(&one);
	buffer_free(&p1);
	buffer_free(&two);
	buffer_free(&p2);
	buffer_free(&b);
	buffer_free(&both);
	buffer_free(&bothp);
	buffer_free(&empty);
	buffer_free(&ep);
}

/* Against zlib: every byte flipped, every cut, of two members. */
static void
check_against_zlib(void)
{
	struct buffer a = {0}, pa = {0}, s = {0}, b = {0};
	char why[256];
	int all = 1, n = 0;

	gzip_of(700, 4, &a, &pa);
	buffer_append(&s, a.data, a.len);
	buffer_append(&s, a.data, a.len);
	/* (not the magic: without it the input is not gzip but plain) */
	for (size_t i = 2; i < s.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			b.len = 0;
			buffer_append(&b, s.data, s.len);
			b.data[i] ^= (unsigned char)(1 << bit);
			all &= agree(&b, why, sizeof(why));
			n++;
		}
	for (size_t cut = 2; cut <= s.len; cut++) {
		b.len = 0;
		buffer_append(&b, s.data, cut);
		all &= agree(&b, why, sizeof(why));
		n++;
	}
	printf("# %d variants read by both\n", n);
	CHECK(all);
	buffer_free(&a);
	buffer_free(&pa);
	buffer_free(&s);
	buffer_free(&b);
}

int
main(void)
{
	check_cases();
	check_against_zlib();
	return check_done();
}
