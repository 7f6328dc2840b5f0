/* json.c: parsing and canonical printing of JSON with libjq. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "errors.h"
#include "json.h"

jv
json_parse(const char *text, size_t len)
{
	if (len > 0x7fffffff)
		return jv_invalid_with_msg(jv_string("JSON text too large"));
	return jv_parse_sized(text, (int)len);
}

char *
json_error(jv v)
{
	jv msg = jv_invalid_get_msg(v);
	char *s;

	if (jv_get_kind(msg) == JV_KIND_STRING)
		s = strdup(jv_string_value(msg));
	else
		s = strdup("invalid JSON");
	jv_free(msg);
	if (s == NULL)
		err(EXIT_DATA, "malloc");
	return s;
}

jv
json_load_file(const char *path)
{
	struct buffer b = {0};
	jv v;

	if (buffer_read_file(&b, path, 0) < 0)
		err(EXIT_DATA, "%s", path);
	v = json_parse(buffer_str(&b), b.len);
	buffer_free(&b);
	if (!jv_is_valid(v)) {
		char *why = json_error(v);
		errx(EXIT_DATA, "%s: %s", path, why);
	}
	return v;
}

char *
json_dump(jv v)
{
	jv s = jv_dump_string(v, JV_PRINT_SORTED);
	char *out = strdup(jv_string_value(s));

	jv_free(s);
	if (out == NULL)
		err(EXIT_DATA, "malloc");
	return out;
}

jv
json_get(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		jv_free(obj);
		return jv_invalid();
	}
	return jv_object_get(obj, jv_string(key));
}

const char *
json_peek_string(jv obj, const char *key)
{
	const char *s = NULL;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return NULL;
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v); /* obj still holds the string */
	jv_free(v);
	return s;
}

int
json_peek_is(jv obj, const char *key, jv_kind kind)
{
	int is;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return 0;
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	is = jv_get_kind(v) == kind;
	jv_free(v);
	return is;
}
