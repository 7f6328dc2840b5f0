/*
 * upperdir.c: the upper directory walked one directory at a time.  Each
 * directory's children are listed and classified (entry or whiteout) when
 * it is entered, sorted by the names they take in the layer (a whiteout
 * moves among its siblings), and written with their data as they come.
 * The walk goes back up through "..", checked against the inode it left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buffer.h"
#include "errors.h"
#include "upperdir.h"
#include "whiteout.h"
#include "xalloc.h"

#define XATTR_KEY "SCHILY.xattr."

enum kind {
	PLAIN,       /* a file, directory, link or node of the layer */
	WHITEOUT,    /* overlayfs's mark of a deletion */
	OPAQUE_MARK, /* ".wh..wh..opq" of an opaque directory */
};

struct child {
	char *name; /* in its directory (NULL for the opaque mark) */
	char *out;  /* in the layer: NAME, ".wh.NAME" or ".wh..wh..opq" */
	enum kind kind;
	struct stat st;
};

/* A directory on the current path, with the children still to come. */
struct frame {
	struct child *kids;
	size_t n, next;
	dev_t dev;
	ino_t ino;
	size_t pathlen; /* its path in the layer: walk.path's first bytes */
};

struct linkname {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct walk {
	int fd; /* the directory of the top frame */
	struct frame *frames;
	size_t nframes;
	struct buffer path; /* the current entry's path in the layer */
	struct tar_writer *w;
	int64_t mtime;
	struct rootdir_ids ids;
	void *links; /* tsearch tree of struct linkname */
};

/* "/proc/self/fd/FD/NAME": NAME in FD for the calls that want a path. */
static const char *
in_fd(int fd, const char *name)
{
	static char buf[64 + NAME_MAX];

	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", fd, name);
	return buf;
}

static int
has_xattr(int fd, const char *name, const char *key, const char *want)
{
	char v[2];
	ssize_t n = lgetxattr(in_fd(fd, name), key, v, sizeof(v));

	if (want == NULL)
		return n >= 0 || errno == ERANGE;
	return n == (ssize_t)strlen(want) && memcmp(v, want, (size_t)n) == 0;
}

/* A whiteout by what it is: a 0/0 device, or overlayfs's attribute. */
static int
is_whiteout(int fd, const struct child *c)
{
	if (S_ISCHR(c->st.st_mode))
		return c->st.st_rdev == makedev(0, 0);
	return S_ISREG(c->st.st_mode) && c->st.st_size == 0 &&
	       (has_xattr(fd, c->name, "trusted.overlay.whiteout", NULL) ||
	        has_xattr(fd, c->name, "user.overlay.whiteout", NULL));
}

static int
is_opaque(int fd, const char *name)
{
	return has_xattr(fd, name, "trusted.overlay.opaque", "y") ||
	       has_xattr(fd, name, "user.overlay.opaque", "y");
}

/* The layer path of OUT in the directory whose path is PATHLEN long. */
static const char *
set_path_at(struct walk *wk, size_t pathlen, const char *out)
{
	wk->path.len = pathlen;
	if (wk->path.len > 0)
		buffer_addstr(&wk->path, "/");
	buffer_addstr(&wk->path, out);
	return buffer_str(&wk->path);
}

/* The layer path of OUT in the directory of the top frame. */
static const char *
set_path(struct walk *wk, const char *out)
{
	return set_path_at(wk, wk->frames[wk->nframes - 1].pathlen, out);
}

static int
by_out(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->out,
	              ((const struct child *)b)->out);
}

/*
 * Child NAME of directory FD, whose path is PATHLEN long, classified; 0
 * for a socket (skipped).
 */
static int
load_child(struct walk *wk, int fd, size_t pathlen, const char *name,
           struct child *c)
{
	c->name = xstrdup(name);
	c->kind = PLAIN;
	if (fstatat(fd, name, &c->st, AT_SYMLINK_NOFOLLOW) < 0)
		err(EXIT_DATA, "upper directory: %s",
		    set_path_at(wk, pathlen, name));
	if (strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		errx(EXIT_DATA,
		     "%s: a name beginning '.wh.' cannot be told from a "
		     "whiteout in a layer",
		     set_path_at(wk, pathlen, name));
	if (S_ISSOCK(c->st.st_mode)) {
		warnx("%s: socket skipped", set_path_at(wk, pathlen, name));
		free(c->name);
		return 0;
	}
	if (is_whiteout(fd, c)) {
		c->kind = WHITEOUT;
		c->out = xasprintf(WHITEOUT_PREFIX "%s", name);
	} else {
		c->out = xstrdup(name);
	}
	return 1;
}

/* Enter directory FD (taken over), listed and sorted, at the top. */
static void
push_frame(struct walk *wk, int fd, int opaque)
{
	struct frame f = {.pathlen = wk->path.len};
	size_t cap = 0;
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int dupfd = dup(fd);

	if (dupfd < 0 || fstat(fd, &st) < 0 || (dir = fdopendir(dupfd)) == NULL)
		err(EXIT_DATA, "upper directory: %s", buffer_str(&wk->path));
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	for (errno = 0; (d = readdir(dir)) != NULL; errno = 0) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (f.n + 1 >= cap) {
			cap = cap ? 2 * cap : 16;
			f.kids = xreallocarray(f.kids, cap, sizeof(*f.kids));
		}
		f.n += load_child(wk, fd, f.pathlen, d->d_name, &f.kids[f.n]);
	}
	wk->path.len = f.pathlen;
	if (errno != 0)
		err(EXIT_DATA, "upper directory: %s", buffer_str(&wk->path));
	closedir(dir);
	if (opaque) {
		if (f.n >= cap)
			f.kids =
			    xreallocarray(f.kids, f.n + 1, sizeof(*f.kids));
		f.kids[f.n++] = (struct child){.out = xstrdup(WHITEOUT_OPAQUE),
		                               .kind = OPAQUE_MARK};
	}
	if (f.n > 1)
		qsort(f.kids, f.n, sizeof(*f.kids), by_out);
	wk->frames =
	    xreallocarray(wk->frames, wk->nframes + 1, sizeof(*wk->frames));
	wk->frames[wk->nframes++] = f;
	wk->fd = fd;
}

/* Leave the top directory for its parent; 0 once the root is done. */
static int
pop_frame(struct walk *wk)
{
	struct frame *f = &wk->frames[--wk->nframes];
	struct frame *up;
	struct stat st;
	int fd;

	for (size_t i = 0; i < f->n; i++) {
		free(f->kids[i].name);
		free(f->kids[i].out);
	}
	free(f->kids);
	if (wk->nframes == 0) {
		close(wk->fd);
		return 0;
	}
	up = &wk->frames[wk->nframes - 1];
	fd = openat(wk->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != up->dev ||
	    st.st_ino != up->ino)
		errx(EXIT_DATA,
		     "upper directory: %.*s: moved while it was read",
		     (int)up->pathlen, buffer_str(&wk->path));
	close(wk->fd);
	wk->fd = fd;
	return 1;
}

/* An owner as the command saw it. */
static int64_t
inside_id(const struct walk *wk, unsigned long id, unsigned long base)
{
	if (wk->ids.count == 0)
		return (int64_t)id;
	if (id < base || id - base >= wk->ids.count)
		errx(EXIT_DATA, "%s: owner %lu is none of the command's ids",
		     (const char *)wk->path.data, id);
	return (int64_t)(id - base);
}

static uint32_t
le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * A file capability set inside a user namespace is stored with the
 * namespace's root (a host id) in it; inside it was root's, as in any
 * image: give it back the form without a root id.
 */
static void
unshift_capability(const struct walk *wk, struct tar_record *r)
{
	unsigned char *v = (unsigned char *)r->value;
	uint32_t magic;

	if (wk->ids.count == 0 || r->len != XATTR_CAPS_SZ_3 ||
	    strcmp(r->key, XATTR_KEY "security.capability") != 0)
		return;
	magic = le32(v);
	if ((magic & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_3 ||
	    le32(v + XATTR_CAPS_SZ_2) != wk->ids.uid)
		return;
	magic = VFS_CAP_REVISION_2 | (magic & VFS_CAP_FLAGS_EFFECTIVE);
	for (int i = 0; i < 4; i++)
		v[i] = (unsigned char)(magic >> (8 * i));
	r->len = XATTR_CAPS_SZ_2;
}

/* Attributes that belong to the host or to overlayfs, not to the file. */
static int
host_xattr(const char *name)
{
	return strcmp(name, "security.selinux") == 0 ||
	       strcmp(name, "security.ima") == 0 ||
	       strcmp(name, "security.evm") == 0 ||
	       strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct tar_record *)a)->key,
	              ((const struct tar_record *)b)->key);
}

/* The kept attributes of NAME in FD as sorted records into E. */
static void
read_xattrs(const struct walk *wk, int fd, const char *name,
            struct tar_entry *e)
{
	char list[XATTR_LIST_MAX];
	const char *path = in_fd(fd, name);
	ssize_t n = llistxattr(path, list, sizeof(list));

	if (n < 0 && errno != ENOTSUP)
		err(EXIT_DATA, "%s: attributes", (const char *)wk->path.data);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		struct tar_record *r;
		char v[XATTR_SIZE_MAX];
		ssize_t len;
		if (host_xattr(list + i))
			continue;
		if ((len = lgetxattr(path, list + i, v, sizeof(v))) < 0)
			err(EXIT_DATA, "%s: attribute %s",
			    (const char *)wk->path.data, list + i);
		e->records = xreallocarray(e->records, e->nrecords + 1,
		                           sizeof(*e->records));
		r = &e->records[e->nrecords++];
		r->key = xasprintf(XATTR_KEY "%s", list + i);
		r->value = xcalloc(1, (size_t)len + 1);
		memcpy(r->value, v, (size_t)len);
		r->len = (size_t)len;
		unshift_capability(wk, r);
	}
	if (e->nrecords > 1)
		qsort(e->records, e->nrecords, sizeof(*e->records), by_key);
}

static void
free_records(struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++) {
		free(e->records[i].key);
		free(e->records[i].value);
	}
	free(e->records);
}

static int
by_inode(const void *a, const void *b)
{
	const struct linkname *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/*
 * The first name of C's file in the layer, if it came before (whiteouts
 * never reach here); else C's name is kept as the first.
 */
static const char *
earlier_name(struct walk *wk, const struct child *c)
{
	struct linkname *node, **found;

	if (S_ISDIR(c->st.st_mode) || c->st.st_nlink < 2)
		return NULL;
	node = xcalloc(1, sizeof(*node));
	node->dev = c->st.st_dev;
	node->ino = c->st.st_ino;
	if ((found = tsearch(node, &wk->links, by_inode)) == NULL)
		err(EXIT_DATA, "malloc");
	if (*found != node) {
		free(node);
		return (*found)->path;
	}
	node->path = xstrdup(buffer_str(&wk->path));
	return NULL;
}

static char
type_of(mode_t m)
{
	return S_ISREG(m)   ? '0'
	       : S_ISLNK(m) ? '2'
	       : S_ISCHR(m) ? '3'
	       : S_ISBLK(m) ? '4'
	       : S_ISDIR(m) ? '5'
	                    : '6';
}

/* Copy exactly C's size in bytes from NAME in FD, the file listed. */
static void
write_data(struct walk *wk, int fd, const struct child *c)
{
	static char buf[128 * 1024];
	int data = openat(fd, c->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int64_t left = c->st.st_size;
	const char *path = buffer_str(&wk->path);
	struct stat st;

	if (data < 0 || fstat(data, &st) < 0)
		err(EXIT_DATA, "upper directory: %s", path);
	if (st.st_ino != c->st.st_ino || st.st_dev != c->st.st_dev ||
	    st.st_size != c->st.st_size)
		errx(EXIT_DATA,
		     "upper directory: %s: changed while it was read", path);
	while (left > 0) {
		ssize_t n = read(data, buf,
		                 left < (int64_t)sizeof(buf) ? (size_t)left
		                                             : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			errx(EXIT_DATA, "upper directory: %s: %s", path,
			     n < 0 ? strerror(errno) : "shrank while read");
		tar_writer_raw(wk->w, buf, (size_t)n);
		left -= n;
	}
	close(data);
	tar_writer_pad(wk->w, c->st.st_size);
}

/* Go down into directory C, the child just written. */
static void
enter(struct walk *wk, const struct child *c)
{
	int opaque = is_opaque(wk->fd, c->name);
	int fd = openat(wk->fd, c->name,
	                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_DATA, "upper directory: %s", buffer_str(&wk->path));
	if (st.st_dev != c->st.st_dev || st.st_ino != c->st.st_ino)
		errx(EXIT_DATA, "upper directory: %s: replaced while read",
		     buffer_str(&wk->path));
	close(wk->fd);
	push_frame(wk, fd, opaque);
}

/* Write child C of the top directory; enter it if it is a directory. */
static void
write_child(struct walk *wk, const struct child *c)
{
	struct buffer name = {0}, target = {0};
	struct tar_entry e = {0};
	const char *path = set_path(wk, c->out), *first;
	int fd = wk->fd;

	if (c->kind != PLAIN) {
		whiteout_entry(&e, path, wk->mtime);
		tar_writer_header(wk->w, &e);
		return;
	}
	buffer_addstr(&name, path);
	if (S_ISDIR(c->st.st_mode))
		buffer_addstr(&name, "/");
	e.name = buffer_str(&name);
	e.uname = e.gname = e.linkname = "";
	e.typeflag = e.raw_typeflag = type_of(c->st.st_mode);
	e.mode = c->st.st_mode & 07777;
	e.uid = inside_id(wk, c->st.st_uid, wk->ids.uid);
	e.gid = inside_id(wk, c->st.st_gid, wk->ids.gid);
	e.mtime = wk->mtime;
	if (e.typeflag == '0')
		e.size = e.datasize = c->st.st_size;
	if (e.typeflag == '3' || e.typeflag == '4') {
		e.devmajor = major(c->st.st_rdev);
		e.devminor = minor(c->st.st_rdev);
	}
	if (e.typeflag == '2') {
		size_t cap = (size_t)c->st.st_size + 1;
		buffer_grow(&target, cap);
		ssize_t n = readlinkat(fd, c->name, (char *)target.data, cap);
		if (n < 0 || (size_t)n >= cap)
			errx(EXIT_DATA, "upper directory: %s: link changed",
			     path);
		target.len = (size_t)n;
		e.linkname = buffer_str(&target);
	}
	if ((first = earlier_name(wk, c)) != NULL) {
		/* The attributes belong to the file: written once, with it. */
		e.typeflag = '1';
		e.linkname = first;
		e.size = e.datasize = 0;
	} else {
		read_xattrs(wk, fd, c->name, &e);
	}
	tar_writer_header(wk->w, &e);
	if (e.typeflag == '0')
		write_data(wk, fd, c);
	free_records(&e);
	buffer_free(&name);
	buffer_free(&target);
	if (S_ISDIR(c->st.st_mode))
		enter(wk, c);
}

static void
free_linkname(void *p)
{
	struct linkname *node = p;

	free(node->path);
	free(node);
}

void
upperdir_write_layer(const char *dir, struct tar_writer *w, int64_t mtime,
                     const struct rootdir_ids *ids)
{
	struct walk wk = {.w = w, .mtime = mtime};
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		err(EXIT_DATA, "%s", dir);
	if (ids != NULL)
		wk.ids = *ids;
	push_frame(&wk, fd, 0);
	do {
		struct frame *f = &wk.frames[wk.nframes - 1];
		/* Writing the child may push a frame: F is gone after it. */
		while (f->next < f->n) {
			write_child(&wk, &f->kids[f->next++]);
			f = &wk.frames[wk.nframes - 1];
		}
	} while (pop_frame(&wk));
	free(wk.frames);
	tdestroy(wk.links, free_linkname);
	buffer_free(&wk.path);
}
