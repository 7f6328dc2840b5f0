/*
 * placement.c: the tree rule (see placement.h).
 *
 * Both halves walk the parents of a path, shortest first, and keep the
 * parent last found open: entries of a tar come grouped by directory, so
 * most entries cost one comparison, not one lookup per parent.  The cache
 * stays right within an input because a path's record, once a directory,
 * never becomes anything else (the first entry wins).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "placement.h"
#include "xalloc.h"

/* The parent directory last found open, cleared for each input. */
struct parent_cache {
	char *path;
	size_t len;
};

static int
cache_hit(const struct parent_cache *c, const char *path, size_t plen)
{
	return c->path != NULL && c->len == plen &&
	       memcmp(c->path, path, plen) == 0;
}

static void
cache_set(struct parent_cache *c, const char *path, size_t plen)
{
	free(c->path);
	c->path = xstrndup(path, plen);
	c->len = plen;
}

static void
cache_clear(struct parent_cache *c)
{
	free(c->path);
	c->path = NULL;
	c->len = 0;
}

/* The length of PATH's parent ("" for a top-level name: 0). */
static size_t
parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

/* Make a record implied by a child a directory, if nothing decided it. */
static void
imply_dir(struct path_info *p, uint32_t input)
{
	if (p->type != 0)
		return;
	p->type = '5';
	p->flags |= PATH_DIR | PATH_IMPLIED;
	p->input = input;
}

/* --- one input ------------------------------------------------------------ */

struct input_paths {
	struct pathset *set;
	const char *label;
	struct parent_cache cache;
};

struct input_paths *
input_paths_new(const char *label, size_t extra)
{
	struct input_paths *in = xcalloc(1, sizeof(*in));

	in->set = pathset_new(extra);
	in->label = label;
	return in;
}

void
input_paths_free(struct input_paths *in)
{
	if (in == NULL)
		return;
	pathset_free(in->set);
	cache_clear(&in->cache);
	free(in);
}

struct pathset *
input_paths_set(const struct input_paths *in)
{
	return in->set;
}

static void __attribute__((noreturn))
malformed(const struct input_paths *in, const struct tar_entry *e,
          const struct path_info *p)
{
	errx(EXIT_DATA,
	     "%s: offset %" PRIu64 ": '%s': lies under '%s', which this "
	     "input made %s",
	     in->label, e->offset, e->name, p->path,
	     p->type == '2' ? "a symbolic link" : "a non-directory");
}

/* E at PATH may only lie under directories of this input; make them so. */
static void
open_parents(struct input_paths *in, const struct tar_entry *e,
             const char *path)
{
	size_t plen = parent_len(path);

	if (plen == 0 || cache_hit(&in->cache, path, plen))
		return;
	for (size_t i = 1; i <= plen; i++) {
		if (path[i] != '/')
			continue;
		struct path_info *p = pathset_addn(in->set, path, i, NULL);
		if (p->type != 0 && !(p->flags & PATH_DIR))
			malformed(in, e, p);
		imply_dir(p, 0);
	}
	cache_set(&in->cache, path, plen);
}

struct path_info *
input_paths_take(struct input_paths *in, const struct tar_entry *e,
                 const char *path)
{
	int isdir = e->typeflag == '5';
	struct path_info *p;

	if (*path == '\0' && !isdir)
		return NULL; /* the root is a directory, whatever E says */
	open_parents(in, e, path);
	p = pathset_add(in->set, path, NULL);
	if (p->type != 0) {
		/* Only a directory's own entry after its children wins. */
		if (!isdir || !(p->flags & PATH_IMPLIED))
			return NULL;
		p->flags &= (uint8_t)~PATH_IMPLIED;
		return p;
	}
	p->type = e->typeflag;
	if (isdir)
		p->flags |= PATH_DIR;
	return p;
}

void
input_paths_check(struct input_paths *in, const struct tar_entry *e,
                  const char *path)
{
	open_parents(in, e, path);
}

/* --- a tree of several inputs ------------------------------------------ */

struct placement {
	struct pathset *tree;
	unsigned flags;
	uint32_t rank;
	int started;
	struct parent_cache cache;
};

struct placement *
placement_new(size_t extra, unsigned flags)
{
	struct placement *p = xcalloc(1, sizeof(*p));

	p->tree = pathset_new(extra);
	p->flags = flags;
	return p;
}

struct pathset *
placement_finish(struct placement *p)
{
	struct pathset *tree = p->tree;

	cache_clear(&p->cache);
	free(p);
	return tree;
}

struct pathset *
placement_tree(const struct placement *p)
{
	return p->tree;
}

void
placement_next_input(struct placement *p)
{
	if (p->started)
		p->rank++;
	p->started = 1;
	cache_clear(&p->cache);
}

uint32_t
placement_rank(const struct placement *p)
{
	return p->rank;
}

/* Does record R keep the current input's entries out from under it? */
static int
hides(const struct placement *p, const struct path_info *r)
{
	return ((r->flags & PATH_GONE) && r->gone < p->rank) ||
	       ((r->flags & PATH_OPAQUE) && r->opaque < p->rank) ||
	       (r->type != 0 && !(r->flags & PATH_DIR));
}

/*
 * May the current input place something under the parents of PATH?  If
 * so, the parents the tree lacks become directories it implies.  The root
 * counts: an opaque root hides everything.
 */
static int
parents_open(struct placement *p, const char *path)
{
	size_t plen = parent_len(path);

	if (cache_hit(&p->cache, path, plen))
		return 1;
	for (size_t i = 0; i <= plen; i++) {
		if (i > 0 && path[i] != '/')
			continue;
		struct path_info *r = pathset_getn(p->tree, path, i);
		if (r != NULL && hides(p, r))
			return 0;
	}
	for (size_t i = 0; i <= plen; i++) {
		if (i > 0 && path[i] != '/')
			continue;
		imply_dir(pathset_addn(p->tree, path, i, NULL), p->rank);
	}
	cache_set(&p->cache, path, plen);
	return 1;
}

struct path_info *
placement_claim(struct placement *p, const char *path, char typeflag)
{
	int isdir = typeflag == '5';
	struct path_info *r;

	if (*path != '\0' && !parents_open(p, path))
		return NULL;
	r = pathset_add(p->tree, path, NULL);
	if ((r->flags & PATH_GONE) && r->gone < p->rank)
		return NULL;
	if (r->type != 0) {
		/*
		 * An earlier input's directory, a non-directory here: this
		 * input had replaced what the inputs after it hold there.
		 */
		if ((p->flags & PLACEMENT_REPLACES) && (r->flags & PATH_DIR) &&
		    !isdir && r->input < p->rank &&
		    !((r->flags & PATH_OPAQUE) && r->opaque < p->rank)) {
			r->flags |= PATH_OPAQUE;
			r->opaque = p->rank;
		}
		/* Decided before: only a directory's description is left. */
		if (!(r->flags & PATH_DIR) || !isdir ||
		    (r->flags & PATH_WRITTEN))
			return NULL;
		r->flags |= PATH_WRITTEN;
		return r;
	}
	r->type = typeflag;
	r->input = p->rank;
	if (isdir)
		r->flags |= PATH_DIR;
	if (typeflag != '1')
		r->flags |= PATH_WRITTEN;
	return r;
}

void
placement_mark(struct placement *p, const char *path, int flag)
{
	struct path_info *r = pathset_add(p->tree, path, NULL);

	if (r->flags & flag)
		return; /* an earlier input's mark hides more */
	r->flags |= (uint8_t)flag;
	if (flag == PATH_GONE)
		r->gone = p->rank;
	else
		r->opaque = p->rank;
}
