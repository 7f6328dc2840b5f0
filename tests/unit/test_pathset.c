/*
 * test_pathset: the path set keeps a million paths, finds each, keeps records
 * in place while it grows, sorts bytewise (TAP).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pathset.h"

static int failed, count;

static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++count, what);
	if (!cond)
		failed = 1;
}

static void
name(char *buf, size_t n, unsigned i)
{
	snprintf(buf, n, "usr/share/d%u/sub%u/file-%u.txt", i % 977, i % 13, i);
}

int
main(void)
{
	enum { N = 1000000 };
	struct pathset *s = pathset_new(16);
	struct path_info *first = NULL, *p, **v;
	char buf[128];
	int added, good = 1;
	clock_t t0 = clock();

	for (unsigned i = 0; i < N; i++) {
		name(buf, sizeof(buf), i);
		p = pathset_add(s, buf, &added);
		good &= added && strcmp(p->path, buf) == 0 && p->type == 0;
		p->aux = i;
		pathset_extra(s, p)[15] = (unsigned char)i;
		if (i == 0)
			first = p;
	}
	ok(good, "a million distinct paths are added");
	ok(pathset_count(s) == N, "the count is a million");
	good = 1;
	for (unsigned i = 0; i < N; i++) {
		name(buf, sizeof(buf), i);
		p = pathset_get(s, buf);
		good &= p != NULL && p->aux == i &&
		        pathset_extra(s, p)[15] == (unsigned char)i;
		good &= pathset_add(s, buf, &added) == p && !added;
	}
	ok(good, "each is found again, with its data");
	ok(first == pathset_get(s, "usr/share/d0/sub0/file-0.txt") &&
	       first == pathset_at(s, 0),
	   "a record stays where it was as the set grows");
	ok(pathset_get(s, "usr/share/d0/sub0/file-0.tx") == NULL &&
	       pathset_getn(s, "usr/share/d0/sub0/file-0.txt", 5) == NULL,
	   "prefixes are not members");
	p = pathset_addn(s, "usr/share", 3, &added);
	ok(added && strcmp(p->path, "usr") == 0 && pathset_get(s, "usr") == p,
	   "addn takes a prefix");
	pathset_add(s, "", NULL);
	pathset_add(s, "a-b", NULL);
	pathset_add(s, "a/b", NULL);
	pathset_add(s, "a", NULL);
	v = pathset_sorted(s);
	good = v[pathset_count(s)] == NULL;
	for (size_t i = 1; i < pathset_count(s); i++)
		good &= strcmp(v[i - 1]->path, v[i]->path) < 0;
	ok(good && *v[0]->path == '\0' && strcmp(v[1]->path, "a") == 0 &&
	       strcmp(v[2]->path, "a-b") == 0 && strcmp(v[3]->path, "a/b") == 0,
	   "sorted bytewise, the root first");
	free(v);
	pathset_free(s);
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 20,
	   "a million paths take seconds, not minutes");
	printf("1..%d\n", count);
	return failed;
}
