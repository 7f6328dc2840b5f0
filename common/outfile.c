/* outfile.c: output files that appear whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "outfile.h"
#include "xalloc.h"

static char *final_path;
static char *temp_path; /* set while a temporary file may exist */
static int out_fd = -1;

static void
remove_temp(void)
{
	if (temp_path != NULL)
		unlink(temp_path);
}

static void
on_signal(int sig)
{
	remove_temp();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
}

int
outfile_open(const char *path, enum outfile_kind kind)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		if (kind == OUT_TAR && isatty(STDOUT_FILENO))
			errx(EXIT_USAGE, "refusing to write a tar to a "
			                 "terminal; redirect or use -o FILE");
		out_fd = STDOUT_FILENO;
		return out_fd;
	}
	final_path = xstrdup(path);
	temp_path = xasprintf("%s.tmp.%ld", path, (long)getpid());
	atexit(remove_temp);
	catch_signals();
	out_fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (out_fd < 0) {
		free(temp_path);
		temp_path = NULL;
		err(EXIT_DATA, "%s", path);
	}
	return out_fd;
}

void
outfile_commit(void)
{
	if (temp_path == NULL)
		return;
	if (fsync(out_fd) < 0 && errno != EINVAL)
		err(EXIT_DATA, "%s", final_path);
	if (close(out_fd) < 0)
		err(EXIT_DATA, "%s", final_path);
	if (rename(temp_path, final_path) < 0)
		err(EXIT_DATA, "%s", final_path);
	free(temp_path);
	temp_path = NULL;
}

void
outfile_write_failed(int fd)
{
	if (errno == EPIPE)
		exit(EXIT_DATA);
	if (fd == out_fd && final_path != NULL)
		err(EXIT_DATA, "%s", final_path);
	err(EXIT_DATA, "%s", fd == STDOUT_FILENO ? "standard output" : "write");
}
