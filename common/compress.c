/*
 * compress.c: the deterministic gzip and zstd stream compressors of
 * compress.h.
 *
 * gzip is done the way pigz does it: a ring of fixed-size blocks, each
 * deflated by a worker thread with the previous block's tail as its
 * dictionary and ended with a sync flush (the last one with the final
 * block), so the pieces join into one raw deflate stream.  The caller's
 * thread fills blocks, hands them out in order and writes each one's
 * output as soon as it is its turn; the CRC-32 of each block is computed
 * by its worker and joined with crc32_combine.  The ring bounds what is in
 * flight, so memory does not grow with the input.
 *
 * zstd is libzstd's own multithreaded streaming mode, which cuts the input
 * into jobs of a size fixed by the parameters alone.
 */
#include "compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "xalloc.h"

#define DICT_SIZE 32768
#define MAX_THREADS 64

/* One block of the gzip ring; owned by a worker between take and done. */
struct gz_job {
	unsigned char *in, *out;
	size_t in_len, out_len, out_cap;
	unsigned char dict[DICT_SIZE];
	size_t dict_len;
	uLong crc;
	int last, done, failed;
};

/* The gzip workers and their ring; jobs are numbered in input order. */
struct gz_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct gz_job *jobs;
	size_t nslots;
	unsigned long long submitted, taken;
	int stop, level;
	pthread_t *threads;
	int nthreads;
};

struct compressor {
	enum compress_kind kind;
	compress_sink sink;
	void *ctx;
	int level, threads, started, failed, sink_failed;
	char err[160];
	unsigned long long bytes_in, bytes_out;
	/* gzip: the job being filled, the next to write, CRC and ISIZE */
	struct gz_pool *gz;
	unsigned long long fill, emitted;
	uLong crc;
	int header_done;
	/* zstd */
	ZSTD_CCtx *zc;
	unsigned char *zout;
	size_t zout_cap;
};

static const char *const kind_names[] = {"none", "gzip", "zstd"};

int
compress_kind_parse(const char *name, enum compress_kind *kind)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*kind = (enum compress_kind)i;
			return 0;
		}
	return -1;
}

const char *
compress_kind_name(enum compress_kind kind)
{
	return kind_names[kind];
}

const char *
compress_kind_suffix(enum compress_kind kind)
{
	static const char *const suffix[] = {"", "+gzip", "+zstd"};
	return suffix[kind];
}

const char *
compress_oci_layer_type(enum compress_kind kind)
{
	static const char *const types[] = {
	    "application/vnd.oci.image.layer.v1.tar",
	    "application/vnd.oci.image.layer.v1.tar+gzip",
	    "application/vnd.oci.image.layer.v1.tar+zstd"};
	return types[kind];
}

const char *
compress_docker_layer_type(enum compress_kind kind)
{
	static const char *const types[] = {
	    "application/vnd.docker.image.rootfs.diff.tar",
	    "application/vnd.docker.image.rootfs.diff.tar.gzip", NULL};
	return types[kind];
}

const char *
compress_library_version(enum compress_kind kind)
{
	static char zlib[48], zstd[48];
	switch (kind) {
	case COMPRESS_GZIP:
		snprintf(zlib, sizeof zlib, "zlib %s", zlibVersion());
		return zlib;
	case COMPRESS_ZSTD:
		snprintf(zstd, sizeof zstd, "libzstd %s", ZSTD_versionString());
		return zstd;
	default:
		return "none";
	}
}

static int
fail(struct compressor *c, const char *what, const char *why)
{
	if (!c->failed)
		snprintf(c->err, sizeof c->err, "%s: %s", what, why);
	c->failed = 1;
	return -1;
}

static int
emit(struct compressor *c, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (c->sink(c->ctx, buf, len) != 0) {
		if (!c->failed)
			snprintf(c->err, sizeof c->err, "the output failed");
		c->failed = c->sink_failed = 1;
		return -1;
	}
	c->bytes_out += len;
	return 0;
}

struct compressor *
compressor_new(enum compress_kind kind, compress_sink sink, void *ctx)
{
	struct compressor *c = xcalloc(1, sizeof *c);
	c->kind = kind;
	c->sink = sink;
	c->ctx = ctx;
	c->level = kind == COMPRESS_ZSTD ? 3 : 6;
	return c;
}

int
compressor_set_level(struct compressor *c, int level)
{
	int max = c->kind == COMPRESS_ZSTD ? 19 : 9;
	if (c->started || level < 1 || level > max)
		return -1;
	c->level = level;
	return 0;
}

int
compressor_set_threads(struct compressor *c, int threads)
{
	if (c->started || threads < 0 || threads > MAX_THREADS)
		return -1;
	c->threads = threads;
	return 0;
}

/* --- gzip ------------------------------------------------------------ */

/* Deflate one job into its output with the worker's stream Z. */
static void
gz_deflate_job(z_stream *z, struct gz_job *job)
{
	job->crc = crc32(crc32(0, Z_NULL, 0), job->in, (uInt)job->in_len);
	job->failed = 1;
	if (deflateReset(z) != Z_OK)
		return;
	if (job->dict_len > 0 &&
	    deflateSetDictionary(z, job->dict, (uInt)job->dict_len) != Z_OK)
		return;
	z->next_in = job->in;
	z->avail_in = (uInt)job->in_len;
	z->next_out = job->out;
	z->avail_out = (uInt)job->out_cap;
	int ret = deflate(z, job->last ? Z_FINISH : Z_SYNC_FLUSH);
	/* A sync flush is complete only if it left room in the output. */
	if (job->last ? ret != Z_STREAM_END
	              : ret != Z_OK || z->avail_in != 0 || z->avail_out == 0)
		return;
	job->out_len = job->out_cap - z->avail_out;
	job->failed = 0;
}

static void *
gz_worker(void *arg)
{
	struct gz_pool *p = arg;
	z_stream z = {0};
	int ok = deflateInit2(&z, p->level, Z_DEFLATED, -15, 8,
	                      Z_DEFAULT_STRATEGY) == Z_OK;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->taken == p->submitted)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->taken == p->submitted)
			break;
		struct gz_job *job = &p->jobs[p->taken++ % p->nslots];
		pthread_mutex_unlock(&p->mu);
		if (ok)
			gz_deflate_job(&z, job);
		else
			job->failed = 1;
		pthread_mutex_lock(&p->mu);
		job->done = 1;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	if (ok)
		deflateEnd(&z);
	return NULL;
}

static void
gz_pool_stop(struct gz_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (size_t i = 0; i < p->nslots; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	free(p->jobs);
	free(p->threads);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p);
}

static int
gz_start(struct compressor *c, int threads)
{
	struct gz_pool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->level = c->level;
	/*
	 * Four blocks per worker keep every worker busy while the caller is
	 * away (reading input, writing output, or not scheduled at all).
	 */
	p->nslots = 4 * (size_t)threads + 2;
	p->jobs = xcalloc(p->nslots, sizeof *p->jobs);
	for (size_t i = 0; i < p->nslots; i++) {
		p->jobs[i].in = xcalloc(1, COMPRESS_GZIP_BLOCK);
		p->jobs[i].out_cap = compressBound(COMPRESS_GZIP_BLOCK) + 64;
		p->jobs[i].out = xcalloc(1, p->jobs[i].out_cap);
	}
	p->threads = xcalloc((size_t)threads, sizeof *p->threads);
	c->gz = p;
	c->crc = crc32(0, Z_NULL, 0);
	for (; p->nthreads < threads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, gz_worker,
		                   p) != 0)
			return fail(c, "gzip", "cannot start a thread");
	return 0;
}

static struct gz_job *
gz_job(struct compressor *c, unsigned long long seq)
{
	return &c->gz->jobs[seq % c->gz->nslots];
}

static void
gz_submit(struct compressor *c, int last)
{
	struct gz_pool *p = c->gz;
	pthread_mutex_lock(&p->mu);
	gz_job(c, c->fill)->last = last;
	p->submitted++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static int
gz_write_header(struct compressor *c)
{
	/*
	 * No name, mtime 0, OS 3 (Unix), and the extra flags that say
	 * "slowest" (level 9) or "fastest" (level 1), as gzip -n writes them.
	 */
	unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	header[8] = c->level == 9 ? 2 : c->level == 1 ? 4 : 0;
	c->header_done = 1;
	return emit(c, header, sizeof header);
}

/* Is job SEQ (handed out already) deflated? */
static int
gz_done(struct compressor *c, unsigned long long seq)
{
	if (seq >= c->fill)
		return 0;
	pthread_mutex_lock(&c->gz->mu);
	int done = gz_job(c, seq)->done;
	pthread_mutex_unlock(&c->gz->mu);
	return done;
}

/* Wait for the oldest job not yet written, and write it. */
static int
gz_emit_next(struct compressor *c)
{
	struct gz_pool *p = c->gz;
	struct gz_job *job = gz_job(c, c->emitted);
	pthread_mutex_lock(&p->mu);
	while (!job->done)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (job->failed)
		return fail(c, "gzip", "deflate failed");
	if (!c->header_done && gz_write_header(c) != 0)
		return -1;
	if (emit(c, job->out, job->out_len) != 0)
		return -1;
	c->crc = crc32_combine(c->crc, job->crc, (z_off_t)job->in_len);
	c->emitted++;
	return 0;
}

/* Hand out the full job being filled and start the next one. */
static int
gz_next_block(struct compressor *c)
{
	gz_submit(c, 0);
	struct gz_job *prev = gz_job(c, c->fill);
	c->fill++;
	/*
	 * Write what is done already, so the output keeps flowing; the slot
	 * about to be reused must have been written in any case.
	 */
	while (c->fill - c->emitted >= c->gz->nslots || gz_done(c, c->emitted))
		if (gz_emit_next(c) != 0)
			return -1;
	struct gz_job *job = gz_job(c, c->fill);
	job->dict_len = prev->in_len < DICT_SIZE ? prev->in_len : DICT_SIZE;
	memcpy(job->dict, prev->in + prev->in_len - job->dict_len,
	       job->dict_len);
	job->in_len = 0;
	job->done = 0;
	return 0;
}

static int
gz_write(struct compressor *c, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		struct gz_job *job = gz_job(c, c->fill);
		if (job->in_len == COMPRESS_GZIP_BLOCK) {
			if (gz_next_block(c) != 0)
				return -1;
			continue;
		}
		size_t n = COMPRESS_GZIP_BLOCK - job->in_len;
		if (n > len)
			n = len;
		memcpy(job->in + job->in_len, buf, n);
		job->in_len += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int
gz_finish(struct compressor *c)
{
	gz_submit(c, 1);
	while (c->emitted <= c->fill)
		if (gz_emit_next(c) != 0)
			return -1;
	unsigned long long isize = c->bytes_in;
	unsigned char trailer[8];
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(c->crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(isize >> (8 * i));
	}
	return emit(c, trailer, sizeof trailer);
}

/* --- zstd ------------------------------------------------------------ */

static int
zstd_param(struct compressor *c, ZSTD_cParameter param, int value)
{
	size_t r = ZSTD_CCtx_setParameter(c->zc, param, value);
	return ZSTD_isError(r) ? fail(c, "zstd", ZSTD_getErrorName(r)) : 0;
}

static int
zstd_start(struct compressor *c, int threads)
{
	c->zc = ZSTD_createCCtx();
	if (c->zc == NULL)
		return fail(c, "zstd", "cannot make a context");
	c->zout_cap = ZSTD_CStreamOutSize();
	c->zout = xcalloc(1, c->zout_cap);
	/*
	 * Never single-threaded mode (nbWorkers 0), whose bytes differ from
	 * the multithreaded ones: with one worker or more they are the same.
	 */
	if (zstd_param(c, ZSTD_c_compressionLevel, c->level) != 0 ||
	    zstd_param(c, ZSTD_c_checksumFlag, 1) != 0 ||
	    zstd_param(c, ZSTD_c_contentSizeFlag, 0) != 0 ||
	    zstd_param(c, ZSTD_c_nbWorkers, threads) != 0)
		return -1;
	return 0;
}

static int
zstd_run(struct compressor *c, const void *buf, size_t len,
         ZSTD_EndDirective op)
{
	ZSTD_inBuffer in = {buf, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {c->zout, c->zout_cap, 0};
		size_t r = ZSTD_compressStream2(c->zc, &out, &in, op);
		if (ZSTD_isError(r))
			return fail(c, "zstd", ZSTD_getErrorName(r));
		if (emit(c, c->zout, out.pos) != 0)
			return -1;
		if (op == ZSTD_e_continue ? in.pos == in.size : r == 0)
			return 0;
	}
}

/* --- the stream ------------------------------------------------------ */

static int
start(struct compressor *c)
{
	if (c->started)
		return c->failed ? -1 : 0;
	c->started = 1;
	int threads = c->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
	}
	switch (c->kind) {
	case COMPRESS_GZIP:
		return gz_start(c, threads);
	case COMPRESS_ZSTD:
		return zstd_start(c, threads);
	default:
		return 0;
	}
}

int
compressor_write(struct compressor *c, const void *buf, size_t len)
{
	if (start(c) != 0)
		return -1;
	if (len == 0)
		return 0;
	c->bytes_in += len;
	switch (c->kind) {
	case COMPRESS_GZIP:
		return gz_write(c, buf, len);
	case COMPRESS_ZSTD:
		return zstd_run(c, buf, len, ZSTD_e_continue);
	default:
		return emit(c, buf, len);
	}
}

int
compressor_finish(struct compressor *c)
{
	int r = start(c);

	if (r == 0 && c->kind == COMPRESS_GZIP)
		r = gz_finish(c);
	else if (r == 0 && c->kind == COMPRESS_ZSTD)
		r = zstd_run(c, NULL, 0, ZSTD_e_end);
	/* The sink's errno stays; the library's failures are EIO. */
	int saved = c->sink_failed ? errno : EIO;
	compressor_abandon(c);
	if (r != 0)
		errno = saved;
	return r == 0 ? 0 : -1;
}

void
compressor_abandon(struct compressor *c)
{
	if (c == NULL)
		return;
	if (c->gz != NULL)
		gz_pool_stop(c->gz);
	ZSTD_freeCCtx(c->zc);
	free(c->zout);
	free(c);
}

const char *
compressor_error(const struct compressor *c)
{
	return c->failed ? c->err : "no error";
}

unsigned long long
compressor_bytes_in(const struct compressor *c)
{
	return c->bytes_in;
}

unsigned long long
compressor_bytes_out(const struct compressor *c)
{
	return c->bytes_out;
}
