/* spool.c: seekable copies of pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "spool.h"

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
	if (asprintf(&path, "%s/di-spool.XXXXXX", dir) < 0)
		err(EXIT_DATA, "malloc");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		err(EXIT_DATA, "temporary file in %s", dir);
	unlink(path);
	free(path);
	return fd;
}

static void
copy_all(int from, int to, const char *label)
{
	char buf[128 * 1024];
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(EXIT_DATA, "%s", label);
		for (char *p = buf; n > 0;) {
			ssize_t w = write(to, p, (size_t)n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				err(EXIT_DATA, "spooling %s", label);
			p += w;
			n -= w;
		}
	}
}

int
spool_open(const char *path)
{
	int is_stdin = path == NULL || strcmp(path, "-") == 0;
	const char *label = is_stdin ? "stdin" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", label);
	if (S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0)
		return is_stdin ? dup(fd) : fd;
	int tmp = spool_tempfile();
	copy_all(fd, tmp, label);
	if (!is_stdin)
		close(fd);
	if (lseek(tmp, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "spool");
	return tmp;
}
