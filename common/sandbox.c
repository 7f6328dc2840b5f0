/*
 * sandbox.c: the guard process, the namespaces, overlayfs and the mounts
 * inside.
 *
 * Processes, outermost first:
 *   guard   the original process: forwards signals, reaps, removes the
 *           work directory (it is a child subreaper, so nothing escapes it)
 *   worker  the caller of sandbox_new; fills and reads the directories
 *   child   new mount, ipc, uts, net namespaces; mounts overlayfs
 *   init    pid 1 of a new pid namespace: /dev, /proc, /sys, binds,
 *           pivot_root; when it ends, the kernel kills what is left
 *   command the script
 * Each of child and init dies with its parent (PR_SET_PDEATHSIG).  Their
 * failures are written to a close-on-exec pipe that the worker reads, so
 * that they are told apart from the command's own exit status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "path.h"
#include "sandbox.h"

struct bind {
	char *src, *dest;
};

struct sandbox {
	char *dir; /* the work directory; names below are relative to it */
	char *lower, *upper;
	struct bind *binds;
	size_t nbinds;
	int userns;
};

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
		err(EXIT_DATA, "not root, and no user namespace either "
		               "(unprivileged user namespaces disabled?)");
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)gid);
	write_file("/proc/self/gid_map", map);
}

/*
 * Is this process root of a user namespace other than the host's (started
 * by unshare -r, or in a rootless container)?  Only the host's maps every
 * id to itself.  There overlayfs must keep its marks in user.* attributes.
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

/*
 * Mount overlayfs on MNT.  Names are relative to the current directory so
 * that no path needs escaping in the options.  Redirects and metacopy stay
 * off: every change must be whole in the upper directory.
 */
static int
mount_overlay(const char *lowers, const char *upper, const char *work,
              const char *mnt, int userns)
{
	char opts[512];

	snprintf(opts, sizeof(opts),
	         "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=nofollow,"
	         "metacopy=off,index=off,xino=off%s",
	         lowers, upper, work, userns ? ",userxattr" : "");
	return mount("overlay", mnt, "overlay", 0, opts);
}

/* Can overlayfs be mounted here?  Tried in a child, in a scratch dir. */
static void
probe_overlay(struct sandbox *sb)
{
	static const char *const dirs[] = {"probe", "probe/l", "probe/u",
	                                   "probe/w", "probe/m"};
	int status, fd[2];
	char why[256] = "";
	pid_t pid;

	if (chdir(sb->dir) < 0)
		err(EXIT_DATA, "%s", sb->dir);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) < 0)
			err(EXIT_DATA, "%s/%s", sb->dir, dirs[i]);
	if (pipe2(fd, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		err(EXIT_DATA, "fork");
	if (pid == 0) {
		int ok =
		    unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount_overlay("probe/l", "probe/u", "probe/w", "probe/m",
		                  1) == 0;
		if (!ok)
			dprintf(fd[1], "%s", strerror(errno));
		_exit(!ok);
	}
	close(fd[1]);
	if (read(fd[0], why, sizeof(why) - 1) < 0)
		why[0] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	remove_tree("probe");
	if (status != 0)
		errx(EXIT_DATA,
		     "not root, and overlayfs cannot be mounted in "
		     "a user namespace here (%s); run as root, or on "
		     "Linux 5.11 or later",
		     why);
}

struct sandbox *
sandbox_new(void)
{
	static const char *const dirs[] = {LOWER, UPPER, OVL_WORK, MERGED,
	                                   POINTS};
	struct sandbox *sb = calloc(1, sizeof(*sb));
	const char *tmp = getenv("TMPDIR");
	char *cwd = getcwd(NULL, 0);

	if (sb == NULL || cwd == NULL)
		err(EXIT_DATA, "sandbox");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (asprintf(&sb->dir, "%s/di-overlay.XXXXXX", tmp) < 0)
		err(EXIT_DATA, "malloc");
	if (mkdtemp(sb->dir) == NULL)
		err(EXIT_DATA, "work directory in %s", tmp);
	start_guard(sb->dir);
	if (geteuid() != 0) {
		enter_userns();
		sb->userns = 1;
	} else {
		sb->userns = in_child_userns();
	}
	if (sb->userns)
		probe_overlay(sb);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *p;
		if (asprintf(&p, "%s/%s", sb->dir, dirs[i]) < 0)
			err(EXIT_DATA, "malloc");
		if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0)
			err(EXIT_DATA, "%s", p);
		free(p);
	}
	if (asprintf(&sb->lower, "%s/" LOWER, sb->dir) < 0 ||
	    asprintf(&sb->upper, "%s/" UPPER, sb->dir) < 0)
		err(EXIT_DATA, "malloc");
	if (chdir(cwd) < 0)
		err(EXIT_DATA, "%s", cwd);
	free(cwd);
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	for (size_t i = 0; i < sb->nbinds; i++) {
		free(sb->binds[i].src);
		free(sb->binds[i].dest);
	}
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
	b = reallocarray(sb->binds, sb->nbinds + 1, sizeof(*b));
	if (b == NULL)
		err(EXIT_DATA, "malloc");
	sb->binds = b;
	b[sb->nbinds].src = realpath(src, NULL);
	if (b[sb->nbinds].src == NULL || stat(b[sb->nbinds].src, &st) < 0)
		err(EXIT_DATA, "bind %s", src);
	if (!S_ISDIR(st.st_mode))
		errx(EXIT_DATA, "bind %s: not a directory", src);
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
make_point(int lower, int points, const char *dest)
{
	char *p = strdup(dest);
	int fd;

	if (p == NULL)
		err(EXIT_DATA, "malloc");
	fd = open_in_root(lower, p);
	for (char *slash = p; fd < 0 && slash != NULL;) {
		struct stat st = {.st_mode = 0755};
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
		make_point(lower, points, fixed[i]);
	for (size_t i = 0; i < sb->nbinds; i++)
		make_point(lower, points, sb->binds[i].dest);
	close(points);
	close(lower);
	close(dir);
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

	if (mount("tmpfs", fd_path(dev, NULL), "tmpfs", MS_NOSUID | MS_NOEXEC,
	          "mode=755,size=65536k") < 0)
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

/* Make the mount at PATH in ROOT, and all mounts under it, read-only. */
static void
make_read_only(int root, const char *path)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
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

static void
mount_binds(const struct sandbox *sb, int root)
{
	for (size_t i = 0; i < sb->nbinds; i++) {
		const struct bind *b = &sb->binds[i];
		int fd = must_open_in_root(root, b->dest);
		if (mount(b->src, fd_path(fd, NULL), NULL, MS_BIND | MS_REC,
		          NULL) < 0)
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

static void __attribute__((noreturn))
exec_command(const struct sandbox_command *cmd, int null)
{
	if (dup2(null, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		fail("standard input and output");
	umask(022);
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
		exec_command(cmd, null);
	/* As pid 1, adopt every orphan; stop when the command is done. */
	while ((pid = wait(&st)) != command)
		if (pid < 0 && errno != EINTR)
			fail("wait");
	status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	_exit(status);
}

/* The child: namespaces, overlayfs, then init below it. */
static void __attribute__((noreturn))
child(const struct sandbox *sb, const struct sandbox_command *cmd, pid_t worker)
{
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != worker)
		_exit(EXIT_DATA);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
	            CLONE_NEWNET) < 0)
		fail("namespaces");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("private mounts");
	if (chdir(sb->dir) < 0)
		fail("%s", sb->dir);
	if (mount_overlay(POINTS ":" LOWER, UPPER, OVL_WORK, MERGED,
	                  sb->userns) < 0)
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
	char why[1024];
	int fd[2], st;
	ssize_t n;
	pid_t pid, self = getpid();

	make_points(sb);
	if (pipe2(fd, O_CLOEXEC) < 0)
		err(EXIT_DATA, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		err(EXIT_DATA, "fork");
	if (pid == 0) {
		close(fd[0]);
		report_fd = fd[1];
		child(sb, cmd, self);
	}
	close(fd[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			err(EXIT_DATA, "wait");
	n = read(fd[0], why, sizeof(why) - 1);
	close(fd[0]);
	if (n > 0) {
		why[n] = '\0';
		errx(EXIT_DATA, "sandbox: %s", why);
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
