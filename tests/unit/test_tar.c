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
	return check_done();
}
