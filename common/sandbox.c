/*
 * sandbox.c: the guard process, the namespaces, overlayfs and the mounts
 * inside.
 *
 * Processes, outermost first:
 *   guard   the original process: forwards signals, reaps, removes the
 *           work directory (it is a child subreaper, so nothing escapes it)
 *   worker  the caller of sandbox_new; fills and reads the directories
 *           (itself in a user namespace of the caller alone when it was
 *           not started as root, or as root of one without the range)
 *   child   a user namespace of the range of ids, whose maps the worker
 *           writes (when started as root); new mount, ipc, uts, net
 *           namespaces owned by it; mounts overlayfs
 *   init    pid 1 of a new pid namespace: /dev, /proc, /sys, binds,
 *           /proc/sys read-only, pivot_root; when it ends, the kernel
 *           kills what is left
 *   command the script, after its capabilities are cut to Docker's
 *           default set, no_new_privs is set and the seccomp filter is
 *           loaded
 * Each of child and init dies with its parent (PR_SET_PDEATHSIG).  Their
 * failures are written to a close-on-exec pipe that the worker reads, so
 * that they are told apart from the command's own exit status.  With
 * SANDBOX_HOST_ROOT, the child enters no user namespace and the command
 * keeps every capability, as before confinement.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "path.h"
#include "sandbox.h"
#include "xalloc.h"

struct bind {
	char *src, *dest;
	int fd; /* a copy of SRC's mounts (when root inside cannot reach it) */
};

enum mode {
	HOST_ROOT,  /* the old way: the command is the host's root */
	SHIFTED,    /* the command's user namespace maps the range of ids */
	OWN_USERNS, /* the worker is in a user namespace of the caller alone */
};

struct sandbox {
	char *dir; /* the work directory; names below are relative to it */
	int dirfd;
	char *lower, *upper;
	struct bind *binds;
	size_t nbinds;
	enum mode mode;
	struct rootdir_ids ids; /* count 0 unless SHIFTED */
};

/* The range when /etc/subuid and /etc/subgid give root none. */
#define DEFAULT_FIRST_ID 1879048192UL /* 0x70000000 */
#define DEFAULT_ID_COUNT 65536UL

/* Directories in the work directory; "points" holds missing mount points. */
#define LOWER "lower"
#define UPPER "upper"
#define OVL_WORK "work"
#define MERGED "mnt"
#define POINTS "points"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/*
 * Removing the work directory
 */

static void remove_at(int dirfd, const char *name, dev_t dev);

/* Remove everything in directory FD, which stays open. */
static void
empty_dir(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int removed;

	if (d == NULL)
		return;
	/* Entries may be skipped while the directory changes: go again. */
	do {
		removed = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			remove_at(dirfd(d), de->d_name, dev);
			removed = 1;
		}
	} while (removed);
	closedir(d);
}

/*
 * Remove NAME in DIRFD and all below it, never following a symbolic link
 * nor crossing into another file system (a mount that outlived its
 * namespace must not be emptied).  Directories that forbid it are opened
 * up first: a user without root may own directories of mode 0555.
 */
static void
remove_at(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode) || st.st_dev != dev) {
		warn("removing %s", name);
		return;
	}
	fchmodat(dirfd, name, 0700, 0);
	fd = openat(dirfd, name,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		empty_dir(fd, dev);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		warn("removing %s", name);
}

static void
remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		remove_at(AT_FDCWD, path, st.st_dev);
}

/*
 * The guard
 */

/* Reap what has ended; 1 once no child is left.  *STATUS gets WORKER's. */
static int
reap(pid_t worker, int *status, int *worker_done)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == worker) {
			*status = st;
			*worker_done = 1;
		}
	}
	return pid < 0 && errno == ECHILD;
}

/* End the way a process that ended with wait status STATUS did. */
static void __attribute__((noreturn)) end_like(int status)
{
	if (WIFSIGNALED(status)) {
		sigset_t all;
		signal(WTERMSIG(status), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_DATA);
}

static void __attribute__((noreturn))
guard(pid_t worker, const char *dir, const sigset_t *waitset)
{
	int status = EXIT_DATA << 8, worker_done = 0, devnull;
	struct rlimit nofile;

	/* The worker's output must end when the worker does. */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	for (;;) {
		int sig = sigwaitinfo(waitset, NULL);
		if (sig == SIGCHLD) {
			if (reap(worker, &status, &worker_done))
				break;
		} else if (sig > 0 && !worker_done) {
			kill(worker, sig);
		}
	}
	/* Removal holds a descriptor per level of a tree of any depth. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	remove_tree(dir);
	end_like(status);
}

/* Fork; the parent becomes the guard of DIR and never returns. */
static void
start_guard(const char *dir)
{
	sigset_t set, old;
	pid_t pid;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		err(EXIT_DATA, "prctl");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		err(EXIT_DATA, "fork");
	if (pid > 0)
		guard(pid, dir, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * Inside: child and init report a failure on the pipe and _exit, so that
 * no exit handler of the worker (its output file's cleanup) runs twice.
 */

static int report_fd = -1;

static void __attribute__((noreturn)) vfail(int e, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (e != 0)
		dprintf(report_fd, "%s: %s", msg, strerror(e));
	else
		dprintf(report_fd, "%s", msg);
	_exit(EXIT_DATA);
}

/* Report what failed, with errno's reason. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vfail(e, fmt, ap);
}

/* Report what failed, with no reason from errno. */
static void __attribute__((noreturn, format(printf, 1, 2)))
failx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(0, fmt, ap);
}

/*
 * Namespaces
 */

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		err(EXIT_DATA, "user namespace: %s", path);
	close(fd);
}

/* Become root of a new user namespace holding only the caller's ids. */
static void
enter_userns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER) < 0)
		err(EXIT_DATA, "the command cannot be confined here: no user "
		               "namespace (disabled, or none left?)");
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)gid);
	write_file("/proc/self/gid_map", map);
}

/*
 * Is this process root of a user namespace other than the host's (started
 * by unshare -r, or in a rootless container)?  Only the host's maps every
 * id to itself.
 */
static int
in_child_userns(void)
{
	char buf[128] = "";
	unsigned long inside, outside, count;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	if (sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) != 3)
		return 0;
	return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

/* Are ids FIRST to FIRST+COUNT-1 all mapped in MAP (this namespace's)? */
static int
range_mapped(const char *map, unsigned long first, unsigned long count)
{
	unsigned long inside, outside, n;
	FILE *f = fopen(map, "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fscanf(f, "%lu %lu %lu", &inside, &outside, &n) == 3)
		found = first >= inside && first - inside + count <= n;
	fclose(f);
	return found;
}

/* Root's first range in FILE (/etc/subuid or /etc/subgid); 1 if found. */
static int
subid_range(const char *file, unsigned long *first, unsigned long *count)
{
	FILE *f = fopen(file, "re");
	char line[256], name[64];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found =
		    sscanf(line, "%63[^:]:%lu:%lu", name, first, count) == 3 &&
		    (strcmp(name, "root") == 0 || strcmp(name, "0") == 0) &&
		    *count > 0;
	fclose(f);
	return found;
}

void
sandbox_default_ids(struct rootdir_ids *ids)
{
	unsigned long ucount, gcount;

	if (subid_range("/etc/subuid", &ids->uid, &ucount) &&
	    subid_range("/etc/subgid", &ids->gid, &gcount)) {
		ids->count = ucount < gcount ? ucount : gcount;
		return;
	}
	ids->uid = ids->gid = DEFAULT_FIRST_ID;
	ids->count = DEFAULT_ID_COUNT;
}

/* How to run the command, from the options and who we are. */
static enum mode
choose_mode(const struct sandbox_options *o, struct rootdir_ids *ids)
{
	*ids = (struct rootdir_ids){0};
	if (o->host_root) {
		if (geteuid() != 0 || in_child_userns())
			errx(EXIT_USAGE, "--host-root: not the host's root");
		return HOST_ROOT;
	}
	if (geteuid() != 0 && o->ids != NULL)
		errx(EXIT_USAGE, "--subids: only root may map a range of ids");
	if (geteuid() != 0)
		return OWN_USERNS;
	if (o->ids != NULL)
		*ids = *o->ids;
	else
		sandbox_default_ids(ids);
	if (ids->uid == 0 || ids->gid == 0 || ids->count == 0 ||
	    ids->count > 4294967295UL - ids->uid ||
	    ids->count > 4294967295UL - ids->gid)
		errx(EXIT_USAGE,
		     "ids %lu:%lu, %lu of them: not a range of "
		     "unprivileged ids",
		     ids->uid, ids->gid, ids->count);
	if (range_mapped("/proc/self/uid_map", ids->uid, ids->count) &&
	    range_mapped("/proc/self/gid_map", ids->gid, ids->count))
		return SHIFTED;
	if (o->ids != NULL)
		errx(EXIT_DATA,
		     "ids %lu:%lu, %lu of them: not all mapped in "
		     "this user namespace",
		     ids->uid, ids->gid, ids->count);
	/* Root of a user namespace without the range: root alone inside. */
	*ids = (struct rootdir_ids){0};
	return OWN_USERNS;
}

/*
 * A child that enters a user namespace waits there for the worker, which
 * alone may write a map of other ids than its own: two pipes.
 */
struct handshake {
	int ready[2], mapped[2];
};

static void
handshake_open(struct handshake *h)
{
	if (pipe2(h->ready, O_CLOEXEC) < 0 || pipe2(h->mapped, O_CLOEXEC) < 0)
		err(EXIT_DATA, "pipe");
}

/*
 * In the child: a new user namespace, mapped by the worker; root of it.
 * A change of credentials clears the parent-death signal: set it again,
 * and make sure the worker did not end before it was.
 */
static void
enter_mapped_userns(struct handshake *h, pid_t worker)
{
	char c;

	close(h->ready[0]);
	close(h->mapped[1]);
	if (unshare(CLONE_NEWUSER) < 0)
		fail("user namespace");
	if (write(h->ready[1], "u", 1) != 1 || read(h->mapped[0], &c, 1) != 1)
		failx("user namespace: no map");
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresuid(0, 0, 0) < 0)
		fail("root of the user namespace");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != worker)
		_exit(EXIT_DATA);
	close(h->ready[1]);
	close(h->mapped[0]);
}

/* In the worker: write child PID's maps once it is in its namespace. */
static void
map_child(const struct sandbox *sb, pid_t pid, struct handshake *h)
{
	char path[64], map[128];
	char c;

	/* The child's ends, so that its end is seen as end of file. */
	close(h->ready[1]);
	h->ready[1] = -1;
	if (read(h->ready[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%ld/uid_map", (long)pid);
		snprintf(map, sizeof(map), "0 %lu %lu\n", sb->ids.uid,
		         sb->ids.count);
		write_file(path, map);
		snprintf(path, sizeof(path), "/proc/%ld/gid_map", (long)pid);
		snprintf(map, sizeof(map), "0 %lu %lu\n", sb->ids.gid,
		         sb->ids.count);
		write_file(path, map);
		if (write(h->mapped[1], "m", 1) != 1)
			err(EXIT_DATA, "user namespace");
	}
	/* Else the child failed first, and says why on its report pipe. */
}

static void
handshake_close(struct handshake *h)
{
	for (int i = 0; i < 2; i++) {
		if (h->ready[i] >= 0)
			close(h->ready[i]);
		close(h->mapped[i]);
	}
}

/*
 * Mount overlayfs on MNT.  Names are relative to the current directory so
 * that no path needs escaping in the options.  Redirects and metacopy stay
 * off: every change must be whole in the upper directory.  In a user
 * namespace its marks are user.* attributes, and nothing on it is a device
 * or a set-id program to the host.
 */
static int
mount_overlay(const char *lowers, const char *upper, const char *work,
              const char *mnt, enum mode mode)
{
	char opts[512];

	snprintf(opts, sizeof(opts),
	         "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=nofollow,"
	         "metacopy=off,index=off,xino=off%s",
	         lowers, upper, work, mode != HOST_ROOT ? ",userxattr" : "");
	return mount("overlay", mnt, "overlay",
	             mode != HOST_ROOT ? MS_NODEV | MS_NOSUID : 0, opts);
}

/* The work directory and what is below it belong to root inside. */
static void
own_dir(const struct sandbox *sb, const char *path)
{
	if (sb->mode == SHIFTED &&
	    chown(path, (uid_t)sb->ids.uid, (gid_t)sb->ids.gid) < 0)
		err(EXIT_DATA, "%s", path);
}

/* Wait for PID; its wait status. */
static int
wait_for(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			err(EXIT_DATA, "wait");
	return st;
}

/* Can overlayfs be mounted in the command's user namespace?  A trial. */
static void
probe_overlay(struct sandbox *sb)
{
	static const char *const dirs[] = {"probe", "probe/l", "probe/u",
	                                   "probe/w", "probe/m"};
	struct handshake h;
	int status, fd[2];
	char why[256] = "";
	pid_t pid, worker = getpid();

	if (fchdir(sb->dirfd) < 0)
		err(EXIT_DATA, "%s", sb->dir);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mkdir(dirs[i], 0700) < 0)
			err(EXIT_DATA, "%s/%s", sb->dir, dirs[i]);
		own_dir(sb, dirs[i]);
	}
	handshake_open(&h);
	if (pipe2(fd, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		err(EXIT_DATA, "fork");
	if (pid == 0) {
		report_fd = fd[1];
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sb->mode == SHIFTED)
			enter_mapped_userns(&h, worker);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount_overlay("probe/l", "probe/u", "probe/w", "probe/m",
		                  sb->mode) < 0)
			fail("overlayfs");
		_exit(0);
	}
	close(fd[1]);
	if (sb->mode == SHIFTED)
		map_child(sb, pid, &h);
	handshake_close(&h);
	if (read(fd[0], why, sizeof(why) - 1) < 0)
		why[0] = '\0';
	close(fd[0]);
	status = wait_for(pid);
	remove_tree("probe");
	if (status != 0)
		errx(EXIT_DATA,
		     "the command cannot be confined here: %s (a user "
		     "namespace, and overlayfs in it on Linux 5.11 or later, "
		     "are needed; --host-root runs it unconfined as the "
		     "host's root)",
		     why);
}

struct sandbox *
sandbox_new(const struct sandbox_options *o)
{
	static const char *const dirs[] = {LOWER, UPPER, OVL_WORK, MERGED,
	                                   POINTS};
	struct sandbox *sb = xcalloc(1, sizeof(*sb));
	const char *tmp = getenv("TMPDIR");
	char *cwd = getcwd(NULL, 0);

	if (cwd == NULL)
		err(EXIT_DATA, "sandbox");
	sb->mode = choose_mode(o, &sb->ids);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	sb->dir = xasprintf("%s/di-overlay.XXXXXX", tmp);
	if (mkdtemp(sb->dir) == NULL)
		err(EXIT_DATA, "work directory in %s", tmp);
	start_guard(sb->dir);
	if (sb->mode == OWN_USERNS)
		enter_userns();
	own_dir(sb, sb->dir);
	sb->dirfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sb->dirfd < 0)
		err(EXIT_DATA, "%s", sb->dir);
	if (sb->mode != HOST_ROOT)
		probe_overlay(sb);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *p;
		p = xasprintf("%s/%s", sb->dir, dirs[i]);
		if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0)
			err(EXIT_DATA, "%s", p);
		own_dir(sb, p);
		free(p);
	}
	sb->lower = xasprintf("%s/" LOWER, sb->dir);
	sb->upper = xasprintf("%s/" UPPER, sb->dir);
	if (chdir(cwd) < 0)
		err(EXIT_DATA, "%s", cwd);
	free(cwd);
	return sb;
}

const struct rootdir_ids *
sandbox_ids(const struct sandbox *sb)
{
	return &sb->ids;
}

void
sandbox_free(struct sandbox *sb)
{
	for (size_t i = 0; i < sb->nbinds; i++) {
		free(sb->binds[i].src);
		free(sb->binds[i].dest);
		if (sb->binds[i].fd >= 0)
			close(sb->binds[i].fd);
	}
	close(sb->dirfd);
	free(sb->binds);
	free(sb->lower);
	free(sb->upper);
	free(sb->dir);
	free(sb);
}

const char *
sandbox_lower(const struct sandbox *sb)
{
	return sb->lower;
}

const char *
sandbox_upper(const struct sandbox *sb)
{
	return sb->upper;
}

void
sandbox_bind(struct sandbox *sb, const char *src, const char *dest)
{
	char *d = path_normalize(dest);
	struct bind *b;
	struct stat st;

	if (d == NULL || *d == '\0')
		errx(EXIT_USAGE, "bind %s: bad destination '%s'", src, dest);
	b = xreallocarray(sb->binds, sb->nbinds + 1, sizeof(*b));
	sb->binds = b;
	b[sb->nbinds].src = realpath(src, NULL);
	if (b[sb->nbinds].src == NULL || stat(b[sb->nbinds].src, &st) < 0)
		err(EXIT_DATA, "bind %s", src);
	if (!S_ISDIR(st.st_mode))
		errx(EXIT_DATA, "bind %s: not a directory", src);
	/*
	 * Root inside may not reach SRC by name: a copy of its mounts, made
	 * now, is attached inside.  Others are the same user inside.
	 */
	b[sb->nbinds].fd = -1;
	if (sb->mode == SHIFTED &&
	    (b[sb->nbinds].fd = open_tree(AT_FDCWD, b[sb->nbinds].src,
	                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
	                                      AT_RECURSIVE)) < 0)
		err(EXIT_DATA, "bind %s", src);
	b[sb->nbinds++].dest = d;
}

/*
 * Paths inside a root: resolved as if ROOT were "/", so that no symbolic
 * link in the image leads outside it.
 */
static int
open_in_root(int root, const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/*
 * Mount points: each of dev, proc, sys and the bind destinations is a
 * directory in the image, or is made in POINTS, a lower directory above
 * the image's, so that it never shows in the upper directory.  Its parents
 * there take the mode and owner the image gives them.
 */
static void
make_point(const struct sandbox *sb, int lower, int points, const char *dest)
{
	char *p = xstrdup(dest);
	int fd;

	fd = open_in_root(lower, p);
	for (char *slash = p; fd < 0 && slash != NULL;) {
		/* Root's inside, as the image's owners are shifted. */
		struct stat st = {.st_mode = 0755,
		                  .st_uid = (uid_t)sb->ids.uid,
		                  .st_gid = (gid_t)sb->ids.gid};
		slash = strchr(slash + 1, '/');
		if (slash != NULL)
			*slash = '\0';
		int in_image = open_in_root(lower, p);
		if (in_image >= 0) {
			fstat(in_image, &st);
			close(in_image);
		}
		if (mkdirat(points, p, 0755) == 0) {
			fchmodat(points, p, st.st_mode & 07777, 0);
			fchownat(points, p, st.st_uid, st.st_gid, 0);
		} else if (errno != EEXIST) {
			err(EXIT_DATA, "mount point %s", dest);
		}
		if (slash != NULL)
			*slash = '/';
	}
	if (fd >= 0)
		close(fd);
	free(p);
}

static void
make_points(struct sandbox *sb)
{
	static const char *const fixed[] = {"dev", "proc", "sys"};
	int dir = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int lower = openat(dir, LOWER, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int points = openat(dir, POINTS, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0 || lower < 0 || points < 0)
		err(EXIT_DATA, "%s", sb->dir);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		make_point(sb, lower, points, fixed[i]);
	for (size_t i = 0; i < sb->nbinds; i++)
		make_point(sb, lower, points, sb->binds[i].dest);
	close(points);
	close(lower);
	close(dir);
}

static const char *
fd_path(int fd, const char *name)
{
	static char buf[2][64 + PATH_MAX];
	static int which;
	char *p = buf[which ^= 1];

	snprintf(p, sizeof(buf[0]), "/proc/self/fd/%d%s%s", fd, name ? "/" : "",
	         name ? name : "");
	return p;
}

static int
must_open_in_root(int root, const char *path)
{
	int fd = open_in_root(root, path);

	if (fd < 0)
		fail("/%s", path);
	return fd;
}

/* A private /dev: a tmpfs with the host's harmless devices bound in. */
static void
mount_dev(int root)
{
	static const char *const nodes[] = {"null",   "zero",    "full",
	                                    "random", "urandom", "tty"};
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
	                                       {"stdin", "/proc/self/fd/0"},
	                                       {"stdout", "/proc/self/fd/1"},
	                                       {"stderr", "/proc/self/fd/2"},
	                                       {"ptmx", "pts/ptmx"}};
	int dev = must_open_in_root(root, "dev");

	/* nodev: only the binds below, not nodes made on it, are devices. */
	if (mount("tmpfs", fd_path(dev, NULL), "tmpfs",
	          MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755,size=65536k") < 0)
		fail("mount /dev");
	close(dev);
	dev = must_open_in_root(root, "dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char host[32];
		int fd =
		    openat(dev, nodes[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			fail("/dev/%s", nodes[i]);
		close(fd);
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		if (mount(host, fd_path(dev, nodes[i]), NULL, MS_BIND, NULL) <
		    0)
			fail("mount /dev/%s", nodes[i]);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			fail("/dev/%s", links[i][0]);
	if (mkdirat(dev, "shm", 01777) < 0 ||
	    mount("shm", fd_path(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV,
	          "mode=1777,size=65536k") < 0)
		fail("/dev/shm");
	/* Terminals are a comfort, not a need: go on without them. */
	if (mkdirat(dev, "pts", 0755) == 0)
		mount("devpts", fd_path(dev, "pts"), "devpts",
		      MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=620");
	close(dev);
}

/*
 * Make the mount at PATH in ROOT, and all mounts under it, read-only, and
 * let nothing there be a device or a set-id program.
 */
static void
make_read_only(int root, const char *path)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY |
	                                      MOUNT_ATTR_NOSUID |
	                                      MOUNT_ATTR_NODEV};
	int fd = must_open_in_root(root, path);

	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
	                  sizeof(attr)) < 0)
		fail("read-only /%s", path);
	close(fd);
}

static void
mount_proc_sys(int root)
{
	int fd = must_open_in_root(root, "proc");

	if (mount("proc", fd_path(fd, NULL), "proc",
	          MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail("mount /proc");
	close(fd);
	fd = must_open_in_root(root, "sys");
	/* A user namespace may not mount sysfs: the host's, read-only. */
	if (mount("sysfs", fd_path(fd, NULL), "sysfs",
	          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		if (mount("/sys", fd_path(fd, NULL), NULL, MS_BIND | MS_REC,
		          NULL) < 0)
			fail("mount /sys");
		make_read_only(root, "sys");
	}
	close(fd);
}

/*
 * Bind the kernel's host-wide knobs under /proc onto themselves,
 * read-only, as Docker does: writes there would reach the host.
 */
static void
protect_proc(int root)
{
	static const char *const paths[] = {"proc/sys", "proc/sysrq-trigger",
	                                    "proc/irq", "proc/bus", "proc/fs"};
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct mount_attr attr = {.attr_set =
	                              MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
	                              MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int fd = (int)syscall(SYS_openat2, root, paths[i], &how,
		                      sizeof(how));
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || mount(fd_path(fd, NULL), fd_path(fd, NULL), NULL,
		                    MS_BIND | MS_REC, NULL) < 0)
			fail("/%s", paths[i]);
		close(fd);
		fd = (int)syscall(SYS_openat2, root, paths[i], &how,
		                  sizeof(how));
		if (fd < 0 ||
		    mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
		                  sizeof(attr)) < 0)
			fail("read-only /%s", paths[i]);
		close(fd);
	}
}

static void
mount_binds(const struct sandbox *sb, int root)
{
	for (size_t i = 0; i < sb->nbinds; i++) {
		const struct bind *b = &sb->binds[i];
		int fd = must_open_in_root(root, b->dest);
		if ((b->fd >= 0 ? move_mount(b->fd, "", fd, "",
		                             MOVE_MOUNT_F_EMPTY_PATH |
		                                 MOVE_MOUNT_T_EMPTY_PATH)
		                : mount(b->src, fd_path(fd, NULL), NULL,
		                        MS_BIND | MS_REC, NULL)) < 0)
			fail("bind %s on /%s", b->src, b->dest);
		close(fd);
		make_read_only(root, b->dest);
	}
}

/* Make the merged directory the root: pivot_root, or chroot on a rootfs. */
static void
enter_root(void)
{
	if (chdir(MERGED) < 0)
		fail("chdir");
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			fail("unmount the old root");
	} else if (chroot(".") < 0) {
		fail("chroot");
	}
	if (chdir("/") < 0)
		fail("chdir /");
}

static void
loopback_up(void)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail("loopback");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail("loopback");
	close(s);
}

/*
 * The command's capabilities, within its user namespace: Docker's
 * default set, and the bounding set cut to it so that no program it
 * runs gets more.
 */
static void
drop_capabilities(void)
{
	static const int kept[] = {
	    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
	    CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
	    CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	    CAP_KILL,    CAP_AUDIT_WRITE};

	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++) {
		size_t i = 0;
		while (i < sizeof(kept) / sizeof(kept[0]) && kept[i] != cap)
			i++;
		if (i == sizeof(kept) / sizeof(kept[0]) &&
		    prctl(PR_CAPBSET_DROP, cap) < 0)
			fail("dropping capability %d", cap);
	}
}

/*
 * System calls the command may not make, after Docker's default profile:
 * what reaches past a container (mounts, namespaces, modules, keyrings,
 * clocks, swap, reboot, kexec, bpf, perf, ptrace, file handles) fails
 * with EPERM.  The kernel refuses most of them to a user namespace
 * anyway; the filter closes what it would allow there (mounts that undo
 * the read-only ones, new namespaces) and what it shares with the host.
 */
static void
load_seccomp(void)
{
	static const char *const denied[] = {"acct",
	                                     "add_key",
	                                     "bpf",
	                                     "clock_adjtime",
	                                     "clock_settime",
	                                     "create_module",
	                                     "delete_module",
	                                     "finit_module",
	                                     "fsconfig",
	                                     "fsmount",
	                                     "fsopen",
	                                     "fspick",
	                                     "get_kernel_syms",
	                                     "get_mempolicy",
	                                     "init_module",
	                                     "io_uring_enter",
	                                     "io_uring_register",
	                                     "io_uring_setup",
	                                     "ioperm",
	                                     "iopl",
	                                     "kcmp",
	                                     "kexec_file_load",
	                                     "kexec_load",
	                                     "keyctl",
	                                     "lookup_dcookie",
	                                     "mbind",
	                                     "migrate_pages",
	                                     "mount",
	                                     "mount_setattr",
	                                     "move_mount",
	                                     "move_pages",
	                                     "name_to_handle_at",
	                                     "nfsservctl",
	                                     "open_by_handle_at",
	                                     "open_tree",
	                                     "perf_event_open",
	                                     "pivot_root",
	                                     "process_vm_readv",
	                                     "process_vm_writev",
	                                     "ptrace",
	                                     "query_module",
	                                     "quotactl",
	                                     "quotactl_fd",
	                                     "reboot",
	                                     "request_key",
	                                     "set_mempolicy",
	                                     "setns",
	                                     "settimeofday",
	                                     "stime",
	                                     "swapoff",
	                                     "swapon",
	                                     "sysfs",
	                                     "syslog",
	                                     "_sysctl",
	                                     "umount",
	                                     "umount2",
	                                     "unshare",
	                                     "uselib",
	                                     "userfaultfd",
	                                     "ustat",
	                                     "vm86",
	                                     "vm86old"};
	static const unsigned long ns_flags[] = {
	    CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
	    CLONE_NEWUTS, CLONE_NEWIPC,  CLONE_NEWCGROUP};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = ctx == NULL ? -ENOMEM : 0;

#if defined(__x86_64__)
	/* The same rules for 32-bit programs, which an image may hold. */
	if (r == 0 && (r = seccomp_arch_add(ctx, SCMP_ARCH_X86)) == -EEXIST)
		r = 0;
	if (r == 0 && (r = seccomp_arch_add(ctx, SCMP_ARCH_X32)) == -EEXIST)
		r = 0;
#endif
	for (size_t i = 0; r == 0 && i < sizeof(denied) / sizeof(denied[0]);
	     i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		/* A call that this architecture lacks needs no rule. */
		if (r != 0 && nr < 0)
			r = 0;
	}
	for (size_t i = 0; r == 0 && i < sizeof(ns_flags) / sizeof(ns_flags[0]);
	     i++)
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	/* clone3's flags are out of a filter's reach: C libraries then
	 * fall back to clone. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		                     SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0) {
		errno = -r;
		fail("seccomp filter");
	}
}

/* What the command may do: see sandbox.h. */
static void
confine(void)
{
	drop_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("no_new_privs");
	load_seccomp();
}

static void __attribute__((noreturn))
exec_command(const struct sandbox *sb, const struct sandbox_command *cmd,
             int null)
{
	if (dup2(null, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		fail("standard input and output");
	umask(022);
	if (sb->mode != HOST_ROOT)
		confine();
	if (cmd->exec_fd >= 0) {
		/* A #! script is read by its interpreter through /dev/fd. */
		fcntl(cmd->exec_fd, F_SETFD, 0);
		fexecve(cmd->exec_fd, cmd->argv, cmd->env);
		fail("%s", cmd->argv[0]);
	}
	execve(cmd->path, cmd->argv, cmd->env);
	if (errno == ENOENT)
		failx("%s: not in the image", cmd->path);
	fail("%s", cmd->path);
}

/* Pass on how CHILD ended, as a shell would tell it. */
static int
wait_status(pid_t child)
{
	int st;

	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			fail("wait");
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* Pid 1: mounts, then the command; reap all, return the command's status. */
static void __attribute__((noreturn))
init(const struct sandbox *sb, const struct sandbox_command *cmd)
{
	int root, null, st, status = 0;
	pid_t pid, command;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	root = open(MERGED, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (null < 0 || root < 0)
		fail("open");
	mount_dev(root);
	mount_proc_sys(root);
	if (sb->mode != HOST_ROOT)
		protect_proc(root);
	mount_binds(sb, root);
	close(root);
	enter_root();
	if (sethostname("di", 2) < 0)
		fail("hostname");
	loopback_up();
	command = fork();
	if (command < 0)
		fail("fork");
	if (command == 0)
		exec_command(sb, cmd, null);
	/* As pid 1, adopt every orphan; stop when the command is done. */
	while ((pid = wait(&st)) != command)
		if (pid < 0 && errno != EINTR)
			fail("wait");
	status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	_exit(status);
}

/* The child: namespaces, overlayfs, then init below it. */
static void __attribute__((noreturn))
child(const struct sandbox *sb, const struct sandbox_command *cmd, pid_t worker,
      struct handshake *h)
{
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != worker)
		_exit(EXIT_DATA);
	/*
	 * By descriptor, as the worker: root inside may not be able to reach
	 * it by name.  Before the new mount namespace, which then takes the
	 * working directory along to its own copy of the mount.
	 */
	if (fchdir(sb->dirfd) < 0)
		fail("%s", sb->dir);
	if (sb->mode == SHIFTED)
		enter_mapped_userns(h, worker);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
	            CLONE_NEWNET) < 0)
		fail("namespaces");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("private mounts");
	if (mount_overlay(POINTS ":" LOWER, UPPER, OVL_WORK, MERGED, sb->mode) <
	    0)
		fail("mount overlayfs on %s/" MERGED, sb->dir);
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		init(sb, cmd);
	_exit(wait_status(pid));
}

int
sandbox_run(struct sandbox *sb, const struct sandbox_command *cmd)
{
	struct handshake h;
	char why[1024];
	int fd[2], st;
	ssize_t n;
	pid_t pid, self = getpid();

	make_points(sb);
	handshake_open(&h);
	if (pipe2(fd, O_CLOEXEC) < 0)
		err(EXIT_DATA, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		err(EXIT_DATA, "fork");
	if (pid == 0) {
		close(fd[0]);
		report_fd = fd[1];
		child(sb, cmd, self, &h);
	}
	close(fd[1]);
	if (sb->mode == SHIFTED)
		map_child(sb, pid, &h);
	handshake_close(&h);
	st = wait_for(pid);
	n = read(fd[0], why, sizeof(why) - 1);
	close(fd[0]);
	if (n > 0) {
		why[n] = '\0';
		errx(EXIT_DATA, "sandbox: %s", why);
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
