/*
 * Unit tests of common/tar_writer and common/tar_reader: what the writer
 * encodes, the reader gives back, through ustar, prefix and pax forms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "buffer.h"
#include "check.h"
#include "instream.h"
#include "spool.h"
#include "tar_reader.h"
#include "tar_writer.h"

static struct tar_entry
make_entry(char *name, char type, int64_t size)
{
	struct tar_entry e = {0};

	e.name = name;
	e.linkname = e.uname = e.gname = "";
	e.mode = 0640;
	e.mtime = 1234567890;
	e.typeflag = type;
	e.size = size;
	return e;
}

/* Write entries to a temporary file and return it, rewound. */
static int
write_sample(void)
{
	int fd = spool_tempfile();
	struct tar_writer *w = tar_writer_new(fd);
	struct tar_record xattr = {"SCHILY.xattr.user.k", "v\0w", 3};
	char longname[300];

	struct tar_entry e = make_entry("plain", '0', 5);
	tar_writer_header(w, &e);
	tar_writer_raw(w, "hello", 5);
	tar_writer_pad(w, 5);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[100] = '/';
	e = make_entry(longname, '0', 0);
	e.uid = 1LL << 40;
	e.records = &xattr;
	e.nrecords = 1;
	tar_writer_header(w, &e);

	e = make_entry(
	    "dir/with/prefix/0123456789012345678901234567890123456789/"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789/",
	    '5', 0);
	tar_writer_header(w, &e);
	e = make_entry("link", '2', 0);
	e.linkname = "target";
	tar_writer_header(w, &e);
	tar_writer_finish(w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* A pax 0.1 sparse file "real" of 20 bytes: "ab" at 3, "cde" at 15. */
static size_t
sparse_sample(unsigned char *out, size_t cap)
{
	int fd = spool_tempfile();
	struct tar_writer *w = tar_writer_new(fd);
	static const char recs[] = "29 GNU.sparse.name=long/real\n"
	                           "22 GNU.sparse.major=0\n"
	                           "22 GNU.sparse.minor=1\n"
	                           "22 GNU.sparse.size=20\n"
	                           "26 GNU.sparse.numblocks=2\n"
	                           "27 GNU.sparse.map=3,2,15,3\n";
	struct tar_entry e = make_entry("PaxHeader", 'x', sizeof(recs) - 1);

	tar_writer_header(w, &e);
	tar_writer_raw(w, recs, sizeof(recs) - 1);
	tar_writer_pad(w, sizeof(recs) - 1);
	e = make_entry("GNUSparseFile.0/real", '0', 5);
	tar_writer_header(w, &e);
	tar_writer_raw(w, "abcde", 5);
	tar_writer_pad(w, 5);
	tar_writer_finish(w);
	ssize_t n = pread(fd, out, cap, 0);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* Read a sparse file: the logical data, a plain raw header. */
static void
check_sparse(void)
{
	static unsigned char tar[8192], copy[8192];
	static const char want[20] = "\0\0\0ab\0\0\0\0\0\0\0\0\0\0cde\0\0";
	size_t n = sparse_sample(tar, sizeof(tar));
	struct tar_reader *r = tar_reader_new(instream_memopen(tar, n, "sp"));
	struct tar_entry *e;
	char buf[64];
	size_t got = 0, clen;
	ssize_t k;

	CHECK(tar_reader_next(r, &e) == 1);
	if (check_failed) {
		puts(tar_reader_error(r));
		return;
	}
	CHECK_STR(e->name, "long/real");
	CHECK(e->sparse && e->size == 20 && e->datasize == 20);
	while ((k = tar_reader_read(r, buf + got, 3)) > 0)
		got += (size_t)k;
	CHECK(k == 0 && got == 20 && memcmp(buf, want, 20) == 0);
	/* raw, then the data, makes a plain file of the same name and data */
	memcpy(copy, e->raw, e->rawlen);
	memcpy(copy + e->rawlen, want, 20);
	clen = e->rawlen + TAR_BLOCK;
	memset(copy + e->rawlen + 20, 0, TAR_BLOCK - 20 + 2 * TAR_BLOCK);
	clen += 2 * TAR_BLOCK;
	CHECK(tar_reader_next(r, &e) == 0);
	tar_reader_close(r);

	r = tar_reader_new(instream_memopen(copy, clen, "copy"));
	CHECK(tar_reader_next(r, &e) == 1);
	CHECK_STR(e->name, "long/real");
	CHECK(!e->sparse && e->typeflag == '0' && e->size == 20);
	CHECK(tar_reader_read(r, buf, sizeof(buf)) == 20);
	CHECK(memcmp(buf, want, 20) == 0);
	tar_reader_close(r);
}

int
main(void)
{
	struct tar_reader *r =
	    tar_reader_new(instream_fdopen(write_sample(), "sample"));
	struct tar_entry *e;
	char buf[16];

	CHECK(tar_reader_next(r, &e) == 1);
	CHECK_STR(e->name, "plain");
	CHECK(e->mode == 0640 && e->mtime == 1234567890 && e->size == 5);
	CHECK(e->typeflag == '0' && e->datasize == 5);
	CHECK(e->rawlen == TAR_BLOCK && e->offset == 0);
	CHECK(tar_reader_read(r, buf, sizeof(buf)) == 5);
	CHECK(memcmp(buf, "hello", 5) == 0);

	CHECK(tar_reader_next(r, &e) == 1);
	CHECK(strlen(e->name) == 299 && e->name[100] == '/');
	CHECK(e->uid == (1LL << 40));
	size_t len = 0;
	const char *v = tar_entry_record(e, "SCHILY.xattr.user.k", &len);
	CHECK(v != NULL && len == 3 && memcmp(v, "v\0w", 3) == 0);
	CHECK(e->rawlen > TAR_BLOCK); /* the pax header is part of the raw */

	CHECK(tar_reader_next(r, &e) == 1);
	CHECK(e->typeflag == '5' && strlen(e->name) > 100);
	CHECK(strncmp(e->name, "dir/with/prefix/0123", 20) == 0);
	CHECK(e->rawlen == TAR_BLOCK); /* it fit in name + prefix */

	CHECK(tar_reader_next(r, &e) == 1);
	CHECK_STR(e->linkname, "target");
	CHECK(e->datasize == 0);
	CHECK(tar_reader_next(r, &e) == 0);
	tar_reader_close(r);

	/* A bad checksum is reported with its offset. */
	unsigned char blk[2 * TAR_BLOCK] = "name";
	r = tar_reader_new(instream_memopen(blk, sizeof(blk), "mem"));
	CHECK(tar_reader_next(r, &e) == -1);
	CHECK(strstr(tar_reader_error(r), "mem: offset 0:") != NULL);
	tar_reader_close(r);

	check_sparse();
	return check_done();
}
