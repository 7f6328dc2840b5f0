/*
 * Fuzz what di-pull parses from a registry and from the user: references,
 * WWW-Authenticate challenges, token answers, auth files, manifests and
 * indexes (with platform choice), configs and error documents.  Every
 * parser gets the same bytes; all of them return errors rather than exit.
 */
#include <stdlib.h>

#include "auth.h"
#include "fuzz.h"
#include "manifest.h"
#include "reference.h"
#include "registry.h"

static void
parse_all(const char *s, size_t n)
{
	struct reference ref;
	struct auth_challenge ch;
	struct auth_token tok;
	struct auth_creds creds;
	struct manifest m;
	char *why = NULL, **ids;
	size_t nids;

	if (reference_parse(s, n, &ref, &why) == 0)
		free(reference_familiar_name(&ref));
	reference_free(&ref);
	free(why);
	if (auth_parse_challenge(s, n, &ch, &why) == 0)
		free(auth_token_url(ch.realm ? ch.realm : "", ch.service,
		                    ch.scope));
	auth_challenge_free(&ch);
	free(why);
	if (auth_parse_token(s, n, &tok, &why) == 0)
		auth_token_free(&tok);
	free(why);
	if (auth_file_lookup(s, n, "docker.io", "library/a", &creds, &why) == 1)
		auth_creds_free(&creds);
	free(why);
	if (manifest_parse(s, n, NULL, &m, &why) == 0) {
		free(why);
		why = NULL;
		manifest_select(&m, "linux", "arm", NULL, &why);
		manifest_free(&m);
	}
	free(why);
	if (manifest_config_diff_ids(s, n, &ids, &nids, &why) == 0)
		manifest_free_diff_ids(ids, nids);
	free(why);
	if (registry_parse_errors(s, n, &why) == 0)
		free(why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (FUZZ_TRY())
		parse_all((const char *)data, size);
	return 0;
}
