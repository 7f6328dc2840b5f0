/* tar_writer.c: tar output, ustar headers with pax records where needed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buffer.h"
#include "errors.h"
#include "fdio.h"
#include "outfile.h"
#include "tar_writer.h"
#include "xalloc.h"

#define OUTBUF (256 * 1024)

struct tar_writer {
	int fd;
	unsigned char buf[OUTBUF];
	size_t len;
	uint64_t offset;
};

struct tar_writer *
tar_writer_new(int fd)
{
	struct tar_writer *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	return w;
}

static void
write_all(int fd, const unsigned char *p, size_t n)
{
	if (fdio_write_all(fd, p, n) < 0)
		outfile_write_failed(fd);
}

void
tar_writer_flush(struct tar_writer *w)
{
	write_all(w->fd, w->buf, w->len);
	w->len = 0;
}

void
tar_writer_raw(struct tar_writer *w, const void *p, size_t n)
{
	w->offset += n;
	if (n >= OUTBUF) {
		tar_writer_flush(w);
		write_all(w->fd, p, n);
		return;
	}
	if (w->len + n > OUTBUF)
		tar_writer_flush(w);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
tar_writer_pad(struct tar_writer *w, int64_t size)
{
	static const unsigned char zeros[TAR_BLOCK];
	size_t pad = (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);

	tar_writer_raw(w, zeros, pad);
}

/* --- header encoding -------------------------------------------------- */

/* Octal in a field of N bytes (N-1 digits and a NUL), if it fits. */
static int
put_octal(unsigned char *b, size_t n, int64_t v)
{
	char tmp[32];

	if (v < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%0*" PRIo64, (int)(n - 1), (uint64_t)v);
	if (strlen(tmp) > n - 1)
		return -1;
	memcpy(b, tmp, n);
	return 0;
}

static void
add_record(struct buffer *pax, const char *key, const char *v, size_t vlen)
{
	/* The length counts itself, so try lengths until one is stable. */
	size_t body = strlen(key) + vlen + 3; /* ' ', '=', '\n' */
	size_t len = body + 1;
	char digits[32];

	for (;;) {
		int n = snprintf(digits, sizeof(digits), "%zu", len);
		if (body + (size_t)n == len)
			break;
		len = body + (size_t)n;
	}
	buffer_addf(pax, "%s %s=", digits, key);
	buffer_append(pax, v, vlen);
	buffer_append(pax, "\n", 1);
}

static void
add_number_record(struct buffer *pax, const char *key, int64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	add_record(pax, key, tmp, strlen(tmp));
}

/* Put NAME in the name field, or name and prefix, or say it does not fit. */
static int
put_name(unsigned char *b, const char *name)
{
	size_t n = strlen(name);

	if (n <= 100) {
		memcpy(b, name, n);
		return 0;
	}
	if (n > 256)
		return -1;
	/* Split at a slash, never the trailing one of a directory. */
	for (size_t i = n - 2; i > 0; i--) {
		if (name[i] != '/' || i > 155 || n - i - 1 > 100)
			continue;
		memcpy(b + 345, name, i);
		memcpy(b, name + i + 1, n - i - 1);
		return 0;
	}
	return -1;
}

static void
checksum(unsigned char *b)
{
	unsigned sum = 0;

	memset(b + 148, ' ', 8);
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	b[155] = ' ';
}

static void
fill_block(unsigned char *b, const struct tar_entry *e, struct buffer *pax)
{
	size_t len;

	memset(b, 0, TAR_BLOCK);
	if (put_name(b, e->name) < 0)
		add_record(pax, "path", e->name, strlen(e->name));
	if ((len = strlen(e->linkname)) <= 100) {
		memcpy(b + 157, e->linkname, len);
	} else {
		/*
		 * libarchive (bsdtar 3.6) ignores a pax linkpath when this
		 * field is empty; like GNU tar and Go, keep its first bytes.
		 */
		memcpy(b + 157, e->linkname, 100);
		add_record(pax, "linkpath", e->linkname, len);
	}
	put_octal(b + 100, 8, e->mode & 07777777);
	if (put_octal(b + 108, 8, e->uid) < 0)
		add_number_record(pax, "uid", e->uid);
	if (put_octal(b + 116, 8, e->gid) < 0)
		add_number_record(pax, "gid", e->gid);
	if (put_octal(b + 124, 12, e->size) < 0)
		add_number_record(pax, "size", e->size);
	if (put_octal(b + 136, 12, e->mtime) < 0)
		add_number_record(pax, "mtime", e->mtime);
	b[156] = (unsigned char)e->typeflag;
	memcpy(b + 257,
	       "ustar\0"
	       "00",
	       8);
	if ((len = strlen(e->uname)) < 32)
		memcpy(b + 265, e->uname, len);
	else
		add_record(pax, "uname", e->uname, len);
	if ((len = strlen(e->gname)) < 32)
		memcpy(b + 297, e->gname, len);
	else
		add_record(pax, "gname", e->gname, len);
	put_octal(b + 329, 8, e->devmajor);
	put_octal(b + 337, 8, e->devminor);
}

static void
write_pax_header(struct tar_writer *w, const struct tar_entry *e,
                 struct buffer *pax)
{
	struct tar_entry h = {0};
	char name[101];
	const char *base = strrchr(e->name, '/');
	unsigned char b[TAR_BLOCK];

	/* Trailing slashes of directories are not part of the base name. */
	base = base && base[1] ? base + 1 : e->name;
	snprintf(name, sizeof(name), "PaxHeaders/%s", base);
	h.name = name;
	h.linkname = h.uname = h.gname = "";
	h.mode = 0644;
	h.size = (int64_t)pax->len;
	h.mtime = e->mtime > 0 && e->mtime < 077777777777 ? e->mtime : 0;
	h.typeflag = 'x';
	fill_block(b, &h, &(struct buffer){0});
	checksum(b);
	tar_writer_raw(w, b, TAR_BLOCK);
	tar_writer_raw(w, pax->data, pax->len);
	tar_writer_pad(w, h.size);
}

void
tar_writer_header(struct tar_writer *w, const struct tar_entry *e)
{
	struct buffer pax = {0};
	unsigned char b[TAR_BLOCK];

	fill_block(b, e, &pax);
	for (size_t i = 0; i < e->nrecords; i++)
		if (strncmp(e->records[i].key, "SCHILY.xattr.", 13) == 0)
			add_record(&pax, e->records[i].key, e->records[i].value,
			           e->records[i].len);
	if (pax.len > 0)
		write_pax_header(w, e, &pax);
	buffer_free(&pax);
	checksum(b);
	tar_writer_raw(w, b, TAR_BLOCK);
}

int
tar_writer_header_block(const struct tar_entry *e, unsigned char b[TAR_BLOCK])
{
	struct buffer pax = {0};
	size_t need;

	fill_block(b, e, &pax);
	need = pax.len;
	buffer_free(&pax);
	if (need > 0 || e->nrecords > 0)
		return -1;
	checksum(b);
	return 0;
}

void
tar_writer_file(struct tar_writer *w, const char *name, int64_t mode,
                int64_t mtime, const void *p, size_t n)
{
	struct tar_entry e = {0};

	e.name = name;
	e.linkname = e.uname = e.gname = "";
	e.mode = mode;
	e.mtime = mtime;
	e.size = (int64_t)n;
	e.typeflag = '0';
	tar_writer_header(w, &e);
	tar_writer_raw(w, p, n);
	tar_writer_pad(w, e.size);
}

void
tar_writer_finish(struct tar_writer *w)
{
	static const unsigned char zeros[2 * TAR_BLOCK];

	tar_writer_raw(w, zeros, sizeof(zeros));
	tar_writer_flush(w);
	free(w);
}

uint64_t
tar_writer_offset(const struct tar_writer *w)
{
	return w->offset;
}

void
tar_writer_abandon(struct tar_writer *w)
{
	if (w == NULL)
		return;
	tar_writer_flush(w);
	free(w);
}
