/*
 * json.c: parsing and canonical printing of JSON with libjq, and the
 * numbers that libjq's doubles would change, kept as written (json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "errors.h"
#include "json.h"
#include "xalloc.h"

/*
 * A kept number is a string that starts with the UTF-8 bytes of a lone
 * surrogate, U+D800, then its text.  No JSON text can make that string:
 * libjq's parser (and jv_string) turn every bad sequence into U+FFFD.
 */
#define BOX "\xed\xa0\x80"
#define BOX_LEN 3

/* --- numbers as written --------------------------------------------------- */

/* The length of the JSON number at P (RFC 8259's grammar), or 0. */
static size_t
number_len(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '-')
		q++;
	if (q < end && *q == '0')
		q++;
	else if (q < end && *q >= '1' && *q <= '9')
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	else
		return 0;
	if (q < end && *q == '.') {
		if (++q >= end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	return (size_t)(q - p);
}

/* A decimal number as significant digits and a power of ten. */
struct decimal {
	int neg;
	char digits[800];
	size_t n;
	long exp; /* value = 0.digits * 10^exp */
};

/* The value of the number text S (valid, LEN bytes) in D; -1 if too long. */
static int
decimal_of(const char *s, size_t len, struct decimal *d)
{
	const char *end = s + len;
	long point = 0, e = 0;
	int seen_point = 0;

	memset(d, 0, sizeof(*d));
	if (s < end && *s == '-')
		d->neg = 1, s++;
	for (; s < end && *s != 'e' && *s != 'E'; s++) {
		if (*s == '.') {
			seen_point = 1;
			continue;
		}
		if (d->n == 0 && *s == '0') {
			/* a leading zero: after the point, it scales */
			point -= seen_point;
			continue;
		}
		if (d->n == sizeof(d->digits))
			return -1;
		d->digits[d->n++] = *s;
		point += !seen_point;
	}
	if (s < end) { /* the exponent, to its end (no NUL need follow) */
		int neg = *++s == '-';
		for (s += *s == '-' || *s == '+'; s < end; s++)
			if ((e = e * 10 + (*s - '0')) > 100000)
				return -1;
		e = neg ? -e : e;
	}
	while (d->n > 0 && d->digits[d->n - 1] == '0')
		d->n--;
	d->exp = point + e;
	if (d->n == 0)
		d->neg = 0, d->exp = 0;
	return 0;
}

static int
decimal_equal(const struct decimal *a, const struct decimal *b)
{
	return a->neg == b->neg && a->n == b->n && a->exp == b->exp &&
	       memcmp(a->digits, b->digits, a->n) == 0;
}

static int
is_integer_text(const char *s, size_t len)
{
	return memchr(s, '.', len) == NULL && memchr(s, 'e', len) == NULL &&
	       memchr(s, 'E', len) == NULL;
}

/*
 * Would libjq write the number S (LEN bytes) as another number, or an
 * integer in exponent form (which Go's int64 fields refuse)?
 */
static int
number_would_change(const char *s, size_t len)
{
	char *text;
	jv n, out;
	struct decimal a, b;
	const char *o;
	int changes = 1;

	/*
	 * The usual case, at once: 15 significant digits or fewer and no
	 * exponent survive a double (DBL_DIG), and jq writes them back as
	 * the same number, integers as integers.
	 */
	if (len <= 15 && memchr(s, 'e', len) == NULL &&
	    memchr(s, 'E', len) == NULL)
		return 0;
	text = xstrndup(s, len);
	n = jv_parse(text);
	free(text);
	if (jv_get_kind(n) != JV_KIND_NUMBER) {
		jv_free(n);
		return 0;
	}
	out = jv_dump_string(n, 0);
	o = jv_string_value(out);
	if (strlen(o) == len && memcmp(o, s, len) == 0)
		changes = 0;
	else if (decimal_of(s, len, &a) == 0 &&
	         decimal_of(o, strlen(o), &b) == 0 && decimal_equal(&a, &b))
		changes =
		    is_integer_text(s, len) && !is_integer_text(o, strlen(o));
	jv_free(out);
	return changes;
}

/* Does TEXT (LEN bytes) hold the character MARK, raw or as \u00XX? */
static int
mark_used(const char *text, size_t len, int mark)
{
	char esc[2][8];

	if (memchr(text, mark, len) != NULL)
		return 1;
	snprintf(esc[0], sizeof(esc[0]), "u00%02x", mark);
	snprintf(esc[1], sizeof(esc[1]), "u00%02X", mark);
	return memmem(text, len, esc[0], 5) != NULL ||
	       memmem(text, len, esc[1], 5) != NULL;
}

/*
 * The next number from P on (outside strings; P is outside one) that
 * libjq would change, with its length in *N; NULL when there is none.
 */
static const char *
next_changing(const char *p, const char *end, size_t *n)
{
	while (p < end) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				p += *p == '\\' && p + 1 < end;
			p++;
			continue;
		}
		if ((*p != '-' && (*p < '0' || *p > '9')) ||
		    (*n = number_len(p, end)) == 0) {
			p++;
			continue;
		}
		if (number_would_change(p, *n))
			return p;
		p += *n; /* the whole number: not a tail of it */
	}
	return NULL;
}

/*
 * TEXT with each number that would change written as the string MARK +
 * the number, MARK a control character that no string of TEXT can hold;
 * 0 (and OUT untouched) when there is no such number, or no free MARK.
 */
static int
mark_numbers(const char *text, size_t len, struct buffer *out, int *mark)
{
	const char *end = text + len, *from = text, *p;
	size_t n;

	if ((p = next_changing(text, end, &n)) == NULL)
		return 0;
	/* \b \t \n \f \r spell their characters without \u00XX */
	for (*mark = 1; *mark < 0x20 && (strchr("\b\t\n\f\r", *mark) != NULL ||
	                                 mark_used(text, len, *mark));
	     ++*mark)
		;
	if (*mark == 0x20)
		return 0;
	for (; p != NULL; p = next_changing(from, end, &n)) {
		buffer_append(out, from, (size_t)(p - from));
		buffer_addf(out, "\"\\u%04x%.*s\"", *mark, (int)n, p);
		from = p + n;
	}
	buffer_append(out, from, (size_t)(end - from));
	return 1;
}

/* V (consumed) with each MARK + number string turned into a kept number. */
static jv
box_marked(jv v, int mark)
{
	jv orig, box;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (jv_string_value(v)[0] != mark)
			return v;
		box = jv_string_append_codepoint(jv_string(""), 0xD800);
		box = jv_string_append_str(box, jv_string_value(v) + 1);
		jv_free(v);
		return box;
	case JV_KIND_ARRAY:
		orig = jv_copy(v);
		jv_array_foreach(orig, i, e)
		{
			v = jv_array_set(v, i, box_marked(e, mark));
		}
		jv_free(orig);
		return v;
	case JV_KIND_OBJECT:
		orig = jv_copy(v);
		jv_object_foreach(orig, k, e)
		{
			v = jv_object_set(v, k, box_marked(e, mark));
		}
		jv_free(orig);
		return v;
	default:
		return v;
	}
}

int
json_is_kept_number(jv v)
{
	return jv_get_kind(v) == JV_KIND_STRING &&
	       strncmp(jv_string_value(v), BOX, BOX_LEN) == 0;
}

const char *
json_kept_number_text(jv v)
{
	return json_is_kept_number(v) ? jv_string_value(v) + BOX_LEN : NULL;
}

jv
json_parse(const char *text, size_t len)
{
	struct buffer marked = {0};
	jv v;
	int mark;

	if (len > 0x7fffffff)
		return jv_invalid_with_msg(jv_string("JSON text too large"));
	if (!mark_numbers(text, len, &marked, &mark))
		return jv_parse_sized(text, (int)len);
	v = marked.len > 0x7fffffff
	        ? jv_invalid_with_msg(jv_string("JSON text too large"))
	        : jv_parse_sized(buffer_str(&marked), (int)marked.len);
	buffer_free(&marked);
	return jv_is_valid(v) ? box_marked(v, mark) : v;
}

char *
json_error(jv v)
{
	jv msg = jv_invalid_get_msg(v);
	char *s;

	if (jv_get_kind(msg) == JV_KIND_STRING)
		s = xstrdup(jv_string_value(msg));
	else
		s = xstrdup("invalid JSON");
	jv_free(msg);
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

static int
has_kept_number(jv v)
{
	int has = json_is_kept_number(v);

	if (jv_get_kind(v) == JV_KIND_ARRAY)
		jv_array_foreach(v, i, e)
		{
			has = has || has_kept_number(e);
			jv_free(e);
		}
	else if (jv_get_kind(v) == JV_KIND_OBJECT)
		jv_object_foreach(v, k, e)
		{
			has = has || has_kept_number(e);
			jv_free(k);
			jv_free(e);
		}
	return has;
}

/* libjq's own text for V (consumed), appended to OUT. */
static void
dump_leaf(struct buffer *out, jv v)
{
	jv s = jv_dump_string(v, JV_PRINT_SORTED);

	buffer_append(out, jv_string_value(s),
	              (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

/* V (borrowed) as libjq's sorted dump writes it, kept numbers as written. */
static void
dump_kept(struct buffer *out, jv v)
{
	jv keys;

	if (json_is_kept_number(v)) {
		buffer_addstr(out, json_kept_number_text(v));
	} else if (jv_get_kind(v) == JV_KIND_ARRAY) {
		buffer_append(out, "[", 1);
		jv_array_foreach(v, i, e)
		{
			if (i > 0)
				buffer_append(out, ",", 1);
			dump_kept(out, e);
			jv_free(e);
		}
		buffer_append(out, "]", 1);
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		keys = jv_keys(jv_copy(v));
		buffer_append(out, "{", 1);
		jv_array_foreach(keys, i, k)
		{
			jv e = jv_object_get(jv_copy(v), jv_copy(k));
			if (i > 0)
				buffer_append(out, ",", 1);
			dump_leaf(out, k);
			buffer_append(out, ":", 1);
			dump_kept(out, e);
			jv_free(e);
		}
		jv_free(keys);
		buffer_append(out, "}", 1);
	} else {
		dump_leaf(out, jv_copy(v));
	}
}

char *
json_dump(jv v)
{
	struct buffer b = {0};
	char *out;

	if (!has_kept_number(v)) {
		jv s = jv_dump_string(v, JV_PRINT_SORTED);
		out = xstrdup(jv_string_value(s));
		jv_free(s);
		return out;
	}
	dump_kept(&b, v);
	jv_free(v);
	buffer_str(&b); /* NUL-terminated even when empty */
	return buffer_detach(&b);
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
	if (jv_get_kind(v) == JV_KIND_STRING && !json_is_kept_number(v))
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
	is = jv_get_kind(v) == kind && !json_is_kept_number(v);
	jv_free(v);
	return is;
}
