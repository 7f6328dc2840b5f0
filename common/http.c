/*
 * http.c: one HTTP exchange through libcurl, redirects followed by hand,
 * bodies into sinks, uploads, and the retry loop around them.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "errors.h"
#include "fdio.h"
#include "http.h"
#include "xalloc.h"

#define ERRBODY_MAX (64 << 10)
#define HEADER_MAX (64 << 10)
#define MAX_REDIRECTS 8
#define MAX_AUTH_ROUNDS 3
#define MAX_ATTEMPTS 64
#define MAX_DELAY_MS 30000

struct http_conn {
	struct http_options opt;
	char *label;
	CURL *curl;
	char *error;
	struct buffer cas; /* the CA certificates, with --cert-dir */
	char *client_cert, *client_key; /* a *.cert and its *.key there */
	char errbuf[CURL_ERROR_SIZE];   /* libcurl's words for a failure */
	char *failed_host; /* "host:port" of the last failed transfer */
};

/* Which limit ended a transfer. */
enum limit { LIMIT_NONE, LIMIT_IDLE, LIMIT_REQUEST, LIMIT_RUN };

/* One exchange in flight: what the callbacks of curl share. */
struct transfer {
	CURL *curl;
	const char *url;
	struct http_sink *sink;
	const struct http_body *body;
	struct http_response *resp;
	int to_sink;
	size_t header_bytes;
	int64_t sent;
	int cut;          /* a failure's body was longer than its bound */
	long timeout;     /* seconds without a byte before giving up */
	curl_off_t seen;  /* bytes moved so far... */
	double last_move; /* ...and when that last changed */
	enum limit limit, binding;
};

/* Free a string that held a secret, overwriting it first. */
static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* Once per process, from whichever thread comes first; never undone. */
static void
global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		errx(EXIT_DATA, "curl_global_init failed");
}

double
http_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
http_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
http_fail(struct http_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	error_vset(&msg, fmt, ap);
	va_end(ap);
	free(c->error);
	error_set(&c->error, "%s: %s", c->label, msg);
	free(msg);
	return -1;
}

const char *
http_conn_error(const struct http_conn *c)
{
	return c->error ? c->error : "no error";
}

const struct http_options *
http_conn_options(const struct http_conn *c)
{
	return &c->opt;
}

void
http_conn_set_retries(struct http_conn *c, int retries)
{
	c->opt.retries = retries;
}

/*
 * Give up a transfer when no byte has moved either way for the timeout:
 * curl calls this about once a second even when nothing arrives.
 */
static int
idle_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
        curl_off_t ulnow)
{
	struct transfer *t = ud;
	double now = http_now();

	(void)dltotal, (void)ultotal;
	if (dlnow + ulnow != t->seen || t->last_move == 0) {
		t->seen = dlnow + ulnow;
		t->last_move = now;
		return 0;
	}
	if (now - t->last_move < (double)t->timeout)
		return 0;
	t->limit = LIMIT_IDLE;
	return 1;
}

/* Does NAME end in SUFFIX, with something before it? */
static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && strcmp(name + n - k, suffix) == 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static char *
dir_file(const char *dir, const char *name, size_t n, const char *suffix)
{
	char *path;

	if (asprintf(&path, "%s/%.*s%s", dir, (int)n, name, suffix) < 0)
		err(EXIT_DATA, "malloc");
	return path;
}

/* Add the PEM text of PATH to B; 0, or -1 with *WHY. */
static int
add_pem(struct buffer *b, const char *path, const char **why)
{
	buffer_append(b, "\n", 1);
	if (buffer_read_file(b, path, 16 << 20) < 0) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

/*
 * A *.cert and the *.key of the same name, the first in name order (the
 * containers' certs.d layout); a key without its certificate, or the
 * reverse, is refused.
 */
static int
client_pair(struct http_conn *c, const char *dir, const char *name,
            const char *suffix, const char *other, const char **why)
{
	size_t n = strlen(name) - strlen(suffix);
	char *mate = dir_file(dir, name, n, other);
	struct stat st;

	if (stat(mate, &st) < 0) {
		free(mate);
		*why = strcmp(suffix, ".cert") == 0
		           ? "a client certificate (*.cert) without its *.key"
		           : "a client key (*.key) without its *.cert";
		return -1;
	}
	free(mate);
	if (strcmp(suffix, ".cert") == 0 && c->client_cert == NULL) {
		c->client_cert = dir_file(dir, name, n, ".cert");
		c->client_key = dir_file(dir, name, n, ".key");
	}
	return 0;
}

/*
 * The system's CA certificates and every *.crt in DIR (ca.crt among
 * them) as one PEM text, and a client certificate from its *.cert and
 * *.key files: what a certs.d directory means to podman, skopeo and
 * docker.  0, or -1 with *WHY.
 */
static int
load_cert_dir(struct http_conn *c, const char *dir, const char **why)
{
	const char *system = curl_version_info(CURLVERSION_NOW)->cainfo;
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), rc = 0;

	if (n < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (system != NULL && buffer_read_file(&c->cas, system, 64 << 20) < 0)
		buffer_reset(&c->cas); /* none there: only the directory's */
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (rc == 0 && has_suffix(name, ".crt")) {
			char *path = dir_file(dir, name, strlen(name), "");
			rc = add_pem(&c->cas, path, why);
			free(path);
		} else if (rc == 0 && has_suffix(name, ".cert")) {
			rc = client_pair(c, dir, name, ".cert", ".key", why);
		} else if (rc == 0 && has_suffix(name, ".key")) {
			rc = client_pair(c, dir, name, ".key", ".cert", why);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* What the options say about certificates, set on C's handle. */
static void
set_trust(struct http_conn *c, const struct http_options *o)
{
	const char *why;

	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER,
	                 o->tls_verify ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST,
	                 o->tls_verify ? 2L : 0L);
	if (o->ca_dir == NULL)
		return;
	if (load_cert_dir(c, o->ca_dir, &why) < 0)
		errx(EXIT_DATA, "certificates in %s: %s", o->ca_dir, why);
	struct curl_blob blob = {
	    .data = c->cas.data, .len = c->cas.len, .flags = CURL_BLOB_NOCOPY};
	curl_easy_setopt(c->curl, CURLOPT_CAINFO_BLOB, &blob);
	if (c->client_cert != NULL) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->client_key);
	}
}

struct http_conn *
http_conn_new(const struct http_options *o, const char *label)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	pthread_once(&global_once, global_init);
	if ((c->curl = curl_easy_init()) == NULL)
		errx(EXIT_DATA, "curl_easy_init failed");
	c->opt = *o;
	c->label = xstrdup(label);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (o->user_agent != NULL)
		curl_easy_setopt(c->curl, CURLOPT_USERAGENT, o->user_agent);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, o->timeout);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, idle_cb);
	if (o->low_speed > 0) {
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT,
		                 o->low_speed);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, o->timeout);
	}
	set_trust(c, o);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c->curl, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	return c;
}

void
http_conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	buffer_free(&c->cas);
	free(c->client_cert);
	free(c->client_key);
	free(c->failed_host);
	free(c->label);
	free(c->error);
	free(c);
}

/* Sinks. */

void
http_sink_memory(struct http_sink *s, struct buffer *b, size_t max)
{
	*s = (struct http_sink){.buf = b, .max = max, .fd = -1};
}

void
http_sink_file(struct http_sink *s, int fd, int64_t size,
               http_progress_fn *progress, void *arg)
{
	*s = (struct http_sink){
	    .fd = fd, .size = size, .progress = progress, .arg = arg};
	digest_init(&s->digest, "sha256");
}

void
http_sink_fn(struct http_sink *s, int64_t size,
             int (*fn)(void *arg, const void *p, size_t n), void *fn_arg,
             http_progress_fn *progress, void *arg)
{
	http_sink_file(s, -1, size, progress, arg);
	s->fn = fn;
	s->fn_arg = fn_arg;
}

void
http_sink_done(struct http_sink *s)
{
	free(s->fail);
	s->fail = NULL;
}

static int sink_refuse(struct http_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
sink_refuse(struct http_sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(s->fail);
	error_vset(&s->fail, fmt, ap);
	va_end(ap);
	return -1;
}

/* Start the file over: the server sent the whole blob again. */
static int
sink_restart(struct http_sink *s)
{
	char hex[DIGEST_MAX_HEX];

	if (s->fn != NULL) { /* what FN had is not handed out again */
		s->skip = s->have;
		return 0;
	}
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
check_content_range(struct http_sink *s, const char *cr)
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

/* Response headers. */

void
http_response_free(struct http_response *resp)
{
	free(resp->content_type);
	free(resp->digest);
	free(resp->content_range);
	free(resp->range);
	free(resp->retry_after);
	free(resp->location);
	resp->content_type = resp->digest = resp->content_range = NULL;
	resp->range = resp->retry_after = resp->location = NULL;
	resp->content_length = -1;
	buffer_free(&resp->challenges);
	buffer_free(&resp->errbody);
}

/* Forget the last answer, for a new one (after a 100, a redirect, a retry). */
static void
response_reset(struct http_response *resp)
{
	http_response_free(resp);
	resp->status = 0;
}

/* The headers are all in: decide where the body goes. */
static int
headers_done(struct transfer *t)
{
	struct http_sink *s = t->sink;
	long status;

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	t->resp->status = status;
	if (status != 200 && status != 206)
		return 0;
	t->to_sink = 1;
	if (s == NULL)
		return 0;
	if (s->buf != NULL) {
		buffer_reset(s->buf);
		return 0;
	}
	s->skip = 0;
	if (status == 206)
		return check_content_range(s, t->resp->content_range);
	return s->have > 0 ? sink_restart(s) : 0;
}

static void
keep_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xstrndup(v, n);
}

/* LOCATION made absolute against the URL it answers. */
static char *
absolute_url(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *abs = NULL, *out = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
		out = xstrdup(abs);
	curl_free(abs);
	curl_url_cleanup(u);
	return out;
}

static void
header_field(struct transfer *t, const char *b, size_t namelen, const char *v,
             size_t k)
{
	struct http_response *resp = t->resp;
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
	    {"Content-Type", offsetof(struct http_response, content_type)},
	    {"Docker-Content-Digest", offsetof(struct http_response, digest)},
	    {"Content-Range", offsetof(struct http_response, content_range)},
	    {"Range", offsetof(struct http_response, range)},
	    {"Retry-After", offsetof(struct http_response, retry_after)},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == namelen &&
		    strncasecmp(b, fields[i].name, namelen) == 0) {
			keep_header((char **)((char *)resp + fields[i].off), v,
			            k);
			return;
		}
	if (namelen == 8 && strncasecmp(b, "Location", 8) == 0) {
		char *loc = xstrndup(v, k);
		free(resp->location);
		resp->location = absolute_url(t->url, loc);
		free(loc);
	} else if (namelen == 14 && strncasecmp(b, "Content-Length", 14) == 0) {
		char *end, *s = xstrndup(v, k);
		long long n = strtoll(s, &end, 10);
		resp->content_length =
		    end != s && *end == '\0' && n >= 0 ? n : -1;
		free(s);
	} else if (namelen == 16 &&
	           strncasecmp(b, "WWW-Authenticate", 16) == 0) {
		if (resp->challenges.len)
			buffer_append(&resp->challenges, "\n", 1);
		buffer_append(&resp->challenges, v, k);
	}
}

static size_t
header_cb(char *b, size_t size, size_t nmemb, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * nmemb, n = len;

	t->header_bytes += len;
	if (t->header_bytes > HEADER_MAX)
		return 0;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		n--;
	if (n == 0)
		return headers_done(t) < 0 ? 0 : len;
	if (n >= 5 && strncmp(b, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last. */
		long keep = t->resp->status;
		response_reset(t->resp);
		t->resp->status = keep;
		return len;
	}
	const char *colon = memchr(b, ':', n);
	if (colon == NULL)
		return len;
	const char *v = colon + 1;
	while (v < b + n && (*v == ' ' || *v == '\t'))
		v++;
	header_field(t, b, (size_t)(colon - b), v, (size_t)(b + n - v));
	return len;
}

/*
 * A body that is not for the sink is kept to a small bound; past it the
 * transfer stops (the answer is complete enough for a message).
 */
static size_t
keep_bounded(struct transfer *t, const char *p, size_t n)
{
	struct buffer *b = &t->resp->errbody;
	size_t room = ERRBODY_MAX - b->len;

	buffer_append(b, p, n < room ? n : room);
	if (n <= room)
		return n;
	t->cut = 1;
	return 0;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct transfer *t = ud;
	struct http_sink *s = t->sink;
	size_t n = size * nmemb;

	if (!t->to_sink || s == NULL)
		return keep_bounded(t, p, n);
	if (s->buf != NULL) {
		if (s->buf->len + n > s->max) {
			sink_refuse(s, "more than %zu bytes", s->max);
			return 0;
		}
		buffer_append(s->buf, p, n);
		return n;
	}
	size_t dropped = 0;
	if (s->skip > 0) { /* a whole answer after a broken one */
		dropped = (int64_t)n < s->skip ? n : (size_t)s->skip;
		s->skip -= (int64_t)dropped;
		p += dropped;
		n -= dropped;
	}
	if ((int64_t)n > s->size - s->have) {
		sink_refuse(s, "more bytes than the %lld its descriptor gives",
		            (long long)s->size);
		return 0;
	}
	if (s->fn != NULL ? s->fn(s->fn_arg, p, n) < 0
	                  : fdio_write_all(s->fd, p, n) < 0) {
		if (s->fail == NULL)
			sink_refuse(s, "temporary file: %s", strerror(errno));
		return 0;
	}
	digest_update(&s->digest, p, n);
	s->have += (int64_t)n;
	if (s->progress != NULL)
		s->progress(s->arg, s->have);
	return n + dropped;
}

/* The request body, from memory or with pread from its file. */
static size_t
read_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct transfer *t = ud;
	const struct http_body *b = t->body;
	size_t want = size * nmemb;
	ssize_t n;

	if (b == NULL)
		return 0;
	if ((int64_t)want > b->len - t->sent)
		want = (size_t)(b->len - t->sent);
	if (want == 0)
		return 0;
	if (b->data != NULL) {
		memcpy(p, (const char *)b->data + t->sent, want);
		n = (ssize_t)want;
	} else {
		do
			n = pread(b->fd, p, want, b->offset + t->sent);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return CURL_READFUNC_ABORT;
	}
	t->sent += n;
	if (b->progress != NULL)
		b->progress(b->arg, t->sent);
	return (size_t)n;
}

/* curl rewinds a body to send it again (on a fresh connection). */
static int
seek_cb(void *ud, curl_off_t offset, int origin)
{
	struct transfer *t = ud;

	if (origin != SEEK_SET || offset < 0 ||
	    offset > (t->body ? t->body->len : 0))
		return CURL_SEEKFUNC_CANTSEEK;
	t->sent = offset;
	return CURL_SEEKFUNC_OK;
}

/* URLs. */

char *
http_origin(const char *url)
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
		o = xasprintf("%s://%s:%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

char *
http_host_of(const char *url)
{
	char *o = http_origin(url), *h;

	if (o == NULL)
		return xstrdup("(unparsable URL)");
	h = xstrdup(strstr(o, "://") + 3);
	free(o);
	return h;
}

static int
same_origin(const char *a_url, const char *b_url)
{
	char *a = http_origin(a_url), *b = http_origin(b_url);
	int same = a && b && strcmp(a, b) == 0;

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

/* One exchange. */

static struct curl_slist *
request_headers(const struct http_request *req, const char *range,
                const char *auth)
{
	struct curl_slist *h = NULL;
	char *line;

	/* No "Expect: 100-continue" round trip before a body. */
	h = curl_slist_append(h, "Expect:");
	if (req->accept != NULL) {
		line = xasprintf("Accept: %s", req->accept);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (req->content_type != NULL) {
		line = xasprintf("Content-Type: %s", req->content_type);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (req->content_range != NULL) {
		line = xasprintf("Content-Range: %s", req->content_range);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (range != NULL)
		h = curl_slist_append(h, range);
	if (auth != NULL) {
		line = xasprintf("Authorization: %s", auth);
		h = curl_slist_append(h, line);
		wipe_free(line);
	}
	return h;
}

/* The method and body of REQ on the handle, whatever the last one set. */
static void
set_method(CURL *curl, const struct http_request *req, struct transfer *t)
{
	const char *m = req->method ? req->method : "GET";

	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(curl, CURLOPT_READDATA, t);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, t);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)(req->body ? req->body->len : 0));
		if (strcmp(m, "PUT") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
	}
}

/*
 * The time this attempt may take: the request's deadline or what is left
 * of the run's, whichever comes first; 0 (none), or -1 when the run's has
 * passed.
 */
static long
attempt_ms(const struct http_options *o, enum limit *binding)
{
	long ms = o->request_deadline > 0 ? o->request_deadline * 1000 : 0;

	*binding = ms > 0 ? LIMIT_REQUEST : LIMIT_NONE;
	if (o->run_deadline > 0) {
		double left = (o->run_deadline - http_now()) * 1000;
		if (left < 1)
			return -1;
		if (ms == 0 || left < (double)ms) {
			ms = (long)left;
			*binding = LIMIT_RUN;
		}
	}
	return ms;
}

/* One HTTP exchange at URL, no redirects followed. */
static CURLcode
perform(struct http_conn *c, const struct http_request *req, const char *url,
        const char *auth, const char *range, struct transfer *t)
{
	struct curl_slist *h = request_headers(req, range, auth);
	long ms = attempt_ms(&c->opt, &t->binding);
	CURLcode rc;

	t->curl = c->curl;
	t->url = url;
	t->to_sink = 0;
	t->header_bytes = 0;
	t->sent = 0;
	t->cut = 0;
	t->timeout = c->opt.timeout;
	t->seen = 0;
	t->last_move = 0;
	t->limit = LIMIT_NONE;
	if (ms < 0) {
		t->limit = LIMIT_RUN;
		curl_slist_free_all(h);
		return CURLE_OPERATION_TIMEDOUT;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 0L);
	set_method(c->curl, req, t);
	/*
	 * curl sends a request again by itself when a reused connection turns
	 * out dead; a request its caller resumes (a chunk of an upload) must
	 * not be replayed behind its back, so it gets a connection of its own.
	 */
	curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT,
	                 req->no_retry ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, t);
	c->errbuf[0] = '\0';
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		free(c->failed_host);
		c->failed_host = http_host_of(url);
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK && t->limit == LIMIT_IDLE)
		rc = CURLE_OPERATION_TIMEDOUT;
	if (rc == CURLE_WRITE_ERROR && t->cut)
		rc = CURLE_OK; /* enough of a failure's body */
	if (rc == CURLE_OPERATION_TIMEDOUT && t->limit == LIMIT_NONE) {
		double secs = 0;
		curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &secs);
		/* curl's own timeout, or else its low-speed floor. */
		t->limit = ms > 0 && secs * 1000 >= (double)ms * 0.98
		               ? t->binding
		               : LIMIT_NONE;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &t->resp->status);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	/* The Authorization line is in the list: wipe before freeing. */
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
	return rc;
}

/*
 * REQ at its URL, redirects followed by hand: Authorization only while the
 * URL stays on the auth's origin, never from https to http.
 */
static CURLcode
exchange(struct http_conn *c, const struct http_request *req, const char *auth,
         const char *range, struct transfer *t, const char **why)
{
	const char *origin = req->auth ? req->auth->origin : req->url;
	char *url = xstrdup(req->url);
	CURLcode rc = CURLE_OK;

	*why = NULL;
	t->resp->at_origin = same_origin(origin, url);
	for (int hop = 0;; hop++) {
		response_reset(t->resp);
		rc = perform(c, req, url, t->resp->at_origin ? auth : NULL,
		             range, t);
		if (rc != CURLE_OK || !is_redirect(t->resp->status))
			break;
		/* Our own Location header: curl's is lost when a body is cut.
		 */
		const char *next = t->resp->location;
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
		if (!same_origin(origin, next))
			t->resp->at_origin = 0;
		free(url);
		url = xstrdup(next);
	}
	free(url);
	return rc;
}

/* Retries. */

/*
 * Did the TLS layer fail: a certificate refused either way, a handshake
 * broken off (a server that wants a client certificate says so with an
 * alert, which curl may only see on the first read)?
 */
static int
is_tls_failure(const struct http_conn *c, CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return strstr(c->errbuf, "SSL") != NULL ||
		       strstr(c->errbuf, "TLS") != NULL;
	default:
		return 0;
	}
}

/* A handshake refused over a certificate does not pass with retries. */
static int
certificate_refused(const struct http_conn *c, CURLcode rc)
{
	return is_tls_failure(c, rc) &&
	       (strstr(c->errbuf, "certificate") || strstr(c->errbuf, "alert"));
}

static int
transient_curl(CURLcode rc, enum limit limit)
{
	if (limit == LIMIT_RUN)
		return 0;
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

long
http_backoff_ms(const struct http_options *o, int attempt,
                const char *retry_after)
{
	long ms = o->retry_delay_ms << (attempt < 10 ? attempt : 10);

	if (retry_after != NULL) {
		char *end;
		long s = strtol(retry_after, &end, 10);
		if (end != retry_after && s >= 0 && s < 3600 && s * 1000 > ms)
			ms = s * 1000;
	}
	return ms < MAX_DELAY_MS ? ms : MAX_DELAY_MS;
}

/* Why a transfer failed, naming the limit when one ended it. */
static void
curl_why(const struct http_conn *c, CURLcode rc, const struct transfer *t,
         char *out, size_t len)
{
	const struct http_options *o = &c->opt;

	if (is_tls_failure(c, rc))
		snprintf(out, len, "TLS with %s: %s",
		         c->failed_host ? c->failed_host : "?",
		         c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	else if (rc != CURLE_OPERATION_TIMEDOUT)
		snprintf(out, len, "%s", curl_easy_strerror(rc));
	else if (t->limit == LIMIT_IDLE)
		snprintf(out, len, "nothing received for %ld s (--timeout)",
		         o->timeout);
	else if (t->limit == LIMIT_REQUEST)
		snprintf(out, len,
		         "the request took longer than %ld s "
		         "(--request-timeout)",
		         o->request_deadline);
	else if (t->limit == LIMIT_RUN)
		snprintf(out, len,
		         "the deadline for the whole run was hit "
		         "(--deadline)");
	else if (o->low_speed > 0)
		snprintf(out, len,
		         "slower than %ld bytes/s for %ld s (--low-speed)",
		         o->low_speed, o->timeout);
	else
		snprintf(out, len, "%s", curl_easy_strerror(rc));
}

/*
 * The server's complaint, for a message: the status and its error codes;
 * ATTEMPTS > 1 is said too.
 */
static int
status_error(struct http_conn *c, const char *what,
             const struct http_response *resp, int attempts)
{
	char *text = NULL, after[40] = "";

	if (attempts > 1)
		snprintf(after, sizeof(after), " (after %d attempts)",
		         attempts);
	if (c->opt.describe_error != NULL &&
	    c->opt.describe_error((const char *)resp->errbody.data,
	                          resp->errbody.len, &text) == 0)
		http_fail(c, "%s: HTTP %ld (%s)%s", what, resp->status, text,
		          after);
	else
		http_fail(c, "%s: HTTP %ld%s", what, resp->status, after);
	free(text);
	return -1;
}

/* The bytes already in a file sink: a Range header to ask for the rest. */
static char *
range_header(const struct http_sink *s)
{
	char *h = NULL;

	if (s != NULL && s->buf == NULL && s->have > 0 && !s->no_range)
		h = xasprintf("Range: bytes=%lld-", (long long)s->have);
	return h;
}

/* A 2xx that ended cleanly but short: resume like a broken connection. */
static int
short_body(const struct http_sink *s, const struct http_response *resp)
{
	return s != NULL && s->buf == NULL &&
	       (resp->status == 200 || resp->status == 206) &&
	       s->have < s->size;
}

/* The Authorization for an attempt: 0, or -1 with the message set. */
static int
auth_value(struct http_conn *c, const struct http_request *req, char **value,
           unsigned *gen)
{
	*value = NULL;
	*gen = 0;
	if (req->auth == NULL || req->auth->current == NULL)
		return 0;
	return req->auth->current(req->auth->ctx, c, value, gen);
}

/* After a failed attempt: 1 to try again, 0 when done, -1 failed for good. */
static int
judge(struct http_conn *c, const struct http_request *req, CURLcode rc,
      struct transfer *t, int *again)
{
	struct http_sink *s = req->sink;
	struct http_response *resp = t->resp;

	*again = certificate_refused(c, rc) ? 0
	         : rc != CURLE_OK           ? transient_curl(rc, t->limit)
	         : short_body(s, resp)      ? 1
	                                    : transient_status(resp->status);
	if (s != NULL && s->bad_range) {
		if (s->no_range)
			return http_fail(c,
			                 "%s: a 206 answer to a request "
			                 "without Range",
			                 req->what);
		s->bad_range = 0;
		s->no_range = *again = 1;
	}
	resp->transient = *again;
	return 0;
}

/* The message when the attempts have run out, or at the first hard one. */
static int
final_error(struct http_conn *c, const struct http_request *req, CURLcode rc,
            const struct transfer *t, int total)
{
	const struct http_sink *s = req->sink;
	char why[CURL_ERROR_SIZE + 300], after[40] = "";

	if (total > 1)
		snprintf(after, sizeof(after), " (after %d attempts)", total);
	if (rc != CURLE_OK) {
		curl_why(c, rc, t, why, sizeof(why));
		return http_fail(c, "%s: %s%s", req->what, why, after);
	}
	if (short_body(s, t->resp))
		return http_fail(c, "%s: ended after %lld of %lld bytes%s",
		                 req->what, (long long)s->have,
		                 (long long)s->size, after);
	return status_error(c, req->what, t->resp, total);
}

int
http_request(struct http_conn *c, const struct http_request *req,
             struct http_response *resp)
{
	struct transfer t = {
	    .sink = req->sink, .body = req->body, .resp = resp};
	int attempt = 0, auth_rounds = 0, again;

	for (int total = 1;; total++) {
		char *auth, *range = range_header(req->sink);
		const char *why;
		unsigned gen;
		int64_t had = req->sink ? req->sink->have : 0;
		if (auth_value(c, req, &auth, &gen) < 0) {
			free(range);
			return -1;
		}
		CURLcode rc = exchange(c, req, auth, range, &t, &why);
		if (auth != NULL)
			wipe_free(auth);
		free(range);
		if (req->sink != NULL && req->sink->fail != NULL)
			return http_fail(c, "%s: %s", req->what,
			                 req->sink->fail);
		if (why != NULL)
			return http_fail(c, "%s: %s", req->what, why);
		if (judge(c, req, rc, &t, &again) < 0)
			return -1;
		if (rc == CURLE_OK && resp->status == 401 && resp->at_origin &&
		    req->auth != NULL && req->auth->challenge != NULL) {
			if (auth_rounds++ >= MAX_AUTH_ROUNDS)
				return http_fail(c,
				                 "%s: HTTP 401 after "
				                 "authenticating",
				                 req->what);
			if (req->auth->challenge(req->auth->ctx, c, resp, gen) <
			    0)
				return -1;
			continue;
		}
		if (rc == CURLE_OK && !again && resp->status / 100 == 2)
			return 0;
		if (!again || req->no_retry)
			return final_error(c, req, rc, &t, 1);
		if (req->sink != NULL && req->sink->have > had)
			attempt = 0; /* progress: the count starts over */
		if (attempt >= c->opt.retries || total >= MAX_ATTEMPTS)
			return final_error(c, req, rc, &t, total);
		http_sleep_ms(
		    http_backoff_ms(&c->opt, attempt++, resp->retry_after));
	}
}
