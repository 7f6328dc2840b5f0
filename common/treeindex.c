/*
 * treeindex.c: a tar read into a sorted index, data left where it lies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtree.h"
#include "errors.h"
#include "fdio.h"
#include "path.h"
#include "placement.h"
#include "spool.h"
#include "treeindex.h"
#include "xalloc.h"

struct treeindex {
	char *label;
	int fd;       /* where the data is: the input itself, or the spool */
	int in_place; /* the input is an uncompressed regular file */
	int64_t base; /* offset of the tar in the input */
	struct stat st;
	int64_t spooled; /* bytes written to the spool */
	/*
	 * The data of sparse files, expanded, when the rest is read in place:
	 * their data_offset is st.st_size plus the offset in this spool.
	 */
	int sparse_fd;
	int64_t sparse_spooled;
	struct treeindex_entry *v;
	size_t n, cap;
};

/* --- reading the archive ------------------------------------------------ */

/* Copy the current entry's data to the spool FD. */
static void
spool_data(struct treeindex *x, struct tar_reader *r, int fd, int64_t *spooled)
{
	static char buf[256 * 1024];
	ssize_t n;

	while ((n = tar_reader_read(r, buf, sizeof(buf))) > 0) {
		if (fdio_write_all(fd, buf, (size_t)n) < 0)
			err(EXIT_DATA, "spooling %s", x->label);
		*spooled += n;
	}
	if (n < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
}

/* A sparse file's data is not where it lies: spool it expanded. */
static void
spool_sparse(struct treeindex *x, struct tar_reader *r,
             struct treeindex_entry *v)
{
	if (x->sparse_fd < 0)
		x->sparse_fd = spool_tempfile();
	v->data_offset = (int64_t)x->st.st_size + x->sparse_spooled;
	spool_data(x, r, x->sparse_fd, &x->sparse_spooled);
}

/* Copy only the SCHILY.xattr.* records of E. */
static void
copy_xattrs(struct tar_entry *to, const struct tar_entry *e)
{
	to->records = NULL;
	to->nrecords = 0;
	for (size_t i = 0; i < e->nrecords; i++) {
		const struct tar_record *r = &e->records[i];
		if (strncmp(r->key, "SCHILY.xattr.", 13) != 0)
			continue;
		to->records = xreallocarray(to->records, to->nrecords + 1,
		                            sizeof(*to->records));
		struct tar_record *c = &to->records[to->nrecords++];
		c->key = xstrdup(r->key);
		c->value = xmalloc(r->len + 1);
		memcpy(c->value, r->value, r->len + 1);
		c->len = r->len;
	}
}

static char
entry_type(const struct treeindex *x, const struct tar_entry *e)
{
	switch (e->typeflag) {
	case '0':
	case '7':
		return '0';
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
		return e->typeflag;
	default:
		errx(EXIT_DATA,
		     "%s: offset %llu: '%s': unsupported entry type '%c'",
		     x->label, (unsigned long long)e->offset, e->name,
		     e->typeflag);
	}
}

/* The tar name of PATH: with a '/' after a directory. */
static char *
tar_name(const char *path, char type)
{
	char *s;

	s = xasprintf("%s%s", path, type == '5' ? "/" : "");
	return s;
}

/*
 * E, if the tree rule lets it place its path (IN: the paths of the
 * archive so far): the first entry for a path wins.
 */
static void
add_entry(struct treeindex *x, struct input_paths *in, struct tar_reader *r,
          struct tar_entry *e)
{
	struct treeindex_entry *v;
	char type = entry_type(x, e);
	char *path = path_normalize(e->name);

	if (path == NULL)
		errx(EXIT_DATA,
		     "%s: offset %llu: '%s': name leads out of the tree",
		     x->label, (unsigned long long)e->offset, e->name);
	if (*path == '\0' || input_paths_take(in, e, path) == NULL) {
		free(path); /* the root itself, or a repeat */
		return;
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	v = &x->v[x->n++];
	memset(v, 0, sizeof(*v));
	v->path = path;
	v->tar.name = tar_name(path, type);
	v->tar.typeflag = v->tar.raw_typeflag = type;
	v->tar.mode = e->mode & 07777;
	v->tar.uid = e->uid;
	v->tar.gid = e->gid;
	v->tar.mtime = e->mtime;
	v->tar.uname = xstrdup("");
	v->tar.gname = xstrdup("");
	v->tar.devmajor = type == '3' || type == '4' ? e->devmajor : 0;
	v->tar.devminor = type == '3' || type == '4' ? e->devminor : 0;
	v->tar.offset = e->offset;
	if (type == '1') {
		v->tar.linkname = path_normalize(e->linkname);
		if (v->tar.linkname == NULL)
			errx(EXIT_DATA,
			     "%s: '%s': hard link to '%s' leads out "
			     "of the tree",
			     x->label, e->name, e->linkname);
	} else {
		v->tar.linkname = xstrdup(type == '2' ? e->linkname : "");
	}
	copy_xattrs(&v->tar, e);
	if (type == '0') {
		v->tar.size = v->tar.datasize = e->size;
		v->data_offset = x->in_place ? x->base + (int64_t)e->offset +
		                                   (int64_t)e->rawlen
		                             : x->spooled;
		if (!x->in_place)
			spool_data(x, r, x->fd, &x->spooled);
		else if (e->sparse)
			spool_sparse(x, r, v);
	}
}

/* Decide, once the compression is known, where the data will be read. */
static void
choose_place(struct treeindex *x, struct tar_reader *r)
{
	const char *c = instream_compression(tar_reader_stream(r));

	x->in_place = S_ISREG(x->st.st_mode) && strcmp(c, "none") == 0;
	if (!x->in_place) {
		close(x->fd);
		x->fd = spool_tempfile();
	}
}

static void
read_archive(struct treeindex *x)
{
	int sfd = dup(x->fd);
	struct tar_reader *r;
	struct input_paths *in = input_paths_new(x->label, 0);
	struct tar_entry *e;
	int got, first = 1;

	if (sfd < 0)
		err(EXIT_DATA, "%s", x->label);
	r = tar_reader_new(instream_fdopen(sfd, x->label));
	while ((got = tar_reader_next(r, &e)) == 1) {
		if (first)
			choose_place(x, r);
		first = 0;
		if (e->typeflag != 'g')
			add_entry(x, in, r, e);
	}
	input_paths_free(in);
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (first)
		choose_place(x, r);
	tar_reader_close(r);
}

/* --- sorting, duplicates, hard links ------------------------------------ */

static int
by_walk_order(const void *a, const void *b)
{
	const struct treeindex_entry *x = a, *y = b;
	int c = dirtree_cmp(x->path, y->path);

	return c; /* never 0: the tree rule left one entry per path */
}

static void
free_records(struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++) {
		free(e->records[i].key);
		free(e->records[i].value);
	}
	free(e->records);
	e->records = NULL;
	e->nrecords = 0;
}

static void
free_entry(struct treeindex_entry *v)
{
	free(v->path);
	tar_entry_clear(&v->tar);
}

static struct treeindex_entry *
find(struct treeindex *x, const char *path)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dirtree_cmp(path, x->v[mid].path);
		if (c == 0)
			return &x->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void __attribute__((noreturn))
link_to_nothing(const struct treeindex *x, const struct treeindex_entry *l)
{
	errx(EXIT_DATA,
	     "%s: '%s': hard link to '%s', which is not in the archive",
	     x->label, l->tar.name, l->tar.linkname);
}

/*
 * The index of the entry holding the data of hard link I, following links
 * of links.  DATA[k] is that index + 1 for entries already resolved, so
 * that every link is followed once: a chain of links, each naming the one
 * before, costs its length, not its length squared.  PATH is scratch room
 * for the links met on the way.
 */
static size_t
link_data(struct treeindex *x, size_t i, size_t *data, size_t *path)
{
	size_t n = 0, k = i;

	while (data[k] == 0 && x->v[k].tar.typeflag == '1') {
		struct treeindex_entry *t = find(x, x->v[k].tar.linkname);
		if (t == NULL || n == x->n)
			link_to_nothing(x, &x->v[k]);
		data[k] = (size_t)-1; /* on the way: a cycle comes back here */
		path[n++] = k;
		k = (size_t)(t - x->v);
	}
	if (data[k] == (size_t)-1)
		link_to_nothing(x, &x->v[path[n - 1]]);
	k = data[k] != 0 ? data[k] - 1 : k;
	if (x->v[k].tar.typeflag == '5')
		errx(EXIT_DATA, "%s: '%s': hard link to the directory '%s'",
		     x->label, x->v[i].tar.name, x->v[k].tar.name);
	while (n > 0)
		data[path[--n]] = k + 1;
	return k;
}

/* Give L its target's header, so either can be written first. */
static void
take_target(struct treeindex_entry *l, const struct treeindex_entry *t)
{
	struct tar_entry *e = &l->tar;

	tar_entry_set_string(&e->linkname, t->tar.linkname);
	e->typeflag = e->raw_typeflag = t->tar.typeflag;
	e->mode = t->tar.mode;
	e->uid = t->tar.uid;
	e->gid = t->tar.gid;
	e->size = t->tar.size;
	e->datasize = t->tar.datasize;
	e->devmajor = t->tar.devmajor;
	e->devminor = t->tar.devminor;
	free_records(e);
	copy_xattrs(e, &t->tar);
	l->data_offset = t->data_offset;
}

static void
resolve_links(struct treeindex *x)
{
	size_t *data = xcalloc(x->n + 1, sizeof(*data));
	size_t *path = xcalloc(x->n + 1, sizeof(*path));

	/* Every link's data first, while links still name links. */
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].tar.typeflag == '1')
			link_data(x, i, data, path);
	for (size_t i = 0; i < x->n; i++) {
		struct treeindex_entry *l = &x->v[i];
		if (l->tar.typeflag != '1')
			continue;
		struct treeindex_entry *t = &x->v[data[i] - 1];
		t->group = (size_t)(t - x->v) + 1;
		l->group = t->group;
		take_target(l, t);
	}
	free(data);
	free(path);
}

/* --- the interface ------------------------------------------------------ */

struct treeindex *
treeindex_open(const char *path)
{
	struct treeindex *x = xcalloc(1, sizeof(*x));
	int is_stdin = strcmp(path, "-") == 0;

	x->sparse_fd = -1;
	x->label = xstrdup(is_stdin ? "stdin" : path);
	x->fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (x->fd < 0 || fstat(x->fd, &x->st) < 0)
		err(EXIT_DATA, "%s", x->label);
	if (S_ISREG(x->st.st_mode) && (x->base = lseek(x->fd, 0, SEEK_CUR)) < 0)
		err(EXIT_DATA, "%s", x->label);
	read_archive(x);
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), by_walk_order);
	resolve_links(x);
	return x;
}

size_t
treeindex_count(const struct treeindex *x)
{
	return x->n;
}

const struct treeindex_entry *
treeindex_get(const struct treeindex *x, size_t i)
{
	return &x->v[i];
}

size_t
treeindex_pread(struct treeindex *x, const struct treeindex_entry *e, void *buf,
                size_t n, int64_t offset)
{
	size_t got = 0;

	if (offset >= e->tar.size)
		return 0;
	if ((int64_t)n > e->tar.size - offset)
		n = (size_t)(e->tar.size - offset);
	int fd = x->fd;
	int64_t at = e->data_offset + offset;
	if (x->in_place && e->data_offset >= (int64_t)x->st.st_size) {
		fd = x->sparse_fd;
		at -= (int64_t)x->st.st_size;
	}
	while (got < n) {
		ssize_t r =
		    pread(fd, (char *)buf + got, n - got, at + (int64_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err(EXIT_DATA, "%s: '%s'", x->label, e->tar.name);
		if (r == 0)
			errx(EXIT_DATA,
			     "%s: '%s': data ends early (the file "
			     "shrank)",
			     x->label, e->tar.name);
		got += (size_t)r;
	}
	return got;
}

void
treeindex_check_unchanged(const struct treeindex *x)
{
	struct stat st;

	if (!x->in_place)
		return;
	if (fstat(x->fd, &st) < 0)
		err(EXIT_DATA, "%s", x->label);
	if (st.st_ino != x->st.st_ino || st.st_size != x->st.st_size ||
	    st.st_mtim.tv_sec != x->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != x->st.st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != x->st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != x->st.st_ctim.tv_nsec)
		errx(EXIT_DATA, "%s: changed while it was read", x->label);
}

const char *
treeindex_label(const struct treeindex *x)
{
	return x->label;
}

void
treeindex_close(struct treeindex *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->n; i++)
		free_entry(&x->v[i]);
	free(x->v);
	close(x->fd);
	if (x->sparse_fd >= 0)
		close(x->sparse_fd);
	free(x->label);
	free(x);
}
