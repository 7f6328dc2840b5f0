/* Fuzz the STACK reader: stack.json, then each member as it announces. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "instream.h"
#include "stack.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_reader *r =
	    tar_reader_new(instream_memopen(data, size, "fuzz"));
	struct stack_reader *s = NULL;
	struct tar_entry *e;
	char *why = NULL, buf[4096];
	const char *name;
	int64_t len;
	size_t i;

	if (FUZZ_TRY() && tar_reader_next(r, &e) == 1 && stack_sniff(e) &&
	    (s = stack_reader_new(r, e, "fuzz", &why)) != NULL) {
		while (stack_reader_next(s, &i, &len, &name, &why) == 1) {
			jv_free(stack_reader_paths(s, i));
			while (tar_reader_read(r, buf, sizeof(buf)) > 0)
				;
		}
	}
	stack_reader_free(s);
	free(why);
	tar_reader_close(r);
	return 0;
}
