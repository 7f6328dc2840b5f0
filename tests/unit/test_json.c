/*
 * Unit tests of common/json: canonical text, and numbers that libjq's
 * doubles would change kept as written.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "json.h"

/* TEXT parsed and dumped again gives WANT; NULL: it does not parse. */
static int
round_trip_is(const char *text, const char *want)
{
	jv v = json_parse(text, strlen(text));
	char *got;
	int ok;

	if (!jv_is_valid(v)) {
		jv_free(v);
		return want == NULL;
	}
	got = json_dump(v);
	ok = want != NULL && strcmp(got, want) == 0;
	if (!ok)
		printf("# %s gave %s\n", text, got);
	free(got);
	return ok;
}

/* KEY of TEXT's object: is it a kept number, and one with this text? */
static int
kept_is(const char *text, const char *key, const char *want)
{
	jv v = json_parse(text, strlen(text));
	jv n = json_get(jv_copy(v), key);
	const char *t = json_kept_number_text(n);
	int ok = want == NULL ? t == NULL : t != NULL && strcmp(t, want) == 0;

	/* Never mistaken for a string or a number by the accessors. */
	if (t != NULL)
		ok = ok && json_peek_string(v, key) == NULL &&
		     !json_peek_is(v, key, JV_KIND_STRING) &&
		     !json_peek_is(v, key, JV_KIND_NUMBER);
	jv_free(n);
	jv_free(v);
	return ok;
}

/* Every control character that a mark could be, escaped, then N. */
static char *
all_marks_then(const char *n)
{
	char *s = malloc(32 * 9 + 64), *p = s;

	p += sprintf(p, "[");
	for (int c = 1; c < 0x20; c++)
		p += sprintf(p, "\"\\u%04x\",", c);
	sprintf(p, "%s]", n);
	return s;
}

/*
 * TEXT parsed from a buffer of exactly its length, with no NUL after it
 * (the asan build sees a read past it), dumped again gives WANT.
 */
static int
unterminated_is(const char *text, const char *want)
{
	size_t n = strlen(text);
	char *raw = malloc(n);
	jv v;
	char *got;
	int ok;

	memcpy(raw, text, n);
	v = json_parse(raw, n);
	free(raw);
	if (!jv_is_valid(v)) {
		jv_free(v);
		return 0;
	}
	got = json_dump(v);
	ok = strcmp(got, want) == 0;
	free(got);
	return ok;
}

int
main(void)
{
	char *s;

	/* Ordinary values: libjq's canonical text, unchanged. */
	CHECK(round_trip_is("{\"b\": [1, 1.5, -0, 0.1, \"x\"], \"a\": null}",
	                    "{\"a\":null,\"b\":[1,1.5,-0,0.1,\"x\"]}"));
	CHECK(round_trip_is("[1.0, 1E2, 30000000000, 9007199254740992]",
	                    "[1,100,30000000000,9007199254740992]"));
	CHECK(round_trip_is("{\"a\":", NULL));

	/* Beyond a double: kept as written, wherever they are. */
	CHECK(round_trip_is("{\"i\": 12345678901234567890}",
	                    "{\"i\":12345678901234567890}"));
	CHECK(round_trip_is("[9007199254740993, -98765432109876543210]",
	                    "[9007199254740993,-98765432109876543210]"));
	CHECK(round_trip_is("{\"z\":{\"y\":[[1e400, 2.5e-400]]},\"a\":0.5}",
	                    "{\"a\":0.5,\"z\":{\"y\":[[1e400,2.5e-400]]}}"));
	CHECK(round_trip_is("[123.45678901234567890123]",
	                    "[123.45678901234567890123]"));
	/* An integer jq would write as 1e+17 (which Go's int64 refuses). */
	CHECK(round_trip_is("[100000000000000000]", "[100000000000000000]"));
	/* A number that is the tail of one that stays is not taken alone. */
	CHECK(round_trip_is("[0.9007199254740993]", "[0.9007199254740993]"));
	/* Inside strings, digits are text. */
	CHECK(round_trip_is("[\"12345678901234567890\", \"a\\\"1\"]",
	                    "[\"12345678901234567890\",\"a\\\"1\"]"));

	CHECK(kept_is("{\"n\": 12345678901234567890}", "n",
	              "12345678901234567890"));
	CHECK(kept_is("{\"n\": 12}", "n", NULL));
	CHECK(kept_is("{\"n\": \"12345678901234567890\"}", "n", NULL));

	/*
	 * No text can spell a kept number: not a string that starts with the
	 * marks, nor one with a lone surrogate (libjq refuses those).
	 */
	CHECK(kept_is("{\"n\": \"\\u0001123\", \"m\": 12345678901234567890}",
	              "n", NULL));
	CHECK(round_trip_is(
	    "[\"\\u0001123\", \"\\u0002123\", 12345678901234567890]",
	    "[\"\\u0001123\",\"\\u0002123\",12345678901234567890]"));
	CHECK(round_trip_is("[\"\\n1234\", 12345678901234567890]",
	                    "[\"\\n1234\",12345678901234567890]"));
	CHECK(round_trip_is("[\"\\ud800123\"]", NULL));
	/* A number that ends the text, where no NUL follows (fuzzing found). */
	CHECK(unterminated_is("12345678901234567890", "12345678901234567890"));
	CHECK(unterminated_is("1e400", "1e400"));
	CHECK(unterminated_is("[\"\\", "") == 0);

	/* Every mark taken: the numbers are libjq's (json.h says so). */
	s = all_marks_then("12345678901234567890");
	jv v = json_parse(s, strlen(s)), last = jv_array_get(jv_copy(v), 31);
	CHECK(jv_get_kind(last) == JV_KIND_NUMBER);
	jv_free(last);
	jv_free(v);
	free(s);
	return check_done();
}
