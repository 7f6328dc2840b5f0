/*
 * Fuzz the stream sniff and the IMAGE reader: the member index,
 * manifest.json, index.json and its blobs, repositories and the legacy parent
 * chain, configs and their diff_ids, then every layer read as a tar and checked
 * against its diff_id.  The reader opens a path, so the input is put in a memfd
 * and opened through /proc/self/fd.  Its errors end in errx(), which jumps back
 * here (fuzz.h); what the failed run held is reclaimed (reclaim.h).
 *
 * The first byte chooses how the image is asked for (the first one, or by
 * name and tag); the rest is the archive.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "image.h"
#include "reclaim.h"
#include "stream_kind.h"

static int memfd = -1;
static char memfd_path[64];

static void
read_layer(struct image *img, size_t i)
{
	struct image_layer *l = image_layer_open(img, i);
	struct tar_reader *r = image_layer_tar(l);
	struct tar_entry *e;
	char buf[4096];

	while (tar_reader_next(r, &e) == 1)
		while (tar_reader_read(r, buf, sizeof(buf)) > 0)
			;
	image_layer_close(l);
}

static void
read_image(const char *name, const char *tag)
{
	struct image *img = image_open(memfd_path, name, tag);
	size_t len;

	(void)image_form(img);
	(void)image_config_bytes(img, &len);
	for (size_t i = 0; i < image_layer_count(img); i++) {
		(void)image_layer_diff_id(img, i);
		(void)image_layer_v1_id(img, i);
		(void)image_layer_compression(img, i);
		read_layer(img, i);
	}
	image_close(img);
}

static int
load(const uint8_t *data, size_t size)
{
	if (ftruncate(memfd, 0) < 0)
		return -1;
	for (size_t done = 0; done < size;) {
		ssize_t n =
		    pwrite(memfd, data + done, size - done, (off_t)done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* One run over DATA; returns whether it failed (errx). */
static int
run(const uint8_t *data, size_t size)
{
	static const char *const names[] = {NULL, "hostile", "hostile",
	                                    "docker.io/library/busybox"};
	static const char *const tags[] = {NULL, NULL, "1", "latest"};
	volatile int failed = 1;
	unsigned pick;

	if (size < 1)
		return 0;
	pick = data[0] & 3;
	if (load(data + 1, size - 1) < 0)
		return 0;
	reclaim_begin();
	if (FUZZ_TRY()) {
		/* The sniff never fails: a damaged tar is a tree. */
		(void)stream_kind_of(memfd, "fuzz");
		read_image(names[pick], tags[pick]);
		failed = 0;
	}
	reclaim_end(failed);
	return failed;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
tar_member(FILE *f, const char *name, const char *data, size_t n)
{
	unsigned char h[512] = {0};
	unsigned sum = 0;

	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", n);
	snprintf((char *)h + 136, 12, "%011o", 1);
	h[156] = '0';
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	fwrite(h, 1, 512, f);
	fwrite(data, 1, n, f);
	static const char zeros[512];
	fwrite(zeros, 1, (512 - n % 512) % 512, f);
}

/*
 * A good image first (one empty layer: two zero blocks), so that libraries
 * set up what they keep for good (digest tables, per-thread contexts)
 * outside any reclaimed run.
 */
static void
warm_up(void)
{
	static const char layer[1024];
	static const char config[] =
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
	    "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
	    "\"]},\"history\":[{\"created\":\"1970-01-01T00:00:01Z\"}],"
	    "\"created\":\"1970-01-01T00:00:01Z\",\"x\":1.5e3}";
	static const char manifest[] =
	    "[{\"Config\":\"c.json\",\"RepoTags\":[\"hostile:1\"],"
	    "\"Layers\":[\"l/layer.tar\"]}]";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char zeros[1024];

	putc(0, f);
	tar_member(f, "l/layer.tar", layer, sizeof(layer));
	tar_member(f, "c.json", config, sizeof(config) - 1);
	tar_member(f, "manifest.json", manifest, sizeof(manifest) - 1);
	fwrite(zeros, 1, sizeof(zeros), f);
	fclose(f);
	if (run((const uint8_t *)buf, len))
		abort(); /* the warm-up image must be good */
	free(buf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	reclaim_init();
	warm_up();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size);
	return 0;
}
