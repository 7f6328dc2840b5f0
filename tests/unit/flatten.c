/*
 * flatten: the flattened tree of the layer files given, bottom first, on
 * standard output (a driver for tests/flatten.bats).
 *
 *	flatten LAYER...
 */
#include <stdio.h>
#include <unistd.h>

#include "errors.h"
#include "flatten.h"
#include "timestamp.h"

int
main(int argc, char **argv)
{
	struct flatten_layers layers = {
	    .count = (size_t)(argc - 1),
	    .open = flatten_open_path,
	    .ctx = argv + 1,
	};
	struct tar_writer *w;

	if (argc < 2)
		errx(EXIT_USAGE, "usage: flatten LAYER...");
	w = tar_writer_new(STDOUT_FILENO);
	flatten_write(&layers, w, timestamp_default());
	tar_writer_finish(w);
	return 0;
}
