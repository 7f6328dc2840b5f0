/*
 * refscan: feeds standard input to common/refgraph's reference scanner in
 * pieces of PIECE bytes and prints, in the order given, each HASH found.
 *
 *	refscan PIECE HASH... <data
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "refgraph.h"

static void
mark(void *arg, size_t id)
{
	((int *)arg)[id] = 1;
}

int
main(int argc, char **argv)
{
	size_t piece = argc > 1 ? (size_t)atol(argv[1]) : 0;
	struct refscan *s = refscan_new();
	int *found = calloc((size_t)argc, sizeof(*found));
	char *buf = malloc(piece ? piece : 1);
	ssize_t n;

	if (piece == 0 || found == NULL || buf == NULL)
		errx(2, "usage: refscan PIECE HASH...");
	for (int i = 2; i < argc; i++) {
		if (strlen(argv[i]) != REFGRAPH_HASH_LEN)
			errx(2, "%s: not %d characters", argv[i],
			     REFGRAPH_HASH_LEN);
		refscan_add(s, argv[i], (size_t)i);
	}
	while ((n = read(STDIN_FILENO, buf, piece)) > 0)
		refscan_feed(s, buf, (size_t)n);
	refscan_take(s, mark, found);
	for (int i = 2; i < argc; i++)
		if (found[i])
			printf("%s\n", argv[i]);
	refscan_free(s);
	free(found);
	free(buf);
	return 0;
}
