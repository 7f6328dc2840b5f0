/*
 * di-diff: what a tree adds to its bases: the seed's `comm -1 -3` of the
 * base's files and the new tree's files, and on request what it changes and
 * what it deletes, so that the output is a true layer from base to NEW.
 *
 *	di-diff [--base IMAGE|TREE]... [--changed] [--whiteouts] [--list]
 *	        [-o FILE] [NEW]
 *
 * The bases are read first into a set of paths (an IMAGE counts with its
 * flattened view); NEW is then streamed through, each entry kept or not.
 * With --whiteouts NEW is read twice (spooled when it is a pipe): once for
 * its paths, so that the deletions can be written first.
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
#include "flatten.h"
#include "image.h"
#include "image_stack.h"
#include "instream.h"
#include "outfile.h"
#include "path.h"
#include "pathset.h"
#include "spool.h"
#include "tar_reader.h"
#include "tar_writer.h"
#include "timestamp.h"
#include "whiteout.h"

#define FP_SIZE                                                                \
	32 /* a path's fingerprint: sha256 of what --changed compares          \
	    */
#define CHUNK (64 * 1024)

struct options {
	char **bases;
	int nbases;
	int changed, whiteouts, list;
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
	    "[--list] [-o FILE]\n"
	    "               [NEW]\n"
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

	o->bases = calloc((size_t)argc + 1, sizeof(*o->bases));
	if (o->bases == NULL)
		err(EXIT_DATA, "malloc");
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
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
	const struct tar_record **x = calloc(e->nrecords + 1, sizeof(*x));
	size_t n = 0;
	char kind = kind_of(e->typeflag);

	if (x == NULL)
		err(EXIT_DATA, "malloc");
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
		if (spool >= 0 && write(spool, buf, (size_t)n) != n)
			err(EXIT_DATA, "spooling entry data");
	}
	if (n < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
}

/* --- the bases ---------------------------------------------------------- */

struct bases {
	struct pathset *set;
	int changed;
};

static void
add_parents(struct pathset *set, const char *path)
{
	const char *p = path;

	while ((p = strchr(p, '/')) != NULL) {
		int added;
		struct path_info *info =
		    pathset_addn(set, path, (size_t)(p - path), &added);
		if (added) {
			info->type = '5';
			info->flags = PATH_DIR | PATH_IMPLIED;
		}
		p++;
	}
}

/* Record a base's entry; the first base to hold a path decides it. */
static void
add_base_entry(struct bases *b, const char *path, const struct tar_entry *e,
               struct tar_reader *data)
{
	int added;
	struct path_info *info;
	struct digest d;

	if (*path == '\0')
		return;
	info = pathset_add(b->set, path, &added);
	if (!added && !(info->flags & PATH_IMPLIED))
		return;
	info->type = kind_of(e->typeflag);
	info->flags = info->type == '5' ? PATH_DIR : 0;
	add_parents(b->set, path);
	if (!b->changed)
		return;
	fingerprint_head(&d, e);
	if (data != NULL && kind_of(e->typeflag) == '0')
		fingerprint_data(&d, data, -1);
	digest_final_raw(&d, pathset_extra(b->set, info));
}

static void
visit_image_item(void *ctx, const struct flatten_item *it)
{
	add_base_entry(ctx, it->path, it->entry, it->data);
}

static void
read_image_base(struct bases *b, const char *path)
{
	struct image *img = image_open(path, NULL, NULL);
	struct image_stack *stack = image_stack_new(img);
	struct flatten_layers layers = image_stack_layers(stack);

	pathset_free(flatten_walk(&layers, 0, visit_image_item, b));
	image_stack_free(stack);
	image_close(img);
}

static void
read_tree_base(struct bases *b, int fd, const char *label)
{
	struct tar_reader *r = tar_reader_new(instream_fdopen(fd, label));
	struct tar_entry *e;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		char *path = path_normalize(e->name);
		if (path == NULL)
			errx(EXIT_DATA, "%s: '%s': a name that leaves the root",
			     label, e->name);
		add_base_entry(b, path, e, r);
		free(path);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_reader_close(r);
}

/* Is the tar on FD an image archive?  Its top-level members tell. */
static int
is_image(int fd, const char *label)
{
	struct tar_reader *r = tar_reader_new(instream_fdopen(dup(fd), label));
	struct tar_entry *e;
	int manifest = 0, index = 0, layout = 0, repos = 0, layer = 0, got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		char *p = path_normalize(e->name);
		if (p == NULL)
			continue;
		manifest |= strcmp(p, "manifest.json") == 0;
		index |= strcmp(p, "index.json") == 0;
		layout |= strcmp(p, "oci-layout") == 0;
		repos |= strcmp(p, "repositories") == 0;
		layer |=
		    strchr(p, '/') && strcmp(strchr(p, '/'), "/layer.tar") == 0;
		free(p);
	}
	tar_reader_close(r);
	if (lseek(fd, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "%s", label);
	if (got < 0)
		return 0; /* read_tree_base reports the damage */
	return manifest || (index && layout) || (repos && layer);
}

static struct pathset *
read_bases(const struct options *o)
{
	struct bases b = {pathset_new(o->changed ? FP_SIZE : 0), o->changed};

	for (int i = 0; i < o->nbases; i++) {
		const char *label = o->bases[i];
		int fd = spool_open(label);
		if (is_image(fd, label)) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			read_image_base(&b, strcmp(label, "-") ? label : path);
			close(fd);
		} else {
			read_tree_base(&b, fd, label);
		}
	}
	return b.set;
}

/* --- NEW ---------------------------------------------------------------- */

struct diff {
	const struct options *o;
	struct pathset *base;
	struct tar_writer *w;
	struct lines lines;
	int spool; /* entry data held while --changed decides */
};

static void
add_line(struct lines *l, char what, const char *path)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = reallocarray(l->v, l->cap, sizeof(*l->v));
		if (l->v == NULL)
			err(EXIT_DATA, "malloc");
	}
	if (asprintf(&l->v[l->n++], "%c %s", what, path) < 0)
		err(EXIT_DATA, "malloc");
}

/* 'A' (added), 'M' (changed) or 0 (the same); E's data may go to spool. */
static char
classify(struct diff *df, const char *path, const struct tar_entry *e,
         struct tar_reader *r, int *spooled)
{
	struct path_info *b = pathset_get(df->base, path);
	unsigned char fp[DIGEST_MAX_BYTES];
	struct digest d;

	*spooled = 0;
	if (b == NULL || b->type == 0)
		return 'A';
	if (!df->o->changed)
		return 0;
	if ((b->type == '5') != (kind_of(e->typeflag) == '5'))
		return 'M';
	if (b->flags & PATH_IMPLIED)
		return 0; /* a directory the base only implies */
	fingerprint_head(&d, e);
	if (kind_of(e->typeflag) == '0' && e->datasize > 0) {
		if (ftruncate(df->spool, 0) < 0 ||
		    lseek(df->spool, 0, SEEK_SET))
			err(EXIT_DATA, "spool");
		fingerprint_data(&d, r, df->o->list ? -1 : df->spool);
		*spooled = 1;
	}
	digest_final_raw(&d, fp);
	return memcmp(fp, pathset_extra(df->base, b), FP_SIZE) ? 'M' : 0;
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

/* A hard link out of the root has no place in a tree. */
static void
check_link(const struct tar_entry *e, const char *label)
{
	char *target;

	if (e->typeflag != '1')
		return;
	if ((target = path_normalize(e->linkname)) == NULL)
		errx(EXIT_DATA, "%s: '%s': a hard link to '%s' leaves the root",
		     label, e->name, e->linkname);
	free(target);
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
		char what;
		if (path == NULL)
			errx(EXIT_DATA, "%s: '%s': a name that leaves the root",
			     label, e->name);
		check_link(e, label);
		what = *path ? classify(df, path, e, r, &spooled) : 0;
		if (what != 0 && df->o->list)
			add_line(&df->lines, what, path);
		else if (what != 0)
			copy_entry(df, e, r, spooled);
		free(path);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_reader_close(r);
}

/* NEW's paths (and the directories they imply), from a first read. */
static struct pathset *
new_paths(int fd, const char *label)
{
	struct tar_reader *r = tar_reader_new(instream_fdopen(dup(fd), label));
	struct pathset *set = pathset_new(0);
	struct tar_entry *e;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		char *path = path_normalize(e->name);
		if (path == NULL)
			errx(EXIT_DATA, "%s: '%s': a name that leaves the root",
			     label, e->name);
		if (*path != '\0') {
			struct path_info *p = pathset_add(set, path, NULL);
			if (p->type == 0 || (p->flags & PATH_IMPLIED)) {
				p->type = kind_of(e->typeflag);
				p->flags = p->type == '5' ? PATH_DIR : 0;
			}
			add_parents(set, path);
		}
		free(path);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	tar_reader_close(r);
	if (lseek(fd, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "%s", label);
	return set;
}

/*
 * The base paths NEW lacks, each deleted by one whiteout: only the topmost
 * (a deleted directory's contents go with it) and only where NEW has the
 * parent as a directory (a file that replaced it deletes it already).
 */
static void
deletions(struct diff *df, struct pathset *newset)
{
	struct path_info **sorted = pathset_sorted(df->base);
	int64_t mtime = timestamp_default();

	for (size_t i = 0; i < pathset_count(df->base); i++) {
		struct path_info *b = sorted[i], *n, *parent;
		char *up;
		if (b->type == 0)
			continue;
		n = pathset_get(newset, b->path);
		if (n != NULL && n->type != 0)
			continue;
		up = path_parent(b->path);
		parent = *up ? pathset_get(newset, up) : NULL;
		free(up);
		if (*b->path && strchr(b->path, '/') &&
		    (parent == NULL || !(parent->flags & PATH_DIR)))
			continue;
		if (df->o->list) {
			add_line(&df->lines, 'D', b->path);
		} else {
			struct tar_entry e;
			char *name = whiteout_name(b->path);
			whiteout_entry(&e, name, mtime);
			tar_writer_header(df->w, &e);
			free(name);
		}
	}
	free(sorted);
}

static int
cmp_line(const void *a, const void *b)
{
	/* by path, then by letter */
	int c = strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
	return c ? c : (**(char *const *)a - **(char *const *)b);
}

static void
print_lines(struct lines *l, int fd)
{
	FILE *f = fdopen(fd, "w");

	if (f == NULL)
		err(EXIT_DATA, "fdopen");
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), cmp_line);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "%s\n", l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	if (fflush(f) != 0 || ferror(f))
		err(EXIT_DATA, "write");
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct diff df = {0};
	struct pathset *newset = NULL;
	int in, out;

	parse_options(argc, argv, &o);
	df.o = &o;
	df.spool = o.changed ? spool_tempfile() : -1;
	df.base = read_bases(&o);
	/* Deletions need NEW's paths before its entries: read it twice. */
	in = o.whiteouts || o.list || strcmp(o.input, "-") != 0
	         ? spool_open(o.input)
	         : STDIN_FILENO;
	out = outfile_open(o.output, o.list ? OUT_TEXT : OUT_TAR);
	if (!o.list)
		df.w = tar_writer_new(out);
	if (o.whiteouts || o.list) {
		newset = new_paths(in, o.input);
		deletions(&df, newset);
		pathset_free(newset);
	}
	diff_new(&df, in, o.input);
	if (o.list)
		print_lines(&df.lines, out);
	else
		tar_writer_finish(df.w);
	outfile_commit();
	pathset_free(df.base);
	free(o.bases);
	return 0;
}
