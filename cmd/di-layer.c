/*
 * di-layer: one normalized, reproducible layer from directories and trees,
 * as Nix's mkPureLayer made it: a BUNDLE (VERSION, json, layer.tar), or
 * the layer tar alone.
 *
 *	di-layer [-c BASEJSON] [--mtime T] [--owner UID:GID] [--tar]
 *	         [-o FILE] [INPUT]...
 *
 * The BUNDLE's json names the layer's tarsum, and the json comes before
 * the layer, so into a pipe the layer is walked twice: once to learn its
 * size and checksum, once to write it.  Directories are simply read again
 * (and must not have changed); tars are indexed once and read back by
 * offset.  Into a file the layer is walked once and the head written last.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "bundle.h"
#include "errors.h"
#include "json.h"
#include "outfile.h"
#include "tar_writer.h"
#include "tarsum.h"
#include "timestamp.h"
#include "treemerge.h"
#include "xalloc.h"

#define COPY_CHUNK (1 << 20)

struct options {
	const char *base_json;
	const char *output;
	int64_t mtime;
	int64_t epoch; /* SOURCE_DATE_EPOCH: the json's created */
	int64_t uid, gid;
	int tar_only;
	int threads;
	char **inputs;
	int ninputs;
};

/* What the first walk learns about the layer. */
struct layer_sum {
	int64_t size;
	char *checksum;
	uint64_t *stamps; /* of each entry, for the second walk to compare */
	size_t nstamps;
};

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-layer [-c BASEJSON] [--mtime T] [--owner UID:GID] "
	    "[--tar] [-o FILE]\n"
	    "                [INPUT]...\n"
	    "Make one reproducible layer of the directories and tars INPUT "
	    "(stdin if none),\n"
	    "merged first-wins, and write it as a bundle (VERSION, json, "
	    "layer.tar).\n"
	    "  -c, --base-json FILE  the json to add the checksum to\n"
	    "      --mtime T         time of every entry: seconds, @seconds "
	    "or\n"
	    "                        YYYY-MM-DDTHH:MM:SSZ (default: "
	    "SOURCE_DATE_EPOCH, else 1)\n"
	    "      --owner UID:GID   owner of every entry (default 0:0)\n"
	    "      --tar             write the layer tar alone\n"
	    "  -o, --output FILE     write to FILE instead of stdout\n"
	    "      --help, --version\n");
	exit(status);
}

/* --- owners ----------------------------------------------------------- */

static void
parse_owner(const char *s, int64_t *uid, int64_t *gid)
{
	char *end;
	long long u, g;

	u = strtoll(s, &end, 10);
	if (end == s || *end != ':' || u < 0)
		usage_error("--owner wants UID:GID, not '%s'", s);
	s = end + 1;
	g = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || g < 0)
		usage_error("--owner wants UID:GID, not '%s'", s);
	*uid = u;
	*gid = g;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_MTIME = 256,
		OPT_OWNER,
		OPT_TAR,
		OPT_THREADS,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"base-json", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {"mtime", required_argument, NULL, OPT_MTIME},
	    {"owner", required_argument, NULL, OPT_OWNER},
	    {"tar", no_argument, NULL, OPT_TAR},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->mtime = o->epoch = timestamp_default();
	o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt_long(argc, argv, "c:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->base_json = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_MTIME:
			if (timestamp_parse(optarg, &o->mtime) < 0)
				usage_error("--mtime: bad time '%s'", optarg);
			break;
		case OPT_OWNER:
			parse_owner(optarg, &o->uid, &o->gid);
			break;
		case OPT_TAR:
			o->tar_only = 1;
			break;
		case OPT_THREADS:
			o->threads = atoi(optarg);
			if (o->threads < 1 || o->threads > 64)
				usage_error("--threads wants 1 to 64");
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
	if (o->threads > 4)
		o->threads = 4;
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
}

/* --- inputs ------------------------------------------------------------- */

/* Directories are walked, anything else is read as a tar. */
static struct treemerge *
open_inputs(const struct options *o)
{
	struct treemerge *m = treemerge_new();
	int stdin_used = 0;
	struct stat st;

	if (o->ninputs == 0)
		treemerge_add_tree(m, "-");
	for (int i = 0; i < o->ninputs; i++) {
		const char *in = o->inputs[i];
		if (strcmp(in, "-") == 0) {
			if (stdin_used++)
				usage_error("standard input given twice");
			treemerge_add_tree(m, in);
		} else if (stat(in, &st) < 0) {
			err(EXIT_DATA, "%s", in);
		} else if (S_ISDIR(st.st_mode)) {
			treemerge_add_dir(m, in, NULL, 0);
		} else {
			treemerge_add_tree(m, in);
		}
	}
	return m;
}

/* Owner and time as the options say; no user or group names. */
static void
normalize(struct tar_entry *e, const struct options *o)
{
	e->mtime = o->mtime;
	e->uid = o->uid;
	e->gid = o->gid;
	e->uname = e->gname = "";
}

/* --- first walk: size and checksum -------------------------------------- */

static void
add_stamp(struct layer_sum *sum, uint64_t stamp)
{
	if ((sum->nstamps & (sum->nstamps - 1)) == 0) {
		size_t cap = sum->nstamps ? 2 * sum->nstamps : 1;
		sum->stamps =
		    xreallocarray(sum->stamps, cap, sizeof(*sum->stamps));
	}
	sum->stamps[sum->nstamps++] = stamp;
}

/* Hash an entry's data straight into the tarsum's queue. */
static void
hash_data(struct treemerge *m, struct tarsum *ts)
{
	for (;;) {
		size_t n = COPY_CHUNK;
		void *p = tarsum_data_space(ts, &n);
		size_t k = treemerge_read(m, p, n);
		if (k == 0)
			break;
		tarsum_data_commit(ts, k);
	}
}

static struct layer_sum
sum_layer(struct treemerge *m, const struct options *o)
{
	struct layer_sum sum = {0};
	struct tarsum *ts = tarsum_new(TARSUM_V1, "sha256", o->threads);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct tar_writer *headers;
	struct tar_entry *e;
	int64_t data = 0;

	if (devnull < 0)
		err(EXIT_DATA, "/dev/null");
	/* Headers are encoded to learn their size; data is only counted. */
	headers = tar_writer_new(devnull);
	treemerge_start(m);
	while (treemerge_next(m, &e)) {
		normalize(e, o);
		tarsum_begin(ts, e);
		tar_writer_header(headers, e);
		hash_data(m, ts);
		tarsum_end(ts);
		if (e->typeflag == '0')
			data +=
			    (e->size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
		add_stamp(&sum, treemerge_stamp(m));
	}
	sum.size = (int64_t)tar_writer_offset(headers) + data + 2 * TAR_BLOCK;
	tar_writer_abandon(headers);
	close(devnull);
	sum.checksum = tarsum_finish(ts, NULL, 0);
	return sum;
}

/* --- writing the layer -------------------------------------------------- */

/*
 * Copy an entry's data to W, and with TS also into the tarsum's queue:
 * read once into the queue's space, written from there.
 */
static void
copy_data(struct treemerge *m, struct tar_writer *w, struct tarsum *ts,
          const struct tar_entry *e)
{
	static char buf[COPY_CHUNK];

	for (;;) {
		size_t n = COPY_CHUNK;
		char *p = ts != NULL ? tarsum_data_space(ts, &n) : buf;
		size_t k = treemerge_read(m, p, n);
		if (k == 0)
			break;
		tar_writer_raw(w, p, k);
		if (ts != NULL)
			tarsum_data_commit(ts, k);
	}
	tar_writer_pad(w, e->typeflag == '0' ? e->size : 0);
}

/*
 * Write the layer's entries, not yet its end-of-archive blocks.  With SUM,
 * every entry must be what the first walk saw; with TS, entries are hashed
 * as they are written.
 */
static void
write_layer(struct treemerge *m, struct tar_writer *w, const struct options *o,
            const struct layer_sum *sum, struct tarsum *ts)
{
	uint64_t start = tar_writer_offset(w);
	struct tar_entry *e;
	size_t i = 0;

	treemerge_start(m);
	while (treemerge_next(m, &e)) {
		normalize(e, o);
		if (ts != NULL)
			tarsum_begin(ts, e);
		tar_writer_header(w, e);
		copy_data(m, w, ts, e);
		if (ts != NULL)
			tarsum_end(ts);
		if (sum != NULL &&
		    (i >= sum->nstamps || sum->stamps[i] != treemerge_stamp(m)))
			errx(EXIT_DATA,
			     "'%s': input changed between the two reads",
			     e->name);
		i++;
	}
	treemerge_check_unchanged(m);
	if (sum != NULL && (i != sum->nstamps ||
	                    tar_writer_offset(w) - start + 2 * TAR_BLOCK !=
	                        (uint64_t)sum->size))
		errx(EXIT_DATA, "input changed between the two reads");
}

/* The layer's end-of-archive blocks, inside the bundle's layer.tar. */
static void
end_layer(struct tar_writer *w)
{
	static const char zeros[2 * TAR_BLOCK];

	tar_writer_raw(w, zeros, sizeof(zeros));
}

/* --- the bundle's json -------------------------------------------------- */

/* The seed's baseJson, created at SOURCE_DATE_EPOCH. */
static jv
default_json(int64_t epoch)
{
	char created[32];

	timestamp_rfc3339(epoch, created);
	jv v = jv_object();
	v = jv_object_set(v, jv_string("created"), jv_string(created));
	v = jv_object_set(v, jv_string("architecture"), jv_string("amd64"));
	v = jv_object_set(v, jv_string("os"), jv_string("linux"));
	return jv_object_set(v, jv_string("config"), jv_null());
}

/* BASE (borrowed) with the checksum. */
static char *
bundle_json(jv base, const char *checksum)
{
	jv v = jv_copy(base);

	v = jv_object_set(v, jv_string("checksum"), jv_string(checksum));
	return json_dump(v);
}

static jv
load_base_json(const struct options *o)
{
	jv v = o->base_json ? json_load_file(o->base_json)
	                    : default_json(o->epoch);

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		errx(EXIT_DATA, "%s: not a JSON object", o->base_json);
	}
	return v;
}

/* --- the bundle ---------------------------------------------------------- */

/* Walk twice: learn the checksum and size, then write. */
static void
write_bundle_twice(struct treemerge *m, int fd, const struct options *o,
                   jv base)
{
	struct layer_sum sum = sum_layer(m, o);
	char *json = bundle_json(base, sum.checksum);
	struct tar_writer *w = tar_writer_new(fd);

	bundle_write_head(w, json, sum.size, o->mtime);
	write_layer(m, w, o, &sum, NULL);
	end_layer(w);
	tar_writer_pad(w, sum.size);
	tar_writer_finish(w);
	free(json);
	free(sum.checksum);
	free(sum.stamps);
}

/* The offset where output starts, if it is a file we may write back into. */
static int
seekable(int fd, off_t *start)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fl < 0 ||
	    (fl & O_APPEND))
		return 0;
	return (*start = lseek(fd, 0, SEEK_CUR)) >= 0;
}

/* The size of VERSION, JSON and the layer's header in a bundle. */
static int64_t
head_size(const char *json, const struct options *o)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct tar_writer *w;
	int64_t n;

	if (devnull < 0)
		err(EXIT_DATA, "/dev/null");
	w = tar_writer_new(devnull);
	bundle_write_head(w, json, 0, o->mtime);
	n = (int64_t)tar_writer_offset(w);
	tar_writer_abandon(w);
	close(devnull);
	return n;
}

/*
 * Into a file, one walk is enough: the layer is written and hashed at once
 * after room for the bundle's head, which is written last, when checksum
 * and size are known.  Until then the room holds bytes that no tar reader
 * accepts, so a failed run leaves nothing that looks like a bundle.  The
 * bytes are those of write_bundle_twice.  Returns -1, having written
 * nothing, for a layer too big for the head's room (8 GiB and more).
 */
static int
write_bundle_in_place(struct treemerge *m, int fd, off_t start,
                      const struct options *o, jv base)
{
	static const char zeros64[64 + 1] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	char *json, *sum, *room;
	int64_t head, size;
	struct tar_writer *w;
	struct tarsum *ts;

	/* A checksum is always as long: the room is known. */
	sum = xasprintf("tarsum.v1+sha256:%s", zeros64);
	json = bundle_json(base, sum);
	free(sum);
	head = head_size(json, o);
	room = xmalloc((size_t)head);
	memset(room, 0xff, (size_t)head);
	w = tar_writer_new(fd);
	tar_writer_raw(w, room, (size_t)head);
	free(room);
	ts = tarsum_new(TARSUM_V1, "sha256", o->threads);
	write_layer(m, w, o, NULL, ts);
	end_layer(w);
	size = (int64_t)tar_writer_offset(w) - head;
	if (size > 077777777777LL) {
		tar_writer_abandon(w);
		tarsum_abort(ts);
		free(json);
		if (ftruncate(fd, start) < 0 || lseek(fd, start, SEEK_SET) < 0)
			err(EXIT_DATA, "rewinding the output");
		return -1;
	}
	tar_writer_pad(w, size);
	tar_writer_finish(w);
	free(json);
	sum = tarsum_finish(ts, NULL, 0);
	json = bundle_json(base, sum);
	if (lseek(fd, start, SEEK_SET) < 0)
		err(EXIT_DATA, "seeking back in the output");
	w = tar_writer_new(fd);
	bundle_write_head(w, json, size, o->mtime);
	if ((int64_t)tar_writer_offset(w) != head)
		errx(EXIT_DATA, "bundle head of %ju bytes, not %jd",
		     (uintmax_t)tar_writer_offset(w), (intmax_t)head);
	tar_writer_abandon(w); /* flushed; the end is written already */
	if (lseek(fd, 0, SEEK_END) < 0)
		err(EXIT_DATA, "seeking in the output");
	free(json);
	free(sum);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct treemerge *m;
	off_t start;
	int fd;

	parse_options(argc, argv, &o);
	if (o.base_json != NULL && o.tar_only)
		usage_error("--tar writes no json: -c makes no sense with it");
	jv base = o.tar_only ? jv_null() : load_base_json(&o);
	m = open_inputs(&o);
	fd = outfile_open(o.output, OUT_TAR);
	treemerge_exclude_output(m, fd);
	if (o.tar_only) {
		struct tar_writer *w = tar_writer_new(fd);
		write_layer(m, w, &o, NULL, NULL);
		tar_writer_finish(w);
	} else if (!seekable(fd, &start) ||
	           write_bundle_in_place(m, fd, start, &o, base) < 0) {
		write_bundle_twice(m, fd, &o, base);
	}
	outfile_commit();
	jv_free(base);
	treemerge_free(m);
	return 0;
}
