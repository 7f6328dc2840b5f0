/*
 * http.h: HTTP requests over libcurl, as a registry client needs them:
 * redirects followed by hand, bodies into bounded sinks, uploads from
 * memory or a file range, retries with backoff, and limits that make every
 * request end.
 *
 * A struct http_conn owns one curl handle and the message of its last
 * failure; one thread uses it at a time.  Functions return 0 or -1 and
 * never exit, so that a worker thread can hand its failure to the main
 * one.
 *
 * Authorization comes from a struct http_auth: a value for each attempt,
 * and an answer to a 401.  It is sent only while the URL stays on the
 * auth's origin (scheme, host and port): a redirect elsewhere (a storage
 * service's signed URL) gets no Authorization, and https is never
 * followed to plain http.
 *
 * Every transfer ends: a connection that sends nothing for the idle
 * timeout, or less than the low-speed floor over that time, is given up
 * (and retried); each attempt has a deadline, and so has the whole run.
 * The body of an answer that is not a success is read to a small bound
 * and no further.  Messages say which limit was hit; secrets never appear
 * in them.
 */
#ifndef DI_HTTP_H
#define DI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "digest.h"

struct http_options {
	int tls_verify;        /* 0: https without checking the certificate */
	const char *ca_dir;    /* more CA certificates (*.crt), or NULL */
	int retries;           /* further attempts after a transient failure */
	long retry_delay_ms;   /* the first backoff; it doubles each time */
	long timeout;          /* seconds without a byte, and the low-speed
	                          window */
	long low_speed;        /* bytes/s floor over TIMEOUT seconds; 0: none */
	long request_deadline; /* seconds for one attempt; 0: none */
	double run_deadline;   /* monotonic time when all must end; 0: none */
	const char *user_agent;
	/* The server's error document as one line, or -1 (may be NULL). */
	int (*describe_error)(const char *body, size_t len, char **text);
};

/* Seconds on the monotonic clock. */
double http_now(void);

typedef void http_progress_fn(void *arg, int64_t done);

/*
 * Where the body of a successful (200, 206) answer goes: memory, at most
 * MAX bytes, or a file of SIZE bytes that a broken transfer resumes with
 * Range (a 206 must continue exactly where the file ends).
 */
struct http_sink {
	struct buffer *buf;
	size_t max;
	int fd;
	int64_t size, have;
	struct digest digest; /* of what the file holds */
	http_progress_fn *progress;
	void *arg;
	char *fail; /* why a write was refused: not retried */
	int bad_range, no_range;
	/* A function sink: bytes in order, once each (see http_sink_fn). */
	int (*fn)(void *arg, const void *p, size_t n);
	void *fn_arg;
	int64_t skip; /* bytes of a whole answer already handed out */
};

void http_sink_memory(struct http_sink *s, struct buffer *b, size_t max);
void http_sink_file(struct http_sink *s, int fd, int64_t size,
                    http_progress_fn *progress, void *arg);
/*
 * The body of SIZE bytes handed to FN as it comes (FN's -1: refused, not
 * retried).  A broken transfer resumes with Range; when the server sends
 * the whole body again, what FN has had already is skipped, so FN sees
 * each byte once and in order (the digest covers the bytes it saw).
 */
void http_sink_fn(struct http_sink *s, int64_t size,
                  int (*fn)(void *arg, const void *p, size_t n), void *fn_arg,
                  http_progress_fn *progress, void *arg);
/* Frees what the sink holds (not its buffer or file). */
void http_sink_done(struct http_sink *s);

/* A request body: LEN bytes from DATA, or from FD at OFFSET. */
struct http_body {
	const void *data;
	int fd;
	int64_t offset, len;
	http_progress_fn *progress; /* bytes sent so far (may be NULL) */
	void *arg;
};

struct http_response {
	long status;
	int at_origin; /* the final answer came from the auth's origin */
	int transient; /* the failure may pass if tried again */
	char *content_type, *digest, *content_range, *range, *retry_after;
	char *location;           /* made absolute */
	int64_t content_length;   /* -1 when not given */
	struct buffer challenges; /* WWW-Authenticate values, one a line */
	struct buffer errbody;    /* a bounded prefix of a failure's body */
};

void http_response_free(struct http_response *resp);

struct http_conn;

/*
 * The Authorization of a request.  CURRENT gives the value for an attempt
 * (malloc'd, or NULL for none) and a generation that CHALLENGE gets back
 * with the 401 it caused.  CHALLENGE NULL: a 401 is final.
 */
struct http_auth {
	const char *origin; /* a URL: where the Authorization may go */
	int (*current)(void *ctx, struct http_conn *c, char **value,
	               unsigned *gen);
	int (*challenge)(void *ctx, struct http_conn *c,
	                 const struct http_response *resp, unsigned gen);
	void *ctx;
};

struct http_request {
	const char *what;   /* names the object in messages */
	const char *method; /* NULL: GET */
	const char *url;
	const char *accept, *content_type, *content_range;
	const struct http_body *body; /* NULL: none */
	struct http_sink *sink;       /* NULL: a success's body is dropped */
	const struct http_auth *auth; /* NULL: none */
	int no_retry; /* one attempt: the caller resumes (uploads) */
};

/* LABEL prefixes every message ("docker.io/library/alpine"). */
struct http_conn *http_conn_new(const struct http_options *o,
                                const char *label);
void http_conn_free(struct http_conn *c);
const struct http_options *http_conn_options(const struct http_conn *c);
/* Change the retries of later requests (the quick tries of a ping). */
void http_conn_set_retries(struct http_conn *c, int retries);
/* "LABEL: what: why" of the last failure. */
const char *http_conn_error(const struct http_conn *c);
int http_fail(struct http_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Make REQ until it succeeds (2xx; 206 only continuing a file sink), fails
 * for good, or the retries run out.  0, or -1 with the message set and
 * RESP describing the last answer (its status 0 when there was none).
 */
int http_request(struct http_conn *c, const struct http_request *req,
                 struct http_response *resp);

/* The backoff before attempt ATTEMPT + 1, Retry-After obeyed. */
long http_backoff_ms(const struct http_options *o, int attempt,
                     const char *retry_after);
void http_sleep_ms(long ms);

/* "scheme://host:port" of URL, with the default port; NULL if unparsable. */
char *http_origin(const char *url);
/* "host:port" of URL, for messages. */
char *http_host_of(const char *url);

#endif
