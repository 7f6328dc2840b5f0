/*
 * tarsum_batch: di's tarsum of many tars, one after the other, for the
 * differential fuzzer (tests/fuzz/tarsumdiff).  Reads records of a 4-byte
 * little-endian length and that many bytes of tar from standard input;
 * for each writes one line: the v0, v1 and dev sums, or "ERR" for each
 * when di-tarsum would refuse the tar, then " nondet" when the answer
 * rests on a choice where Go's own is random (tar_reader.c).  It computes
 * exactly what cmd/di-tarsum.c computes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instream.h"
#include "tar_reader.h"
#include "tarsum.h"

/* Does Go's answer for E depend on the order it walks a map in? */
static int
nondeterministic(const struct tar_entry *e)
{
	return e->typeflag == 'g' && e->records_dropped && e->nrecords > 1;
}

static int
sum_all(struct tar_reader *r, struct tarsum *ts[3], int *nondet)
{
	static char buf[64 * 1024];
	struct tar_entry *e;
	const char *why;
	ssize_t n;
	int got;

	while ((got = tar_reader_next(r, &e)) == 1) {
		struct tar_entry as_go = *e;
		if (!tarsum_go_encodable(e, &why))
			return -1;
		*nondet |= nondeterministic(e);
		as_go.typeflag = e->go_typeflag;
		for (int v = 0; v < 3; v++)
			tarsum_begin(ts[v], &as_go);
		while ((n = tar_reader_read(r, buf, sizeof(buf))) > 0)
			for (int v = 0; v < 3; v++)
				tarsum_data(ts[v], buf, (size_t)n);
		if (n < 0)
			return -1;
		for (int v = 0; v < 3; v++)
			tarsum_end(ts[v]);
	}
	return got;
}

static void
one(const unsigned char *data, size_t len)
{
	struct tar_reader *r =
	    tar_reader_new(instream_memopen(data, len, "input"));
	struct tarsum *ts[3];
	int nondet = 0;

	for (int v = 0; v < 3; v++)
		ts[v] = tarsum_new((enum tarsum_version)v, "sha256", 1);
	if (sum_all(r, ts, &nondet) < 0) {
		for (int v = 0; v < 3; v++)
			tarsum_abort(ts[v]);
		printf("ERR ERR ERR%s\n", nondet ? " nondet" : "");
	} else {
		for (int v = 0; v < 3; v++) {
			char *s = tarsum_finish(ts[v], NULL, 0);
			printf("%s%s", v ? " " : "", s);
			free(s);
		}
		printf("%s\n", nondet ? " nondet" : "");
	}
	fflush(stdout);
	tar_reader_close(r);
}

int
main(void)
{
	unsigned char hdr[4];
	unsigned char *data = NULL;
	size_t cap = 0;

	while (fread(hdr, 1, 4, stdin) == 4) {
		size_t len = (size_t)hdr[0] | (size_t)hdr[1] << 8 |
		             (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
		if (len > cap) {
			cap = len;
			data = realloc(data, cap ? cap : 1);
			if (data == NULL)
				return 2;
		}
		if (fread(data, 1, len, stdin) != len)
			return 2;
		one(data, len);
	}
	free(data);
	return 0;
}
