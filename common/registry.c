/*
 * registry.c: HTTP API v2 requests through libcurl, with retries,
 * authentication, hand-followed redirects and checked blob downloads.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "errors.h"
#include "json.h"
#include "manifest.h"
#include "registry.h"
#include "xalloc.h"

#define MANIFEST_MAX (4 << 20)
#define SMALL_BLOB_MAX (16 << 20)
#define TOKEN_MAX (1 << 20)
#define ERRBODY_MAX (64 << 10)
#define HEADER_MAX (64 << 10)
#define MAX_REDIRECTS 8
#define MAX_AUTH_ROUNDS 3
#define MAX_ATTEMPTS 64
#define MAX_DELAY_MS 30000

struct registry {
	char *scheme; /* "https" or "http" */
	char *host, *repository, *label;
	struct registry_options opt;
	struct auth_creds creds;
	char *basic; /* "Basic ..." when there are credentials */

	pthread_mutex_t lock; /* guards what follows */
	enum auth_scheme auth;
	char *realm, *service, *scope;
	char *bearer;        /* "Bearer <token>" */
	double expires;      /* monotonic seconds */
	unsigned generation; /* bumped when the Authorization changes */
};

struct registry_conn {
	struct registry *reg;
	CURL *curl;
	char *error;
};

/* Where the body of a successful (200, 206) response goes. */
struct sink {
	struct buffer *buf; /* in memory, at most MAX bytes... */
	size_t max;
	int fd; /* ...or into FD, SIZE bytes, resumable */
	int64_t size, have;
	struct digest digest;
	registry_progress_fn *progress;
	void *arg;
	char *fail; /* why a write was refused: not retried */
	/* A 206 that did not continue the file: start over without Range. */
	int bad_range, no_range;
};

struct response {
	CURL *curl;
	struct sink *sink;
	long status;
	int to_sink, at_registry;
	char *content_type, *digest, *content_range, *retry_after;
	struct buffer challenges, errbody;
	size_t header_bytes;
	long timeout;       /* seconds without a byte before giving up */
	curl_off_t seen;    /* bytes received so far... */
	double last_change; /* ...and when that last changed */
	int timed_out;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int set_error(struct registry_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
set_error(struct registry_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		err(EXIT_DATA, "malloc");
	va_end(ap);
	free(c->error);
	if (asprintf(&c->error, "%s: %s", c->reg->label, msg) < 0)
		err(EXIT_DATA, "malloc");
	free(msg);
	return -1;
}

const char *
registry_conn_error(const struct registry_conn *c)
{
	return c->error ? c->error : "no error";
}

struct registry *
registry_new(const char *host, const char *repository, const char *label,
             const struct registry_options *o, struct auth_creds *creds)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r == NULL)
		err(EXIT_DATA, "malloc");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		errx(EXIT_DATA, "curl_global_init failed");
	r->scheme = xstrdup(o->plain_http ? "http" : "https");
	r->host = xstrdup(host);
	r->repository = xstrdup(repository);
	r->label = xstrdup(label);
	r->opt = *o;
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
	free(r->realm);
	free(r->service);
	free(r->scope);
	auth_wipe_free(r->bearer);
	pthread_mutex_destroy(&r->lock);
	free(r);
	curl_global_cleanup();
}

/*
 * Give up a transfer when no byte has come for the timeout: curl calls this
 * about once a second even when nothing arrives.
 */
static int
idle_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
        curl_off_t ulnow)
{
	struct response *resp = ud;
	double t = now();

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (dlnow != resp->seen || resp->last_change == 0) {
		resp->seen = dlnow;
		resp->last_change = t;
		return 0;
	}
	if (t - resp->last_change < (double)resp->timeout)
		return 0;
	resp->timed_out = 1;
	return 1;
}

struct registry_conn *
registry_conn_new(struct registry *r)
{
	struct registry_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->curl = curl_easy_init()) == NULL)
		err(EXIT_DATA, "curl_easy_init");
	c->reg = r;
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "di-pull/" DI_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, r->opt.timeout);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, idle_cb);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER,
	                 r->opt.tls_verify ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST,
	                 r->opt.tls_verify ? 2L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 512L * 1024);
	return c;
}

void
registry_conn_free(struct registry_conn *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c->error);
	free(c);
}

/* Response headers and bodies. */

static void
response_reset(struct response *resp)
{
	resp->status = 0;
	resp->to_sink = 0;
	resp->header_bytes = 0;
	free(resp->content_type);
	free(resp->digest);
	free(resp->content_range);
	free(resp->retry_after);
	resp->content_type = resp->digest = NULL;
	resp->content_range = resp->retry_after = NULL;
	buffer_reset(&resp->challenges);
	buffer_reset(&resp->errbody);
}

static void
response_free(struct response *resp)
{
	response_reset(resp);
	buffer_free(&resp->challenges);
	buffer_free(&resp->errbody);
}

static int sink_refuse(struct sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
sink_refuse(struct sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(s->fail);
	if (vasprintf(&s->fail, fmt, ap) < 0)
		err(EXIT_DATA, "malloc");
	va_end(ap);
	return -1;
}

/* Start the file over: the server sent the whole blob again. */
static int
sink_restart(struct sink *s)
{
	char hex[DIGEST_MAX_HEX];

	if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
		return sink_refuse(s, "temporary file: %s", strerror(errno));
	digest_final_hex(&s->digest, hex);
	digest_init(&s->digest, "sha256");
	s->have = 0;
	return 0;
}

/*
 * "bytes START-END/TOTAL" must continue exactly where the file ends; if it
 * does not, the transfer stops and the blob is fetched again whole.
 */
static int
check_content_range(struct sink *s, const char *cr)
{
	long long start, end, total;
	char star;

	if (cr != NULL &&
	    sscanf(cr, "bytes %lld-%lld/%lld", &start, &end, &total) == 3) {
		if (start == s->have && end == s->size - 1 && total == s->size)
			return 0;
	} else if (cr != NULL &&
	           sscanf(cr, "bytes %lld-%lld/%c", &start, &end, &star) == 3 &&
	           star == '*' && start == s->have && end == s->size - 1) {
		return 0;
	}
	s->bad_range = 1;
	return -1;
}

/* The headers are all in: decide where the body goes. */
static int
headers_done(struct response *resp)
{
	struct sink *s = resp->sink;

	curl_easy_getinfo(resp->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->status < 200 || (resp->status != 200 && resp->status != 206))
		return 0;
	resp->to_sink = 1;
	if (s->buf != NULL) {
		buffer_reset(s->buf);
		return 0;
	}
	if (resp->status == 206)
		return check_content_range(s, resp->content_range);
	return s->have > 0 ? sink_restart(s) : 0;
}

static void
keep_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	if ((*slot = strndup(v, n)) == NULL)
		err(EXIT_DATA, "malloc");
}

static size_t
header_cb(char *b, size_t size, size_t nmemb, void *ud)
{
	struct response *resp = ud;
	size_t len = size * nmemb, n = len, k;

	resp->header_bytes += len;
	if (resp->header_bytes > HEADER_MAX)
		return 0;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		n--;
	if (n == 0)
		return headers_done(resp) < 0 ? 0 : len;
	if (n >= 5 && strncmp(b, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last. */
		long keep = resp->status;
		struct sink *s = resp->sink;
		CURL *curl = resp->curl;
		int at = resp->at_registry;
		response_reset(resp);
		resp->status = keep;
		resp->sink = s;
		resp->curl = curl;
		resp->at_registry = at;
		return len;
	}
	const char *colon = memchr(b, ':', n);
	if (colon == NULL)
		return len;
	size_t namelen = (size_t)(colon - b);
	const char *v = colon + 1;
	while (v < b + n && (*v == ' ' || *v == '\t'))
		v++;
	k = (size_t)(b + n - v);
	if (namelen == 12 && strncasecmp(b, "Content-Type", 12) == 0)
		keep_header(&resp->content_type, v, k);
	else if (namelen == 21 &&
	         strncasecmp(b, "Docker-Content-Digest", 21) == 0)
		keep_header(&resp->digest, v, k);
	else if (namelen == 13 && strncasecmp(b, "Content-Range", 13) == 0)
		keep_header(&resp->content_range, v, k);
	else if (namelen == 11 && strncasecmp(b, "Retry-After", 11) == 0)
		keep_header(&resp->retry_after, v, k);
	else if (namelen == 16 && strncasecmp(b, "WWW-Authenticate", 16) == 0) {
		if (resp->challenges.len)
			buffer_append(&resp->challenges, "\n", 1);
		buffer_append(&resp->challenges, v, k);
	}
	return len;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct response *resp = ud;
	struct sink *s = resp->sink;
	size_t n = size * nmemb;

	if (!resp->to_sink) {
		size_t room = ERRBODY_MAX - resp->errbody.len;
		buffer_append(&resp->errbody, p, n < room ? n : room);
		return n;
	}
	if (s->buf != NULL) {
		if (s->buf->len + n > s->max) {
			sink_refuse(s, "more than %zu bytes", s->max);
			return 0;
		}
		buffer_append(s->buf, p, n);
		return n;
	}
	if ((int64_t)n > s->size - s->have) {
		sink_refuse(s, "more bytes than the %lld its descriptor gives",
		            (long long)s->size);
		return 0;
	}
	if (write_all(s->fd, p, n) < 0) {
		sink_refuse(s, "temporary file: %s", strerror(errno));
		return 0;
	}
	digest_update(&s->digest, p, n);
	s->have += (int64_t)n;
	if (s->progress != NULL)
		s->progress(s->arg, s->have);
	return n;
}

/* URLs: the registry's origin, and whether a URL shares it. */

static char *
base_url(const struct registry *r, const char *path)
{
	char *url;

	if (asprintf(&url, "%s://%s%s", r->scheme, r->host, path) < 0)
		err(EXIT_DATA, "malloc");
	return url;
}

/* "scheme://host:port" of URL, with the default port; NULL if unparsable. */
static char *
origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	        CURLUE_OK) {
		for (char *p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (asprintf(&o, "%s://%s:%s", scheme, host, port) < 0)
			err(EXIT_DATA, "malloc");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

static int
same_origin(const struct registry *r, const char *url)
{
	char *base = base_url(r, "/");
	char *a = origin_of(base), *b = origin_of(url);
	int same = a && b && strcmp(a, b) == 0;

	free(base);
	free(a);
	free(b);
	return same;
}

static int
is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

/* One HTTP exchange, no redirects followed. */
static CURLcode
perform(struct registry_conn *c, const char *url, const char *auth,
        const char *accept, const char *range, struct response *resp)
{
	struct curl_slist *h = NULL;
	char *line = NULL;
	CURLcode rc;

	if (accept != NULL && asprintf(&line, "Accept: %s", accept) >= 0) {
		h = curl_slist_append(h, line);
		free(line);
	}
	if (range != NULL)
		h = curl_slist_append(h, range);
	if (auth != NULL && asprintf(&line, "Authorization: %s", auth) >= 0) {
		h = curl_slist_append(h, line);
		auth_wipe_free(line);
	}
	resp->curl = c->curl;
	resp->timeout = c->reg->opt.timeout;
	resp->seen = 0;
	resp->last_change = 0;
	resp->timed_out = 0;
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, resp);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, resp);
	rc = curl_easy_perform(c->curl);
	if (rc == CURLE_ABORTED_BY_CALLBACK && resp->timed_out)
		rc = CURLE_OPERATION_TIMEDOUT;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	/* The Authorization line is in the list: wipe before freeing. */
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
	return rc;
}

/*
 * GET PATH at the registry, redirects followed by hand: Authorization only
 * while the URL stays on the registry's origin, never from https to http.
 */
static CURLcode
exchange(struct registry_conn *c, const char *path, const char *auth,
         const char *accept, const char *range, struct response *resp,
         const char **why)
{
	char *url = base_url(c->reg, path);
	CURLcode rc = CURLE_OK;

	*why = NULL;
	resp->at_registry = 1;
	for (int hop = 0;; hop++) {
		response_reset(resp);
		rc = perform(c, url, resp->at_registry ? auth : NULL, accept,
		             range, resp);
		if (rc != CURLE_OK || !is_redirect(resp->status))
			break;
		char *next = NULL;
		curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &next);
		if (next == NULL) {
			*why = "redirect without a Location";
			break;
		}
		if (hop == MAX_REDIRECTS) {
			*why = "too many redirects";
			break;
		}
		if (strncmp(url, "https:", 6) == 0 &&
		    strncmp(next, "https:", 6) != 0) {
			*why = "redirect from https to plain http refused";
			break;
		}
		if (!same_origin(c->reg, next))
			resp->at_registry = 0;
		free(url);
		url = xstrdup(next);
	}
	free(url);
	return rc;
}

/* Authentication. */

static void
auth_error_creds(struct registry_conn *c, const char *who)
{
	if (c->reg->creds.user != NULL)
		set_error(c, "%s refused the credentials from %s", who,
		          c->reg->creds.source);
	else
		set_error(c,
		          "%s wants credentials (give --creds or an auth "
		          "file)",
		          who);
}

static char *
host_of(const char *url)
{
	char *o = origin_of(url), *h;

	if (o == NULL)
		return xstrdup("(unparsable URL)");
	h = xstrdup(strstr(o, "://") + 3);
	free(o);
	return h;
}

/* Fetch a Bearer token for the stored realm and scope; lock held. */
static int
fetch_token(struct registry_conn *c)
{
	struct registry *r = c->reg;
	struct buffer body = {0};
	struct sink s = {.buf = &body, .max = TOKEN_MAX, .fd = -1};
	struct response resp = {.sink = &s};
	char *url = auth_token_url(r->realm, r->service, r->scope);
	char *who = host_of(r->realm), *why = NULL;
	struct auth_token tok;
	CURLcode rc = CURLE_OK;
	int ret = -1;

	if (r->basic && strncmp(r->realm, "https:", 6) != 0 &&
	    strcmp(r->scheme, "https") == 0) {
		set_error(c,
		          "token service %s is plain http; credentials "
		          "not sent",
		          who);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		response_reset(&resp);
		rc = perform(c, url, r->basic, "application/json", NULL, &resp);
		int transient =
		    rc != CURLE_OK || resp.status == 429 || resp.status >= 500;
		if (!transient || attempt >= r->opt.retries)
			break;
		sleep_ms(r->opt.retry_delay_ms << (attempt < 8 ? attempt : 8));
	}
	if (rc != CURLE_OK) {
		set_error(c, "token service %s: %s", who,
		          curl_easy_strerror(rc));
	} else if (resp.status == 401 || resp.status == 403) {
		char label[300];
		snprintf(label, sizeof(label), "token service %s", who);
		auth_error_creds(c, label);
	} else if (resp.status != 200) {
		set_error(c, "token service %s: HTTP %ld", who, resp.status);
	} else if (auth_parse_token((char *)buffer_str(&body), body.len, &tok,
	                            &why) < 0) {
		set_error(c, "token service %s: %s", who, why);
	} else {
		auth_wipe_free(r->bearer);
		if (asprintf(&r->bearer, "Bearer %s", tok.token) < 0)
			err(EXIT_DATA, "malloc");
		double life = (double)tok.expires_in;
		r->expires = now() + (life > 20 ? life - 10 : life * 0.75);
		r->auth = AUTH_BEARER;
		r->generation++;
		auth_token_free(&tok);
		ret = 0;
	}
out:
	if (body.data != NULL)
		explicit_bzero(body.data, body.len);
	buffer_free(&body);
	response_free(&resp);
	free(s.fail);
	free(url);
	free(who);
	free(why);
	return ret;
}

/* The Authorization value to send now (malloc'd, or NULL), and its age. */
static int
auth_current(struct registry_conn *c, char **value, unsigned *gen)
{
	struct registry *r = c->reg;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (r->auth == AUTH_BEARER && now() >= r->expires)
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
authenticate(struct registry_conn *c, struct response *resp, unsigned gen)
{
	struct registry *r = c->reg;
	struct auth_challenge ch;
	char *why = NULL;
	int rc = 0;

	if (auth_parse_challenge((char *)buffer_str(&resp->challenges),
	                         resp->challenges.len, &ch, &why) < 0) {
		set_error(c, "HTTP 401 with an unusable WWW-Authenticate: %s",
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
		if (asprintf(&deflt, "repository:%s:pull", r->repository) < 0)
			err(EXIT_DATA, "malloc");
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

/* Requests with retries. */

static int
transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_COULDNT_RESOLVE_HOST:
		return 1;
	default:
		return 0;
	}
}

static int
transient_status(long status)
{
	return status == 408 || status == 429 || status == 500 ||
	       status == 502 || status == 503 || status == 504;
}

static long
backoff_ms(const struct registry *r, int attempt, const char *retry_after)
{
	long ms = r->opt.retry_delay_ms << (attempt < 10 ? attempt : 10);

	if (retry_after != NULL) {
		char *end;
		long s = strtol(retry_after, &end, 10);
		if (end != retry_after && s >= 0 && s < 3600 && s * 1000 > ms)
			ms = s * 1000;
	}
	return ms < MAX_DELAY_MS ? ms : MAX_DELAY_MS;
}

/*
 * The registry's complaint, for a message: the status and its error codes;
 * ATTEMPTS > 1 is said too.
 */
static int
status_error(struct registry_conn *c, const char *what, struct response *resp,
             int attempts)
{
	char *text = NULL, after[40] = "";

	if (attempts > 1)
		snprintf(after, sizeof(after), " (after %d attempts)",
		         attempts);
	if (registry_parse_errors((char *)buffer_str(&resp->errbody),
	                          resp->errbody.len, &text) == 0)
		set_error(c, "%s: HTTP %ld (%s)%s", what, resp->status, text,
		          after);
	else
		set_error(c, "%s: HTTP %ld%s", what, resp->status, after);
	free(text);
	return -1;
}

/* The bytes already in a file sink: a Range header to ask for the rest. */
static char *
range_header(const struct sink *s)
{
	char *h = NULL;

	if (s->buf == NULL && s->have > 0 && !s->no_range &&
	    asprintf(&h, "Range: bytes=%lld-", (long long)s->have) < 0)
		err(EXIT_DATA, "malloc");
	return h;
}

/* A 2xx that ended cleanly but short: resume like a broken connection. */
static int
short_body(const struct sink *s, const struct response *resp)
{
	return s->buf == NULL && (resp->status == 200 || resp->status == 206) &&
	       s->have < s->size;
}

/*
 * GET PATH until it succeeds (200, or 206 continuing a file), fails for
 * good, or the retries run out.  WHAT names the object in messages.
 */
static int
request(struct registry_conn *c, const char *what, const char *path,
        const char *accept, struct sink *s, struct response *resp)
{
	struct registry *r = c->reg;
	int attempt = 0, auth_rounds = 0;

	for (int total = 1;; total++) {
		char *auth, *range = range_header(s);
		const char *why;
		unsigned gen;
		int64_t had = s->have;
		if (auth_current(c, &auth, &gen) < 0) {
			free(range);
			return -1;
		}
		CURLcode rc =
		    exchange(c, path, auth, accept, range, resp, &why);
		auth_wipe_free(auth);
		free(range);
		if (s->fail != NULL)
			return set_error(c, "%s: %s", what, s->fail);
		if (why != NULL)
			return set_error(c, "%s: %s", what, why);
		int again = rc != CURLE_OK ? transient_curl(rc)
		            : short_body(s, resp)
		                ? 1
		                : transient_status(resp->status);
		if (s->bad_range) {
			if (s->no_range)
				return set_error(c,
				                 "%s: a 206 answer to a "
				                 "request without Range",
				                 what);
			s->bad_range = 0;
			s->no_range = again = 1;
		}
		if (rc == CURLE_OK && resp->status == 401 &&
		    resp->at_registry) {
			if (auth_rounds++ >= MAX_AUTH_ROUNDS)
				return set_error(c,
				                 "%s: HTTP 401 after "
				                 "authenticating",
				                 what);
			if (authenticate(c, resp, gen) < 0)
				return -1;
			continue;
		}
		if (rc == CURLE_OK && !again && resp->status / 100 == 2)
			return 0;
		if (!again) {
			if (rc != CURLE_OK)
				return set_error(c, "%s: %s", what,
				                 curl_easy_strerror(rc));
			return status_error(c, what, resp, 1);
		}
		if (s->have > had)
			attempt = 0; /* progress: the count starts over */
		if (attempt >= r->opt.retries || total >= MAX_ATTEMPTS) {
			if (rc != CURLE_OK)
				return set_error(
				    c, "%s: %s (after %d attempts)", what,
				    curl_easy_strerror(rc), total);
			if (short_body(s, resp))
				return set_error(c,
				                 "%s: ended after %lld of "
				                 "%lld bytes (after %d "
				                 "attempts)",
				                 what, (long long)s->have,
				                 (long long)s->size, total);
			return status_error(c, what, resp, total);
		}
		sleep_ms(backoff_ms(r, attempt++, resp->retry_after));
	}
}

/* GET /v2/ once, or with retries; 0, or -1 with the HTTP status in *STATUS. */
static int
ping_once(struct registry_conn *c, int retry, long *status)
{
	struct buffer body = {0};
	struct sink s = {.buf = &body, .max = ERRBODY_MAX, .fd = -1};
	struct response resp = {.sink = &s};
	int saved = c->reg->opt.retries, rc;

	if (!retry)
		c->reg->opt.retries = 0;
	rc = request(c, "/v2/", "/v2/", NULL, &s, &resp);
	c->reg->opt.retries = saved;
	*status = resp.status;
	if (rc < 0 && resp.status == 404)
		set_error(c, "not a registry: /v2/ answers HTTP 404");
	buffer_free(&body);
	response_free(&resp);
	free(s.fail);
	return rc;
}

int
registry_ping(struct registry_conn *c)
{
	struct registry *r = c->reg;
	long status;

	if (r->opt.tls_verify || strcmp(r->scheme, "https") != 0)
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
	struct sink s = {.buf = body, .max = MANIFEST_MAX, .fd = -1};
	struct response resp = {.sink = &s};
	char *path, *what;
	int rc;

	if (asprintf(&path, "/v2/%s/manifests/%s", c->reg->repository, ref) <
	        0 ||
	    asprintf(&what, "manifest %s", ref) < 0)
		err(EXIT_DATA, "malloc");
	rc = request(c, what, path, MANIFEST_ACCEPT, &s, &resp);
	*content_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
	*digest = resp.digest ? xstrdup(resp.digest) : NULL;
	response_free(&resp);
	free(s.fail);
	free(path);
	free(what);
	return rc;
}

static int
check_digest(struct registry_conn *c, const char *what, const char *want,
             const char *hex)
{
	if (strcmp(want + 7, hex) != 0)
		return set_error(c, "%s: content has digest sha256:%s", what,
		                 hex);
	return 0;
}

int
registry_get_blob(struct registry_conn *c, const char *digest, int64_t size,
                  struct buffer *body)
{
	struct sink s = {.buf = body, .max = (size_t)size, .fd = -1};
	struct response resp = {.sink = &s};
	char *path, *what, hex[DIGEST_MAX_HEX];
	int rc = -1;

	if (asprintf(&path, "/v2/%s/blobs/%s", c->reg->repository, digest) <
	        0 ||
	    asprintf(&what, "blob %s", digest) < 0)
		err(EXIT_DATA, "malloc");
	if (size > SMALL_BLOB_MAX)
		set_error(c, "%s: %lld bytes is too large", what,
		          (long long)size);
	else if (request(c, what, path, NULL, &s, &resp) == 0) {
		digest_buffer_hex("sha256", body->data, body->len, hex);
		if ((int64_t)body->len != size)
			set_error(c, "%s: %zu bytes, its descriptor says %lld",
			          what, body->len, (long long)size);
		else
			rc = check_digest(c, what, digest, hex);
	}
	response_free(&resp);
	free(s.fail);
	free(path);
	free(what);
	return rc;
}

int
registry_fetch_blob(struct registry_conn *c, const char *digest, int64_t size,
                    int fd, registry_progress_fn *progress, void *arg)
{
	struct sink s = {
	    .fd = fd, .size = size, .progress = progress, .arg = arg};
	struct response resp = {.sink = &s};
	char *path, *what, hex[DIGEST_MAX_HEX];
	int rc;

	if (asprintf(&path, "/v2/%s/blobs/%s", c->reg->repository, digest) <
	        0 ||
	    asprintf(&what, "blob %s", digest) < 0)
		err(EXIT_DATA, "malloc");
	digest_init(&s.digest, "sha256");
	rc = request(c, what, path, NULL, &s, &resp);
	digest_final_hex(&s.digest, hex);
	if (rc == 0)
		rc = check_digest(c, what, digest, hex);
	response_free(&resp);
	free(s.fail);
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
