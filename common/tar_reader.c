/*
 * tar_reader.c: tar headers parsed as Go's archive/tar (go1.19) parses them.
 * Where this file makes a choice that looks odd (an empty pax value keeps
 * the ustar field, a global header's mtime is year 1), it is Go's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "errors.h"
#include "tar_reader.h"

#define SPECIAL_MAX (1 << 20) /* Go's limit on pax and long-name data */
#define SKIP_BUF (64 * 1024)
#define GO_ZERO_TIME INT64_C(-62135596800) /* time.Time{}.Unix() */

struct tar_reader {
	struct instream *in;
	struct tar_entry e;
	struct buffer raw;
	unsigned char blk[TAR_BLOCK];
	unsigned char *skipbuf; /* for data nobody reads */
	int64_t remaining; /* data bytes of the current entry not yet read */
	int64_t pad;
	uint64_t end_offset;
	int ended; /* the end-of-archive was read: nothing follows */
	int failed;
	char err[512];
};

/* Header field positions (ustar, with the star and GNU variants). */
enum {
	F_NAME = 0,
	F_MODE = 100,
	F_UID = 108,
	F_GID = 116,
	F_SIZE = 124,
	F_MTIME = 136,
	F_CHKSUM = 148,
	F_TYPE = 156,
	F_LINK = 157,
	F_MAGIC = 257,
	F_VERSION = 263,
	F_UNAME = 265,
	F_GNAME = 297,
	F_DEVMAJOR = 329,
	F_DEVMINOR = 337,
	F_PREFIX = 345,
	F_STAR_ATIME = 476,
	F_STAR_CTIME = 488,
	F_STAR_TRAILER = 508,
};

enum format { FMT_V7, FMT_USTAR, FMT_GNU, FMT_STAR };

static int
fail(struct tar_reader *r, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof(r->err), "%s: offset %" PRIu64 ": ",
	             instream_label(r->in), off);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(r->err))
		vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return -1;
}

static int
fail_stream(struct tar_reader *r)
{
	return fail(r, instream_offset(r->in), "%s", instream_error(r->in));
}

/* Read exactly N bytes: 1, or 0 if the input ended before any, or -1. */
static int
read_exact(struct tar_reader *r, void *buf, size_t n, const char *what)
{
	uint64_t off = instream_offset(r->in);
	ssize_t got = instream_read(r->in, buf, n);

	if (got < 0)
		return fail_stream(r);
	if (got == 0 && n > 0)
		return 0;
	if ((size_t)got < n)
		return fail(r, off, "truncated %s (%zd of %zu bytes)", what,
		            got, n);
	return 1;
}

/* Skip the rest of the current entry's data and its padding. */
static int
skip_data(struct tar_reader *r)
{
	int64_t n = r->remaining + r->pad;

	if (n > 0 && r->skipbuf == NULL &&
	    (r->skipbuf = malloc(SKIP_BUF)) == NULL)
		err(EXIT_DATA, "malloc");
	while (n > 0) {
		size_t k = n > SKIP_BUF ? SKIP_BUF : (size_t)n;
		ssize_t got = instream_read(r->in, r->skipbuf, k);
		if (got < 0)
			return fail_stream(r);
		if ((size_t)got < k)
			return fail(
			    r, instream_offset(r->in),
			    "truncated data of '%s' (entry at offset %" PRIu64
			    ")",
			    r->e.name, r->e.offset);
		n -= (int64_t)k;
	}
	r->remaining = r->pad = 0;
	return 0;
}

/* --- field parsing, as Go's parser type ------------------------------- */

struct fields {
	const unsigned char *b;
	int bad;
};

static char *
dup_string(const unsigned char *p, size_t n)
{
	char *s = strndup((const char *)p, n);

	if (s == NULL)
		err(EXIT_DATA, "malloc");
	return s;
}

static int64_t
parse_octal(struct fields *f, const unsigned char *p, size_t n)
{
	uint64_t x = 0;

	while (n > 0 && (*p == ' ' || *p == '\0'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0'))
		n--;
	if (n == 0)
		return 0;
	const unsigned char *nul = memchr(p, '\0', n);
	if (nul != NULL)
		n = (size_t)(nul - p);
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '7' || x > (UINT64_MAX >> 3)) {
			f->bad = 1;
			return 0;
		}
		x = x << 3 | (uint64_t)(p[i] - '0');
	}
	return (int64_t)x;
}

/* Octal, or base-256 two's complement when the top bit is set. */
static int64_t
parse_numeric(struct fields *f, size_t off, size_t n)
{
	const unsigned char *p = f->b + off;
	unsigned char inv;
	uint64_t x = 0;

	if (n == 0 || !(p[0] & 0x80))
		return parse_octal(f, p, n);
	inv = (p[0] & 0x40) ? 0xff : 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i] ^ inv;
		if (i == 0)
			c &= 0x7f;
		if (x >> 56) {
			f->bad = 1;
			return 0;
		}
		x = x << 8 | c;
	}
	if (x >> 63) {
		f->bad = 1;
		return 0;
	}
	return inv ? (int64_t)~x : (int64_t)x;
}

static enum format
block_format(const unsigned char *b, int *ok)
{
	struct fields f = {b, 0};
	int64_t want = parse_octal(&f, b + F_CHKSUM, 8);
	int64_t usum = 0, ssum = 0;

	for (int i = 0; i < TAR_BLOCK; i++) {
		unsigned char c =
		    (i >= F_CHKSUM && i < F_CHKSUM + 8) ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
	}
	*ok = !f.bad && (want == usum || want == ssum);
	if (memcmp(b + F_MAGIC, "ustar\0", 6) == 0)
		return memcmp(b + F_STAR_TRAILER, "tar\0", 4) == 0 ? FMT_STAR
		                                                   : FMT_USTAR;
	if (memcmp(b + F_MAGIC, "ustar ", 6) == 0 &&
	    memcmp(b + F_VERSION, " \0", 2) == 0)
		return FMT_GNU;
	return FMT_V7;
}

static void
entry_clear(struct tar_entry *e)
{
	free(e->name);
	free(e->linkname);
	free(e->uname);
	free(e->gname);
	for (size_t i = 0; i < e->nrecords; i++) {
		free(e->records[i].key);
		free(e->records[i].value);
	}
	free(e->records);
	memset(e, 0, sizeof(*e));
}

/* Fill E from the header block B; -1 when a numeric field is malformed. */
static int
parse_header(const unsigned char *b, enum format fmt, struct tar_entry *e)
{
	struct fields f = {b, 0};

	entry_clear(e);
	e->raw_typeflag = e->typeflag = (char)b[F_TYPE];
	e->name = dup_string(b + F_NAME, 100);
	e->linkname = dup_string(b + F_LINK, 100);
	e->size = parse_numeric(&f, F_SIZE, 12);
	e->mode = parse_numeric(&f, F_MODE, 8);
	e->uid = parse_numeric(&f, F_UID, 8);
	e->gid = parse_numeric(&f, F_GID, 8);
	e->mtime = parse_numeric(&f, F_MTIME, 12);
	if (fmt == FMT_V7) {
		e->uname = dup_string(b, 0);
		e->gname = dup_string(b, 0);
		return f.bad ? -1 : 0;
	}
	e->uname = dup_string(b + F_UNAME, 32);
	e->gname = dup_string(b + F_GNAME, 32);
	e->devmajor = parse_numeric(&f, F_DEVMAJOR, 8);
	e->devminor = parse_numeric(&f, F_DEVMINOR, 8);
	size_t plen = fmt == FMT_USTAR ? 155 : fmt == FMT_STAR ? 131 : 0;
	if (fmt == FMT_STAR) {
		parse_numeric(&f, F_STAR_ATIME, 12);
		parse_numeric(&f, F_STAR_CTIME, 12);
	}
	if (plen > 0 && b[F_PREFIX] != '\0') {
		char *prefix = dup_string(b + F_PREFIX, plen);
		char *full;
		if (asprintf(&full, "%s/%s", prefix, e->name) < 0)
			err(EXIT_DATA, "malloc");
		free(prefix);
		free(e->name);
		e->name = full;
	}
	return f.bad ? -1 : 0;
}

/* --- pax records ------------------------------------------------------ */

/* Parse a decimal int64 the way strconv.ParseInt(s, 10, 64) does. */
static int
parse_decimal(const char *s, size_t n, int64_t *out)
{
	int neg = 0;
	uint64_t x = 0, lim;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++, n--;
	}
	if (n == 0)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (lim - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

static void
set_record(struct tar_entry *e, const char *k, size_t klen, const char *v,
           size_t vlen)
{
	struct tar_record *rec = NULL;

	for (size_t i = 0; i < e->nrecords; i++)
		if (strlen(e->records[i].key) == klen &&
		    memcmp(e->records[i].key, k, klen) == 0)
			rec = &e->records[i];
	if (rec == NULL) {
		e->records = reallocarray(e->records, e->nrecords + 1,
		                          sizeof(*e->records));
		if (e->records == NULL)
			err(EXIT_DATA, "malloc");
		rec = &e->records[e->nrecords++];
		rec->key = dup_string((const unsigned char *)k, klen);
	} else {
		free(rec->value);
	}
	rec->value = malloc(vlen + 1);
	if (rec->value == NULL)
		err(EXIT_DATA, "malloc");
	memcpy(rec->value, v, vlen);
	rec->value[vlen] = '\0';
	rec->len = vlen;
}

static int
valid_record(const char *k, size_t klen, const char *v, size_t vlen)
{
	static const char *const textual[] = {"path", "linkpath", "uname",
	                                      "gname"};

	if (klen == 0 || memchr(k, '=', klen) != NULL)
		return 0;
	for (size_t i = 0; i < 4; i++)
		if (strlen(textual[i]) == klen &&
		    memcmp(k, textual[i], klen) == 0)
			return memchr(v, '\0', vlen) == NULL;
	return memchr(k, '\0', klen) == NULL;
}

/*
 * Parse "LEN key=value\n" records into E's record list.  GNU sparse 0.0
 * offset/numbytes pairs are refused: di does not read sparse files.
 */
static int
parse_pax(const char *s, size_t n, struct tar_entry *e)
{
	while (n > 0) {
		const char *sp = memchr(s, ' ', n);
		int64_t len;
		if (sp == NULL ||
		    parse_decimal(s, (size_t)(sp - s), &len) < 0 || len < 5 ||
		    (uint64_t)len > n)
			return -1;
		size_t lenlen = (size_t)(sp - s) + 1;
		if ((uint64_t)len <= lenlen || s[len - 1] != '\n')
			return -1;
		const char *rec = sp + 1;
		size_t reclen = (size_t)len - lenlen - 1;
		const char *eq = memchr(rec, '=', reclen);
		if (eq == NULL)
			return -1;
		size_t klen = (size_t)(eq - rec), vlen = reclen - klen - 1;
		if (!valid_record(rec, klen, eq + 1, vlen))
			return -1;
		set_record(e, rec, klen, eq + 1, vlen);
		s += len;
		n -= (size_t)len;
	}
	return 0;
}

const char *
tar_entry_record(const struct tar_entry *e, const char *key, size_t *len)
{
	for (size_t i = 0; i < e->nrecords; i++) {
		if (strcmp(e->records[i].key, key) == 0) {
			if (len != NULL)
				*len = e->records[i].len;
			return e->records[i].value;
		}
	}
	return NULL;
}

/* pax "mtime": seconds[.fraction], rounded down as time.Unix() does. */
static int
parse_pax_time(const char *v, int64_t *out)
{
	const char *dot = strchr(v, '.');
	size_t slen = dot ? (size_t)(dot - v) : strlen(v);
	int64_t secs;

	if (parse_decimal(v, slen, &secs) < 0)
		return -1;
	if (dot != NULL) {
		int frac = 0;
		for (const char *p = dot + 1; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			frac |= *p != '0' && p - dot <= 9;
		}
		if (frac && v[0] == '-')
			secs--;
	}
	*out = secs;
	return 0;
}

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	if (*dst == NULL)
		err(EXIT_DATA, "malloc");
}

/* Apply pax records over the header fields, as Go's mergePAX. */
static int
merge_pax(struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++) {
		const char *k = e->records[i].key, *v = e->records[i].value;
		int bad = 0;
		if (*v == '\0')
			continue;
		if (strcmp(k, "path") == 0)
			replace(&e->name, v);
		else if (strcmp(k, "linkpath") == 0)
			replace(&e->linkname, v);
		else if (strcmp(k, "uname") == 0)
			replace(&e->uname, v);
		else if (strcmp(k, "gname") == 0)
			replace(&e->gname, v);
		else if (strcmp(k, "uid") == 0)
			bad = parse_decimal(v, e->records[i].len, &e->uid);
		else if (strcmp(k, "gid") == 0)
			bad = parse_decimal(v, e->records[i].len, &e->gid);
		else if (strcmp(k, "size") == 0)
			bad = parse_decimal(v, e->records[i].len, &e->size);
		else if (strcmp(k, "mtime") == 0)
			bad = parse_pax_time(v, &e->mtime);
		else if (strcmp(k, "atime") == 0 || strcmp(k, "ctime") == 0) {
			int64_t ignored;
			bad = parse_pax_time(v, &ignored);
		}
		if (bad)
			return -1;
	}
	return 0;
}

/* --- the reader ------------------------------------------------------- */

int
tar_type_header_only(char t)
{
	return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' ||
	       t == '6';
}

struct tar_reader *
tar_reader_new(struct instream *in)
{
	struct tar_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		err(EXIT_DATA, "malloc");
	r->in = in;
	return r;
}

struct tar_reader *
tar_reader_open(const char *path)
{
	return tar_reader_new(instream_open(path));
}

static int
is_zero_block(const unsigned char *b)
{
	for (int i = 0; i < TAR_BLOCK; i++)
		if (b[i])
			return 0;
	return 1;
}

/*
 * Read one header block into r->blk: 1, or 0 at the end of the archive (two
 * zero blocks, or the input ending on a block boundary), or -1.
 */
static int
read_header_block(struct tar_reader *r)
{
	uint64_t off = instream_offset(r->in);
	int got = read_exact(r, r->blk, TAR_BLOCK, "header");

	if (got <= 0 || !is_zero_block(r->blk))
		return got;
	r->end_offset = off;
	got = read_exact(r, r->blk, TAR_BLOCK, "end-of-archive block");
	if (got <= 0)
		return got;
	if (!is_zero_block(r->blk))
		return fail(r, off + TAR_BLOCK,
		            "header after a zero block (corrupt archive)");
	return 0;
}

/* Read a pax or long-name entry's data (and padding) into raw and *data. */
static int
read_special(struct tar_reader *r, const struct tar_entry *h, char **data)
{
	uint64_t off = instream_offset(r->in);
	int64_t padded;

	if (h->size > SPECIAL_MAX)
		return fail(r, off - TAR_BLOCK,
		            "extended header of %" PRId64 " bytes (limit %d)",
		            h->size, SPECIAL_MAX);
	padded = (h->size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	buffer_grow(&r->raw, (size_t)padded);
	if (read_exact(r, r->raw.data + r->raw.len, (size_t)padded,
	               "extended header") != 1)
		return r->failed ? -1
		                 : fail(r, off, "truncated extended header");
	*data = (char *)r->raw.data + r->raw.len;
	r->raw.len += (size_t)padded;
	return 0;
}

/* Read and check one header block; parse it into H. */
static int
read_header(struct tar_reader *r, struct tar_entry *h)
{
	uint64_t off = instream_offset(r->in);
	enum format fmt;
	int ok, got;

	if ((got = read_header_block(r)) <= 0)
		return got;
	fmt = block_format(r->blk, &ok);
	if (!ok)
		return fail(r, off,
		            off == 0 ? "not a tar archive"
		                     : "bad header checksum");
	buffer_append(&r->raw, r->blk, TAR_BLOCK);
	if (parse_header(r->blk, fmt, h) < 0)
		return fail(r, off, "malformed number in header of '%s'",
		            h->name);
	if (!tar_type_header_only(h->typeflag) && h->size < 0)
		return fail(r, off, "negative size in header of '%s'", h->name);
	return 1;
}

static int
finish_global(struct tar_reader *r, struct tar_entry *h)
{
	struct tar_entry *e = &r->e;

	entry_clear(e);
	merge_pax(h); /* Go ignores a global header's bad values */
	e->name = h->name;
	h->name = NULL;
	e->linkname = strdup("");
	e->uname = strdup("");
	e->gname = strdup("");
	if (e->linkname == NULL || e->uname == NULL || e->gname == NULL)
		err(EXIT_DATA, "malloc");
	e->typeflag = e->raw_typeflag = 'g';
	e->mtime = GO_ZERO_TIME;
	e->records = h->records;
	e->nrecords = h->nrecords;
	h->records = NULL;
	h->nrecords = 0;
	return 1;
}

static int
has_sparse_records(const struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++)
		if (strncmp(e->records[i].key, "GNU.sparse.", 11) == 0)
			return 1;
	return 0;
}

/* The entry proper, after its extended headers: merge, then check. */
static int
finish_entry(struct tar_reader *r, struct tar_entry *h, char *longname,
             char *longlink, uint64_t hoff)
{
	struct tar_entry *e = &r->e;

	if (merge_pax(h) < 0)
		return fail(r, hoff, "bad pax record for '%s'", h->name);
	if (longname != NULL && *longname != '\0')
		replace(&h->name, longname);
	if (longlink != NULL && *longlink != '\0')
		replace(&h->linkname, longlink);
	if (h->typeflag == '\0') {
		size_t n = strlen(h->name);
		h->typeflag = n > 0 && h->name[n - 1] == '/' ? '5' : '0';
	}
	if (h->typeflag == 'S' || has_sparse_records(h))
		return fail(r, hoff, "'%s': sparse files are not supported",
		            h->name);
	h->datasize = tar_type_header_only(h->typeflag) ? 0 : h->size;
	if (h->datasize < 0)
		return fail(r, hoff, "negative size in header of '%s'",
		            h->name);
	entry_clear(e);
	*e = *h;
	memset(h, 0, sizeof(*h));
	r->remaining = e->datasize;
	r->pad = (TAR_BLOCK - e->datasize % TAR_BLOCK) % TAR_BLOCK;
	return 1;
}

static int
next_entry(struct tar_reader *r, struct tar_entry *h, char **longname,
           char **longlink)
{
	struct tar_entry pax = {0};
	uint64_t start = instream_offset(r->in);
	int got;

	buffer_reset(&r->raw);
	for (;;) {
		uint64_t hoff = instream_offset(r->in);
		char *data;
		if ((got = read_header(r, h)) <= 0)
			break;
		if (h->typeflag == 'x' || h->typeflag == 'g') {
			if (read_special(r, h, &data) < 0)
				break;
			entry_clear(&pax);
			if (parse_pax(data, (size_t)h->size, &pax) < 0) {
				got = fail(r, hoff, "malformed pax header");
				break;
			}
			if (h->typeflag == 'x')
				continue;
			h->records = pax.records;
			h->nrecords = pax.nrecords;
			pax.records = NULL;
			pax.nrecords = 0;
			got = finish_global(r, h);
			break;
		}
		if (h->typeflag == 'L' || h->typeflag == 'K') {
			char **dst = h->typeflag == 'L' ? longname : longlink;
			if (read_special(r, h, &data) < 0)
				break;
			free(*dst);
			*dst =
			    dup_string((unsigned char *)data, (size_t)h->size);
			continue;
		}
		h->records = pax.records;
		h->nrecords = pax.nrecords;
		pax.records = NULL;
		pax.nrecords = 0;
		got = finish_entry(r, h, *longname, *longlink, hoff);
		break;
	}
	entry_clear(&pax);
	r->e.offset = start;
	r->e.raw = r->raw.data;
	r->e.rawlen = r->raw.len;
	return r->failed ? -1 : got;
}

int
tar_reader_next(struct tar_reader *r, struct tar_entry **out)
{
	struct tar_entry h = {0};
	char *longname = NULL, *longlink = NULL;
	int got;

	if (r->failed)
		return -1;
	if (r->ended)
		return 0;
	if (skip_data(r) < 0)
		return -1;
	got = next_entry(r, &h, &longname, &longlink);
	entry_clear(&h);
	free(longname);
	free(longlink);
	if (got == 0 && r->end_offset == 0)
		r->end_offset = instream_offset(r->in);
	r->ended = got == 0;
	if (got == 1)
		*out = &r->e;
	return got;
}

ssize_t
tar_reader_read(struct tar_reader *r, void *buf, size_t n)
{
	ssize_t got;

	if (r->failed)
		return -1;
	if ((int64_t)n > r->remaining)
		n = (size_t)r->remaining;
	if (n == 0)
		return 0;
	got = instream_read(r->in, buf, n);
	if (got < 0)
		return fail_stream(r);
	if ((size_t)got < n)
		return fail(r, instream_offset(r->in),
		            "truncated data of '%s' (entry at offset %" PRIu64
		            ")",
		            r->e.name, r->e.offset);
	r->remaining -= got;
	return got;
}

const char *
tar_reader_error(const struct tar_reader *r)
{
	return r->err;
}

uint64_t
tar_reader_offset(const struct tar_reader *r)
{
	return r->end_offset;
}

struct instream *
tar_reader_stream(struct tar_reader *r)
{
	return r->in;
}

void
tar_reader_close(struct tar_reader *r)
{
	if (r == NULL)
		return;
	entry_clear(&r->e);
	buffer_free(&r->raw);
	free(r->skipbuf);
	instream_close(r->in);
	free(r);
}
