/*
 * outfile.h: where a tool's output goes.
 *
 * Standard output, or -o FILE: written to a temporary name beside FILE and
 * renamed over it only by outfile_commit, so a failed run never leaves a
 * half-written FILE.  The temporary file is removed on exit(3) and on
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE if the tool dies before committing.
 * A tar is never written to a terminal.
 */
#ifndef DI_OUTFILE_H
#define DI_OUTFILE_H

enum outfile_kind { OUT_TEXT, OUT_TAR };

/* Open PATH (NULL or "-": standard output); returns the descriptor. */
int outfile_open(const char *path, enum outfile_kind kind);
/* Flush to disk and rename into place; err(3) on failure. */
void outfile_commit(void);

/*
 * A write to FD failed, errno says why: exit EXIT_DATA, naming the output
 * file, or quietly when FD is a pipe whose reader went away (EPIPE: the
 * reader of `| head` wants no more, which is no error worth a message).
 * The temporary file of -o is removed on the way out.
 */
void outfile_write_failed(int fd) __attribute__((noreturn));

#endif
