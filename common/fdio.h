/*
 * fdio.h: whole writes to a file descriptor.
 *
 * write(2) may write less than asked, or be interrupted by a signal before
 * it writes anything; every writer of a tar, a spool or a blob wants all
 * its bytes written or a reason why not.  This is the one loop that does
 * that.  What a failure means (an output that is gone, a spool that is
 * full) stays with the caller.
 */
#ifndef DI_FDIO_H
#define DI_FDIO_H

#include <stddef.h>

/* Write the N bytes at P to FD: 0, or -1 with errno set. */
int fdio_write_all(int fd, const void *p, size_t n);

#endif
