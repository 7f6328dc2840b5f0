/*
 * flatten.c: a stack of layers applied top-down (see flatten.h).
 *
 * Two sets carry the work, both kept by the tree rule (placement.h):
 * `tree`, the paths decided so far (by the layers above and the current
 * one), and `seen`, every path of the current layer with the offset of its
 * entry, which hardlinks of that layer look up.
 *
 * Hardlinks are resolved to nodes, one per inode a visible hardlink needs.
 * A node's data is either written at some path already (links are then
 * written to that path), known at a (layer, offset) that was passed
 * (read again at the end), or not found yet: a request for the target
 * path, answered by the first lower layer that holds or hides the path.
 * Visible hardlinks wait on their node as `waiters` until it is written.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "flatten.h"
#include "path.h"
#include "placement.h"
#include "whiteout.h"
#include "xalloc.h"

enum node_state {
	NODE_PENDING,  /* waiting for a request to be answered */
	NODE_SOURCE,   /* data at (layer, offset), already passed */
	NODE_WRITTEN,  /* the inode is in the output at `as` */
	NODE_DANGLING, /* the target does not exist: `why` */
	NODE_FORWARD,  /* merged into node `forward` */
};

/*
 * A visible hardlink that waits for its inode to be written: its header
 * packed (pack_entry), its path that of its record in the tree.
 */
struct waiter {
	struct waiter *next;
	struct path_info *info;
	uint32_t layer;
	unsigned char packed[];
};

/*
 * One per inode a visible hardlink needs (a million links to a lower
 * layer are a million nodes until their requests meet): kept small.
 */
struct node {
	struct waiter *head, *tail;
	uint64_t offset;
	union {
		const char *as;  /* NODE_WRITTEN: the tree's string */
		const char *why; /* NODE_DANGLING */
	};
	uint32_t layer;
	uint32_t forward;
	uint8_t state; /* enum node_state */
	uint8_t reread;
};

/* "What does TARGET hold below layer ORIGIN?", asked by node NODE. */
struct request {
	const char *target; /* the string of `wanted` */
	uint32_t origin, node;
	uint32_t next; /* next request for the same target, + 1 */
	uint8_t done;
};

struct flat {
	const struct flatten_layers *layers;
	flatten_visit_fn visit;
	void *ctx;
	struct placement *pl;   /* the tree rule, across the layers */
	struct pathset *tree;   /* its set */
	struct input_paths *in; /* the tree rule, within this layer */
	struct pathset *seen;   /* its set */
	struct pathset *wanted;
	size_t layer;
	struct tar_reader *r;
	char **labels;
	char *in_label; /* "layer N (label)", for the rule's messages */
	struct node *nodes;
	size_t nnodes;
	struct request *reqs;
	size_t nreqs;
	size_t *rereads; /* nodes to read again at the end */
	size_t nrereads;
};

static void __attribute__((noreturn, format(printf, 4, 5)))
fail(struct flat *f, size_t layer, const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errx(EXIT_DATA, "layer %zu (%s): '%s': %s", layer + 1,
	     f->labels[layer] ? f->labels[layer] : "?", name, msg);
}

/* --- packed headers --------------------------------------------------- */

/*
 * A waiting hardlink's header, packed into one block so that a million of
 * them stay small (see flatten.h): the numbers as varints (signed ones
 * zigzagged, so that small values of either sign take a byte or two),
 * then name, linkname, uname and gname, each ending in NUL, then each
 * record (key NUL, its length as a varint, the value and NUL), then the
 * raw header blocks with each run of zero bytes written as a zero and the
 * run's length less one.
 */
enum { PACKED_NUMBERS = 11, VARINT_MAX = 10 };

static size_t
pack_bound(const struct tar_entry *e)
{
	size_t n = PACKED_NUMBERS * VARINT_MAX + 2 + strlen(e->name) +
	           strlen(e->linkname) + strlen(e->uname) + strlen(e->gname) +
	           4 + 2 * e->rawlen;

	for (size_t i = 0; i < e->nrecords; i++)
		n += strlen(e->records[i].key) + VARINT_MAX + 2 +
		     e->records[i].len;
	return n;
}

static unsigned char *
put_bytes(unsigned char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

static unsigned char *
put_str(unsigned char *p, const char *s)
{
	return put_bytes(p, s, strlen(s) + 1);
}

static unsigned char *
put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

static unsigned char *
put_signed(unsigned char *p, int64_t v)
{
	return put_varint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static uint64_t
get_varint(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint64_t v = 0;

	for (unsigned shift = 0;; shift += 7) {
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80))
			break;
	}
	*pp = p;
	return v;
}

static int64_t
get_signed(const unsigned char **pp)
{
	uint64_t v = get_varint(pp);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* RAW (N bytes) into P with runs of zeros packed; returns the end. */
static unsigned char *
pack_raw(unsigned char *p, const unsigned char *raw, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t run = 0;
		if (raw[i] != 0) {
			*p++ = raw[i++];
			continue;
		}
		while (i + run < n && raw[i + run] == 0 && run < 256)
			run++;
		*p++ = 0;
		*p++ = (unsigned char)(run - 1);
		i += run;
	}
	return p;
}

/* Pack E into P (pack_bound bytes at least); returns the end. */
static unsigned char *
pack_entry(unsigned char *p, const struct tar_entry *e)
{
	p = put_signed(p, e->mode);
	p = put_signed(p, e->uid);
	p = put_signed(p, e->gid);
	p = put_signed(p, e->size);
	p = put_signed(p, e->mtime);
	p = put_signed(p, e->devmajor);
	p = put_signed(p, e->devminor);
	p = put_signed(p, e->datasize);
	p = put_varint(p, e->offset);
	p = put_varint(p, e->rawlen);
	p = put_varint(p, e->nrecords);
	*p++ = (unsigned char)e->typeflag;
	*p++ = (unsigned char)e->raw_typeflag;
	p = put_str(p, e->name);
	p = put_str(p, e->linkname);
	p = put_str(p, e->uname);
	p = put_str(p, e->gname);
	for (size_t i = 0; i < e->nrecords; i++) {
		p = put_str(p, e->records[i].key);
		p = put_varint(p, e->records[i].len);
		p = put_bytes(p, e->records[i].value, e->records[i].len);
		*p++ = '\0';
	}
	return pack_raw(p, e->raw, e->rawlen);
}

/* The string at *PP, which moves past its NUL. */
static char *
get_str(const unsigned char **pp)
{
	char *s = (char *)*pp;

	*pp += strlen(s) + 1;
	return s;
}

/*
 * E from the block P: its strings point into P, its records and raw bytes
 * are allocated (unpacked_free).
 */
static void
unpack_entry(const unsigned char *p, struct tar_entry *e)
{
	unsigned char *raw;

	*e = (struct tar_entry){0};
	e->mode = get_signed(&p);
	e->uid = get_signed(&p);
	e->gid = get_signed(&p);
	e->size = get_signed(&p);
	e->mtime = get_signed(&p);
	e->devmajor = get_signed(&p);
	e->devminor = get_signed(&p);
	e->datasize = get_signed(&p);
	e->offset = get_varint(&p);
	e->rawlen = (size_t)get_varint(&p);
	e->nrecords = (size_t)get_varint(&p);
	e->typeflag = (char)*p++;
	e->raw_typeflag = (char)*p++;
	e->name = get_str(&p);
	e->linkname = get_str(&p);
	e->uname = get_str(&p);
	e->gname = get_str(&p);
	e->records = xreallocarray(NULL, e->nrecords + 1, sizeof(*e->records));
	for (size_t i = 0; i < e->nrecords; i++) {
		e->records[i].key = get_str(&p);
		e->records[i].len = (size_t)get_varint(&p);
		e->records[i].value = (char *)p;
		p += e->records[i].len + 1;
	}
	e->raw = raw = xcalloc(e->rawlen + 1, 1);
	for (size_t i = 0; i < e->rawlen;) {
		if (*p != 0) {
			raw[i++] = *p++;
			continue;
		}
		i += (size_t)p[1] + 1; /* already zero */
		p += 2;
	}
}

static void
unpacked_free(struct tar_entry *e)
{
	free(e->raw);
	free(e->records);
}

/* --- writing ---------------------------------------------------------- */

static void
visit(struct flat *f, const char *path, const struct tar_entry *e,
      int passthrough, struct tar_reader *data, size_t layer,
      struct path_info *info)
{
	struct flatten_item it = {
	    .path = path,
	    .entry = e,
	    .passthrough = passthrough,
	    .data = e->datasize > 0 ? data : NULL,
	    .layer = layer,
	    .info = info,
	    .extra = info != NULL ? pathset_extra(f->tree, info) : NULL,
	};

	f->visit(f->ctx, &it);
}

/*
 * Write E as it is, or re-encoded when it must change: an absolute name
 * made relative, the overlayfs opaque xattr dropped (STRIP).
 */
static void
write_entry(struct flat *f, const struct tar_entry *e, const char *path,
            int strip, struct path_info *info)
{
	struct tar_entry c;
	struct tar_record *recs;
	size_t n = 0;

	if (!strip && e->name[0] != '/') {
		visit(f, path, e, 1, f->r, f->layer, info);
		return;
	}
	c = *e;
	if (e->name[0] == '/')
		c.name = path;
	recs = xreallocarray(NULL, e->nrecords + 1, sizeof(*recs));
	for (size_t i = 0; i < e->nrecords; i++)
		if (!whiteout_is_opaque_xattr(e->records[i].key))
			recs[n++] = e->records[i];
	c.records = recs;
	c.nrecords = n;
	if (tar_type_header_only(c.typeflag))
		c.size = 0;
	visit(f, path, &c, 0, f->r, f->layer, info);
	free(recs);
}

/* Write waiter W as a hardlink to AS. */
static void
write_link(struct flat *f, struct waiter *w, const char *as)
{
	const char *path = w->info->path;
	struct tar_entry e, c;
	char *to;
	int same;

	unpack_entry(w->packed, &e);
	to = path_normalize(e.linkname);
	same = to != NULL && strcmp(to, as) == 0 && e.name[0] != '/';
	free(to);
	c = e;
	if (!same) {
		c.linkname = as;
		if (c.name[0] == '/')
			c.name = path;
		c.size = 0;
	}
	visit(f, path, &c, same, NULL, w->layer, w->info);
	unpacked_free(&e);
}

/* Write waiter W as a copy of SRC, whose data R is about to give. */
static void
write_copy(struct flat *f, struct waiter *w, const struct tar_entry *src,
           struct tar_reader *r, size_t layer)
{
	const char *path = w->info->path;
	struct tar_entry c = *src, e;

	unpack_entry(w->packed, &e);
	c.name = e.name[0] == '/' ? path : e.name;
	if (tar_type_header_only(c.typeflag))
		c.size = 0;
	visit(f, path, &c, 0, r, layer, w->info);
	unpacked_free(&e);
}

static void
waiter_free(struct waiter *w)
{
	free(w);
}

/* --- nodes ------------------------------------------------------------ */

static size_t
node_new(struct flat *f, enum node_state state)
{
	f->nodes = xreallocarray(f->nodes, f->nnodes + 1, sizeof(*f->nodes));
	memset(&f->nodes[f->nnodes], 0, sizeof(*f->nodes));
	f->nodes[f->nnodes].state = state;
	return f->nnodes++;
}

static size_t
node_find(struct flat *f, size_t n)
{
	while (f->nodes[n].state == NODE_FORWARD)
		n = f->nodes[n].forward;
	return n;
}

static void __attribute__((noreturn))
fail_waiter(struct flat *f, struct waiter *w, const char *why)
{
	struct tar_entry e;

	unpack_entry(w->packed, &e);
	fail(f, w->layer, e.name, "hardlink to '%s': %s", e.linkname, why);
}

/* Write the waiting links of node N, now that it is written. */
static void
flush_links(struct flat *f, size_t n)
{
	struct node *nd = &f->nodes[n];

	while (nd->head != NULL) {
		struct waiter *w = nd->head;
		nd->head = w->next;
		write_link(f, w, nd->as);
		waiter_free(w);
		nd = &f->nodes[n]; /* visit may not move it, but be safe */
	}
	nd->tail = NULL;
}

/* Do what node N's state allows for its waiters. */
static void
node_kick(struct flat *f, size_t n)
{
	struct node *nd = &f->nodes[n];

	if (nd->head == NULL)
		return;
	switch (nd->state) {
	case NODE_WRITTEN:
		flush_links(f, n);
		break;
	case NODE_SOURCE:
		if (!nd->reread) {
			nd->reread = 1;
			f->rereads = xreallocarray(f->rereads, f->nrereads + 1,
			                           sizeof(*f->rereads));
			f->rereads[f->nrereads++] = n;
		}
		break;
	case NODE_DANGLING:
		fail_waiter(f, nd->head, nd->why);
	default:
		break;
	}
}

/*
 * The tree's own copy of PATH, written already: nodes and requests point
 * at the strings of the sets rather than keep copies of their own.
 */
static const char *
tree_path(const struct flat *f, const char *path)
{
	struct path_info *t = pathset_get(f->tree, path);

	if (t == NULL)
		errx(EXIT_DATA, "'%s': written but not in the tree", path);
	return t->path;
}

static void
node_written(struct flat *f, size_t n, const char *as)
{
	f->nodes[n].state = NODE_WRITTEN;
	f->nodes[n].as = tree_path(f, as);
	node_kick(f, n);
}

static void
node_dangle(struct flat *f, size_t n, const char *why)
{
	f->nodes[n].state = NODE_DANGLING;
	f->nodes[n].why = why;
	node_kick(f, n);
}

/*
 * Nodes A and B are one inode: one takes the other's waiters (the one
 * that knows more about its data; find it again with node_find).
 */
static void
node_merge(struct flat *f, size_t a, size_t b)
{
	struct node *na, *nb;

	a = node_find(f, a);
	b = node_find(f, b);
	if (a == b)
		return;
	if (f->nodes[b].state == NODE_PENDING &&
	    f->nodes[a].state != NODE_PENDING) {
		size_t t = a;
		a = b;
		b = t;
	}
	na = &f->nodes[a];
	nb = &f->nodes[b];
	if (na->head != NULL) {
		if (nb->tail != NULL)
			nb->tail->next = na->head;
		else
			nb->head = na->head;
		nb->tail = na->tail;
	}
	na->head = na->tail = NULL;
	na->state = NODE_FORWARD;
	na->forward = b;
	node_kick(f, b);
}

/*
 * Node N's data is the entry SRC being read from R now: the first waiter
 * becomes a copy of it, the others links to that copy.
 */
static void
node_copy_from(struct flat *f, size_t n, const struct tar_entry *src,
               struct tar_reader *r, size_t layer)
{
	struct node *nd = &f->nodes[n];
	struct waiter *w = nd->head;

	nd->head = w->next;
	if (nd->head == NULL)
		nd->tail = NULL;
	write_copy(f, w, src, r, layer);
	node_written(f, n, w->info->path);
	waiter_free(w);
}

/* --- the current layer's own paths ------------------------------------ */

/* The node a `seen` record stands for (+1; 0: none yet). */
static uint32_t *
seen_node(struct flat *f, struct path_info *s)
{
	return (uint32_t *)pathset_extra(f->seen, s);
}

static void
request(struct flat *f, const char *target, size_t node)
{
	struct path_info *q = pathset_add(f->wanted, target, NULL);
	struct request *rq;

	f->reqs = xreallocarray(f->reqs, f->nreqs + 1, sizeof(*f->reqs));
	rq = &f->reqs[f->nreqs];
	rq->target = q->path;
	rq->origin = f->layer;
	rq->node = node;
	rq->next = (size_t)q->aux;
	rq->done = 0;
	q->aux = ++f->nreqs;
}

/* The node of hardlink E at PATH, from this layer or a request below. */
static size_t
link_node(struct flat *f, const struct tar_entry *e, const char *path)
{
	char *target = path_normalize(e->linkname);
	struct path_info *s;
	size_t n;

	if (target == NULL || *target == '\0')
		fail(f, f->layer, e->name, "hardlink to '%s': outside the tree",
		     e->linkname);
	if (strcmp(target, path) == 0)
		fail(f, f->layer, e->name, "hardlink to itself");
	s = pathset_get(f->seen, target);
	if (s == NULL || s->type == 0) {
		n = node_new(f, NODE_PENDING);
		request(f, target, n);
	} else if (*seen_node(f, s) != 0) {
		n = node_find(f, *seen_node(f, s) - 1);
	} else if (s->type == '5') {
		n = node_new(f, NODE_DANGLING);
		f->nodes[n].why = "it is a directory";
	} else {
		n = node_new(f, NODE_SOURCE);
		f->nodes[n].layer = f->layer;
		f->nodes[n].offset = s->aux;
		if (s->flags & PATH_WRITTEN) {
			f->nodes[n].state = NODE_WRITTEN;
			f->nodes[n].as = tree_path(f, target);
		}
		*seen_node(f, s) = (uint32_t)(n + 1);
	}
	free(target);
	return n;
}

/* Visible hardlink E at PATH waits for (or is written to) node N. */
static void
place_link(struct flat *f, size_t n, const struct tar_entry *e,
           const char *path, struct path_info *info)
{
	struct waiter *w = xmalloc(sizeof(*w) + pack_bound(e));
	struct node *nd;

	(void)path; /* info->path */
	w->next = NULL;
	w->layer = (uint32_t)f->layer;
	w->info = info;
	/* Give back what the bound over-counted. */
	w = xrealloc(w,
	             (size_t)(pack_entry(w->packed, e) - (unsigned char *)w));
	n = node_find(f, n);
	nd = &f->nodes[n];
	if (nd->tail != NULL)
		nd->tail->next = w;
	else
		nd->head = w;
	nd->tail = w;
	node_kick(f, n);
}

/*
 * Answer the requests for PATH from the layers above with entry E of this
 * layer (S its `seen` record, WRITTEN whether it was just written).
 */
static void
answer(struct flat *f, const struct tar_entry *e, const char *path,
       struct path_info *s, int written)
{
	struct path_info *q = pathset_get(f->wanted, path);
	size_t first = SIZE_MAX;

	if (q == NULL)
		return;
	for (size_t i = (size_t)q->aux; i != 0; i = f->reqs[i - 1].next) {
		struct request *rq = &f->reqs[i - 1];
		if (rq->done || rq->origin <= f->layer)
			continue;
		rq->done = 1;
		if (first == SIZE_MAX)
			first = node_find(f, rq->node);
		else
			node_merge(f, rq->node, first);
	}
	if (first == SIZE_MAX)
		return;
	first = node_find(f, first);
	if (*seen_node(f, s) != 0) {
		node_merge(f, first, *seen_node(f, s) - 1);
		return;
	}
	*seen_node(f, s) = (uint32_t)(first + 1);
	if (f->nodes[first].state != NODE_PENDING)
		return; /* already known through a merge */
	if (e->typeflag == '5') {
		node_dangle(f, first, "it is a directory");
	} else if (written) {
		node_written(f, first, path);
	} else {
		f->nodes[first].state = NODE_SOURCE;
		f->nodes[first].layer = f->layer;
		f->nodes[first].offset = e->offset;
		if (f->nodes[first].head != NULL)
			node_copy_from(f, first, e, f->r, f->layer);
	}
}

/* Does this layer (its `seen` set) hide TARGET from the layers below? */
static int
layer_hides(struct flat *f, const char *target)
{
	size_t len = strlen(target);

	for (size_t i = 0; i <= len; i++) {
		if (i < len && target[i] != '/')
			continue;
		struct path_info *s = pathset_getn(f->seen, target, i);
		if (s == NULL)
			continue;
		if (s->flags & PATH_GONE)
			return 1;
		if (i < len && (s->flags & PATH_OPAQUE))
			return 1;
		if (i < len && s->type != 0 && s->type != '5')
			return 1;
	}
	/* An opaque root hides everything. */
	struct path_info *root = pathset_getn(f->seen, "", 0);
	return root != NULL && (root->flags & PATH_OPAQUE);
}

/*
 * Requests this layer hides can never be answered; after the bottom layer
 * (ALL), none can.
 */
static void
close_requests(struct flat *f, int all)
{
	for (size_t i = 0; i < f->nreqs; i++) {
		struct request *rq = &f->reqs[i];
		if (rq->done || (!all && rq->origin <= f->layer))
			continue;
		if (all || layer_hides(f, rq->target)) {
			rq->done = 1;
			node_dangle(f, node_find(f, rq->node),
			            all ? "no layer below holds it"
			                : "a lower layer deleted it");
		}
	}
}

/* --- entries ---------------------------------------------------------- */

/* Whiteout E at PATH marks TARGET for this layer and those below. */
static void
mark(struct flat *f, const struct tar_entry *e, const char *path,
     const char *target, int flag)
{
	input_paths_check(f->in, e, path);
	pathset_add(f->seen, target, NULL)->flags |= (uint8_t)flag;
	placement_mark(f->pl, target, flag);
}

/* An entry that is a file, directory or link (not a mark). */
static void
place(struct flat *f, const struct tar_entry *e, const char *path, int strip)
{
	struct path_info *s = input_paths_take(f->in, e, path), *p;
	char type = e->typeflag;
	size_t n = 0;

	if (s == NULL)
		return; /* a repeat: the layer's first entry for it wins */
	s->aux = e->offset;
	if (type == '1') {
		n = link_node(f, e, path);
		*seen_node(f, s) = (uint32_t)(n + 1);
	}
	p = placement_claim(f->pl, path, type);
	if (p != NULL && type == '1') {
		p->flags |= PATH_WRITTEN;
		place_link(f, n, e, path, p);
	} else if (p != NULL) {
		write_entry(f, e, path, strip, p);
		s->flags |= PATH_WRITTEN;
	}
	answer(f, e, path, s, p != NULL);
}

static void
take_entry(struct flat *f, const struct tar_entry *e)
{
	char *path, *target = NULL;

	if (e->typeflag == 'g')
		return; /* a pax global header describes no file */
	path = path_normalize(e->name);
	if (path == NULL)
		fail(f, f->layer, e->name, "name climbs out with '..'");
	switch (whiteout_classify(e, path, &target)) {
	case WHITEOUT_FILE:
		mark(f, e, path, target, PATH_GONE);
		break;
	case WHITEOUT_OPAQUE_DIR:
		mark(f, e, path, target, PATH_OPAQUE);
		break;
	case WHITEOUT_OPAQUE_XATTR:
		mark(f, e, path, target, PATH_OPAQUE);
		place(f, e, path, 1);
		break;
	case WHITEOUT_META:
		break;
	case WHITEOUT_BAD:
		fail(f, f->layer, e->name, "a whiteout that names nothing");
	case WHITEOUT_NONE:
		place(f, e, path, 0);
		break;
	}
	free(target);
	free(path);
}

static void
close_layer(const struct flat *f, size_t j, struct tar_reader *r)
{
	if (f->layers->close != NULL)
		f->layers->close(f->layers->ctx, j, r);
	else
		tar_reader_close(r);
}

static void
walk_layer(struct flat *f, size_t j)
{
	struct tar_entry *e;
	int got;

	f->layer = j;
	f->r = f->layers->open(f->layers->ctx, j);
	f->labels[j] = xstrdup(instream_label(tar_reader_stream(f->r)));
	free(f->in_label);
	f->in_label = xasprintf("layer %zu (%s)", j + 1, f->labels[j]);
	f->in = input_paths_new(f->in_label, sizeof(uint32_t));
	f->seen = input_paths_set(f->in);
	placement_next_input(f->pl);
	while ((got = tar_reader_next(f->r, &e)) == 1)
		take_entry(f, e);
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(f->r));
	close_requests(f, 0);
	input_paths_free(f->in);
	f->in = NULL;
	f->seen = NULL;
	close_layer(f, j, f->r);
	f->r = NULL;
}

/* --- second reads ----------------------------------------------------- */

static struct flat *sort_flat;

static int
cmp_reread(const void *a, const void *b)
{
	const struct node *x = &sort_flat->nodes[*(const size_t *)a];
	const struct node *y = &sort_flat->nodes[*(const size_t *)b];

	if (x->layer != y->layer)
		return x->layer < y->layer ? 1 : -1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Read layer J again up to each node's entry and write its copies. */
static void
reread_layer(struct flat *f, size_t j, const size_t *nodes, size_t n)
{
	struct tar_reader *r = f->layers->open(f->layers->ctx, j);
	struct tar_entry *e;
	size_t k = 0;
	int got;

	while (k < n && (got = tar_reader_next(r, &e)) == 1) {
		struct node *nd = &f->nodes[nodes[k]];
		if (e->offset < nd->offset)
			continue;
		if (e->offset > nd->offset || e->typeflag == '1')
			break;
		node_copy_from(f, nodes[k], e, r, j);
		/* Nodes with the same source were merged, so move on. */
		k++;
	}
	if (k < n)
		errx(EXIT_DATA, "layer %zu (%s): changed between two reads",
		     j + 1, f->labels[j]);
	close_layer(f, j, r);
}

static void
reread_all(struct flat *f)
{
	size_t i = 0, n = 0;

	/* The nodes still waiting for data, each once. */
	for (size_t k = 0; k < f->nrereads; k++) {
		size_t m = node_find(f, f->rereads[k]);
		if (f->nodes[m].state != NODE_SOURCE ||
		    f->nodes[m].head == NULL || f->nodes[m].reread == 2)
			continue;
		f->nodes[m].reread = 2;
		f->rereads[n++] = m;
	}
	if (n == 0)
		return;
	sort_flat = f;
	qsort(f->rereads, n, sizeof(*f->rereads), cmp_reread);
	while (i < n) {
		size_t j = f->nodes[f->rereads[i]].layer, k = i;
		while (k < n && f->nodes[f->rereads[k]].layer == j)
			k++;
		reread_layer(f, j, f->rereads + i, k - i);
		i = k;
	}
}

/* --- the whole ------------------------------------------------------- */

static void
flat_free(struct flat *f)
{
	for (size_t i = 0; i < f->nnodes; i++) {
		while (f->nodes[i].head != NULL) {
			struct waiter *w = f->nodes[i].head;
			f->nodes[i].head = w->next;
			waiter_free(w);
		}
	}
	for (size_t i = 0; i < f->layers->count; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->nodes);
	free(f->reqs);
	free(f->rereads);
	free(f->in_label);
	pathset_free(f->wanted);
}

struct pathset *
flatten_walk(const struct flatten_layers *layers, size_t extra,
             flatten_visit_fn visit_fn, void *ctx)
{
	struct flat f = {
	    .layers = layers,
	    .visit = visit_fn,
	    .ctx = ctx,
	};

	f.pl = placement_new(extra, PLACEMENT_REPLACES);
	f.tree = placement_tree(f.pl);
	f.wanted = pathset_new(0);
	f.labels = xreallocarray(NULL, layers->count + 1, sizeof(*f.labels));
	memset(f.labels, 0, (layers->count + 1) * sizeof(*f.labels));
	for (size_t j = layers->count; j-- > 0;)
		walk_layer(&f, j);
	close_requests(&f, 1);
	reread_all(&f);
	flat_free(&f);
	return placement_finish(f.pl);
}

/* --- writing a TREE --------------------------------------------------- */

void
flatten_write_item(struct tar_writer *w, const struct flatten_item *it)
{
	const struct tar_entry *e = it->entry;
	char buf[64 * 1024];
	int64_t left = it->data != NULL ? e->datasize : 0;

	if (it->passthrough)
		tar_writer_raw(w, e->raw, e->rawlen);
	else
		tar_writer_header(w, e);
	while (left > 0) {
		size_t want =
		    left > (int64_t)sizeof(buf) ? sizeof(buf) : (size_t)left;
		ssize_t k = tar_reader_read(it->data, buf, want);
		if (k <= 0)
			errx(EXIT_DATA, "%s",
			     k < 0 ? tar_reader_error(it->data)
			           : "short read of entry data");
		tar_writer_raw(w, buf, (size_t)k);
		left -= k;
	}
	if (it->data != NULL)
		tar_writer_pad(w, e->datasize);
}

static void
write_visit(void *ctx, const struct flatten_item *it)
{
	flatten_write_item(ctx, it);
}

/* Directories the layers imply but never describe, sorted. */
void
flatten_write_implied(struct tar_writer *w, struct pathset *tree, int64_t mtime)
{
	struct path_info **v = pathset_sorted(tree);

	for (size_t i = 0; v[i] != NULL; i++) {
		struct tar_entry e = {0};
		char *name;
		if (!(v[i]->flags & PATH_IMPLIED) ||
		    (v[i]->flags & PATH_WRITTEN) || *v[i]->path == '\0')
			continue;
		name = xasprintf("%s/", v[i]->path);
		e.name = name;
		e.linkname = e.uname = e.gname = "";
		e.mode = 0755;
		e.mtime = mtime;
		e.typeflag = '5';
		tar_writer_header(w, &e);
		free(name);
	}
	free(v);
}

void
flatten_write(const struct flatten_layers *layers, struct tar_writer *w,
              int64_t mtime)
{
	struct pathset *tree = flatten_walk(layers, 0, write_visit, w);

	flatten_write_implied(w, tree, mtime);
	pathset_free(tree);
}

struct tar_reader *
flatten_open_path(void *ctx, size_t i)
{
	const char *const *paths = ctx;

	if (strcmp(paths[i], "-") == 0)
		errx(EXIT_USAGE, "a layer cannot be standard input");
	return tar_reader_open(paths[i]);
}
