/*
 * image.h: the IMAGE stream, one archive of a container image that
 * docker load, podman load, skopeo (docker-archive: and oci-archive:) and,
 * once unpacked, umoci all take.
 *
 * The writer makes it in one pass: a layer's bytes are copied through while
 * their SHA-256 is computed, and every name that needs a digest (OCI blobs,
 * the config, the manifests) is written after the data, as tar member order
 * is free.  Layer bytes are stored once, at <id>/layer.tar (id: the seed's
 * legacy id); other names for them are symlinks.  Formats:
 *
 *   legacy   repositories, <id>/VERSION, <id>/json, <id>/layer.tar
 *   docker   legacy + <config digest>.json + manifest.json
 *   hybrid   docker + oci-layout, index.json, blobs/sha256/... (default)
 *   oci      <id>/layer.tar + oci-layout, index.json, blobs/sha256/...
 *
 * The reader takes all of those and every other common form: docker save
 * (manifest.json, with or without legacy directories, with or without an
 * OCI layout), skopeo's docker-archive, an OCI image layout (oci-archive),
 * the seed's repositories-only form (a parent chain of <id>/json), layers
 * compressed with gzip or zstd, the whole archive compressed, from a file
 * or a pipe (spooled to $TMPDIR up to the end-of-archive, since members
 * come in any order: common/spool).  Manifests, indexes, descriptors and
 * diff_ids are read with the same code as a registry's (manifest.h), names
 * with the reference grammar (image_ref.h), platforms with platform.h.
 *
 * Malformed images are fatal: errx(EXIT_DATA, "LABEL: what: why").
 */
#ifndef DI_IMAGE_H
#define DI_IMAGE_H

#include <jv.h>
#include <stddef.h>
#include <stdint.h>

#include "instream.h"
#include "tar_reader.h"

/* --- reading ----------------------------------------------------------- */

struct image;

/*
 * Open the IMAGE at PATH ("-" or NULL: standard input) and choose one image
 * in it: the one tagged NAME:TAG when NAME is given (TAG NULL: any tag of
 * NAME, "latest" first), else the first.  Docker's reference defaults apply
 * when names are compared ("busybox" is "docker.io/library/busybox").  Checks
 * that the image has as many layers as its config has diff_ids.  An image
 * in the repositories-only form has no diff_ids: each layer is read once
 * here to learn them.
 */
struct image *image_open(const char *path, const char *name, const char *tag);
/*
 * The same for the archive on FD (taken over: a file read from its start,
 * a spool, or a pipe), named LABEL in messages: an image opened from a
 * descriptor, for a tool that has looked at the input already
 * (stream_kind.h).
 */
struct image *image_open_fd(int fd, const char *label, const char *name,
                            const char *tag);
void image_close(struct image *img);
/*
 * Every image of an archive, one by one: the ENTRY-th image that
 * manifest.json or index.json lists (from 0) and, when that entry is an
 * index, its PLATFORM-th manifest; errx when there is none.  The chosen
 * image tells how many entries the archive lists, and how many manifests
 * the index it was chosen from holds (1 when it was not).
 */
struct image *image_open_at(int fd, const char *label, size_t entry,
                            size_t platform);
size_t image_entry_count(const struct image *img);
size_t image_platform_count(const struct image *img);

/*
 * Multi-platform: as image_open, but an OCI layout is read before
 * manifest.json, so that the index the image was chosen from (for this
 * machine, else its first image) is kept.  image_index_count is the number
 * of entries of that index (0: the archive names a single image);
 * image_index_image opens entry K from the same archive (a view of its
 * own) and borrows its platform's strings from IMG.
 */
struct image *image_open_index(const char *path, const char *name,
                               const char *tag);
size_t image_index_count(const struct image *img);
const char *image_index_bytes(const struct image *img, size_t *len);
struct image *image_index_image(const struct image *img, size_t k,
                                const char **os, const char **arch,
                                const char **variant);

/* The input's name, for messages. */
const char *image_label(const struct image *img);
/*
 * The names the archive gives the chosen image (a new array of strings:
 * manifest.json's RepoTags, an index entry's name; empty when it has none).
 */
jv image_names(const struct image *img);
/* How the chosen image was found: "docker", "oci" or "legacy". */
const char *image_form(const struct image *img);
/*
 * The image config (borrowed: jv_copy it to keep it).  For the legacy form
 * it is made from the top layer's json: architecture, os, config, created,
 * history (one entry per layer) and rootfs.diff_ids.
 */
jv image_config(const struct image *img);
/* The config's bytes as stored (for the legacy form: of image_config). */
const char *image_config_bytes(const struct image *img, size_t *len);
/* The OCI manifest blob's bytes as stored; NULL when the image has none
 * (docker or legacy form only). */
const char *image_manifest_bytes(const struct image *img, size_t *len);

/* Layers, bottom first. */
size_t image_layer_count(const struct image *img);
/* "sha256:<hex>" of layer I's uncompressed bytes, from the config. */
const char *image_layer_diff_id(const struct image *img, size_t i);
/* Size of layer I as stored (compressed or not). */
int64_t image_layer_size(const struct image *img, size_t i);
/* "none", "gzip", "zstd", "xz" or "bzip2", from layer I's first bytes. */
const char *image_layer_compression(const struct image *img, size_t i);
/* "sha256:<hex>" of layer I as stored when the archive names it (OCI). */
const char *image_layer_digest(const struct image *img, size_t i);
/* The archive member that holds layer I (symlinks followed). */
const char *image_layer_path(const struct image *img, size_t i);
/*
 * The legacy id and json text of layer I, when every layer of the image
 * has its <id>/json and their "parent" fields chain them bottom to top;
 * else NULL.
 */
const char *image_layer_v1_id(const struct image *img, size_t i);
const char *image_layer_v1_json(const struct image *img, size_t i);

/*
 * Layer I as a tar of its decompressed bytes.  Layers can be opened in any
 * order and several at once.  image_layer_close reads what is left of the
 * layer, checks its diff_id (errx on a mismatch) and frees L.
 */
struct image_layer;
struct image_layer *image_layer_open(struct image *img, size_t i);
struct tar_reader *image_layer_tar(struct image_layer *l);
void image_layer_close(struct image_layer *l);

/*
 * Layer I's bytes as stored, not decompressed and not checked: for copying
 * a layer unchanged (the copier checks the digest it computes anyway).
 * Close with instream_close.
 */
struct instream *image_layer_raw(struct image *img, size_t i);

/*
 * Layer I's bytes decompressed (all of them, what its diff_id covers), not
 * checked: the reader computes the digest itself.  Close with
 * instream_close.
 */
struct instream *image_layer_bytes(struct image *img, size_t i);

/* --- writing ----------------------------------------------------------- */

enum image_format { IMAGE_HYBRID, IMAGE_DOCKER, IMAGE_OCI, IMAGE_LEGACY };

/* "hybrid", "docker", "oci", "legacy"; -1 for anything else. */
int image_format_parse(const char *s, enum image_format *f);

struct image_writer;

/*
 * Start an IMAGE on FD for NAME:TAG (TAG NULL: "latest").  MTIME is the
 * time of every member (SOURCE_DATE_EPOCH, else 1).
 */
struct image_writer *image_writer_new(int fd, const char *name, const char *tag,
                                      enum image_format format, int64_t mtime);

/*
 * Store every plain layer begun from now on compressed with KIND
 * (compress.h) on THREADS threads (0: one per processor): <id>/layer.tar
 * and the OCI blob hold the compressed bytes, written in place with the
 * header after them (a regular file), else spooled to $TMPDIR while the
 * layer goes by; diff_ids stay those of the plain tar.  Layers that come
 * compressed are stored as they are.  zstd only for IMAGE_OCI (errx).
 */
enum compress_kind;
void image_writer_compress(struct image_writer *w, enum compress_kind kind,
                           int threads);

/* What the writer needs to know about a layer before its bytes. */
struct image_layer_meta {
	const char *label;       /* for messages: the input's name */
	int64_t size;            /* bytes that follow, exactly */
	const char *compression; /* NULL or "none"; "gzip", "zstd": as is */
	/* Of a layer stored compressed, its size decompressed: the legacy
	 * json's "Size", as for a layer image_writer_compress compresses (0:
	 * SIZE). */
	int64_t plain_size;
	/*
	 * The uncompressed layer's digest when known before the bytes: for a
	 * plain layer it is checked against what is computed; a compressed
	 * layer must have it.
	 */
	const char *diff_id;
	/*
	 * The layer's legacy json (a BUNDLE's json; for the top layer with
	 * "config" set), or NULL for "{}".  The writer adds "parent" (the
	 * layer below), takes id = sha256 of that text (of V1_JSON as given
	 * when there is no parent, as the seed did), then adds "id" and "Size".
	 */
	const char *v1_json;
	/*
	 * With V1_JSON: keep this id and the json text unchanged (a base
	 * image's legacy layer, whose "parent" already names the layer below).
	 */
	const char *v1_id;
	/*
	 * "sha256:<hex>" of the bytes as given: needed by the images after
	 * the first of a multi-platform archive (stored by digest, once).
	 */
	const char *digest;
};

/* Begin a layer; its SIZE bytes follow with image_writer_layer_write. */
void image_writer_layer_begin(struct image_writer *w,
                              const struct image_layer_meta *m);
void image_writer_layer_write(struct image_writer *w, const void *p, size_t n);
/*
 * End the layer: errx when fewer bytes came than announced or the diff_id
 * differs from the one announced.  Returns the layer's diff_id (valid
 * until image_writer_finish).
 */
const char *image_writer_layer_end(struct image_writer *w);
/* The legacy id of the last layer begun (NULL before the first). */
const char *image_writer_top_v1_id(const struct image_writer *w);

/*
 * Write the config, manifests and names, the end-of-archive, and free W.
 * CONFIG (consumed) is the image config (architecture, os, config,
 * created, history); its rootfs is set from the layers written.  It is
 * written canonically (json_dump), so its digest is reproducible.
 */
void image_writer_finish(struct image_writer *w, jv config);
/*
 * The same with a config kept byte for byte (a pulled image's, so that its
 * digest, the image id, stays); its rootfs.diff_ids must equal the layers'.
 */
void image_writer_finish_raw(struct image_writer *w, const char *config,
                             size_t len);
/*
 * Before image_writer_finish_raw (OCI layout only): write the LEN bytes
 * at TEXT byte for byte as the OCI manifest blob, so that a stored
 * image's manifest digest stays.  At finish, errx naming the first
 * mismatch unless they describe what was written: the config's digest
 * and size, the layers' digests, sizes and media types, in order.
 */
void image_writer_manifest_blob(struct image_writer *w, const char *text,
                                size_t len);
/*
 * A multi-platform IMAGE (an OCI index; formats hybrid and oci): end the
 * image whose layers were just written, with its CONFIG kept byte for
 * byte as in image_writer_finish_raw, and begin the next.  The first
 * image ended is the one the Docker-facing part (manifest.json, legacy)
 * names; the layers of the later ones are stored by digest only, each
 * blob once (image_layer_meta.digest).
 */
void image_writer_next_image(struct image_writer *w, const char *config,
                             size_t len);
/*
 * Write index.json naming (NAME:TAG, as for one image) an OCI index of
 * the images ended, each manifest with its platform (os, architecture,
 * variant from its config), in the order they were ended; then the
 * end-of-archive; free W.
 */
void image_writer_finish_index(struct image_writer *w);

/*
 * Stop after a failure and free W: no end-of-archive, and a block that no
 * tar reader takes for a header, so that what reads the archive fails
 * rather than take a cut one for whole.  A tool that exits (errx) with a
 * writer unfinished gets the same from an exit handler.
 */
void image_writer_abandon(struct image_writer *w);

#endif
