/*
 * rootdir.c: writing entries under a root directory with openat2.
 *
 * Every entry is made relative to a descriptor of its parent directory,
 * which is found with RESOLVE_IN_ROOT; the entry's own name is then created
 * with the *at calls and never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "errors.h"
#include "fdio.h"
#include "path.h"
#include "rootdir.h"
#include "xalloc.h"

#define XATTR_KEY "SCHILY.xattr."

struct rootdir {
	int root;
	char *label;
	struct rootdir_ids ids;
	/* What could not be kept, counted for the warning at close. */
	unsigned long lost_owners, lost_devices, lost_xattrs, lost_range;
};

static int open_dir(const struct rootdir *rd, const char *path);

struct rootdir *
rootdir_open(const char *dir, const char *label)
{
	struct rootdir *rd = xcalloc(1, sizeof(*rd));
	int probe;

	rd->label = xstrdup(label);
	rd->root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rd->root < 0)
		err(EXIT_DATA, "%s", dir);
	probe = open_dir(rd, ".");
	if (probe < 0)
		err(EXIT_DATA, "%s: openat2 (Linux 5.6 or later)", dir);
	close(probe);
	return rd;
}

void
rootdir_shift_ids(struct rootdir *rd, const struct rootdir_ids *ids)
{
	rd->ids = *ids;
}

void
rootdir_close(struct rootdir *rd)
{
	if (rd->lost_owners)
		warnx("%s: %lu owners other than root were not kept (no "
		      "root)",
		      rd->label, rd->lost_owners);
	if (rd->lost_range)
		warnx("%s: %lu owners beyond the %lu ids the command has were "
		      "made root's",
		      rd->label, rd->lost_range, rd->ids.count);
	if (rd->lost_devices)
		warnx("%s: %lu device nodes were left out (no root)", rd->label,
		      rd->lost_devices);
	if (rd->lost_xattrs)
		warnx("%s: %lu extended attributes could not be set", rd->label,
		      rd->lost_xattrs);
	close(rd->root);
	free(rd->label);
	free(rd);
}

/* A directory below the root, resolved as if the root were "/". */
static int
open_dir(const struct rootdir *rd, const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve =
	        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	if (*path == '\0')
		return fcntl(rd->root, F_DUPFD_CLOEXEC, 0);
	return (int)syscall(SYS_openat2, rd->root, path, &how, sizeof(how));
}

/* Open directory PATH, making it and its missing parents (mode 0755). */
static int
make_dir(const struct rootdir *rd, const char *path, const char *entry)
{
	int fd = open_dir(rd, path);
	char *parent, *base;
	int pfd;

	if (fd >= 0 || errno != ENOENT)
		goto out;
	parent = path_parent(path);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : (char *)path;
	pfd = make_dir(rd, parent, entry);
	if (mkdirat(pfd, base, 0755) == 0) {
		/* Root's inside, shifted as every owner is. */
		if (rd->ids.count != 0 &&
		    fchownat(pfd, base, (uid_t)rd->ids.uid, (gid_t)rd->ids.gid,
		             AT_SYMLINK_NOFOLLOW) < 0)
			err(EXIT_DATA, "%s: %s: /%s", rd->label, entry, path);
	} else if (errno != EEXIST) {
		err(EXIT_DATA, "%s: %s: /%s", rd->label, entry, path);
	}
	close(pfd);
	free(parent);
	fd = open_dir(rd, path);
out:
	if (fd < 0)
		err(EXIT_DATA, "%s: %s: /%s", rd->label, entry, path);
	return fd;
}

/* Copy the E->size bytes of a regular file's data into FD. */
static void
copy_data(const struct rootdir *rd, const struct tar_entry *e, int fd,
          rootdir_read_fn read_fn, void *ctx)
{
	static char buf[128 * 1024];
	int64_t left = e->size;

	while (left > 0) {
		size_t want =
		    left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = read_fn(ctx, buf, want);
		if (n <= 0)
			errx(EXIT_DATA, "%s: %s: data ends early", rd->label,
			     e->name);
		if (fdio_write_all(fd, buf, (size_t)n) < 0)
			err(EXIT_DATA, "%s: %s", rd->label, e->name);
		left -= n;
	}
}

/* E's owner as the host stores it. */
static void
host_owner(struct rootdir *rd, const struct tar_entry *e, uid_t *uid,
           gid_t *gid)
{
	const struct rootdir_ids *ids = &rd->ids;

	*uid = (uid_t)e->uid;
	*gid = (gid_t)e->gid;
	if (ids->count == 0)
		return;
	if (e->uid < 0 || e->gid < 0 || (uint64_t)e->uid >= ids->count ||
	    (uint64_t)e->gid >= ids->count) {
		/* No id inside stands for it: root's, as without root. */
		if (rd->lost_range++ == 0)
			warnx("%s: %s: owner %lld:%lld is beyond the %lu ids "
			      "the command has",
			      rd->label, e->name, (long long)e->uid,
			      (long long)e->gid, ids->count);
		*uid = (uid_t)ids->uid;
		*gid = (gid_t)ids->gid;
		return;
	}
	*uid = (uid_t)(ids->uid + (unsigned long)e->uid);
	*gid = (gid_t)(ids->gid + (unsigned long)e->gid);
}

/* overlayfs's own attributes: never written, they would mean whiteouts. */
static int
overlay_xattr(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}

/*
 * Owner, mode, extended attributes and time of the entry BASE in PARENT,
 * through FD when it is open (files, directories) or by name otherwise.
 * The owner goes first: chown clears the set-id bits.
 */
static void
set_meta(struct rootdir *rd, const struct tar_entry *e, int parent,
         const char *base, int fd)
{
	struct timespec t[2] = {{e->mtime, 0}, {e->mtime, 0}};
	char byname[64 + PATH_MAX];
	int link = e->typeflag == '2';
	uid_t uid;
	gid_t gid;
	int r;

	host_owner(rd, e, &uid, &gid);
	snprintf(byname, sizeof(byname), "/proc/self/fd/%d/%s", parent, base);
	r = fd >= 0 ? fchown(fd, uid, gid)
	            : fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && (errno == EINVAL || errno == EPERM))
		rd->lost_owners++;
	else if (r < 0)
		err(EXIT_DATA, "%s: %s: owner", rd->label, e->name);
	if (!link &&
	    (fd >= 0 ? fchmod(fd, (mode_t)e->mode & 07777)
	             : fchmodat(parent, base, (mode_t)e->mode & 07777, 0)) < 0)
		err(EXIT_DATA, "%s: %s: mode", rd->label, e->name);
	for (size_t i = 0; i < e->nrecords; i++) {
		const struct tar_record *x = &e->records[i];
		const char *name = x->key + strlen(XATTR_KEY);
		if (strncmp(x->key, XATTR_KEY, strlen(XATTR_KEY)) != 0 ||
		    overlay_xattr(name))
			continue;
		r = fd >= 0 ? fsetxattr(fd, name, x->value, x->len, 0)
		            : lsetxattr(byname, name, x->value, x->len, 0);
		if (r < 0)
			rd->lost_xattrs++;
	}
	r = fd >= 0 ? futimens(fd, t)
	            : utimensat(parent, base, t, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		err(EXIT_DATA, "%s: %s: time", rd->label, e->name);
}

static void
write_file(struct rootdir *rd, const struct tar_entry *e, int parent,
           const char *base, rootdir_read_fn read_fn, void *ctx)
{
	int fd =
	    openat(parent, base,
	           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
	copy_data(rd, e, fd, read_fn, ctx);
	set_meta(rd, e, parent, base, fd);
	if (close(fd) < 0)
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
}

static void
write_dir(struct rootdir *rd, const struct tar_entry *e, int parent,
          const char *base)
{
	int fd;

	if (mkdirat(parent, base, 0700) < 0 && errno != EEXIST)
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
	fd = openat(parent, base,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
	set_meta(rd, e, parent, base, fd);
	close(fd);
}

static void
write_hardlink(struct rootdir *rd, const struct tar_entry *e, int parent,
               const char *base)
{
	char *target = path_normalize(e->linkname);
	char *tparent;
	const char *tbase;
	int tfd;

	if (target == NULL || *target == '\0')
		errx(EXIT_DATA, "%s: %s: hard link to '%s' leaves the root",
		     rd->label, e->name, e->linkname);
	tparent = path_parent(target);
	tbase = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	tfd = open_dir(rd, tparent);
	if (tfd < 0 || linkat(tfd, tbase, parent, base, 0) < 0)
		err(EXIT_DATA, "%s: %s: hard link to /%s", rd->label, e->name,
		    target);
	close(tfd);
	free(tparent);
	free(target);
}

static void
write_node(struct rootdir *rd, const struct tar_entry *e, int parent,
           const char *base)
{
	mode_t type = e->typeflag == '3'   ? S_IFCHR
	              : e->typeflag == '4' ? S_IFBLK
	                                   : S_IFIFO;
	dev_t dev = makedev((unsigned)e->devmajor, (unsigned)e->devminor);

	if (mknodat(parent, base, type | 0600, dev) < 0) {
		if (errno == EPERM && type != S_IFIFO) {
			rd->lost_devices++;
			return;
		}
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
	}
	set_meta(rd, e, parent, base, -1);
}

/* Clear the way for a non-directory; a directory there is an error. */
static int
clear_name(struct rootdir *rd, const struct tar_entry *e, int parent,
           const char *base)
{
	struct stat st;

	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (e->typeflag == '5')
			return 1;
		errx(EXIT_DATA, "%s: %s: a directory is in the way", rd->label,
		     e->name);
	}
	if (unlinkat(parent, base, 0) < 0)
		err(EXIT_DATA, "%s: %s", rd->label, e->name);
	return 0;
}

void
rootdir_write(struct rootdir *rd, const struct tar_entry *e,
              rootdir_read_fn read_fn, void *ctx)
{
	char *name = path_normalize(e->name);
	char *pname;
	const char *base;
	int parent;

	if (name == NULL)
		errx(EXIT_DATA, "%s: %s: name leaves the root", rd->label,
		     e->name);
	if (*name == '\0') { /* the root itself keeps its own metadata */
		free(name);
		return;
	}
	pname = path_parent(name);
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	parent = make_dir(rd, pname, e->name);
	clear_name(rd, e, parent, base);
	switch (e->typeflag) {
	case '0':
	case '7':
		write_file(rd, e, parent, base, read_fn, ctx);
		break;
	case '1':
		write_hardlink(rd, e, parent, base);
		break;
	case '2':
		if (symlinkat(e->linkname, parent, base) < 0)
			err(EXIT_DATA, "%s: %s", rd->label, e->name);
		set_meta(rd, e, parent, base, -1);
		break;
	case '3':
	case '4':
	case '6':
		write_node(rd, e, parent, base);
		break;
	case '5':
		write_dir(rd, e, parent, base);
		break;
	default:
		errx(EXIT_DATA, "%s: %s: unsupported entry type '%c'",
		     rd->label, e->name, e->typeflag);
	}
	close(parent);
	free(pname);
	free(name);
}
