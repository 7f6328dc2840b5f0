/*
 * media_type.h: the media types of OCI and Docker image data, named once
 * for the archive reader and writer and the registry client alike.
 *
 * The string constants are the specs' spellings; the predicates say which
 * kind of document a type names.  Layer types carry their compression.
 */
#ifndef DI_MEDIA_TYPE_H
#define DI_MEDIA_TYPE_H

/* Manifests and indexes. */
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST                                                     \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_SCHEMA1_SIGNED                                                      \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Image configs. */
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* Layers. */
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP MT_OCI_LAYER "+gzip"
#define MT_OCI_LAYER_ZSTD MT_OCI_LAYER "+zstd"
#define MT_OCI_FOREIGN "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MT_OCI_FOREIGN_GZIP MT_OCI_FOREIGN "+gzip"
#define MT_OCI_FOREIGN_ZSTD MT_OCI_FOREIGN "+zstd"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_LAYER_GZIP MT_DOCKER_LAYER ".gzip"
#define MT_DOCKER_FOREIGN_GZIP                                                 \
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* What a registry is asked for, best first. */
#define MANIFEST_ACCEPT                                                        \
	MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST                  \
	             ", " MT_DOCKER_MANIFEST

/* How a layer blob is compressed, from its media type. */
enum layer_compression { LAYER_TAR, LAYER_GZIP, LAYER_ZSTD };

/* Is T (NULL allowed) an OCI index or a Docker manifest list? */
int media_type_is_index(const char *t);
/* Is T (NULL allowed) an OCI or Docker schema 2 image manifest? */
int media_type_is_manifest(const char *t);
/* Is T (NULL allowed) an OCI or Docker image config? */
int media_type_is_config(const char *t);
/* Is T a layer type?  0 and *C set, or -1. */
int media_type_layer(const char *t, enum layer_compression *c);
/* The OCI layer type for COMPRESSION ("none", "gzip", "zstd"), or NULL. */
const char *media_type_oci_layer(const char *compression);
/* "none", "gzip" or "zstd", as instream_compression names them. */
const char *media_type_compression_name(enum layer_compression c);

#endif
