/*
 * auth.c: challenges, tokens and credentials for registry requests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "auth.h"
#include "buffer.h"
#include "errors.h"
#include "json.h"
#include "xalloc.h"

void
auth_wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* The challenge tokenizer: RFC 7230's tchar, OWS and quoted-string. */

struct scan {
	const char *s;
	size_t len, pos;
};

static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static void
skip_space(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t", sc->s[sc->pos]) &&
	       sc->s[sc->pos] != '\0')
		sc->pos++;
}

/* Separators between challenges and parameters: ',', '\n', '\r', space. */
static void
skip_separators(struct scan *sc)
{
	while (sc->pos < sc->len && sc->s[sc->pos] != '\0' &&
	       strchr(" \t,\r\n", sc->s[sc->pos]))
		sc->pos++;
}

static size_t
scan_token(struct scan *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && is_tchar(sc->s[sc->pos]))
		sc->pos++;
	return sc->pos - start;
}

/* A quoted-string's contents, backslash escapes undone; NULL if unclosed. */
static char *
scan_quoted(struct scan *sc)
{
	struct buffer b = {0};

	sc->pos++; /* the opening quote */
	while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
		char c = sc->s[sc->pos++];
		if (c == '\\' && sc->pos < sc->len)
			c = sc->s[sc->pos++];
		if (c == '\0' || c == '\r' || c == '\n') {
			buffer_free(&b);
			return NULL;
		}
		buffer_append(&b, &c, 1);
	}
	if (sc->pos >= sc->len) {
		buffer_free(&b);
		return NULL;
	}
	sc->pos++;
	return buffer_detach(&b);
}

static void
set_param(struct auth_challenge *ch, const char *name, size_t n, char *value)
{
	char **slot = NULL;

	if (n == 5 && strncasecmp(name, "realm", 5) == 0)
		slot = &ch->realm;
	else if (n == 7 && strncasecmp(name, "service", 7) == 0)
		slot = &ch->service;
	else if (n == 5 && strncasecmp(name, "scope", 5) == 0)
		slot = &ch->scope;
	else if (n == 5 && strncasecmp(name, "error", 5) == 0)
		slot = &ch->error;
	if (slot == NULL || *slot != NULL) {
		free(value);
		return;
	}
	*slot = value;
}

/*
 * The parameters after a scheme, into CH (NULL: an unknown scheme, whose
 * parameters are read and dropped).  Stops before the next scheme.
 */
static int
scan_params(struct scan *sc, struct auth_challenge *ch, char **why)
{
	int first = 1;

	for (;;) {
		size_t save, n;
		const char *name;
		char *value;

		skip_separators(sc);
		save = sc->pos;
		name = sc->s + sc->pos;
		n = scan_token(sc);
		skip_space(sc);
		if (n == 0 && sc->pos >= sc->len)
			return 0;
		if (n == 0)
			return error_set(why, "unexpected byte at offset %zu",
			                 sc->pos);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '=') {
			sc->pos = save; /* the next challenge's scheme */
			return 0;
		}
		sc->pos++;
		skip_space(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == '"') {
			if ((value = scan_quoted(sc)) == NULL)
				return error_set(why,
				                 "unterminated quoted string "
				                 "at offset %zu",
				                 sc->pos);
		} else if (sc->pos < sc->len && sc->s[sc->pos] == '=' &&
		           first) {
			/* A token68 ending in '=' padding: not ours. */
			while (sc->pos < sc->len && sc->s[sc->pos] == '=')
				sc->pos++;
			value = NULL;
		} else {
			const char *v = sc->s + sc->pos;
			value = xstrndup(v, scan_token(sc));
		}
		first = 0;
		if (ch != NULL && value != NULL)
			set_param(ch, name, n, value);
		else
			free(value);
	}
}

static enum auth_scheme
scheme_of(const char *s, size_t n)
{
	if (n == 5 && strncasecmp(s, "Basic", 5) == 0)
		return AUTH_BASIC;
	if (n == 6 && strncasecmp(s, "Bearer", 6) == 0)
		return AUTH_BEARER;
	return AUTH_NONE;
}

int
auth_parse_challenge(const char *s, size_t len, struct auth_challenge *ch,
                     char **why)
{
	struct scan sc = {s, len, 0};
	struct auth_challenge basic = {0}, bearer = {0}, *into;

	memset(ch, 0, sizeof(*ch));
	*why = NULL;
	for (;;) {
		skip_separators(&sc);
		if (sc.pos >= len)
			break;
		const char *name = s + sc.pos;
		size_t n = scan_token(&sc);
		if (n == 0) {
			error_set(why, "expected an auth scheme at offset %zu",
			          sc.pos);
			goto bad;
		}
		enum auth_scheme kind = scheme_of(name, n);
		into = kind == AUTH_BASIC    ? &basic
		       : kind == AUTH_BEARER ? &bearer
		                             : NULL;
		if (into != NULL && into->scheme != AUTH_NONE)
			into = NULL; /* the first of a scheme counts */
		if (into != NULL)
			into->scheme = kind;
		if (scan_params(&sc, into, why) < 0)
			goto bad;
	}
	if (bearer.scheme == AUTH_BEARER) {
		if (bearer.realm == NULL || bearer.realm[0] == '\0') {
			error_set(why, "Bearer challenge without a realm");
			goto bad;
		}
		*ch = bearer;
		auth_challenge_free(&basic);
		return 0;
	}
	if (basic.scheme == AUTH_BASIC) {
		*ch = basic;
		return 0;
	}
	error_set(why, "no Basic or Bearer challenge");
bad:
	auth_challenge_free(&basic);
	auth_challenge_free(&bearer);
	return -1;
}

void
auth_challenge_free(struct auth_challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	free(ch->error);
	memset(ch, 0, sizeof(*ch));
}

/* A token goes into a header: printable ASCII without spaces only. */
static int
token_valid(const char *t)
{
	if (*t == '\0' || strlen(t) > 64 * 1024)
		return 0;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return 0;
	return 1;
}

int
auth_parse_token(const char *s, size_t len, struct auth_token *tok, char **why)
{
	jv v = json_parse(s, len);
	const char *t;
	int rc = -1;

	memset(tok, 0, sizeof(*tok));
	*why = NULL;
	if (!jv_is_valid(v)) {
		char *msg = json_error(v);
		error_set(why, "token answer is not JSON: %s", msg);
		free(msg);
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		error_set(why, "token answer is not a JSON object");
		goto out;
	}
	t = json_peek_string(v, "token");
	if (t == NULL || *t == '\0')
		t = json_peek_string(v, "access_token");
	if (t == NULL || *t == '\0') {
		error_set(why, "token answer holds no token");
		goto out;
	}
	if (!token_valid(t)) {
		error_set(why, "token holds bytes a header cannot carry");
		goto out;
	}
	tok->token = xstrndup(t, strlen(t));
	tok->expires_in = 60;
	jv e = json_get(jv_copy(v), "expires_in");
	if (jv_get_kind(e) == JV_KIND_NUMBER && jv_number_value(e) >= 1 &&
	    jv_number_value(e) < 1e9)
		tok->expires_in = (long)jv_number_value(e);
	jv_free(e);
	rc = 0;
out:
	jv_free(v);
	return rc;
}

void
auth_token_free(struct auth_token *tok)
{
	auth_wipe_free(tok->token);
	memset(tok, 0, sizeof(*tok));
}

int
auth_creds_parse(const char *s, size_t len, struct auth_creds *c, char **why)
{
	const char *colon = memchr(s, ':', len);

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (memchr(s, '\0', len) != NULL)
		return error_set(why, "credentials hold a NUL byte");
	if (colon == NULL || colon == s)
		return error_set(why, "credentials are not USER:PASSWORD");
	for (const char *p = s; p < s + len; p++)
		if (*p == '\r' || *p == '\n')
			return error_set(why, "credentials hold a line break");
	c->user = xstrndup(s, (size_t)(colon - s));
	c->pass = xstrndup(colon + 1, len - (size_t)(colon - s) - 1);
	return 0;
}

void
auth_creds_free(struct auth_creds *c)
{
	free(c->user);
	auth_wipe_free(c->pass);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64_encode(struct buffer *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63],
		             i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
		             i + 2 < n ? b64chars[v & 63] : '='};
		buffer_append(out, q, 4);
	}
}

/* Standard base64 with optional padding; -1 on any other byte. */
static int
base64_decode(const char *s, size_t n, struct buffer *out)
{
	unsigned v = 0;
	int bits = 0;
	size_t i = 0;

	for (; i < n && s[i] != '='; i++) {
		const char *k = s[i] ? strchr(b64chars, s[i]) : NULL;
		if (k == NULL)
			return -1;
		v = (v << 6) | (unsigned)(k - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			unsigned char byte = (unsigned char)(v >> bits);
			buffer_append(out, &byte, 1);
		}
	}
	for (; i < n; i++)
		if (s[i] != '=')
			return -1;
	return 0;
}

char *
auth_basic_value(const struct auth_creds *c)
{
	struct buffer plain = {0}, out = {0};

	buffer_addstr(&plain, c->user);
	buffer_append(&plain, ":", 1);
	buffer_addstr(&plain, c->pass);
	buffer_addstr(&out, "Basic ");
	base64_encode(&out, plain.data, plain.len);
	if (plain.data != NULL)
		explicit_bzero(plain.data, plain.len);
	buffer_free(&plain);
	return buffer_detach(&out);
}

static void
add_escaped(struct buffer *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			buffer_append(b, s, 1);
		else
			buffer_addf(b, "%%%02X", c);
	}
}

char *
auth_token_url(const char *realm, const char *service, const char *scope)
{
	struct buffer b = {0};
	char sep = strchr(realm, '?') ? '&' : '?';

	buffer_addstr(&b, realm);
	if (service != NULL && *service) {
		buffer_addf(&b, "%cservice=", sep);
		add_escaped(&b, service);
		sep = '&';
	}
	if (scope != NULL && *scope) {
		buffer_addf(&b, "%cscope=", sep);
		add_escaped(&b, scope);
	}
	return buffer_detach(&b);
}

/* The registry host a key of "auths" names, schemes and "/v1/" dropped. */
static char *
normalize_key(const char *key)
{
	const char *k = key;
	size_t n;

	if (strncmp(k, "https://", 8) == 0 || strncmp(k, "http://", 7) == 0) {
		k = strstr(k, "//") + 2;
		n = strcspn(k, "/");
	} else {
		n = strlen(k);
		while (n > 0 && k[n - 1] == '/')
			n--;
	}
	if ((n == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
	    (n == 20 && strncmp(k, "registry-1.docker.io", 20) == 0))
		return xstrndup("docker.io", 9);
	if (n > 16 && strncmp(k, "index.docker.io/", 16) == 0) {
		char *s;
		s = xasprintf("docker.io/%.*s", (int)(n - 16), k + 16);
		return s;
	}
	return xstrndup(k, n);
}

/* How well KEY matches DOMAIN/PATH: 0 not at all, more for longer keys. */
static int
key_score(const char *key, const char *domain, const char *path)
{
	size_t dl = strlen(domain), kl = strlen(key);

	if (strncmp(key, domain, dl) != 0)
		return 0;
	if (kl == dl)
		return 1;
	if (key[dl] != '/')
		return 0;
	const char *rest = key + dl + 1;
	size_t rl = strlen(rest);
	if (strncmp(path, rest, rl) != 0 ||
	    (path[rl] != '\0' && path[rl] != '/'))
		return 0;
	return 2 + (int)rl;
}

static int
decode_auth(const char *b64, struct auth_creds *c, const char *key, char **why)
{
	struct buffer plain = {0};
	int rc;

	if (base64_decode(b64, strlen(b64), &plain) < 0) {
		buffer_free(&plain);
		return error_set(why, "entry \"%s\": \"auth\" is not base64",
		                 key);
	}
	rc = auth_creds_parse((char *)buffer_str(&plain), plain.len, c, why);
	if (plain.data != NULL)
		explicit_bzero(plain.data, plain.len);
	buffer_free(&plain);
	if (rc < 0) {
		free(*why);
		return error_set(
		    why, "entry \"%s\": \"auth\" is not user:password", key);
	}
	return 1;
}

int
auth_file_lookup(const char *json, size_t len, const char *domain,
                 const char *path, struct auth_creds *c, char **why)
{
	jv v = json_parse(json, len), auths, best = jv_invalid();
	int best_score = 0, rc = 0;
	char *best_key = NULL;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (!jv_is_valid(v)) {
		char *msg = json_error(v);
		error_set(why, "not JSON: %s", msg);
		free(msg);
		return -1;
	}
	auths = json_get(jv_copy(v), "auths");
	if (jv_get_kind(auths) != JV_KIND_OBJECT)
		goto out;
	jv_object_foreach(auths, key, entry)
	{
		char *k = normalize_key(jv_string_value(key));
		int score = key_score(k, domain, path);
		const char *a = jv_get_kind(entry) == JV_KIND_OBJECT
		                    ? json_peek_string(entry, "auth")
		                    : NULL;
		if (score > best_score && a != NULL && *a != '\0') {
			best_score = score;
			jv_free(best);
			best = jv_copy(entry);
			free(best_key);
			best_key = xstrndup(jv_string_value(key),
			                    strlen(jv_string_value(key)));
		}
		free(k);
		jv_free(key);
		jv_free(entry);
	}
	if (best_score > 0)
		rc = decode_auth(json_peek_string(best, "auth"), c, best_key,
		                 why);
out:
	free(best_key);
	jv_free(best);
	jv_free(auths);
	jv_free(v);
	return rc;
}

/* 1, 0 or -1 as auth_file_lookup; a missing file counts as 0 if OPTIONAL. */
static int
lookup_in_file(const char *file, int optional, const char *domain,
               const char *path, struct auth_creds *c, char **why)
{
	struct buffer b = {0};
	char *inner;
	int rc;

	if (buffer_read_file(&b, file, 16 << 20) < 0) {
		int missing = errno == ENOENT;
		buffer_free(&b);
		if (optional && missing)
			return 0;
		return error_set(why, "%s: %s", file, strerror(errno));
	}
	rc = auth_file_lookup(buffer_str(&b), b.len, domain, path, c, &inner);
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buffer_free(&b);
	if (rc < 0) {
		error_set(why, "%s: %s", file, inner);
		free(inner);
	} else if (rc == 1) {
		c->source = xstrndup(file, strlen(file));
	}
	return rc;
}

static char *
default_source(int i)
{
	const char *e;
	char *s = NULL;

	switch (i) {
	case 0:
		e = getenv("REGISTRY_AUTH_FILE");
		return e && *e ? xstrndup(e, strlen(e)) : NULL;
	case 1:
		e = getenv("XDG_RUNTIME_DIR");
		if (e && *e)
			s = xasprintf("%s/containers/auth.json", e);
		return s;
	case 2:
		if ((e = getenv("DOCKER_CONFIG")) && *e) {
			s = xasprintf("%s/config.json", e);
		} else if ((e = getenv("HOME")) && *e) {
			s = xasprintf("%s/.docker/config.json", e);
		}
		return s;
	}
	return NULL;
}

int
auth_creds_find(const char *authfile, const char *domain, const char *path,
                struct auth_creds *c, char **why)
{
	*why = NULL;
	memset(c, 0, sizeof(*c));
	if (authfile != NULL)
		return lookup_in_file(authfile, 0, domain, path, c, why);
	for (int i = 0; i < 3; i++) {
		char *file = default_source(i);
		int rc;
		if (file == NULL)
			continue;
		rc = lookup_in_file(file, 1, domain, path, c, why);
		free(file);
		if (rc != 0)
			return rc;
	}
	return 0;
}
