/*
 * instream.c: one input's bytes, with compression undone by libarchive's
 * filters.  Plain input bypasses libarchive so that reading it costs only
 * read(2).  gzip, the most common and the one whose speed bounds di-pull,
 * is undone by common/gzip_reader (ISA-L's inflate) instead.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "errors.h"
#include "fdio.h"
#include "gzip_reader.h"
#include "instream.h"
#include "outfile.h"
#include "xalloc.h"

#define RAW_BUFSZ (128 * 1024)
/*
 * Memory an xz stream may take to decompress: xz -9 needs 65 MiB; a stream
 * made with a larger dictionary (up to 1.5 GiB) is refused.
 */
#define XZ_MEMLIMIT (UINT64_C(128) << 20)

struct instream {
	int fd;      /* -1 for memory input */
	int owns_fd; /* close fd in instream_close */
	int ranged;  /* read fd with pread from pos up to end */
	uint64_t pos, end;
	int plain; /* never decompress */
	const unsigned char *mem;
	size_t memlen, mempos;
	instream_read_fn readfn; /* the source, when it is a function */
	void *readctx;
	int tee_fd;             /* -1: no tee */
	instream_sink_fn teefn; /* or a function as tee */
	void *teectx;
	struct digest *digest;   /* of the decompressed bytes, or NULL */
	unsigned char peek[512]; /* first raw bytes, replayed before the rest */
	size_t npeek, peekpos;
	const char *compression;
	struct archive *ar;     /* NULL for plain input */
	struct gzip_reader *gz; /* instead of AR for gzip */
	lzma_stream *xz;        /* xz is decoded here, with a memory limit */
	int xz_eof;
	unsigned char *rawbuf; /* libarchive's read buffer */
	uint64_t offset;
	char *label;
	char errbuf[256];
};

static void
set_error(struct instream *s, const char *what, const char *why)
{
	snprintf(s->errbuf, sizeof(s->errbuf), "%s: %s", what, why);
}

static int
tee_write(struct instream *s, const void *buf, size_t n)
{
	if (s->teefn != NULL && n > 0)
		s->teefn(s->teectx, buf, n);
	if (s->tee_fd >= 0 && fdio_write_all(s->tee_fd, buf, n) < 0) {
		if (errno == EPIPE)
			outfile_write_failed(s->tee_fd);
		set_error(s, "tee", strerror(errno));
		return -1;
	}
	return 0;
}

/* Bytes from the file or memory, as they come. */
static ssize_t
source_read(struct instream *s, void *buf, size_t n)
{
	ssize_t r;

	if (s->readfn != NULL) {
		r = s->readfn(s->readctx, buf, n);
		if (r < 0)
			set_error(s, "read", "the source failed");
		return r;
	}
	if (s->ranged) {
		if (n > s->end - s->pos)
			n = (size_t)(s->end - s->pos);
		do
			r = pread(s->fd, buf, n, (off_t)s->pos);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			set_error(s, "read", strerror(errno));
		else
			s->pos += (uint64_t)r;
		return r;
	}
	if (s->fd < 0) {
		size_t k = s->memlen - s->mempos;
		if (k > n)
			k = n;
		memcpy(buf, s->mem + s->mempos, k);
		s->mempos += k;
		return (ssize_t)k;
	}
	do
		r = read(s->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		set_error(s, "read", strerror(errno));
	return r;
}

/* Raw bytes: the replayed peek bytes, then the source; all of them teed. */
static ssize_t
raw_read(struct instream *s, void *buf, size_t n)
{
	ssize_t r;

	if (s->peekpos < s->npeek) {
		size_t k = s->npeek - s->peekpos;
		if (k > n)
			k = n;
		memcpy(buf, s->peek + s->peekpos, k);
		s->peekpos += k;
		r = (ssize_t)k;
	} else if ((r = source_read(s, buf, n)) < 0) {
		return -1;
	}
	return tee_write(s, buf, (size_t)r) < 0 ? -1 : r;
}

/*
 * Is B a tar header block with a valid checksum (octal, over the block with
 * the checksum field as spaces, unsigned or signed)?  A tar whose first name
 * starts with a compressor's magic is still a tar.
 */
static int
tar_header_block(const unsigned char *b, size_t n)
{
	uint64_t want = 0;
	int64_t usum = 0, ssum = 0;
	size_t i = 148, end = 156;

	if (n < 512)
		return 0;
	while (i < end && (b[i] == ' ' || b[i] == '\0'))
		i++;
	while (end > i && (b[end - 1] == ' ' || b[end - 1] == '\0'))
		end--;
	for (; i < end && b[i] >= '0' && b[i] <= '7'; i++)
		want = want << 3 | (uint64_t)(b[i] - '0');
	if (i != end && b[i] != '\0')
		return 0;
	for (i = 0; i < 512; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
	}
	return (int64_t)want == usum || (int64_t)want == ssum;
}

static const char *
sniff(const unsigned char *b, size_t n)
{
	if (tar_header_block(b, n))
		return "none";
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "gzip";
	if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0)
		return "zstd";
	if (n >= 6 && memcmp(b,
	                     "\xfd"
	                     "7zXZ\0",
	                     6) == 0)
		return "xz";
	if (n >= 3 && memcmp(b, "BZh", 3) == 0)
		return "bzip2";
	return "none";
}

static la_ssize_t
archive_read_cb(struct archive *a, void *arg, const void **out)
{
	struct instream *s = arg;
	ssize_t r = raw_read(s, s->rawbuf, RAW_BUFSZ);

	if (r < 0) {
		archive_set_error(a, EIO, "%s", s->errbuf);
		return -1;
	}
	*out = s->rawbuf;
	return r;
}

static ssize_t
gzip_source(void *ctx, void *buf, size_t n)
{
	return raw_read(ctx, buf, n);
}

static int
start_xz(struct instream *s)
{
	s->rawbuf = xmalloc(RAW_BUFSZ);
	s->xz = xcalloc(1, sizeof(*s->xz));
	if (lzma_stream_decoder(s->xz, XZ_MEMLIMIT, LZMA_CONCATENATED) !=
	    LZMA_OK) {
		set_error(s, "xz", "cannot start the decoder");
		return -1;
	}
	return 0;
}

static void
xz_error(struct instream *s, lzma_ret ret)
{
	char why[128];

	if (ret == LZMA_MEMLIMIT_ERROR)
		snprintf(why, sizeof(why),
		         "the stream needs %" PRIu64
		         " MiB of memory to decompress (limit %" PRIu64 " MiB)",
		         (lzma_memusage(s->xz) + (1 << 20) - 1) >> 20,
		         XZ_MEMLIMIT >> 20);
	else
		snprintf(why, sizeof(why), "%s",
		         ret == LZMA_FORMAT_ERROR    ? "not an xz stream"
		         : ret == LZMA_DATA_ERROR    ? "corrupt data"
		         : ret == LZMA_BUF_ERROR     ? "truncated stream"
		         : ret == LZMA_OPTIONS_ERROR ? "unsupported options"
		         : ret == LZMA_MEM_ERROR     ? "out of memory"
		                                     : "decoder error");
	set_error(s, "xz", why);
}

/* Up to N decompressed bytes of an xz stream; 0 at its end. */
static ssize_t
xz_read(struct instream *s, void *buf, size_t n)
{
	lzma_stream *z = s->xz;
	lzma_ret ret = LZMA_OK;

	z->next_out = buf;
	z->avail_out = n;
	while (z->avail_out > 0 && ret != LZMA_STREAM_END) {
		if (z->avail_in == 0 && !s->xz_eof) {
			ssize_t r = raw_read(s, s->rawbuf, RAW_BUFSZ);
			if (r < 0)
				return -1;
			s->xz_eof = r == 0;
			z->next_in = s->rawbuf;
			z->avail_in = (size_t)r;
		}
		ret = lzma_code(z, s->xz_eof ? LZMA_FINISH : LZMA_RUN);
		if (ret != LZMA_OK && ret != LZMA_STREAM_END) {
			xz_error(s, ret);
			return -1;
		}
	}
	return (ssize_t)(n - z->avail_out);
}

static int
start_decompressor(struct instream *s)
{
	struct archive_entry *ae;

	if (strcmp(s->compression, "gzip") == 0) {
		s->gz = gzip_reader_new(gzip_source, s);
		return 0;
	}
	s->rawbuf = xmalloc(RAW_BUFSZ);
	s->ar = archive_read_new();
	if (s->ar == NULL)
		err(EXIT_DATA, "malloc");
	archive_read_support_filter_all(s->ar);
	archive_read_support_format_raw(s->ar);
	if (archive_read_open(s->ar, s, NULL, archive_read_cb, NULL) !=
	        ARCHIVE_OK ||
	    archive_read_next_header(s->ar, &ae) != ARCHIVE_OK) {
		set_error(s, s->compression, archive_error_string(s->ar));
		return -1;
	}
	return 0;
}

/* Read the first raw bytes to learn the compression; they are replayed. */
static int
detect(struct instream *s)
{
	while (s->npeek < sizeof(s->peek)) {
		ssize_t r = source_read(s, s->peek + s->npeek,
		                        sizeof(s->peek) - s->npeek);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		s->npeek += (size_t)r;
	}
	s->compression = s->plain ? "none" : sniff(s->peek, s->npeek);
	return 0;
}

static struct instream *
instream_new(int fd, const char *label)
{
	struct instream *s = xcalloc(1, sizeof(*s));

	s->label = xstrdup(label);
	s->fd = fd;
	s->owns_fd = fd > STDIN_FILENO;
	s->tee_fd = -1;
	return s;
}

struct instream *
instream_fdopen(int fd, const char *label)
{
	return instream_new(fd, label);
}

struct instream *
instream_range(int fd, uint64_t offset, uint64_t len, const char *label)
{
	struct instream *s = instream_new(fd, label);

	s->owns_fd = 0;
	s->ranged = 1;
	s->pos = offset;
	s->end = offset + len;
	return s;
}

struct instream *
instream_fnopen(instream_read_fn fn, void *ctx, const char *label)
{
	struct instream *s = instream_new(-1, label);

	s->readfn = fn;
	s->readctx = ctx;
	return s;
}

void
instream_plain(struct instream *s)
{
	s->plain = 1;
}

struct instream *
instream_open(const char *path)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return instream_new(STDIN_FILENO, "stdin");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(EXIT_DATA, "%s", path);
	return instream_new(fd, path);
}

struct instream *
instream_memopen(const void *buf, size_t len, const char *label)
{
	struct instream *s = instream_new(-1, label);

	s->mem = buf;
	s->memlen = len;
	return s;
}

void
instream_digest(struct instream *s, struct digest *d)
{
	s->digest = d;
}

void
instream_tee(struct instream *s, int fd)
{
	s->tee_fd = fd;
}

void
instream_tee_fn(struct instream *s, instream_sink_fn fn, void *ctx)
{
	s->teefn = fn;
	s->teectx = ctx;
}

static ssize_t
first_read(struct instream *s)
{
	if (detect(s) < 0)
		return -1;
	if (strcmp(s->compression, "xz") == 0)
		return start_xz(s);
	if (strcmp(s->compression, "none") != 0 && start_decompressor(s) < 0)
		return -1;
	return 0;
}

ssize_t
instream_read(struct instream *s, void *buf, size_t n)
{
	size_t got = 0;

	if (s->compression == NULL && first_read(s) < 0)
		return -1;
	while (got < n) {
		ssize_t r;
		if (s->gz != NULL) {
			r = gzip_reader_read(s->gz, (char *)buf + got, n - got);
			if (r < 0) {
				/* else the source's error is in errbuf */
				if (gzip_reader_error(s->gz) != NULL)
					set_error(s, "gzip",
					          gzip_reader_error(s->gz));
				return -1;
			}
		} else if (s->xz != NULL) {
			if ((r = xz_read(s, (char *)buf + got, n - got)) < 0)
				return -1;
		} else if (s->ar != NULL) {
			r = archive_read_data(s->ar, (char *)buf + got,
			                      n - got);
			if (r < 0) {
				set_error(s, s->compression,
				          archive_error_string(s->ar));
				return -1;
			}
		} else {
			r = raw_read(s, (char *)buf + got, n - got);
			if (r < 0)
				return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	s->offset += got;
	if (s->digest != NULL)
		digest_update(s->digest, buf, got);
	return (ssize_t)got;
}

int
instream_drain_tee(struct instream *s)
{
	unsigned char buf[64 * 1024];
	ssize_t r;

	if (s->compression == NULL && first_read(s) < 0)
		return -1;
	while ((r = raw_read(s, buf, sizeof(buf))) > 0)
		;
	return r < 0 ? -1 : 0;
}

uint64_t
instream_offset(const struct instream *s)
{
	return s->offset;
}

const char *
instream_compression(const struct instream *s)
{
	return s->compression != NULL ? s->compression : "none";
}

const char *
instream_label(const struct instream *s)
{
	return s->label;
}

const char *
instream_error(const struct instream *s)
{
	return s->errbuf;
}

void
instream_close(struct instream *s)
{
	if (s == NULL)
		return;
	if (s->ar != NULL)
		archive_read_free(s->ar);
	if (s->xz != NULL)
		lzma_end(s->xz);
	free(s->xz);
	gzip_reader_free(s->gz);
	if (s->owns_fd)
		close(s->fd);
	free(s->rawbuf);
	free(s->label);
	free(s);
}
