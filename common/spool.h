/*
 * spool.h: input that must be read more than once, kept in an unlinked
 * temporary file under $TMPDIR (default /tmp), so that nothing is left
 * behind however the tool ends.
 */
#ifndef DI_SPOOL_H
#define DI_SPOOL_H

#include <stdint.h>

/* A new unlinked temporary file, open for reading and writing. */
int spool_tempfile(void);
/*
 * A descriptor for PATH that can be read from any offset: PATH itself when
 * it is a regular file, else (a pipe, "-" for stdin) a spooled copy of all
 * its bytes.  err(3) on failure.
 */
int spool_open(const char *path);

#endif
