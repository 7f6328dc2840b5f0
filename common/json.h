/*
 * json.h: JSON through libjq's jv values.
 *
 * jv's rule holds here too: a function that takes a jv consumes it, unless
 * its name says "peek", which borrows.  Keep a value with jv_copy before
 * passing it on.  Text out of json_dump is canonical (keys sorted, no
 * spaces), so the same value always gives the same bytes, and digests of
 * JSON files are reproducible.
 *
 * Numbers are kept as written where libjq 1.6, whose numbers are doubles,
 * would change them: a number a double cannot hold (12345678901234567890,
 * 9007199254740993, 1e400), or an integer it would write in exponent form
 * (100000000000000000 as 1e+17).  json_parse keeps each such number as a
 * string that no JSON text can spell (a lone surrogate, then the number's
 * text); json_dump writes it back as the number it was, byte for byte.
 * Code that wants a number sees a string there and refuses it as
 * mistyped, as it would refuse a number out of its range; the peek
 * accessors do not take it for a string.  (When the text uses every
 * control character U+0001..U+001F, which the marking needs one of, its
 * numbers are left to libjq.)
 */
#ifndef DI_JSON_H
#define DI_JSON_H

#include <jv.h>
#include <stddef.h>

/* Parse TEXT; a jv_invalid with a message when it is not one JSON value. */
jv json_parse(const char *text, size_t len);
/* Parse the file at PATH ("-": stdin); err(3) naming PATH on failure. */
jv json_load_file(const char *path);
/* The canonical text of V (consumed); the caller frees it. */
char *json_dump(jv v);
/* Why V (an invalid, consumed) is invalid, into a malloc'd string. */
char *json_error(jv v);

/* The value at KEY of OBJ (consumed); an invalid when OBJ lacks KEY or is
 * not an object at all, where jv_object_get would abort. */
jv json_get(jv obj, const char *key);

/* Is V (borrowed) a number kept as written?  Its text, or NULL. */
int json_is_kept_number(jv v);
const char *json_kept_number_text(jv v);

/* Borrowing accessors: NULL or the fallback when absent or mistyped. */
const char *json_peek_string(jv obj, const char *key);
int json_peek_is(jv obj, const char *key, jv_kind kind);

#endif
