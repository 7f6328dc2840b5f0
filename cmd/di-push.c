/*
 * di-push: an IMAGE into a registry (HTTP API v2), sending only the blobs
 * it lacks, the tag written last.
 *
 *	di-push [--creds USER:PASS] [--authfile FILE] [--cert-dir DIR]
 *	        [--plain-http] [--tls-verify=false] [--compress none|gzip|zstd]
 *	        [--digestfile FILE] [IMAGE] REFERENCE
 *
 * The shell it replaces:
 *	skopeo copy docker-archive:IMAGE docker://REFERENCE
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "compress.h"
#include "digest.h"
#include "errors.h"
#include "fdio.h"
#include "image.h"
#include "instream.h"
#include "json.h"
#include "outfile.h"
#include "progress.h"
#include "reference.h"
#include "registry.h"
#include "registry_args.h"
#include "spool.h"
#include "workpool.h"
#include "xalloc.h"

#define COPY_BUFSZ (1 << 20)
#define MAX_JOBS 16
#define MAX_MOUNTS 16
#define DIGEST_LEN (7 + DIGEST_MAX_HEX)

#define MT_DOCKER_MANIFEST                                                     \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: di-push [--creds USER:PASS] [--authfile FILE] "
	        "[--cert-dir DIR]\n"
	        "               [--plain-http] [--tls-verify=false] "
	        "[--compress none|gzip|zstd]\n"
	        "               [--digestfile FILE] [IMAGE] REFERENCE\n"
	        "Push an IMAGE archive (a file, or standard input) to a "
	        "registry.\n"
	        "  REFERENCE            [registry[:port]/]repository[:tag]\n"
	        "      --compress C     uncompressed layers sent as gzip "
	        "(default), zstd or none\n"
	        "      --format F       manifest: docker or oci (default: as "
	        "the layers need)\n"
	        "      --mount-from R   a repository of the same registry to "
	        "mount blobs from\n"
	        "      --digestfile F   write the manifest digest to F too\n"
	        "  -j, --jobs N         blobs sent at once (default 4)\n"
	        "      --chunk-size B   bytes per upload request (default "
	        "64 MiB)\n"
	        "  -q, --quiet          no progress\n"
	        "      --progress       progress even when stderr is not a "
	        "terminal\n" REGISTRY_USAGE "      --help, --version\n");
	exit(status);
}

enum manifest_format { FORMAT_AUTO, FORMAT_DOCKER, FORMAT_OCI };

struct options {
	const char *digestfile, *image, *reference;
	enum compress_kind compress;
	enum manifest_format format;
	const char *mounts[MAX_MOUNTS];
	size_t nmounts;
	struct registry_args net;
	int64_t chunk;
	int quiet, progress, jobs;
};

enum {
	OPT_COMPRESS = 256,
	OPT_FORMAT,
	OPT_MOUNT,
	OPT_DIGESTFILE,
	OPT_CHUNK,
	OPT_PROGRESS,
	OPT_HELP,
	OPT_VERSION
};

static const struct option longopts[] = {
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"mount-from", required_argument, NULL, OPT_MOUNT},
    {"digestfile", required_argument, NULL, OPT_DIGESTFILE},
    {"jobs", required_argument, NULL, 'j'},
    {"chunk-size", required_argument, NULL, OPT_CHUNK},
    {"quiet", no_argument, NULL, 'q'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    REGISTRY_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static void
set_format(const char *s, enum manifest_format *f)
{
	if (strcmp(s, "docker") == 0)
		*f = FORMAT_DOCKER;
	else if (strcmp(s, "oci") == 0)
		*f = FORMAT_OCI;
	else
		usage_error("--format wants docker or oci");
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->compress = COMPRESS_GZIP;
	o->jobs = 4;
	o->chunk = 64 << 20;
	registry_args_init(&o->net, "di-push/" DI_VERSION);
	while ((c = getopt_long(argc, argv, "j:q", longopts, NULL)) != -1) {
		if (registry_args_option(&o->net, c, optarg))
			continue;
		switch (c) {
		case OPT_COMPRESS:
			if (compress_kind_parse(optarg, &o->compress) < 0)
				usage_error("--compress wants none, gzip or "
				            "zstd");
			break;
		case OPT_FORMAT:
			set_format(optarg, &o->format);
			break;
		case OPT_MOUNT:
			if (o->nmounts == MAX_MOUNTS)
				usage_error("at most %d --mount-from",
				            MAX_MOUNTS);
			if (!reference_name_valid(optarg, strlen(optarg)))
				usage_error("invalid repository '%s'", optarg);
			o->mounts[o->nmounts++] = optarg;
			break;
		case OPT_DIGESTFILE:
			o->digestfile = optarg;
			break;
		case 'j':
			o->jobs = (int)registry_args_number(optarg, "--jobs", 1,
			                                    MAX_JOBS);
			break;
		case OPT_CHUNK:
			o->chunk = registry_args_number(optarg, "--chunk-size",
			                                4096, 1L << 32);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
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
	if (argc - optind < 1 || argc - optind > 2)
		usage_error(argc == optind
		                ? "no REFERENCE"
		                : "one IMAGE and one REFERENCE only");
	o->image = argc - optind == 2 ? argv[optind] : "-";
	o->reference = argv[argc - 1];
	if (o->quiet)
		o->progress = 0;
	else if (isatty(STDERR_FILENO))
		o->progress = 1;
}

/* Blobs: each layer made ready (compressed, hashed) and sent by workers. */

struct blob {
	const char *diff_id;
	const char *known; /* the stored digest, when the image names it */
	enum compress_kind stored, sent;
	char digest[DIGEST_LEN]; /* of the bytes sent */
	int64_t size;
	int fd; /* the bytes sent, spooled; -1 until then */
	char *label;
};

struct push {
	struct image *img;
	struct registry *reg;
	const struct options *o;
	struct blob *blobs;
	struct work_item *items;
	size_t n;
};

/* Bytes into a spool file, hashed on the way. */
struct spool_sink {
	int fd;
	struct digest sha;
	int64_t len;
};

static int
to_spool(void *ctx, const void *buf, size_t len)
{
	struct spool_sink *s = ctx;

	digest_update(&s->sha, buf, len);
	s->len += (int64_t)len;
	return fdio_write_all(s->fd, buf, len);
}

/*
 * Spool layer I as it will be sent: compressed on the way when it is
 * stored plain and --compress asks for it; its digest and size learnt,
 * the plain bytes checked against the diff_id.
 */
static int
spool_layer(struct push *p, size_t i)
{
	struct blob *b = &p->blobs[i];
	struct work_item *it = &p->items[i];
	struct instream *in = image_layer_raw(p->img, i);
	struct spool_sink s = {.fd = spool_tempfile()};
	/* Only a plain layer is compressed; others go as they are. */
	struct compressor *z =
	    b->sent != b->stored ? compressor_new(b->sent, to_spool, &s) : NULL;
	struct digest plain;
	char *buf = xcalloc(1, COPY_BUFSZ), hex[DIGEST_MAX_HEX];
	int64_t done = 0;
	ssize_t n;
	int rc = 0;

	digest_init(&s.sha, "sha256");
	digest_init(&plain, "sha256");
	work_item_phase(it, z ? "compressing" : "reading");
	while (rc == 0 && (n = instream_read(in, buf, COPY_BUFSZ)) > 0) {
		digest_update(&plain, buf, (size_t)n);
		if (z ? compressor_write(z, buf, (size_t)n) < 0
		      : to_spool(&s, buf, (size_t)n) < 0)
			rc = work_item_fail(it, "%s: %s", b->label,
			                    z ? compressor_error(z)
			                      : strerror(errno));
		work_item_progress(it, done += n);
	}
	if (rc == 0 && n < 0)
		rc = work_item_fail(it, "%s: %s", b->label, instream_error(in));
	if (z != NULL && rc == 0 && compressor_finish(z) < 0)
		rc = work_item_fail(it, "%s: compressing: %s", b->label,
		                    strerror(errno));
	else if (z != NULL && rc < 0)
		compressor_abandon(z);
	instream_close(in);
	free(buf);
	digest_final_hex(&plain, hex);
	if (rc == 0 && b->stored == COMPRESS_NONE &&
	    strcmp(hex, b->diff_id + 7) != 0)
		rc = work_item_fail(it,
		                    "%s: diff_id is sha256:%s, the config "
		                    "says %s",
		                    b->label, hex, b->diff_id);
	digest_final_hex(&s.sha, hex);
	if (rc == 0 && b->known != NULL && strcmp(hex, b->known + 7) != 0)
		rc = work_item_fail(it,
		                    "%s: content has digest sha256:%s, the "
		                    "image says %s",
		                    b->label, hex, b->known);
	snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
	b->size = s.len;
	b->fd = s.fd;
	__atomic_store_n(&it->size, s.len, __ATOMIC_RELAXED);
	return rc;
}

static void
on_progress(void *arg, int64_t done)
{
	work_item_progress(arg, done);
}

/*
 * Mount DIGEST from a candidate repository (--mount-from), or start its
 * upload: 1 when mounted, 0 with *UPLOAD.
 */
static int
mount_or_start(const struct options *o, struct registry_conn *c,
               const char *digest, char **upload)
{
	for (size_t k = 0; k < o->nmounts; k++) {
		int rc = registry_start_upload(c, digest, o->mounts[k], upload);
		if (rc != 0)
			return rc;
		if (k + 1 < o->nmounts) {
			free(*upload); /* abandoned: the registry expires it */
			*upload = NULL;
		}
	}
	return *upload ? 0 : registry_start_upload(c, digest, NULL, upload);
}

/* Send blob B unless the registry has it or can mount it. */
static int
send_blob(struct push *p, struct registry_conn *c, size_t i)
{
	struct blob *b = &p->blobs[i];
	struct work_item *it = &p->items[i];
	char *upload = NULL;
	int rc;

	work_item_phase(it, "checking");
	rc = registry_blob_exists(c, b->digest, b->size);
	if (rc == 1) {
		it->outcome = "present";
		return 0;
	}
	if (rc == 0) {
		work_item_phase(it, "mounting");
		rc = mount_or_start(p->o, c, b->digest, &upload);
	}
	if (rc == 1) {
		it->outcome = "mounted";
		return 0;
	}
	if (rc == 0 && b->fd < 0)
		rc = spool_layer(p, i) < 0 ? -2 : 0;
	if (rc == 0) {
		work_item_phase(it, "uploading");
		work_item_progress(it, 0);
		rc = registry_upload_blob(c, &upload, b->digest, b->fd, b->size,
		                          p->o->chunk, on_progress, it);
	}
	free(upload);
	if (rc == -1)
		return work_item_fail(it, "%s", registry_conn_error(c));
	return rc;
}

static int
run_job(void *ctx, void *worker, size_t i)
{
	struct push *p = ctx;
	struct blob *b = &p->blobs[i];
	int rc = 0;

	if (b->known == NULL)
		rc = spool_layer(p, i);
	else
		snprintf(b->digest, sizeof(b->digest), "%s", b->known);
	if (rc == 0)
		rc = send_blob(p, worker, i);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	return rc < 0 ? -1 : 0;
}

static void *
conn_new(void *ctx)
{
	return registry_conn_new(((struct push *)ctx)->reg);
}

static void
conn_free(void *c)
{
	registry_conn_free(c);
}

/* What to send for each layer, and so which manifest. */

static enum compress_kind
stored_kind(const struct push *p, size_t i)
{
	const char *s = image_layer_compression(p->img, i);
	enum compress_kind k;

	if (compress_kind_parse(s, &k) < 0)
		errx(EXIT_DATA,
		     "%s: layer %zu is compressed with %s, which "
		     "registries do not take",
		     image_label(p->img), i + 1, s);
	return k;
}

static enum manifest_format
plan_blobs(struct push *p)
{
	int all_gzip = 1;

	for (size_t i = 0; i < p->n; i++) {
		struct blob *b = &p->blobs[i];
		b->diff_id = image_layer_diff_id(p->img, i);
		b->stored = stored_kind(p, i);
		b->sent =
		    b->stored == COMPRESS_NONE ? p->o->compress : b->stored;
		b->fd = -1;
		b->size = image_layer_size(p->img, i);
		/* The digest is known without reading only as stored. */
		if (b->sent == b->stored)
			b->known = b->stored == COMPRESS_NONE
			               ? b->diff_id
			               : image_layer_digest(p->img, i);
		if (b->sent != COMPRESS_GZIP)
			all_gzip = 0;
		b->label =
		    xasprintf("%s: layer %zu", image_label(p->img), i + 1);
		p->items[i] =
		    (struct work_item){.name = b->diff_id, .size = b->size};
	}
	if (p->o->format == FORMAT_DOCKER && !all_gzip)
		errx(EXIT_USAGE, "--format docker: a Docker manifest takes "
		                 "gzip layers only (give --compress gzip, or "
		                 "--format oci)");
	if (p->o->format != FORMAT_AUTO)
		return p->o->format;
	/* An OCI image stays OCI; a Docker one too, unless its layers
	 * need OCI's media types (zstd, none). */
	if (strcmp(image_form(p->img), "oci") == 0)
		return FORMAT_OCI;
	return all_gzip ? FORMAT_DOCKER : FORMAT_OCI;
}

static void
push_layers(struct push *p)
{
	struct workpool_ops ops = {.worker_new = conn_new,
	                           .worker_free = conn_free,
	                           .run = run_job,
	                           .ctx = p};
	struct progress *pr = progress_new(p->o->progress);
	struct workpool *pool =
	    workpool_start(p->items, p->n, (size_t)p->o->jobs, &ops, pr);

	workpool_finish(pool);
	progress_free(pr);
}

/* The config, from memory, after the layers. */
static void
push_config(const struct options *o, struct registry_conn *c, const char *bytes,
            size_t len, char digest[DIGEST_LEN])
{
	char hex[DIGEST_MAX_HEX], *upload = NULL;
	int rc;

	digest_buffer_hex("sha256", bytes, len, hex);
	snprintf(digest, DIGEST_LEN, "sha256:%s", hex);
	rc = registry_blob_exists(c, digest, (int64_t)len);
	if (rc == 0)
		rc = mount_or_start(o, c, digest, &upload);
	if (rc == 0) {
		int fd = spool_tempfile();
		if (fdio_write_all(fd, bytes, len) < 0)
			err(EXIT_DATA, "temporary file");
		rc = registry_upload_blob(c, &upload, digest, fd, (int64_t)len,
		                          (int64_t)len + 1, NULL, NULL);
		close(fd);
	}
	free(upload);
	if (rc < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
}

static jv
descriptor(const char *media_type, const char *digest, int64_t size)
{
	jv d = jv_object();

	d = jv_object_set(d, jv_string("mediaType"), jv_string(media_type));
	d = jv_object_set(d, jv_string("digest"), jv_string(digest));
	return jv_object_set(d, jv_string("size"), jv_number((double)size));
}

static const char *
layer_type(enum manifest_format f, enum compress_kind k)
{
	if (f == FORMAT_DOCKER)
		return MT_DOCKER_GZIP;
	return k == COMPRESS_GZIP   ? MT_OCI_LAYER "+gzip"
	       : k == COMPRESS_ZSTD ? MT_OCI_LAYER "+zstd"
	                            : MT_OCI_LAYER;
}

/* The image manifest, canonical JSON (so the same image, the same digest). */
static char *
manifest_text(const struct push *p, enum manifest_format f, const char *config,
              size_t config_len)
{
	int docker = f == FORMAT_DOCKER;
	jv m = jv_object(), layers = jv_array();

	m = jv_object_set(m, jv_string("schemaVersion"), jv_number(2));
	m = jv_object_set(
	    m, jv_string("mediaType"),
	    jv_string(docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST));
	m = jv_object_set(m, jv_string("config"),
	                  descriptor(docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG,
	                             config, (int64_t)config_len));
	for (size_t i = 0; i < p->n; i++)
		layers = jv_array_append(
		    layers, descriptor(layer_type(f, p->blobs[i].sent),
		                       p->blobs[i].digest, p->blobs[i].size));
	m = jv_object_set(m, jv_string("layers"), layers);
	return json_dump(m);
}

/*
 * The manifest, by its digest first, then TAG (NULL: none, an index's
 * entry): the tag is written only when the registry has taken everything
 * it names.  *SIZE and *TYPE: the manifest's length and media type.
 */
static void
push_manifest(struct registry_conn *c, const struct push *p,
              enum manifest_format f, const char *config, size_t config_len,
              const char *tag, char digest[DIGEST_LEN], int64_t *size)
{
	char *m = manifest_text(p, f, config, config_len), hex[DIGEST_MAX_HEX];
	const char *type =
	    f == FORMAT_DOCKER ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;

	digest_buffer_hex("sha256", m, strlen(m), hex);
	snprintf(digest, DIGEST_LEN, "sha256:%s", hex);
	*size = (int64_t)strlen(m);
	int rc = registry_put_manifest(c, digest, type, m, strlen(m));
	if (rc == 0 && tag != NULL)
		rc = registry_put_manifest(c, tag, type, m, strlen(m));
	free(m);
	if (rc < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
}

static void
write_digestfile(const char *path, const char *digest)
{
	int fd = outfile_open(path, OUT_TEXT);

	if (fdio_write_all(fd, digest, strlen(digest)) < 0 ||
	    fdio_write_all(fd, "\n", 1) < 0)
		outfile_write_failed(fd);
	outfile_commit();
}

static void
add_scopes(struct registry *reg, const struct options *o,
           const struct reference *ref)
{
	char *s;

	s = xasprintf("repository:%s:pull,push", ref->path);
	registry_add_scope(reg, s);
	free(s);
	for (size_t i = 0; i < o->nmounts; i++) {
		s = xasprintf("repository:%s:pull", o->mounts[i]);
		registry_add_scope(reg, s);
		free(s);
	}
}

/* One image: its layers, its config, its manifest (tagged TAG, or not). */
static enum manifest_format
push_image(struct push *p, struct registry_conn *c, const char *tag,
           char digest[DIGEST_LEN], int64_t *size)
{
	char config_digest[DIGEST_LEN];
	size_t config_len;

	p->n = image_layer_count(p->img);
	p->blobs = xcalloc(p->n ? p->n : 1, sizeof(*p->blobs));
	p->items = xcalloc(p->n ? p->n : 1, sizeof(*p->items));
	enum manifest_format f = plan_blobs(p);
	push_layers(p);
	const char *config = image_config_bytes(p->img, &config_len);
	push_config(p->o, c, config, config_len, config_digest);
	push_manifest(c, p, f, config_digest, config_len, tag, digest, size);
	for (size_t i = 0; i < p->n; i++) {
		work_item_free(&p->items[i]);
		free(p->blobs[i].label);
	}
	free(p->blobs);
	free(p->items);
	return f;
}

/* An index entry: the manifest pushed and its platform. */
static jv
index_entry(enum manifest_format f, const char *digest, int64_t size,
            const char *os, const char *arch, const char *variant)
{
	jv e = descriptor(f == FORMAT_DOCKER ? MT_DOCKER_MANIFEST
	                                     : MT_OCI_MANIFEST,
	                  digest, size);
	jv pl = jv_object();

	pl = jv_object_set(pl, jv_string("architecture"),
	                   jv_string(arch ? arch : ""));
	pl = jv_object_set(pl, jv_string("os"), jv_string(os ? os : ""));
	if (variant != NULL)
		pl =
		    jv_object_set(pl, jv_string("variant"), jv_string(variant));
	return jv_object_set(e, jv_string("platform"), pl);
}

/*
 * A multi-platform image: every platform's blobs and manifest first,
 * then the index (a Docker manifest list when every manifest is
 * Docker's), by digest and then TAG.
 */
static void
push_index(struct push *top, struct registry_conn *c, const char *tag,
           char digest[DIGEST_LEN])
{
	jv list = jv_array();
	int all_docker = 1;
	char hex[DIGEST_MAX_HEX];

	for (size_t k = 0; k < image_index_count(top->img); k++) {
		const char *os, *arch, *variant;
		struct push p = *top;
		char d[DIGEST_LEN];
		int64_t size;
		p.img = image_index_image(top->img, k, &os, &arch, &variant);
		enum manifest_format f = push_image(&p, c, NULL, d, &size);
		all_docker &= f == FORMAT_DOCKER;
		list = jv_array_append(
		    list, index_entry(f, d, size, os, arch, variant));
		image_close(p.img);
	}
	const char *type = all_docker ? MT_DOCKER_LIST : MT_OCI_INDEX;
	jv index = jv_object();
	index = jv_object_set(index, jv_string("schemaVersion"), jv_number(2));
	index = jv_object_set(index, jv_string("mediaType"), jv_string(type));
	index = jv_object_set(index, jv_string("manifests"), list);
	char *text = json_dump(index);
	digest_buffer_hex("sha256", text, strlen(text), hex);
	snprintf(digest, DIGEST_LEN, "sha256:%s", hex);
	int rc = registry_put_manifest(c, digest, type, text, strlen(text));
	if (rc == 0)
		rc = registry_put_manifest(c, tag, type, text, strlen(text));
	free(text);
	if (rc < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct reference ref;
	struct auth_creds creds;
	char *why, *label, digest[DIGEST_LEN];
	int64_t size;

	parse_options(argc, argv, &o);
	if (reference_parse(o.reference, strlen(o.reference), &ref, &why) < 0)
		usage_error("%s: %s", o.reference, why);
	if (ref.digest != NULL)
		usage_error("%s: push to a tag, not a digest", o.reference);
	label = xasprintf("%s/%s", ref.domain, ref.path);
	registry_args_credentials(&o.net, &ref, &creds);

	struct push p = {.o = &o, .img = image_open_index(o.image, NULL, NULL)};
	p.reg = registry_new(reference_api_host(&ref), ref.path, label,
	                     &o.net.reg, &creds);
	add_scopes(p.reg, &o, &ref);
	struct registry_conn *c = registry_conn_new(p.reg);
	if (registry_ping(c) < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
	const char *tag = ref.tag ? ref.tag : "latest";
	if (image_index_count(p.img) > 0)
		push_index(&p, c, tag, digest);
	else
		push_image(&p, c, tag, digest, &size);
	printf("%s\n", digest);
	if (fflush(stdout) != 0)
		outfile_write_failed(STDOUT_FILENO);
	if (o.digestfile != NULL)
		write_digestfile(o.digestfile, digest);

	registry_conn_free(c);
	registry_free(p.reg);
	image_close(p.img);
	reference_free(&ref);
	free(label);
	return 0;
}
