/*
 * di-edit: layer surgery on an image archive, with pipes: take it apart
 * into its layers (a STACK) and its config, inspect it, and edit it
 * (drop, replace, insert or squash layers, change the config, move its
 * layers onto a new base) without a registry or a daemon.
 *
 *	di-edit layers  [IMAGE]              > stack.tar
 *	di-edit config  [IMAGE]              > config.json
 *	di-edit manifest [IMAGE]             > manifest.json
 *	di-edit inspect [IMAGE]              > image.json
 *	di-edit drop N [IMAGE]               > image.tar
 *	di-edit replace N LAYER [IMAGE]      > image.tar
 *	di-edit insert N LAYER [IMAGE]       > image.tar
 *	di-edit squash A B [IMAGE]           > image.tar
 *	di-edit set [--cmd JSON ...] [IMAGE] > image.tar
 *	di-edit rebase OLDBASE NEWBASE [IMAGE] > image.tar
 *
 * Layers are counted from 1, bottom first, as a STACK names them.  Every
 * layer an edit does not change is copied as stored (common/image_rewrite),
 * so it keeps its digest; the history moves with the layers
 * (common/image_history).  Putting a STACK and a config back together is
 * di-cook's job: di-cook --config-blob config.json stack.tar.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "errors.h"
#include "image.h"
#include "image_config.h"
#include "image_history.h"
#include "image_rewrite.h"
#include "instream.h"
#include "json.h"
#include "layer_input.h"
#include "layer_squash.h"
#include "media_type.h"
#include "outfile.h"
#include "spool.h"
#include "stack.h"
#include "timestamp.h"
#include "xalloc.h"

#define COPY_BUF (1 << 20)

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: di-edit layers|config|manifest|inspect [OPTION]... "
	        "[IMAGE]\n"
	        "       di-edit drop N [OPTION]... [IMAGE]\n"
	        "       di-edit replace N LAYER [OPTION]... [IMAGE]\n"
	        "       di-edit insert N LAYER [OPTION]... [IMAGE]\n"
	        "       di-edit squash A B [OPTION]... [IMAGE]\n"
	        "       di-edit set [--cmd JSON] [--entrypoint JSON] "
	        "[--env K=V]... [--user U]\n"
	        "               [--workdir DIR] [--label K=V]... "
	        "[--expose PORT]... [-c CONFIG]\n"
	        "               [--created T] [--history FILE] [OPTION]... "
	        "[IMAGE]\n"
	        "       di-edit rebase OLDBASE NEWBASE [OPTION]... [IMAGE]\n"
	        "Take an image apart, inspect it, or edit its layers and "
	        "config.\n"
	        "      --image NAME[:TAG] which image of IMAGE (default: the "
	        "first)\n"
	        "      --decompress       layers: every layer decompressed "
	        "(default: gzip and\n"
	        "                         zstd layers as stored)\n"
	        "      --all              inspect: every image and platform, "
	        "a line each\n"
	        "  -n, --name NAME[:TAG]  the edited image's name (default: "
	        "IMAGE's)\n"
	        "      --format F         hybrid (default), docker, oci or "
	        "legacy\n"
	        "  -o, --output FILE      write to FILE instead of stdout\n"
	        "      --help, --version\n");
	exit(status);
}

enum verb {
	LAYERS,
	CONFIG,
	INSPECT,
	DROP,
	REPLACE,
	INSERT,
	SQUASH,
	SET,
	REBASE,
	MANIFEST
};

static const struct {
	const char *name;
	int nargs; /* operands before IMAGE */
} verbs[] = {
    [LAYERS] = {"layers", 0},   [CONFIG] = {"config", 0},
    [INSPECT] = {"inspect", 0}, [DROP] = {"drop", 1},
    [REPLACE] = {"replace", 2}, [INSERT] = {"insert", 2},
    [SQUASH] = {"squash", 2},   [SET] = {"set", 0},
    [REBASE] = {"rebase", 2},   [MANIFEST] = {"manifest", 0},
};

struct options {
	enum verb verb;
	char **args; /* the verb's operands */
	const char *input;
	const char *image_name, *image_tag; /* which image of the input */
	const char *name, *tag;             /* the edited image's */
	const char *output, *history;
	enum image_format format;
	jv over; /* set: what is laid over the container config */
	char created[32];
	int has_created;
	int all;        /* inspect: every image and platform */
	int decompress; /* layers: every layer decompressed */
	int64_t mtime;
};

/* The copies split_ref makes, freed at the end. */
static char *refs[8];
static size_t nrefs;

/*
 * NAME[:TAG] split at a colon after the last slash: *name and *tag (left
 * alone when ARG has none) point into a copy kept until free_refs.
 */
static void
split_ref(const char *arg, const char **name, const char **tag)
{
	const char *colon = strrchr(arg, ':'), *slash = strrchr(arg, '/');
	char *copy;

	if (nrefs == sizeof(refs) / sizeof(refs[0]))
		usage_error("too many names");
	copy = refs[nrefs++] = xstrdup(arg);
	*name = copy;
	if (colon != NULL && (slash == NULL || colon > slash)) {
		copy[colon - arg] = '\0';
		*tag = copy + (colon - arg) + 1;
	}
}

static void
free_refs(void)
{
	while (nrefs > 0)
		free(refs[--nrefs]);
}

/* --- set: the config edits ------------------------------------------------ */

static jv
parse_json_arg(const char *opt, const char *arg)
{
	jv v = json_parse(arg, strlen(arg));

	if (!jv_is_valid(v)) {
		char *why = json_error(v);
		usage_error("%s: not JSON: %s", opt, why);
	}
	if (jv_get_kind(v) != JV_KIND_ARRAY && jv_get_kind(v) != JV_KIND_NULL)
		usage_error("%s wants a JSON array (or null), not '%s'", opt,
		            arg);
	return v;
}

/* KEY=VALUE of --label into an object; of --env kept as a string. */
static jv
key_value(const char *opt, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		usage_error("%s wants KEY=VALUE, not '%s'", opt, arg);
	return jv_object_set(jv_object(), jv_string_sized(arg, (int)(eq - arg)),
	                     jv_string(eq + 1));
}

static void
over_merge(struct options *o, const char *key, jv value)
{
	jv have = json_get(jv_copy(o->over), key);

	if (jv_get_kind(have) == JV_KIND_OBJECT &&
	    jv_get_kind(value) == JV_KIND_OBJECT)
		value = jv_object_merge(have, value);
	else if (jv_get_kind(have) == JV_KIND_ARRAY &&
	         jv_get_kind(value) == JV_KIND_ARRAY)
		value = jv_array_concat(have, value);
	else
		jv_free(have);
	o->over = jv_object_set(o->over, jv_string(key), value);
}

/* --expose PORT[/PROTO] as {"PORT/PROTO": {}}, tcp by default. */
static jv
port(const char *arg)
{
	jv key =
	    strchr(arg, '/') ? jv_string(arg) : jv_string_fmt("%s/tcp", arg);

	if (*arg == '\0' || *arg == '/')
		usage_error("--expose wants PORT[/PROTO], not '%s'", arg);
	return jv_object_set(jv_object(), key, jv_object());
}

static void
set_created(struct options *o, const char *arg)
{
	int64_t t;

	if (timestamp_parse(arg, &t) < 0)
		usage_error("--created wants seconds or YYYY-MM-DDTHH:MM:SSZ, "
		            "not '%s'",
		            arg);
	timestamp_rfc3339(t, o->created);
	o->has_created = 1;
}

/* --- options ---------------------------------------------------------------
 */

enum {
	OPT_IMAGE = 256,
	OPT_FORMAT,
	OPT_CMD,
	OPT_ENTRYPOINT,
	OPT_ENV,
	OPT_USER,
	OPT_WORKDIR,
	OPT_LABEL,
	OPT_EXPOSE,
	OPT_CREATED,
	OPT_HISTORY,
	OPT_ALL,
	OPT_DECOMPRESS,
	OPT_HELP,
	OPT_VERSION
};

static const struct option longopts[] = {
    {"image", required_argument, NULL, OPT_IMAGE},
    {"name", required_argument, NULL, 'n'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"config", required_argument, NULL, 'c'},
    {"cmd", required_argument, NULL, OPT_CMD},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"env", required_argument, NULL, OPT_ENV},
    {"user", required_argument, NULL, OPT_USER},
    {"workdir", required_argument, NULL, OPT_WORKDIR},
    {"label", required_argument, NULL, OPT_LABEL},
    {"expose", required_argument, NULL, OPT_EXPOSE},
    {"created", required_argument, NULL, OPT_CREATED},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"all", no_argument, NULL, OPT_ALL},
    {"decompress", no_argument, NULL, OPT_DECOMPRESS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* A config edit (only `set` takes them); 0 when C is not one. */
static int
config_option(struct options *o, int c, const char *arg)
{
	switch (c) {
	case 'c': {
		jv v = json_load_file(arg);
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			errx(EXIT_DATA, "%s: not a JSON object", arg);
		jv_object_foreach(v, k, x)
		{
			over_merge(o, jv_string_value(k), x);
			jv_free(k);
		}
		jv_free(v);
		return 1;
	}
	case OPT_CMD:
		o->over = jv_object_set(o->over, jv_string("Cmd"),
		                        parse_json_arg("--cmd", arg));
		return 1;
	case OPT_ENTRYPOINT:
		o->over = jv_object_set(o->over, jv_string("Entrypoint"),
		                        parse_json_arg("--entrypoint", arg));
		return 1;
	case OPT_ENV:
		jv_free(key_value("--env", arg));
		over_merge(o, "Env",
		           jv_array_append(jv_array(), jv_string(arg)));
		return 1;
	case OPT_USER:
		o->over =
		    jv_object_set(o->over, jv_string("User"), jv_string(arg));
		return 1;
	case OPT_WORKDIR:
		o->over = jv_object_set(o->over, jv_string("WorkingDir"),
		                        jv_string(arg));
		return 1;
	case OPT_LABEL:
		over_merge(o, "Labels", key_value("--label", arg));
		return 1;
	case OPT_EXPOSE:
		over_merge(o, "ExposedPorts", port(arg));
		return 1;
	case OPT_CREATED:
		set_created(o, arg);
		return 1;
	case OPT_HISTORY:
		o->history = arg;
		return 1;
	}
	return 0;
}

static enum verb
parse_verb(const char *s)
{
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (strcmp(s, verbs[v].name) == 0)
			return (enum verb)v;
	if (strcmp(s, "--help") == 0)
		usage(0);
	if (strcmp(s, "--version") == 0)
		print_version();
	usage_error("unknown verb '%s'", s);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c, nargs;

	if (argc < 2)
		usage(EXIT_USAGE);
	o->verb = parse_verb(argv[1]);
	o->over = jv_object();
	o->format = IMAGE_HYBRID;
	o->mtime = timestamp_default();
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "n:o:c:", longopts, NULL)) != -1) {
		if (o->verb == SET && config_option(o, c, optarg))
			continue;
		switch (c) {
		case OPT_IMAGE:
			split_ref(optarg, &o->image_name, &o->image_tag);
			break;
		case 'n':
			split_ref(optarg, &o->name, &o->tag);
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_ALL:
			if (o->verb != INSPECT)
				usage_error("--all is for inspect");
			o->all = 1;
			break;
		case OPT_DECOMPRESS:
			if (o->verb != LAYERS)
				usage_error("--decompress is for layers");
			o->decompress = 1;
			break;
		case OPT_FORMAT:
			if (image_format_parse(optarg, &o->format) < 0)
				usage_error("unknown format '%s'", optarg);
			break;
		case OPT_HELP:
			usage(0);
			break;
		case OPT_VERSION:
			print_version();
			break;
		default:
			if (c != '?')
				usage_error("%s: takes no config options",
				            verbs[o->verb].name);
			usage(EXIT_USAGE);
		}
	}
	nargs = verbs[o->verb].nargs;
	if (argc - optind < nargs || argc - optind > nargs + 1)
		usage_error("%s wants %d operand%s and an optional IMAGE",
		            verbs[o->verb].name, nargs, nargs == 1 ? "" : "s");
	o->args = argv + optind;
	for (int i = 0; i < nargs; i++)
		if ((o->verb == DROP || o->verb == SQUASH ||
		     ((o->verb == REPLACE || o->verb == INSERT) && i == 0)) &&
		    (o->args[i][0] == '\0' ||
		     strspn(o->args[i], "0123456789") != strlen(o->args[i])))
			usage_error("'%s' is not a layer number", o->args[i]);
	o->input = argc - optind > nargs ? argv[optind + nargs] : "-";
	if (!o->has_created)
		timestamp_rfc3339(o->mtime, o->created);
}

/* Layer number ARG, from 1 to MAX. */
static size_t
layer_number(const char *arg, size_t max)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (errno || *end || end == arg)
		usage_error("'%s' is not a layer number", arg);
	if (n < 1 || (size_t)n > max)
		errx(EXIT_DATA, "layer '%s': the image has layers 1 to %zu",
		     arg, max);
	return (size_t)n;
}

/* --- taking apart ----------------------------------------------------------
 */

static void
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			outfile_write_failed(fd);
		c += k;
		n -= (size_t)k;
	}
}

/*
 * Layer I's decompressed bytes to FD (FD < 0: counted only), checked
 * against its diff_id; returns how many.
 */
static int64_t
layer_bytes(struct image *img, size_t i, int fd, unsigned char *buf)
{
	struct instream *in = image_layer_bytes(img, i);
	struct digest d;
	char hex[DIGEST_MAX_HEX];
	int64_t n = 0;
	ssize_t got;

	digest_init(&d, "sha256");
	while ((got = instream_read(in, buf, COPY_BUF)) > 0) {
		digest_update(&d, buf, (size_t)got);
		if (fd >= 0)
			write_all(fd, buf, (size_t)got);
		n += got;
	}
	if (got < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(in),
		     instream_error(in));
	digest_final_hex(&d, hex);
	if (strcmp(hex, image_layer_diff_id(img, i) + 7) != 0)
		errx(EXIT_DATA,
		     "%s: its digest is sha256:%s, the config says %s",
		     instream_label(in), hex, image_layer_diff_id(img, i));
	instream_close(in);
	return n;
}

/*
 * A compressed layer goes into the STACK as stored when di-cook can store
 * it so again (gzip, zstd), so that the image put back has the same blobs;
 * else (xz, bzip2, or --decompress) decompressed.
 */
static int
keep_compressed(struct image *img, size_t i, int decompress)
{
	const char *c = image_layer_compression(img, i);

	return !decompress &&
	       (strcmp(c, "gzip") == 0 || strcmp(c, "zstd") == 0);
}

/* The size of layer I in the STACK; a compressed one's diff_id checked. */
static int64_t
member_size(struct image *img, size_t i, int keep, unsigned char *buf)
{
	if (strcmp(image_layer_compression(img, i), "none") == 0)
		return image_layer_size(img, i);
	if (keep) {
		layer_bytes(img, i, -1, buf);
		return image_layer_size(img, i);
	}
	return layer_bytes(img, i, -1, buf);
}

/* Layer I's bytes as stored to FD; returns how many. */
static int64_t
stored_bytes(struct image *img, size_t i, int fd, unsigned char *buf)
{
	struct instream *in = image_layer_raw(img, i);
	int64_t n = 0;
	ssize_t got;

	while ((got = instream_read(in, buf, COPY_BUF)) > 0) {
		write_all(fd, buf, (size_t)got);
		n += got;
	}
	if (got < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(in),
		     instream_error(in));
	instream_close(in);
	return n;
}

static void
take_layers(struct image *img, int fd, int64_t mtime, int decompress)
{
	size_t n = image_layer_count(img);
	unsigned char *buf = xcalloc(1, COPY_BUF);
	jv list = jv_array();
	struct stack_writer *w;

	for (size_t i = 0; i < n; i++) {
		int keep = keep_compressed(img, i, decompress);
		jv l = jv_object_set(
		    jv_object(), jv_string("size"),
		    jv_number((double)member_size(img, i, keep, buf)));
		list = jv_array_append(
		    list, jv_object_set(l, jv_string("paths"), jv_array()));
	}
	w = stack_writer_new(fd, list, mtime);
	for (size_t i = 0; i < n; i++) {
		int64_t got;
		stack_writer_layer_begin(w);
		got = keep_compressed(img, i, decompress)
		          ? stored_bytes(img, i, fd, buf)
		          : layer_bytes(img, i, fd, buf);
		stack_writer_layer_end(w, (uint64_t)got);
	}
	stack_writer_finish(w);
	free(buf);
}

static void
take_config(struct image *img, int fd)
{
	size_t len;
	const char *text = image_config_bytes(img, &len);

	write_all(fd, text, len);
}

/* The OCI manifest blob as stored: with the config and layers, what
 * di-cook --manifest-blob needs to give back the same manifest digest. */
static void
take_manifest(struct image *img, const char *output)
{
	size_t len;
	const char *text = image_manifest_bytes(img, &len);

	if (text == NULL)
		errx(EXIT_DATA,
		     "%s: no OCI manifest blob (a docker-form "
		     "image has none)",
		     image_label(img));
	write_all(outfile_open(output, OUT_TEXT), text, len);
}

/* --- inspecting ------------------------------------------------------------
 */

static const char *
layer_media_type(struct image *img, size_t i)
{
	const char *c = image_layer_compression(img, i);

	if (strcmp(image_form(img), "oci") == 0 || strcmp(c, "zstd") == 0)
		return media_type_oci_layer(c);
	return strcmp(c, "none") == 0 ? MT_DOCKER_LAYER : MT_DOCKER_LAYER_GZIP;
}

/* "sha256:<hex>" of layer I as stored, named or computed. */
static jv
stored_digest(struct image *img, size_t i, unsigned char *buf)
{
	struct instream *in;
	struct digest d;
	char hex[DIGEST_MAX_HEX];
	ssize_t got;

	if (image_layer_digest(img, i) != NULL)
		return jv_string(image_layer_digest(img, i));
	if (strcmp(image_layer_compression(img, i), "none") == 0)
		return jv_string(image_layer_diff_id(img, i));
	in = image_layer_raw(img, i);
	digest_init(&d, "sha256");
	while ((got = instream_read(in, buf, COPY_BUF)) > 0)
		digest_update(&d, buf, (size_t)got);
	if (got < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(in),
		     instream_error(in));
	instream_close(in);
	digest_final_hex(&d, hex);
	return jv_string_fmt("sha256:%s", hex);
}

/* How many entries layer I holds (its diff_id checked on the way). */
static int
layer_entries(struct image *img, size_t i)
{
	struct image_layer *l = image_layer_open(img, i);
	struct tar_reader *r = image_layer_tar(l);
	struct tar_entry *e;
	int n = 0, got;

	while ((got = tar_reader_next(r, &e)) == 1)
		n += e->typeflag != 'g';
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	image_layer_close(l);
	return n;
}

static jv
inspect_layer(struct image *img, size_t i, jv group, unsigned char *buf)
{
	jv l = jv_object();
	int n = jv_array_length(jv_copy(group));

	l = jv_object_set(l, jv_string("index"), jv_number((double)i + 1));
	l = jv_object_set(l, jv_string("digest"), stored_digest(img, i, buf));
	l = jv_object_set(l, jv_string("diff_id"),
	                  jv_string(image_layer_diff_id(img, i)));
	l = jv_object_set(l, jv_string("size"),
	                  jv_number((double)image_layer_size(img, i)));
	l = jv_object_set(l, jv_string("media_type"),
	                  jv_string(layer_media_type(img, i)));
	l = jv_object_set(l, jv_string("compression"),
	                  jv_string(image_layer_compression(img, i)));
	l = jv_object_set(l, jv_string("entries"),
	                  jv_number(layer_entries(img, i)));
	return jv_object_set(l, jv_string("history"),
	                     n > 0 ? jv_array_get(group, n - 1)
	                           : (jv_free(group), jv_null()));
}

static jv
platform_of(jv config)
{
	jv p = jv_object();
	const char *keys[] = {"os", "architecture", "variant"};

	for (size_t k = 0; k < 3; k++) {
		jv v = json_get(jv_copy(config), keys[k]);
		if (jv_get_kind(v) == JV_KIND_STRING)
			p = jv_object_set(p, jv_string(keys[k]), v);
		else
			jv_free(v);
	}
	return p;
}

static jv
inspect(struct image *img)
{
	jv config = image_config(img), doc = jv_object(), layers = jv_array();
	size_t n = image_layer_count(img), len;
	const char *text = image_config_bytes(img, &len);
	jv groups = image_history_groups(config, n);
	unsigned char *buf = xcalloc(1, COPY_BUF);
	char hex[DIGEST_MAX_HEX];

	digest_buffer_hex("sha256", text, len, hex);
	jv names = image_names(img);
	doc = jv_object_set(doc, jv_string("name"),
	                    jv_array_length(jv_copy(names)) > 0
	                        ? jv_array_get(jv_copy(names), 0)
	                        : jv_null());
	doc = jv_object_set(doc, jv_string("names"), names);
	doc = jv_object_set(doc, jv_string("form"), jv_string(image_form(img)));
	doc = jv_object_set(doc, jv_string("platform"), platform_of(config));
	doc = jv_object_set(doc, jv_string("created"),
	                    json_get(jv_copy(config), "created"));
	doc = jv_object_set(doc, jv_string("config_digest"),
	                    jv_string_fmt("sha256:%s", hex));
	doc = jv_object_set(doc, jv_string("config_size"),
	                    jv_number((double)len));
	doc = jv_object_set(doc, jv_string("config"),
	                    json_get(jv_copy(config), "config"));
	for (size_t i = 0; i < n; i++)
		layers = jv_array_append(
		    layers,
		    inspect_layer(img, i, jv_array_get(jv_copy(groups), (int)i),
		                  buf));
	doc = jv_object_set(doc, jv_string("layers"), layers);
	jv_free(groups);
	free(buf);
	return doc;
}

static void
write_doc(int fd, jv doc)
{
	char *text = json_dump(doc);

	write_all(fd, text, strlen(text));
	write_all(fd, "\n", 1);
	free(text);
}

/* IMAGE at entry E, platform P of the archive on FD (kept open). */
static struct image *
reopen(int fd, const char *label, size_t e, size_t p)
{
	int copy;

	if (lseek(fd, 0, SEEK_SET) < 0 || (copy = dup(fd)) < 0)
		err(EXIT_DATA, "%s", label);
	return image_open_at(copy, label, e, p);
}

/* inspect --all: one line per image of the archive and platform. */
static void
inspect_all(const char *path, int out)
{
	const char *label = strcmp(path, "-") == 0 ? "stdin" : path;
	int fd = spool_plain(spool_open(path), label);
	struct image *first = reopen(fd, label, 0, 0);
	size_t entries = image_entry_count(first);

	for (size_t e = 0; e < entries; e++) {
		struct image *img = e == 0 ? first : reopen(fd, label, e, 0);
		size_t platforms = image_platform_count(img);
		write_doc(out, inspect(img));
		image_close(img);
		for (size_t p = 1; p < platforms; p++) {
			img = reopen(fd, label, e, p);
			write_doc(out, inspect(img));
			image_close(img);
		}
	}
	close(fd);
}

/* --- editing ---------------------------------------------------------------
 */

/* What the edited image is made of, in order. */
struct edit {
	struct options *o;
	struct image *img;
	struct image_rewrite *rw;
	jv groups;  /* the image's history, by layer */
	jv pending; /* empty entries of a dropped layer, for the next one */
};

static jv
group_of(struct edit *ed, size_t i)
{
	jv g = jv_array_get(jv_copy(ed->groups), (int)i);

	g = jv_array_concat(ed->pending, g);
	ed->pending = jv_array();
	return g;
}

static void
copy_range(struct edit *ed, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		image_rewrite_copy(ed->rw, ed->img, i, group_of(ed, i));
}

/* The one layer of the input at PATH, with history BY. */
static void
put_input(struct edit *ed, const char *path, jv group, const char *by)
{
	struct layer_input *li = layer_input_open(path);
	struct layer_source *s;

	if (layer_input_next(li, &s) != 1)
		errx(EXIT_DATA, "%s: holds no layer", path);
	if (!s->last)
		errx(EXIT_DATA,
		     "%s: holds several layers: give one LAYER or "
		     "BUNDLE",
		     path);
	group = jv_array_append(group, image_history_entry(ed->o->created, by));
	image_rewrite_source(ed->rw, s, group);
	layer_input_close(li);
}

struct squash_ctx {
	struct image *img;
	size_t first;
	struct image_layer **open;
};

static struct tar_reader *
squash_open(void *ctx, size_t i)
{
	struct squash_ctx *c = ctx;

	c->open[i] = image_layer_open(c->img, c->first + i);
	return image_layer_tar(c->open[i]);
}

static void
squash_close(void *ctx, size_t i, struct tar_reader *r)
{
	struct squash_ctx *c = ctx;

	(void)r;
	image_layer_close(c->open[i]);
	c->open[i] = NULL;
}

/* Layers A..B (from 0, B included) as one, in a spool. */
static void
put_squash(struct edit *ed, size_t a, size_t b)
{
	struct squash_ctx c = {ed->img, a, NULL};
	struct flatten_layers fl = {b - a + 1, squash_open, &c, squash_close};
	jv group = jv_array();
	int fd = spool_tempfile();
	int64_t size;
	char by[64], label[64];

	c.open = xcalloc(fl.count, sizeof(*c.open));
	size = layer_squash(&fl, fd, ed->o->mtime);
	free(c.open);
	if (lseek(fd, 0, SEEK_SET) < 0)
		err(EXIT_DATA, "spool");
	for (size_t i = a; i <= b; i++)
		group = jv_array_concat(group,
		                        image_history_empties(group_of(ed, i)));
	snprintf(by, sizeof(by), "di-edit squash %zu %zu", a + 1, b + 1);
	snprintf(label, sizeof(label), "layers %zu to %zu", a + 1, b + 1);
	group = jv_array_append(group, image_history_entry(ed->o->created, by));
	image_rewrite_fd(ed->rw, fd, size, label, group);
}

/* The config of the edited image (consumed: IMAGE's, or `set`'s). */
static jv
edited_config(struct options *o, jv config, size_t nlayers)
{
	jv c = json_get(jv_copy(config), "config"), merged;

	if (jv_get_kind(c) == JV_KIND_INVALID)
		c = jv_null();
	merged = image_config_merge(c, jv_copy(o->over));
	if (!jv_is_valid(merged)) {
		char *why = json_error(merged);
		errx(EXIT_USAGE, "set: %s", why);
	}
	config = jv_object_set(config, jv_string("config"), merged);
	if (o->verb == SET && o->has_created)
		config = jv_object_set(config, jv_string("created"),
		                       jv_string(o->created));
	if (o->history != NULL) {
		jv h = json_load_file(o->history);
		if (image_history_layers(h) != (int)nlayers)
			errx(EXIT_DATA,
			     "%s: not a history of %zu layers (entries "
			     "without \"empty_layer\": true)",
			     o->history, nlayers);
		config = jv_object_set(config, jv_string("history"), h);
	}
	return config;
}

static void
start(struct edit *ed, int fd, jv config, size_t nlayers)
{
	struct options *o = ed->o;
	const char *name = o->name, *tag = o->tag;
	jv names = image_names(ed->img);

	if (name == NULL && jv_array_length(jv_copy(names)) > 0) {
		jv first = jv_array_get(jv_copy(names), 0);
		split_ref(jv_string_value(first), &name, &tag);
		jv_free(first);
	}
	jv_free(names);
	if (name == NULL)
		errx(EXIT_USAGE, "%s: the image has no name: give -n NAME",
		     image_label(ed->img));
	config = edited_config(o, config, nlayers);
	ed->groups = image_history_groups(config, image_layer_count(ed->img));
	ed->pending = jv_array();
	ed->rw = image_rewrite_new(fd, name, tag ? tag : "latest", o->format,
	                           o->mtime, config, nlayers);
}

static void
finish(struct edit *ed)
{
	size_t n = image_layer_count(ed->img);
	jv tail = jv_array_get(jv_copy(ed->groups), (int)n);

	image_rewrite_finish(ed->rw, jv_array_concat(ed->pending, tail));
	jv_free(ed->groups);
}

/* The image's layers with OLDBASE's below them, moved onto NEWBASE. */
static void
rebase(struct edit *ed, int fd)
{
	struct image *old = image_open(ed->o->args[0], NULL, NULL);
	struct image *new = image_open(ed->o->args[1], NULL, NULL);
	size_t k = image_layer_count(old), n = image_layer_count(ed->img);
	size_t m = image_layer_count(new);
	jv nb;

	if (k > n)
		errx(EXIT_DATA, "%s: %zu layers, fewer than OLDBASE %s's %zu",
		     image_label(ed->img), n, image_label(old), k);
	for (size_t i = 0; i < k; i++)
		if (strcmp(image_layer_diff_id(old, i),
		           image_layer_diff_id(ed->img, i)) != 0)
			errx(EXIT_DATA,
			     "%s: layer %zu is %s, OLDBASE %s's is %s: "
			     "the image is not built on OLDBASE",
			     image_label(ed->img), i + 1,
			     image_layer_diff_id(ed->img, i), image_label(old),
			     image_layer_diff_id(old, i));
	start(ed, fd, jv_copy(image_config(ed->img)), m + n - k);
	nb = image_history_groups(image_config(new), m);
	for (size_t i = 0; i < m; i++)
		image_rewrite_copy(ed->rw, new, i,
		                   jv_array_get(jv_copy(nb), (int)i));
	jv_free(ed->pending);
	ed->pending = jv_array_get(nb, (int)m);
	copy_range(ed, k, n);
	finish(ed);
	image_close(old);
	image_close(new);
}

static void
edit(struct options *o, struct image *img, int fd)
{
	struct edit ed = {o, img, NULL, jv_null(), jv_null()};
	size_t n = image_layer_count(img), a, b;
	jv config = jv_copy(image_config(img)), dropped;

	switch (o->verb) {
	case DROP:
		a = layer_number(o->args[0], n) - 1;
		if (n == 1)
			errx(EXIT_DATA, "%s: its only layer cannot go",
			     image_label(img));
		start(&ed, fd, config, n - 1);
		copy_range(&ed, 0, a);
		dropped = group_of(&ed, a);
		jv_free(ed.pending);
		ed.pending = image_history_empties(dropped);
		copy_range(&ed, a + 1, n);
		break;
	case REPLACE:
		a = layer_number(o->args[0], n) - 1;
		start(&ed, fd, config, n);
		copy_range(&ed, 0, a);
		put_input(&ed, o->args[1],
		          image_history_empties(group_of(&ed, a)),
		          "di-edit replace");
		copy_range(&ed, a + 1, n);
		break;
	case INSERT:
		a = layer_number(o->args[0], n + 1) - 1;
		start(&ed, fd, config, n + 1);
		copy_range(&ed, 0, a);
		put_input(&ed, o->args[1], jv_array(), "di-edit insert");
		copy_range(&ed, a, n);
		break;
	case SQUASH:
		a = layer_number(o->args[0], n) - 1;
		b = layer_number(o->args[1], n) - 1;
		if (b < a)
			errx(EXIT_USAGE, "squash %s %s: A must not be above B",
			     o->args[0], o->args[1]);
		start(&ed, fd, config, n - (b - a));
		copy_range(&ed, 0, a);
		put_squash(&ed, a, b);
		copy_range(&ed, b + 1, n);
		break;
	case SET:
		start(&ed, fd, config, n);
		copy_range(&ed, 0, n);
		break;
	case REBASE:
		jv_free(config);
		rebase(&ed, fd);
		return;
	default:
		abort();
	}
	finish(&ed);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct image *img;
	int fd;

	parse_options(argc, argv, &o);
	if ((o.verb == REPLACE || o.verb == INSERT) &&
	    strcmp(o.args[1], "-") == 0 && strcmp(o.input, "-") == 0)
		usage_error("standard input can be read only once");
	if (o.all) {
		inspect_all(o.input, fd = outfile_open(o.output, OUT_TEXT));
		if (o.output != NULL)
			outfile_commit();
		jv_free(o.over);
		return 0;
	}
	img = image_open(o.input, o.image_name, o.image_tag);
	switch (o.verb) {
	case LAYERS:
		take_layers(img, fd = outfile_open(o.output, OUT_TAR), o.mtime,
		            o.decompress);
		break;
	case CONFIG:
		take_config(img, fd = outfile_open(o.output, OUT_TEXT));
		break;
	case MANIFEST:
		take_manifest(img, o.output);
		break;
	case INSPECT:
		write_doc(fd = outfile_open(o.output, OUT_TEXT), inspect(img));
		break;
	default:
		edit(&o, img, fd = outfile_open(o.output, OUT_TAR));
	}
	if (o.output != NULL)
		outfile_commit();
	image_close(img);
	jv_free(o.over);
	free_refs();
	return 0;
}
