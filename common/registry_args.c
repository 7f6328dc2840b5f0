/*
 * registry_args.c: the shared options of the registry tools, parsed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "registry_args.h"
#include "xalloc.h"

void
registry_args_init(struct registry_args *a, const char *user_agent)
{
	*a = (struct registry_args){.reg = {.tls_verify = 1,
	                                    .retries = 5,
	                                    .retry_delay_ms = 500,
	                                    .timeout = 60,
	                                    .low_speed = 1024,
	                                    .request_deadline = 600,
	                                    .user_agent = user_agent}};
}

long
registry_args_number(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_error("%s wants a number from %ld to %ld", what, lo, hi);
	return v;
}

static double
seconds_arg(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 3600))
		usage_error("%s wants seconds from 0 to 3600", what);
	return v;
}

/* Copy the credentials and overwrite the argument, so ps cannot see it. */
static char *
take_secret(char *arg)
{
	char *copy = xstrdup(arg);

	explicit_bzero(arg, strlen(arg));
	return copy;
}

static void
tls_verify(struct registry_options *r, const char *arg)
{
	if (arg == NULL || strcmp(arg, "true") == 0)
		r->tls_verify = 1;
	else if (strcmp(arg, "false") == 0)
		r->tls_verify = 0;
	else
		usage_error("--tls-verify wants true or false");
}

/* The limits of a transfer. */
static void
limit_option(struct registry_options *r, int c, const char *arg)
{
	switch (c) {
	case REGISTRY_OPT_RETRIES:
		r->retries =
		    (int)registry_args_number(arg, "--retries", 0, 100);
		break;
	case REGISTRY_OPT_DELAY:
		r->retry_delay_ms =
		    (long)(seconds_arg(arg, "--retry-delay") * 1000);
		break;
	case REGISTRY_OPT_TIMEOUT:
		r->timeout = (long)seconds_arg(arg, "--timeout");
		if (r->timeout < 1)
			usage_error("--timeout wants at least 1 second");
		break;
	case REGISTRY_OPT_LOW_SPEED:
		r->low_speed =
		    registry_args_number(arg, "--low-speed", 0, 1L << 30);
		break;
	case REGISTRY_OPT_REQUEST_TIMEOUT:
		r->request_deadline = registry_args_number(
		    arg, "--request-timeout", 0, 7 * 86400);
		break;
	default:
		r->deadline =
		    registry_args_number(arg, "--deadline", 0, 7 * 86400);
	}
}

int
registry_args_option(struct registry_args *a, int c, char *arg)
{
	switch (c) {
	case REGISTRY_OPT_CREDS:
		auth_wipe_free(a->creds);
		a->creds = take_secret(arg);
		break;
	case REGISTRY_OPT_AUTHFILE:
		a->authfile = arg;
		break;
	case REGISTRY_OPT_CERT_DIR:
		a->reg.cert_dir = arg;
		break;
	case REGISTRY_OPT_PLAIN:
		a->reg.plain_http = 1;
		break;
	case REGISTRY_OPT_TLS:
		tls_verify(&a->reg, arg);
		break;
	case REGISTRY_OPT_RETRIES:
	case REGISTRY_OPT_DELAY:
	case REGISTRY_OPT_TIMEOUT:
	case REGISTRY_OPT_LOW_SPEED:
	case REGISTRY_OPT_REQUEST_TIMEOUT:
	case REGISTRY_OPT_DEADLINE:
		limit_option(&a->reg, c, arg);
		break;
	default:
		return 0;
	}
	return 1;
}

void
registry_args_credentials(struct registry_args *a, const struct reference *ref,
                          struct auth_creds *c)
{
	char *why = NULL;

	if (a->creds != NULL) {
		if (auth_creds_parse(a->creds, strlen(a->creds), c, &why) < 0)
			errx(EXIT_USAGE, "--creds: %s", why);
		c->source = xstrdup("--creds");
	} else if (auth_creds_find(a->authfile, ref->domain, ref->path, c,
	                           &why) < 0) {
		errx(EXIT_DATA, "credentials: %s", why);
	}
	auth_wipe_free(a->creds);
	a->creds = NULL;
}

void
registry_args_free(struct registry_args *a)
{
	auth_wipe_free(a->creds);
	a->creds = NULL;
}
