/*
 * upperdir.c: the upper directory walked, its marks turned into OCI
 * whiteouts, sorted again (a renamed whiteout moves among its siblings),
 * then written with the data read from disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dirtree.h"
#include "errors.h"
#include "upperdir.h"
#include "whiteout.h"

/* One entry of the layer: its header, and where its data is. */
struct item {
	struct tar_entry e;
	char *path; /* normalized, for sorting */
	char *disk; /* a regular file's path on disk, else NULL */
};

struct items {
	struct item *v;
	size_t n, cap;
};

static char *
dup_str(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		err(EXIT_DATA, "malloc");
	return d;
}

static struct item *
add_item(struct items *it)
{
	if (it->n == it->cap) {
		it->cap = it->cap ? 2 * it->cap : 1024;
		it->v = reallocarray(it->v, it->cap, sizeof(*it->v));
		if (it->v == NULL)
			err(EXIT_DATA, "malloc");
	}
	memset(&it->v[it->n], 0, sizeof(it->v[0]));
	return &it->v[it->n++];
}

/* Keep a copy of DE's header (the walk reuses its own). */
static void
add_copy(struct items *it, const struct dirtree_entry *de, int64_t mtime)
{
	static char empty[1];
	struct item *x = add_item(it);
	const struct tar_entry *t = &de->tar;

	x->e = *t;
	x->e.name = dup_str(t->name);
	x->e.linkname = dup_str(t->linkname ? t->linkname : "");
	x->e.uname = x->e.gname = empty;
	x->e.mtime = mtime;
	x->e.raw = NULL;
	x->e.rawlen = 0;
	x->e.records = NULL;
	if (t->nrecords > 0) {
		x->e.records = calloc(t->nrecords, sizeof(*x->e.records));
		if (x->e.records == NULL)
			err(EXIT_DATA, "malloc");
		for (size_t i = 0; i < t->nrecords; i++) {
			struct tar_record *r = &x->e.records[i];
			r->key = dup_str(t->records[i].key);
			r->len = t->records[i].len;
			r->value = malloc(r->len + 1);
			if (r->value == NULL)
				err(EXIT_DATA, "malloc");
			memcpy(r->value, t->records[i].value, r->len);
			r->value[r->len] = '\0';
		}
	}
	x->path = dup_str(de->path);
	if (t->typeflag == '0')
		x->disk = dup_str(de->disk_path);
}

/* A whiteout file or an opaque mark named NAME (taken over). */
static void
add_mark(struct items *it, char *name, int64_t mtime)
{
	struct item *x = add_item(it);

	whiteout_entry(&x->e, name, mtime);
	x->path = name;
}

static int
is_opaque(const char *disk)
{
	static const char *const keys[] = {"trusted.overlay.opaque",
	                                   "user.overlay.opaque"};
	char v[2];

	for (size_t i = 0; i < 2; i++)
		if (lgetxattr(disk, keys[i], v, sizeof(v)) == 1 && v[0] == 'y')
			return 1;
	return 0;
}

static void
collect(const char *dir, struct items *it, int64_t mtime)
{
	struct dirtree *t = dirtree_open(dir, NULL, DIRTREE_HARDLINKS);
	struct dirtree_entry *de;
	int got;

	if (t == NULL)
		err(EXIT_DATA, "%s", dir);
	while ((got = dirtree_next(t, &de)) == 1) {
		const char *slash = strrchr(de->path, '/');
		const char *base = slash ? slash + 1 : de->path;
		const struct tar_entry *e = &de->tar;
		if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) ==
		    0)
			errx(EXIT_DATA,
			     "%s: a name beginning '.wh.' cannot be "
			     "told from a whiteout in a layer",
			     de->path);
		if (e->typeflag == '3' && e->devmajor == 0 &&
		    e->devminor == 0) {
			add_mark(it, whiteout_name(de->path), mtime);
			continue;
		}
		add_copy(it, de, mtime);
		if (e->typeflag == '5' && is_opaque(de->disk_path))
			add_mark(it, whiteout_opaque_name(de->path), mtime);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(t));
	dirtree_close(t);
}

static int
item_cmp(const void *a, const void *b)
{
	return dirtree_cmp(((const struct item *)a)->path,
	                   ((const struct item *)b)->path);
}

/* Copy exactly E->size bytes of the file at X->disk. */
static void
write_data(struct tar_writer *w, const struct item *x)
{
	static char buf[128 * 1024];
	int fd = open(x->disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int64_t left = x->e.size;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_DATA, "%s", x->disk);
	if (!S_ISREG(st.st_mode) || st.st_size != x->e.size)
		errx(EXIT_DATA, "%s: changed while it was read", x->disk);
	while (left > 0) {
		ssize_t n = read(fd, buf,
		                 left < (int64_t)sizeof(buf) ? (size_t)left
		                                             : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(EXIT_DATA, "%s", x->disk);
		if (n == 0)
			errx(EXIT_DATA, "%s: changed while it was read",
			     x->disk);
		tar_writer_raw(w, buf, (size_t)n);
		left -= n;
	}
	close(fd);
	tar_writer_pad(w, x->e.size);
}

static void
free_item(struct item *x)
{
	for (size_t i = 0; i < x->e.nrecords; i++) {
		free(x->e.records[i].key);
		free(x->e.records[i].value);
	}
	free(x->e.records);
	if (x->e.name != x->path) { /* a copy, not a mark */
		free(x->e.name);
		free(x->e.linkname);
	}
	free(x->path);
	free(x->disk);
}

void
upperdir_write_layer(const char *dir, struct tar_writer *w, int64_t mtime)
{
	struct items it = {0};

	collect(dir, &it, mtime);
	qsort(it.v, it.n, sizeof(*it.v), item_cmp);
	for (size_t i = 0; i < it.n; i++) {
		tar_writer_header(w, &it.v[i].e);
		if (it.v[i].disk != NULL)
			write_data(w, &it.v[i]);
		free_item(&it.v[i]);
	}
	free(it.v);
}
