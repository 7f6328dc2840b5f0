/*
 * upperdir: the layer of an overlayfs upper directory made by hand, on
 * standard output (a driver for tests/di-overlay.bats): marks that the
 * kernel makes but a command cannot, on their own.
 *
 *	upperdir DIR [UID GID COUNT]
 */
#include <stdlib.h>
#include <unistd.h>

#include "errors.h"
#include "upperdir.h"

int
main(int argc, char **argv)
{
	struct rootdir_ids ids = {0};
	struct tar_writer *w;

	if (argc != 2 && argc != 5)
		errx(EXIT_USAGE, "usage: upperdir DIR [UID GID COUNT]");
	if (argc == 5) {
		ids.uid = strtoul(argv[2], NULL, 10);
		ids.gid = strtoul(argv[3], NULL, 10);
		ids.count = strtoul(argv[4], NULL, 10);
	}
	w = tar_writer_new(STDOUT_FILENO);
	upperdir_write_layer(argv[1], w, 1, &ids);
	tar_writer_finish(w);
	return 0;
}
