/*
 * test_fdio: fdio_write_all writes every byte through short writes and
 * EINTR (an interval timer interrupts a writer blocked on a full pipe
 * whose reader is slow), and says why when the reader has gone (TAP).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fdio.h"

enum { LEN = 8 << 20 };

static volatile sig_atomic_t ticks;

static void
on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

static unsigned char
byte_at(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* The child: read slowly, and exit 0 only if every byte is as written. */
static void
slow_reader(int fd)
{
	unsigned char buf[4096];
	size_t at = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++, at++)
			if (buf[i] != byte_at(at))
				_exit(2);
		if (at % (256 * 1024) < sizeof(buf))
			usleep(2000);
	}
	_exit(n == 0 && at == LEN ? 0 : 3);
}

int
main(void)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	struct itimerval every = {{0, 500}, {0, 500}}, off = {{0, 0}, {0, 0}};
	unsigned char *data = malloc(LEN);
	int p[2], status;
	pid_t pid;

	for (size_t i = 0; i < LEN; i++)
		data[i] = byte_at(i);
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		close(p[1]);
		slow_reader(p[0]);
	}
	close(p[0]);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	CHECK(fdio_write_all(p[1], data, LEN) == 0);
	setitimer(ITIMER_REAL, &off, NULL);
	close(p[1]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	printf("# %d timer signals during the write\n", (int)ticks);

	/* A reader that has gone: -1 and EPIPE, not a signal's death. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) < 0)
		return 1;
	close(p[0]);
	errno = 0;
	CHECK(fdio_write_all(p[1], data, 100) == -1 && errno == EPIPE);
	close(p[1]);

	/* Nothing to write is no write at all. */
	CHECK(fdio_write_all(-1, data, 0) == 0);
	free(data);
	return check_done();
}
