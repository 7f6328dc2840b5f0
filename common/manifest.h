/*
 * manifest.h: the documents that describe an image, wherever they come
 * from (a registry, or an image archive's index.json and blobs): Docker
 * schema2 and OCI image manifests, Docker manifest lists and OCI indexes,
 * their descriptors, choosing a platform from an index, and the image
 * config's diff_ids.  The media types are named in media_type.h, the
 * platforms in platform.h.
 *
 * Everything is parsed from memory buffers and errors are returned, never
 * fatal, so that any bytes a server or an archive holds can be fed to
 * these functions.  A struct manifest owns all its strings; manifest_free
 * releases them.
 */
#ifndef DI_MANIFEST_H
#define DI_MANIFEST_H

#include <jv.h>
#include <stddef.h>
#include <stdint.h>

#include "media_type.h"
#include "platform.h"

struct descriptor {
	char *media_type; /* may be NULL for an index entry */
	char *digest;     /* "sha256:<hex>" */
	int64_t size;
	/* Index entries only. */
	char *os, *arch, *variant;
	int attestation; /* an attestation manifest, not an image */
	/* The names an image archive's index gives the entry, or NULL. */
	char *ref_name;   /* org.opencontainers.image.ref.name */
	char *image_name; /* io.containerd.image.name */
	/* Layers only. */
	enum layer_compression compression;
	int has_urls; /* a foreign layer that names other places to get it */
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
	enum manifest_kind kind;
	char *media_type;
	struct descriptor config;     /* images */
	struct descriptor *layers;    /* images */
	struct descriptor *manifests; /* indexes */
	size_t nlayers, nmanifests;
};

/*
 * Parse the LEN bytes at S, served with CONTENT_TYPE (may be NULL).  Refuses
 * schema 1, artifacts that are not container images, and ambiguous
 * documents.  0 and *M filled, or -1 and *WHY (malloc'd).
 */
int manifest_parse(const char *s, size_t len, const char *content_type,
                   struct manifest *m, char **why);
void manifest_free(struct manifest *m);

/*
 * The entry of index M for OS/ARCH/VARIANT (VARIANT NULL: any that is
 * the architecture's default), attestations skipped.  Returns its index,
 * or -1 and *WHY listing the platforms the index holds.
 */
long manifest_select(const struct manifest *m, const char *os, const char *arch,
                     const char *variant, char **why);

/*
 * The first entry of index M that is an image or an index (not an
 * attestation), whatever its platform; -1 when there is none.
 */
long manifest_first(const struct manifest *m);

/* The platform of index entry D (its strings borrowed). */
struct platform descriptor_platform(const struct descriptor *d);

/*
 * The rootfs.diff_ids of an image config: *IDS (malloc'd array of malloc'd
 * strings, *N of them), or -1 and *WHY.
 */
int manifest_config_diff_ids(const char *s, size_t len, char ***ids, size_t *n,
                             char **why);
void manifest_free_diff_ids(char **ids, size_t n);

/*
 * The same from a config already parsed (V borrowed), for a reader that
 * keeps the config as JSON.
 */
int manifest_config_diff_ids_jv(jv v, char ***ids, size_t *n, char **why);

#endif
