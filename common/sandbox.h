/*
 * sandbox.h: running a command as root over a root file system made of a
 * read-only lower directory and a writable upper directory joined by
 * overlayfs, the way the seed's mkRootLayer did in its VM, but on the host:
 * a user namespace, new mount, pid, ipc, uts and network namespaces, /dev,
 * /proc, /sys and read-only binds mounted inside, the merged root made the
 * process's root with pivot_root.
 *
 * The command is confined as the VM confined it: it is root only inside.
 * Started as root, the sandbox maps ids 0 to COUNT-1 inside to a range of
 * unprivileged host ids (struct rootdir_ids), so the lower and upper
 * directories hold owners shifted by it; started by another user, or as
 * root of a user namespace that lacks the range, it maps root inside to
 * the caller alone.  Either way the command has no capability over the
 * host, sees only null, zero, full, random, urandom and tty of the host's
 * devices, has /proc/sys, /sys and the binds read-only and mounted on
 * nodev, nosuid file systems, runs with no_new_privs, Docker's default
 * capabilities inside and a seccomp filter in the spirit of Docker's
 * default profile (no mounts, namespaces, modules, keyrings, ptrace, bpf,
 * clock or swap changes).  Only SANDBOX_HOST_ROOT runs it the old way, as
 * the host's root.
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

#include "rootdir.h"

struct sandbox;

struct sandbox_options {
	/* Run the command unconfined, as the host's root (needs root). */
	int host_root;
	/* The host ids for 0 to COUNT-1 inside; NULL for the default. */
	const struct rootdir_ids *ids;
};

/* What to run inside: argv and env are NULL-terminated and whole. */
struct sandbox_command {
	int exec_fd;      /* >= 0: this file opened on the host (fexecve) */
	const char *path; /* else: this program inside the root */
	char **argv;
	char **env;
};

/*
 * Make the work directory and split off the guard (see above).  Started
 * as root, with the range of ids mapped here, the worker stays as it is
 * and only the command enters the user namespace; otherwise the worker
 * enters one first (uid and gid 0 inside are the caller's outside, and no
 * other ids exist), so that the files it makes and reads are root's.
 * Then it checks that overlayfs can be mounted in a user namespace;
 * err(3) saying what is missing otherwise, rather than run unconfined.
 */
struct sandbox *sandbox_new(const struct sandbox_options *o);
/*
 * How the command's ids are stored in the lower and upper directories
 * (COUNT 0: as they are).
 */
const struct rootdir_ids *sandbox_ids(const struct sandbox *sb);
/*
 * The default range, for a man page and messages: root's first range of
 * /etc/subuid and /etc/subgid, else 1879048192 (0x70000000), 65536 ids.
 */
void sandbox_default_ids(struct rootdir_ids *ids);
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
