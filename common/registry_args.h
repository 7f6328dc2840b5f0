/*
 * registry_args.h: the command line that every registry client shares
 * (di-pull, di-push): the spellings of struct registry_options
 * (--plain-http, --tls-verify, --cert-dir, --retries, --retry-delay,
 * --timeout, --low-speed, --request-timeout, --deadline) and of the
 * credentials (--creds, --authfile), their defaults, and where the
 * credentials are found.
 *
 * A tool puts REGISTRY_LONGOPTS in its getopt_long table and hands each
 * option to registry_args_option first.  Bad values are usage errors
 * (exit 2).
 */
#ifndef DI_REGISTRY_ARGS_H
#define DI_REGISTRY_ARGS_H

#include <getopt.h>

#include "auth.h"
#include "reference.h"
#include "registry.h"

enum {
	REGISTRY_OPT_CREDS = 1000, /* above a tool's own option values */
	REGISTRY_OPT_AUTHFILE,
	REGISTRY_OPT_CERT_DIR,
	REGISTRY_OPT_PLAIN,
	REGISTRY_OPT_TLS,
	REGISTRY_OPT_RETRIES,
	REGISTRY_OPT_DELAY,
	REGISTRY_OPT_TIMEOUT,
	REGISTRY_OPT_LOW_SPEED,
	REGISTRY_OPT_REQUEST_TIMEOUT,
	REGISTRY_OPT_DEADLINE,
};

#define REGISTRY_LONGOPTS                                                      \
	{"creds", required_argument, NULL, REGISTRY_OPT_CREDS},                \
	    {"authfile", required_argument, NULL, REGISTRY_OPT_AUTHFILE},      \
	    {"cert-dir", required_argument, NULL, REGISTRY_OPT_CERT_DIR},      \
	    {"plain-http", no_argument, NULL, REGISTRY_OPT_PLAIN},             \
	    {"tls-verify", optional_argument, NULL, REGISTRY_OPT_TLS},         \
	    {"retries", required_argument, NULL, REGISTRY_OPT_RETRIES},        \
	    {"retry-delay", required_argument, NULL, REGISTRY_OPT_DELAY},      \
	    {"timeout", required_argument, NULL, REGISTRY_OPT_TIMEOUT},        \
	    {"low-speed", required_argument, NULL, REGISTRY_OPT_LOW_SPEED},    \
	    {"request-timeout", required_argument, NULL,                       \
	     REGISTRY_OPT_REQUEST_TIMEOUT},                                    \
	{                                                                      \
		"deadline", required_argument, NULL, REGISTRY_OPT_DEADLINE     \
	}

/* The lines of --help for these options. */
#define REGISTRY_USAGE                                                         \
	"      --creds U:P      credentials (the argument is wiped after "     \
	"start)\n"                                                             \
	"      --authfile FILE  credentials from this auth.json only\n"        \
	"      --cert-dir DIR   CAs (*.crt) and a client *.cert/*.key "        \
	"(default: certs.d/HOST)\n"                                            \
	"      --plain-http     talk http, not https\n"                        \
	"      --tls-verify=false  do not check the certificate (and "         \
	"allow http)\n"                                                        \
	"      --retries N      further attempts after a transient "           \
	"failure (default 5)\n"                                                \
	"      --retry-delay S  first backoff in seconds, doubling "           \
	"(default 0.5)\n"                                                      \
	"      --timeout S      give up a connection idle for S seconds "      \
	"(default 60)\n"                                                       \
	"      --low-speed B    ... or slower than B bytes/s for that "        \
	"long (default 1024, 0: no floor)\n"                                   \
	"      --request-timeout S  give up one request after S "              \
	"seconds (default 600, 0: none)\n"                                     \
	"      --deadline S     give up the whole run after S seconds "        \
	"(default: none)\n"

struct registry_args {
	struct registry_options reg;
	char *creds; /* a copy of --creds; the argument itself is wiped */
	const char *authfile;
};

/* The defaults; USER_AGENT: "di-pull/VERSION". */
void registry_args_init(struct registry_args *a, const char *user_agent);
/* Take option C (its argument ARG, which --creds overwrites): 1, or 0
 * when C is not one of these. */
int registry_args_option(struct registry_args *a, int c, char *arg);
/*
 * The credentials for REF: --creds, else the auth files; the copy of
 * --creds is wiped.  Exits 2 on a malformed --creds, 1 on a bad file.
 */
void registry_args_credentials(struct registry_args *a,
                               const struct reference *ref,
                               struct auth_creds *c);
void registry_args_free(struct registry_args *a);

/* A number option from LO to HI, else a usage error naming WHAT. */
long registry_args_number(const char *s, const char *what, long lo, long hi);

#endif
