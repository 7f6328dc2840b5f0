/*
 * spool.h: input that must be read more than once or from any offset,
 * kept in an unlinked temporary file under $TMPDIR (default /tmp), so that
 * nothing is left behind however the tool ends.
 *
 * This is the one place where a tar is decompressed into a seekable copy
 * (image archives, bases, a pipe read twice).  A spool of a tar holds the
 * archive up to its end-of-archive blocks and no more: the bytes after the
 * end are not the archive (a few kilobytes of zstd may inflate to
 * gigabytes of zeros there), so they are not read, and a spool never
 * holds more than the archive's headers declare.
 */
#ifndef DI_SPOOL_H
#define DI_SPOOL_H

#include <stdint.h>

#include "instream.h"

/* A new unlinked temporary file, open for reading and writing. */
int spool_tempfile(void);

/*
 * The tar that IN hands out (decompressed), copied into a new spool up to
 * its end-of-archive.  With SLACK 0 what follows the end is not read;
 * otherwise up to SLACK bytes after it are kept too (a layer's padding,
 * which its digest covers) and more is an error.  Returns the spool at
 * offset 0; IN stays open.  errx naming the entry or offset on a
 * malformed archive.
 */
int spool_tar(struct instream *in, uint64_t slack);

/*
 * A descriptor of the tar at PATH ("-" or NULL: standard input) that can
 * be read from any offset: PATH itself when it is a regular file
 * (compressed or not), else (a pipe) its bytes decompressed into a spool
 * by spool_tar.  err(3) on failure.
 */
int spool_open(const char *path);
/* The same for FD (taken over), labelled LABEL in messages. */
int spool_fd(int fd, const char *label);

/*
 * A descriptor of the same tar that reads uncompressed: FD (a descriptor
 * from spool_open, taken over) when its bytes are plain, else their
 * decompressed copy from spool_tar.
 */
int spool_plain(int fd, const char *label);

#endif
