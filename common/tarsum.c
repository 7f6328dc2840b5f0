/*
 * tarsum.c: Docker's tarsum.
 *
 * The caller's thread appends records (an entry's header text, its data,
 * its end) to a batch; a full batch goes to a worker thread, which hashes
 * the entries in it.  An entry that spans batches keeps all its batches on
 * one worker, so each worker has at most one entry open at a time.  Batches
 * come from a fixed pool, which bounds memory whatever the layer size.
 *
 * What is kept per entry is small and fixed: its sum as raw bytes and a
 * 128-bit digest of its normalized name (Go compares names only for
 * equality), in chunks that never move, so workers write into them
 * while the caller's thread adds more.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "digest.h"
#include "errors.h"
#include "gosort.h"
#include "path.h"
#include "tarsum.h"
#include "xalloc.h"

#define BATCH_SIZE (256 * 1024)
#define BATCHES_PER_WORKER 3
#define MIN_DATA_SPACE 4096
#define HEADER_REC_MAX (16 * 1024)

enum rec_kind { REC_BEGIN, REC_DATA, REC_END };

struct rec {
	uint32_t kind;
	uint32_t len; /* bytes following the record header */
	uint64_t idx; /* entry index, for REC_BEGIN */
};

struct batch {
	unsigned char *mem;
	size_t len;
	struct batch *next;
};

#define NAME_KEY 16 /* bytes of a name's digest kept */
#define SLOTS_PER_CHUNK 4096
#define DIR_SIZE 1024 /* chunks per directory; 1024 directories */

struct worker {
	struct tarsum *ts;
	pthread_t thread;
	pthread_cond_t wake;
	struct batch *head, *tail;
	size_t queued;
	struct digest d;
	size_t open_idx; /* entry being hashed */
};

struct tarsum {
	enum tarsum_version version;
	const char *alg;
	int nworkers; /* 0: hash on the caller's thread */
	struct worker *workers;
	struct worker inline_worker;
	pthread_mutex_t mu;
	pthread_cond_t batch_freed;
	struct batch *free_batches;
	struct batch *cur;
	struct rec *data_rec; /* open data record in cur, or NULL */
	int entry_open;
	int cur_continues; /* cur starts inside an entry begun earlier */
	int last_worker;
	int quit;
	/* Per entry, in archive order: name key, then sum (slot_size bytes). */
	unsigned char **chunks[DIR_SIZE];
	size_t slot_size, md_size;
	size_t nentries;
};

int
tarsum_parse_version(const char *s, enum tarsum_version *v)
{
	if (strcmp(s, "v0") == 0)
		*v = TARSUM_V0;
	else if (strcmp(s, "v1") == 0)
		*v = TARSUM_V1;
	else if (strcmp(s, "dev") == 0)
		*v = TARSUM_DEV;
	else
		return -1;
	return 0;
}

static const char *
version_label(enum tarsum_version v)
{
	return v == TARSUM_V0   ? "tarsum"
	       : v == TARSUM_V1 ? "tarsum.v1"
	                        : "tarsum.dev";
}

/* --- hashing, on a worker --------------------------------------------- */

static unsigned char *
slot(struct tarsum *ts, size_t idx)
{
	size_t c = idx / SLOTS_PER_CHUNK;

	return ts->chunks[c / DIR_SIZE][c % DIR_SIZE] +
	       idx % SLOTS_PER_CHUNK * ts->slot_size;
}

static void
hash_batch(struct worker *w, struct batch *b)
{
	size_t off = 0;

	while (off < b->len) {
		struct rec *r = (struct rec *)(b->mem + off);
		unsigned char *p = (unsigned char *)(r + 1);
		switch (r->kind) {
		case REC_BEGIN:
			digest_init(&w->d, w->ts->alg);
			w->open_idx = (size_t)r->idx;
			digest_update(&w->d, p, r->len);
			break;
		case REC_DATA:
			digest_update(&w->d, p, r->len);
			break;
		case REC_END:
			digest_final_raw(&w->d,
			                 slot(w->ts, w->open_idx) + NAME_KEY);
			break;
		}
		off += (sizeof(*r) + r->len + 7) & ~(size_t)7;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct tarsum *ts = w->ts;

	pthread_mutex_lock(&ts->mu);
	for (;;) {
		while (w->head == NULL && !ts->quit)
			pthread_cond_wait(&w->wake, &ts->mu);
		struct batch *b = w->head;
		if (b == NULL)
			break;
		w->head = b->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&ts->mu);
		hash_batch(w, b);
		pthread_mutex_lock(&ts->mu);
		w->queued--;
		b->len = 0;
		b->next = ts->free_batches;
		ts->free_batches = b;
		pthread_cond_signal(&ts->batch_freed);
	}
	pthread_mutex_unlock(&ts->mu);
	return NULL;
}

/* --- batches, on the caller's thread ---------------------------------- */

static struct batch *
batch_new(void)
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->mem = xmalloc(BATCH_SIZE);
	return b;
}

static struct batch *
take_free_batch(struct tarsum *ts)
{
	struct batch *b;

	pthread_mutex_lock(&ts->mu);
	while (ts->free_batches == NULL)
		pthread_cond_wait(&ts->batch_freed, &ts->mu);
	b = ts->free_batches;
	ts->free_batches = b->next;
	pthread_mutex_unlock(&ts->mu);
	b->next = NULL;
	return b;
}

/* The worker that takes the next batch: the one with the open entry. */
static struct worker *
choose_worker(struct tarsum *ts)
{
	int best = ts->last_worker;

	if (!ts->cur_continues) {
		best = 0;
		for (int i = 1; i < ts->nworkers; i++)
			if (ts->workers[i].queued < ts->workers[best].queued)
				best = i;
	}
	ts->last_worker = best;
	return &ts->workers[best];
}

static void
submit(struct tarsum *ts)
{
	struct batch *b = ts->cur;

	ts->data_rec = NULL;
	if (b->len == 0)
		return;
	if (ts->nworkers == 0) {
		hash_batch(&ts->inline_worker, b);
		b->len = 0;
	} else {
		struct worker *w = choose_worker(ts);
		pthread_mutex_lock(&ts->mu);
		if (w->tail != NULL)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->queued++;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&ts->mu);
		ts->cur = take_free_batch(ts);
	}
	ts->cur_continues = ts->entry_open;
}

/* A new record with room for N bytes, in a fresh batch if need be. */
static struct rec *
add_rec(struct tarsum *ts, enum rec_kind kind, size_t n)
{
	struct rec *r;

	if (ts->cur->len + sizeof(*r) + n > BATCH_SIZE)
		submit(ts);
	if (sizeof(*r) + n > BATCH_SIZE)
		errx(EXIT_DATA, "tar header too large to hash");
	r = (struct rec *)(ts->cur->mem + ts->cur->len);
	r->kind = kind;
	r->len = (uint32_t)n;
	r->idx = ts->nentries - 1;
	ts->cur->len += (sizeof(*r) + n + 7) & ~(size_t)7;
	return r;
}

struct tarsum *
tarsum_new(enum tarsum_version v, const char *alg, int threads)
{
	struct tarsum *ts = xcalloc(1, sizeof(*ts));

	if (strcmp(alg, "sha256") != 0 && strcmp(alg, "sha512") != 0) {
		free(ts);
		return NULL;
	}
	ts->version = v;
	ts->alg = alg;
	ts->md_size = strcmp(alg, "sha256") == 0 ? 32 : 64;
	ts->slot_size = NAME_KEY + ts->md_size;
	ts->nworkers = threads > 1 ? threads : 0;
	ts->inline_worker.ts = ts;
	pthread_mutex_init(&ts->mu, NULL);
	pthread_cond_init(&ts->batch_freed, NULL);
	ts->cur = batch_new();
	if (ts->nworkers == 0)
		return ts;
	ts->workers = xcalloc((size_t)ts->nworkers, sizeof(*ts->workers));
	for (int i = 0; i < ts->nworkers * BATCHES_PER_WORKER; i++) {
		struct batch *b = batch_new();
		b->next = ts->free_batches;
		ts->free_batches = b;
	}
	for (int i = 0; i < ts->nworkers; i++) {
		struct worker *w = &ts->workers[i];
		w->ts = ts;
		pthread_cond_init(&w->wake, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			errx(EXIT_DATA, "cannot start a hashing thread");
	}
	return ts;
}

/* --- entries ---------------------------------------------------------- */

static int
cmp_xattr(const void *a, const void *b)
{
	const struct tar_record *x = *(struct tar_record *const *)a;
	const struct tar_record *y = *(struct tar_record *const *)b;

	return strcmp(x->key, y->key);
}

/*
 * Go's Xattrs: SCHILY.xattr.* records with a value, sorted by key.  Docker's
 * v1 selection sorts a list that starts with as many empty names as there
 * are xattrs before the names themselves, and hashes each name with its
 * value: an xattr whose name is empty has its value hashed once more for
 * each xattr.
 */
static void
add_xattrs(struct buffer *h, const struct tar_entry *e)
{
	const struct tar_record **x = xcalloc(e->nrecords + 1, sizeof(*x));
	size_t n = 0;

	for (size_t i = 0; i < e->nrecords && !e->records_dropped; i++)
		if (strncmp(e->records[i].key, "SCHILY.xattr.", 13) == 0 &&
		    e->records[i].len > 0)
			x[n++] = &e->records[i];
	qsort(x, n, sizeof(*x), cmp_xattr);
	for (size_t i = 0; n > 0 && x[0]->key[13] == '\0' && i < n; i++)
		buffer_append(h, x[0]->value, x[0]->len);
	for (size_t i = 0; i < n; i++) {
		buffer_addstr(h, x[i]->key + 13);
		buffer_append(h, x[i]->value, x[i]->len);
	}
	free(x);
}

/* The header fields Docker's selector hashes, as "key" "value" pairs. */
static void
header_text(struct buffer *h, const struct tar_entry *e, enum tarsum_version v)
{
	buffer_addf(
	    h, "name%smode%" PRId64 "uid%" PRId64 "gid%" PRId64 "size%" PRId64,
	    e->name, e->mode, e->uid, e->gid, e->size);
	if (v == TARSUM_V0)
		buffer_addf(h, "mtime%" PRId64, e->mtime);
	buffer_addstr(h, "typeflag");
	buffer_append(h, &e->typeflag, 1);
	/* uname and gname are hashed empty, as Docker has since Go 1.10. */
	buffer_addf(h,
	            "linkname%sunamegnamedevmajor%" PRId64 "devminor%" PRId64,
	            e->linkname, e->devmajor, e->devminor);
	if (v != TARSUM_V0)
		add_xattrs(h, e);
}

/* Room for SLOTS_PER_CHUNK more entries; nothing already there moves. */
static void
add_chunk(struct tarsum *ts, size_t c)
{
	unsigned char ***dir = &ts->chunks[c / DIR_SIZE];

	if (c / DIR_SIZE >= DIR_SIZE)
		errx(EXIT_DATA, "too many entries to hash");
	if (*dir == NULL)
		*dir = xcalloc(DIR_SIZE, sizeof(**dir));
	(*dir)[c % DIR_SIZE] = xmalloc(SLOTS_PER_CHUNK * ts->slot_size);
}

void
tarsum_begin(struct tarsum *ts, const struct tar_entry *e)
{
	struct buffer h = {0};
	struct rec *r;

	size_t idx = ts->nentries++;
	unsigned char key[DIGEST_MAX_BYTES];
	char *name = path_go_clean(e->name);

	if (idx % SLOTS_PER_CHUNK == 0)
		add_chunk(ts, idx / SLOTS_PER_CHUNK);
	digest_buffer_raw("sha256", name, strlen(name), key);
	memcpy(slot(ts, idx), key, NAME_KEY);
	free(name);
	header_text(&h, e, ts->version);
	/* A long header (names, xattrs) goes on as data records. */
	size_t first = h.len < HEADER_REC_MAX ? h.len : HEADER_REC_MAX;
	r = add_rec(ts, REC_BEGIN, first);
	memcpy(r + 1, h.data, first);
	ts->entry_open = 1;
	tarsum_data(ts, h.data + first, h.len - first);
	buffer_free(&h);
}

void *
tarsum_data_space(struct tarsum *ts, size_t *n)
{
	struct batch *b = ts->cur;
	size_t room;

	if (ts->data_rec == NULL || BATCH_SIZE - b->len < MIN_DATA_SPACE) {
		if (BATCH_SIZE - b->len < sizeof(struct rec) + MIN_DATA_SPACE)
			submit(ts);
		ts->data_rec = add_rec(ts, REC_DATA, 0);
	}
	b = ts->cur;
	room = BATCH_SIZE - b->len;
	if (*n > room)
		*n = room;
	return b->mem + b->len;
}

void
tarsum_data_commit(struct tarsum *ts, size_t n)
{
	ts->data_rec->len += (uint32_t)n;
	ts->cur->len += n;
	/* Keep the next record aligned; the data record's length is exact. */
	size_t aligned = (ts->cur->len + 7) & ~(size_t)7;
	if (aligned != ts->cur->len) {
		ts->cur->len = aligned;
		ts->data_rec = NULL;
	}
}

void
tarsum_data(struct tarsum *ts, const void *p, size_t n)
{
	while (n > 0) {
		size_t k = n;
		void *dst = tarsum_data_space(ts, &k);
		memcpy(dst, p, k);
		tarsum_data_commit(ts, k);
		p = (const char *)p + k;
		n -= k;
	}
}

void
tarsum_end(struct tarsum *ts)
{
	ts->data_rec = NULL;
	add_rec(ts, REC_END, 0);
	ts->entry_open = 0;
}

/* --- Go's Writer: could it encode the entry again? -------------------- */

/*
 * The tarsum package writes every header it reads back out with Go's
 * tar.Writer, and fails when the Writer refuses it.  What follows is the
 * Writer's choice of format (allowedFormats in common.go, go1.19) and the
 * one limit of the format it picks (pax data of at most 1 MiB).
 */

#define PAX_LIMIT (1 << 20)
#define GO_UNIX_TO_INTERNAL INT64_C(62135596800)

enum {
	K_PATH,
	K_LINKPATH,
	K_UNAME,
	K_GNAME,
	K_UID,
	K_GID,
	K_SIZE,
	K_MTIME,
	K_ATIME,
	K_CTIME,
	K_COUNT
};
static const char *const basic_keys[K_COUNT] = {
    "path", "linkpath", "uname", "gname", "uid",
    "gid",  "size",     "mtime", "atime", "ctime"};

struct gotime {
	int64_t sec, nsec;
};

struct gowriter {
	const struct tar_entry *e;
	int format, prefer_pax, has_records;
	size_t slot_len[K_COUNT]; /* record length of each basic key, or 0 */
	const char *why;
};

static int
time_is_zero(struct gotime t)
{
	return t.sec == GO_ZERO_TIME && t.nsec == 0;
}

static int
fits_octal(int n, int64_t x)
{
	return x >= 0 && (n >= 22 || x < INT64_C(1) << (3 * (n - 1)));
}

static int
fits_base256(int n, int64_t x)
{
	int64_t lim = INT64_C(1) << (8 * (n - 1) < 63 ? 8 * (n - 1) : 62);

	return n >= 9 || (x >= -lim && x < lim);
}

/* Go's isASCII: every byte from 1 to 127. */
static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Go's splitUSTARPath: can NAME be a prefix and a name of ustar? */
static int
splits_ustar(const char *name)
{
	size_t len = strlen(name), n = len;
	ssize_t i;

	if (len <= 100 || !is_ascii(name))
		return 0;
	if (n > 156)
		n = 156;
	else if (name[n - 1] == '/')
		n--;
	for (i = (ssize_t)n - 1; i >= 0 && name[i] != '/'; i--)
		;
	return i > 0 && len - (size_t)i - 1 <= 100 && len - (size_t)i - 1 > 0 &&
	       i <= 155;
}

static void
set_slot(struct gowriter *g, int k, size_t vlen)
{
	g->slot_len[k] = tar_pax_record_len(strlen(basic_keys[k]), vlen);
}

/* Is the record K of the entry's PAXRecords equal to V? */
static int
record_equals(const struct gowriter *g, int k, const char *v, size_t vlen)
{
	size_t len;
	const char *rec;

	if (!g->has_records)
		return 0;
	rec = tar_entry_record(g->e, basic_keys[k], &len);
	return rec != NULL && len == vlen && memcmp(rec, v, len) == 0;
}

static void
verify_string(struct gowriter *g, const char *s, size_t size, int k)
{
	size_t len = strlen(s);
	int too_long = len > size;

	if (too_long && k != K_PATH && k != K_LINKPATH)
		g->format &= ~GO_FORMAT_GNU;
	if (!is_ascii(s) || too_long) {
		if (k != K_PATH || !splits_ustar(s))
			g->format &= ~GO_FORMAT_USTAR;
		set_slot(g, k, len);
	}
	if (record_equals(g, k, s, len))
		set_slot(g, k, len);
}

/* K < 0: a field pax has no record for (mode, device numbers). */
static void
verify_number(struct gowriter *g, int64_t n, int size, int k)
{
	char num[32];
	size_t len = (size_t)snprintf(num, sizeof(num), "%" PRId64, n);

	if (!fits_base256(size, n))
		g->format &= ~GO_FORMAT_GNU;
	if (!fits_octal(size, n)) {
		g->format &= ~GO_FORMAT_USTAR;
		if (k < 0)
			g->format &= ~GO_FORMAT_PAX;
		else
			set_slot(g, k, len);
	}
	if (k >= 0 && record_equals(g, k, num, len))
		set_slot(g, k, len);
}

static void
verify_time(struct gowriter *g, struct gotime t, int k)
{
	char num[64];
	size_t len;
	int fits = fits_octal(12, t.sec);

	if (time_is_zero(t))
		return;
	if (k != K_MTIME || !fits)
		g->format &= ~GO_FORMAT_USTAR;
	len = (size_t)tar_pax_time(num, sizeof(num), t.sec, t.nsec);
	if (k != K_MTIME || !fits || t.nsec != 0) {
		g->prefer_pax = 1;
		set_slot(g, k, len);
	}
	if (record_equals(g, k, num, len))
		set_slot(g, k, len);
}

/*
 * time.Time.Round(time.Second), which the Writer applies to the mtime of
 * a header of unknown format: half a second rounds up; before year 1 Go's
 * remainder is taken of the absolute value, and so is kept here.
 */
static struct gotime
round_second(struct gotime t)
{
	int64_t ext =
	    (int64_t)((uint64_t)t.sec + (uint64_t)GO_UNIX_TO_INTERNAL);
	int64_t r = t.nsec, d, dsec, n, sum;

	if (ext < 0 && t.nsec != 0)
		r = 1000000000 - t.nsec;
	d = 2 * r < 1000000000 ? -r : 1000000000 - r;
	dsec = d / 1000000000;
	n = t.nsec + d % 1000000000;
	if (n >= 1000000000)
		dsec++, n -= 1000000000;
	else if (n < 0)
		dsec--, n += 1000000000;
	sum = (int64_t)((uint64_t)ext + (uint64_t)dsec);
	if ((sum > ext) == (dsec > 0))
		ext = sum;
	else
		ext = dsec > 0 ? INT64_MAX : -INT64_MAX;
	t.sec = (int64_t)((uint64_t)ext - (uint64_t)GO_UNIX_TO_INTERNAL);
	t.nsec = n;
	return t;
}

static int
has_trailing_slash(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '/';
}

/* The length of the pax data the Writer would write for E. */
static size_t
pax_data_len(const struct gowriter *g)
{
	const struct tar_entry *e = g->e;
	size_t total = 0;

	for (int k = 0; k < K_COUNT; k++)
		total += g->slot_len[k];
	for (size_t i = 0; g->has_records && i < e->nrecords; i++) {
		const char *key = e->records[i].key;
		int k = 0;
		while (k < K_COUNT && strcmp(key, basic_keys[k]) != 0)
			k++;
		if (k < K_COUNT && g->slot_len[k] > 0)
			continue; /* the Writer's own value is kept */
		if (e->typeflag != 'g' &&
		    (k < K_COUNT || strncmp(key, "GNU.sparse.", 11) == 0))
			continue; /* local records that may conflict */
		total += tar_pax_record_len(strlen(key), e->records[i].len);
	}
	return total;
}

/* Go's allowedFormats, less what cannot happen to a header Go read. */
static void
allowed_formats(struct gowriter *g, struct gotime mtime, struct gotime atime,
                struct gotime ctime)
{
	const struct tar_entry *e = g->e;
	char t = e->go_typeflag;

	g->format = GO_FORMAT_USTAR | GO_FORMAT_PAX | GO_FORMAT_GNU;
	verify_string(g, e->name, 100, K_PATH);
	verify_string(g, e->linkname, 100, K_LINKPATH);
	verify_string(g, e->uname, 32, K_UNAME);
	verify_string(g, e->gname, 32, K_GNAME);
	verify_number(g, e->mode, 8, -1);
	verify_number(g, e->uid, 8, K_UID);
	verify_number(g, e->gid, 8, K_GID);
	verify_number(g, e->size, 12, K_SIZE);
	verify_number(g, e->devmajor, 8, -1);
	verify_number(g, e->devminor, 8, -1);
	verify_time(g, mtime, K_MTIME);
	verify_time(g, atime, K_ATIME);
	verify_time(g, ctime, K_CTIME);
	if (strchr("0346S", t) != NULL && has_trailing_slash(e->name)) {
		g->why = "a file name with a trailing slash";
		g->format = 0;
		return;
	}
	if (t == 'g' || g->has_records)
		g->format &= GO_FORMAT_PAX;
	if (!tar_type_header_only(t) && e->size < 0) {
		g->why = "a negative size";
		g->format = 0;
		return;
	}
	int want = e->go_format;
	if (want != 0) {
		if ((want & GO_FORMAT_PAX) && !g->prefer_pax)
			want |= GO_FORMAT_USTAR;
		g->format &= want;
	}
	if (g->format == 0)
		g->why = "no tar format holds its fields";
}

int
tarsum_go_encodable(const struct tar_entry *e, const char **why)
{
	struct gowriter g = {e, 0, 0, 0, {0}, NULL};
	struct gotime mtime = {e->mtime, e->mtime_nsec};
	struct gotime atime = {GO_ZERO_TIME, 0}, ctime = {GO_ZERO_TIME, 0};

	g.has_records = e->nrecords > 0 && !e->records_dropped;
	if (e->atime_set)
		atime = (struct gotime){e->atime, e->atime_nsec};
	if (e->ctime_set)
		ctime = (struct gotime){e->ctime, e->ctime_nsec};
	if (e->go_format == 0) {
		mtime = round_second(mtime);
		atime = ctime = (struct gotime){GO_ZERO_TIME, 0};
	}
	allowed_formats(&g, mtime, atime, ctime);
	if (g.format == 0) {
		*why = g.why;
		return 0;
	}
	if (!(g.format & GO_FORMAT_USTAR) && (g.format & GO_FORMAT_PAX) &&
	    pax_data_len(&g) > PAX_LIMIT) {
		*why = "its pax header would exceed 1 MiB";
		return 0;
	}
	return 1;
}

/* --- the result ------------------------------------------------------- */

static void
stop_workers(struct tarsum *ts)
{
	pthread_mutex_lock(&ts->mu);
	ts->quit = 1;
	for (int i = 0; i < ts->nworkers; i++)
		pthread_cond_signal(&ts->workers[i].wake);
	pthread_mutex_unlock(&ts->mu);
	for (int i = 0; i < ts->nworkers; i++)
		pthread_join(ts->workers[i].thread, NULL);
}

struct sums {
	struct tarsum *ts;
	uint32_t *pos; /* archive position of the entry in each place */
	int dups;
};

/* fileinfosums.go's bySum: by sum, or by position when names are equal. */
static int
sums_less(void *data, size_t i, size_t j)
{
	struct sums *s = data;
	const unsigned char *a = slot(s->ts, s->pos[i]);
	const unsigned char *b = slot(s->ts, s->pos[j]);

	if (s->dups && memcmp(a, b, NAME_KEY) == 0)
		return s->pos[i] < s->pos[j];
	/* Raw bytes order as their lowercase hex does. */
	return memcmp(a + NAME_KEY, b + NAME_KEY, s->ts->md_size) < 0;
}

static void
sums_swap(void *data, size_t i, size_t j)
{
	struct sums *s = data;
	uint32_t t = s->pos[i];

	s->pos[i] = s->pos[j];
	s->pos[j] = t;
}

static int
cmp_pos_key(const void *a, const void *b, void *ts)
{
	return memcmp(slot(ts, *(const uint32_t *)a),
	              slot(ts, *(const uint32_t *)b), NAME_KEY);
}

/* Are two names equal?  Sorts POS by name key to find out. */
static int
has_duplicates(struct tarsum *ts, uint32_t *pos)
{
	int dups = 0;

	qsort_r(pos, ts->nentries, sizeof(*pos), cmp_pos_key, ts);
	for (size_t i = 1; i < ts->nentries && !dups; i++)
		dups = cmp_pos_key(&pos[i - 1], &pos[i], ts) == 0;
	return dups;
}

static void
free_batches(struct tarsum *ts)
{
	struct batch *b;

	while ((b = ts->free_batches) != NULL) {
		ts->free_batches = b->next;
		free(b->mem);
		free(b);
	}
}

static void
free_all(struct tarsum *ts)
{
	free_batches(ts);
	free(ts->cur->mem);
	free(ts->cur);
	for (size_t d = 0; d < DIR_SIZE && ts->chunks[d] != NULL; d++) {
		for (size_t c = 0; c < DIR_SIZE; c++)
			free(ts->chunks[d][c]);
		free(ts->chunks[d]);
	}
	free(ts->workers);
	free(ts);
}

char *
tarsum_finish(struct tarsum *ts, const void *extra, size_t extralen)
{
	struct sums s = {ts, NULL, 0};
	struct digest d;
	char hex[DIGEST_MAX_HEX];
	char *out;

	submit(ts);
	stop_workers(ts);
	free_batches(ts);
	if (ts->nentries > UINT32_MAX)
		errx(EXIT_DATA, "too many entries to sort");
	s.pos = xcalloc(ts->nentries + 1, sizeof(*s.pos));
	for (size_t i = 0; i < ts->nentries; i++)
		s.pos[i] = (uint32_t)i;
	s.dups = has_duplicates(ts, s.pos);
	for (size_t i = 0; i < ts->nentries; i++)
		s.pos[i] = (uint32_t)i;
	gosort(&(struct gosort_ops){&s, sums_less, sums_swap}, ts->nentries);

	digest_init(&d, ts->alg);
	if (extra != NULL)
		digest_update(&d, extra, extralen);
	for (size_t i = 0; i < ts->nentries; i++) {
		digest_hex(slot(ts, s.pos[i]) + NAME_KEY, ts->md_size, hex);
		digest_update(&d, hex, 2 * ts->md_size);
	}
	digest_final_hex(&d, hex);
	out = xasprintf("%s+%s:%s", version_label(ts->version), ts->alg, hex);
	free(s.pos);
	free_all(ts);
	return out;
}

void
tarsum_abort(struct tarsum *ts)
{
	if (ts == NULL)
		return;
	stop_workers(ts);
	free_all(ts);
}
