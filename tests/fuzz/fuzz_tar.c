/* Fuzz the tar reader: every entry, every byte of data, any compression. */
#include "fuzz.h"
#include "instream.h"
#include "tar_reader.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_reader *r =
	    tar_reader_new(instream_memopen(data, size, "fuzz"));
	struct tar_entry *e;
	char buf[4096];

	if (FUZZ_TRY()) {
		while (tar_reader_next(r, &e) == 1) {
			size_t len;
			(void)tar_entry_record(e, "path", &len);
			while (tar_reader_read(r, buf, sizeof(buf)) > 0)
				;
		}
	}
	tar_reader_close(r);
	return 0;
}
