/* spool.c: seekable, uncompressed copies of tars. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "fdio.h"
#include "spool.h"
#include "tar_reader.h"
#include "xalloc.h"

int
spool_tempfile(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Some file systems lack O_TMPFILE: create and unlink at once. */
	char *path;
	path = xasprintf("%s/di-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		err(EXIT_DATA, "temporary file in %s", dir);
	unlink(path);
	free(path);
	return fd;
}

/* --- spool_tar --------------------------------------------------------- */

/* The decompressed bytes of the input, read through a plain stream. */
struct copy {
	struct instream *in;
	int fd;
};

static ssize_t
copy_read(void *ctx, void *buf, size_t n)
{
	struct copy *c = ctx;
	ssize_t got = instream_read(c->in, buf, n);

	if (got < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(c->in),
		     instream_error(c->in));
	return got;
}

/* What the tar reader consumed goes to the spool as it is read. */
static void
copy_sink(void *ctx, const void *p, size_t n)
{
	struct copy *c = ctx;

	if (fdio_write_all(c->fd, p, n) < 0)
		err(EXIT_DATA, "spooling %s", instream_label(c->in));
}

/* Read the rest of S, which must be at most SLACK bytes. */
static void
keep_slack(struct instream *s, struct tar_reader *r, uint64_t slack)
{
	char buf[64 * 1024];
	uint64_t after = 0;
	ssize_t n;

	while ((n = instream_read(s, buf, sizeof(buf))) > 0)
		if ((after += (uint64_t)n) > slack)
			errx(EXIT_DATA,
			     "%s: more than %" PRIu64 " bytes follow the end "
			     "of the archive at offset %" PRIu64,
			     instream_label(s), slack, tar_reader_offset(r));
}

int
spool_tar(struct instream *in, uint64_t slack)
{
	struct copy c = {in, spool_tempfile()};
	struct instream *s = instream_fnopen(copy_read, &c, instream_label(in));
	struct tar_reader *r;
	struct tar_entry *e;
	int got;

	instream_plain(s);
	instream_tee_fn(s, copy_sink, &c);
	r = tar_reader_new(s);
	while ((got = tar_reader_next(r, &e)) == 1)
		;
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (slack > 0)
		keep_slack(s, r, slack);
	tar_reader_close(r);
	if (lseek(c.fd, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "spool");
	return c.fd;
}

/* --- seekable descriptors ---------------------------------------------- */

int
spool_fd(int fd, const char *label)
{
	struct stat st;
	int tmp;

	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", label);
	if (S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0)
		return fd;
	struct instream *in = instream_fdopen(fd, label);
	tmp = spool_tar(in, 0);
	instream_close(in);
	return tmp;
}

int
spool_open(const char *path)
{
	int is_stdin = path == NULL || strcmp(path, "-") == 0;
	const char *label = is_stdin ? "stdin" : path;
	int fd =
	    is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		err(EXIT_DATA, "%s", label);
	return spool_fd(fd, label);
}

int
spool_plain(int fd, const char *label)
{
	struct stat st;
	struct instream *in;
	char b[1];
	int tmp;

	if (fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", label);
	in = instream_range(fd, 0, (uint64_t)st.st_size, label);
	/*
	 * Reading starts the decompressor.  A stream that only looks
	 * compressed fails in spool_tar, which says why.
	 */
	(void)instream_read(in, b, 0);
	if (strcmp(instream_compression(in), "none") == 0) {
		instream_close(in);
		return fd;
	}
	instream_close(in);
	in = instream_range(fd, 0, (uint64_t)st.st_size, label);
	tmp = spool_tar(in, 0);
	instream_close(in);
	close(fd);
	return tmp;
}
