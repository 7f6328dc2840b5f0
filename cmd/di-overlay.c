/*
 * di-overlay: flatten an image; run a command as root over it and keep
 * what changed (the seed's exportImage, runWithOverlay and mkRootLayer).
 *
 *	di-overlay [--from IMAGE] [--image NAME[:TAG]] --export
 *	di-overlay [--from IMAGE] [--image NAME[:TAG]] (--run SCRIPT | -c TEXT)
 *	           [--contents INPUT]... [--bind DIR[:DEST]]... [--env K=V]...
 *	           [--subids FIRST:COUNT | --host-root]
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtree.h"
#include "errors.h"
#include "fdio.h"
#include "flatten.h"
#include "image.h"
#include "image_stack.h"
#include "json.h"
#include "outfile.h"
#include "path.h"
#include "placement.h"
#include "rootdir.h"
#include "sandbox.h"
#include "tar_reader.h"
#include "tar_writer.h"
#include "timestamp.h"
#include "upperdir.h"
#include "whiteout.h"
#include "xalloc.h"

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-overlay [--from IMAGE] [--image NAME[:TAG]] "
	    "[--export] [-o FILE]\n"
	    "       di-overlay [--from IMAGE] [--image NAME[:TAG]] "
	    "(--run SCRIPT | -c TEXT)\n"
	    "                  [--contents INPUT]... [--bind DIR[:DEST]]... "
	    "[--env NAME=VALUE]...\n"
	    "                  [--subids FIRST:COUNT | --host-root] [-o FILE]\n"
	    "Write an image's root file system as a tar (--export), or run "
	    "SCRIPT as root\nover it and write what it changed as a layer "
	    "(--run).\n"
	    "      --from IMAGE        the image (default: standard input; "
	    "none for --run)\n"
	    "      --image NAME[:TAG]  which image of the archive\n"
	    "      --export            write the flattened root (the "
	    "default)\n"
	    "      --run SCRIPT        run the executable SCRIPT inside\n"
	    "  -c, --command TEXT      run TEXT with the image's /bin/sh "
	    "(also --run -c TEXT)\n"
	    "      --contents INPUT    copy a tree (tar or directory) in "
	    "first\n"
	    "      --bind DIR[:DEST]   mount DIR read-only at DEST (default: "
	    "DIR)\n"
	    "  -e, --env NAME=VALUE    set a variable for the command\n"
	    "      --subids FIRST:COUNT  host ids FIRST... for ids 0 to "
	    "COUNT-1 "
	    "inside\n"
	    "      --host-root         run the command unconfined, as the "
	    "host's root\n"
	    "  -o, --output FILE       write to FILE instead of standard "
	    "output\n"
	    "      --help, --version\n");
	exit(status);
}

struct options {
	const char *from, *name, *tag, *output;
	const char *script, *text;
	const char **contents, **binds, **env;
	size_t ncontents, nbinds, nenv;
	int export;
	struct sandbox_options sandbox;
	struct rootdir_ids ids;
	int64_t mtime; /* SOURCE_DATE_EPOCH, read before any output */
};

static void
push(const char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* NAME[:TAG]: the tag is after the last ':' that follows the last '/'. */
static void
split_ref(char *ref, struct options *o)
{
	char *slash = strrchr(ref, '/');
	char *colon = strrchr(slash ? slash : ref, ':');

	if (colon != NULL) {
		*colon = '\0';
		o->tag = colon + 1;
	}
	o->name = ref;
	if (*o->name == '\0' || (o->tag != NULL && *o->tag == '\0'))
		usage_error("bad image name '%s'", ref);
}

/* FIRST:COUNT, the same for user and group ids. */
static void
parse_subids(const char *arg, struct options *o)
{
	char *end;
	unsigned long long first, count;

	errno = 0;
	first = strtoull(arg, &end, 10);
	if (errno == 0 && *end == ':' && end > arg &&
	    isdigit((unsigned char)end[1])) {
		count = strtoull(end + 1, &end, 10);
		if (errno == 0 && *end == '\0' && first > 0 && count > 0 &&
		    first + count <= 4294967295ULL) {
			o->ids.uid = o->ids.gid = (unsigned long)first;
			o->ids.count = (unsigned long)count;
			o->sandbox.ids = &o->ids;
			return;
		}
	}
	usage_error("--subids wants FIRST:COUNT, unprivileged ids, not '%s'",
	            arg);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_FROM = 256,
		OPT_IMAGE,
		OPT_EXPORT,
		OPT_RUN,
		OPT_CONTENTS,
		OPT_BIND,
		OPT_SUBIDS,
		OPT_HOST_ROOT,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, OPT_FROM},
	    {"image", required_argument, NULL, OPT_IMAGE},
	    {"export", no_argument, NULL, OPT_EXPORT},
	    {"run", required_argument, NULL, OPT_RUN},
	    {"command", required_argument, NULL, 'c'},
	    {"contents", required_argument, NULL, OPT_CONTENTS},
	    {"bind", required_argument, NULL, OPT_BIND},
	    {"env", required_argument, NULL, 'e'},
	    {"subids", required_argument, NULL, OPT_SUBIDS},
	    {"host-root", no_argument, NULL, OPT_HOST_ROOT},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:e:o:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM:
			o->from = optarg;
			break;
		case OPT_IMAGE:
			split_ref(optarg, o);
			break;
		case OPT_EXPORT:
			o->export = 1;
			break;
		case OPT_RUN:
			/* "--run -c TEXT" reads as "-c TEXT". */
			if (strcmp(optarg, "-c") == 0) {
				if (optind >= argc)
					usage_error("--run -c wants TEXT");
				o->text = argv[optind++];
			} else {
				o->script = optarg;
			}
			break;
		case 'c':
			o->text = optarg;
			break;
		case OPT_CONTENTS:
			push(&o->contents, &o->ncontents, optarg);
			break;
		case OPT_BIND:
			push(&o->binds, &o->nbinds, optarg);
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL || *optarg == '=')
				usage_error("--env wants NAME=VALUE");
			push(&o->env, &o->nenv, optarg);
			break;
		case OPT_SUBIDS:
			parse_subids(optarg, o);
			break;
		case OPT_HOST_ROOT:
			o->sandbox.host_root = 1;
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
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->script != NULL && o->text != NULL)
		usage_error("--run SCRIPT and -c TEXT exclude each other");
	if (o->export && (o->script != NULL || o->text != NULL))
		usage_error("--export and --run exclude each other");
	if (o->script == NULL && o->text == NULL &&
	    (o->ncontents > 0 || o->nbinds > 0 || o->nenv > 0 ||
	     o->sandbox.ids != NULL || o->sandbox.host_root))
		usage_error("--contents, --bind, --env, --subids and "
		            "--host-root go with --run");
	if (o->sandbox.ids != NULL && o->sandbox.host_root)
		usage_error("--subids and --host-root exclude each other");
	if ((o->script != NULL || o->text != NULL) && o->name != NULL &&
	    o->from == NULL)
		usage_error("--run takes its image from --from only");
}

/* --- --export ------------------------------------------------------------ */

static int
export_image(const struct options *o)
{
	int out = outfile_open(o->output, OUT_TAR);
	struct image *img = image_open(o->from, o->name, o->tag);
	struct image_stack *stack = image_stack_new(img);
	struct flatten_layers layers = image_stack_layers(stack);
	struct tar_writer *w = tar_writer_new(out);

	flatten_write(&layers, w, o->mtime);
	tar_writer_finish(w);
	outfile_commit();
	image_stack_free(stack);
	image_close(img);
	return 0;
}

/* --- --run --------------------------------------------------------------- */

static ssize_t
read_tar(void *ctx, void *buf, size_t n)
{
	ssize_t r = tar_reader_read(ctx, buf, n);

	/* The reader's message names the offset and the cause. */
	if (r < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(ctx));
	return r;
}

static ssize_t
read_dirtree(void *ctx, void *buf, size_t n)
{
	return dirtree_read(ctx, buf, n);
}

/*
 * Contents are a TREE: a whiteout there has nothing below it to delete.
 * Nor may they carry what overlayfs would read as its own marks (a 0/0
 * character device, its trusted.overlay.* and user.overlay.* attributes):
 * only the command's own deletions become whiteouts in the layer.
 */
static void
check_not_whiteout(const char *input, const struct tar_entry *e)
{
	const char *name = e->name;
	const char *slash = strrchr(name, '/');
	const char *base = slash && slash[1] ? slash + 1 : name;

	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		errx(EXIT_DATA, "%s: %s: a whiteout in contents", input, name);
	if (e->typeflag == '3' && e->devmajor == 0 && e->devminor == 0)
		errx(EXIT_DATA,
		     "%s: %s: a character device 0/0 is a whiteout to "
		     "overlayfs: refused in contents",
		     input, name);
	for (size_t i = 0; i < e->nrecords; i++) {
		const char *key = e->records[i].key;
		if (strncmp(key, "SCHILY.xattr.trusted.overlay.", 29) == 0 ||
		    strncmp(key, "SCHILY.xattr.user.overlay.", 26) == 0)
			errx(EXIT_DATA,
			     "%s: %s: attribute %s is overlayfs's own: "
			     "refused in contents",
			     input, name, key + 13);
	}
}

/*
 * The tree rule of every tool (common/placement) within one input IN: E
 * is written only if it is the first entry for its path, and an entry
 * under a path that IN made a non-directory is fatal, before anything is
 * written through it.  A name that leaves the root is let through for
 * rootdir_write to refuse.  Later inputs are copied over earlier ones.
 */
static int
wins_path(struct input_paths *in, const struct tar_entry *e)
{
	char *path = path_normalize(e->name);
	int wins = path == NULL || input_paths_take(in, e, path) != NULL;

	free(path);
	return wins;
}

/* A directory's files go in owned by root, as the seed's rsync --chown=0:0. */
static void
copy_dir(const char *input, struct rootdir *rd)
{
	struct dirtree *t = dirtree_open(input, NULL, DIRTREE_HARDLINKS);
	struct input_paths *in = input_paths_new(input, 0);
	struct dirtree_entry *de;
	int got;

	if (t == NULL)
		err(EXIT_DATA, "%s", input);
	while ((got = dirtree_next(t, &de)) == 1) {
		check_not_whiteout(input, &de->tar);
		if (!wins_path(in, &de->tar))
			continue;
		de->tar.uid = de->tar.gid = 0;
		rootdir_write(rd, &de->tar, read_dirtree, t);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(t));
	input_paths_free(in);
	dirtree_close(t);
}

static void
copy_tar(const char *input, struct rootdir *rd)
{
	struct tar_reader *r = tar_reader_open(input);
	struct input_paths *in = input_paths_new(input, 0);
	struct tar_entry *e;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		if (e->typeflag == 'g')
			continue;
		check_not_whiteout(input, e);
		if (wins_path(in, e))
			rootdir_write(rd, e, read_tar, r);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	input_paths_free(in);
	tar_reader_close(r);
}

static void
copy_contents(const struct options *o, struct sandbox *sb)
{
	for (size_t i = 0; i < o->ncontents; i++) {
		const char *input = o->contents[i];
		struct rootdir *rd = rootdir_open(sandbox_upper(sb), input);
		struct stat st;
		rootdir_shift_ids(rd, sandbox_ids(sb));
		if (strcmp(input, "-") != 0 && stat(input, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			copy_dir(input, rd);
		else
			copy_tar(input, rd);
		rootdir_close(rd);
	}
}

/* An entry of the flattened image, under its normalized name. */
static void
extract_item(void *ctx, const struct flatten_item *it)
{
	struct tar_entry e = *it->entry;

	e.name = it->path;
	rootdir_write(ctx, &e, read_tar, it->data);
}

/* The image's root, flattened once into the lower directory. */
static void
extract_image(struct image *img, struct sandbox *sb)
{
	struct rootdir *rd = rootdir_open(sandbox_lower(sb), image_label(img));
	struct image_stack *stack = image_stack_new(img);
	struct flatten_layers layers = image_stack_layers(stack);

	rootdir_shift_ids(rd, sandbox_ids(sb));
	pathset_free(flatten_walk(&layers, 0, extract_item, rd));
	rootdir_close(rd);
	image_stack_free(stack);
}

static void
add_binds(const struct options *o, struct sandbox *sb)
{
	for (size_t i = 0; i < o->nbinds; i++) {
		char *spec = xstrdup(o->binds[i]);
		char *colon;
		colon = strchr(spec, ':');
		if (colon != NULL)
			*colon = '\0';
		sandbox_bind(sb, spec, colon ? colon + 1 : spec);
		free(spec);
	}
}

/* Set NAME=VALUE in ENV (NULL-terminated, *N entries), replacing NAME. */
static char **
env_set(char **env, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], kv, klen + 1) == 0) {
			env[i] = (char *)kv;
			return env;
		}
	}
	env = xreallocarray(env, *n + 2, sizeof(*env));
	env[(*n)++] = (char *)kv;
	env[*n] = NULL;
	return env;
}

/* The image's Env list (config.Env, a new reference), or null. */
static jv
image_env(struct image *img)
{
	jv c, list;

	if (img == NULL)
		return jv_null();
	c = json_get(jv_copy(image_config(img)), "config");
	list = jv_get_kind(c) == JV_KIND_OBJECT ? json_get(jv_copy(c), "Env")
	                                        : jv_null();
	jv_free(c);
	return list;
}

/*
 * The command's environment: defaults, then LIST (the image's Env, whose
 * strings it borrows), then --env.
 */
static char **
command_env(const struct options *o, jv list)
{
	char **env = NULL;
	size_t n = 0;

	env = env_set(env, &n,
	              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/"
	              "sbin:/bin");
	env = env_set(env, &n, "HOME=/root");
	if (jv_get_kind(list) == JV_KIND_ARRAY) {
		for (int i = 0; i < jv_array_length(jv_copy(list)); i++) {
			jv v = jv_array_get(jv_copy(list), i);
			/* The list holds V, so its text outlives this copy. */
			if (jv_get_kind(v) == JV_KIND_STRING &&
			    strchr(jv_string_value(v), '=') != NULL)
				env = env_set(env, &n, jv_string_value(v));
			jv_free(v);
		}
	}
	for (size_t i = 0; i < o->nenv; i++)
		env = env_set(env, &n, o->env[i]);
	return env;
}

/*
 * SCRIPT, copied into memory: root inside may not be able to read the
 * host's file, nor reach it by name, and must not change it.
 */
static int
open_script(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int mem = memfd_create("script", MFD_CLOEXEC);
	char buf[64 * 1024];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_USAGE, "%s", path);
	if (!S_ISREG(st.st_mode))
		errx(EXIT_USAGE, "%s: not a regular file", path);
	if (mem < 0)
		err(EXIT_DATA, "memfd_create");
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || fdio_write_all(mem, buf, (size_t)n) < 0)
			err(EXIT_DATA, "%s", path);
	}
	/* Executable as the file is, and by root inside. */
	if (fchmod(mem, st.st_mode & 0555) < 0)
		err(EXIT_DATA, "%s", path);
	close(fd);
	return mem;
}

/* SCRIPT, a host file run inside, or TEXT, run with the root's /bin/sh. */
static void
make_command(const struct options *o, struct sandbox_command *cmd,
             char *argv[4])
{
	cmd->exec_fd = -1;
	if (o->script != NULL) {
		const char *slash = strrchr(o->script, '/');
		cmd->exec_fd = open_script(o->script);
		argv[0] = (char *)(slash ? slash + 1 : o->script);
	} else {
		cmd->path = "/bin/sh";
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = (char *)o->text;
	}
	cmd->argv = argv;
}

static int
run_script(const struct options *o)
{
	struct sandbox_command cmd = {0};
	char *argv[4] = {NULL};
	struct image *img = NULL;
	struct tar_writer *w;
	struct sandbox *sb;
	jv env_list;
	int out, status;

	make_command(o, &cmd, argv);
	out = outfile_open(o->output, OUT_TAR);
	sb = sandbox_new(&o->sandbox);
	add_binds(o, sb);
	if (o->from != NULL) {
		img = image_open(o->from, o->name, o->tag);
		extract_image(img, sb);
	}
	env_list = image_env(img);
	cmd.env = command_env(o, env_list);
	copy_contents(o, sb);
	status = sandbox_run(sb, &cmd);
	if (status != 0) {
		warnx("%s: exit status %d; no layer written",
		      o->script ? o->script : "-c", status);
		exit(status);
	}
	w = tar_writer_new(out);
	upperdir_write_layer(sandbox_upper(sb), w, o->mtime, sandbox_ids(sb));
	tar_writer_finish(w);
	outfile_commit();

	sandbox_free(sb);
	free(cmd.env);
	jv_free(env_list);
	if (img != NULL)
		image_close(img);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	int status;

	parse_options(argc, argv, &o);
	o.mtime = timestamp_default();
	if (o.script != NULL || o.text != NULL)
		status = run_script(&o);
	else
		status = export_image(&o);
	free(o.contents);
	free(o.binds);
	free(o.env);
	return status;
}
