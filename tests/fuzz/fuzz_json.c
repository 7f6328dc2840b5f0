/*
 * Fuzz common/json: any text parsed, dumped, and parsed and dumped again
 * gives the same canonical text (numbers kept as written included), and
 * the accessors never abort on what the parser made.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jv v = json_parse((const char *)data, size);
	char *once, *twice;

	if (!jv_is_valid(v)) {
		free(json_error(v));
		return 0;
	}
	(void)json_peek_string(v, "a");
	(void)json_peek_is(v, "a", JV_KIND_NUMBER);
	(void)json_kept_number_text(v);
	once = json_dump(v);
	v = json_parse(once, strlen(once));
	if (!jv_is_valid(v))
		abort(); /* json_dump wrote what json_parse refuses */
	twice = json_dump(v);
	if (strcmp(once, twice) != 0)
		abort(); /* the canonical text is not a fixed point */
	free(once);
	free(twice);
	return 0;
}
