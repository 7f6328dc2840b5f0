/*
 * di-pull: an image from a registry (HTTP API v2) into an IMAGE archive,
 * every byte checked, the same bytes for the same manifest digest.
 *
 *	di-pull [--os OS] [--arch ARCH] [--variant V] [--name NAME]
 *	        [--tag TAG] [--creds USER:PASS] [--authfile FILE]
 *	        [--plain-http] [--tls-verify=false] REFERENCE
 *
 * The shell it replaces:
 *	skopeo copy docker://REFERENCE docker-archive:out.tar:NAME:TAG
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buffer.h"
#include "digest.h"
#include "errors.h"
#include "fdio.h"
#include "image.h"
#include "instream.h"
#include "json.h"
#include "manifest.h"
#include "outfile.h"
#include "reference.h"
#include "registry.h"
#include "registry_args.h"
#include "progress.h"
#include "spool.h"
#include "timestamp.h"
#include "workpool.h"
#include "xalloc.h"

#define COPY_BUFSZ (1 << 20)
#define PIPE_SIZE (1 << 20)
#define MAX_JOBS 16

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: di-pull [--os OS] [--arch ARCH] [--variant V] [--name "
	        "NAME] [--tag TAG]\n"
	        "               [--creds USER:PASS] [--authfile FILE] "
	        "[--plain-http]\n"
	        "               [--tls-verify=false] [-o FILE] REFERENCE\n"
	        "Pull an image from a registry and write it as an IMAGE "
	        "archive.\n"
	        "  REFERENCE            [registry[:port]/]repository[:tag]"
	        "[@sha256:digest]\n"
	        "      --os OS          platform to choose from an index "
	        "(default linux)\n"
	        "      --arch ARCH      architecture (default: this "
	        "machine's)\n"
	        "      --variant V      architecture variant (v7, v8...)\n"
	        "      --name NAME      name in the archive (default: the "
	        "reference's)\n"
	        "      --tag TAG        tag in the archive (default: the "
	        "reference's, or latest)\n"
	        "      --format F       hybrid (default), docker, oci, legacy\n"
	        "  -o, --output FILE    write to FILE (renamed into place at "
	        "the end)\n"
	        "  -j, --jobs N         blobs fetched at once (default 4)\n"
	        "  -q, --quiet          no progress\n"
	        "      --progress       progress even when stderr is not a "
	        "terminal\n" REGISTRY_USAGE "      --help, --version\n");
	exit(status);
}

struct options {
	const char *os, *arch, *variant, *name, *tag, *output;
	const char *reference;
	enum image_format format;
	struct registry_args net;
	int quiet, progress, jobs;
};

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_OS = 256,
		OPT_ARCH,
		OPT_VARIANT,
		OPT_NAME,
		OPT_TAG,
		OPT_FORMAT,
		OPT_PROGRESS,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"os", required_argument, NULL, OPT_OS},
	    {"arch", required_argument, NULL, OPT_ARCH},
	    {"variant", required_argument, NULL, OPT_VARIANT},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"tag", required_argument, NULL, OPT_TAG},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"output", required_argument, NULL, 'o'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"progress", no_argument, NULL, OPT_PROGRESS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    REGISTRY_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->os = "linux";
	o->arch = platform_host_arch();
	o->format = IMAGE_HYBRID;
	o->jobs = 4;
	registry_args_init(&o->net, "di-pull/" DI_VERSION);
	while ((c = getopt_long(argc, argv, "o:j:q", longopts, NULL)) != -1) {
		if (registry_args_option(&o->net, c, optarg))
			continue;
		switch (c) {
		case OPT_OS:
			o->os = optarg;
			break;
		case OPT_ARCH:
			o->arch = optarg;
			break;
		case OPT_VARIANT:
			o->variant = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case OPT_TAG:
			o->tag = optarg;
			break;
		case OPT_FORMAT:
			if (image_format_parse(optarg, &o->format) < 0)
				usage_error("unknown format '%s'", optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'j':
			o->jobs = (int)registry_args_number(optarg, "--jobs", 1,
			                                    MAX_JOBS);
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
	if (argc - optind != 1)
		usage_error(argc == optind ? "no REFERENCE"
		                           : "one REFERENCE only");
	o->reference = argv[optind];
	if (o->tag != NULL && !reference_tag_valid(o->tag, strlen(o->tag)))
		usage_error("invalid tag '%s'", o->tag);
	if (o->name != NULL && !reference_name_valid(o->name, strlen(o->name)))
		usage_error("invalid name '%s'", o->name);
	if (o->quiet)
		o->progress = 0;
	else if (isatty(STDERR_FILENO))
		o->progress = 1;
}

/* Manifests. */

static void
sha256_name(const struct buffer *b, char out[7 + DIGEST_MAX_HEX])
{
	char hex[DIGEST_MAX_HEX];

	digest_buffer_hex("sha256", b->data, b->len, hex);
	snprintf(out, 7 + DIGEST_MAX_HEX, "sha256:%s", hex);
}

/*
 * Fetch manifest REF and check it: against WANT when pinned by digest,
 * else against the registry's Docker-Content-Digest.  Its digest goes to
 * DIGEST.
 */
static void
fetch_manifest(struct registry_conn *c, const char *label, const char *ref,
               const char *want, struct manifest *m,
               char digest[7 + DIGEST_MAX_HEX])
{
	struct buffer body = {0};
	char *ctype, *served, *why;

	if (registry_get_manifest(c, ref, &body, &ctype, &served) < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
	sha256_name(&body, digest);
	if (want != NULL && strcmp(want, digest) != 0)
		errx(EXIT_DATA, "%s: manifest %s: content has digest %s", label,
		     ref, digest);
	if (want == NULL && served != NULL && digest_is_sha256(served) &&
	    strcmp(served, digest) != 0)
		errx(EXIT_DATA,
		     "%s: manifest %s: content has digest %s, the "
		     "registry says %s",
		     label, ref, digest, served);
	if (manifest_parse((char *)buffer_str(&body), body.len, ctype, m,
	                   &why) < 0)
		errx(EXIT_DATA, "%s: manifest %s: %s", label, ref, why);
	free(ctype);
	free(served);
	buffer_free(&body);
}

/*
 * The image manifest for REF's platform: an index or list is resolved to
 * the entry for OS/ARCH/VARIANT (at most two levels of them).
 */
static void
resolve_manifest(struct registry_conn *c, const struct reference *ref,
                 const char *label, const struct options *o, struct manifest *m,
                 char digest[7 + DIGEST_MAX_HEX])
{
	const char *first = ref->digest ? ref->digest
	                    : ref->tag  ? ref->tag
	                                : "latest";
	char *why;

	fetch_manifest(c, label, first, ref->digest, m, digest);
	for (int depth = 0; m->kind == MANIFEST_INDEX; depth++) {
		if (depth == 2)
			errx(EXIT_DATA, "%s: indexes nested too deep", label);
		long i = manifest_select(m, o->os, o->arch, o->variant, &why);
		if (i < 0)
			errx(EXIT_DATA, "%s: %s", label, why);
		char *child = xstrdup(m->manifests[i].digest);
		manifest_free(m);
		fetch_manifest(c, label, child, child, m, digest);
		free(child);
	}
}

/* Layers: fetched and decompressed by workers, written in order. */

struct job {
	const struct descriptor *blob;
	const char *diff_id;
	char *label; /* "registry/repo: layer N (sha256:...)" */
	int tar_fd;  /* the uncompressed layer, in $TMPDIR */
	int64_t tar_size;
};

struct pull {
	struct registry *reg;
	struct job *jobs;
	struct work_item *items; /* one per job, for the pool */
	size_t njobs;
};

static void
on_progress(void *arg, int64_t done)
{
	work_item_progress(arg, done);
}

static const char *
compression_name(enum layer_compression c)
{
	return c == LAYER_GZIP ? "gzip" : c == LAYER_ZSTD ? "zstd" : "none";
}

/*
 * A compressed layer is inflated while it downloads: the registry hands
 * the blob's bytes to a pipe as they come, and a thread inflates them from
 * the pipe into the layer's spool, so nothing of the blob is kept on disk.
 * The blob's digest is checked when the download ends, before the layer is
 * taken; the diff_id by the image writer, which hashes the bytes as it
 * copies them.
 */
struct inflater {
	struct job *j;
	int rfd, wfd; /* the pipe */
	pthread_t thread;
	char *error; /* malloc'd: why the bytes did not inflate */
};

static void inflate_failed(struct inflater *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
inflate_failed(struct inflater *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&f->error, fmt, ap) < 0)
		err(EXIT_DATA, "malloc");
	va_end(ap);
}

/* Read the pipe to its end, so that the download never blocks on it. */
static void
drain(int fd)
{
	char buf[64 * 1024];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

/*
 * Decompress what comes down the pipe into a new temporary file, checking
 * that its bytes are compressed as the media type says.
 */
static void *
inflate_thread(void *arg)
{
	struct inflater *f = arg;
	struct job *j = f->j;
	struct instream *in = instream_fdopen(f->rfd, j->label);
	char *buf = xcalloc(1, COPY_BUFSZ);
	const char *want = compression_name(j->blob->compression);
	ssize_t n;

	while ((n = instream_read(in, buf, COPY_BUFSZ)) > 0) {
		if (strcmp(instream_compression(in), want) != 0) {
			inflate_failed(
			    f, "%s: media type says %s, the bytes are %s",
			    j->label, want, instream_compression(in));
			break;
		}
		if (fdio_write_all(j->tar_fd, buf, (size_t)n) < 0) {
			inflate_failed(f, "temporary file: %s",
			               strerror(errno));
			break;
		}
	}
	if (n < 0)
		inflate_failed(f, "%s: %s", j->label, instream_error(in));
	j->tar_size = (int64_t)instream_offset(in);
	drain(f->rfd);
	instream_close(in); /* closes rfd */
	free(buf);
	return NULL;
}

static int
to_pipe(void *arg, const void *p, size_t n)
{
	return fdio_write_all(((struct inflater *)arg)->wfd, p, n);
}

/*
 * Fetch and inflate job J's blob at once.  A digest that differs is
 * reported before what the inflater found, as a blob that is not the one
 * named need not inflate.
 */
static int
fetch_inflating(struct registry_conn *c, struct job *j, struct work_item *it)
{
	struct inflater f = {.j = j};
	int fds[2], e, rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return work_item_fail(it, "pipe: %s", strerror(errno));
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* fewer wake-ups */
	f.rfd = fds[0];
	f.wfd = fds[1];
	j->tar_fd = spool_tempfile();
	if ((e = pthread_create(&f.thread, NULL, inflate_thread, &f)) != 0)
		errc(EXIT_DATA, e, "pthread_create");
	rc = registry_stream_blob(c, j->blob->digest, j->blob->size, to_pipe,
	                          &f, on_progress, it);
	close(f.wfd);
	pthread_join(f.thread, NULL);
	if (rc < 0)
		rc = work_item_fail(it, "%s", registry_conn_error(c));
	else if (f.error != NULL)
		rc = work_item_fail(it, "%s", f.error);
	free(f.error);
	return rc;
}

static int
run_job(void *ctx, void *worker, size_t i)
{
	struct pull *p = ctx;
	struct registry_conn *c = worker;
	struct job *j = &p->jobs[i];
	struct work_item *it = &p->items[i];

	work_item_phase(it, "fetching");
	if (j->blob->compression != LAYER_TAR)
		return fetch_inflating(c, j, it);
	/* An uncompressed blob is its layer: its spool is the layer's. */
	j->tar_fd = spool_tempfile();
	j->tar_size = j->blob->size;
	if (registry_fetch_blob(c, j->blob->digest, j->blob->size, j->tar_fd,
	                        on_progress, it) < 0)
		return work_item_fail(it, "%s", registry_conn_error(c));
	if (strcmp(j->blob->digest, j->diff_id) != 0)
		return work_item_fail(it,
		                      "%s: an uncompressed layer whose "
		                      "digest is not its diff_id %s",
		                      j->label, j->diff_id);
	return 0;
}

static void *
conn_new(void *ctx)
{
	return registry_conn_new(((struct pull *)ctx)->reg);
}

static void
conn_free(void *c)
{
	registry_conn_free(c);
}

/* Copy job J's uncompressed layer into the image. */
static void
write_layer(struct image_writer *w, struct job *j, const char *v1_json)
{
	struct image_layer_meta meta = {.label = j->label,
	                                .size = j->tar_size,
	                                .diff_id = j->diff_id,
	                                .v1_json = v1_json};
	char *buf = xmalloc(COPY_BUFSZ);
	off_t off = 0;

	image_writer_layer_begin(w, &meta);
	while (off < j->tar_size) {
		size_t want = j->tar_size - off < COPY_BUFSZ
		                  ? (size_t)(j->tar_size - off)
		                  : COPY_BUFSZ;
		ssize_t n = pread(j->tar_fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err(EXIT_DATA, "temporary file of %s", j->label);
		image_writer_layer_write(w, buf, (size_t)n);
		off += n;
	}
	image_writer_layer_end(w);
	close(j->tar_fd);
	j->tar_fd = -1;
	free(buf);
}

/*
 * The top layer's legacy json, as docker save writes it: the config's
 * architecture, os, config and created.
 */
static char *
top_layer_json(const struct buffer *config)
{
	jv c = json_parse((const char *)config->data, config->len);
	jv top = jv_object();
	static const char *keys[] = {"architecture", "os", "config", "created"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		jv v = json_get(jv_copy(c), keys[i]);
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
			top = jv_object_set(top, jv_string(keys[i]), v);
		else
			jv_free(v);
	}
	jv_free(c);
	return json_dump(top);
}

static void
pull_layers(struct pull *p, const struct options *o, struct image_writer *w,
            const struct buffer *config)
{
	struct workpool_ops ops = {.worker_new = conn_new,
	                           .worker_free = conn_free,
	                           .run = run_job,
	                           .ctx = p};
	struct progress *pr = progress_new(o->progress);
	struct workpool *pool =
	    workpool_start(p->items, p->njobs, (size_t)o->jobs, &ops, pr);
	char *top = top_layer_json(config);

	for (size_t i = 0; i < p->njobs; i++) {
		workpool_wait(pool, i);
		write_layer(w, &p->jobs[i], i + 1 == p->njobs ? top : NULL);
	}
	workpool_finish(pool);
	progress_free(pr);
	free(top);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct reference ref;
	struct auth_creds creds;
	struct manifest m;
	struct buffer config = {0};
	char digest[7 + DIGEST_MAX_HEX], *why, *label, *name;
	char **diff_ids;
	size_t ndiff;

	parse_options(argc, argv, &o);
	int64_t mtime = timestamp_default(); /* refused before any output */
	if (reference_parse(o.reference, strlen(o.reference), &ref, &why) < 0)
		usage_error("%s: %s", o.reference, why);
	name = o.name ? xstrdup(o.name) : reference_familiar_name(&ref);
	label = xasprintf("%s/%s", ref.domain, ref.path);
	registry_args_credentials(&o.net, &ref, &creds);
	int out = outfile_open(o.output, OUT_TAR); /* refuses a terminal */

	struct registry *reg = registry_new(reference_api_host(&ref), ref.path,
	                                    label, &o.net.reg, &creds);
	struct registry_conn *c = registry_conn_new(reg);
	if (registry_ping(c) < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
	resolve_manifest(c, &ref, label, &o, &m, digest);
	if (registry_get_blob(c, m.config.digest, m.config.size, &config) < 0)
		errx(EXIT_DATA, "%s", registry_conn_error(c));
	if (manifest_config_diff_ids((char *)config.data, config.len, &diff_ids,
	                             &ndiff, &why) < 0)
		errx(EXIT_DATA, "%s: %s: %s", label, m.config.digest, why);
	if (ndiff != m.nlayers)
		errx(EXIT_DATA,
		     "%s: the manifest has %zu layers, the config "
		     "%zu diff_ids",
		     label, m.nlayers, ndiff);
	registry_conn_free(c);

	struct pull p = {.reg = reg, .njobs = m.nlayers};
	p.jobs = xcalloc(m.nlayers ? m.nlayers : 1, sizeof(*p.jobs));
	p.items = xcalloc(m.nlayers ? m.nlayers : 1, sizeof(*p.items));
	for (size_t i = 0; i < m.nlayers; i++) {
		p.jobs[i] = (struct job){
		    .blob = &m.layers[i], .diff_id = diff_ids[i], .tar_fd = -1};
		p.items[i] = (struct work_item){.name = m.layers[i].digest,
		                                .size = m.layers[i].size};
		p.jobs[i].label = xasprintf("%s: layer %zu (%.19s)", label,
		                            i + 1, m.layers[i].digest);
	}

	struct image_writer *w = image_writer_new(out, name,
	                                          o.tag     ? o.tag
	                                          : ref.tag ? ref.tag
	                                                    : "latest",
	                                          o.format, mtime);
	pull_layers(&p, &o, w, &config);
	image_writer_finish_raw(w, (const char *)config.data, config.len);
	outfile_commit();

	for (size_t i = 0; i < p.njobs; i++) {
		work_item_free(&p.items[i]);
		free(p.jobs[i].label);
	}
	free(p.jobs);
	free(p.items);
	manifest_free_diff_ids(diff_ids, ndiff);
	manifest_free(&m);
	buffer_free(&config);
	registry_free(reg);
	reference_free(&ref);
	free(label);
	free(name);
	return 0;
}
