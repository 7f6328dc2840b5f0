/*
 * test_image_ref: the reference grammar's corner cases (upper case, ports,
 * localhost, digests, tags), and how an archive's names are matched
 * through it (common/image_ref), where a hand-made splitter once took
 * "Foo/app" for a Docker Hub repository.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image_ref.h"
#include "platform.h"
#include "reference.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parse S; "domain path tag digest" with "-" for none, or "error". */
static char *
parts(const char *s)
{
	static char buf[512];
	struct reference r;
	char *why;

	if (reference_parse(s, strlen(s), &r, &why) < 0) {
		free(why);
		return strcpy(buf, "error");
	}
	snprintf(buf, sizeof(buf), "%s %s %s %s", r.domain, r.path,
	         r.tag ? r.tag : "-", r.digest ? r.digest : "-");
	reference_free(&r);
	return buf;
}

static void
test_grammar(void)
{
	/* Upper case: a registry's first component may have it, a path not. */
	CHECK_STR(parts("Foo/app"), "Foo app - -");
	CHECK_STR(parts("foo/app"), "docker.io foo/app - -");
	CHECK_STR(parts("Foo"), "error");
	CHECK_STR(parts("foo/App"), "error");
	CHECK_STR(parts("r.io/Foo/app"), "error");
	/* Ports: a ':' before a '/' is a port, after the last '/' a tag. */
	CHECK_STR(parts("host:5000/app"), "host:5000 app - -");
	CHECK_STR(parts("host:5000/app:5000"), "host:5000 app 5000 -");
	CHECK_STR(parts("host:x/app"), "error");
	CHECK_STR(parts("host:123456/app"), "error");
	CHECK_STR(parts("[::1]:5000/app:1"), "[::1]:5000 app 1 -");
	/* localhost is a registry with or without a port; no library/. */
	CHECK_STR(parts("localhost/app"), "localhost app - -");
	CHECK_STR(parts("localhost:5000/app"), "localhost:5000 app - -");
	CHECK_STR(parts("localhostx/app"), "docker.io localhostx/app - -");
	/* Docker Hub's spellings. */
	CHECK_STR(parts("busybox"), "docker.io library/busybox - -");
	CHECK_STR(parts("index.docker.io/busybox"),
	          "docker.io library/busybox - -");
	CHECK_STR(parts("docker.io/user/app"), "docker.io user/app - -");
	/* Digests: sha256 and 64 lower-case hex digits, with or without a tag.
	 */
	CHECK_STR(parts("app@sha256:" D64),
	          "docker.io library/app - sha256:" D64);
	CHECK_STR(parts("app:1@sha256:" D64),
	          "docker.io library/app 1 sha256:" D64);
	CHECK_STR(parts("app@sha256:" D64 "0"), "error");
	CHECK_STR(parts("app@sha256:0123456789ABCDEF" D64 + 16), "error");
	CHECK_STR(parts("app@md5:abc"), "error");
	/* Tags: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
	CHECK_STR(parts("app:V1.0_rc-2"), "docker.io library/app V1.0_rc-2 -");
	CHECK_STR(parts("app:.x"), "error");
	CHECK_STR(parts("app:-x"), "error");
	CHECK_STR(parts("app:"), "error");
	CHECK_STR(parts(":1"), "error");
	char tag[140] = "app:";
	memset(tag + 4, 'x', 128);
	tag[132] = '\0';
	CHECK(strcmp(parts(tag), "error") != 0);
	tag[132] = 'x';
	tag[133] = '\0';
	CHECK_STR(parts(tag), "error");
	CHECK(reference_has_domain("Foo/app", 7));
	CHECK(reference_has_domain("localhost/app", 13));
	CHECK(!reference_has_domain("foo/app", 7));
	CHECK(!reference_has_domain("localhost", 9));
}

static void
test_match(void)
{
	/* Names an archive holds, matched against what a user asks for. */
	CHECK(image_ref_match("busybox:1.36", "busybox", NULL));
	CHECK(image_ref_match("busybox:1.36", "busybox:1.36", NULL));
	CHECK(image_ref_match("busybox:1.36", "docker.io/library/busybox",
	                      "1.36"));
	CHECK(image_ref_match("docker.io/library/busybox:latest", "busybox",
	                      "latest"));
	CHECK(image_ref_match("busybox", "busybox", "latest"));
	CHECK(!image_ref_match("busybox:1.36", "busybox", "latest"));
	CHECK(!image_ref_match("busybox:1.36", "busybox:1.35", NULL));
	/* Upper case makes a registry: Foo/app is not docker.io/foo/app. */
	CHECK(image_ref_match("Foo/app:1", "Foo/app", NULL));
	CHECK(!image_ref_match("Foo/app:1", "foo/app", NULL));
	CHECK(!image_ref_match("Foo/app:1", "docker.io/Foo/app", NULL));
	CHECK(!image_ref_match("docker.io/foo/app:1", "Foo/app", NULL));
	/* A port is part of the registry, not a tag. */
	CHECK(image_ref_match("r.io:5000/app:2", "r.io:5000/app", "2"));
	CHECK(!image_ref_match("r.io:5000/app:2", "r.io/app", "2"));
	CHECK(!image_ref_match("r.io:5000/app", "r.io:5000/app", "5000"));
	/* podman's localhost/ names answer to their path alone. */
	CHECK(image_ref_match("localhost/app:dev", "app", "dev"));
	CHECK(image_ref_match("localhost/app:dev", "app:dev", NULL));
	CHECK(image_ref_match("localhost/app:dev", "localhost/app", NULL));
	CHECK(image_ref_match("app:dev", "localhost/app", "dev"));
	CHECK(!image_ref_match("localhost/app:dev", "docker.io/library/app",
	                       NULL));
	CHECK(!image_ref_match("localhost:5000/app", "app", NULL));
	/* A digest in the archive's name does not stand in for a tag. */
	CHECK(image_ref_match("app@sha256:" D64, "app", NULL));
	CHECK(image_ref_match("app:1@sha256:" D64, "app", "1"));
	/* What the grammar refuses names nothing. */
	CHECK(!image_ref_match("UPPER:1", "UPPER", NULL));
	CHECK(!image_ref_match("a//b:1", NULL, "1"));
	CHECK(image_ref_match("a/b:1", NULL, "1"));
	char *why = NULL;
	CHECK(image_ref_check("Foo", &why) == -1 && why != NULL);
	free(why);
	CHECK(image_ref_check("Foo/app", &why) == 0);
}

static void
test_platform(void)
{
	struct platform arm64 = {"linux", "arm64", NULL};
	struct platform arm64v8 = {"linux", "arm64", "v8"};
	struct platform armv6 = {"linux", "arm", "v6"};
	struct platform arm = {"linux", "arm", NULL};
	struct platform amd64v3 = {"linux", "amd64", "v3"};
	struct platform amd64 = {"linux", "amd64", NULL};
	struct platform win = {"windows", "amd64", NULL};
	struct platform unknown = {"unknown", "unknown", NULL};
	struct platform host = platform_host();

	CHECK(platform_match(&arm64, &arm64v8));
	CHECK(platform_match(&arm64v8, &arm64));
	CHECK(!platform_match(&arm, &armv6));
	CHECK(platform_match(&armv6, &armv6));
	CHECK(!platform_match(&amd64, &amd64v3));
	CHECK(!platform_match(&amd64, &win));
	CHECK(platform_is_unknown(&unknown) && !platform_is_unknown(&amd64));
	CHECK_STR(host.os, "linux");
	CHECK(platform_match(&host, &host));
}

int
main(void)
{
	test_grammar();
	test_match();
	test_platform();
	return check_done();
}
