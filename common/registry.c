/*
 * registry.c: the registry HTTP API v2 over http.h: the registry's
 * address and credentials, the answers to its challenges (Basic, Bearer
 * tokens from its realm), and the requests for manifests and blobs.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "errors.h"
#include "json.h"
#include "manifest.h"
#include "registry.h"
#include "xalloc.h"

#define MANIFEST_MAX (4 << 20)
#define SMALL_BLOB_MAX (16 << 20)
#define TOKEN_MAX (1 << 20)
#define PING_MAX (64 << 10)

struct registry {
	char *scheme; /* "https" or "http" */
	char *host, *repository, *label;
	struct http_options http;
	struct auth_creds creds;
	char *basic;    /* "Basic ..." when there are credentials */
	char *cert_dir; /* the host's certs.d directory found, or NULL */

	pthread_mutex_t lock; /* guards what follows */
	enum auth_scheme auth;
	char *realm, *service, *scope;
	char **scopes; /* asked for beside the challenge's */
	size_t nscopes;
	char *bearer;        /* "Bearer <token>" */
	double expires;      /* monotonic seconds */
	unsigned generation; /* bumped when the Authorization changes */
};

struct registry_conn {
	struct registry *reg;
	struct http_conn *http;
	struct http_auth auth; /* the registry's, for every request */
	char *origin;          /* its origin URL */
};

const char *
registry_conn_error(const struct registry_conn *c)
{
	return http_conn_error(c->http);
}

/*
 * The certificates for HOST when --cert-dir is not given: the first of
 * /etc/containers/certs.d/HOST and /etc/docker/certs.d/HOST that is a
 * directory, as podman and docker look for them (HOST with its port).
 */
static char *
default_cert_dir(const char *host)
{
	static const char *const roots[] = {"/etc/containers/certs.d",
	                                    "/etc/docker/certs.d"};
	struct stat st;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char *dir;
		if (asprintf(&dir, "%s/%s", roots[i], host) < 0)
			err(EXIT_DATA, "malloc");
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
		free(dir);
	}
	return NULL;
}

struct registry *
registry_new(const char *host, const char *repository, const char *label,
             const struct registry_options *o, struct auth_creds *creds)
{
	struct registry *r = xcalloc(1, sizeof(*r));

	r->scheme = xstrdup(o->plain_http ? "http" : "https");
	r->host = xstrdup(host);
	r->repository = xstrdup(repository);
	r->label = xstrdup(label);
	r->http = (struct http_options){
	    .tls_verify = o->tls_verify,
	    .ca_dir = o->cert_dir,
	    .retries = o->retries,
	    .retry_delay_ms = o->retry_delay_ms,
	    .timeout = o->timeout,
	    .low_speed = o->low_speed,
	    .request_deadline = o->request_deadline,
	    .run_deadline = o->deadline > 0 ? http_now() + o->deadline : 0,
	    .user_agent = o->user_agent ? o->user_agent : "di/" DI_VERSION,
	    .describe_error = registry_parse_errors};
	if (o->cert_dir == NULL && !o->plain_http &&
	    strchr(host, '/') == NULL && strcmp(host, "..") != 0)
		r->http.ca_dir = r->cert_dir = default_cert_dir(host);
	r->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	if (r->creds.user != NULL)
		r->basic = auth_basic_value(&r->creds);
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	free(r->scheme);
	free(r->host);
	free(r->repository);
	free(r->label);
	auth_creds_free(&r->creds);
	auth_wipe_free(r->basic);
	free(r->cert_dir);
	free(r->realm);
	free(r->service);
	free(r->scope);
	for (size_t i = 0; i < r->nscopes; i++)
		free(r->scopes[i]);
	free(r->scopes);
	auth_wipe_free(r->bearer);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* "scheme://host" + PATH. */
static char *
registry_url(const struct registry *r, const char *path)
{
	char *url;

	url = xasprintf("%s://%s%s", r->scheme, r->host, path);
	return url;
}

static int auth_current(void *ctx, struct http_conn *h, char **value,
                        unsigned *gen);
static int authenticate(void *ctx, struct http_conn *h,
                        const struct http_response *resp, unsigned gen);

struct registry_conn *
registry_conn_new(struct registry *r)
{
	struct registry_conn *c = xcalloc(1, sizeof(*c));

	c->reg = r;
	c->http = http_conn_new(&r->http, r->label);
	c->auth = (struct http_auth){
	    .current = auth_current, .challenge = authenticate, .ctx = c};
	return c;
}

void
registry_conn_free(struct registry_conn *c)
{
	if (c == NULL)
		return;
	http_conn_free(c->http);
	free(c->origin);
	free(c);
}

/*
 * A request to PATH at the registry (or to URL when PATH is NULL), with
 * its authentication.
 */
static int
registry_request(struct registry_conn *c, struct http_request *req,
                 const char *path, struct http_response *resp)
{
	char *url = path ? registry_url(c->reg, path) : NULL;
	int rc;

	/* The scheme may change at the ping: the origin follows it. */
	free(c->origin);
	c->origin = registry_url(c->reg, "/");
	c->auth.origin = c->origin;
	req->auth = &c->auth;
	if (url != NULL)
		req->url = url;
	rc = http_request(c->http, req, resp);
	free(url);
	return rc;
}

/* Authentication. */

static void
auth_error_creds(struct registry_conn *c, const char *who)
{
	if (c->reg->creds.user != NULL)
		http_fail(c->http, "%s refused the credentials from %s", who,
		          c->reg->creds.source);
	else
		http_fail(c->http,
		          "%s wants credentials (give --creds or an auth "
		          "file)",
		          who);
}

/* The token service gets the Basic credentials, if any. */
static int
basic_current(void *ctx, struct http_conn *h, char **value, unsigned *gen)
{
	const struct registry *r = ctx;

	(void)h;
	*value = r->basic ? xstrdup(r->basic) : NULL;
	*gen = 0;
	return 0;
}

/* Take the token service's answer in BODY as the Authorization. */
static int
keep_token(struct registry_conn *c, const char *who, struct buffer *body)
{
	struct registry *r = c->reg;
	struct auth_token tok;
	char *why = NULL;

	if (auth_parse_token((char *)buffer_str(body), body->len, &tok, &why) <
	    0) {
		http_fail(c->http, "token service %s: %s", who, why);
		free(why);
		return -1;
	}
	auth_wipe_free(r->bearer);
	r->bearer = xasprintf("Bearer %s", tok.token);
	double life = (double)tok.expires_in;
	r->expires = http_now() + (life > 20 ? life - 10 : life * 0.75);
	r->auth = AUTH_BEARER;
	r->generation++;
	auth_token_free(&tok);
	return 0;
}

void
registry_add_scope(struct registry *r, const char *scope)
{
	pthread_mutex_lock(&r->lock);
	r->scopes = xreallocarray(r->scopes, r->nscopes + 1, sizeof(char *));
	r->scopes[r->nscopes++] = xstrdup(scope);
	pthread_mutex_unlock(&r->lock);
}

/* The token URL: the challenge's scope, then each added one it is not. */
static char *
token_url(const struct registry *r)
{
	struct buffer b = {0};
	char *url = auth_token_url(r->realm, r->service, r->scope);

	buffer_addstr(&b, url);
	free(url);
	for (size_t i = 0; i < r->nscopes; i++) {
		if (r->scope != NULL && strcmp(r->scope, r->scopes[i]) == 0)
			continue;
		char *e = curl_easy_escape(NULL, r->scopes[i], 0);
		if (e == NULL)
			err(EXIT_DATA, "malloc");
		buffer_addf(&b, "%cscope=%s",
		            strchr((char *)buffer_str(&b), '?') ? '&' : '?', e);
		curl_free(e);
	}
	return buffer_detach(&b);
}

/* One form field, percent-encoded, after SEP. */
static void
form_field(struct buffer *b, const char *sep, const char *name, const char *v)
{
	char *e = curl_easy_escape(NULL, v, 0);

	if (e == NULL)
		err(EXIT_DATA, "malloc");
	buffer_addf(b, "%s%s=%s", sep, name, e);
	explicit_bzero(e, strlen(e));
	curl_free(e);
}

/* The body that trades an identity token for an access token. */
static char *
refresh_form(const struct registry *r)
{
	struct buffer b = {0};

	buffer_addstr(&b, "grant_type=refresh_token&client_id=di");
	if (r->service != NULL)
		form_field(&b, "&", "service", r->service);
	if (r->scope != NULL)
		form_field(&b, "&", "scope", r->scope);
	for (size_t i = 0; i < r->nscopes; i++)
		if (r->scope == NULL || strcmp(r->scope, r->scopes[i]) != 0)
			form_field(&b, "&", "scope", r->scopes[i]);
	form_field(&b, "&", "refresh_token", r->creds.identity_token);
	return buffer_detach(&b);
}

/* Fetch a Bearer token for the stored realm and scope; lock held. */
static int
fetch_token(struct registry_conn *c)
{
	struct registry *r = c->reg;
	struct buffer body = {0};
	struct http_sink s;
	struct http_response resp = {0};
	char *url = token_url(r);
	char *who = http_host_of(r->realm), *what;
	struct http_auth basic = {
	    .origin = r->realm, .current = basic_current, .ctx = r};
	int ret = -1;

	what = xasprintf("token service %s", who);
	http_sink_memory(&s, &body, TOKEN_MAX);
	struct http_request req = {.what = what,
	                           .url = url,
	                           .accept = "application/json",
	                           .sink = &s,
	                           .auth = &basic};
	char *form = NULL;
	struct http_body post = {.fd = -1};
	if (r->creds.identity_token != NULL) {
		/* OAuth2's refresh-token grant, as docker sends it. */
		form = refresh_form(r);
		post.data = form;
		post.len = (int64_t)strlen(form);
		req = (struct http_request){
		    .what = what,
		    .method = "POST",
		    .url = r->realm,
		    .accept = "application/json",
		    .content_type = "application/x-www-form-urlencoded",
		    .body = &post,
		    .sink = &s};
	}
	if ((r->basic || form) && strncmp(r->realm, "https:", 6) != 0 &&
	    strcmp(r->scheme, "https") == 0)
		http_fail(c->http,
		          "token service %s is plain http; credentials "
		          "not sent",
		          who);
	else if (http_request(c->http, &req, &resp) == 0 && resp.status == 200)
		ret = keep_token(c, who, &body);
	else if (resp.status == 401 || resp.status == 403)
		auth_error_creds(c, what);
	else if (resp.status != 0)
		http_fail(c->http, "token service %s: HTTP %ld", who,
		          resp.status);
	if (body.data != NULL)
		explicit_bzero(body.data, body.len);
	buffer_free(&body);
	auth_wipe_free(form);
	http_response_free(&resp);
	http_sink_done(&s);
	free(url);
	free(who);
	free(what);
	return ret;
}

/* The Authorization value to send now (malloc'd, or NULL), and its age. */
static int
auth_current(void *ctx, struct http_conn *h, char **value, unsigned *gen)
{
	struct registry_conn *c = ctx;
	struct registry *r = c->reg;
	int rc = 0;

	(void)h;
	pthread_mutex_lock(&r->lock);
	if (r->auth == AUTH_BEARER && http_now() >= r->expires)
		rc = fetch_token(c);
	*value = NULL;
	if (rc == 0 && r->auth == AUTH_BEARER)
		*value = xstrdup(r->bearer);
	else if (rc == 0 && r->auth == AUTH_BASIC)
		*value = xstrdup(r->basic);
	*gen = r->generation;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static void
replace(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

/* Answer a 401 from the registry; GEN: the Authorization it was sent. */
static int
authenticate(void *ctx, struct http_conn *h, const struct http_response *resp,
             unsigned gen)
{
	struct registry_conn *c = ctx;
	struct registry *r = c->reg;
	struct auth_challenge ch;
	char *why = NULL;
	int rc = 0;

	if (auth_parse_challenge((const char *)resp->challenges.data,
	                         resp->challenges.len, &ch, &why) < 0) {
		http_fail(h, "HTTP 401 with an unusable WWW-Authenticate: %s",
		          why);
		free(why);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	if (gen != r->generation) {
		/* Another thread has answered this meanwhile. */
	} else if (ch.scheme == AUTH_BASIC) {
		if (r->basic == NULL || r->auth == AUTH_BASIC)
			auth_error_creds(c, "the registry");
		rc = r->basic == NULL || r->auth == AUTH_BASIC ? -1 : 0;
		r->auth = AUTH_BASIC;
		r->generation++;
	} else {
		char *deflt;
		deflt = xasprintf("repository:%s:pull", r->repository);
		replace(&r->realm, ch.realm);
		replace(&r->service, ch.service);
		replace(&r->scope, ch.scope ? ch.scope : deflt);
		free(deflt);
		rc = fetch_token(c);
	}
	pthread_mutex_unlock(&r->lock);
	auth_challenge_free(&ch);
	return rc;
}

/* The API. */

/* GET /v2/ once, or with retries; 0, or -1 with the HTTP status in *STATUS. */
static int
ping_once(struct registry_conn *c, int retry, long *status)
{
	struct buffer body = {0};
	struct http_sink s;
	struct http_response resp = {0};
	struct http_request req = {.what = "/v2/", .sink = &s};
	int rc;

	http_sink_memory(&s, &body, PING_MAX);
	http_conn_set_retries(c->http, retry ? c->reg->http.retries : 0);
	rc = registry_request(c, &req, "/v2/", &resp);
	http_conn_set_retries(c->http, c->reg->http.retries);
	*status = resp.status;
	if (rc < 0 && resp.status == 404)
		http_fail(c->http, "not a registry: /v2/ answers HTTP 404");
	buffer_free(&body);
	http_response_free(&resp);
	http_sink_done(&s);
	return rc;
}

int
registry_ping(struct registry_conn *c)
{
	struct registry *r = c->reg;
	long status;

	if (r->http.tls_verify || strcmp(r->scheme, "https") != 0)
		return ping_once(c, 1, &status);
	/*
	 * --tls-verify=false also allows a registry that speaks plain http:
	 * one quick try of each, then https with all its retries.
	 */
	if (ping_once(c, 0, &status) == 0)
		return 0;
	if (status != 0) /* it speaks https: its error may pass */
		return ping_once(c, 1, &status);
	replace(&r->scheme, "http");
	if (ping_once(c, 0, &status) == 0)
		return 0;
	replace(&r->scheme, "https");
	return ping_once(c, 1, &status);
}

int
registry_get_manifest(struct registry_conn *c, const char *ref,
                      struct buffer *body, char **content_type, char **digest)
{
	struct http_sink s;
	struct http_response resp = {0};
	char *path, *what;
	int rc;

	path = xasprintf("/v2/%s/manifests/%s", c->reg->repository, ref);
	what = xasprintf("manifest %s", ref);
	http_sink_memory(&s, body, MANIFEST_MAX);
	struct http_request req = {
	    .what = what, .accept = MANIFEST_ACCEPT, .sink = &s};
	rc = registry_request(c, &req, path, &resp);
	*content_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
	*digest = resp.digest ? xstrdup(resp.digest) : NULL;
	http_response_free(&resp);
	http_sink_done(&s);
	free(path);
	free(what);
	return rc;
}

static int
check_digest(struct registry_conn *c, const char *what, const char *want,
             const char *hex)
{
	if (strcmp(want + 7, hex) != 0)
		return http_fail(c->http, "%s: content has digest sha256:%s",
		                 what, hex);
	return 0;
}

int
registry_get_blob(struct registry_conn *c, const char *digest, int64_t size,
                  struct buffer *body)
{
	struct http_sink s;
	struct http_response resp = {0};
	char *path, *what, hex[DIGEST_MAX_HEX];
	int rc = -1;

	path = xasprintf("/v2/%s/blobs/%s", c->reg->repository, digest);
	what = xasprintf("blob %s", digest);
	http_sink_memory(&s, body, (size_t)size);
	struct http_request req = {.what = what, .sink = &s};
	if (size > SMALL_BLOB_MAX)
		http_fail(c->http, "%s: %lld bytes is too large", what,
		          (long long)size);
	else if (registry_request(c, &req, path, &resp) == 0) {
		digest_buffer_hex("sha256", body->data, body->len, hex);
		if ((int64_t)body->len != size)
			http_fail(c->http,
			          "%s: %zu bytes, its descriptor says %lld",
			          what, body->len, (long long)size);
		else
			rc = check_digest(c, what, digest, hex);
	}
	http_response_free(&resp);
	http_sink_done(&s);
	free(path);
	free(what);
	return rc;
}

/* Blob DIGEST into the sink S (a file or a function), checked. */
static int
fetch_into(struct registry_conn *c, const char *digest, struct http_sink *s)
{
	struct http_response resp = {0};
	char *path, *what, hex[DIGEST_MAX_HEX];
	int rc;

	path = xasprintf("/v2/%s/blobs/%s", c->reg->repository, digest);
	what = xasprintf("blob %s", digest);
	struct http_request req = {.what = what, .sink = s};
	rc = registry_request(c, &req, path, &resp);
	digest_final_hex(&s->digest, hex);
	if (rc == 0)
		rc = check_digest(c, what, digest, hex);
	http_response_free(&resp);
	http_sink_done(s);
	free(path);
	free(what);
	return rc;
}

int
registry_fetch_blob(struct registry_conn *c, const char *digest, int64_t size,
                    int fd, registry_progress_fn *progress, void *arg)
{
	struct http_sink s;

	http_sink_file(&s, fd, size, progress, arg);
	return fetch_into(c, digest, &s);
}

int
registry_stream_blob(struct registry_conn *c, const char *digest, int64_t size,
                     registry_write_fn *write, void *write_arg,
                     registry_progress_fn *progress, void *arg)
{
	struct http_sink s;

	http_sink_fn(&s, size, write, write_arg, progress, arg);
	return fetch_into(c, digest, &s);
}

/* Pushing. */

int
registry_blob_exists(struct registry_conn *c, const char *digest, int64_t size)
{
	struct http_response resp = {0};
	char *path, *what;
	int rc;

	path = xasprintf("/v2/%s/blobs/%s", c->reg->repository, digest);
	what = xasprintf("blob %s", digest);
	struct http_request req = {.what = what, .method = "HEAD"};
	rc = registry_request(c, &req, path, &resp);
	if (rc == 0 && resp.content_length >= 0 && resp.content_length != size)
		rc = http_fail(
		    c->http, "%s: the registry has %lld bytes, the image %lld",
		    what, (long long)resp.content_length, (long long)size);
	else if (rc == 0)
		rc = 1;
	else if (resp.status == 404)
		rc = 0;
	http_response_free(&resp);
	free(path);
	free(what);
	return rc;
}

int
registry_start_upload(struct registry_conn *c, const char *digest,
                      const char *from, char **upload)
{
	struct http_response resp = {0};
	char *path, *what;
	int rc;

	*upload = NULL;
	if (from != NULL) {
		char *f = curl_easy_escape(NULL, from, 0);
		if (f == NULL)
			err(EXIT_DATA, "malloc");
		path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
		                 c->reg->repository, digest, f);
		what = xasprintf("blob %s mounted from %s", digest, from);
		curl_free(f);
	} else {
		path = xasprintf("/v2/%s/blobs/uploads/", c->reg->repository);
		what = xasprintf("upload of blob %s", digest);
	}
	struct http_request req = {.what = what, .method = "POST"};
	rc = registry_request(c, &req, path, &resp);
	if (rc == 0 && resp.status == 201 && from != NULL)
		rc = 1;
	else if (rc == 0 && resp.location == NULL)
		rc = http_fail(c->http, "%s: HTTP %ld without a Location", what,
		               resp.status);
	else if (rc == 0)
		*upload = xstrdup(resp.location);
	http_response_free(&resp);
	free(path);
	free(what);
	return rc;
}

/* Bytes of a chunk sent, as bytes of the blob. */
struct chunk_progress {
	registry_progress_fn *fn;
	void *arg;
	int64_t base;
};

static void
on_chunk(void *arg, int64_t sent)
{
	struct chunk_progress *p = arg;

	if (p->fn != NULL)
		p->fn(p->arg, p->base + sent);
}

/* Take the registry's next upload URL, when it gives one. */
static void
follow_upload(char **upload, const struct http_response *resp)
{
	if (resp->location != NULL) {
		free(*upload);
		*upload = xstrdup(resp->location);
	}
}

/* Where the registry is in upload *UPLOAD: *OFFSET, the bytes it holds. */
static int
upload_offset(struct registry_conn *c, char **upload, const char *what,
              int64_t *offset, long *status)
{
	struct http_response resp = {0};
	struct http_request req = {.what = what, .url = *upload};
	long long first, last;
	int rc = registry_request(c, &req, NULL, &resp);

	if (rc == 0) {
		follow_upload(upload, &resp);
		*offset = 0;
		if (resp.range != NULL &&
		    sscanf(resp.range, "%*[bytes=]%lld-%lld", &first, &last) ==
		        2)
			*offset = last + 1;
		else if (resp.range != NULL &&
		         sscanf(resp.range, "%lld-%lld", &first, &last) == 2)
			*offset = last + 1;
	}
	*status = resp.status;
	http_response_free(&resp);
	return rc;
}

/*
 * One PATCH of LEN bytes from OFFSET: 0, or -1 with *STATUS (0: no
 * answer) and *TRANSIENT.
 */
static int
send_chunk(struct registry_conn *c, char **upload, const char *what, int fd,
           int64_t offset, int64_t len, struct chunk_progress *cp, long *status,
           int *transient)
{
	struct http_response resp = {0};
	char range[64];
	int rc;

	snprintf(range, sizeof(range), "%lld-%lld", (long long)offset,
	         (long long)(offset + len - 1));
	cp->base = offset;
	struct http_body body = {.fd = fd,
	                         .offset = offset,
	                         .len = len,
	                         .progress = on_chunk,
	                         .arg = cp};
	struct http_request req = {.what = what,
	                           .method = "PATCH",
	                           .url = *upload,
	                           .content_type = "application/octet-stream",
	                           .content_range = range,
	                           .body = &body,
	                           .no_retry = 1};
	rc = registry_request(c, &req, NULL, &resp);
	if (rc == 0)
		follow_upload(upload, &resp);
	*status = resp.status;
	*transient = resp.transient;
	http_response_free(&resp);
	return rc;
}

/*
 * After a chunk failed: where to go on from.  The registry may hold part
 * of the chunk, so it is asked (GET on the upload URL); an upload it no
 * longer takes (a registry whose upload URL carries a state that the cut
 * left behind answers 404) is started again from the first byte.
 */
static int
recover_upload(struct registry_conn *c, char **upload, const char *what,
               const char *digest, int64_t size, int64_t *off)
{
	long status = 0;

	if (upload_offset(c, upload, what, off, &status) == 0) {
		if (*off >= 0 && *off <= size)
			return 0;
		return http_fail(c->http,
		                 "%s: the registry holds %lld of %lld bytes",
		                 what, (long long)*off, (long long)size);
	}
	if (status != 404 && status != 400 && status != 416)
		return -1;
	free(*upload);
	*off = 0;
	return registry_start_upload(c, digest, NULL, upload);
}

/* The closing PUT ?digest=: the registry checks the bytes. */
static int
close_upload(struct registry_conn *c, const char *upload, const char *what,
             const char *digest)
{
	struct http_response resp = {0};
	char *url;
	int rc;

	url = xasprintf("%s%cdigest=sha256%%3A%s", upload,
	                strchr(upload, '?') ? '&' : '?', digest + 7);
	struct http_body none = {.fd = -1};
	struct http_request req = {
	    .what = what, .method = "PUT", .url = url, .body = &none};
	rc = registry_request(c, &req, NULL, &resp);
	if (rc == 0 && resp.digest != NULL && strcmp(resp.digest, digest) != 0)
		rc = http_fail(c->http, "%s: the registry stored it as %s",
		               what, resp.digest);
	http_response_free(&resp);
	free(url);
	return rc;
}

int
registry_upload_blob(struct registry_conn *c, char **upload, const char *digest,
                     int fd, int64_t size, int64_t chunk,
                     registry_progress_fn *progress, void *arg)
{
	const struct http_options *o = &c->reg->http;
	struct chunk_progress cp = {.fn = progress, .arg = arg};
	int64_t off = 0;
	int fails = 0, transient, rc = 0;
	long status;
	char *what;

	what = xasprintf("upload of blob %s", digest);
	while (rc == 0 && off < size) {
		int64_t n = size - off < chunk ? size - off : chunk;
		if (send_chunk(c, upload, what, fd, off, n, &cp, &status,
		               &transient) == 0) {
			off += n;
			fails = 0;
			continue;
		}
		/* Cut off, or refused for where it starts: go on. */
		if ((!transient && status != 404 && status != 416) ||
		    fails >= o->retries) {
			rc = -1;
			break;
		}
		http_sleep_ms(http_backoff_ms(o, fails++, NULL));
		rc = recover_upload(c, upload, what, digest, size, &off);
	}
	if (rc == 0)
		rc = close_upload(c, *upload, what, digest);
	if (rc == 0 && progress != NULL)
		progress(arg, size);
	free(what);
	return rc;
}

int
registry_put_manifest(struct registry_conn *c, const char *ref,
                      const char *media_type, const void *body, size_t len)
{
	struct http_response resp = {0};
	char *path, *what, hex[DIGEST_MAX_HEX];
	int rc;

	path = xasprintf("/v2/%s/manifests/%s", c->reg->repository, ref);
	what = xasprintf("manifest %s", ref);
	struct http_body b = {.data = body, .fd = -1, .len = (int64_t)len};
	struct http_request req = {.what = what,
	                           .method = "PUT",
	                           .content_type = media_type,
	                           .body = &b};
	rc = registry_request(c, &req, path, &resp);
	digest_buffer_hex("sha256", body, len, hex);
	if (rc == 0 && resp.digest != NULL &&
	    (strncmp(resp.digest, "sha256:", 7) != 0 ||
	     strcmp(resp.digest + 7, hex) != 0))
		rc = http_fail(
		    c->http, "%s: the registry stored it as %s, not sha256:%s",
		    what, resp.digest, hex);
	http_response_free(&resp);
	free(path);
	free(what);
	return rc;
}

/* Printable ASCII only, so a server cannot write to our terminal. */
static void
add_clean(struct buffer *b, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++)
		buffer_append(b, s[i] >= ' ' && s[i] <= '~' ? &s[i] : "?", 1);
}

int
registry_parse_errors(const char *body, size_t len, char **text)
{
	jv v = json_parse(body, len), list;
	struct buffer b = {0};

	*text = NULL;
	list = json_get(jv_copy(v), "errors");
	jv_free(v);
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		jv_free(list);
		return -1;
	}
	jv_array_foreach(list, i, e)
	{
		const char *code = json_peek_string(e, "code");
		const char *msg = json_peek_string(e, "message");
		if (i < 4 && (code || msg)) {
			if (b.len)
				buffer_addstr(&b, "; ");
			add_clean(&b, code ? code : "", 64);
			if (code && msg)
				buffer_addstr(&b, ": ");
			add_clean(&b, msg ? msg : "", 200);
		}
		jv_free(e);
	}
	jv_free(list);
	if (b.len == 0) {
		buffer_free(&b);
		return -1;
	}
	*text = buffer_detach(&b);
	return 0;
}
