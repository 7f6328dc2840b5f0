/*
 * tar_writer.h: buffered tar output.
 *
 * Entries are either copied through (tar_writer_raw with the header bytes a
 * tar_reader returned, then the data) or described by a struct tar_entry and
 * encoded here: ustar when the fields fit, pax records when they do not
 * (long names, large sizes and ids, xattrs).  The encoding depends only on
 * the entry, so equal entries give equal bytes.
 *
 * A write error is fatal (err(3)).  tar_writer_finish writes the
 * end-of-archive blocks; a tool that fails never calls it, so a reader
 * downstream sees a truncated archive rather than a short, whole one.
 */
#ifndef DI_TAR_WRITER_H
#define DI_TAR_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "tar_reader.h"

struct tar_writer;

struct tar_writer *tar_writer_new(int fd);

/* Bytes as they are: copied headers, or data. */
void tar_writer_raw(struct tar_writer *w, const void *p, size_t n);
/* Zero padding after SIZE bytes of data. */
void tar_writer_pad(struct tar_writer *w, int64_t size);
/*
 * Encode E's header: name, linkname, mode, uid, gid, size, mtime,
 * typeflag, devmajor, devminor, uname, gname, and of its records only the
 * SCHILY.xattr.* ones.  Data (E->size bytes, for types that have data) and
 * its padding follow from the caller.
 */
void tar_writer_header(struct tar_writer *w, const struct tar_entry *e);
/*
 * E's header as one ustar block in B, for a header written over a
 * placeholder later (pwrite): -1 when E needs pax records.
 */
int tar_writer_header_block(const struct tar_entry *e,
                            unsigned char b[TAR_BLOCK]);
/* A whole regular file held in memory, with padding. */
void tar_writer_file(struct tar_writer *w, const char *name, int64_t mode,
                     int64_t mtime, const void *p, size_t n);

/* Write the two zero blocks, flush, and free W. */
void tar_writer_finish(struct tar_writer *w);
void tar_writer_flush(struct tar_writer *w);
uint64_t tar_writer_offset(const struct tar_writer *w);
/* Flush and free without an end-of-archive (after a failure). */
void tar_writer_abandon(struct tar_writer *w);

#endif
