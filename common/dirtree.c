/*
 * dirtree.c: walking a directory as sorted tar entries.
 *
 * The walk keeps one frame per directory on the current path: an open
 * descriptor and the sorted names in it.  Files are opened relative to
 * their directory's descriptor, so a long path or a directory renamed
 * above the walk does not matter.
 */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>

#include "buffer.h"
#include "dirtree.h"
#include "errors.h"
#include "xalloc.h"

struct frame {
	int fd;
	char **names;
	size_t n, next;
	size_t rellen; /* length of the directory's relative path */
};

/* A quick 64-bit hash of a byte stream, independent of how it is cut. */
struct quickhash {
	uint64_t lane[4];
	unsigned char tail[32];
	size_t ntail;
	uint64_t len;
};

struct linkname_node {
	dev_t dev;
	ino_t ino;
	char *name;
};

struct dirtree {
	unsigned flags;
	char *root;
	char *prefix;
	struct frame *frames;
	size_t nframes, capframes;
	int self_pending; /* DIRTREE_SELF: the root is still to come */
	int descend;      /* the last entry is a directory to enter */
	int done;
	struct buffer rel, path, name, disk, target;
	struct dirtree_entry e;
	struct tar_record *xattrs;
	size_t nxattrs;
	/* Where the current entry is: its directory and its name in it. */
	int at_fd;
	const char *at_name;
	/* The current file's data, while it is read. */
	int data_fd;
	int64_t data_read;
	int data_done;
	struct quickhash data_hash;
	void *links; /* tsearch tree of struct linkname_node */
	int exclude;
	dev_t exclude_dev;
	ino_t exclude_ino;
	struct buffer err;
};

/* --- quick hash --------------------------------------------------------- */

#define QH_K1 0x9e3779b97f4a7c15ULL
#define QH_K2 0xc2b2ae3d27d4eb4fULL

static void
qh_init(struct quickhash *q)
{
	memset(q, 0, sizeof(*q));
	for (int i = 0; i < 4; i++)
		q->lane[i] = QH_K2 * (uint64_t)(i + 1);
}

static uint64_t
qh_round(uint64_t lane, uint64_t v)
{
	lane ^= v;
	lane *= QH_K1;
	return lane ^ (lane >> 29);
}

static void
qh_block(struct quickhash *q, const unsigned char *p)
{
	for (int i = 0; i < 4; i++) {
		uint64_t v;
		memcpy(&v, p + 8 * i, 8);
		q->lane[i] = qh_round(q->lane[i], v);
	}
}

static void
qh_update(struct quickhash *q, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	q->len += n;
	if (q->ntail > 0) {
		size_t k = 32 - q->ntail < n ? 32 - q->ntail : n;
		memcpy(q->tail + q->ntail, p, k);
		q->ntail += k;
		p += k;
		n -= k;
		if (q->ntail < 32)
			return;
		qh_block(q, q->tail);
		q->ntail = 0;
	}
	for (; n >= 32; p += 32, n -= 32)
		qh_block(q, p);
	memcpy(q->tail, p, n);
	q->ntail = n;
}

static uint64_t
qh_final(const struct quickhash *q)
{
	unsigned char tail[32] = {0};
	uint64_t h = q->len * QH_K2, v;

	memcpy(tail, q->tail, q->ntail);
	for (int i = 0; i < 4; i++) {
		memcpy(&v, tail + 8 * i, 8);
		h = qh_round(h, q->lane[i]);
		h = qh_round(h, v);
	}
	return qh_round(h, q->len);
}

static void
qh_u64(struct quickhash *q, uint64_t v)
{
	qh_update(q, &v, sizeof(v));
}

static void
qh_str(struct quickhash *q, const char *s)
{
	qh_update(q, s, strlen(s) + 1);
}

/* --- errors ------------------------------------------------------------- */

static int
fail(struct dirtree *t, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	error_vset(&msg, fmt, ap);
	va_end(ap);
	buffer_reset(&t->err);
	buffer_addf(&t->err, "%s: %s", buffer_str(&t->disk), msg);
	free(msg);
	t->done = 1;
	return -1;
}

static int
fail_errno(struct dirtree *t)
{
	return fail(t, "%s", strerror(errno));
}

const char *
dirtree_error(const struct dirtree *t)
{
	return t->err.len ? (const char *)t->err.data : "no error";
}

/* --- frames ------------------------------------------------------------- */

static int
by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List directory FD (not consumed) into a new frame, names sorted. */
static int
push_frame(struct dirtree *t, int fd, size_t rellen)
{
	struct frame f = {.fd = fd, .rellen = rellen};
	size_t cap = 0;
	struct dirent *d;
	int dupfd = dup(fd);
	DIR *dir = dupfd < 0 ? NULL : fdopendir(dupfd);

	if (dir == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return fail_errno(t);
	}
	errno = 0;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (f.n == cap) {
			cap = cap ? 2 * cap : 16;
			f.names = xreallocarray(f.names, cap, sizeof(*f.names));
		}
		f.names[f.n++] = xstrdup(d->d_name);
		errno = 0;
	}
	int saved = errno;
	closedir(dir);
	if (saved != 0) {
		for (size_t i = 0; i < f.n; i++)
			free(f.names[i]);
		free(f.names);
		errno = saved;
		return fail_errno(t);
	}
	if (f.n > 1)
		qsort(f.names, f.n, sizeof(*f.names), by_bytes);
	if (t->nframes == t->capframes) {
		t->capframes = t->capframes ? 2 * t->capframes : 16;
		t->frames =
		    xreallocarray(t->frames, t->capframes, sizeof(*t->frames));
	}
	t->frames[t->nframes++] = f;
	return 0;
}

static void
pop_frame(struct dirtree *t)
{
	struct frame *f = &t->frames[--t->nframes];

	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	close(f->fd);
}

/* --- entries ------------------------------------------------------------ */

static void
free_xattrs(struct dirtree *t)
{
	for (size_t i = 0; i < t->nxattrs; i++) {
		free(t->xattrs[i].key);
		free(t->xattrs[i].value);
	}
	free(t->xattrs);
	t->xattrs = NULL;
	t->nxattrs = 0;
}

static void
close_data(struct dirtree *t)
{
	if (t->data_fd >= 0)
		close(t->data_fd);
	t->data_fd = -1;
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

/* One attribute's value into a new record; 0, or -1 with errno. */
static int
add_xattr(struct dirtree *t, const char *path, const char *name)
{
	struct tar_record *r;
	ssize_t n, got;
	char *v;

	for (;;) {
		if ((n = lgetxattr(path, name, NULL, 0)) < 0)
			return errno == ENODATA ? 0 : -1;
		v = xmalloc((size_t)n + 1);
		if ((got = lgetxattr(path, name, v, (size_t)n)) >= 0)
			break;
		free(v);
		if (errno != ERANGE)
			return errno == ENODATA ? 0 : -1;
	}
	v[got] = '\0';
	t->xattrs = xreallocarray(t->xattrs, t->nxattrs + 1, sizeof(*r));
	r = &t->xattrs[t->nxattrs++];
	r->key = xasprintf("SCHILY.xattr.%s", name);
	r->value = v;
	r->len = (size_t)got;
	return 0;
}

static int
read_xattrs(struct dirtree *t)
{
	const char *path = buffer_str(&t->disk);
	char *list = NULL;
	ssize_t n;

	if (t->flags & DIRTREE_NO_XATTRS)
		return 0;
	for (;;) {
		if ((n = llistxattr(path, NULL, 0)) <= 0)
			break;
		list = xrealloc(list, (size_t)n);
		if ((n = llistxattr(path, list, (size_t)n)) >= 0 ||
		    errno != ERANGE)
			break;
	}
	if (n < 0 && errno != ENOTSUP && errno != ENOSYS) {
		free(list);
		return fail_errno(t);
	}
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		if (!(t->flags & DIRTREE_ALL_XATTRS) && host_xattr(list + i))
			continue;
		if (add_xattr(t, path, list + i) < 0) {
			fail(t, "attribute %s: %s", list + i, strerror(errno));
			free(list);
			return -1;
		}
	}
	free(list);
	if (t->nxattrs > 1)
		qsort(t->xattrs, t->nxattrs, sizeof(*t->xattrs), by_key);
	return 0;
}

static int
read_symlink(struct dirtree *t, const struct stat *st)
{
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	ssize_t n;

	buffer_reset(&t->target);
	buffer_grow(&t->target, cap);
	n = readlinkat(t->at_fd, t->at_name, (char *)t->target.data, cap);
	if (n < 0)
		return fail_errno(t);
	if ((size_t)n >= cap || (st->st_size > 0 && n != st->st_size))
		return fail(t, "symlink changed while it was read");
	t->target.len = (size_t)n;
	t->target.data[n] = '\0';
	return 0;
}

static char
type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return '0';
	case S_IFLNK:
		return '2';
	case S_IFCHR:
		return '3';
	case S_IFBLK:
		return '4';
	case S_IFDIR:
		return '5';
	case S_IFIFO:
		return '6';
	default:
		return 0; /* sockets */
	}
}

static int
by_inode(const void *a, const void *b)
{
	const struct linkname_node *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* DIRTREE_HARDLINKS: a file seen before under another name becomes '1'. */
static void
resolve_hardlink(struct dirtree *t)
{
	struct tar_entry *te = &t->e.tar;
	struct linkname_node key = {t->e.st.st_dev, t->e.st.st_ino, NULL};
	struct linkname_node **found, *node;

	if (!(t->flags & DIRTREE_HARDLINKS) || te->typeflag == '5' ||
	    t->e.st.st_nlink < 2)
		return;
	node = xmalloc(sizeof(*node));
	*node = key;
	if ((found = tsearch(node, &t->links, by_inode)) == NULL)
		err(EXIT_DATA, "malloc");
	if (*found != node) {
		free(node);
		/* The attributes belong to the file: written once, with it. */
		te->typeflag = '1';
		te->linkname = (*found)->name;
		te->size = te->datasize = 0;
		te->nrecords = 0;
		return;
	}
	node->name = xstrdup(te->name);
}

/* The tar name: PREFIX/REL, and '/' after a directory. */
static void
set_names(struct dirtree *t, int is_dir)
{
	const char *rel = buffer_str(&t->rel);

	buffer_reset(&t->path);
	buffer_addstr(&t->path, t->prefix);
	if (*t->prefix && *rel)
		buffer_addstr(&t->path, "/");
	buffer_addstr(&t->path, rel);
	buffer_reset(&t->name);
	buffer_append(&t->name, t->path.data, t->path.len);
	if (is_dir)
		buffer_addstr(&t->name, "/");
	buffer_reset(&t->disk);
	buffer_addstr(&t->disk, t->root);
	if (*rel) {
		buffer_addstr(&t->disk, "/");
		buffer_addstr(&t->disk, rel);
	}
	t->e.path = buffer_str(&t->path);
	t->e.disk_path = buffer_str(&t->disk);
}

/*
 * Fill t->e for the file at_name in at_fd: 1, 0 for a socket (skipped) or
 * -1.
 */
static int
load_entry(struct dirtree *t)
{
	struct tar_entry *te = &t->e.tar;
	struct stat *st = &t->e.st;

	free_xattrs(t);
	set_names(t, 0);
	if (fstatat(t->at_fd, t->at_name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno(t);
	memset(te, 0, sizeof(*te));
	if ((te->typeflag = te->raw_typeflag = type_of(st->st_mode)) == 0) {
		if (!(t->flags & DIRTREE_QUIET))
			warnx("%s: socket skipped", buffer_str(&t->disk));
		return 0;
	}
	if (t->exclude && st->st_dev == t->exclude_dev &&
	    st->st_ino == t->exclude_ino) {
		if (!(t->flags & DIRTREE_QUIET))
			warnx("%s: the output file, skipped",
			      buffer_str(&t->disk));
		return 0;
	}
	set_names(t, te->typeflag == '5');
	te->name = buffer_str(&t->name);
	te->uname = te->gname = te->linkname = "";
	te->mode = st->st_mode & 07777;
	te->uid = st->st_uid;
	te->gid = st->st_gid;
	te->mtime = st->st_mtim.tv_sec;
	if (te->typeflag == '0')
		te->size = te->datasize = st->st_size;
	if (te->typeflag == '3' || te->typeflag == '4') {
		te->devmajor = major(st->st_rdev);
		te->devminor = minor(st->st_rdev);
	}
	if (te->typeflag == '2') {
		if (read_symlink(t, st) < 0)
			return -1;
		te->linkname = buffer_str(&t->target);
	}
	if (read_xattrs(t) < 0)
		return -1;
	te->records = t->xattrs;
	te->nrecords = t->nxattrs;
	resolve_hardlink(t);
	t->descend = te->typeflag == '5';
	t->data_done = 0;
	t->data_read = 0;
	qh_init(&t->data_hash);
	return 1;
}

/* --- the walk ----------------------------------------------------------- */

struct dirtree *
dirtree_open(const char *dir, const char *prefix, unsigned flags)
{
	struct dirtree *t = xcalloc(1, sizeof(*t));
	int fd = -1;

	t->flags = flags;
	t->data_fd = -1;
	t->root = xstrdup(dir);
	t->prefix = xstrdup(prefix ? prefix : "");
	if (flags & DIRTREE_SELF) {
		struct stat st;
		if (*t->prefix == '\0') {
			errno = EINVAL;
			goto fail;
		}
		if (lstat(dir, &st) < 0)
			goto fail;
		t->self_pending = 1;
		return t;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	buffer_addstr(&t->disk, dir);
	if (push_frame(t, fd, 0) < 0) {
		close(fd);
		goto fail;
	}
	return t;
fail:;
	int saved = errno;
	dirtree_close(t);
	errno = saved;
	return NULL;
}

/* Enter the directory that was returned last. */
static int
enter(struct dirtree *t)
{
	struct stat st;
	int fd;

	t->descend = 0;
	fd = openat(t->at_fd, t->at_name,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(t);
	if (fstat(fd, &st) < 0 || st.st_dev != t->e.st.st_dev ||
	    st.st_ino != t->e.st.st_ino) {
		close(fd);
		return fail(t, "directory replaced while it was read");
	}
	if (push_frame(t, fd, t->rel.len) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* Set rel, at_fd and at_name to the next name, popping finished frames. */
static int
advance(struct dirtree *t)
{
	while (t->nframes > 0) {
		struct frame *f = &t->frames[t->nframes - 1];
		if (f->next == f->n) {
			pop_frame(t);
			continue;
		}
		t->at_fd = f->fd;
		t->at_name = f->names[f->next++];
		t->rel.len = f->rellen;
		if (f->rellen > 0)
			buffer_addstr(&t->rel, "/");
		buffer_addstr(&t->rel, t->at_name);
		return 1;
	}
	return 0;
}

int
dirtree_next(struct dirtree *t, struct dirtree_entry **out)
{
	int got;

	close_data(t);
	if (t->done)
		return t->err.len ? -1 : 0;
	if (t->descend && enter(t) < 0)
		return -1;
	if (t->self_pending) {
		t->self_pending = 0;
		t->at_fd = AT_FDCWD;
		t->at_name = t->root;
		buffer_addstr(&t->rel, "");
		got = load_entry(t);
	} else {
		do {
			if (advance(t) == 0) {
				t->done = 1;
				return 0;
			}
		} while ((got = load_entry(t)) == 0);
	}
	if (got < 0)
		return -1;
	*out = &t->e;
	return 1;
}

void
dirtree_exclude(struct dirtree *t, dev_t dev, ino_t ino)
{
	t->exclude = 1;
	t->exclude_dev = dev;
	t->exclude_ino = ino;
}

void
dirtree_prune(struct dirtree *t)
{
	t->descend = 0;
}

static int
open_data(struct dirtree *t)
{
	t->data_fd =
	    openat(t->at_fd, t->at_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return t->data_fd < 0 ? fail_errno(t) : 0;
}

static int
same_times(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * After the data: the file opened must be the one lstat saw, unchanged
 * (a write changes its ctime, a replacement its inode).
 */
static int
check_unchanged(struct dirtree *t)
{
	const struct stat *l = &t->e.st;
	struct stat st;

	if (fstat(t->data_fd, &st) < 0)
		return fail_errno(t);
	if (st.st_dev != l->st_dev || st.st_ino != l->st_ino ||
	    st.st_size != l->st_size || !same_times(&st.st_mtim, &l->st_mtim) ||
	    !same_times(&st.st_ctim, &l->st_ctim))
		return fail(t, "file changed while it was read");
	close_data(t);
	t->data_done = 1;
	return 0;
}

ssize_t
dirtree_read(struct dirtree *t, void *buf, size_t n)
{
	int64_t left = t->e.st.st_size - t->data_read;
	ssize_t got;

	if (t->done || t->e.tar.typeflag != '0' || t->data_done)
		return t->done && t->err.len ? -1 : 0;
	if (t->data_fd < 0 && open_data(t) < 0)
		return -1;
	/* Up to the size lstat saw; the check after it catches growth. */
	if ((int64_t)n > left)
		n = (size_t)left;
	do
		got = n > 0 ? read(t->data_fd, buf, n) : 0;
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return fail_errno(t);
	if (got == 0 && left > 0)
		return fail(t, "file shrank while it was read");
	t->data_read += got;
	qh_update(&t->data_hash, buf, (size_t)got);
	if (t->data_read == t->e.st.st_size && check_unchanged(t) < 0)
		return -1;
	return got;
}

uint64_t
dirtree_stamp(const struct dirtree *t)
{
	const struct stat *st = &t->e.st;
	const struct tar_entry *te = &t->e.tar;
	struct quickhash q;

	qh_init(&q);
	qh_u64(&q, st->st_dev);
	qh_u64(&q, st->st_ino);
	qh_u64(&q, st->st_mode);
	qh_u64(&q, st->st_nlink);
	qh_u64(&q, st->st_uid);
	qh_u64(&q, st->st_gid);
	qh_u64(&q, st->st_rdev);
	qh_u64(&q, (uint64_t)st->st_size);
	qh_u64(&q, (uint64_t)st->st_mtim.tv_sec);
	qh_u64(&q, (uint64_t)st->st_mtim.tv_nsec);
	qh_u64(&q, (uint64_t)st->st_ctim.tv_sec);
	qh_u64(&q, (uint64_t)st->st_ctim.tv_nsec);
	qh_str(&q, te->name);
	qh_str(&q, te->linkname);
	for (size_t i = 0; i < te->nrecords; i++) {
		qh_str(&q, te->records[i].key);
		qh_u64(&q, te->records[i].len);
		qh_update(&q, te->records[i].value, te->records[i].len);
	}
	qh_u64(&q, t->data_done ? qh_final(&t->data_hash) : 0);
	return qh_final(&q);
}

static void
free_linkname_node(void *p)
{
	struct linkname_node *node = p;

	free(node->name);
	free(node);
}

void
dirtree_close(struct dirtree *t)
{
	if (t == NULL)
		return;
	close_data(t);
	while (t->nframes > 0)
		pop_frame(t);
	free(t->frames);
	free_xattrs(t);
	tdestroy(t->links, free_linkname_node);
	buffer_free(&t->rel);
	buffer_free(&t->path);
	buffer_free(&t->name);
	buffer_free(&t->disk);
	buffer_free(&t->target);
	buffer_free(&t->err);
	free(t->root);
	free(t->prefix);
	free(t);
}

/* '/' sorts before every other byte, and the end of a path before both. */
static unsigned
walk_byte(unsigned char c)
{
	return c == '/' ? 1 : c == '\0' ? 0 : (unsigned)c + 1;
}

int
dirtree_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (int)walk_byte(*x) - (int)walk_byte(*y);
}
