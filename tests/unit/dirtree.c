/*
 * dirtree: prints a directory walk of common/dirtree, one line per entry,
 * for tests/dirtree.bats.
 *
 *	dirtree [-s] [-l] [-a] [-x] [-p PREFIX] [-t] DIR
 *	dirtree -c A B          prints <, = or > for dirtree_cmp(A, B)
 *
 * Each line: typeflag, mode (octal), uid:gid, size, name, "-> linkname",
 * then "xattr KEY=HEXVALUE" for each record and the SHA-256 of the data.
 * -s DIRTREE_SELF, -l DIRTREE_HARDLINKS, -a DIRTREE_ALL_XATTRS,
 * -x DIRTREE_NO_XATTRS; -t walks twice and prints "same" or "changed
 * NAME" after comparing stamps (-w waits for a line on stdin between the
 * walks, so a test can change the tree); -P prunes every directory whose
 * name ends in "prune/".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "dirtree.h"
#include "errors.h"

static void
print_entry(struct dirtree *t, struct dirtree_entry *e)
{
	const struct tar_entry *te = &e->tar;
	struct digest d;
	char buf[4096], hex[DIGEST_MAX_HEX];
	ssize_t n;

	printf("%c %04" PRIo64 " %" PRId64 ":%" PRId64 " %" PRId64 " %s",
	       te->typeflag, te->mode, te->uid, te->gid, te->size, te->name);
	if (*te->linkname)
		printf(" -> %s", te->linkname);
	if (te->typeflag == '3' || te->typeflag == '4')
		printf(" dev %" PRId64 ",%" PRId64, te->devmajor, te->devminor);
	for (size_t i = 0; i < te->nrecords; i++) {
		printf(" %s=", te->records[i].key);
		for (size_t j = 0; j < te->records[i].len; j++)
			printf("%02x", (unsigned char)te->records[i].value[j]);
	}
	if (te->typeflag == '0') {
		digest_init(&d, "sha256");
		while ((n = dirtree_read(t, buf, sizeof(buf))) > 0)
			digest_update(&d, buf, (size_t)n);
		digest_final_hex(&d, hex);
		if (n < 0)
			errx(EXIT_DATA, "%s", dirtree_error(t));
		printf(" sha256:%.12s", hex);
	}
	printf("\n");
}

static size_t
walk(const char *dir, const char *prefix, unsigned flags, int prune,
     uint64_t **stamps, size_t nstamps, int compare)
{
	struct dirtree *t = dirtree_open(dir, prefix, flags);
	struct dirtree_entry *e;
	size_t i = 0;
	int got;

	if (t == NULL)
		err(EXIT_DATA, "%s", dir);
	while ((got = dirtree_next(t, &e)) == 1) {
		if (!compare)
			print_entry(t, e);
		else
			while (dirtree_read(t, (char[4096]){0}, 4096) > 0)
				;
		if (prune && strlen(e->tar.name) >= 6 &&
		    strcmp(e->tar.name + strlen(e->tar.name) - 6, "prune/") ==
		        0)
			dirtree_prune(t);
		uint64_t s = dirtree_stamp(t);
		if (compare == 1) {
			*stamps =
			    reallocarray(*stamps, i + 1, sizeof(**stamps));
			(*stamps)[i] = s;
		} else if (compare == 2 &&
		           (i >= nstamps || (*stamps)[i] != s)) {
			printf("changed %s\n", e->tar.name);
			exit(0);
		}
		i++;
	}
	if (got < 0)
		errx(EXIT_DATA, "%s", dirtree_error(t));
	dirtree_close(t);
	return i;
}

int
main(int argc, char **argv)
{
	const char *prefix = NULL;
	unsigned flags = 0;
	int c, twice = 0, wait = 0, prune = 0;

	/* Lines and warnings in the order they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "-c") == 0) {
		int r = dirtree_cmp(argv[2], argv[3]);
		printf("%s\n", r < 0 ? "<" : r > 0 ? ">" : "=");
		return 0;
	}
	while ((c = getopt(argc, argv, "slaxp:twP")) != -1) {
		switch (c) {
		case 's':
			flags |= DIRTREE_SELF;
			break;
		case 'l':
			flags |= DIRTREE_HARDLINKS;
			break;
		case 'a':
			flags |= DIRTREE_ALL_XATTRS;
			break;
		case 'x':
			flags |= DIRTREE_NO_XATTRS;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 't':
			twice = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 'P':
			prune = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc)
		errx(2, "usage: dirtree [-slaxtwP] [-p PREFIX] DIR");
	if (!twice) {
		walk(argv[optind], prefix, flags, prune, NULL, 0, 0);
		return 0;
	}
	uint64_t *stamps = NULL;
	size_t n = walk(argv[optind], prefix, flags, prune, &stamps, 0, 1);
	if (wait) {
		char line[64];
		printf("ready\n");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 1;
	}
	if (walk(argv[optind], prefix, flags, prune, &stamps, n, 2) != n)
		printf("changed count\n");
	else
		printf("same\n");
	free(stamps);
	return 0;
}
