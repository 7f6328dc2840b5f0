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
#include <getopt.h>
#include <stdarg.h>
#include <libutil.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buffer.h"
#include "digest.h"
#include "errors.h"
#include "image.h"
#include "instream.h"
#include "json.h"
#include "manifest.h"
#include "outfile.h"
#include "reference.h"
#include "registry.h"
#include "spool.h"

#define COPY_BUFSZ (1 << 20)
#define MAX_JOBS 16

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-pull [--os OS] [--arch ARCH] [--variant V] [--name "
	    "NAME] "
	    "[--tag TAG]\n"
	    "               [--creds USER:PASS] [--authfile FILE] "
	    "[--plain-http]\n"
	    "               [--tls-verify=false] [-o FILE] REFERENCE\n"
	    "Pull an image from a registry and write it as an IMAGE "
	    "archive.\n"
	    "  REFERENCE            [registry[:port]/]repository[:tag]"
	    "[@sha256:digest]\n"
	    "      --os OS          platform to choose from an index "
	    "(default linux)\n"
	    "      --arch ARCH      architecture (default: this machine's)\n"
	    "      --variant V      architecture variant (v7, v8...)\n"
	    "      --name NAME      name in the archive (default: the "
	    "reference's)\n"
	    "      --tag TAG        tag in the archive (default: the "
	    "reference's, or latest)\n"
	    "      --creds U:P      credentials (the argument is wiped after "
	    "start)\n"
	    "      --authfile FILE  credentials from this auth.json only\n"
	    "      --plain-http     talk http, not https\n"
	    "      --tls-verify=false  do not check the certificate (and "
	    "allow http)\n"
	    "      --format F       hybrid (default), docker, oci, legacy\n"
	    "  -o, --output FILE    write to FILE (renamed into place at the "
	    "end)\n"
	    "  -j, --jobs N         blobs fetched at once (default 4)\n"
	    "      --retries N      further attempts after a transient "
	    "failure (default 5)\n"
	    "      --retry-delay S  first backoff in seconds, doubling "
	    "(default 0.5)\n"
	    "      --timeout S      give up a connection idle for S seconds "
	    "(default 60)\n"
	    "  -q, --quiet          no progress\n"
	    "      --progress       progress even when stderr is not a "
	    "terminal\n"
	    "      --help, --version\n");
	exit(status);
}

struct options {
	const char *os, *arch, *variant, *name, *tag, *authfile, *output;
	char *creds; /* a copy; the argument itself is wiped */
	const char *reference;
	enum image_format format;
	struct registry_options reg;
	int quiet, progress, jobs;
};

static long
number_arg(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_error("%s wants a number from %ld to %ld", what, lo, hi);
	return v;
}

static double
seconds_arg(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 3600))
		usage_error("%s wants seconds from 0 to 3600", what);
	return v;
}

/* Copy the credentials and overwrite the argument, so ps cannot see it. */
static char *
take_secret(char *arg)
{
	char *copy = strdup(arg);

	if (copy == NULL)
		err(EXIT_DATA, "malloc");
	explicit_bzero(arg, strlen(arg));
	return copy;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_OS = 256,
		OPT_ARCH,
		OPT_VARIANT,
		OPT_NAME,
		OPT_TAG,
		OPT_CREDS,
		OPT_AUTHFILE,
		OPT_PLAIN,
		OPT_TLS,
		OPT_FORMAT,
		OPT_RETRIES,
		OPT_DELAY,
		OPT_TIMEOUT,
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
	    {"creds", required_argument, NULL, OPT_CREDS},
	    {"authfile", required_argument, NULL, OPT_AUTHFILE},
	    {"plain-http", no_argument, NULL, OPT_PLAIN},
	    {"tls-verify", optional_argument, NULL, OPT_TLS},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"output", required_argument, NULL, 'o'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"retry-delay", required_argument, NULL, OPT_DELAY},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"progress", no_argument, NULL, OPT_PROGRESS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->os = "linux";
	o->arch = platform_host_arch();
	o->format = IMAGE_HYBRID;
	o->jobs = 4;
	o->reg = (struct registry_options){.tls_verify = 1,
	                                   .retries = 5,
	                                   .retry_delay_ms = 500,
	                                   .timeout = 60};
	while ((c = getopt_long(argc, argv, "o:j:q", longopts, NULL)) != -1) {
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
		case OPT_CREDS:
			free(o->creds);
			o->creds = take_secret(optarg);
			break;
		case OPT_AUTHFILE:
			o->authfile = optarg;
			break;
		case OPT_PLAIN:
			o->reg.plain_http = 1;
			break;
		case OPT_TLS:
			if (optarg == NULL || strcmp(optarg, "true") == 0)
				o->reg.tls_verify = 1;
			else if (strcmp(optarg, "false") == 0)
				o->reg.tls_verify = 0;
			else
				usage_error("--tls-verify wants true or false");
			break;
		case OPT_FORMAT:
			if (image_format_parse(optarg, &o->format) < 0)
				usage_error("unknown format '%s'", optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'j':
			o->jobs =
			    (int)number_arg(optarg, "--jobs", 1, MAX_JOBS);
			break;
		case OPT_RETRIES:
			o->reg.retries =
			    (int)number_arg(optarg, "--retries", 0, 100);
			break;
		case OPT_DELAY:
			o->reg.retry_delay_ms =
			    (long)(seconds_arg(optarg, "--retry-delay") * 1000);
			break;
		case OPT_TIMEOUT:
			o->reg.timeout = (long)seconds_arg(optarg, "--timeout");
			if (o->reg.timeout < 1)
				usage_error(
				    "--timeout wants at least 1 second");
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

static int64_t
output_mtime(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0)
		errx(EXIT_USAGE,
		     "SOURCE_DATE_EPOCH is not a number of seconds");
	return v;
}

/* Credentials: --creds, else the auth files. */
static void
find_credentials(const struct options *o, const struct reference *ref,
                 struct auth_creds *c)
{
	char *why = NULL;

	if (o->creds != NULL) {
		if (auth_creds_parse(o->creds, strlen(o->creds), c, &why) < 0)
			errx(EXIT_USAGE, "--creds: %s", why);
		c->source = strdup("--creds");
		if (c->source == NULL)
			err(EXIT_DATA, "malloc");
		return;
	}
	if (auth_creds_find(o->authfile, ref->domain, ref->path, c, &why) < 0)
		errx(EXIT_DATA, "credentials: %s", why);
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
		char *child = strdup(m->manifests[i].digest);
		if (child == NULL)
			err(EXIT_DATA, "malloc");
		manifest_free(m);
		fetch_manifest(c, label, child, child, m, digest);
		free(child);
	}
}

/* Layers: fetched and decompressed by workers, written in order. */

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job {
	size_t index;
	const struct descriptor *blob;
	const char *diff_id;
	char *label;          /* "registry/repo: layer N (sha256:...)" */
	enum job_state state; /* guarded by pull.lock */
	int tar_fd;           /* the uncompressed layer, in $TMPDIR */
	int64_t tar_size;
	char *error;
	int64_t done; /* bytes fetched: atomic */
	double started, finished;
};

struct pull {
	struct registry *reg;
	struct job *jobs;
	size_t njobs, next;
	int failed;
	pthread_mutex_t lock;
	pthread_cond_t changed;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
on_progress(void *arg, int64_t done)
{
	struct job *j = arg;

	__atomic_store_n(&j->done, done, __ATOMIC_RELAXED);
}

static int job_fail(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&j->error, fmt, ap) < 0)
		err(EXIT_DATA, "malloc");
	va_end(ap);
	return -1;
}

static const char *
compression_name(enum layer_compression c)
{
	return c == LAYER_GZIP ? "gzip" : c == LAYER_ZSTD ? "zstd" : "none";
}

static int
write_fully(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Decompress the blob in BLOB_FD into a new temporary file, checking that
 * its bytes are compressed as its media type says.  The diff_id is checked
 * by the image writer, which hashes the bytes as it copies them.
 */
static int
decompress_layer(struct job *j, int blob_fd, const char *label)
{
	struct instream *in = instream_fdopen(blob_fd, label);
	char *buf = malloc(COPY_BUFSZ);
	ssize_t n;
	int rc = -1;

	if (buf == NULL)
		err(EXIT_DATA, "malloc");
	j->tar_fd = spool_tempfile();
	while ((n = instream_read(in, buf, COPY_BUFSZ)) > 0) {
		if (strcmp(instream_compression(in),
		           compression_name(j->blob->compression)) != 0) {
			job_fail(j, "%s: media type says %s, the bytes are %s",
			         label, compression_name(j->blob->compression),
			         instream_compression(in));
			break;
		}
		if (write_fully(j->tar_fd, buf, (size_t)n) < 0) {
			job_fail(j, "temporary file: %s", strerror(errno));
			break;
		}
	}
	if (n < 0)
		job_fail(j, "%s: %s", label, instream_error(in));
	else if (n == 0)
		rc = 0;
	j->tar_size = (int64_t)instream_offset(in);
	instream_close(in);
	free(buf);
	return rc;
}

static int
run_job(struct registry_conn *c, struct job *j)
{
	int blob_fd = spool_tempfile();

	if (registry_fetch_blob(c, j->blob->digest, j->blob->size, blob_fd,
	                        on_progress, j) < 0) {
		close(blob_fd);
		return job_fail(j, "%s", registry_conn_error(c));
	}
	j->finished = now();
	if (j->blob->compression == LAYER_TAR) {
		j->tar_fd = blob_fd;
		j->tar_size = j->blob->size;
		if (strcmp(j->blob->digest, j->diff_id) != 0)
			return job_fail(j,
			                "%s: an uncompressed layer whose "
			                "digest is not its diff_id %s",
			                j->label, j->diff_id);
		return 0;
	}
	if (lseek(blob_fd, 0, SEEK_SET) < 0)
		return job_fail(j, "temporary file: %s", strerror(errno));
	return decompress_layer(j, blob_fd, j->label); /* closes blob_fd */
}

static void *
worker(void *arg)
{
	struct pull *p = arg;
	struct registry_conn *c = registry_conn_new(p->reg);

	pthread_mutex_lock(&p->lock);
	while (!p->failed && p->next < p->njobs) {
		struct job *j = &p->jobs[p->next++];
		j->state = JOB_RUNNING;
		j->started = now();
		pthread_mutex_unlock(&p->lock);
		int rc = run_job(c, j);
		pthread_mutex_lock(&p->lock);
		j->state = rc < 0 ? JOB_FAILED : JOB_DONE;
		if (rc < 0)
			p->failed = 1;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	registry_conn_free(c);
	return NULL;
}

/* Progress on stderr: a line per blob, redrawn in place on a terminal. */

struct progress {
	int on, tty;
	size_t lines_drawn;
	size_t reported; /* jobs whose final line is printed (not a tty) */
};

static void
blob_line(const struct job *j, char *line, size_t len)
{
	char done[8], total[8], rate[8];
	int64_t d = __atomic_load_n(&j->done, __ATOMIC_RELAXED);
	double end =
	    j->state == JOB_RUNNING || j->finished == 0 ? now() : j->finished;
	double secs = j->started > 0 ? end - j->started : 0;

	humanize_number(done, sizeof(done), d, "B", HN_AUTOSCALE,
	                HN_DECIMAL | HN_NOSPACE);
	humanize_number(total, sizeof(total), j->blob->size, "B", HN_AUTOSCALE,
	                HN_DECIMAL | HN_NOSPACE);
	humanize_number(rate, sizeof(rate),
	                secs > 0.01 ? (int64_t)((double)d / secs) : 0, "B",
	                HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE);
	snprintf(line, len, "%.19s  %7s / %-7s  %7s/s  %s", j->blob->digest,
	         done, total, rate,
	         j->state == JOB_WAITING  ? "waiting"
	         : j->state == JOB_FAILED ? "failed"
	         : j->state == JOB_DONE   ? "done"
	         : d < j->blob->size      ? "fetching"
	                                  : "unpacking");
}

/* Caller holds the lock. */
static void
progress_draw(struct progress *pr, struct pull *p)
{
	char line[160];

	if (!pr->on)
		return;
	if (!pr->tty) {
		for (; pr->reported < p->njobs &&
		       p->jobs[pr->reported].state == JOB_DONE;
		     pr->reported++) {
			blob_line(&p->jobs[pr->reported], line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		return;
	}
	if (pr->lines_drawn > 0)
		fprintf(stderr, "\033[%zuA", pr->lines_drawn);
	for (size_t i = 0; i < p->njobs; i++) {
		blob_line(&p->jobs[i], line, sizeof(line));
		fprintf(stderr, "\r\033[K%s\n", line);
	}
	pr->lines_drawn = p->njobs;
	fflush(stderr);
}

/* Wait for job I to be done; the first failure of any job is fatal. */
static void
wait_job(struct pull *p, size_t i, struct progress *pr)
{
	pthread_mutex_lock(&p->lock);
	for (;;) {
		progress_draw(pr, p);
		for (size_t k = 0; k < p->njobs; k++)
			if (p->jobs[k].state == JOB_FAILED)
				errx(EXIT_DATA, "%s", p->jobs[k].error);
		if (p->jobs[i].state == JOB_DONE)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->changed, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Copy job J's uncompressed layer into the image. */
static void
write_layer(struct image_writer *w, struct job *j, const char *v1_json)
{
	struct image_layer_meta meta = {.label = j->label,
	                                .size = j->tar_size,
	                                .diff_id = j->diff_id,
	                                .v1_json = v1_json};
	char *buf = malloc(COPY_BUFSZ);
	off_t off = 0;

	if (buf == NULL)
		err(EXIT_DATA, "malloc");
	image_writer_layer_begin(w, &meta);
	while (off < j->tar_size) {
		size_t want = j->tar_size - off < COPY_BUFSZ
		                  ? (size_t)(j->tar_size - off)
		                  : COPY_BUFSZ;
		ssize_t n = pread(j->tar_fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err(EXIT_DATA, "temporary file of layer %zu",
			    j->index + 1);
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
	size_t nthreads =
	    p->njobs < (size_t)o->jobs ? p->njobs : (size_t)o->jobs;
	pthread_t threads[MAX_JOBS];
	struct progress pr = {.on = o->progress, .tty = isatty(STDERR_FILENO)};
	char *top = top_layer_json(config);

	for (size_t i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&threads[i], NULL, worker, p)))
			err(EXIT_DATA, "pthread_create");
	for (size_t i = 0; i < p->njobs; i++) {
		wait_job(p, i, &pr);
		write_layer(w, &p->jobs[i], i + 1 == p->njobs ? top : NULL);
	}
	pthread_mutex_lock(&p->lock);
	progress_draw(&pr, p);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
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
	if (reference_parse(o.reference, strlen(o.reference), &ref, &why) < 0)
		usage_error("%s: %s", o.reference, why);
	name = o.name ? strdup(o.name) : reference_familiar_name(&ref);
	if (asprintf(&label, "%s/%s", ref.domain, ref.path) < 0 || name == NULL)
		err(EXIT_DATA, "malloc");
	find_credentials(&o, &ref, &creds);
	int out = outfile_open(o.output, OUT_TAR); /* refuses a terminal */
	auth_wipe_free(o.creds);

	struct registry *reg = registry_new(reference_api_host(&ref), ref.path,
	                                    label, &o.reg, &creds);
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
	p.jobs = calloc(m.nlayers ? m.nlayers : 1, sizeof(*p.jobs));
	if (p.jobs == NULL)
		err(EXIT_DATA, "malloc");
	for (size_t i = 0; i < m.nlayers; i++) {
		p.jobs[i] = (struct job){.index = i,
		                         .blob = &m.layers[i],
		                         .diff_id = diff_ids[i],
		                         .tar_fd = -1};
		if (asprintf(&p.jobs[i].label, "%s: layer %zu (%.19s)", label,
		             i + 1, m.layers[i].digest) < 0)
			err(EXIT_DATA, "malloc");
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.changed, NULL);

	struct image_writer *w = image_writer_new(out, name,
	                                          o.tag     ? o.tag
	                                          : ref.tag ? ref.tag
	                                                    : "latest",
	                                          o.format, output_mtime());
	pull_layers(&p, &o, w, &config);
	image_writer_finish_raw(w, (const char *)config.data, config.len);
	outfile_commit();

	for (size_t i = 0; i < p.njobs; i++)
		free(p.jobs[i].error), free(p.jobs[i].label);
	free(p.jobs);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.changed);
	manifest_free_diff_ids(diff_ids, ndiff);
	manifest_free(&m);
	buffer_free(&config);
	registry_free(reg);
	reference_free(&ref);
	free(label);
	free(name);
	return 0;
}
