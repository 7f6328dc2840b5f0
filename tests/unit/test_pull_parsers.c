/*
 * test_pull_parsers: the parsers di-pull feeds with what a registry sends
 * (references, WWW-Authenticate challenges, token answers, auth files,
 * manifests, indexes, configs), checked against expected results.
 * Prints one line per failed check and "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "manifest.h"
#include "reference.h"

static int passed, failed;

static void
check(int ok, const char *what, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* The condition first, then the detail it may have set. */
#define CHECK(cond, what, detail)                                              \
	do {                                                                   \
		int ok_ = (cond);                                              \
		check(ok_, what, detail);                                      \
	} while (0)

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_reference(void)
{
	static const struct {
		const char *in, *domain, *path, *tag, *digest, *familiar;
	} good[] = {
	    {"alpine", "docker.io", "library/alpine", NULL, NULL, "alpine"},
	    {"alpine:3.19", "docker.io", "library/alpine", "3.19", NULL,
	     "alpine"},
	    {"user/app", "docker.io", "user/app", NULL, NULL, "user/app"},
	    {"docker.io/library/x", "docker.io", "library/x", NULL, NULL, "x"},
	    {"index.docker.io/x", "docker.io", "library/x", NULL, NULL, "x"},
	    {"localhost/a", "localhost", "a", NULL, NULL, "localhost/a"},
	    {"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", NULL,
	     "localhost:5000/a/b"},
	    {"127.0.0.1:5000/a@sha256:" D64, "127.0.0.1:5000", "a", NULL,
	     "sha256:" D64, "127.0.0.1:5000/a"},
	    {"r.io/a-b__c.d/e:v1.0-x@sha256:" D64, "r.io", "a-b__c.d/e",
	     "v1.0-x", "sha256:" D64, "r.io/a-b__c.d/e"},
	    {"[::1]:5000/a", "[::1]:5000", "a", NULL, NULL, "[::1]:5000/a"},
	    {"Host/a", "Host", "a", NULL, NULL, "Host/a"},
	    {"a---b", "docker.io", "library/a---b", NULL, NULL, "a---b"},
	};
	static const char *bad[] = {
	    "",
	    ":tag",
	    "UPPER",
	    "a/B",
	    "a:",
	    "a:-x",
	    "a@sha256:abc",
	    "a@sha512:" D64 D64,
	    "a@sha256:" D64 "0",
	    "a//b",
	    "a/",
	    "/a",
	    "a_",
	    "a___b",
	    "-a",
	    "a:"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "h-:5/a",
	    "h:x/a",
	    "a b",
	    "[zz]:1/a",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct reference r;
		char *why = NULL;
		int rc =
		    reference_parse(good[i].in, strlen(good[i].in), &r, &why);
		CHECK(rc == 0, good[i].in, why);
		if (rc == 0) {
			char *f = reference_familiar_name(&r);
			CHECK(streq(r.domain, good[i].domain) &&
			          streq(r.path, good[i].path) &&
			          streq(r.tag, good[i].tag) &&
			          streq(r.digest, good[i].digest) &&
			          streq(f, good[i].familiar),
			      good[i].in, "parts");
			free(f);
		}
		free(why);
		reference_free(&r);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct reference r;
		char *why = NULL;
		int rc = reference_parse(bad[i], strlen(bad[i]), &r, &why);
		CHECK(rc == -1 && why != NULL, bad[i], "accepted");
		free(why);
		reference_free(&r);
	}
	struct reference r;
	char *why = NULL;
	CHECK(reference_parse("a\0b", 3, &r, &why) == -1, "NUL", NULL);
	free(why);
	CHECK(reference_parse("alpine", 6, &r, &why) == 0 &&
	          streq(reference_api_host(&r), "registry-1.docker.io"),
	      "api host", NULL);
	reference_free(&r);
}

static void
test_challenge(void)
{
	struct auth_challenge ch;
	char *why = NULL;
	const char *s;

	s = "Bearer realm=\"https://auth.example/token\",service=\"reg\","
	    "scope=\"repository:a/b:pull\"";
	CHECK(auth_parse_challenge(s, strlen(s), &ch, &why) == 0 &&
	          ch.scheme == AUTH_BEARER &&
	          streq(ch.realm, "https://auth.example/token") &&
	          streq(ch.service, "reg") &&
	          streq(ch.scope, "repository:a/b:pull") && ch.error == NULL,
	      "bearer", why);
	auth_challenge_free(&ch);
	free(why);

	s = "Basic realm=\"x\", Bearer realm=\"r\\\"q\" , error="
	    "insufficient_scope,scope=\"s\"";
	CHECK(auth_parse_challenge(s, strlen(s), &ch, &why) == 0 &&
	          ch.scheme == AUTH_BEARER && streq(ch.realm, "r\"q") &&
	          streq(ch.error, "insufficient_scope") && streq(ch.scope, "s"),
	      "basic and bearer", why);
	auth_challenge_free(&ch);
	free(why);

	s = "Negotiate abc==, basic Realm=\"Registry Realm\"\nNTLM";
	CHECK(auth_parse_challenge(s, strlen(s), &ch, &why) == 0 &&
	          ch.scheme == AUTH_BASIC && streq(ch.realm, "Registry Realm"),
	      "basic after token68", why);
	auth_challenge_free(&ch);
	free(why);

	static const char *bad[] = {"",
	                            "Bearer",
	                            "Bearer service=x",
	                            "Bearer realm=\"unclosed",
	                            "Digest realm=x",
	                            "Bearer realm=x,,=",
	                            "Bearer realm=\"a\0b\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		if (strstr(bad[i], "\"a") && i == 6)
			n = 20;
		int rc = auth_parse_challenge(bad[i], n, &ch, &why);
		CHECK(rc == -1 && why != NULL, bad[i], "accepted");
		if (rc == 0)
			auth_challenge_free(&ch);
		free(why);
	}
}

static void
test_token(void)
{
	struct auth_token t;
	char *why = NULL;
	const char *s;

	s = "{\"token\":\"abc.def\",\"expires_in\":300}";
	CHECK(auth_parse_token(s, strlen(s), &t, &why) == 0 &&
	          streq(t.token, "abc.def") && t.expires_in == 300,
	      "token", why);
	auth_token_free(&t);
	free(why);
	s = "{\"token\":\"\",\"access_token\":\"xyz\"}";
	CHECK(auth_parse_token(s, strlen(s), &t, &why) == 0 &&
	          streq(t.token, "xyz") && t.expires_in == 60,
	      "access_token", why);
	auth_token_free(&t);
	free(why);
	static const char *bad[] = {"",
	                            "[]",
	                            "{}",
	                            "{\"token\":1}",
	                            "{\"token\":\"a b\"}",
	                            "{\"token\":\"a\\r\\nX: y\"}",
	                            "{\"tok"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = auth_parse_token(bad[i], strlen(bad[i]), &t, &why);
		CHECK(rc == -1 && why != NULL && !strstr(why, "X: y"), bad[i],
		      "accepted");
		if (rc == 0)
			auth_token_free(&t);
		free(why);
	}
	char *url =
	    auth_token_url("http://h/t?a=1", "my reg", "repository:a/b:pull");
	CHECK(streq(url,
	            "http://h/"
	            "t?a=1&service=my%20reg&scope=repository%3Aa%2Fb%3Apull"),
	      "token url", url);
	free(url);
}

static void
test_authfile(void)
{
	/* alice:s3cret and bob:x:y */
	const char *s =
	    "{\"auths\":{"
	    "\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6czNjcmV0\"},"
	    "\"r.io\":{\"auth\":\"YWxpY2U6czNjcmV0\"},"
	    "\"r.io/team\":{\"auth\":\"Ym9iOng6eQ==\"},"
	    "\"other.io\":{}}}";
	struct auth_creds c;
	char *why = NULL;

	CHECK(auth_file_lookup(s, strlen(s), "docker.io", "library/a", &c,
	                       &why) == 1 &&
	          streq(c.user, "alice") && streq(c.pass, "s3cret"),
	      "docker hub key", why);
	auth_creds_free(&c);
	CHECK(auth_file_lookup(s, strlen(s), "r.io", "team/app", &c, &why) ==
	              1 &&
	          streq(c.user, "bob") && streq(c.pass, "x:y"),
	      "longest key", why);
	char *basic = auth_basic_value(&c);
	CHECK(streq(basic, "Basic Ym9iOng6eQ=="), "basic value", basic);
	auth_wipe_free(basic);
	auth_creds_free(&c);
	CHECK(auth_file_lookup(s, strlen(s), "r.io", "teamx/app", &c, &why) ==
	              1 &&
	          streq(c.user, "alice"),
	      "component match", why);
	auth_creds_free(&c);
	CHECK(auth_file_lookup(s, strlen(s), "other.io", "a", &c, &why) == 0,
	      "entry without auth", why);
	CHECK(auth_file_lookup("{}", 2, "r.io", "a", &c, &why) == 0, "empty",
	      why);
	const char *bad = "{\"auths\":{\"r.io\":{\"auth\":\"!!\"}}}";
	CHECK(auth_file_lookup(bad, strlen(bad), "r.io", "a", &c, &why) == -1,
	      "bad base64", NULL);
	free(why);
	bad = "{\"auths\":{\"r.io\":{\"auth\":\"bm9jb2xvbg==\"}}}";
	CHECK(auth_file_lookup(bad, strlen(bad), "r.io", "a", &c, &why) == -1 &&
	          !strstr(why, "nocolon"),
	      "no colon", why);
	free(why);
	CHECK(auth_file_lookup("{", 1, "r.io", "a", &c, &why) == -1, "not JSON",
	      NULL);
	free(why);
	CHECK(auth_creds_parse(":x", 2, &c, &why) == -1, "empty user", NULL);
	free(why);
}

static void
test_manifest(void)
{
	struct manifest m;
	char *why = NULL;
	const char *s =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.docker.container.image.v1+json\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":12},"
	    "\"layers\":[{\"mediaType\":\"application/"
	    "vnd.docker.image.rootfs.diff.tar.gzip\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":34},"
	    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":0}]}";

	CHECK(
	    manifest_parse(s, strlen(s), NULL, &m, &why) == 0 &&
	        m.kind == MANIFEST_IMAGE && m.nlayers == 2 &&
	        m.config.size == 12 && m.layers[0].compression == LAYER_GZIP &&
	        m.layers[1].compression == LAYER_ZSTD && m.layers[0].size == 34,
	    "schema2", why);
	manifest_free(&m);
	free(why);

	/* No mediaType: the Content-Type decides, then the shape. */
	s = "{\"schemaVersion\":2,\"manifests\":["
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64
	    "\","
	    "\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm64\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64
	    "\","
	    "\"size\":6,\"platform\":{\"os\":\"unknown\",\"architecture\":"
	    "\"unknown\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64
	    "\","
	    "\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"amd64\"},"
	    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-"
	    "manifest\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64
	    "\","
	    "\"size\":8,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"amd64\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64
	    "\","
	    "\"size\":9,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm\",\"variant\":\"v6\"}}]}";
	CHECK(manifest_parse(s, strlen(s), "application/json", &m, &why) == 0 &&
	          m.kind == MANIFEST_INDEX && m.nmanifests == 5,
	      "index", why);
	free(why);
	CHECK(manifest_select(&m, "linux", "amd64", NULL, &why) == 3,
	      "select amd64 past attestations", why);
	free(why);
	CHECK(manifest_select(&m, "linux", "arm64", "v8", &why) == 0,
	      "select arm64/v8", why);
	free(why);
	CHECK(manifest_select(&m, "linux", "arm", "v6", &why) == 4,
	      "select arm/v6", why);
	free(why);
	CHECK(manifest_select(&m, "linux", "arm", NULL, &why) == -1 &&
	          streq(why, "no image for linux/arm in the index; it has: "
	                     "linux/arm64, linux/amd64, linux/arm/v6"),
	      "no arm/v7", why);
	free(why);
	manifest_free(&m);

	static const char *bad[] = {
	    "{\"schemaVersion\":1,\"fsLayers\":[]}",
	    "{\"schemaVersion\":2,\"mediaType\":\"application/"
	    "vnd.docker.distribution.manifest.v1+prettyjws\"}",
	    "{\"schemaVersion\":2,\"layers\":[],\"manifests\":[]}",
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "x-helm\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":1},\"layers\":[]}",
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":-1},\"layers\":[]}",
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\","
	    "\"digest\":\"sha256:" D64
	    "\",\"size\":1},\"layers\":[{\"mediaType\":"
	    "\"application/"
	    "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"md5:x\",\"size\":1}"
	    "]}",
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\","
	    "\"digest\":\"sha256:" D64
	    "\",\"size\":1},\"layers\":[{\"mediaType\":"
	    "\"text/plain\",\"digest\":\"sha256:" D64 "\",\"size\":1}]}",
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\","
	    "\"digest\":\"sha256:" D64 "\",\"size\":1.5},\"layers\":[]}",
	    "[1]",
	    "{",
	    "{\"schemaVersion\":2,\"mediaType\":\"x/y\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = manifest_parse(bad[i], strlen(bad[i]), NULL, &m, &why);
		CHECK(rc == -1 && why != NULL, bad[i], "accepted");
		if (rc == 0)
			manifest_free(&m);
		free(why);
	}
}

static void
test_config(void)
{
	char **ids;
	size_t n;
	char *why = NULL;
	const char *s = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
	                "[\"sha256:" D64 "\",\"sha256:" D64 "\"]}}";

	CHECK(manifest_config_diff_ids(s, strlen(s), &ids, &n, &why) == 0 &&
	          n == 2 && streq(ids[1], "sha256:" D64),
	      "diff_ids", why);
	manifest_free_diff_ids(ids, n);
	free(why);
	static const char *bad[] = {
	    "{}", "{\"rootfs\":{}}", "{\"rootfs\":{\"diff_ids\":[1]}}",
	    "{\"rootfs\":{\"diff_ids\":[\"sha256:x\"]}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(manifest_config_diff_ids(bad[i], strlen(bad[i]), &ids, &n,
		                               &why) == -1,
		      bad[i], "accepted");
		free(why);
	}
}

/* A credential helper's answers: users, identity tokens, refusals. */
static void
test_helper_answer(void)
{
	struct auth_creds c;
	char *why = NULL;
	const char *ok = "{\"ServerURL\":\"r.io\",\"Username\":\"alice\","
	                 "\"Secret\":\"s3cret\"}";
	const char *tok = "{\"ServerURL\":\"r.io\",\"Username\":\"<token>\","
	                  "\"Secret\":\"refresh-1\"}";
	const char *bad[] = {
	    "{\"Username\":\"alice\"}",
	    "{\"Username\":\"alice\",\"Secret\":\"\"}",
	    "{\"Username\":\"a:b\",\"Secret\":\"x\"}",
	    "{\"Username\":\"alice\",\"Secret\":\"x\\ny\"}",
	    "{\"Username\":\"alice\",\"Secret\":\"x\\u0000y\"}",
	    "[\"alice\"]",
	    "Secret s3cret",
	};

	CHECK(auth_helper_parse(ok, strlen(ok), &c, &why) == 0 &&
	          streq(c.user, "alice") && streq(c.pass, "s3cret") &&
	          c.identity_token == NULL,
	      "helper user", why);
	auth_creds_free(&c);
	CHECK(auth_helper_parse(tok, strlen(tok), &c, &why) == 0 &&
	          c.user == NULL && streq(c.identity_token, "refresh-1"),
	      "helper identity token", why);
	auth_creds_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(auth_helper_parse(bad[i], strlen(bad[i]), &c, &why) ==
		              -1 &&
		          why != NULL && !strstr(why, "s3cret"),
		      bad[i], why);
		free(why);
		why = NULL;
	}
}

int
main(void)
{
	test_reference();
	test_challenge();
	test_token();
	test_authfile();
	test_helper_answer();
	test_manifest();
	test_config();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
