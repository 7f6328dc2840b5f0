/* Unit tests of common/path: normalization and Go's path cleaning. */
#include <stdlib.h>

#include "check.h"
#include "path.h"

static int
norm_is(const char *in, const char *want)
{
	char *got = path_normalize(in);
	int ok = want == NULL ? got == NULL : got && strcmp(got, want) == 0;

	free(got);
	return ok;
}

static int
go_is(const char *in, const char *want)
{
	char *got = path_go_clean(in);
	int ok = strcmp(got, want) == 0;

	free(got);
	return ok;
}

int
main(void)
{
	CHECK(norm_is("./a/b", "a/b"));
	CHECK(norm_is("/a/b", "a/b"));
	CHECK(norm_is("a/b/", "a/b"));
	CHECK(norm_is("a//b/./c/", "a/b/c"));
	CHECK(norm_is("./", ""));
	CHECK(norm_is("/", ""));
	CHECK(norm_is("", ""));
	CHECK(norm_is("a/../b", NULL));
	CHECK(norm_is("../x", NULL));
	CHECK(norm_is("a/..b/c", "a/..b/c"));
	CHECK(norm_is("...", "..."));

	CHECK(go_is("a/../b", "b"));
	CHECK(go_is("../../x", "x"));
	CHECK(go_is("/", "."));
	CHECK(go_is("", "."));
	CHECK(go_is("./same", "same"));
	CHECK(go_is("a/b/..", "a"));

	char *p = path_parent("a/b/c");
	CHECK_STR(p, "a/b");
	free(p);
	p = path_parent("top");
	CHECK_STR(p, "");
	free(p);
	CHECK(path_within("a/b/c", "a/b"));
	CHECK(path_within("a/b", "a/b"));
	CHECK(!path_within("a/bc", "a/b"));
	CHECK(path_within("anything", ""));
	return check_done();
}
