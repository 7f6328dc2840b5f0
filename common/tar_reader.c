/*
 * tar_reader.c: tar headers parsed as Go's archive/tar (go1.19) parses them,
 * and sparse files expanded as it expands them.
 * Where this file makes a choice that looks odd (an empty pax value keeps
 * the ustar field, a global header's mtime is year 1, an archive that ends
 * in the padding after an entry ends cleanly), it is Go's.
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
#include "xalloc.h"

#define SPECIAL_MAX (1 << 20) /* Go's limit on pax and long-name data */
#define SKIP_BUF (64 * 1024)
#define OCTAL12_MAX INT64_C(077777777777)
#define OCTAL8_MAX INT64_C(07777777)

/* A sparse file's data fragments, in order, and where reading is. */
struct sparse {
	int64_t *off, *len;
	size_t n, cap;
	size_t i;    /* the fragment being read, or the next one */
	int64_t pos; /* logical position */
	int64_t size;
};

struct tar_reader {
	struct instream *in;
	struct tar_entry e;
	struct buffer raw;
	unsigned char blk[TAR_BLOCK];
	unsigned char hblk[TAR_BLOCK]; /* the entry's own header block */
	unsigned char *skipbuf;        /* for data nobody reads */
	int64_t remaining; /* data bytes of the current entry not yet read */
	int64_t pad;
	int end_pending; /* the input ended in a global header's padding */
	struct sparse sp;
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
	F_GNU_ATIME = 345,
	F_GNU_CTIME = 357,
	F_GNU_SPARSE = 386,
	F_GNU_REALSIZE = 483,
	F_STAR_ATIME = 476,
	F_STAR_CTIME = 488,
	F_STAR_TRAILER = 508,
};

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

static int
fail_truncated_data(struct tar_reader *r)
{
	return fail(r, instream_offset(r->in),
	            "truncated data of '%s' (entry at offset %" PRIu64 ")",
	            r->e.name, r->e.offset);
}

/* Skip the rest of the current entry's data (its padding is read later). */
static int
skip_data(struct tar_reader *r)
{
	int64_t n = r->remaining;

	if (n > 0 && r->skipbuf == NULL)
		r->skipbuf = xcalloc(1, SKIP_BUF);
	while (n > 0) {
		size_t k = n > SKIP_BUF ? SKIP_BUF : (size_t)n;
		ssize_t got = instream_read(r->in, r->skipbuf, k);
		if (got < 0)
			return fail_stream(r);
		if ((size_t)got < k)
			return fail_truncated_data(r);
		n -= (int64_t)k;
	}
	r->remaining = 0;
	return 0;
}

/*
 * Read the padding after an entry's data (into KEEP, unless NULL): 1, or 0
 * when the input ends in it (Go reads that as the end of the archive), or
 * -1.  What the input lacks of KEEP's padding is added as zeros, so that it
 * stays whole blocks.
 */
static int
read_pad(struct tar_reader *r, struct buffer *keep)
{
	unsigned char zero[TAR_BLOCK] = {0};
	size_t n = (size_t)r->pad;
	ssize_t got;

	r->pad = 0;
	if (n == 0)
		return 1;
	got = instream_read(r->in, zero, n);
	if (got < 0)
		return fail_stream(r);
	if (keep != NULL) {
		memset(zero + got, 0, n - (size_t)got);
		buffer_append(keep, zero, n);
	}
	return (size_t)got == n;
}

static int64_t
block_padding(int64_t n)
{
	return (TAR_BLOCK - n % TAR_BLOCK) % TAR_BLOCK;
}

/* --- field parsing, as Go's parser type ------------------------------- */

struct fields {
	const unsigned char *b;
	int bad;
};

static char *
dup_string(const unsigned char *p, size_t n)
{
	return xstrndup((const char *)p, n);
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
parse_numeric_at(struct fields *f, const unsigned char *p, size_t n)
{
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

static int64_t
parse_numeric(struct fields *f, size_t off, size_t n)
{
	return parse_numeric_at(f, f->b + off, n);
}

/* Go's getFormat: the Format bits of a block, 0 if its checksum is bad. */
static int
block_format(const unsigned char *b)
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
	if (f.bad || (want != usum && want != ssum))
		return 0;
	if (memcmp(b + F_MAGIC, "ustar\0", 6) == 0)
		return memcmp(b + F_STAR_TRAILER, "tar\0", 4) == 0
		           ? GO_FORMAT_STAR
		           : GO_FORMAT_USTAR | GO_FORMAT_PAX;
	if (memcmp(b + F_MAGIC, "ustar ", 6) == 0 &&
	    memcmp(b + F_VERSION, " \0", 2) == 0)
		return GO_FORMAT_GNU;
	return GO_FORMAT_V7;
}

static void
sparse_clear(struct sparse *sp)
{
	free(sp->off);
	free(sp->len);
	memset(sp, 0, sizeof(*sp));
}

/*
 * The strings of an entry are the reader's, allocated for it; they are
 * const to everyone else, so only the reader frees them.
 */
static void
free_owned(const char *s)
{
	free((void *)s);
}

void
tar_entry_clear(struct tar_entry *e)
{
	free_owned(e->name);
	free_owned(e->linkname);
	free_owned(e->uname);
	free_owned(e->gname);
	for (size_t i = 0; i < e->nrecords; i++) {
		free(e->records[i].key);
		free(e->records[i].value);
	}
	free(e->records);
	memset(e, 0, sizeof(*e));
}

static int
all_ascii(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return 0;
	return 1;
}

/* Do the numeric fields of a ustar block end in NUL, as Go wants? */
static int
numbers_nul_terminated(const unsigned char *b)
{
	static const int ends[] = {F_SIZE + 11,   F_MODE + 7,   F_UID + 7,
	                           F_GID + 7,     F_MTIME + 11, F_DEVMAJOR + 7,
	                           F_DEVMINOR + 7};

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (b[ends[i]] != '\0')
			return 0;
	return 1;
}

/*
 * The GNU atime and ctime fields.  When either is not a number, Go takes
 * the header for one from its own pre-1.8 writer, which put a USTAR prefix
 * there: the prefix is returned (if ASCII) and the format is unknown.
 */
static const unsigned char *
gnu_times(const unsigned char *b, struct tar_entry *e, int *fmt, size_t *plen)
{
	struct fields f = {b, 0};

	*plen = 0;
	if (b[F_GNU_ATIME] != 0) {
		e->atime = parse_numeric(&f, F_GNU_ATIME, 12);
		e->atime_set = 1;
	}
	if (b[F_GNU_CTIME] != 0) {
		e->ctime = parse_numeric(&f, F_GNU_CTIME, 12);
		e->ctime_set = 1;
	}
	if (!f.bad)
		return NULL;
	e->atime_set = e->ctime_set = 0;
	e->atime = e->ctime = 0;
	*fmt = 0;
	const unsigned char *nul = memchr(b + F_PREFIX, '\0', 155);
	size_t n = nul ? (size_t)(nul - (b + F_PREFIX)) : 155;
	if (all_ascii(b + F_PREFIX, n))
		*plen = n;
	return b + F_PREFIX;
}

/*
 * Fill E from the header block B of format FMT; returns the Format Go
 * gives the header, or -1 when a numeric field is malformed.
 */
static int
parse_header(const unsigned char *b, int fmt, struct tar_entry *e)
{
	struct fields f = {b, 0};
	const unsigned char *prefix = NULL;
	size_t plen = 0;
	int hfmt = 0;

	tar_entry_clear(e);
	e->raw_typeflag = e->typeflag = (char)b[F_TYPE];
	e->name = dup_string(b + F_NAME, 100);
	e->linkname = dup_string(b + F_LINK, 100);
	e->size = parse_numeric(&f, F_SIZE, 12);
	e->mode = parse_numeric(&f, F_MODE, 8);
	e->uid = parse_numeric(&f, F_UID, 8);
	e->gid = parse_numeric(&f, F_GID, 8);
	e->mtime = parse_numeric(&f, F_MTIME, 12);
	if (fmt == GO_FORMAT_V7) {
		e->uname = xstrdup("");
		e->gname = xstrdup("");
		return f.bad ? -1 : 0;
	}
	e->uname = dup_string(b + F_UNAME, 32);
	e->gname = dup_string(b + F_GNAME, 32);
	e->devmajor = parse_numeric(&f, F_DEVMAJOR, 8);
	e->devminor = parse_numeric(&f, F_DEVMINOR, 8);
	if (fmt & GO_FORMAT_USTAR) {
		hfmt = fmt;
		prefix = b + F_PREFIX;
		plen = strnlen((const char *)prefix, 155);
		if (!all_ascii(b, TAR_BLOCK) || !numbers_nul_terminated(b))
			hfmt = 0;
	} else if (fmt == GO_FORMAT_STAR) {
		prefix = b + F_PREFIX;
		plen = strnlen((const char *)prefix, 131);
		e->atime = parse_numeric(&f, F_STAR_ATIME, 12);
		e->ctime = parse_numeric(&f, F_STAR_CTIME, 12);
		e->atime_set = e->ctime_set = 1;
	} else {
		hfmt = GO_FORMAT_GNU;
		prefix = gnu_times(b, e, &hfmt, &plen);
	}
	if (plen > 0) {
		char *full;
		full = xasprintf("%.*s/%s", (int)plen, prefix, e->name);
		free_owned(e->name);
		e->name = full;
	}
	return f.bad ? -1 : hfmt;
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

static struct tar_record *
find_record(const struct tar_entry *e, const char *k, size_t klen)
{
	for (size_t i = 0; i < e->nrecords; i++)
		if (strlen(e->records[i].key) == klen &&
		    memcmp(e->records[i].key, k, klen) == 0)
			return &e->records[i];
	return NULL;
}

/* Set record K to V (later records of a key replace earlier ones). */
static void
set_record(struct tar_entry *e, const char *k, size_t klen, const char *v,
           size_t vlen)
{
	struct tar_record *rec = find_record(e, k, klen);

	if (rec == NULL) {
		e->records = xreallocarray(e->records, e->nrecords + 1,
		                           sizeof(*e->records));
		rec = &e->records[e->nrecords++];
		rec->key = dup_string((const unsigned char *)k, klen);
	} else {
		free(rec->value);
	}
	rec->value = xcalloc(1, vlen + 1);
	memcpy(rec->value, v, vlen);
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

static int
key_is(const char *k, size_t klen, const char *want)
{
	return strlen(want) == klen && memcmp(k, want, klen) == 0;
}

/*
 * A GNU sparse 0.0 offset or numbytes record: they must alternate, offset
 * first, and hold no comma; their values are joined into GNU.sparse.map,
 * as Go does.
 */
static int
add_sparse_pair(struct buffer *map, size_t *count, const char *k, size_t klen,
                const char *v, size_t vlen)
{
	int is_offset = key_is(k, klen, "GNU.sparse.offset");

	if (is_offset != (*count % 2 == 0) || memchr(v, ',', vlen) != NULL)
		return -1;
	if (*count > 0)
		buffer_append(map, ",", 1);
	buffer_append(map, v, vlen);
	++*count;
	return 0;
}

/* Parse "LEN key=value\n" records into E's record list, as Go's parsePAX. */
static int
parse_pax(const char *s, size_t n, struct tar_entry *e)
{
	struct buffer map = {0};
	size_t pairs = 0;
	int bad = 0;

	while (n > 0 && !bad) {
		const char *sp = memchr(s, ' ', n);
		int64_t len;
		if (sp == NULL ||
		    parse_decimal(s, (size_t)(sp - s), &len) < 0 || len < 5 ||
		    (uint64_t)len > n)
			return buffer_free(&map), -1;
		size_t lenlen = (size_t)(sp - s) + 1;
		if ((uint64_t)len <= lenlen || s[len - 1] != '\n')
			return buffer_free(&map), -1;
		const char *rec = sp + 1;
		size_t reclen = (size_t)len - lenlen - 1;
		const char *eq = memchr(rec, '=', reclen);
		if (eq == NULL)
			return buffer_free(&map), -1;
		size_t klen = (size_t)(eq - rec), vlen = reclen - klen - 1;
		if (!valid_record(rec, klen, eq + 1, vlen))
			return buffer_free(&map), -1;
		if (key_is(rec, klen, "GNU.sparse.offset") ||
		    key_is(rec, klen, "GNU.sparse.numbytes"))
			bad = add_sparse_pair(&map, &pairs, rec, klen, eq + 1,
			                      vlen);
		else
			set_record(e, rec, klen, eq + 1, vlen);
		s += len;
		n -= (size_t)len;
	}
	if (pairs > 0 && !bad)
		set_record(e, "GNU.sparse.map", 14, (const char *)map.data,
		           map.len);
	buffer_free(&map);
	return bad ? -1 : 0;
}

const char *
tar_entry_record(const struct tar_entry *e, const char *key, size_t *len)
{
	const struct tar_record *rec = find_record(e, key, strlen(key));

	if (rec != NULL && len != NULL)
		*len = rec->len;
	return rec != NULL ? rec->value : NULL;
}

/*
 * pax "mtime": seconds[.fraction], as Go's parsePAXTime and time.Unix:
 * nanoseconds from up to nine digits, a negative time's fraction counted
 * back from the second (so -1.5 is second -2 and 500000000 ns).  Go's
 * seconds wrap when that borrow passes the most negative value; so do
 * these, without overflow.
 */
static int
parse_pax_time(const char *v, size_t n, int64_t *sec, int64_t *nsec)
{
	const char *dot = memchr(v, '.', n);
	size_t slen = dot ? (size_t)(dot - v) : n;
	int64_t secs, ns = 0;

	if (parse_decimal(v, slen, &secs) < 0)
		return -1;
	if (dot != NULL) {
		const char *frac = dot + 1;
		size_t flen = n - slen - 1;
		for (size_t i = 0; i < flen; i++)
			if (frac[i] < '0' || frac[i] > '9')
				return -1;
		for (size_t i = 0; i < 9; i++)
			ns = ns * 10 + (i < flen ? frac[i] - '0' : 0);
	}
	if (ns != 0 && v[0] == '-') {
		secs = (int64_t)((uint64_t)secs - 1);
		ns = 1000000000 - ns;
	}
	*sec = secs;
	*nsec = ns;
	return 0;
}

void
tar_entry_set_string(const char **dst, const char *v)
{
	free_owned(*dst);
	*dst = xstrdup(v);
}

/* Apply one pax record over the header fields, as Go's mergePAX does. */
static int
merge_record(struct tar_entry *e, const struct tar_record *rec)
{
	const char *k = rec->key, *v = rec->value;
	size_t n = rec->len;

	if (n == 0)
		return 0; /* an empty value keeps the header's */
	if (strcmp(k, "path") == 0)
		tar_entry_set_string(&e->name, v);
	else if (strcmp(k, "linkpath") == 0)
		tar_entry_set_string(&e->linkname, v);
	else if (strcmp(k, "uname") == 0)
		tar_entry_set_string(&e->uname, v);
	else if (strcmp(k, "gname") == 0)
		tar_entry_set_string(&e->gname, v);
	else if (strcmp(k, "uid") == 0)
		return parse_decimal(v, n, &e->uid);
	else if (strcmp(k, "gid") == 0)
		return parse_decimal(v, n, &e->gid);
	else if (strcmp(k, "size") == 0)
		return parse_decimal(v, n, &e->size);
	else if (strcmp(k, "mtime") == 0)
		return parse_pax_time(v, n, &e->mtime, &e->mtime_nsec);
	else if (strcmp(k, "atime") == 0) {
		e->atime_set = 1;
		return parse_pax_time(v, n, &e->atime, &e->atime_nsec);
	} else if (strcmp(k, "ctime") == 0) {
		e->ctime_set = 1;
		return parse_pax_time(v, n, &e->ctime, &e->ctime_nsec);
	}
	return 0;
}

static int
merge_pax(struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++)
		if (merge_record(e, &e->records[i]) < 0)
			return -1;
	return 0;
}

/* --- sparse files ----------------------------------------------------- */

static void
sparse_add(struct sparse *sp, int64_t off, int64_t len)
{
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? 2 * sp->cap : 16;
		sp->off = xreallocarray(sp->off, sp->cap, sizeof(*sp->off));
		sp->len = xreallocarray(sp->len, sp->cap, sizeof(*sp->len));
	}
	sp->off[sp->n] = off;
	sp->len[sp->n++] = len;
}

/* Go's validateSparseEntries: in order, apart, and inside SIZE. */
static int
sparse_valid(const struct sparse *sp, int64_t size)
{
	int64_t end = 0;

	if (size < 0)
		return 0;
	for (size_t i = 0; i < sp->n; i++) {
		int64_t off = sp->off[i], len = sp->len[i];
		if (off < 0 || len < 0 || off > INT64_MAX - len ||
		    off + len > size || end > off)
			return 0;
		end = off + len;
	}
	return 1;
}

/* The old GNU map: four entries in the header, 21 in each extension. */
static int
read_old_gnu_map(struct tar_reader *r, struct tar_entry *h, uint64_t hoff)
{
	unsigned char ext[TAR_BLOCK];
	struct fields f = {r->hblk, 0};
	const unsigned char *s = r->hblk + F_GNU_SPARSE;
	int max = 4;

	if (block_format(r->hblk) != GO_FORMAT_GNU)
		return fail(r, hoff, "sparse entry '%s' is not in GNU format",
		            h->name);
	h->size = parse_numeric(&f, F_GNU_REALSIZE, 12);
	for (;;) {
		for (int i = 0; i < max && !f.bad && s[24 * i] != 0; i++) {
			int64_t off = parse_numeric_at(&f, s + 24 * i, 12);
			int64_t len = parse_numeric_at(&f, s + 24 * i + 12, 12);
			sparse_add(&r->sp, off, len);
		}
		if (f.bad)
			return fail(r, hoff, "malformed sparse map of '%s'",
			            h->name);
		if (s[24 * max] == 0)
			return 0;
		if (read_exact(r, ext, TAR_BLOCK, "sparse map") != 1)
			return r->failed ? -1
			                 : fail(r, instream_offset(r->in),
			                        "truncated sparse map of '%s'",
			                        h->name);
		s = ext;
		max = 21;
	}
}

/* A decimal token of a 1.0 map, parsed as it streams in. */
struct token {
	size_t len;
	int sign, neg, bad;
	uint64_t x;
};

static void
token_add(struct token *t, unsigned char c)
{
	uint64_t lim = t->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (t->len++ == 0 && (c == '+' || c == '-')) {
		t->sign = 1;
		t->neg = c == '-';
		return;
	}
	if (c < '0' || c > '9' || t->x > (lim - (uint64_t)(c - '0')) / 10)
		t->bad = 1;
	else
		t->x = t->x * 10 + (uint64_t)(c - '0');
}

/* The token's value, or -1 if it is not one strconv.ParseInt takes. */
static int
token_value(const struct token *t, int64_t *v)
{
	if (t->bad || t->len == (size_t)t->sign)
		return -1;
	*v = t->neg ? (int64_t)(0 - t->x) : (int64_t)t->x;
	return 0;
}

/*
 * The 1.0 map at the start of the data: the count, then offset and length
 * lines, in whole blocks.  Tokens stream through a fixed state, so a
 * hostile map costs only the entries it holds.
 */
static int
read_map_1x0(struct tar_reader *r, struct tar_entry *h, uint64_t hoff)
{
	unsigned char b[TAR_BLOCK];
	struct token t = {0};
	int64_t want = -1, v, off = 0; /* want: tokens after the count */
	int64_t ntok = 0;

	while (want < 0 || ntok < want) {
		if (r->remaining < TAR_BLOCK)
			return fail(r, hoff, "truncated sparse map of '%s'",
			            h->name);
		if (read_exact(r, b, TAR_BLOCK, "sparse map") != 1)
			return r->failed ? -1 : fail_truncated_data(r);
		r->remaining -= TAR_BLOCK;
		for (size_t i = 0; i < TAR_BLOCK; i++) {
			if (want >= 0 && ntok == want)
				break;
			if (b[i] != '\n') {
				token_add(&t, b[i]);
				continue;
			}
			if (token_value(&t, &v) < 0)
				return fail(r, hoff,
				            "malformed sparse map of '%s'",
				            h->name);
			if (want < 0 && (v < 0 || v > INT64_MAX / 2))
				return fail(r, hoff,
				            "malformed sparse map of '%s'",
				            h->name);
			if (want < 0)
				want = 2 * v;
			else if (ntok++ % 2 == 0)
				off = v;
			else
				sparse_add(&r->sp, off, v);
			memset(&t, 0, sizeof(t));
		}
	}
	return 0;
}

/* The 0.0 and 0.1 map: GNU.sparse.numblocks pairs in GNU.sparse.map. */
static int
read_map_0x1(struct tar_reader *r, struct tar_entry *h, uint64_t hoff)
{
	size_t nlen = 0, mlen = 0;
	const char *nb = tar_entry_record(h, "GNU.sparse.numblocks", &nlen);
	const char *map = tar_entry_record(h, "GNU.sparse.map", &mlen);
	int64_t n, pair[2];
	size_t count = 0;

	if (nb == NULL || parse_decimal(nb, nlen, &n) < 0 || n < 0 ||
	    n > INT64_MAX / 2)
		return fail(r, hoff, "bad GNU.sparse.numblocks for '%s'",
		            h->name);
	for (size_t i = 0; map != NULL && mlen > 0 && i <= mlen; count++) {
		const char *comma = memchr(map + i, ',', mlen - i);
		size_t end = comma ? (size_t)(comma - map) : mlen;
		if (parse_decimal(map + i, end - i, &pair[count % 2]) < 0)
			return fail(r, hoff, "malformed sparse map of '%s'",
			            h->name);
		if (count % 2 == 1)
			sparse_add(&r->sp, pair[0], pair[1]);
		i = end + 1;
	}
	if (count != (uint64_t)(2 * n))
		return fail(r, hoff,
		            "sparse map of '%s' does not hold %" PRId64
		            " entries",
		            h->name, n);
	return 0;
}

static int
value_is(const char *v, size_t n, const char *want)
{
	return v != NULL && strlen(want) == n && memcmp(v, want, n) == 0;
}

/*
 * Go's readGNUSparsePAXHeaders: 1 if the records make a pax sparse file
 * (versions 0.0, 0.1, 1.0, or a map without a version), 0 if not, -1.
 */
static int
read_pax_sparse(struct tar_reader *r, struct tar_entry *h, uint64_t hoff)
{
	size_t majlen = 0, minlen = 0, mlen = 0, nlen = 0, slen = 0;
	const char *maj = tar_entry_record(h, "GNU.sparse.major", &majlen);
	const char *min = tar_entry_record(h, "GNU.sparse.minor", &minlen);
	const char *map = tar_entry_record(h, "GNU.sparse.map", &mlen);
	const char *name, *size;
	int v1;

	if (value_is(maj, majlen, "0") &&
	    (value_is(min, minlen, "0") || value_is(min, minlen, "1")))
		v1 = 0;
	else if (value_is(maj, majlen, "1") && value_is(min, minlen, "0"))
		v1 = 1;
	else if (majlen > 0 || minlen > 0 || map == NULL || mlen == 0)
		return 0;
	else
		v1 = 0;
	name = tar_entry_record(h, "GNU.sparse.name", &nlen);
	if (name != NULL && nlen > 0) {
		if (memchr(name, '\0', nlen) != NULL)
			return fail(r, hoff, "NUL in GNU.sparse.name of '%s'",
			            h->name);
		tar_entry_set_string(&h->name, name);
	}
	size = tar_entry_record(h, "GNU.sparse.size", &slen);
	if (size == NULL || slen == 0)
		size = tar_entry_record(h, "GNU.sparse.realsize", &slen);
	if (size != NULL && slen > 0 && parse_decimal(size, slen, &h->size) < 0)
		return fail(r, hoff, "bad sparse size of '%s'", h->name);
	if ((v1 ? read_map_1x0(r, h, hoff) : read_map_0x1(r, h, hoff)) < 0)
		return -1;
	return 1;
}

/* --- a plain header for an expanded sparse file ----------------------- */

int
tar_pax_time(char *buf, size_t n, int64_t sec, int64_t nsec)
{
	uint64_t s = (uint64_t)sec;
	const char *sign = "";
	int len;

	if (nsec == 0)
		return snprintf(buf, n, "%" PRId64, sec);
	if (sec < 0) {
		sign = "-";
		s = (uint64_t)(-(sec + 1));
		nsec = 1000000000 - nsec;
	}
	len = snprintf(buf, n, "%s%" PRIu64 ".%09" PRId64, sign, s, nsec);
	while (len > 0 && (size_t)len < n && buf[len - 1] == '0')
		buf[--len] = '\0';
	return len;
}

static void
put_number(unsigned char *p, size_t n, int64_t v)
{
	if (v >= 0 && (n > 22 || v < INT64_C(1) << (3 * (n - 1)))) {
		snprintf((char *)p, n, "%0*" PRIo64, (int)(n - 1), v);
		return;
	}
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
	p[0] |= 0x80;
}

static void
put_block(struct buffer *raw, unsigned char *b)
{
	unsigned sum = 0;

	memcpy(b + F_MAGIC,
	       "ustar\0"
	       "00",
	       8);
	memset(b + F_CHKSUM, ' ', 8);
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += b[i];
	snprintf((char *)b + F_CHKSUM, 8, "%06o", sum);
	buffer_append(raw, b, TAR_BLOCK);
}

static size_t
ndigits(size_t x)
{
	size_t n = 1;

	while (x >= 10)
		x /= 10, n++;
	return n;
}

size_t
tar_pax_record_len(size_t klen, size_t vlen)
{
	size_t base = klen + vlen + 3;
	size_t size = base + ndigits(base);

	return base + ndigits(size);
}

static void
add_pax_record(struct buffer *pax, const char *k, const char *v, size_t vlen)
{
	buffer_addf(pax, "%zu %s=", tar_pax_record_len(strlen(k), vlen), k);
	buffer_append(pax, v, vlen);
	buffer_append(pax, "\n", 1);
}

static void
put_string(unsigned char *p, size_t n, const char *s)
{
	size_t len = strlen(s);

	memcpy(p, s, len < n ? len : n);
}

static int
is_basic_key(const char *k)
{
	static const char *const basic[] = {
	    "path",  "linkpath", "size",  "uid",   "gid",
	    "uname", "gname",    "mtime", "atime", "ctime"};

	for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (strcmp(k, basic[i]) == 0)
			return 1;
	return strncmp(k, "GNU.sparse.", 11) == 0;
}

/* Pax records for the fields of E that a ustar block cannot hold. */
static void
plain_pax_records(struct buffer *pax, const struct tar_entry *e)
{
	char num[64];

	if (strlen(e->name) > 100)
		add_pax_record(pax, "path", e->name, strlen(e->name));
	if (strlen(e->linkname) > 100)
		add_pax_record(pax, "linkpath", e->linkname,
		               strlen(e->linkname));
	if (strlen(e->uname) > 32)
		add_pax_record(pax, "uname", e->uname, strlen(e->uname));
	if (strlen(e->gname) > 32)
		add_pax_record(pax, "gname", e->gname, strlen(e->gname));
	if (e->size > OCTAL12_MAX)
		add_pax_record(
		    pax, "size", num,
		    (size_t)snprintf(num, sizeof(num), "%" PRId64, e->size));
	if (e->uid < 0 || e->uid > OCTAL8_MAX)
		add_pax_record(
		    pax, "uid", num,
		    (size_t)snprintf(num, sizeof(num), "%" PRId64, e->uid));
	if (e->gid < 0 || e->gid > OCTAL8_MAX)
		add_pax_record(
		    pax, "gid", num,
		    (size_t)snprintf(num, sizeof(num), "%" PRId64, e->gid));
	if (e->mtime < 0 || e->mtime > OCTAL12_MAX || e->mtime_nsec != 0)
		add_pax_record(pax, "mtime", num,
		               (size_t)tar_pax_time(num, sizeof(num), e->mtime,
		                                    e->mtime_nsec));
	for (size_t i = 0; i < e->nrecords; i++)
		if (!is_basic_key(e->records[i].key))
			add_pax_record(pax, e->records[i].key,
			               e->records[i].value, e->records[i].len);
}

/*
 * RAW becomes the header of a plain file with E's fields (and its pax
 * records but the sparse ones), for tools that copy entries through.
 */
static void
encode_plain(struct buffer *raw, const struct tar_entry *e)
{
	unsigned char b[TAR_BLOCK];
	struct buffer pax = {0};

	buffer_reset(raw);
	plain_pax_records(&pax, e);
	if (pax.len > 0) {
		memset(b, 0, sizeof(b));
		memcpy(b + F_NAME, "PaxHeader", 9);
		b[F_TYPE] = 'x';
		put_number(b + F_MODE, 8, 0644);
		put_number(b + F_UID, 8, 0);
		put_number(b + F_GID, 8, 0);
		put_number(b + F_SIZE, 12, (int64_t)pax.len);
		put_number(b + F_MTIME, 12, 0);
		put_block(raw, b);
		buffer_append(raw, pax.data, pax.len);
		buffer_grow(raw, (size_t)block_padding((int64_t)pax.len));
		memset(raw->data + raw->len, 0,
		       (size_t)block_padding((int64_t)pax.len));
		raw->len += (size_t)block_padding((int64_t)pax.len);
	}
	buffer_free(&pax);
	memset(b, 0, sizeof(b));
	put_string(b + F_NAME, 100, e->name);
	put_string(b + F_LINK, 100, e->linkname);
	put_string(b + F_UNAME, 32, e->uname);
	put_string(b + F_GNAME, 32, e->gname);
	b[F_TYPE] = (unsigned char)e->typeflag;
	put_number(b + F_MODE, 8, e->mode);
	put_number(b + F_UID, 8, e->uid > OCTAL8_MAX ? 0 : e->uid);
	put_number(b + F_GID, 8, e->gid > OCTAL8_MAX ? 0 : e->gid);
	put_number(b + F_SIZE, 12, e->size > OCTAL12_MAX ? 0 : e->size);
	put_number(b + F_MTIME, 12,
	           e->mtime < 0 || e->mtime > OCTAL12_MAX ? 0 : e->mtime);
	put_number(b + F_DEVMAJOR, 8, e->devmajor);
	put_number(b + F_DEVMINOR, 8, e->devminor);
	put_block(raw, b);
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
	struct tar_reader *r = xcalloc(1, sizeof(*r));

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
 * zero blocks, or the input ending on a block boundary, or after one zero
 * block), or -1.
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

/*
 * Read a pax or long-name entry's data, then its padding, into raw and
 * *data: 1, or 0 when the input ends in the padding, or -1.
 */
static int
read_special(struct tar_reader *r, const struct tar_entry *h, char **data)
{
	uint64_t off = instream_offset(r->in);
	size_t start = r->raw.len;

	if (h->size > SPECIAL_MAX)
		return fail(r, off - TAR_BLOCK,
		            "extended header of %" PRId64 " bytes (limit %d)",
		            h->size, SPECIAL_MAX);
	buffer_grow(&r->raw, (size_t)h->size + TAR_BLOCK);
	if (h->size > 0 && read_exact(r, r->raw.data + start, (size_t)h->size,
	                              "extended header") != 1)
		return r->failed ? -1
		                 : fail(r, off, "truncated extended header");
	r->raw.len += (size_t)h->size;
	r->pad = block_padding(h->size);
	int got = read_pad(r, &r->raw);
	*data = (char *)r->raw.data + start;
	return got;
}

/* Read and check one header block; parse it into H, its format in *FMT. */
static int
read_header(struct tar_reader *r, struct tar_entry *h, int *fmt)
{
	uint64_t off = instream_offset(r->in);
	int got, bfmt;

	if ((got = read_header_block(r)) <= 0)
		return got;
	if ((bfmt = block_format(r->blk)) == 0)
		return fail(r, off,
		            off == 0 ? "not a tar archive"
		                     : "bad header checksum");
	memcpy(r->hblk, r->blk, TAR_BLOCK);
	buffer_append(&r->raw, r->blk, TAR_BLOCK);
	if ((*fmt = parse_header(r->blk, bfmt, h)) < 0)
		return fail(r, off, "malformed number in header of '%s'",
		            h->name);
	if (!tar_type_header_only(h->typeflag) && h->size < 0)
		return fail(r, off, "negative size in header of '%s'", h->name);
	return 1;
}

/*
 * A global header: its own records apply to it alone (Go returns it as an
 * entry).  When one of its numbers is bad, what Go keeps depends on the
 * order in which it walks a map, which Go randomizes; di takes the order
 * in which the bad record comes first: none of the records apply.
 */
static int
finish_global(struct tar_reader *r, struct tar_entry *h, int fmt)
{
	struct tar_entry *e = &r->e;
	char *name = xstrdup(h->name);

	tar_entry_clear(e);
	e->records_dropped = merge_pax(h) < 0;
	if (e->records_dropped) {
		free_owned(h->name);
		h->name = name;
	} else {
		free(name);
	}
	e->name = h->name;
	h->name = NULL;
	e->linkname = xstrdup("");
	e->uname = xstrdup("");
	e->gname = xstrdup("");
	e->typeflag = e->raw_typeflag = e->go_typeflag = 'g';
	e->mtime = GO_ZERO_TIME;
	e->go_format = fmt;
	e->records = h->records;
	e->nrecords = h->nrecords;
	h->records = NULL;
	h->nrecords = 0;
	return 1;
}

/* A sparse file's map is read: check it as Go does, and expand. */
static int
finish_sparse(struct tar_reader *r, struct tar_entry *h, uint64_t hoff)
{
	struct sparse *sp = &r->sp;
	size_t n = 0;

	if (tar_type_header_only(h->typeflag) || !sparse_valid(sp, h->size))
		return fail(r, hoff, "bad sparse map of '%s'", h->name);
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->len[i] == 0)
			continue;
		sp->off[n] = sp->off[i];
		sp->len[n++] = sp->len[i];
	}
	sp->n = n;
	sp->size = h->size;
	h->sparse = 1;
	h->datasize = h->size;
	if (h->typeflag == 'S')
		h->typeflag = '0';
	encode_plain(&r->raw, h);
	return 0;
}

/* The entry proper, after its extended headers: merge, then check. */
static int
finish_entry(struct tar_reader *r, struct tar_entry *h, const char *longname,
             const char *longlink, uint64_t hoff, int fmt)
{
	struct tar_entry *e = &r->e;
	int sparse;

	if (merge_pax(h) < 0)
		return fail(r, hoff, "bad pax record for '%s'", h->name);
	if (longname != NULL && *longname != '\0')
		tar_entry_set_string(&h->name, longname);
	if (longlink != NULL && *longlink != '\0')
		tar_entry_set_string(&h->linkname, longlink);
	if (h->typeflag == '\0') {
		size_t n = strlen(h->name);
		h->typeflag = n > 0 && h->name[n - 1] == '/' ? '5' : '0';
	}
	h->go_typeflag = h->typeflag;
	h->datasize = tar_type_header_only(h->typeflag) ? 0 : h->size;
	if (h->datasize < 0)
		return fail(r, hoff, "negative size in header of '%s'",
		            h->name);
	r->remaining = h->datasize;
	r->pad = block_padding(h->datasize);
	sparse_clear(&r->sp);
	if (h->typeflag == 'S')
		sparse = read_old_gnu_map(r, h, hoff) < 0 ? -1 : 1;
	else
		sparse = read_pax_sparse(r, h, hoff);
	if (sparse < 0 || (sparse && finish_sparse(r, h, hoff) < 0))
		return -1;
	if ((fmt & GO_FORMAT_USTAR) && (fmt & GO_FORMAT_PAX))
		fmt &= GO_FORMAT_USTAR;
	h->go_format = fmt;
	tar_entry_clear(e);
	*e = *h;
	memset(h, 0, sizeof(*h));
	return 1;
}

/* Move the records of the last pax header (PAX) into the entry H. */
static void
take_records(struct tar_entry *h, struct tar_entry *pax)
{
	h->records = pax->records;
	h->nrecords = pax->nrecords;
	pax->records = NULL;
	pax->nrecords = 0;
}

/* An extended header (x, g, L or K) at HOFF; 1 to read on, else a result. */
static int
extended(struct tar_reader *r, struct tar_entry *h, struct tar_entry *pax,
         char **longname, char **longlink, int *fmt, uint64_t hoff)
{
	char *data;
	int got;

	if (h->typeflag == 'x' || h->typeflag == 'g') {
		*fmt &= GO_FORMAT_PAX;
		if ((got = read_special(r, h, &data)) < 0)
			return -1;
		tar_entry_clear(pax);
		if (parse_pax(data, (size_t)h->size, pax) < 0)
			return fail(r, hoff, "malformed pax header");
		if (h->typeflag == 'x')
			return got == 1 ? 1 : 0;
		take_records(h, pax);
		r->end_pending = got == 0;
		return 2 + finish_global(r, h, *fmt);
	}
	char **dst = h->typeflag == 'L' ? longname : longlink;
	*fmt &= GO_FORMAT_GNU;
	if ((got = read_special(r, h, &data)) < 0)
		return -1;
	free(*dst);
	*dst = dup_string((unsigned char *)data, (size_t)h->size);
	return got;
}

static int
next_entry(struct tar_reader *r, struct tar_entry *h, char **longname,
           char **longlink)
{
	struct tar_entry pax = {0};
	int fmt = GO_FORMAT_USTAR | GO_FORMAT_PAX | GO_FORMAT_GNU, hfmt = 0;
	uint64_t start = instream_offset(r->in);
	int got;

	buffer_reset(&r->raw);
	for (;;) {
		uint64_t hoff = instream_offset(r->in);
		if ((got = read_header(r, h, &hfmt)) <= 0)
			break;
		fmt &= hfmt;
		if (strchr("xgLK", h->typeflag) != NULL && h->typeflag) {
			got = extended(r, h, &pax, longname, longlink, &fmt,
			               hoff);
			if (got == 1)
				continue;
			got = got == 3 ? 1 : got;
			break;
		}
		take_records(h, &pax);
		got = finish_entry(r, h, *longname, *longlink, hoff, fmt);
		break;
	}
	tar_entry_clear(&pax);
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
	got = r->end_pending ? 0 : read_pad(r, NULL);
	if (got == 1) {
		got = next_entry(r, &h, &longname, &longlink);
		tar_entry_clear(&h);
		free(longname);
		free(longlink);
	}
	if (got == 0 && r->end_offset == 0)
		r->end_offset = instream_offset(r->in);
	r->ended = got == 0;
	if (got == 1)
		*out = &r->e;
	return got;
}

/* Data of a sparse file: its fragments from the input, zeros between. */
static ssize_t
sparse_read(struct tar_reader *r, unsigned char *buf, size_t n)
{
	struct sparse *sp = &r->sp;
	size_t done = 0;

	while (done < n && sp->pos < sp->size) {
		int64_t k = (int64_t)(n - done);
		if (sp->i < sp->n && sp->pos >= sp->off[sp->i]) {
			int64_t left =
			    sp->off[sp->i] + sp->len[sp->i] - sp->pos;
			k = k < left ? k : left;
			if (k > r->remaining)
				return fail(
				    r, instream_offset(r->in),
				    "sparse file '%s' lacks data its map "
				    "names",
				    r->e.name);
			ssize_t got =
			    instream_read(r->in, buf + done, (size_t)k);
			if (got < 0)
				return fail_stream(r);
			if (got < k)
				return fail_truncated_data(r);
			r->remaining -= k;
			if (k == left)
				sp->i++;
		} else {
			int64_t next =
			    sp->i < sp->n ? sp->off[sp->i] : sp->size;
			k = k < next - sp->pos ? k : next - sp->pos;
			memset(buf + done, 0, (size_t)k);
		}
		sp->pos += k;
		done += (size_t)k;
	}
	if (sp->pos == sp->size && r->remaining > 0)
		return fail(r, instream_offset(r->in),
		            "sparse file '%s' holds data its map does not name",
		            r->e.name);
	return (ssize_t)done;
}

ssize_t
tar_reader_read(struct tar_reader *r, void *buf, size_t n)
{
	ssize_t got;

	if (r->failed)
		return -1;
	if (r->e.sparse)
		return sparse_read(r, buf, n);
	if ((int64_t)n > r->remaining)
		n = (size_t)r->remaining;
	if (n == 0)
		return 0;
	got = instream_read(r->in, buf, n);
	if (got < 0)
		return fail_stream(r);
	if ((size_t)got < n)
		return fail_truncated_data(r);
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
	tar_entry_clear(&r->e);
	sparse_clear(&r->sp);
	buffer_free(&r->raw);
	free(r->skipbuf);
	instream_close(r->in);
	free(r);
}
