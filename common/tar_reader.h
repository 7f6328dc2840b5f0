/*
 * tar_reader.h: a streaming reader of ustar, pax and GNU tar archives.
 *
 * Headers are parsed the way Go's archive/tar parses them, because the
 * tarsum must agree with Docker's Go code on every archive: ustar prefix,
 * GNU long names (L/K), pax records (path, linkpath, size, uid, gid, uname,
 * gname, mtime, SCHILY.xattr.*), pax global headers returned as entries of
 * their own, base-256 numbers, both header checksum rules, and typeflag '\0'
 * read as a regular file, or a directory when the name ends in '/'.
 *
 * Each entry also carries the raw bytes of all its header blocks (extended
 * headers included), so a tool can copy an entry through unchanged: write
 * raw, then the data, then zero padding to a 512-byte boundary.
 *
 * Sparse files (GNU 'S', old and with extension blocks, and pax GNU.sparse
 * 0.0, 0.1 and 1.0) are expanded as Go expands them: the data read is the
 * logical file, holes as zeros, size and datasize its logical size, and raw
 * a new header of a plain file with the same fields, so that a tool that
 * copies entries writes a plain file.  Memory stays flat in the file's size
 * (only the map is kept).
 *
 * The reader owns every entry it returns; an entry is valid until the next
 * call to tar_reader_next or tar_reader_close.
 */
#ifndef DI_TAR_READER_H
#define DI_TAR_READER_H

#include <stdint.h>
#include <sys/types.h>

#include "instream.h"

#define TAR_BLOCK 512

/* One pax record; values may hold any byte, so they carry a length. */
struct tar_record {
	char *key;
	char *value;
	size_t len;
};

struct tar_entry {
	const char *name;
	const char *linkname;
	const char *uname, *gname;
	int64_t mode; /* the field as written: no file type bits added */
	int64_t uid, gid;
	int64_t size;  /* the size field (or pax size) */
	int64_t mtime; /* seconds, rounded down like Go's time.Unix() */
	int64_t devmajor, devminor;
	char typeflag;     /* '\0' read as '0' or '5', as Go does */
	char raw_typeflag; /* the byte in the header */
	/* Extended records that applied (pax "x", or a global header's own). */
	struct tar_record *records;
	size_t nrecords;
	/* Where the entry's first header block started in the stream. */
	uint64_t offset;
	/* All header blocks of the entry, as read. */
	unsigned char *raw;
	size_t rawlen;
	/* Bytes of data that follow the header blocks (0 for header-only
	 * types); for a sparse file, its logical size. */
	int64_t datasize;
	/* Expanded from a sparse file (raw is then a new plain header). */
	int sparse;
	/*
	 * What else Go's Reader keeps in its Header, for the tarsum's check
	 * that Go's Writer can encode the entry again: its Format bits, the
	 * typeflag it reports ('S' for a GNU sparse file, where typeflag is
	 * '0'), the sub-second part of the mtime, the access and change times
	 * (set: not Go's zero time), and for a global header whose records Go
	 * drops (a bad number in it: see tar_reader.c), that choice.
	 */
	int go_format;
	char go_typeflag;
	int64_t mtime_nsec;
	int atime_set, ctime_set;
	int64_t atime, atime_nsec, ctime, ctime_nsec;
	int records_dropped;
};

/*
 * The strings of an entry are const to its readers; its owner allocated
 * them.  For a module that keeps entries of its own (treeindex copies
 * them), as the reader does: replace *FIELD (one of E's strings) with a
 * copy of V, and free E's strings and records and zero E.
 */
void tar_entry_set_string(const char **field, const char *v);
void tar_entry_clear(struct tar_entry *e);

/* Go's archive/tar Format bits. */
enum {
	GO_FORMAT_V7 = 1,
	GO_FORMAT_USTAR = 2,
	GO_FORMAT_PAX = 4,
	GO_FORMAT_GNU = 8,
	GO_FORMAT_STAR = 16,
};
/* time.Time{}.Unix(): Go's zero time, in seconds since 1970. */
#define GO_ZERO_TIME INT64_C(-62135596800)

struct tar_reader;

/* The reader takes over IN and closes it on tar_reader_close. */
struct tar_reader *tar_reader_new(struct instream *in);
struct tar_reader *tar_reader_open(const char *path);

/*
 * Advance to the next entry: 1 and *out set, 0 at the end of the archive
 * (and on every call after it: what follows the end is not read),
 * -1 on a corrupt or truncated archive (see tar_reader_error).  Any data of
 * the previous entry that was not read is skipped.
 */
int tar_reader_next(struct tar_reader *r, struct tar_entry **out);

/* Read data of the current entry: up to N bytes, 0 at its end, -1 on error. */
ssize_t tar_reader_read(struct tar_reader *r, void *buf, size_t n);

/*
 * "LABEL: offset N: what went wrong", for the last error; the label is the
 * input's file name.
 */
const char *tar_reader_error(const struct tar_reader *r);

/* Offset of the end-of-archive marker (or of the end, if it had none). */
uint64_t tar_reader_offset(const struct tar_reader *r);
struct instream *tar_reader_stream(struct tar_reader *r);

/* The value of the record KEY in E, or NULL; *len gets its length. */
const char *tar_entry_record(const struct tar_entry *e, const char *key,
                             size_t *len);

/* Is TYPEFLAG a type with no data (links, devices, directories, fifos)? */
int tar_type_header_only(char typeflag);

void tar_reader_close(struct tar_reader *r);

/* Go's pax rules, for encoders: formatPAXTime into BUF, and the length
 * of the record "LEN key=value\n" for a key and value of these lengths. */
int tar_pax_time(char *buf, size_t n, int64_t sec, int64_t nsec);
size_t tar_pax_record_len(size_t klen, size_t vlen);

#endif
