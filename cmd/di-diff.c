/*
 * di-diff: what a tree adds to its bases: the seed's `comm -1 -3` of the
 * base's files and the new tree's files, and on request what it changes and
 * what it deletes, so that the output is a true layer from base to NEW.
 *
 *	di-diff [--base IMAGE|TREE]... [--changed] [--whiteouts] [--list [-0]]
 *	        [-o FILE] [NEW]
 *
 * The bases are stacked, the first at the bottom, and flattened into one
 * set of paths (common/flatten: an IMAGE counts with its layers, whiteouts
 * obeyed).  NEW is read twice (spooled when it is a pipe): once for its
 * paths and hardlinks, so that the deletions can be written first and a
 * hardlink's target is kept with it; then each entry is kept or not.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "errors.h"
#include "fdio.h"
#include "flatten.h"
#include "image.h"
#include "image_stack.h"
#include "instream.h"
#include "outfile.h"
#include "path.h"
#include "pathset.h"
#include "placement.h"
#include "spool.h"
#include "stream_kind.h"
#include "tar_reader.h"
#include "tar_writer.h"
#include "timestamp.h"
#include "whiteout.h"
#include "xalloc.h"

#define FP_SIZE                                                                \
	32 /* a path's fingerprint: sha256 of what --changed compares          \
	    */
#define CHUNK (64 * 1024)

struct options {
	char **bases;
	int nbases;
	int changed, whiteouts, list, nul;
	const char *output;
	const char *input;
};

/* A line of --list: "A path", "M path" or "D path". */
struct lines {
	char **v;
	size_t n, cap;
};

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-diff [--base IMAGE|TREE]... [--changed] [--whiteouts] "
	    "[--list [-0]]\n"
	    "               [-o FILE] [NEW]\n"
	    "Write the entries of the tree NEW (or stdin) whose path is in "
	    "no base.\n"
	    "      --base B     a base: an image archive or a tar "
	    "(repeatable)\n"
	    "      --changed    also keep entries whose type, content, link, "
	    "mode,\n"
	    "                   owner or xattrs differ from the base\n"
	    "      --whiteouts  add a .wh. whiteout for each base path NEW "
	    "lacks\n"
	    "      --list       print 'A path', 'M path', 'D path' lines "
	    "instead\n"
	    "  -0               with --list, end lines with NUL, not newline\n"
	    "  -o, --output F   write to F instead of stdout\n"
	    "      --help, --version\n");
	exit(status);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_BASE = 256,
		OPT_CHANGED,
		OPT_WHITEOUTS,
		OPT_LIST,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"base", required_argument, NULL, OPT_BASE},
	    {"changed", no_argument, NULL, OPT_CHANGED},
	    {"whiteouts", no_argument, NULL, OPT_WHITEOUTS},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->bases = xcalloc((size_t)argc + 1, sizeof(*o->bases));
	while ((c = getopt_long(argc, argv, "o:0", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BASE:
			o->bases[o->nbases++] = optarg;
			break;
		case OPT_CHANGED:
			o->changed = 1;
			break;
		case OPT_WHITEOUTS:
			o->whiteouts = 1;
			break;
		case OPT_LIST:
			o->list = 1;
			break;
		case 'o':
			o->output = optarg;
			break;
		case '0':
			o->nul = 1;
			break;
		case OPT_HELP:
			usage(0);
			break;
		case OPT_VERSION:
			print_version();
			break;
		default:
			usage(EXIT_USAGE);
		}
	}
	if (argc - optind > 1)
		usage_error("one NEW tree at most");
	if (o->nul && !o->list)
		usage_error("-0 goes with --list");
	o->input = optind < argc ? argv[optind] : "-";
}

/* --- fingerprints: what --changed compares ------------------------------- */

static char
kind_of(char typeflag)
{
	/* '\0' and '7' (contiguous) are regular files, as extraction makes. */
	return typeflag == '\0' || typeflag == '7' ? '0' : typeflag;
}

static int
cmp_record(const void *a, const void *b)
{
	return strcmp((*(struct tar_record *const *)a)->key,
	              (*(struct tar_record *const *)b)->key);
}

/* Start D with E's type, mode, owner, size, link target and xattrs. */
static void
fingerprint_head(struct digest *d, const struct tar_entry *e)
{
	char head[256];
	const struct tar_record **x = xcalloc(e->nrecords + 1, sizeof(*x));
	size_t n = 0;
	char kind = kind_of(e->typeflag);

	digest_init(d, "sha256");
	snprintf(head, sizeof(head),
	         "%c %o %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
	         ":%" PRId64,
	         kind, (unsigned)(e->mode & 07777), e->uid, e->gid,
	         kind == '0' ? e->size : 0,
	         kind == '3' || kind == '4' ? e->devmajor : 0,
	         kind == '3' || kind == '4' ? e->devminor : 0);
	digest_update(d, head, strlen(head) + 1);
	if (kind == '1' || kind == '2') {
		char *target = kind == '1' ? path_normalize(e->linkname) : NULL;
		const char *t = target ? target : e->linkname;
		digest_update(d, t, strlen(t) + 1);
		free(target);
	}
	for (size_t i = 0; i < e->nrecords; i++)
		if (strncmp(e->records[i].key, "SCHILY.xattr.", 13) == 0)
			x[n++] = &e->records[i];
	qsort(x, n, sizeof(*x), cmp_record);
	for (size_t i = 0; i < n; i++) {
		digest_update(d, x[i]->key, strlen(x[i]->key) + 1);
		digest_update(d, x[i]->value, x[i]->len);
	}
	free(x);
}

/* Hash R's data into D, copying it to SPOOL too when SPOOL >= 0. */
static void
fingerprint_data(struct digest *d, struct tar_reader *r, int spool)
{
	static char buf[CHUNK];
	ssize_t n;

	while ((n = tar_reader_read(r, buf, sizeof(buf))) > 0) {
		digest_update(d, buf, (size_t)n);
		if (spool >= 0 && fdio_write_all(spool, buf, (size_t)n) < 0)
			err(EXIT_DATA, "spooling entry data");
	}
	if (n < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
}

/* --- the bases: one stack of layers ----------------------------------- */

/* A layer of the stack: a TREE base, or one layer of an IMAGE base. */
struct base_layer {
	int fd; /* a TREE's bytes (spooled when a pipe); -1 for an image's */
	const char *label;
	struct flatten_layers image; /* an image's stack, and which layer */
	size_t k;
};

struct stack {
	struct base_layer *v;
	size_t n;
	struct image **images;
	struct image_stack **stacks;
	size_t nimages;
};

static struct tar_reader *
open_base_layer(void *ctx, size_t i)
{
	struct base_layer *l = &((struct stack *)ctx)->v[i];
	int fd;

	if (l->fd < 0)
		return l->image.open(l->image.ctx, l->k);
	/* Layers are opened one at a time, so the offset may be shared. */
	if (lseek(l->fd, 0, SEEK_SET) < 0 || (fd = dup(l->fd)) < 0)
		err(EXIT_DATA, "%s", l->label);
	return tar_reader_new(instream_fdopen(fd, l->label));
}

static void
close_base_layer(void *ctx, size_t i, struct tar_reader *r)
{
	struct base_layer *l = &((struct stack *)ctx)->v[i];

	if (l->fd < 0 && l->image.close != NULL)
		l->image.close(l->image.ctx, l->k, r);
	else
		tar_reader_close(r);
}

static void
stack_push(struct stack *s, const struct base_layer *l)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = *l;
}

static void
push_image(struct stack *s, int fd, const char *label)
{
	struct image *img = image_open_fd(fd, label, NULL, NULL);
	struct image_stack *st = image_stack_new(img);
	struct base_layer l = {.fd = -1, .label = label};

	s->images =
	    xreallocarray(s->images, s->nimages + 1, sizeof(*s->images));
	s->stacks =
	    xreallocarray(s->stacks, s->nimages + 1, sizeof(*s->stacks));
	s->images[s->nimages] = img;
	s->stacks[s->nimages++] = st;
	l.image = image_stack_layers(st);
	for (l.k = 0; l.k < l.image.count; l.k++)
		stack_push(s, &l);
}

/* A base entry: what --changed compares, in the record's extra bytes. */
static void
visit_base(void *ctx, const struct flatten_item *it)
{
	const int *changed = ctx;
	struct digest d;

	if (!*changed)
		return;
	fingerprint_head(&d, it->entry);
	if (it->data != NULL && kind_of(it->entry->typeflag) == '0')
		fingerprint_data(&d, it->data, -1);
	digest_final_raw(&d, it->extra);
}

/* The bases, stacked bottom first, flattened into one set of paths. */
static struct pathset *
read_bases(const struct options *o)
{
	struct stack s = {0};
	struct flatten_layers layers;
	struct pathset *set;

	for (int i = 0; i < o->nbases; i++) {
		const char *label = o->bases[i];
		struct base_layer l = {.fd = spool_open(label), .label = label};
		enum stream_kind kind = stream_kind_of(l.fd, label);
		if (kind == STREAM_STACK) /* not its files: say so */
			errx(EXIT_DATA, "%s: a STACK is not read as a base yet",
			     label);
		if (kind == STREAM_IMAGE)
			push_image(&s, l.fd, label);
		else
			stack_push(&s, &l);
	}
	layers = (struct flatten_layers){
	    .count = s.n,
	    .open = open_base_layer,
	    .close = close_base_layer,
	    .ctx = &s,
	};
	set = flatten_walk(&layers, o->changed ? FP_SIZE : 0, visit_base,
	                   (void *)&o->changed);
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].fd >= 0)
			close(s.v[i].fd);
	for (size_t i = 0; i < s.nimages; i++) {
		image_stack_free(s.stacks[i]);
		image_close(s.images[i]);
	}
	free(s.images);
	free(s.stacks);
	free(s.v);
	return set;
}

/* Does the base hold PATH with an entry (not only as an implied parent)? */
static struct path_info *
base_entry(struct pathset *base, const char *path)
{
	struct path_info *b = pathset_get(base, path);

	return b != NULL && b->type != 0 && (b->flags & PATH_WRITTEN) ? b
	                                                              : NULL;
}

/* --- NEW's paths: the first read --------------------------------------- */

/* What the first read learns about each of NEW's paths. */
struct new_path {
	uint32_t target; /* a hardlink's: index + 1 in diff.targets */
	char header;     /* what its header alone says: 'A', 'M' or 0 */
	uint8_t emitted; /* written (or listed) */
	uint8_t pulled;  /* kept because a kept hardlink points at it */
};

struct diff {
	const struct options *o;
	struct pathset *base, *new; /* new: the set of in */
	struct input_paths *in;     /* NEW's paths, by the tree rule */
	char **targets;
	size_t ntargets;
	struct tar_writer *w;
	struct lines lines;
	int spool;     /* entry data held while --changed decides */
	int64_t mtime; /* of the whiteouts: SOURCE_DATE_EPOCH */
};

static struct new_path *
new_path(struct diff *df, struct path_info *p)
{
	return (struct new_path *)pathset_extra(df->new, p);
}

/*
 * What E's header says about PATH against the base: 'A' added (no base
 * entry), 'M' changed (a directory for a non-directory or the reverse,
 * with --changed or --whiteouts; with --changed any difference but the
 * data's, which the caller weighs), or 0.
 */
static char
header_status(struct diff *df, const char *path, const struct tar_entry *e,
              struct digest *d)
{
	struct path_info *b = base_entry(df->base, path);
	unsigned char fp[DIGEST_MAX_BYTES];

	if (b == NULL)
		return 'A';
	if ((b->type == '5') != (kind_of(e->typeflag) == '5'))
		return df->o->changed || df->o->whiteouts ? 'M' : 0;
	if (!df->o->changed)
		return 0;
	fingerprint_head(d, e);
	if (kind_of(e->typeflag) == '0' && e->datasize > 0)
		return '?'; /* the data decides */
	digest_final_raw(d, fp);
	return memcmp(fp, pathset_extra(df->base, b), FP_SIZE) ? 'M' : 0;
}

static void
note_link(struct diff *df, struct path_info *p, const struct tar_entry *e,
          const char *label)
{
	char *target = path_normalize(e->linkname);
	struct digest d;

	if (target == NULL || *target == '\0')
		errx(EXIT_DATA, "%s: '%s': hardlink to '%s' outside the tree",
		     label, e->name, e->linkname);
	df->targets =
	    xreallocarray(df->targets, df->ntargets + 1, sizeof(*df->targets));
	df->targets[df->ntargets++] = target;
	new_path(df, p)->target = (uint32_t)df->ntargets;
	new_path(df, p)->header = header_status(df, p->path, e, &d);
}

/* The first read: NEW's paths, the parents they imply, its hardlinks. */
static void
scan_new(struct diff *df, int fd, const char *label)
{
	struct tar_reader *r = tar_reader_new(instream_fdopen(dup(fd), label));
	struct tar_entry *e;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		char *path = path_normalize(e->name);
		struct path_info *p;
		if (path == NULL)
			errx(EXIT_DATA, "%s: '%s': a name that leaves the root",
			     label, e->name);
		if (*path == '\0' || e->typeflag == 'g') {
			free(path);
			continue;
		}
		/* The tree rule (common/placement): the first entry wins. */
		p = input_paths_take(df->in, e, path);
		if (p != NULL) {
			p->type = kind_of(e->typeflag);
			p->aux = e->offset;
			if (p->type == '1')
				note_link(df, p, e, label);
		}
		free(path);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_reader_close(r);
	if (lseek(fd, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "%s", label);
}

/*
 * A hardlink that is kept needs its target in the same layer (a runtime
 * extracts a layer on its own): keep the target too, and its own target.
 */
static void
pull_targets(struct diff *df, const char *label)
{
	for (size_t i = 0; i < pathset_count(df->new); i++) {
		struct path_info *p = pathset_at(df->new, i);
		while (p->type == '1' && new_path(df, p)->header != 0) {
			const char *t =
			    df->targets[new_path(df, p)->target - 1];
			struct path_info *q = pathset_get(df->new, t);
			if (q == NULL || q->type == 0 || (q->flags & PATH_DIR))
				errx(EXIT_DATA,
				     "%s: '%s': hardlink to '%s', which is not "
				     "a file of it",
				     label, p->path, t);
			if (new_path(df, q)->pulled)
				break;
			new_path(df, q)->pulled = 1;
			if (q->type == '1' && new_path(df, q)->header == 0)
				new_path(df, q)->header = 'M';
			p = q;
		}
	}
}

/* --- the deletions ------------------------------------------------------ */

static void
add_line(struct lines *l, char what, const char *path)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xasprintf("%c %s", what, path);
}

/*
 * The base paths NEW lacks, each deleted by one whiteout: only the topmost
 * (a deleted directory's contents go with it) and only where NEW has the
 * parent as a directory (a file that replaced it deletes it already).
 */
static void
deletions(struct diff *df)
{
	struct path_info **sorted = pathset_sorted(df->base);

	for (size_t i = 0; i < pathset_count(df->base); i++) {
		struct path_info *b = sorted[i], *n, *parent;
		char *up;
		if (b->type == 0 || *b->path == '\0')
			continue;
		n = pathset_get(df->new, b->path);
		if (n != NULL && n->type != 0)
			continue;
		up = path_parent(b->path);
		parent = *up ? pathset_get(df->new, up) : NULL;
		free(up);
		if (strchr(b->path, '/') &&
		    (parent == NULL || !(parent->flags & PATH_DIR)))
			continue;
		if (df->o->list) {
			add_line(&df->lines, 'D', b->path);
		} else {
			struct tar_entry e;
			char *name = whiteout_name(b->path);
			whiteout_entry(&e, name, df->mtime);
			tar_writer_header(df->w, &e);
			free(name);
		}
	}
	free(sorted);
}

/* --- NEW's entries: the second read ------------------------------------ */

/* 'A' (added), 'M' (changed) or 0 (the same); E's data may go to spool. */
static char
classify(struct diff *df, struct path_info *p, const struct tar_entry *e,
         struct tar_reader *r, int *spooled)
{
	unsigned char fp[DIGEST_MAX_BYTES];
	struct digest d;
	char what;

	*spooled = 0;
	if (p->type == '1') {
		/* A link to a file that changed links to the new inode. */
		struct path_info *t = pathset_get(
		    df->new, df->targets[new_path(df, p)->target - 1]);
		what = new_path(df, p)->header;
		if (what == 0 && df->o->changed && new_path(df, t)->emitted)
			what = 'M';
		return what;
	}
	what = header_status(df, p->path, e, &d);
	if (what != '?')
		return what;
	if (ftruncate(df->spool, 0) < 0 || lseek(df->spool, 0, SEEK_SET))
		err(EXIT_DATA, "spool");
	fingerprint_data(&d, r, df->o->list ? -1 : df->spool);
	*spooled = 1;
	digest_final_raw(&d, fp);
	return memcmp(fp,
	              pathset_extra(df->base, base_entry(df->base, p->path)),
	              FP_SIZE)
	           ? 'M'
	           : 0;
}

static void
copy_spool(struct diff *df, int64_t size)
{
	static char buf[CHUNK];
	ssize_t n;

	if (lseek(df->spool, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "spool");
	while ((n = read(df->spool, buf, sizeof(buf))) > 0)
		tar_writer_raw(df->w, buf, (size_t)n);
	if (n < 0)
		err(EXIT_DATA, "spool");
	tar_writer_pad(df->w, size);
}

static void
copy_entry(struct diff *df, const struct tar_entry *e, struct tar_reader *r,
           int spooled)
{
	static char buf[CHUNK];
	ssize_t n;

	tar_writer_raw(df->w, e->raw, e->rawlen);
	if (spooled) {
		copy_spool(df, e->datasize);
		return;
	}
	while ((n = tar_reader_read(r, buf, sizeof(buf))) > 0)
		tar_writer_raw(df->w, buf, (size_t)n);
	if (n < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_writer_pad(df->w, e->datasize);
}

/* Stream NEW, keeping what is added (and changed, with --changed). */
static void
diff_new(struct diff *df, int fd, const char *label)
{
	struct tar_reader *r = tar_reader_new(instream_fdopen(fd, label));
	struct tar_entry *e;
	int got, spooled;

	while ((got = tar_reader_next(r, &e)) == 1) {
		char *path = path_normalize(e->name);
		struct path_info *p = *path ? pathset_get(df->new, path) : NULL;
		char what;
		free(path);
		/* The root, a pax global header, a repeated path: skipped. */
		if (p == NULL || e->typeflag == 'g' || p->aux != e->offset)
			continue;
		what = classify(df, p, e, r, &spooled);
		if (what == 0 && !new_path(df, p)->pulled)
			continue;
		new_path(df, p)->emitted = 1;
		if (df->o->list && what != 0)
			add_line(&df->lines, what, p->path);
		else if (!df->o->list)
			copy_entry(df, e, r, spooled);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_reader_close(r);
}

static int
cmp_line(const void *a, const void *b)
{
	/* by path, then by letter */
	int c = strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
	return c ? c : (**(char *const *)a - **(char *const *)b);
}

/* A line, with newline and backslash escaped unless lines end in NUL. */
static void
print_line(FILE *f, const char *line, int nul)
{
	if (nul) {
		fputs(line, f);
		putc('\0', f);
		return;
	}
	for (const char *c = line; *c; c++) {
		if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\\')
			fputs("\\\\", f);
		else
			putc(*c, f);
	}
	putc('\n', f);
}

static void
print_lines(struct lines *l, int fd, int nul)
{
	FILE *f = fdopen(fd, "w");

	if (f == NULL)
		err(EXIT_DATA, "fdopen");
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), cmp_line);
	for (size_t i = 0; i < l->n; i++) {
		print_line(f, l->v[i], nul);
		free(l->v[i]);
	}
	free(l->v);
	if (fflush(f) != 0 || ferror(f))
		err(EXIT_DATA, "write");
}

static void
diff_free(struct diff *df)
{
	for (size_t i = 0; i < df->ntargets; i++)
		free(df->targets[i]);
	free(df->targets);
	input_paths_free(df->in);
	pathset_free(df->base);
	if (df->spool >= 0)
		close(df->spool);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct diff df = {0};
	int in, out;

	parse_options(argc, argv, &o);
	df.o = &o;
	df.mtime = timestamp_default();
	df.spool = o.changed ? spool_tempfile() : -1;
	df.base = read_bases(&o);
	df.in = input_paths_new(o.input, sizeof(struct new_path));
	df.new = input_paths_set(df.in);
	/* NEW is read twice: its paths and links first, then its entries. */
	in = spool_open(o.input);
	scan_new(&df, in, o.input);
	pull_targets(&df, o.input);
	out = outfile_open(o.output, o.list ? OUT_TEXT : OUT_TAR);
	if (!o.list)
		df.w = tar_writer_new(out);
	if (o.whiteouts || o.list)
		deletions(&df);
	diff_new(&df, in, o.input);
	if (o.list)
		print_lines(&df.lines, out, o.nul);
	else
		tar_writer_finish(df.w);
	outfile_commit();
	diff_free(&df);
	free(o.bases);
	return 0;
}
