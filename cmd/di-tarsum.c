/*
 * di-tarsum: the tarsum of a layer, as Docker's Go pkg/tarsum computes it.
 *
 *	di-tarsum [-v v0|v1|dev] [-a sha256|sha512] [-e EXTRA] [--json]
 *	          [--tee [-o SUMFILE]] [FILE]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buffer.h"
#include "digest.h"
#include "errors.h"
#include "instream.h"
#include "outfile.h"
#include "tar_reader.h"
#include "tarsum.h"

static void
usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: di-tarsum [-v v0|v1|dev] [-a sha256|sha512] [-e EXTRA] "
	    "[--json]\n"
	    "                 [--tee [-o SUMFILE]] [--threads N] [FILE]\n"
	    "Print the tarsum of the tar FILE (or stdin), as Docker computes "
	    "it.\n"
	    "  -v, --version-tarsum V  tarsum version: v0, v1 (default), "
	    "dev\n"
	    "  -a, --algorithm ALG     sha256 (default) or sha512\n"
	    "  -e, --extra FILE        hash FILE's bytes first (a layer's "
	    "json)\n"
	    "      --json              print tarsum, diff_id and size as "
	    "JSON\n"
	    "      --tee               copy the input to stdout unchanged\n"
	    "  -o, --output FILE       write the sum to FILE\n"
	    "      --threads N         hashing threads (default: cores)\n"
	    "      --help, --version\n");
	exit(status);
}

struct options {
	enum tarsum_version version;
	const char *alg;
	const char *extra_path;
	const char *output;
	const char *input;
	int json, tee, threads;
};

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_JSON = 256, OPT_TEE, OPT_THREADS, OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
	    {"version-tarsum", required_argument, NULL, 'v'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"extra", required_argument, NULL, 'e'},
	    {"output", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"tee", no_argument, NULL, OPT_TEE},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->version = TARSUM_V1;
	o->alg = "sha256";
	o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt_long(argc, argv, "v:a:e:o:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'v':
			if (tarsum_parse_version(optarg, &o->version) < 0)
				usage_error("unknown tarsum version '%s'",
				            optarg);
			break;
		case 'a':
			if (strcmp(optarg, "sha256") &&
			    strcmp(optarg, "sha512"))
				usage_error("unknown algorithm '%s'", optarg);
			o->alg = optarg;
			break;
		case 'e':
			o->extra_path = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_TEE:
			o->tee = 1;
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
	if (argc - optind > 1)
		usage_error("one input at most");
	o->input = optind < argc ? argv[optind] : NULL;
	if (o->threads > 4)
		o->threads = 4;
}

static char *
read_extra(const char *path, size_t *len)
{
	struct buffer b = {0};

	if (buffer_read_file(&b, path, 0) < 0)
		err(EXIT_DATA, "%s", path);
	*len = b.len;
	return buffer_detach(&b);
}

/* Feed every entry of R to TS; the reader's message on a bad archive. */
static void
sum_entries(struct tar_reader *r, struct tarsum *ts)
{
	struct tar_entry *e;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		struct tar_entry as_go = *e;
		const char *why;
		if (!tarsum_go_encodable(e, &why))
			errx(EXIT_DATA,
			     "%s: offset %" PRIu64 ": '%s': Go's tar writer "
			     "refuses %s, so Docker's tarsum fails",
			     instream_label(tar_reader_stream(r)), e->offset,
			     e->name, why);
		as_go.typeflag = e->go_typeflag;
		tarsum_begin(ts, &as_go);
		for (;;) {
			size_t n = 1 << 20;
			void *p = tarsum_data_space(ts, &n);
			ssize_t k = tar_reader_read(r, p, n);
			if (k < 0)
				errx(EXIT_DATA, "%s", tar_reader_error(r));
			if (k == 0)
				break;
			tarsum_data_commit(ts, (size_t)k);
		}
		tarsum_end(ts);
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(r));
}

/* Read what follows the end of the archive, for the tee and the diff_id. */
static void
drain(struct instream *in)
{
	char buf[64 * 1024];
	ssize_t k;

	while ((k = instream_read(in, buf, sizeof(buf))) > 0)
		;
	if (k < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(in),
		     instream_error(in));
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct digest diff_id;
	char *extra = NULL, *sum, hex[DIGEST_MAX_HEX];
	size_t extralen = 0;
	struct instream *in;
	struct tar_reader *r;
	struct tarsum *ts;
	FILE *out;

	parse_options(argc, argv, &o);
	if (o.extra_path != NULL)
		extra = read_extra(o.extra_path, &extralen);
	in = instream_open(o.input);
	if (o.tee)
		instream_tee(in, outfile_open(NULL, OUT_TAR));
	if (o.json) {
		digest_init(&diff_id, "sha256");
		instream_digest(in, &diff_id);
	}
	r = tar_reader_new(in);
	ts = tarsum_new(o.version, o.alg, o.threads);
	sum_entries(r, ts);
	if (o.tee || o.json)
		drain(in);
	sum = tarsum_finish(ts, extra, extralen);

	if (o.output != NULL)
		out = fdopen(outfile_open(o.output, OUT_TEXT), "w");
	else
		out = o.tee ? stderr : stdout;
	if (out == NULL)
		err(EXIT_DATA, "fdopen");
	if (o.json) {
		digest_final_hex(&diff_id, hex);
		fprintf(out,
		        "{\"tarsum\":\"%s\",\"diff_id\":\"sha256:%s\","
		        "\"size\":%" PRIu64 "}\n",
		        sum, hex, instream_offset(in));
	} else {
		fprintf(out, "%s\n", sum);
	}
	if (fflush(out) != 0 || ferror(out))
		outfile_write_failed(fileno(out));
	if (o.output != NULL)
		outfile_commit();
	free(sum);
	free(extra);
	tar_reader_close(r);
	return 0;
}
