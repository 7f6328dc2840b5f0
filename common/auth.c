/*
 * auth.c: challenges, tokens and credentials for registry requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
	auth_wipe_free(c->identity_token);
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

/*
 * The helper that FILE's JSON names for DOMAIN ("credHelpers" first, then
 * "credsStore"), malloc'd, or NULL.  A name with a '/' is refused: it
 * would run a program outside $PATH.
 */
static int
file_helper(const char *json, size_t len, const char *domain, char **helper,
            char **why)
{
	jv v = json_parse(json, len);
	const char *name = NULL;
	int rc = 0;

	*helper = NULL;
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return 0; /* auth_file_lookup says why */
	}
	jv helpers = json_get(jv_copy(v), "credHelpers");
	if (jv_get_kind(helpers) == JV_KIND_OBJECT) {
		jv_object_foreach(helpers, key, entry)
		{
			char *k = normalize_key(jv_string_value(key));
			if (name == NULL && strcmp(k, domain) == 0 &&
			    jv_get_kind(entry) == JV_KIND_STRING)
				name = json_peek_string(helpers,
				                        jv_string_value(key));
			free(k);
			jv_free(key);
			jv_free(entry);
		}
	}
	if (name == NULL || *name == '\0')
		name = json_peek_string(v, "credsStore");
	if (name != NULL && strchr(name, '/') != NULL)
		rc = error_set(why, "credential helper \"%s\": not a name",
		               name);
	else if (name != NULL && *name != '\0')
		*helper = xstrdup(name);
	jv_free(helpers);
	jv_free(v);
	return rc;
}

/* What a helper is asked for: docker's name for Docker Hub, else the host. */
static const char *
helper_server(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 ? "https://index.docker.io/v1/"
	                                        : domain;
}

/* Ask HELPER for DOMAIN: 1, 0 or -1; *WHY names FILE. */
static int
lookup_helper(const char *file, const char *helper, const char *domain,
              struct auth_creds *c, char **why)
{
	char *inner = NULL;
	int rc = auth_helper_get(helper, helper_server(domain), c, &inner);

	if (rc < 0) {
		error_set(why, "%s: %s", file, inner);
		free(inner);
	} else if (rc == 1 && asprintf(&c->source, "docker-credential-%s (%s)",
	                               helper, file) < 0) {
		err(EXIT_DATA, "malloc");
	}
	return rc;
}

/* 1, 0 or -1 as auth_file_lookup; a missing file counts as 0 if OPTIONAL. */
static int
lookup_in_file(const char *file, int optional, const char *domain,
               const char *path, struct auth_creds *c, char **why)
{
	struct buffer b = {0};
	char *inner, *helper = NULL;
	int rc;

	if (buffer_read_file(&b, file, 16 << 20) < 0) {
		int missing = errno == ENOENT;
		buffer_free(&b);
		if (optional && missing)
			return 0;
		return error_set(why, "%s: %s", file, strerror(errno));
	}
	rc = file_helper(buffer_str(&b), b.len, domain, &helper, &inner);
	if (rc == 0 && helper != NULL)
		rc = lookup_helper(file, helper, domain, c, why);
	else if (rc < 0) {
		error_set(why, "%s: %s", file, inner);
		free(inner);
	}
	free(helper);
	if (rc == 0)
		rc = auth_file_lookup(buffer_str(&b), b.len, domain, path, c,
		                      &inner);
	if (rc < 0 && *why == NULL) {
		error_set(why, "%s: %s", file, inner);
		free(inner);
	} else if (rc == 1 && c->source == NULL) {
		c->source = xstrndup(file, strlen(file));
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buffer_free(&b);
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

/* --- credential helpers ------------------------------------------------ */

/* A string field of a helper's answer: no NUL, line break; NULL if absent. */
static const char *
helper_field(jv v, const char *name)
{
	jv f = json_get(jv_copy(v), name);
	const char *s = NULL;

	if (jv_get_kind(f) == JV_KIND_STRING &&
	    (size_t)jv_string_length_bytes(jv_copy(f)) ==
	        strlen(jv_string_value(f)))
		s = json_peek_string(v, name);
	jv_free(f);
	if (s != NULL && strpbrk(s, "\r\n") != NULL)
		return NULL;
	return s;
}

int
auth_helper_parse(const char *s, size_t len, struct auth_creds *c, char **why)
{
	jv v = json_parse(s, len);
	const char *user, *secret;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (!jv_is_valid(v)) {
		jv_free(v);
		return error_set(why, "its answer is not JSON");
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		error_set(why, "its answer is not a JSON object");
		goto out;
	}
	user = helper_field(v, "Username");
	secret = helper_field(v, "Secret");
	if (user == NULL || secret == NULL || *secret == '\0') {
		error_set(why, "its answer lacks a Username or Secret string");
		goto out;
	}
	if (strcmp(user, "<token>") == 0) {
		c->identity_token = xstrdup(secret);
	} else if (*user == '\0' || strchr(user, ':') != NULL) {
		error_set(why, "its Username is empty or holds a ':'");
		goto out;
	} else {
		c->user = xstrdup(user);
		c->pass = xstrdup(secret);
	}
	rc = 0;
out:
	jv_free(v);
	return rc;
}

#define HELPER_MAX (1 << 20)
#define HELPER_SECONDS 60

/* A child's pipes, read until both end, the limit or the deadline. */
static int
drain(int out, int err_fd, struct buffer *o, struct buffer *e)
{
	struct pollfd p[2] = {{out, POLLIN, 0}, {err_fd, POLLIN, 0}};
	struct buffer *into[2] = {o, e};
	time_t end = time(NULL) + HELPER_SECONDS;
	int open = 2;

	while (open > 0) {
		int left = (int)(end - time(NULL));
		if (left <= 0 || poll(p, 2, left * 1000) == 0)
			return -1;
		for (int i = 0; i < 2; i++) {
			char chunk[4096];
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || into[i]->len + (size_t)n > HELPER_MAX) {
				p[i].fd = -1;
				open--;
				continue;
			}
			buffer_append(into[i], chunk, (size_t)n);
		}
	}
	return 0;
}

/* Start PROG get with its stdin, stdout and stderr on pipes FDS. */
static int
spawn_helper(const char *prog, int fds[3], pid_t *pid)
{
	int in[2], out[2], er[2], rc;
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)prog, (char *)"get", NULL};
	extern char **environ;

	if (pipe2(in, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0)
		err(EXIT_DATA, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	close(er[1]);
	fds[0] = in[1], fds[1] = out[0], fds[2] = er[0];
	if (rc != 0)
		for (int i = 0; i < 3; i++)
			close(fds[i]);
	return rc;
}

/* The first line of what the helper said, bounded, for a message. */
static char *
complaint(struct buffer *b)
{
	const char *s = buffer_str(b);
	size_t n = strcspn(s, "\r\n");

	return xstrndup(s, n > 200 ? 200 : n);
}

static int
helper_failed(const char *prog, int status, struct buffer *out,
              struct buffer *errb, char **why)
{
	if (strstr(buffer_str(out), "credentials not found") != NULL ||
	    strstr(buffer_str(errb), "credentials not found") != NULL)
		return 0;
	/* On failure the protocol puts the message on stdout. */
	char *text = complaint(errb->len > 0 ? errb : out);
	if (WIFEXITED(status))
		error_set(why, "%s get: exit status %d%s%s", prog,
		          WEXITSTATUS(status), *text ? ": " : "", text);
	else
		error_set(why, "%s get: killed by signal %d%s%s", prog,
		          WTERMSIG(status), *text ? ": " : "", text);
	free(text);
	return -1;
}

int
auth_helper_get(const char *helper, const char *server, struct auth_creds *c,
                char **why)
{
	struct buffer out = {0}, errb = {0};
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	char *prog, *inner;
	int fds[3] = {-1, -1, -1}, status = 0, rc, drained;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (asprintf(&prog, "docker-credential-%s", helper) < 0)
		err(EXIT_DATA, "malloc");
	if ((rc = spawn_helper(prog, fds, &pid)) != 0) {
		error_set(why, "%s: %s", prog, strerror(rc));
		free(prog);
		return -1;
	}
	/* As docker does: the address alone, no newline.  A helper that
	 * exits without reading must not kill us with SIGPIPE. */
	sigaction(SIGPIPE, &ign, &old);
	if (write(fds[0], server, strlen(server)) < 0 && errno != EPIPE)
		warn("%s: stdin", prog);
	close(fds[0]);
	sigaction(SIGPIPE, &old, NULL);
	drained = drain(fds[1], fds[2], &out, &errb);
	if (drained < 0)
		kill(pid, SIGKILL);
	close(fds[1]);
	close(fds[2]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (drained < 0)
		rc = error_set(why, "%s get: no answer within %d s", prog,
		               HELPER_SECONDS);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = helper_failed(prog, status, &out, &errb, why);
	else if (auth_helper_parse(buffer_str(&out), out.len, c, &inner) < 0) {
		rc = error_set(why, "%s get: %s", prog, inner);
		free(inner);
	} else
		rc = 1;
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	buffer_free(&out);
	buffer_free(&errb);
	free(prog);
	return rc;
}
