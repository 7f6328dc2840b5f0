/* media_type.c: what each media type of image data names. */
#include <stddef.h>
#include <string.h>

#include "media_type.h"

static int
is(const char *t, const char *a, const char *b)
{
	return t != NULL && (strcmp(t, a) == 0 || strcmp(t, b) == 0);
}

int
media_type_is_index(const char *t)
{
	return is(t, MT_OCI_INDEX, MT_DOCKER_LIST);
}

int
media_type_is_manifest(const char *t)
{
	return is(t, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST);
}

int
media_type_is_config(const char *t)
{
	return is(t, MT_OCI_CONFIG, MT_DOCKER_CONFIG);
}

static const struct {
	const char *type;
	enum layer_compression compression;
} layer_types[] = {
    {MT_DOCKER_LAYER_GZIP, LAYER_GZIP}, {MT_DOCKER_FOREIGN_GZIP, LAYER_GZIP},
    {MT_DOCKER_LAYER, LAYER_TAR},       {MT_OCI_LAYER, LAYER_TAR},
    {MT_OCI_LAYER_GZIP, LAYER_GZIP},    {MT_OCI_LAYER_ZSTD, LAYER_ZSTD},
    {MT_OCI_FOREIGN, LAYER_TAR},        {MT_OCI_FOREIGN_GZIP, LAYER_GZIP},
    {MT_OCI_FOREIGN_ZSTD, LAYER_ZSTD},
};

int
media_type_layer(const char *t, enum layer_compression *c)
{
	for (size_t k = 0; t && k < sizeof(layer_types) / sizeof(*layer_types);
	     k++)
		if (strcmp(t, layer_types[k].type) == 0) {
			*c = layer_types[k].compression;
			return 0;
		}
	return -1;
}

const char *
media_type_oci_layer(const char *compression)
{
	if (compression == NULL || strcmp(compression, "none") == 0)
		return MT_OCI_LAYER;
	if (strcmp(compression, "gzip") == 0)
		return MT_OCI_LAYER_GZIP;
	if (strcmp(compression, "zstd") == 0)
		return MT_OCI_LAYER_ZSTD;
	return NULL;
}

const char *
media_type_compression_name(enum layer_compression c)
{
	return c == LAYER_GZIP ? "gzip" : c == LAYER_ZSTD ? "zstd" : "none";
}
