/*
 * registry.h: a client of the registry HTTP API v2 (the OCI distribution
 * spec): the ping, the authentication a registry asks for, manifests and
 * blobs.  The transport (redirects, sinks, retries, limits) is http.h's.
 *
 * A struct registry holds what all requests to one repository share: the
 * address, the options, the credentials and the current Authorization
 * (guarded by a lock, so that several threads fetch blobs at once).  Each
 * thread makes requests through its own struct registry_conn, which owns a
 * curl handle and the message of its last error.  Functions that talk to
 * the registry return 0 or -1 and never exit, so a worker thread can hand
 * its failure to the main one.
 *
 * Every request is retried with backoff on 429, 5xx, timeouts and broken
 * connections, a bounded number of times (http.h).  A 401 leads to the
 * challenge's scheme: Basic with the credentials, or a Bearer token
 * fetched from the realm (again when it expires or the registry says
 * insufficient_scope).  Redirects are followed by hand: to another host
 * (or port or scheme), the Authorization header is not sent.  Secrets
 * never appear in messages.
 */
#ifndef DI_REGISTRY_H
#define DI_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buffer.h"
#include "http.h"

struct registry_options {
	int plain_http;        /* http:// rather than https:// */
	int tls_verify;        /* 0: https without checking the certificate */
	const char *cert_dir;  /* more CA certificates, or NULL */
	int retries;           /* further attempts after a transient failure */
	long retry_delay_ms;   /* the first backoff; it doubles each time */
	long timeout;          /* seconds without a byte before giving up */
	long low_speed;        /* bytes/s floor over TIMEOUT; 0: none */
	long request_deadline; /* seconds for one request; 0: none */
	long deadline;         /* seconds for everything, from registry_new */
	const char *user_agent;
};

struct registry;
struct registry_conn;

/*
 * HOST: the API host ("registry-1.docker.io", "127.0.0.1:5000");
 * LABEL: the name used in messages ("docker.io/library/alpine").  The
 * registry takes over CREDS (which may be empty).
 */
struct registry *registry_new(const char *host, const char *repository,
                              const char *label,
                              const struct registry_options *o,
                              struct auth_creds *creds);
void registry_free(struct registry *r);

struct registry_conn *registry_conn_new(struct registry *r);
void registry_conn_free(struct registry_conn *c);
/* "LABEL: what: why" of the last failure. */
const char *registry_conn_error(const struct registry_conn *c);

/* GET /v2/: is it a registry, and what does it ask for. */
int registry_ping(struct registry_conn *c);

/*
 * GET /v2/REPO/manifests/REF (a tag or a digest) with the Accept list of
 * manifest.h, at most 4 MiB.  *CONTENT_TYPE and *DIGEST (the
 * Docker-Content-Digest header, NULL when absent) are malloc'd.
 */
int registry_get_manifest(struct registry_conn *c, const char *ref,
                          struct buffer *body, char **content_type,
                          char **digest);

/* A small blob (a config) into BODY, checked against DIGEST and SIZE. */
int registry_get_blob(struct registry_conn *c, const char *digest, int64_t size,
                      struct buffer *body);

/*
 * A blob into FD (a fresh temporary file), checked against DIGEST and
 * SIZE.  A transfer broken in the middle resumes with a Range request.
 * PROGRESS (may be NULL) is called with the bytes held so far.
 */
typedef http_progress_fn registry_progress_fn;
int registry_fetch_blob(struct registry_conn *c, const char *digest,
                        int64_t size, int fd, registry_progress_fn *progress,
                        void *arg);

/*
 * The same blob handed to WRITE as it comes, each byte once and in order,
 * with nothing kept on disk (a broken transfer resumes with Range; what
 * WRITE had already is skipped when the whole blob comes again).  WRITE's
 * -1 stops the transfer.  The digest is checked at the end: WRITE's
 * consumer must not trust the bytes before this returns 0.
 */
typedef int registry_write_fn(void *arg, const void *p, size_t n);
int registry_stream_blob(struct registry_conn *c, const char *digest,
                         int64_t size, registry_write_fn *write,
                         void *write_arg, registry_progress_fn *progress,
                         void *arg);

/* Pushing. */

/*
 * Ask for SCOPE ("repository:NAME:pull,push", "repository:OTHER:pull")
 * in every token, beside what the challenge names: pushing needs push on
 * the repository and pull on the repositories blobs are mounted from.
 */
void registry_add_scope(struct registry *r, const char *scope);

/* HEAD of blob DIGEST: 1 when the registry has it (SIZE bytes), 0 not. */
int registry_blob_exists(struct registry_conn *c, const char *digest,
                         int64_t size);

/*
 * Start an upload of DIGEST, mounted from repository FROM when it is not
 * NULL: 1 when the registry mounted it (nothing to send), 0 with *UPLOAD
 * (malloc'd: the upload's URL) when the bytes are to be sent.
 */
int registry_start_upload(struct registry_conn *c, const char *digest,
                          const char *from, char **upload);

/*
 * Send SIZE bytes of FD as blob DIGEST to the upload *UPLOAD, CHUNK bytes
 * per PATCH (Content-Range), then the closing PUT.  A chunk cut off is
 * resumed from the offset the registry reports (GET on the upload URL);
 * *UPLOAD follows the registry's Location answers.  PROGRESS: bytes the
 * registry has.
 */
int registry_upload_blob(struct registry_conn *c, char **upload,
                         const char *digest, int fd, int64_t size,
                         int64_t chunk, registry_progress_fn *progress,
                         void *arg);

/*
 * PUT the LEN bytes at BODY as manifest REF (a digest, or a tag last)
 * with MEDIA_TYPE; the registry must answer with their digest.
 */
int registry_put_manifest(struct registry_conn *c, const char *ref,
                          const char *media_type, const void *body, size_t len);

/*
 * The registry's error document ({"errors":[{"code","message"}]}) as one
 * line of printable text, or -1 when BODY is not one.
 */
int registry_parse_errors(const char *body, size_t len, char **text);

#endif
