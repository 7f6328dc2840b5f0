/*
 * di-cook: layers, a config and a name into one image archive: the last
 * step of the seed's buildImage ("Cooking the image").
 *
 *	di-cook [-n NAME] [-t TAG] [--from IMAGE [--from-name N] [--from-tag T]]
 *	        [-c CONFIG] [--created T] [--format hybrid|docker|oci|legacy]
 *	        [--compress none|gzip|zstd] [--threads N]
 *	        [BUNDLE|LAYER|STACK]...
 *	di-cook --index -n NAME [-t TAG] [--format hybrid|oci] IMAGE...
 *
 * The base image's layers are copied as they are, then each input's (a
 * STACK's layers in order, see common/layer_input.h), all in one pass: every
 * byte is hashed as it goes by, and the names that need the hashes are
 * written at the end (common/image.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "compress.h"
#include "digest.h"
#include "errors.h"
#include "image.h"
#include "image_config.h"
#include "instream.h"
#include "json.h"
#include "layer_input.h"
#include "outfile.h"
#include "path.h"
#include "placement.h"
#include "platform.h"
#include "reference.h"
#include "tar_reader.h"
#include "timestamp.h"
#include "xalloc.h"

#define COPY_BUF (1 << 20)

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: di-cook -n NAME [-t TAG] [--from IMAGE [--from-name N] "
	        "[--from-tag T]]\n"
	        "               [-c CONFIG] [--created T] "
	        "[--format hybrid|docker|oci|legacy]\n"
	        "               [--compress none|gzip|zstd] [--threads N] "
	        "[-o FILE]\n"
	        "               [BUNDLE|LAYER|STACK]...\n"
	        "       di-cook --index -n NAME [-t TAG] [-o FILE] IMAGE...\n"
	        "Stack layers (bottom first) on a base image into one image "
	        "archive.\n"
	        "  -n, --name NAME       the image's name (NAME:TAG allowed)\n"
	        "  -t, --tag TAG         its tag (default: latest)\n"
	        "      --from IMAGE      base image archive (docker save, OCI, "
	        "...)\n"
	        "      --from-name N     which image of IMAGE (default: the "
	        "first)\n"
	        "      --from-tag T      which tag of it\n"
	        "  -c, --config FILE     container config (Env, Cmd, "
	        "Entrypoint, ...)\n"
	        "      --config-blob F   the image config, kept byte for byte "
	        "(di-edit config)\n"
	        "      --manifest-blob F the OCI manifest, kept byte for byte "
	        "(di-edit manifest)\n"
	        "      --created T       creation time: seconds or RFC 3339 "
	        "(default:\n"
	        "                        SOURCE_DATE_EPOCH, else 1)\n"
	        "      --format F        hybrid (default), docker, oci or "
	        "legacy\n"
	        "      --compress C      store layers as none (default), gzip "
	        "or zstd (oci)\n"
	        "      --threads N       compress on N threads (default: one "
	        "per processor)\n"
	        "      --index           join single-platform IMAGEs into one "
	        "multi-platform image\n"
	        "  -o, --output FILE     write to FILE instead of stdout\n"
	        "      --progress        report each layer on stderr\n"
	        "      --help, --version\n");
	exit(status);
}

struct options {
	const char *name, *tag;
	const char *from, *from_name, *from_tag;
	const char *config, *output;
	const char *config_blob;   /* the image config as is */
	const char *manifest_blob; /* the OCI manifest as is */
	char created[64];
	int64_t mtime;
	enum image_format format;
	enum compress_kind compress;
	int threads;
	int progress, index;
	char **inputs;
	int ninputs;
};

/* --created: seconds since the epoch, or an RFC 3339 time in UTC. */
static void
parse_created(const char *s, char buf[64])
{
	struct tm tm = {0};
	char *end;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		image_config_time(strtoll(s, NULL, 10), buf);
		return;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || (*end != 'Z' && *end != '.') || strlen(s) >= 64)
		usage_error("--created wants seconds or "
		            "YYYY-MM-DDTHH:MM:SSZ, not '%s'",
		            s);
	strlcpy(buf, s, 64);
}

static void
set_name(struct options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	const char *slash = strrchr(arg, '/');

	o->name = arg;
	if (colon != NULL && (slash == NULL || colon > slash)) {
		/* NAME:TAG in -n; an explicit -t still wins */
		static char name[4096];
		if ((size_t)(colon - arg) >= sizeof(name))
			usage_error("name too long");
		memcpy(name, arg, (size_t)(colon - arg));
		name[colon - arg] = '\0';
		o->name = name;
		if (o->tag == NULL)
			o->tag = colon + 1;
	}
}

/* --threads N: 1 to 64, or 0 for one per processor. */
static int
parse_threads(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 0 || n > 64)
		usage_error("--threads: '%s' is not a number from 0 to 64", s);
	return (int)n;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_FROM = 256,
		OPT_FROM_NAME,
		OPT_FROM_TAG,
		OPT_CREATED,
		OPT_FORMAT,
		OPT_COMPRESS,
		OPT_THREADS,
		OPT_PROGRESS,
		OPT_CONFIG_BLOB,
		OPT_MANIFEST_BLOB,
		OPT_INDEX,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"tag", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"from-name", required_argument, NULL, OPT_FROM_NAME},
	    {"from-tag", required_argument, NULL, OPT_FROM_TAG},
	    {"config", required_argument, NULL, 'c'},
	    {"created", required_argument, NULL, OPT_CREATED},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"output", required_argument, NULL, 'o'},
	    {"progress", no_argument, NULL, OPT_PROGRESS},
	    {"config-blob", required_argument, NULL, OPT_CONFIG_BLOB},
	    {"manifest-blob", required_argument, NULL, OPT_MANIFEST_BLOB},
	    {"index", no_argument, NULL, OPT_INDEX},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *created = NULL;
	int c;

	o->format = IMAGE_HYBRID;
	while ((c = getopt_long(argc, argv, "n:t:c:o:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 't':
			o->tag = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_FROM:
			o->from = optarg;
			break;
		case OPT_FROM_NAME:
			o->from_name = optarg;
			break;
		case OPT_FROM_TAG:
			o->from_tag = optarg;
			break;
		case OPT_CREATED:
			created = optarg;
			break;
		case OPT_FORMAT:
			if (image_format_parse(optarg, &o->format) < 0)
				usage_error("unknown format '%s'", optarg);
			break;
		case OPT_COMPRESS:
			if (compress_kind_parse(optarg, &o->compress) < 0)
				usage_error("unknown compression '%s'", optarg);
			break;
		case OPT_THREADS:
			o->threads = parse_threads(optarg);
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case OPT_CONFIG_BLOB:
			o->config_blob = optarg;
			break;
		case OPT_MANIFEST_BLOB:
			o->manifest_blob = optarg;
			break;
		case OPT_INDEX:
			o->index = 1;
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
	if (name == NULL || *name == '\0')
		usage_error("an image name is needed (-n NAME)");
	set_name(o, name);
	if (o->tag == NULL)
		o->tag = "latest";
	if (!reference_name_valid(o->name, strlen(o->name)) ||
	    !reference_tag_valid(o->tag, strlen(o->tag)))
		usage_error("bad name '%s:%s'", o->name, o->tag);
	if (o->config_blob && (o->config || created))
		usage_error("--config-blob is the whole config: no -c or "
		            "--created with it");
	if (o->manifest_blob && o->config_blob == NULL)
		usage_error("--manifest-blob needs --config-blob");
	if (o->manifest_blob &&
	    (o->format == IMAGE_DOCKER || o->format == IMAGE_LEGACY))
		usage_error("--manifest-blob needs --format hybrid or oci");
	if ((o->from_name || o->from_tag) && o->from == NULL)
		usage_error("--from-name and --from-tag need --from");
	if (o->compress == COMPRESS_ZSTD && o->format != IMAGE_OCI)
		usage_error("--compress zstd needs --format oci: Docker's "
		            "formats have no zstd layers");
	o->mtime = timestamp_default();
	if (created != NULL)
		parse_created(created, o->created);
	else
		image_config_time(o->mtime, o->created);
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	if (o->index && (o->from || o->config || created))
		usage_error("--index takes images alone: no --from, -c or "
		            "--created");
	if (o->index &&
	    (o->format == IMAGE_DOCKER || o->format == IMAGE_LEGACY))
		usage_error("--index needs --format hybrid or oci");
	if (o->index && o->ninputs == 0)
		usage_error("--index needs at least one IMAGE");
	if (o->ninputs == 0 && o->from == NULL) {
		static char *dash[] = {"-"};
		o->inputs = dash;
		o->ninputs = 1;
	}
	int stdin_uses = o->from && strcmp(o->from, "-") == 0;
	stdin_uses += o->config_blob && strcmp(o->config_blob, "-") == 0;
	stdin_uses += o->manifest_blob && strcmp(o->manifest_blob, "-") == 0;
	for (int i = 0; i < o->ninputs; i++)
		stdin_uses += strcmp(o->inputs[i], "-") == 0;
	if (stdin_uses > 1)
		usage_error("standard input can be read only once");
	if (o->progress == 0)
		o->progress = isatty(STDERR_FILENO);
}

/* --- the image config ---------------------------------------------------- */

/* What is known of the image while its layers go by. */
struct cook {
	struct options *o;
	struct image_writer *w;
	jv base_config;     /* the base image's config, or null */
	jv bundle_json;     /* the topmost bundle's json so far, or null */
	jv config;          /* -c CONFIG, read once: it may be a pipe */
	struct buffer blob; /* --config-blob's bytes */
	jv history;         /* entries so far */
	size_t nlayers, total;
	unsigned char *buf;

	/* For messages: whose base_config and bundle_json are. */
	const char *base_label;
	char *bundle_label; /* owned: the input the bundle json came from */
};

static jv
peek_key(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_null();
	return json_get(jv_copy(obj), key);
}

/* KEY ("architecture", "os") from the top bundle, the base, or here. */
static jv
platform_key(struct cook *k, const char *key, const char *fallback)
{
	jv v = peek_key(k->bundle_json, key);

	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		v = peek_key(k->base_config, key);
	}
	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		v = jv_string(fallback);
	}
	return v;
}

/* The base's container config; none when its image config has none. */
static jv
base_container_config(struct cook *k)
{
	jv c = peek_key(k->base_config, "config");
	jv_kind kind = jv_get_kind(c);

	if (jv_is_valid(c) && kind != JV_KIND_OBJECT && kind != JV_KIND_NULL)
		errx(EXIT_DATA, "%s: the image config's \"config\" is %s",
		     k->base_label, "not an object");
	return c;
}

/* The container config: CONFIG, or the top bundle's, over the base's. */
static jv
container_config(struct cook *k)
{
	jv over, merged, base = base_container_config(k);
	const char *from = k->o->config ? k->o->config : k->o->config_blob;

	if (from != NULL) {
		over = jv_copy(k->config);
	} else {
		over = peek_key(k->bundle_json, "config");
		from = k->bundle_label;
	}
	merged = image_config_merge(base, over);
	if (!jv_is_valid(merged)) {
		char *why = json_error(merged);
		errx(EXIT_DATA, "%s: %s", from ? from : "-c", why);
	}
	return image_config_default_path(merged);
}

/* The image config, without rootfs (the writer adds it). */
static jv
cooked_config(struct cook *k)
{
	jv c = jv_object();

	c = jv_object_set(
	    c, jv_string("architecture"),
	    platform_key(k, "architecture", platform_host_arch()));
	c = jv_object_set(c, jv_string("os"), platform_key(k, "os", "linux"));
	/* The variant only when one is named: "arm" alone is v7 anyway. */
	jv variant = platform_key(k, "variant", "");
	if (*jv_string_value(variant) != '\0')
		c = jv_object_set(c, jv_string("variant"), variant);
	else
		jv_free(variant);
	c = jv_object_set(c, jv_string("created"), jv_string(k->o->created));
	c = jv_object_set(c, jv_string("config"), container_config(k));
	return jv_object_set(c, jv_string("history"), jv_copy(k->history));
}

/* --- legacy json ---------------------------------------------------------- */

/* A layer's json when it has none of its own: where and when. */
static jv
v1_template(struct cook *k)
{
	jv v = jv_object();

	v = jv_object_set(
	    v, jv_string("architecture"),
	    platform_key(k, "architecture", platform_host_arch()));
	v = jv_object_set(v, jv_string("os"), platform_key(k, "os", "linux"));
	return jv_object_set(v, jv_string("created"), jv_string(k->o->created));
}

/*
 * The top layer's json carries the image's container config, where old
 * loaders read it.  TEXT (a bundle's json, or NULL) is kept byte for byte
 * when its config is that already, so that its id is the seed's.
 */
static char *
v1_top(struct cook *k, const char *text)
{
	jv v = text ? json_parse(text, strlen(text)) : v1_template(k);
	jv cfg = container_config(k), old;

	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "layer json is not a JSON object");
	old = json_get(jv_copy(v), "config");
	if (text != NULL && jv_equal(old, jv_copy(cfg))) {
		jv_free(v);
		jv_free(cfg);
		return xstrdup(text);
	}
	v = jv_object_delete(v, jv_string("id"));
	v = jv_object_delete(v, jv_string("parent"));
	v = jv_object_delete(v, jv_string("Size"));
	return json_dump(jv_object_set(v, jv_string("config"), cfg));
}

/* --- copying a layer ------------------------------------------------------ */

/* The last bytes of a layer, to see how it ends. */
struct tail {
	unsigned char b[2 * TAR_BLOCK];
	size_t n;
};

static void
tail_add(struct tail *t, const unsigned char *p, size_t n)
{
	size_t keep;

	if (n >= sizeof(t->b)) {
		memcpy(t->b, p + n - sizeof(t->b), sizeof(t->b));
		t->n = sizeof(t->b);
		return;
	}
	keep = t->n + n > sizeof(t->b) ? sizeof(t->b) - n : t->n;
	memmove(t->b, t->b + t->n - keep, keep);
	memcpy(t->b + keep, p, n);
	t->n = keep + n;
}

/* A layer tar ends with two zero blocks; a cut one most likely not. */
static void
check_tail(const struct layer_source *s, const struct tail *t)
{
	if (s->size % TAR_BLOCK != 0)
		errx(EXIT_DATA,
		     "%s: not a tar: %" PRId64 " bytes is not a "
		     "multiple of 512",
		     s->label, s->size);
	if (t->n < sizeof(t->b))
		errx(EXIT_DATA, "%s: not a tar: too short", s->label);
	for (size_t i = 0; i < t->n; i++)
		if (t->b[i] != 0)
			errx(EXIT_DATA,
			     "%s: the layer tar has no "
			     "end-of-archive (truncated?)",
			     s->label);
}

/* A layer's bytes on their way from its source to the image. */
struct copy {
	struct cook *k;
	struct layer_source *s;
	int64_t left;
	struct tail t;
};

static ssize_t
copy_read(void *ctx, void *buf, size_t n)
{
	struct copy *c = ctx;
	ssize_t got;

	if ((int64_t)n > c->left)
		n = (size_t)c->left;
	if (n == 0)
		return 0;
	if ((got = layer_source_read(c->s, buf, n)) == 0)
		errx(EXIT_DATA, "%s: ends %" PRId64 " bytes early", c->s->label,
		     c->left);
	c->left -= got;
	return got;
}

static void
copy_write(void *ctx, const void *p, size_t n)
{
	struct copy *c = ctx;

	image_writer_layer_write(c->k->w, p, n);
	if (c->s->is_tar)
		tail_add(&c->t, p, n);
}

/*
 * A name that climbs out with ".." has no place in a layer, nor one that
 * the tree rule (common/placement) refuses.
 */
static void
check_names(const struct layer_source *s, struct input_paths *in,
            const struct tar_entry *e)
{
	char *path;

	if (e->typeflag == 'g')
		return;
	if ((path = path_normalize(e->name)) == NULL)
		errx(EXIT_DATA,
		     "%s: offset %" PRIu64 ": '%s': name climbs out "
		     "with '..'",
		     s->label, e->offset, e->name);
	input_paths_take(in, e, path);
	free(path);
	if (e->typeflag != '1')
		return;
	if ((path = path_normalize(e->linkname)) == NULL)
		errx(EXIT_DATA,
		     "%s: offset %" PRIu64 ": '%s': hard link to '%s' climbs "
		     "out with '..'",
		     s->label, e->offset, e->name, e->linkname);
	free(path);
}

/*
 * Copy S's bytes unchanged.  A plain layer is read as a tar on its way
 * (its bytes are teed to the image as the reader takes them), so that a
 * malformed one, or one whose names climb out, stops here rather than in
 * whatever loads the image.
 */
static void
copy_layer(struct cook *k, struct layer_source *s)
{
	struct copy c = {k, s, s->size, {{0}, 0}};
	struct tar_reader *r;
	struct tar_entry *e;
	struct instream *in;
	struct input_paths *paths;
	char *label;
	int got;

	/* A bundle's offsets count from the start of its layer.tar. */
	label = xasprintf("%s%s", s->label, s->json ? ": layer.tar" : "");
	in = instream_fnopen(copy_read, &c, label);
	free(label);

	instream_plain(in);
	instream_tee_fn(in, copy_write, &c);
	if (!s->is_tar) {
		if (instream_drain_tee(in) < 0)
			errx(EXIT_DATA, "%s: %s", s->label, instream_error(in));
		instream_close(in);
		return;
	}
	r = tar_reader_new(in);
	paths = input_paths_new(s->label, 0);
	while ((got = tar_reader_next(r, &e)) == 1) {
		check_names(s, paths, e);
		while (tar_reader_read(r, k->buf, COPY_BUF) > 0)
			;
	}
	input_paths_free(paths);
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (instream_drain_tee(in) < 0)
		errx(EXIT_DATA, "%s: %s", s->label, instream_error(in));
	tar_reader_close(r);
	check_tail(s, &c.t);
}

static void
progress(struct cook *k, const char *label, const char *diff_id, int64_t size)
{
	k->total += (size_t)size;
	if (k->o->progress)
		fprintf(stderr,
		        "di-cook: layer %zu: %s: %" PRId64 " bytes, %s\n",
		        k->nlayers, label, size, diff_id);
}

/* What may follow a compressed layer's end-of-archive: padding, not more. */
#define TAIL_SLACK (1 << 20)

/*
 * A layer kept compressed is read decompressed first, checked as a plain
 * one is (a tar, names that stay inside) and hashed: its diff_id, which
 * the writer needs before the compressed bytes.
 */
static char *
check_compressed(struct cook *k, const struct layer_source *s,
                 int64_t *plain_size)
{
	struct instream *in = layer_source_plain(s);
	struct tar_reader *r = tar_reader_new(in);
	struct input_paths *paths = input_paths_new(s->label, 0);
	struct tar_entry *e;
	struct digest d;
	char hex[DIGEST_MAX_HEX], *id;
	uint64_t after = 0;
	int got;

	digest_init(&d, "sha256");
	instream_digest(in, &d);
	while ((got = tar_reader_next(r, &e)) == 1) {
		check_names(s, paths, e);
		while (tar_reader_read(r, k->buf, COPY_BUF) > 0)
			;
	}
	input_paths_free(paths);
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
	if (got == 0 && instream_offset(in) == 0)
		errx(EXIT_DATA, "%s: not a tar: empty", s->label);
	/*
	 * The padding after the end-of-archive belongs to the diff_id; more
	 * than a little (a few bytes of gzip that inflate to gigabytes of
	 * zeros) is refused, as for a spooled layer.
	 */
	while ((got = (int)instream_read(in, k->buf, COPY_BUF)) > 0)
		if ((after += (uint64_t)got) > TAIL_SLACK)
			errx(EXIT_DATA,
			     "%s: more than %d bytes follow the end of the "
			     "archive at offset %" PRIu64,
			     s->label, TAIL_SLACK, tar_reader_offset(r));
	if (got < 0)
		errx(EXIT_DATA, "%s: %s", s->label, instream_error(in));
	*plain_size = (int64_t)instream_offset(in);
	tar_reader_close(r);
	digest_final_hex(&d, hex);
	if (asprintf(&id, "sha256:%s", hex) < 0)
		err(EXIT_DATA, "malloc");
	return id;
}

/* Write one layer from S with META; add its history entry. */
static void
put_layer(struct cook *k, struct layer_source *s, struct image_layer_meta *m,
          jv history)
{
	const char *diff_id;
	char *plain_id = NULL;

	m->label = s->label;
	m->size = s->size;
	if (strcmp(s->compression, "zstd") == 0 && k->o->format != IMAGE_OCI)
		errx(EXIT_DATA,
		     "%s: a zstd layer needs --format oci: Docker's formats "
		     "have no zstd layers (di-edit layers --decompress)",
		     s->label);
	if (strcmp(s->compression, "none") != 0) {
		m->compression = s->compression;
		m->diff_id = plain_id = check_compressed(k, s, &m->plain_size);
	}
	image_writer_layer_begin(k->w, m);
	copy_layer(k, s);
	diff_id = image_writer_layer_end(k->w);
	k->nlayers++;
	progress(k, s->label, diff_id, s->size);
	k->history = jv_array_append(k->history, history);
	free(plain_id);
}

/* --- the base image ------------------------------------------------------- */

/* The base's history, one entry per layer even when it had none. */
static jv
base_history(struct image *img)
{
	jv h = peek_key(image_config(img), "history");
	jv created = peek_key(image_config(img), "created");

	if (jv_get_kind(h) == JV_KIND_ARRAY) {
		jv_free(created);
		return h;
	}
	jv_free(h);
	h = jv_array();
	for (size_t i = 0; i < image_layer_count(img); i++) {
		jv e = jv_object();
		if (jv_get_kind(created) == JV_KIND_STRING)
			e = jv_object_set(e, jv_string("created"),
			                  jv_copy(created));
		h = jv_array_append(h, e);
	}
	jv_free(created);
	return h;
}

/* A compressed layer is checked by reading it decompressed first. */
static void
verify_compressed(struct image *img, size_t i)
{
	struct image_layer *l = image_layer_open(img, i);

	image_layer_close(l);
}

static void
put_base_layer(struct cook *k, struct image *img, size_t i, int is_top)
{
	struct image_layer_meta m = {0};
	struct layer_source s = {.paths = jv_null()};
	char label[512], *json = NULL;

	snprintf(label, sizeof(label), "%s: %s", image_label(img),
	         image_layer_path(img, i));
	s.label = label;
	s.size = image_layer_size(img, i);
	m.compression = image_layer_compression(img, i);
	m.diff_id = image_layer_diff_id(img, i);
	s.is_tar = strcmp(m.compression, "none") == 0;
	if (!s.is_tar)
		verify_compressed(img, i);
	if (is_top) {
		m.v1_json = json = v1_top(k, image_layer_v1_json(img, i));
		if (image_layer_v1_id(img, i) != NULL &&
		    strcmp(json, image_layer_v1_json(img, i)) == 0)
			m.v1_id = image_layer_v1_id(img, i);
	} else if (image_layer_v1_id(img, i) != NULL) {
		m.v1_id = image_layer_v1_id(img, i);
		m.v1_json = image_layer_v1_json(img, i);
	} else {
		m.v1_json = json = json_dump(v1_template(k));
	}
	s.in = image_layer_raw(img, i);
	m.label = label;
	m.size = s.size;
	image_writer_layer_begin(k->w, &m);
	copy_layer(k, &s);
	image_writer_layer_end(k->w);
	k->nlayers++;
	progress(k, label, image_layer_diff_id(img, i), s.size);
	instream_close(s.in);
	free(json);
}

/* Layer I of an index's image, its legacy id and json kept when it has
 * them; DIGEST: the bytes' digest, for an image stored by digest. */
static void
put_index_layer(struct cook *k, struct image *img, size_t i, const char *digest)
{
	struct image_layer_meta m = {0};
	struct layer_source s = {.paths = jv_null()};
	char label[512], *json = NULL;

	snprintf(label, sizeof(label), "%s: %s", image_label(img),
	         image_layer_path(img, i));
	s.label = m.label = label;
	s.size = m.size = image_layer_size(img, i);
	m.compression = image_layer_compression(img, i);
	m.diff_id = image_layer_diff_id(img, i);
	m.digest = digest;
	s.is_tar = strcmp(m.compression, "none") == 0;
	if (!s.is_tar)
		verify_compressed(img, i);
	if (image_layer_v1_id(img, i) != NULL) {
		m.v1_id = image_layer_v1_id(img, i);
		m.v1_json = image_layer_v1_json(img, i);
	} else {
		m.v1_json = json = json_dump(v1_template(k));
	}
	s.in = image_layer_raw(img, i);
	image_writer_layer_begin(k->w, &m);
	copy_layer(k, &s);
	image_writer_layer_end(k->w);
	k->nlayers++;
	progress(k, label, image_layer_diff_id(img, i), s.size);
	instream_close(s.in);
	free(json);
}

static void
put_base(struct cook *k, struct image *img)
{
	size_t n = image_layer_count(img);

	k->base_config = jv_copy(image_config(img));
	k->base_label = image_label(img);
	jv_free(k->history);
	k->history = base_history(img);
	for (size_t i = 0; i < n; i++)
		put_base_layer(k, img, i, k->o->ninputs == 0 && i == n - 1);
}

/* --- the inputs ----------------------------------------------------------- */

static jv
parse_bundle_json(const struct layer_source *s)
{
	jv v = json_parse(s->json, strlen(s->json));

	if (!jv_is_valid(v)) {
		char *why = json_error(v);
		errx(EXIT_DATA, "%s: json: %s", s->label, why);
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "%s: json: not an object", s->label);
	return v;
}

/* "store paths: A B ...", what a STACK's layer holds, for its history. */
static jv
paths_comment(jv paths)
{
	jv c = jv_string("store paths:");

	for (int i = 0; i < jv_array_length(jv_copy(paths)); i++)
		c = jv_string_concat(jv_string_concat(c, jv_string(" ")),
		                     jv_array_get(jv_copy(paths), i));
	jv_free(paths);
	return c;
}

static jv
new_history(struct cook *k, const struct layer_source *s)
{
	jv h = jv_object();

	h = jv_object_set(h, jv_string("created"), jv_string(k->o->created));
	h = jv_object_set(h, jv_string("created_by"), jv_string("di-cook"));
	if (jv_get_kind(s->paths) == JV_KIND_ARRAY)
		h = jv_object_set(h, jv_string("comment"),
		                  paths_comment(jv_copy(s->paths)));
	return h;
}

/* Each layer of the input at PATH; the top one if it is the image's. */
static void
put_input(struct cook *k, const char *path, int is_top_input)
{
	struct layer_input *li = layer_input_open_stored(path);
	struct layer_source *s;
	size_t n = 0;

	for (; layer_input_next(li, &s) == 1; n++) {
		struct image_layer_meta m = {0};
		char *json = NULL;
		if (s->json != NULL) {
			jv_free(k->bundle_json);
			k->bundle_json = parse_bundle_json(s);
			free(k->bundle_label);
			k->bundle_label = xstrdup(s->label);
		}
		if (is_top_input && s->last)
			m.v1_json = json = v1_top(k, s->json);
		else if (s->json != NULL)
			m.v1_json = s->json;
		else
			m.v1_json = json = json_dump(v1_template(k));
		put_layer(k, s, &m, new_history(k, s));
		free(json);
	}
	if (n == 0)
		errx(EXIT_DATA, "%s: a STACK of no layers", path);
	layer_input_close(li);
}

/*
 * --config-blob: the config's bytes, kept for the image as they are; its
 * platform and container config serve where di-cook needs them (the
 * legacy json), in place of a base's.
 */
static void
read_blob(struct cook *k)
{
	jv v;

	if (buffer_read_file(&k->blob, k->o->config_blob, 64u << 20) < 0)
		err(EXIT_DATA, "%s", k->o->config_blob);
	v = json_parse((const char *)k->blob.data, k->blob.len);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		errx(EXIT_DATA, "%s: not a JSON object", k->o->config_blob);
	}
	jv_free(k->config);
	k->config = json_get(jv_copy(v), "config");
	if (jv_get_kind(k->config) != JV_KIND_OBJECT) {
		jv_free(k->config);
		k->config = jv_null();
	}
	jv_free(k->base_config);
	k->base_config = v;
	k->base_label = k->o->config_blob;
}

/*
 * --manifest-blob: the OCI manifest's bytes, kept as they are; the writer
 * checks that they describe the config and layers written.
 */
static void
put_manifest_blob(struct cook *k)
{
	struct buffer b = {0};

	if (buffer_read_file(&b, k->o->manifest_blob, 4u << 20) < 0)
		err(EXIT_DATA, "%s", k->o->manifest_blob);
	image_writer_manifest_blob(k->w, (const char *)b.data, b.len);
	buffer_free(&b);
}

/* --- a multi-platform image -------------------------------------------- */

/* The platform an image's config names, its strings borrowed. */
static struct platform
image_platform(struct image *img)
{
	jv c = image_config(img);
	struct platform p = {json_peek_string(c, "os"),
	                     json_peek_string(c, "architecture"),
	                     json_peek_string(c, "variant")};

	if (p.os == NULL || p.arch == NULL)
		errx(EXIT_DATA,
		     "%s: the image config names no os and "
		     "architecture",
		     image_label(img));
	return p;
}

static void
platform_name(const struct platform *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s%s", p->os, p->arch, p->variant ? "/" : "",
	         p->variant ? p->variant : "");
}

/* Two images of one platform: an index could not tell them apart. */
static void
check_platforms(struct image **imgs, int n)
{
	char name[256];

	for (int i = 0; i < n; i++) {
		struct platform a = image_platform(imgs[i]);
		for (int j = 0; j < i; j++) {
			struct platform b = image_platform(imgs[j]);
			if (!platform_match(&a, &b) && !platform_match(&b, &a))
				continue;
			platform_name(&a, name, sizeof(name));
			errx(EXIT_DATA, "%s and %s: both images are for %s",
			     image_label(imgs[j]), image_label(imgs[i]), name);
		}
	}
}

/* The image for this machine, else the first: the one docker load sees. */
static int
docker_facing(struct image **imgs, int n)
{
	struct platform host = platform_host();

	for (int i = 0; i < n; i++) {
		struct platform p = image_platform(imgs[i]);
		if (platform_match(&host, &p))
			return i;
	}
	return 0;
}

/* "sha256:<hex>" of layer I as stored: named by the archive, or hashed. */
static char *
layer_digest(struct cook *k, struct image *img, size_t i)
{
	struct instream *in;
	struct digest d;
	char hex[DIGEST_MAX_HEX], *s;
	ssize_t n;

	if (image_layer_digest(img, i) != NULL)
		return xstrdup(image_layer_digest(img, i));
	in = image_layer_raw(img, i);
	digest_init(&d, "sha256");
	while ((n = instream_read(in, k->buf, COPY_BUF)) > 0)
		digest_update(&d, k->buf, (size_t)n);
	if (n < 0)
		errx(EXIT_DATA, "%s: %s", image_label(img), instream_error(in));
	instream_close(in);
	digest_final_hex(&d, hex);
	if (asprintf(&s, "sha256:%s", hex) < 0)
		err(EXIT_DATA, "malloc");
	return s;
}

/* One image of the index: its layers as they are, its config as it is. */
static void
put_platform_image(struct cook *k, struct image *img, int first)
{
	size_t len;
	const char *config;

	k->base_config = jv_copy(image_config(img));
	k->base_label = image_label(img);
	for (size_t i = 0; i < image_layer_count(img); i++) {
		char *digest = first ? NULL : layer_digest(k, img, i);
		put_index_layer(k, img, i, digest);
		free(digest);
	}
	jv_free(k->base_config);
	k->base_config = jv_null();
	config = image_config_bytes(img, &len);
	image_writer_next_image(k->w, config, len);
}

static int
main_index(struct cook *k)
{
	struct options *o = k->o;
	struct image **imgs = xcalloc((size_t)o->ninputs, sizeof(*imgs));
	int first;

	for (int i = 0; i < o->ninputs; i++)
		imgs[i] = image_open(o->inputs[i], NULL, NULL);
	check_platforms(imgs, o->ninputs);
	first = docker_facing(imgs, o->ninputs);
	k->w = image_writer_new(outfile_open(o->output, OUT_TAR), o->name,
	                        o->tag, o->format, o->mtime);
	put_platform_image(k, imgs[first], 1);
	for (int i = 0; i < o->ninputs; i++)
		if (i != first)
			put_platform_image(k, imgs[i], 0);
	image_writer_finish_index(k->w);
	if (o->output != NULL)
		outfile_commit();
	for (int i = 0; i < o->ninputs; i++)
		image_close(imgs[i]);
	free(imgs);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct cook k = {0};
	struct image *base = NULL;

	parse_options(argc, argv, &o);
	k.o = &o;
	k.base_config = jv_null();
	k.bundle_json = jv_null();
	k.history = jv_array();
	k.buf = xmalloc(COPY_BUF);
	if (o.index) {
		main_index(&k);
		jv_free(k.history);
		free(k.buf);
		return 0;
	}
	if (o.from != NULL)
		base = image_open(o.from, o.from_name, o.from_tag);
	if (o.ninputs == 0 && image_layer_count(base) == 0)
		errx(EXIT_DATA, "%s: no layers: the image would be empty",
		     image_label(base));
	k.config = o.config != NULL ? json_load_file(o.config) : jv_null();
	if (o.config_blob != NULL)
		read_blob(&k);
	k.w = image_writer_new(outfile_open(o.output, OUT_TAR), o.name, o.tag,
	                       o.format, o.mtime);
	image_writer_compress(k.w, o.compress, o.threads);
	if (base != NULL)
		put_base(&k, base);
	for (int i = 0; i < o.ninputs; i++)
		put_input(&k, o.inputs[i], i == o.ninputs - 1);
	if (o.manifest_blob != NULL)
		put_manifest_blob(&k);
	if (o.config_blob != NULL)
		image_writer_finish_raw(k.w, (const char *)k.blob.data,
		                        k.blob.len);
	else
		image_writer_finish(k.w, cooked_config(&k));
	if (o.output != NULL)
		outfile_commit();
	if (o.progress)
		fprintf(stderr, "di-cook: %s:%s: %zu layers, %zu bytes\n",
		        o.name, o.tag, k.nlayers, k.total);
	image_close(base);
	jv_free(k.base_config);
	jv_free(k.bundle_json);
	jv_free(k.config);
	jv_free(k.history);
	buffer_free(&k.blob);
	free(k.buf);
	free(k.bundle_label);
	return 0;
}
