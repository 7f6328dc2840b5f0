/*
 * gzip_reader.c: the gzip decoder of gzip_reader.h, on ISA-L's streaming
 * isal_inflate, which parses each member's header and checks its trailer
 * (CRC-32 and ISIZE) itself.  At a member's end ISA-L hands back the input
 * it read ahead, so what follows is either the input's end or the next
 * member's header.
 */
#include "gzip_reader.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>

#include "xalloc.h"

#define IN_BUFSZ (128 * 1024)

struct gzip_reader {
	gzip_source_fn fn;
	void *ctx;
	struct inflate_state st;
	unsigned char *in;
	uint64_t in_total;     /* compressed bytes read from the source */
	uint64_t member_start; /* compressed offset of the current member */
	int eof, done, failed, members;
	char err[160];
};

static void
start_member(struct gzip_reader *g)
{
	isal_inflate_reset(&g->st);
	g->st.crc_flag = ISAL_GZIP;
	g->member_start = g->in_total - g->st.avail_in;
}

struct gzip_reader *
gzip_reader_new(gzip_source_fn fn, void *ctx)
{
	struct gzip_reader *g = xcalloc(1, sizeof(*g));

	g->fn = fn;
	g->ctx = ctx;
	g->in = xcalloc(1, IN_BUFSZ);
	isal_inflate_init(&g->st);
	start_member(g);
	return g;
}

/* The compressed offset of the next byte ISA-L has not taken. */
static uint64_t
in_offset(const struct gzip_reader *g)
{
	return g->in_total - g->st.avail_in;
}

static ssize_t
fail(struct gzip_reader *g, const char *what)
{
	snprintf(g->err, sizeof(g->err), "%s at compressed byte %" PRIu64, what,
	         in_offset(g));
	g->failed = 1;
	return -1;
}

static ssize_t
fail_inflate(struct gzip_reader *g, int ret)
{
	/* Past the first member, a header that is not one is trailing junk. */
	if (ret == ISAL_INVALID_WRAPPER && g->members > 0 &&
	    g->st.total_out == 0)
		return fail(g, "trailing bytes after the gzip data");
	switch (ret) {
	case ISAL_INCORRECT_CHECKSUM:
		return fail(g, "gzip CRC-32 or length mismatch");
	case ISAL_INVALID_WRAPPER:
		return fail(g, "not a gzip header");
	case ISAL_UNSUPPORTED_METHOD:
		return fail(g, "gzip method is not deflate");
	default:
		return fail(g, "invalid deflate data");
	}
}

static int
refill(struct gzip_reader *g)
{
	ssize_t r = g->fn(g->ctx, g->in, IN_BUFSZ);

	if (r < 0) {
		g->failed = 1;
		g->err[0] = '\0';
		return -1;
	}
	if (r == 0)
		g->eof = 1;
	g->st.next_in = g->in;
	g->st.avail_in = (uint32_t)r;
	g->in_total += (uint64_t)r;
	return 0;
}

/*
 * At a member's start, its first 4 bytes in one piece (fewer only at the
 * input's end), the unread input moved to the buffer's start.
 */
static int
gather_header(struct gzip_reader *g)
{
	uint32_t have = g->st.avail_in;

	if (have > 0)
		memmove(g->in, g->st.next_in, have);
	g->st.next_in = g->in;
	while (have < 4 && !g->eof) {
		ssize_t r = g->fn(g->ctx, g->in + have, IN_BUFSZ - have);
		if (r < 0) {
			g->failed = 1;
			g->err[0] = '\0';
			return -1;
		}
		g->eof = r == 0;
		have += (uint32_t)r;
		g->in_total += (uint64_t)r;
	}
	g->st.avail_in = have;
	return 0;
}

/*
 * What ISA-L does not check at a member's start: that a member follows at
 * all, and the reserved flag bits that zlib and Go refuse.
 */
static int
check_header(struct gzip_reader *g)
{
	const unsigned char *h = g->st.next_in;
	uint32_t n = g->st.avail_in;

	if (g->members > 0 &&
	    ((n >= 1 && h[0] != 0x1f) || (n >= 2 && h[1] != 0x8b)))
		return (int)fail(g, "trailing bytes after the gzip data");
	if (n >= 4 && (h[3] & 0xe0) != 0)
		return (int)fail(g, "gzip header with reserved flags set");
	return 0;
}

/* One step of inflate into BUF; the bytes made, or -1. */
static ssize_t
step(struct gzip_reader *g, unsigned char *buf, size_t n)
{
	if (in_offset(g) == g->member_start && g->st.total_out == 0 &&
	    g->st.avail_in < 4 && gather_header(g) < 0)
		return -1;
	if (g->st.avail_in == 0 && !g->eof && refill(g) < 0)
		return -1;
	if (in_offset(g) == g->member_start && g->st.total_out == 0) {
		/* A new member that has not begun at the input's end: the end.
		 */
		if (g->eof && g->st.avail_in == 0 && g->members > 0) {
			g->done = 1;
			return 0;
		}
		if (check_header(g) < 0)
			return -1;
	}
	g->st.next_out = buf;
	g->st.avail_out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	int ret = isal_inflate(&g->st);
	if (ret < 0)
		return fail_inflate(g, ret);
	size_t made = (size_t)(g->st.next_out - buf);
	if (g->st.block_state == ISAL_BLOCK_FINISH) {
		g->members++;
		start_member(g);
	} else if (made == 0 && g->eof && g->st.avail_in == 0) {
		return fail(g, "truncated gzip input");
	}
	return (ssize_t)made;
}

ssize_t
gzip_reader_read(struct gzip_reader *g, void *buf, size_t n)
{
	size_t got = 0;

	if (g->failed)
		return -1;
	while (got < n && !g->done) {
		ssize_t r = step(g, (unsigned char *)buf + got, n - got);
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

const char *
gzip_reader_error(const struct gzip_reader *g)
{
	return g->err[0] != '\0' ? g->err : NULL;
}

void
gzip_reader_free(struct gzip_reader *g)
{
	if (g == NULL)
		return;
	free(g->in);
	free(g);
}
