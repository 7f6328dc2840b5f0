/* Fuzz the BUNDLE reader: VERSION, json, then layer.tar's data. */
#include <stdlib.h>

#include "bundle.h"
#include <string.h>

#include "fuzz.h"
#include "instream.h"
#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_reader *r =
	    tar_reader_new(instream_memopen(data, size, "fuzz"));
	char *json = NULL, *why = NULL, buf[4096];

	if (FUZZ_TRY()) {
		if (bundle_read_head(r, &json, &why) == 0) {
			jv v = json_parse(json, strlen(json));
			if (jv_is_valid(v))
				free(json_dump(v));
			else
				free(json_error(v));
			while (tar_reader_read(r, buf, sizeof(buf)) > 0)
				;
		}
	}
	free(json);
	free(why);
	tar_reader_close(r);
	return 0;
}
