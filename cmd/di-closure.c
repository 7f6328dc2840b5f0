/*
 * di-closure: a tar of store paths and everything they reference, as Nix's
 * mkTarball with writeReferencesToFile made it.
 *
 *	di-closure [--store DIR] [--graph FILE]... [--scan] [--exclude-roots]
 *	           [--root-contents] [--list [-0]] [--layers N] [--mtime T]
 *	           [-o FILE] [PATH]...
 *
 * The closure comes from exportReferencesGraph files, or from scanning the
 * paths' bytes for the hashes of the other paths in the store, or is the
 * roots alone.  Each path goes at its own place in the tree, under its
 * parent directories: in one tree, or with --layers in a STACK of layers
 * that common/layer_plan.h groups.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "dirtree.h"
#include "errors.h"
#include "outfile.h"
#include "path.h"
#include "json.h"
#include "layer_plan.h"
#include "refgraph.h"
#include "stack.h"
#include "tar_writer.h"
#include "timestamp.h"
#include "treemerge.h"
#include "xalloc.h"

#define COPY_CHUNK (1 << 20)

struct options {
	char *store;
	const char **graphs;
	size_t ngraphs;
	int scan, exclude_roots, root_contents, list, nul;
	size_t layers; /* --layers N, or 0 for one tree */
	int64_t mtime;
	const char *output;
	char **paths;
	int npaths;
};

/* A sorted list of store paths, each malloc'd. */
struct paths {
	char **v;
	size_t n;
};

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-closure [--store DIR] [--graph FILE]... [--scan] "
	    "[--exclude-roots]\n"
	    "                  [--root-contents] [--list [-0]] [--layers N]\n"
	    "                  [--mtime T] [-o FILE] [PATH]...\n"
	    "Write a tar of the store PATHs (or stdin's lines) and what they "
	    "reference.\n"
	    "      --store DIR      the store (default /nix/store)\n"
	    "      --graph FILE     references from an exportReferencesGraph "
	    "file\n"
	    "      --scan           find references in the paths' bytes, as "
	    "Nix does\n"
	    "      --exclude-roots  leave the roots out, only what they "
	    "reference\n"
	    "      --root-contents  also put each root's contents at /\n"
	    "      --list           print the closure's paths instead, sorted\n"
	    "                       (with --layers: the plan, as JSON)\n"
	    "      --layers N       a STACK of at most N layers, not one tree\n"
	    "  -0, --null           paths end in NUL, not newline (stdin and "
	    "--list)\n"
	    "      --mtime T        time of every entry (default: "
	    "SOURCE_DATE_EPOCH, else 1)\n"
	    "  -o, --output FILE    write to FILE instead of stdout\n"
	    "      --help, --version\n");
	exit(status);
}

/* "/a//b/" as "/a/b"; NULL when it is not absolute or climbs out. */
static char *
absolute_path(const char *s)
{
	char *rel, *abs;

	if (*s != '/' || (rel = path_normalize(s)) == NULL)
		return NULL;
	abs = xasprintf("/%s", rel);
	free(rel);
	return abs;
}

/* --layers N: 1 to 1000 (Docker stacks at most 125 or so). */
static size_t
parse_layers(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || n < 1 || n > 1000)
		usage_error("--layers wants a number from 1 to 1000, not '%s'",
		            s);
	return (size_t)n;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_STORE = 256,
		OPT_GRAPH,
		OPT_SCAN,
		OPT_EXCLUDE_ROOTS,
		OPT_ROOT_CONTENTS,
		OPT_LIST,
		OPT_MTIME,
		OPT_LAYERS,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"store", required_argument, NULL, OPT_STORE},
	    {"graph", required_argument, NULL, OPT_GRAPH},
	    {"scan", no_argument, NULL, OPT_SCAN},
	    {"exclude-roots", no_argument, NULL, OPT_EXCLUDE_ROOTS},
	    {"root-contents", no_argument, NULL, OPT_ROOT_CONTENTS},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"null", no_argument, NULL, '0'},
	    {"mtime", required_argument, NULL, OPT_MTIME},
	    {"layers", required_argument, NULL, OPT_LAYERS},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *store = "/nix/store";
	int c;

	o->mtime = timestamp_default();
	while ((c = getopt_long(argc, argv, "0o:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
			store = optarg;
			break;
		case OPT_GRAPH:
			o->graphs = xreallocarray(o->graphs, o->ngraphs + 1,
			                          sizeof(*o->graphs));
			o->graphs[o->ngraphs++] = optarg;
			break;
		case OPT_SCAN:
			o->scan = 1;
			break;
		case OPT_EXCLUDE_ROOTS:
			o->exclude_roots = 1;
			break;
		case OPT_ROOT_CONTENTS:
			o->root_contents = 1;
			break;
		case OPT_LIST:
			o->list = 1;
			break;
		case '0':
			o->nul = 1;
			break;
		case OPT_MTIME:
			if (timestamp_parse(optarg, &o->mtime) < 0)
				usage_error("--mtime: bad time '%s'", optarg);
			break;
		case OPT_LAYERS:
			o->layers = parse_layers(optarg);
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
	if (o->scan && o->ngraphs > 0)
		usage_error("--scan and --graph are two ways to the same "
		            "closure: give one");
	if (o->layers && o->root_contents)
		usage_error("--root-contents puts files outside the store: "
		            "make them a layer of their own (di-layer)");
	if ((o->store = absolute_path(store)) == NULL || !strcmp(o->store, "/"))
		usage_error("--store wants an absolute directory, not '%s'",
		            store);
	o->paths = argv + optind;
	o->npaths = argc - optind;
}

/* --- roots -------------------------------------------------------------- */

static void
add_path(struct paths *p, char *s)
{
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n++] = s;
}

/* S made absolute against the working directory, or NULL. */
static char *
from_cwd(const char *s)
{
	char cwd[PATH_MAX], *joined, *abs;

	if (*s == '/')
		return absolute_path(s);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(EXIT_DATA, "getcwd");
	joined = xasprintf("%s/%s", cwd, s);
	abs = absolute_path(joined);
	free(joined);
	return abs;
}

/* The store path P lies in (STORE/HASH-NAME/...), or NULL. */
static char *
store_prefix(const struct options *o, const char *p)
{
	size_t n = strlen(o->store);
	const char *end;
	char *sp;

	if (strncmp(p, o->store, n) != 0 || p[n] != '/')
		return NULL;
	end = strchr(p + n + 1, '/');
	sp = end ? xstrndup(p, (size_t)(end - p)) : xstrdup(p);
	if (refgraph_store_path(o->store, sp) < 0) {
		free(sp);
		return NULL;
	}
	return sp;
}

/* P's symbolic link followed one step, or its real path; NULL if neither. */
static char *
follow(const char *p)
{
	char target[PATH_MAX], *next, *dir, *real;
	struct stat st;
	ssize_t n;

	if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
		if ((n = readlink(p, target, sizeof(target) - 1)) < 0)
			return NULL;
		target[n] = '\0';
		if (target[0] == '/')
			return absolute_path(target);
		dir = xstrdup(p);
		*strrchr(dir, '/') = '\0';
		next = xasprintf("%s/%s", dir, target);
		free(dir);
		real = absolute_path(next);
		free(next);
		return real;
	}
	if ((real = realpath(p, NULL)) == NULL || strcmp(real, p) == 0) {
		free(real);
		return NULL;
	}
	return real;
}

/*
 * S's store path, as nix-store -qR finds it: any path inside a store path
 * stands for it, and a symbolic link (./result) is followed until it leads
 * into the store.  The store path itself may be a link; it is not
 * followed once reached.
 */
static char *
store_path(const struct options *o, const char *s)
{
	char *p = from_cwd(s), *sp = NULL, *next;

	for (int hops = 0; p != NULL && hops < 40; hops++) {
		if ((sp = store_prefix(o, p)) != NULL)
			break;
		next = follow(p);
		free(p);
		p = next;
	}
	free(p);
	if (sp == NULL)
		errx(EXIT_DATA, "%s: not a store path in %s", s, o->store);
	return sp;
}

/* The PATH arguments, or standard input's lines. */
static struct paths
read_roots(const struct options *o)
{
	struct paths roots = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (int i = 0; i < o->npaths; i++)
		add_path(&roots, store_path(o, o->paths[i]));
	if (o->npaths > 0)
		return roots;
	while ((n = getdelim(&line, &cap, o->nul ? '\0' : '\n', stdin)) > 0) {
		if (line[n - 1] == '\n' || line[n - 1] == '\0')
			line[--n] = '\0';
		if (n > 0)
			add_path(&roots, store_path(o, line));
	}
	if (ferror(stdin))
		err(EXIT_DATA, "stdin");
	free(line);
	return roots;
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort P and drop repeated paths. */
static void
sort_unique(struct paths *p)
{
	size_t out = 0;

	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), by_string);
	for (size_t i = 0; i < p->n; i++) {
		if (out > 0 && strcmp(p->v[out - 1], p->v[i]) == 0)
			free(p->v[i]);
		else
			p->v[out++] = p->v[i];
	}
	p->n = out;
}

static struct paths
copy_paths(const struct paths *from)
{
	struct paths p = {0};

	for (size_t i = 0; i < from->n; i++)
		add_path(&p, xstrdup(from->v[i]));
	return p;
}

/* --- the closure from graphs -------------------------------------------- */

static void
load_graph(struct refgraph *g, const char *path)
{
	struct buffer b = {0};
	char *why;

	if (buffer_read_file(&b, path, 0) < 0)
		err(EXIT_DATA, "%s", path);
	if (refgraph_parse(g, (char *)b.data, b.len, path, &why) < 0)
		errx(EXIT_DATA, "%s", why);
	buffer_free(&b);
}

/* The closure, and in G the references (kept for --layers). */
static struct paths
closure_from_graphs(const struct options *o, const struct paths *roots,
                    struct refgraph *g)
{
	struct paths c = {0};
	char *why;

	for (size_t i = 0; i < o->ngraphs; i++)
		load_graph(g, o->graphs[i]);
	if (refgraph_closure(g, (const char *const *)roots->v, roots->n, &c.v,
	                     &c.n, &why) < 0)
		errx(EXIT_DATA, "%s", why);
	for (size_t i = 0; i < c.n; i++)
		if (refgraph_store_path(o->store, c.v[i]) < 0)
			errx(EXIT_DATA, "%s: not a store path in %s", c.v[i],
			     o->store);
	return c;
}

/* --- the closure by scanning -------------------------------------------- */

struct scan {
	struct refscan *rs;
	struct refgraph *g;      /* what each scanned path references */
	struct paths found;      /* the current path's references */
	struct paths candidates; /* every store path, by id */
	void *seen;              /* tsearch tree of closure paths */
	struct paths closure;
	size_t next; /* closure paths scanned so far */
};

/* Every store path is a candidate; its id is its place in the list. */
static void
list_store(const struct options *o, struct scan *s)
{
	DIR *d = opendir(o->store);
	struct dirent *e;
	char *p;

	if (d == NULL)
		err(EXIT_DATA, "%s", o->store);
	while ((e = readdir(d)) != NULL) {
		p = xasprintf("%s/%s", o->store, e->d_name);
		long h = refgraph_store_path(o->store, p);
		size_t len = strlen(e->d_name);
		/* Nix's lock files share their path's hash. */
		if (h < 0 ||
		    (len > 5 && !strcmp(e->d_name + len - 5, ".lock"))) {
			free(p);
			continue;
		}
		add_path(&s->candidates, p);
	}
	closedir(d);
	sort_unique(&s->candidates);
	/* In byte order, so that of two paths sharing a hash the same wins. */
	for (size_t i = s->candidates.n; i-- > 0;)
		refscan_add(s->rs, s->candidates.v[i] + strlen(o->store) + 1,
		            i);
}

static void
visit(struct scan *s, const char *path)
{
	char **found = tsearch(path, &s->seen,
	                       (int (*)(const void *, const void *))strcmp);

	if (found == NULL)
		err(EXIT_DATA, "malloc");
	if (*found != path)
		return;
	*found = xstrdup(path);
	add_path(&s->closure, *found);
}

static void
found_reference(void *arg, size_t id)
{
	struct scan *s = arg;

	visit(s, s->candidates.v[id]);
	add_path(&s->found, s->candidates.v[id]);
}

/* Feed one string to the scanner as a piece of its own. */
static void
scan_string(struct refscan *rs, const char *str)
{
	refscan_break(rs);
	refscan_feed(rs, str, strlen(str));
	refscan_break(rs);
}

/* Names, symlink targets and file contents of PATH, as Nix's NAR has them. */
static void
scan_path(struct scan *s, const char *path)
{
	static char buf[COPY_CHUNK];
	struct dirtree *t =
	    dirtree_open(path, "x", DIRTREE_SELF | DIRTREE_NO_XATTRS);
	struct dirtree_entry *e;
	ssize_t n;
	int got;

	if (t == NULL)
		err(EXIT_DATA, "%s", path);
	while ((got = dirtree_next(t, &e)) == 1) {
		const char *base = strrchr(e->path, '/');
		if (base != NULL)
			scan_string(s->rs, base + 1);
		scan_string(s->rs, e->tar.linkname);
		while ((n = dirtree_read(t, buf, sizeof(buf))) > 0)
			refscan_feed(s->rs, buf, (size_t)n);
		if (n < 0)
			errx(EXIT_DATA, "%s", dirtree_error(t));
		refscan_break(s->rs);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(t));
	dirtree_close(t);
	s->found.n = 0;
	refscan_take(s->rs, found_reference, s);
	refgraph_add(s->g, path, (const char *const *)s->found.v, s->found.n);
}

static void
keep(void *p)
{
	(void)p; /* the closure list owns the strings */
}

static struct paths
closure_by_scanning(const struct options *o, const struct paths *roots,
                    struct refgraph *g)
{
	struct scan s = {.rs = refscan_new(), .g = g};

	list_store(o, &s);
	for (size_t i = 0; i < roots->n; i++)
		visit(&s, roots->v[i]);
	/* The closure grows as its paths are scanned: a worklist. */
	for (s.next = 0; s.next < s.closure.n; s.next++)
		scan_path(&s, s.closure.v[s.next]);
	tdestroy(s.seen, keep);
	refscan_free(s.rs);
	for (size_t i = 0; i < s.candidates.n; i++)
		free(s.candidates.v[i]);
	free(s.candidates.v);
	free(s.found.v);
	sort_unique(&s.closure);
	return s.closure;
}

/* --exclude-roots: the closure without the roots. */
static void
drop_roots(struct paths *c, const struct paths *roots)
{
	size_t out = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (bsearch(&c->v[i], roots->v, roots->n, sizeof(*roots->v),
		            by_string) != NULL)
			free(c->v[i]);
		else
			c->v[out++] = c->v[i];
	}
	c->n = out;
}

/* --- output ------------------------------------------------------------- */

static void
print_list(const struct options *o, const struct paths *c)
{
	FILE *out = fdopen(outfile_open(o->output, OUT_TEXT), "w");

	if (out == NULL)
		err(EXIT_DATA, "fdopen");
	for (size_t i = 0; i < c->n; i++)
		fprintf(out, "%s%c", c->v[i], o->nul ? '\0' : '\n');
	if (fflush(out) != 0 || ferror(out))
		outfile_write_failed(fileno(out));
	outfile_commit();
}

/* Every closure path at its place; with --root-contents, the roots' too. */
static struct treemerge *
tree_sources(const struct options *o, const struct paths *c,
             const struct paths *roots_in_order)
{
	struct treemerge *m = treemerge_new();

	for (size_t i = 0; i < c->n; i++)
		treemerge_add_dir(m, c->v[i], c->v[i] + 1, DIRTREE_SELF);
	for (size_t i = 0; o->root_contents && i < roots_in_order->n; i++)
		treemerge_add_dir(m, roots_in_order->v[i], NULL, 0);
	return m;
}

/* Every entry as di-layer makes them: owner 0:0, one time. */
static void
normalize(const struct options *o, struct tar_entry *e)
{
	e->mtime = o->mtime;
	e->uid = e->gid = 0;
	e->uname = e->gname = "";
}

/* M's entries and data to W; returns the bytes written, end included. */
static uint64_t
copy_tree(const struct options *o, struct treemerge *m, struct tar_writer *w)
{
	static char buf[COPY_CHUNK];
	struct tar_entry *e;
	uint64_t bytes;
	size_t n;

	treemerge_start(m);
	while (treemerge_next(m, &e)) {
		normalize(o, e);
		tar_writer_header(w, e);
		while ((n = treemerge_read(m, buf, sizeof(buf))) > 0)
			tar_writer_raw(w, buf, n);
		tar_writer_pad(w, e->typeflag == '0' ? e->size : 0);
	}
	treemerge_check_unchanged(m);
	bytes = tar_writer_offset(w) + 2 * TAR_BLOCK;
	tar_writer_finish(w);
	return bytes;
}

static void
write_tree(const struct options *o, struct treemerge *m)
{
	int fd = outfile_open(o->output, OUT_TAR);

	treemerge_exclude_output(m, fd);
	copy_tree(o, m, tar_writer_new(fd));
	outfile_commit();
}

/* --- layers ------------------------------------------------------------- */

static struct treemerge *
paths_tree(char *const *paths, size_t n)
{
	struct treemerge *m = treemerge_new();

	for (size_t i = 0; i < n; i++)
		treemerge_add_dir(m, paths[i], paths[i] + 1, DIRTREE_SELF);
	return m;
}

/*
 * The bytes of the layer tar of PATHS, from their metadata alone: headers
 * encoded (to NULL_FD) and data sizes counted, none read.  A STACK member's
 * size comes before its bytes, and this keeps the data to one read.
 */
static uint64_t
layer_bytes(const struct options *o, char *const *paths, size_t n, int null_fd)
{
	struct treemerge *m = paths_tree(paths, n);
	struct tar_writer *w = tar_writer_new(null_fd);
	struct tar_entry *e;
	uint64_t data = 0;

	treemerge_start(m);
	while (treemerge_next(m, &e)) {
		normalize(o, e);
		tar_writer_header(w, e);
		if (e->typeflag == '0')
			data += ((uint64_t)e->size + TAR_BLOCK - 1) /
			        TAR_BLOCK * TAR_BLOCK;
	}
	data += tar_writer_offset(w) + 2 * TAR_BLOCK;
	tar_writer_abandon(w);
	treemerge_free(m);
	return data;
}

static long
index_of(const struct paths *c, const char *path)
{
	char *const *at = bsearch(&path, c->v, c->n, sizeof(*c->v), by_string);

	return at ? at - c->v : -1;
}

/* The grouping of the closure C, each path weighed by its own layer. */
static struct layer_plan *
plan_layers(const struct options *o, const struct paths *c,
            const struct refgraph *g, int null_fd)
{
	struct layer_plan *p = layer_plan_new(c->n);
	const char **refs;
	size_t nrefs;
	long j;

	for (size_t i = 0; i < c->n; i++) {
		layer_plan_size(p, i, layer_bytes(o, &c->v[i], 1, null_fd));
		nrefs = refgraph_references(g, c->v[i], &refs);
		for (size_t k = 0; k < nrefs; k++)
			if ((j = index_of(c, refs[k])) >= 0)
				layer_plan_ref(p, i, (size_t)j);
		free(refs);
	}
	layer_plan_make(p, o->layers);
	return p;
}

/* Layer K's store paths, in byte order (the array only: C owns them). */
static char **
layer_paths(const struct layer_plan *p, size_t k, const struct paths *c,
            size_t *n)
{
	const size_t *v = layer_plan_layer(p, k, n);
	char **out = xreallocarray(NULL, *n + 1, sizeof(*out));

	for (size_t i = 0; i < *n; i++)
		out[i] = c->v[v[i]];
	return out;
}

/* The STACK's list: each layer's exact size and its store paths. */
static jv
stack_layers(const struct options *o, const struct layer_plan *p,
             const struct paths *c, int null_fd)
{
	jv layers = jv_array();

	for (size_t k = 0; k < layer_plan_count(p); k++) {
		size_t n;
		char **v = layer_paths(p, k, c, &n);
		jv paths = jv_array(), l = jv_object();
		for (size_t i = 0; i < n; i++)
			paths = jv_array_append(paths, jv_string(v[i]));
		l = jv_object_set(
		    l, jv_string("size"),
		    jv_number((double)layer_bytes(o, v, n, null_fd)));
		layers = jv_array_append(
		    layers, jv_object_set(l, jv_string("paths"), paths));
		free(v);
	}
	return layers;
}

/* --list --layers: a line per layer, "NAME SIZE PATH...". */
static void
print_plan(const struct options *o, jv layers)
{
	FILE *out = fdopen(outfile_open(o->output, OUT_TEXT), "w");
	char name[32];

	if (out == NULL)
		err(EXIT_DATA, "fdopen");
	for (int k = 0; k < jv_array_length(jv_copy(layers)); k++) {
		jv l = jv_array_get(jv_copy(layers), k);
		jv size = json_get(jv_copy(l), "size");
		jv paths = json_get(l, "paths");
		stack_member_name((size_t)k, name);
		fprintf(out, "%s %.0f", name, jv_number_value(size));
		for (int i = 0; i < jv_array_length(jv_copy(paths)); i++) {
			jv s = jv_array_get(jv_copy(paths), i);
			fprintf(out, " %s", jv_string_value(s));
			jv_free(s);
		}
		fputc(o->nul ? '\0' : '\n', out);
		jv_free(size);
		jv_free(paths);
	}
	jv_free(layers);
	if (fflush(out) != 0 || ferror(out))
		outfile_write_failed(fileno(out));
	outfile_commit();
}

/* The STACK: the list, then each layer, its data read once. */
static void
write_stack(const struct options *o, const struct layer_plan *p,
            const struct paths *c, jv layers)
{
	int fd = outfile_open(o->output, OUT_TAR);
	struct stack_writer *sw = stack_writer_new(fd, layers, o->mtime);

	for (size_t k = 0; k < layer_plan_count(p); k++) {
		size_t n;
		char **v = layer_paths(p, k, c, &n);
		struct treemerge *m = paths_tree(v, n);
		treemerge_exclude_output(m, fd);
		stack_writer_layer_begin(sw);
		stack_writer_layer_end(sw, copy_tree(o, m, tar_writer_new(fd)));
		treemerge_free(m);
		free(v);
	}
	stack_writer_finish(sw);
	outfile_commit();
}

static void
layered(const struct options *o, const struct paths *c,
        const struct refgraph *g)
{
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct layer_plan *p;
	jv layers;

	if (null_fd < 0)
		err(EXIT_DATA, "/dev/null");
	if (c->n == 0)
		errx(EXIT_DATA, "the closure is empty: no layers to make");
	p = plan_layers(o, c, g, null_fd);
	layers = stack_layers(o, p, c, null_fd);
	close(null_fd);
	if (o->list)
		print_plan(o, layers);
	else
		write_stack(o, p, c, layers);
	layer_plan_free(p);
}

static void
free_paths(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct paths given, roots, closure;
	struct refgraph *g = refgraph_new();

	parse_options(argc, argv, &o);
	given = read_roots(&o);
	roots = copy_paths(&given);
	sort_unique(&roots);
	if (o.ngraphs > 0)
		closure = closure_from_graphs(&o, &roots, g);
	else if (o.scan)
		closure = closure_by_scanning(&o, &roots, g);
	else
		closure = copy_paths(&roots);
	if (o.exclude_roots)
		drop_roots(&closure, &roots);
	if (o.layers > 0) {
		layered(&o, &closure, g);
	} else if (o.list) {
		print_list(&o, &closure);
	} else {
		struct treemerge *m = tree_sources(&o, &closure, &given);
		write_tree(&o, m);
		treemerge_free(m);
	}
	free_paths(&closure);
	free_paths(&roots);
	free_paths(&given);
	refgraph_free(g);
	free(o.graphs);
	free(o.store);
	return 0;
}
