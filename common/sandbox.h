/*
 * sandbox.h: running a command as root over a root file system made of a
 * read-only lower directory and a writable upper directory joined by
 * overlayfs, the way the seed's mkRootLayer did in its VM, but on the host:
 * new mount, pid, ipc, uts and network namespaces (and a user namespace
 * when not root), /dev, /proc, /sys and read-only binds mounted inside, the
 * merged root made the process's root with pivot_root.
 *
 * A sandbox owns a temporary work directory under $TMPDIR holding the lower
 * and upper directories.  sandbox_new splits the process in two: the
 * caller goes on as a worker, while the original process stays behind as a
 * guard that passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the worker,
 * waits for it and every process under it, removes the work directory and
 * then ends the way the worker ended (same exit status, or same signal).
 * Mounts live only in the sandbox's own mount namespace, so they vanish
 * with its last process, however it ends.
 */
#ifndef DI_SANDBOX_H
#define DI_SANDBOX_H

struct sandbox;

/* What to run inside: argv and env are NULL-terminated and whole. */
struct sandbox_command {
	int exec_fd;      /* >= 0: this file opened on the host (fexecve) */
	const char *path; /* else: this program inside the root */
	char **argv;
	char **env;
};

/*
 * Make the work directory and split off the guard (see above).  When not
 * root, the worker then enters a user namespace (uid and gid 0 inside are
 * the caller's outside, and no other ids exist), so that the files it makes
 * and reads are root's, and checks that overlayfs can be mounted there;
 * err(3) saying what is missing otherwise.
 */
struct sandbox *sandbox_new(void);
/* Free SB's memory; the guard removes the work directory at exit. */
void sandbox_free(struct sandbox *sb);

/* The directories to fill before sandbox_run and to read after it. */
const char *sandbox_lower(const struct sandbox *sb);
const char *sandbox_upper(const struct sandbox *sb);

/* Mount host directory SRC read-only at DEST (a path inside the root). */
void sandbox_bind(struct sandbox *sb, const char *src, const char *dest);

/*
 * Run CMD in the sandbox and return its exit status as a shell reports it
 * (the code, or 128 + the signal that ended it).  The command's standard
 * input is /dev/null and its standard output goes to standard error, so
 * that standard output stays free for the caller's data.  A failure to set
 * the sandbox up, or to start the command, is fatal (err(3)), and so is
 * told apart from the command's own failure.
 */
int sandbox_run(struct sandbox *sb, const struct sandbox_command *cmd);

#endif
