/*
 * auth.h: what a registry asks for and what we answer with.
 *
 * The WWW-Authenticate challenge (RFC 7235) and the token service's JSON
 * are parsed from memory buffers and errors are returned, never fatal, so
 * that any bytes a server sends can be fed to them.  Credentials come from,
 * in order: --creds, --authfile, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json, the first file that knows the registry winning.
 * Within a file, as docker reads config.json: "credHelpers" naming a
 * helper for the registry host, else "credsStore" (a helper for every
 * host), else "auths" entries with a base64 "auth" user:pass.  A helper
 * is Docker's credential helper protocol: docker-credential-NAME get,
 * the server address on stdin, {"ServerURL","Username","Secret"} on
 * stdout; Username "<token>" makes Secret an identity token (an OAuth2
 * refresh token for the registry's token service).  A helper that says
 * "credentials not found" is as a file without an entry: the file's
 * "auths", then the next file, are asked.
 *
 * A struct auth_creds owns its strings and wipes the secret when freed.
 * No function here puts a password or token in a message.
 */
#ifndef DI_AUTH_H
#define DI_AUTH_H

#include <stddef.h>

enum auth_scheme { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct auth_challenge {
	enum auth_scheme scheme;
	char *realm, *service, *scope, *error; /* NULL when absent */
};

struct auth_creds {
	char *user, *pass;    /* NULL when there are none */
	char *identity_token; /* a helper's "<token>" secret, or NULL */
	char *source;         /* where they came from, for messages */
};

struct auth_token {
	char *token;
	long expires_in; /* seconds; 60 when the service does not say */
};

/*
 * Parse the values of all WWW-Authenticate headers of a response, joined
 * by newlines.  Prefers a Bearer challenge over Basic.  0 and *CH filled,
 * or -1 and *WHY (malloc'd).
 */
int auth_parse_challenge(const char *s, size_t len, struct auth_challenge *ch,
                         char **why);
void auth_challenge_free(struct auth_challenge *ch);

/* A token service's answer: "token" or else "access_token", "expires_in". */
int auth_parse_token(const char *s, size_t len, struct auth_token *tok,
                     char **why);
void auth_token_free(struct auth_token *tok);

/* "user:pass" (split at the first ':'; the user may not be empty). */
int auth_creds_parse(const char *s, size_t len, struct auth_creds *c,
                     char **why);
/*
 * Look up DOMAIN/PATH in the text of an auth file (containers' auth.json
 * or Docker's config.json): the entry with the longest matching key,
 * "host", "host/ns" or "host/ns/repo", wins.  1 and *C filled when found,
 * 0 when not, -1 and *WHY on malformed JSON or a bad "auth" value.
 */
int auth_file_lookup(const char *json, size_t len, const char *domain,
                     const char *path, struct auth_creds *c, char **why);
/*
 * Walk the files: only AUTHFILE when it is not NULL, else the default
 * sources in order, the first that has an entry winning.  1, 0 or -1 as
 * auth_file_lookup; *WHY names the file.
 */
int auth_creds_find(const char *authfile, const char *domain, const char *path,
                    struct auth_creds *c, char **why);
void auth_creds_free(struct auth_creds *c);

/*
 * A credential helper's answer to get: 0 and *C filled (an identity token
 * when Username is "<token>"), or -1 and *WHY.
 */
int auth_helper_parse(const char *s, size_t len, struct auth_creds *c,
                      char **why);
/*
 * Run docker-credential-HELPER get for SERVER (from $PATH, at most 60
 * seconds).  1 and *C filled, 0 when it has no credentials for SERVER,
 * -1 and *WHY (its exit status and first line of complaint, never its
 * answer) when it failed.
 */
int auth_helper_get(const char *helper, const char *server,
                    struct auth_creds *c, char **why);

/* "Basic <base64 user:pass>"; the caller wipes and frees it. */
char *auth_basic_value(const struct auth_creds *c);
/* REALM?service=...&scope=..., percent-encoded; NULL parts left out. */
char *auth_token_url(const char *realm, const char *service, const char *scope);
/* Free a string that held a secret, overwriting it first. */
void auth_wipe_free(char *s);

#endif
