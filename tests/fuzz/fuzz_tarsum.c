/* Fuzz the tarsum over the tar reader, on the caller's thread. */
#include <stdlib.h>

#include "fuzz.h"
#include "instream.h"
#include "tar_reader.h"
#include "tarsum.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_reader *r =
	    tar_reader_new(instream_memopen(data, size, "fuzz"));
	struct tarsum *ts =
	    tarsum_new(size % 2 ? TARSUM_V0 : TARSUM_V1, "sha256", 1);
	struct tar_entry *e;
	char buf[4096];
	ssize_t n;

	if (FUZZ_TRY()) {
		while (tar_reader_next(r, &e) == 1) {
			tarsum_begin(ts, e);
			while ((n = tar_reader_read(r, buf, sizeof(buf))) > 0)
				tarsum_data(ts, buf, (size_t)n);
			tarsum_end(ts);
		}
		free(tarsum_finish(ts, data, size < 16 ? size : 16));
		ts = NULL;
	}
	if (ts != NULL)
		tarsum_abort(ts);
	tar_reader_close(r);
	return 0;
}
