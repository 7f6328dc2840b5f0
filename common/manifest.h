/*
 * manifest.h: what a registry serves to describe an image: Docker schema2
 * and OCI image manifests, Docker manifest lists and OCI indexes, and the
 * image config's diff_ids.
 *
 * Everything is parsed from memory buffers and errors are returned, never
 * fatal, so that any bytes a server sends can be fed to these functions.
 * A struct manifest owns all its strings; manifest_free releases them.
 */
#ifndef DI_MANIFEST_H
#define DI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST                                                     \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"
/* What a registry is asked for, best first. */
#define MANIFEST_ACCEPT                                                        \
	MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST                  \
	             ", " MT_DOCKER_MANIFEST

/* How a layer blob is compressed, from its media type. */
enum layer_compression { LAYER_TAR, LAYER_GZIP, LAYER_ZSTD };

struct descriptor {
	char *media_type; /* may be NULL for an index entry */
	char *digest;     /* "sha256:<hex>" */
	int64_t size;
	/* Index entries only. */
	char *os, *arch, *variant;
	int attestation; /* an attestation manifest, not an image */
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

/* GOARCH of the machine this was built for ("amd64", "arm64"...). */
const char *manifest_host_arch(void);
/* Its default variant ("v7" on 32-bit arm), or NULL. */
const char *manifest_host_variant(void);

/*
 * The rootfs.diff_ids of an image config: *IDS (malloc'd array of malloc'd
 * strings, *N of them), or -1 and *WHY.
 */
int manifest_config_diff_ids(const char *s, size_t len, char ***ids, size_t *n,
                             char **why);
void manifest_free_diff_ids(char **ids, size_t n);

#endif
