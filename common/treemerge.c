/*
 * treemerge.c: a k-way merge of sorted entry sources.
 *
 * Every source yields its entries in walk order, so the merge keeps each
 * source's next entry (its head) in a heap ordered by path and then by the
 * source's rank; the smallest head is the next path, and its first source
 * wins it.
 */
#include <search.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "dirtree.h"
#include "errors.h"
#include "hash.h"
#include "path.h"
#include "treeindex.h"
#include "treemerge.h"
#include "xalloc.h"

enum source_kind { SOURCE_DIR, SOURCE_TREE };

struct source {
	enum source_kind kind;
	size_t rank;
	/* SOURCE_DIR */
	char *dir, *prefix;
	unsigned flags;
	struct dirtree *walk;
	struct dirtree_entry *de;
	/* SOURCE_TREE */
	struct treeindex *tree;
	size_t pos;
	/* The head: its path and entry; path NULL when the source is done. */
	const char *path;
	struct tar_entry *head;
	int64_t readpos;
};

/* The first path written of a set of hard links. */
struct link_node {
	size_t rank;
	uint64_t a, b;
	char *name;
};

struct treemerge {
	struct source *src;
	size_t nsrc;
	struct source **heap;
	size_t nheap;
	struct source *cur; /* the source of the entry returned last */
	int cur_is_link;    /* it was returned as a '1' entry: no data */
	char *blocked;      /* the last non-directory written */
	char **dirs;        /* directories written that hold what comes next */
	size_t ndirs, capdirs;
	void *links; /* tsearch tree of struct link_node */
	struct tar_entry out;
	struct buffer made; /* name of a directory the merge made */
	struct stat output; /* the output file, if it is one */
	int has_output;
	int walks; /* walks begun before this one */
};

/* --- sources ------------------------------------------------------------ */

static struct source *
add_source(struct treemerge *m, enum source_kind kind)
{
	m->src = xreallocarray(m->src, m->nsrc + 1, sizeof(*m->src));
	struct source *s = &m->src[m->nsrc];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->rank = m->nsrc++;
	return s;
}

void
treemerge_add_dir(struct treemerge *m, const char *dir, const char *prefix,
                  unsigned dirtree_flags)
{
	struct source *s = add_source(m, SOURCE_DIR);

	s->dir = xstrdup(dir);
	s->prefix = xstrdup(prefix ? prefix : "");
	s->flags = dirtree_flags;
}

void
treemerge_add_tree(struct treemerge *m, const char *path)
{
	add_source(m, SOURCE_TREE)->tree = treeindex_open(path);
}

/* Move S to its next entry. */
static void
advance(struct source *s)
{
	s->readpos = 0;
	if (s->kind == SOURCE_TREE) {
		if (++s->pos >= treeindex_count(s->tree)) {
			s->path = NULL;
			return;
		}
		const struct treeindex_entry *e =
		    treeindex_get(s->tree, s->pos);
		s->path = e->path;
		s->head = (struct tar_entry *)&e->tar;
		return;
	}
	int got = dirtree_next(s->walk, &s->de);
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(s->walk));
	s->path = got ? s->de->path : NULL;
	s->head = got ? &s->de->tar : NULL;
}

static void
open_source(struct treemerge *m, struct source *s)
{
	if (s->kind == SOURCE_TREE) {
		s->pos = (size_t)-1;
		advance(s);
		return;
	}
	dirtree_close(s->walk);
	/* What a walk warns about, it warns about once. */
	s->walk = dirtree_open(s->dir, s->prefix,
	                       s->flags | (m->walks > 0 ? DIRTREE_QUIET : 0));
	if (s->walk == NULL)
		err(EXIT_DATA, "%s", s->dir);
	if (m->has_output)
		dirtree_exclude(s->walk, m->output.st_dev, m->output.st_ino);
	advance(s);
}

/* Skip the contents of the directory at S's head. */
static void
prune(struct source *s)
{
	if (s->kind == SOURCE_DIR)
		dirtree_prune(s->walk);
	/* A tree's entries under it are dropped as they come. */
}

/* --- the heap of heads -------------------------------------------------- */

static int
before(const struct source *a, const struct source *b)
{
	int c = dirtree_cmp(a->path, b->path);

	return c < 0 || (c == 0 && a->rank < b->rank);
}

static void
heap_swap(struct treemerge *m, size_t i, size_t j)
{
	struct source *t = m->heap[i];

	m->heap[i] = m->heap[j];
	m->heap[j] = t;
}

static void
heap_push(struct treemerge *m, struct source *s)
{
	size_t i;

	if (s->path == NULL)
		return;
	m->heap[i = m->nheap++] = s;
	while (i > 0 && before(m->heap[i], m->heap[(i - 1) / 2])) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct source *
heap_pop(struct treemerge *m)
{
	struct source *top = m->heap[0];
	size_t i = 0;

	m->heap[0] = m->heap[--m->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		if (l < m->nheap && before(m->heap[l], m->heap[min]))
			min = l;
		if (r < m->nheap && before(m->heap[r], m->heap[min]))
			min = r;
		if (min == i)
			break;
		heap_swap(m, i, min);
		i = min;
	}
	return top;
}

/* --- the merge ---------------------------------------------------------- */

struct treemerge *
treemerge_new(void)
{
	struct treemerge *m = xcalloc(1, sizeof(*m));

	return m;
}

static void
free_link_node(void *p)
{
	struct link_node *n = p;

	free(n->name);
	free(n);
}

static void
forget_walk(struct treemerge *m)
{
	while (m->ndirs > 0)
		free(m->dirs[--m->ndirs]);
	free(m->blocked);
	m->blocked = NULL;
	tdestroy(m->links, free_link_node);
	m->links = NULL;
	m->cur = NULL;
	m->nheap = 0;
}

void
treemerge_exclude_output(struct treemerge *m, int fd)
{
	m->has_output =
	    fstat(fd, &m->output) == 0 && S_ISREG(m->output.st_mode);
}

void
treemerge_start(struct treemerge *m)
{
	forget_walk(m);
	free(m->heap);
	m->heap = xcalloc(m->nsrc + 1, sizeof(*m->heap));
	for (size_t i = 0; i < m->nsrc; i++) {
		open_source(m, &m->src[i]);
		heap_push(m, &m->src[i]);
	}
	m->walks++;
}

static void
push_dir(struct treemerge *m, const char *path)
{
	if (m->ndirs == m->capdirs) {
		m->capdirs = m->capdirs ? 2 * m->capdirs : 16;
		m->dirs = xreallocarray(m->dirs, m->capdirs, sizeof(*m->dirs));
	}
	m->dirs[m->ndirs++] = xstrdup(path);
}

/*
 * Is PATH's parent directory written?  If not, set *missing to the path
 * of the first directory between the last written one and PATH.
 */
static int
parent_written(struct treemerge *m, const char *path, char **missing)
{
	char *parent = path_parent(path);
	size_t len;

	while (m->ndirs > 0 && !path_within(parent, m->dirs[m->ndirs - 1]))
		free(m->dirs[--m->ndirs]);
	len = m->ndirs > 0 ? strlen(m->dirs[m->ndirs - 1]) : 0;
	if (strlen(parent) == len) {
		free(parent);
		return 1;
	}
	/* The next element of PARENT after the written directory. */
	size_t start = len > 0 ? len + 1 : 0;
	const char *slash = strchr(parent + start, '/');
	size_t end = slash ? (size_t)(slash - parent) : strlen(parent);
	*missing = xstrndup(parent, end);
	free(parent);
	return 0;
}

/* The directory the merge makes for a parent that no source has. */
static void
make_dir(struct treemerge *m, const char *path)
{
	struct tar_entry *e = &m->out;

	buffer_reset(&m->made);
	buffer_addf(&m->made, "%s/", path);
	memset(e, 0, sizeof(*e));
	e->name = buffer_str(&m->made);
	e->linkname = e->uname = e->gname = "";
	e->mode = 0755;
	e->typeflag = e->raw_typeflag = '5';
	push_dir(m, path);
}

static int
by_link_key(const void *a, const void *b)
{
	const struct link_node *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return 0;
}

/* The identity of S's head among its hard links; 0 if it has none. */
static int
link_key(const struct source *s, struct link_node *k)
{
	k->rank = s->rank;
	if (s->kind == SOURCE_TREE) {
		k->a = treeindex_get(s->tree, s->pos)->group;
		k->b = 0;
		return k->a != 0;
	}
	k->a = s->de->st.st_dev;
	k->b = s->de->st.st_ino;
	return s->head->typeflag != '5' && s->de->st.st_nlink > 1;
}

/* Make the winner a '1' entry if a link of it was written before. */
static void
apply_hard_link(struct treemerge *m, struct source *s)
{
	struct link_node key, *node, **found;

	m->cur_is_link = 0;
	if (!link_key(s, &key))
		return;
	node = xmalloc(sizeof(*node));
	*node = key;
	if ((found = tsearch(node, &m->links, by_link_key)) == NULL)
		err(EXIT_DATA, "malloc");
	if (*found == node) {
		node->name = xstrdup(s->path);
		return;
	}
	free(node);
	m->out.typeflag = m->out.raw_typeflag = '1';
	m->out.linkname = (*found)->name;
	m->out.size = m->out.datasize = 0;
	m->out.records = NULL;
	m->out.nrecords = 0;
	m->cur_is_link = 1;
}

/* Drop heads that lie under a non-directory already written. */
static struct source *
next_head(struct treemerge *m)
{
	while (m->nheap > 0) {
		struct source *s = m->heap[0];
		if (m->blocked == NULL || !path_within(s->path, m->blocked) ||
		    strcmp(s->path, m->blocked) == 0)
			return s;
		heap_pop(m);
		prune(s);
		advance(s);
		heap_push(m, s);
	}
	return NULL;
}

/* Take S's head as the next entry; the other sources' heads of the path
 * lose to it. */
static void
take(struct treemerge *m, struct source *s)
{
	int is_dir = s->head->typeflag == '5';

	heap_pop(m);
	while (m->nheap > 0 && strcmp(m->heap[0]->path, s->path) == 0) {
		struct source *loser = heap_pop(m);
		if (!is_dir)
			prune(loser);
		advance(loser);
		heap_push(m, loser);
	}
	m->out = *s->head;
	free(m->blocked);
	m->blocked = NULL;
	if (is_dir)
		push_dir(m, s->path);
	else
		m->blocked = xstrdup(s->path);
	apply_hard_link(m, s);
	m->cur = s;
}

int
treemerge_next(struct treemerge *m, struct tar_entry **out)
{
	struct source *s;
	char *missing;

	if (m->cur != NULL) {
		advance(m->cur);
		heap_push(m, m->cur);
		m->cur = NULL;
	}
	if ((s = next_head(m)) == NULL)
		return 0;
	if (!parent_written(m, s->path, &missing)) {
		make_dir(m, missing);
		free(missing);
	} else {
		take(m, s);
	}
	*out = &m->out;
	return 1;
}

size_t
treemerge_read(struct treemerge *m, void *buf, size_t n)
{
	struct source *s = m->cur;
	ssize_t got;

	if (s == NULL || m->cur_is_link || m->out.typeflag != '0')
		return 0;
	if (s->kind == SOURCE_TREE) {
		got = (ssize_t)treeindex_pread(s->tree,
		                               treeindex_get(s->tree, s->pos),
		                               buf, n, s->readpos);
	} else if ((got = dirtree_read(s->walk, buf, n)) < 0) {
		errx(EXIT_DATA, "%s", dirtree_error(s->walk));
	}
	s->readpos += got;
	return (size_t)got;
}

uint64_t
treemerge_stamp(const struct treemerge *m)
{
	const struct tar_entry *e = &m->out;
	uint64_t h = 0, src = 0;

	if (m->cur != NULL && m->cur->kind == SOURCE_DIR)
		src = dirtree_stamp(m->cur->walk);
	h = hash_bytes(h, &src, sizeof(src));
	h = hash_bytes(h, e->name, strlen(e->name) + 1);
	h = hash_bytes(h, e->linkname, strlen(e->linkname) + 1);
	h = hash_bytes(h, &e->typeflag, 1);
	src = m->cur != NULL ? m->cur->rank : (uint64_t)-1;
	return hash_bytes(h, &src, sizeof(src));
}

void
treemerge_check_unchanged(const struct treemerge *m)
{
	for (size_t i = 0; i < m->nsrc; i++)
		if (m->src[i].kind == SOURCE_TREE)
			treeindex_check_unchanged(m->src[i].tree);
}

void
treemerge_free(struct treemerge *m)
{
	if (m == NULL)
		return;
	forget_walk(m);
	for (size_t i = 0; i < m->nsrc; i++) {
		dirtree_close(m->src[i].walk);
		treeindex_close(m->src[i].tree);
		free(m->src[i].dir);
		free(m->src[i].prefix);
	}
	free(m->src);
	free(m->heap);
	free(m->dirs);
	buffer_free(&m->made);
	free(m);
}
