/*
 * di-merge: several trees into one, the first to have a path wins: the
 * seed's mergeTarballs and mergeDrvs (tar -xk of each input, then tar -c),
 * without extracting anything.
 *
 *	di-merge [--last-wins] [-o FILE] [INPUT]...
 *
 * Each input is read once, in order (reversed with --last-wins), against
 * one set of the paths written so far, by the tree rule of
 * common/placement.  It is not common/flatten with whiteouts off: a
 * hardlink here may name a path that any input wins, directories that are
 * only implied are not written, and without --last-wins a later input's
 * file does not hide what the inputs after it hold in a directory.
 * Entries of tar inputs that win are copied through byte for byte;
 * entries of directory inputs are encoded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtree.h"
#include "errors.h"
#include "outfile.h"
#include "path.h"
#include "pathset.h"
#include "placement.h"
#include "tar_reader.h"
#include "tar_writer.h"
#include "timestamp.h"
#include "xalloc.h"

#define COPY_BUF (256 * 1024)

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-merge [--last-wins] [-o FILE] [INPUT]...\n"
	    "Merge trees (tars, compressed or not, or directories) into one "
	    "tar;\n"
	    "the first input to have a path wins, as with tar -xk.\n"
	    "      --last-wins      the last input to have a path wins\n"
	    "  -o, --output FILE    write to FILE instead of stdout\n"
	    "      --help, --version\n");
	exit(status);
}

struct options {
	const char *output;
	int last_wins;
	char **inputs;
	int ninputs;
};

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_LAST = 256, OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
	    {"last-wins", no_argument, NULL, OPT_LAST},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	static char *stdin_only[] = {"-"};
	int c, nstdin = 0;

	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_LAST:
			o->last_wins = 1;
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
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	if (o->ninputs == 0) {
		o->inputs = stdin_only;
		o->ninputs = 1;
	}
	for (int i = 0; i < o->ninputs; i++)
		nstdin += strcmp(o->inputs[i], "-") == 0;
	if (nstdin > 1)
		usage_error("standard input given more than once");
}

/* --- inputs: a tar stream or a directory ------------------------------ */

struct input {
	const char *label;
	struct tar_reader *tar;
	struct dirtree *dir;
	int64_t mtime; /* of directory entries */
};

static void
input_open(struct input *in, const char *path, int64_t mtime)
{
	struct stat st;

	memset(in, 0, sizeof(*in));
	in->label = strcmp(path, "-") == 0 ? "stdin" : path;
	in->mtime = mtime;
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		in->dir = dirtree_open(path, NULL, DIRTREE_HARDLINKS);
		if (in->dir == NULL)
			err(EXIT_DATA, "%s", path);
	} else {
		in->tar = tar_reader_open(path);
	}
}

/*
 * The next entry: 1, or 0 at the end.  *raw says whether E's raw header
 * bytes describe it (a tar input); a directory's entries get owner 0:0 and
 * the time of everything di makes.
 */
static int
input_next(struct input *in, struct tar_entry **e, int *raw)
{
	struct dirtree_entry *de;
	int got;

	*raw = in->tar != NULL;
	if (in->tar != NULL) {
		got = tar_reader_next(in->tar, e);
		if (got < 0)
			errx(EXIT_DATA, "%s", tar_reader_error(in->tar));
		return got;
	}
	got = dirtree_next(in->dir, &de);
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(in->dir));
	if (got == 0)
		return 0;
	de->tar.uid = de->tar.gid = 0;
	de->tar.mtime = in->mtime;
	*e = &de->tar;
	return 1;
}

static ssize_t
input_read(struct input *in, void *buf, size_t n)
{
	ssize_t k = in->tar != NULL ? tar_reader_read(in->tar, buf, n)
	                            : dirtree_read(in->dir, buf, n);

	if (k < 0)
		errx(EXIT_DATA, "%s",
		     in->tar != NULL ? tar_reader_error(in->tar)
		                     : dirtree_error(in->dir));
	return k;
}

static void
input_close(struct input *in)
{
	if (in->tar != NULL)
		tar_reader_close(in->tar);
	else
		dirtree_close(in->dir);
}

/* --- the merge -------------------------------------------------------- */

/* A hardlink that won but whose target has not been written yet. */
struct deferred {
	struct tar_entry e; /* header fields; name and linkname owned */
	unsigned char *raw; /* NULL: encode the header */
	size_t rawlen;
	char *path, *target;
	const char *label;
	size_t next; /* the next link waiting for the same target, + 1 */
};

struct merge {
	struct placement *pl;   /* the tree rule across inputs */
	struct pathset *tree;   /* its set */
	struct input_paths *in; /* the tree rule within the current input */
	struct tar_writer *w;
	struct deferred *deferred;
	size_t ndeferred;
};

static void
copy_data(struct merge *m, struct input *in, int64_t size)
{
	static char buf[COPY_BUF];
	int64_t left = size;

	while (left > 0) {
		size_t want = left > COPY_BUF ? COPY_BUF : (size_t)left;
		ssize_t k = input_read(in, buf, want);
		if (k == 0)
			errx(EXIT_DATA, "%s: short data", in->label);
		tar_writer_raw(m->w, buf, (size_t)k);
		left -= k;
	}
	tar_writer_pad(m->w, size);
}

/*
 * Write E at PATH: its own bytes when it has them and its names need no
 * change, else encoded with the normalized name (and link TARGET).
 */
static void
write_entry(struct merge *m, struct input *in, const struct tar_entry *e,
            int raw, const char *path, const char *target)
{
	int64_t size = e->datasize;

	if (raw && e->name[0] != '/' &&
	    (target == NULL || e->linkname[0] != '/'))
		tar_writer_raw(m->w, e->raw, e->rawlen);
	else {
		struct tar_entry c = *e;
		if (e->name[0] == '/')
			c.name = path;
		if (target != NULL)
			c.linkname = target;
		if (tar_type_header_only(c.typeflag))
			c.size = 0;
		tar_writer_header(m->w, &c);
	}
	if (size > 0)
		copy_data(m, in, size);
}

/* Has TARGET been written as something a hardlink may point at? */
static int
link_target_written(struct merge *m, const char *target)
{
	struct path_info *t = pathset_get(m->tree, target);

	return t != NULL && (t->flags & PATH_WRITTEN) &&
	       !(t->flags & PATH_DIR) && t->type != 0;
}

static void
defer_link(struct merge *m, struct input *in, const struct tar_entry *e,
           int raw, const char *path, char *target)
{
	struct deferred *d;

	m->deferred =
	    xreallocarray(m->deferred, m->ndeferred + 1, sizeof(*m->deferred));
	d = &m->deferred[m->ndeferred++];
	memset(d, 0, sizeof(*d));
	d->e = *e;
	d->e.name = xstrdup(e->name[0] == '/' ? path : e->name);
	d->e.linkname = xstrdup(e->linkname[0] == '/' ? target : e->linkname);
	d->e.uname = xstrdup(e->uname);
	d->e.gname = xstrdup(e->gname);
	d->e.records = NULL;
	d->e.nrecords = 0;
	d->e.raw = NULL;
	d->e.size = 0;
	if (raw && e->name[0] != '/' && e->linkname[0] != '/') {
		d->raw = xmalloc(e->rawlen);
		memcpy(d->raw, e->raw, e->rawlen);
		d->rawlen = e->rawlen;
	}
	d->path = xstrdup(path);
	d->target = target;
	d->label = in->label;
}

/* A hardlink that won: written now if its target is, else later. */
static void
take_link(struct merge *m, struct input *in, const struct tar_entry *e, int raw,
          const char *path)
{
	char *target = path_normalize(e->linkname);

	if (target == NULL || *target == '\0')
		errx(EXIT_DATA, "%s: '%s': hardlink to '%s' outside the tree",
		     in->label, e->name, e->linkname);
	if (strcmp(target, path) == 0)
		errx(EXIT_DATA, "%s: '%s': hardlink to itself", in->label,
		     e->name);
	if (link_target_written(m, target)) {
		write_entry(m, in, e, raw, path, target);
		pathset_get(m->tree, path)->flags |= PATH_WRITTEN;
		free(target);
		return;
	}
	defer_link(m, in, e, raw, path, target);
}

static void
take_entry(struct merge *m, struct input *in, const struct tar_entry *e,
           int raw)
{
	char *path;
	struct path_info *p;

	if (e->typeflag == 'g')
		return; /* a pax global header: no file */
	path = path_normalize(e->name);
	if (path == NULL)
		errx(EXIT_DATA,
		     "%s: '%s': name climbs out of the tree with '..'",
		     in->label, e->name);
	p = input_paths_take(m->in, e, path) != NULL
	        ? placement_claim(m->pl, path, e->typeflag)
	        : NULL;
	if (p != NULL && e->typeflag == '1')
		take_link(m, in, e, raw, path);
	else if (p != NULL)
		write_entry(m, in, e, raw, path, NULL);
	free(path);
}

static void
merge_input(struct merge *m, const char *path, int64_t mtime)
{
	struct input in;
	struct tar_entry *e;
	int raw;

	input_open(&in, path, mtime);
	placement_next_input(m->pl);
	m->in = input_paths_new(in.label, 0);
	while (input_next(&in, &e, &raw) == 1)
		take_entry(m, &in, e, raw);
	input_paths_free(m->in);
	m->in = NULL;
	input_close(&in);
}

/* Write deferred link D, now that its target is written. */
static void
write_link(struct merge *m, struct deferred *d)
{
	if (d->raw != NULL)
		tar_writer_raw(m->w, d->raw, d->rawlen);
	else
		tar_writer_header(m->w, &d->e);
	pathset_get(m->tree, d->path)->flags |= PATH_WRITTEN;
	free(d->target);
	d->target = NULL;
}

/*
 * The hardlinks whose targets came later, in order, each as soon as its
 * target is written: a link written releases the links that wait for its
 * path, at once.  Links wait in lists by target (WAITING), so a chain of
 * links costs its length, however it is ordered.  What is left points at
 * a path the output does not have.
 */
static void
write_deferred(struct merge *m)
{
	struct pathset *waiting = pathset_new(0);
	size_t *stack = xcalloc(m->ndeferred + 1, sizeof(*stack)), top = 0;

	for (size_t i = m->ndeferred; i-- > 0;) {
		struct path_info *q =
		    pathset_add(waiting, m->deferred[i].target, NULL);
		m->deferred[i].next = (size_t)q->aux;
		q->aux = i + 1;
	}
	for (size_t i = 0; i < m->ndeferred; i++) {
		if (m->deferred[i].target == NULL ||
		    !link_target_written(m, m->deferred[i].target))
			continue;
		stack[top++] = i;
		while (top > 0) {
			struct deferred *d = &m->deferred[stack[--top]];
			struct path_info *q;
			if (d->target == NULL)
				continue; /* released twice */
			write_link(m, d);
			if ((q = pathset_get(waiting, d->path)) == NULL)
				continue;
			/* Pushed last first, so the first comes out first. */
			size_t start = top;
			for (size_t k = (size_t)q->aux; k != 0;
			     k = m->deferred[k - 1].next)
				stack[top++] = k - 1;
			for (size_t a = start, b = top; a + 1 < b; a++, b--) {
				size_t t = stack[a];
				stack[a] = stack[b - 1];
				stack[b - 1] = t;
			}
			q->aux = 0;
		}
	}
	free(stack);
	pathset_free(waiting);
	for (size_t i = 0; i < m->ndeferred; i++)
		if (m->deferred[i].target != NULL)
			errx(EXIT_DATA,
			     "%s: '%s': hardlink to '%s', which the output "
			     "does not hold",
			     m->deferred[i].label, m->deferred[i].e.name,
			     m->deferred[i].e.linkname);
}

static void
merge_free(struct merge *m)
{
	for (size_t i = 0; i < m->ndeferred; i++) {
		tar_entry_clear(&m->deferred[i].e);
		free(m->deferred[i].raw);
		free(m->deferred[i].path);
	}
	free(m->deferred);
	pathset_free(placement_finish(m->pl));
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct merge m = {0};
	int64_t mtime;

	parse_options(argc, argv, &o);
	mtime = timestamp_default();
	/*
	 * With --last-wins, inputs go last first: a non-directory that a
	 * later input's directory replaced had replaced what earlier inputs
	 * hold under it.
	 */
	m.pl = placement_new(0, o.last_wins ? PLACEMENT_REPLACES : 0);
	m.tree = placement_tree(m.pl);
	m.w = tar_writer_new(outfile_open(o.output, OUT_TAR));
	for (int i = 0; i < o.ninputs; i++) {
		int k = o.last_wins ? o.ninputs - 1 - i : i;
		merge_input(&m, o.inputs[k], mtime);
	}
	write_deferred(&m);
	tar_writer_finish(m.w);
	outfile_commit();
	merge_free(&m);
	return 0;
}
