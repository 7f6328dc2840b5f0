/*
 * manifest.c: parsing registry manifests and indexes, and choosing a
 * platform from an index.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "digest.h"
#include "errors.h"
#include "json.h"
#include "manifest.h"
#include "xalloc.h"

#define MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_SCHEMA1_SIGNED                                                      \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

static char *
xstrdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* "type/subtype; charset=..." -> a malloc'd "type/subtype", or NULL. */
static char *
bare_media_type(const char *ct)
{
	size_t n;
	char *s;

	if (ct == NULL)
		return NULL;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 0)
		return NULL;
	if ((s = strndup(ct, n)) == NULL)
		err(EXIT_DATA, "malloc");
	return s;
}

static const struct {
	const char *type;
	enum layer_compression compression;
} layer_types[] = {
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.diff.tar", LAYER_TAR},
    {"application/vnd.oci.image.layer.v1.tar", LAYER_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", LAYER_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", LAYER_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", LAYER_TAR},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
     LAYER_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
     LAYER_ZSTD},
};

static int
size_of(jv d, int64_t *size)
{
	jv s = json_get(jv_copy(d), "size");
	double v = jv_get_kind(s) == JV_KIND_NUMBER ? jv_number_value(s) : -1;

	jv_free(s);
	/* Whole numbers up to 2^53 are exact in a double. */
	if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(int64_t)v)
		return -1;
	*size = (int64_t)v;
	return 0;
}

/* The fields every descriptor has: mediaType, digest, size. */
static int
parse_descriptor(jv d, const char *what, struct descriptor *out, char **why)
{
	const char *digest;

	memset(out, 0, sizeof(*out));
	if (jv_get_kind(d) != JV_KIND_OBJECT)
		return error_set(why, "%s is not a JSON object", what);
	digest = json_peek_string(d, "digest");
	if (digest == NULL)
		return error_set(why, "%s has no digest", what);
	if (!digest_is_sha256(digest))
		return error_set(why,
		                 "%s: digest \"%.80s\" is not sha256:<64 hex>",
		                 what, digest);
	if (size_of(d, &out->size) < 0)
		return error_set(why, "%s has no valid size", what);
	out->digest = xstrdup_or_null(digest);
	out->media_type = xstrdup_or_null(json_peek_string(d, "mediaType"));
	return 0;
}

static void
descriptor_free(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

static int
parse_layer(jv d, size_t i, struct descriptor *out, char **why)
{
	char what[48];
	size_t k;

	snprintf(what, sizeof(what), "layer %zu", i + 1);
	if (parse_descriptor(d, what, out, why) < 0)
		return -1;
	for (k = 0; k < sizeof(layer_types) / sizeof(layer_types[0]); k++)
		if (out->media_type &&
		    strcmp(out->media_type, layer_types[k].type) == 0)
			break;
	if (k == sizeof(layer_types) / sizeof(layer_types[0]))
		return error_set(
		    why, "%s: media type \"%.100s\" is not a layer", what,
		    out->media_type ? out->media_type : "(none)");
	out->compression = layer_types[k].compression;
	out->has_urls = json_peek_is(d, "urls", JV_KIND_ARRAY);
	return 0;
}

static int
parse_image(jv v, struct manifest *m, char **why)
{
	jv config = json_get(jv_copy(v), "config");
	jv layers = json_get(jv_copy(v), "layers");
	int rc = -1;

	m->kind = MANIFEST_IMAGE;
	if (parse_descriptor(config, "config", &m->config, why) < 0)
		goto out;
	const char *ct = m->config.media_type;
	if (ct == NULL || (strcmp(ct, MT_DOCKER_CONFIG) != 0 &&
	                   strcmp(ct, MT_OCI_CONFIG) != 0)) {
		error_set(why,
		          "not a container image: config media type \"%.100s\"",
		          ct ? ct : "(none)");
		goto out;
	}
	if (jv_get_kind(layers) != JV_KIND_ARRAY) {
		error_set(why, "manifest has no layers array");
		goto out;
	}
	m->nlayers = (size_t)jv_array_length(jv_copy(layers));
	m->layers = calloc(m->nlayers ? m->nlayers : 1, sizeof(*m->layers));
	if (m->layers == NULL)
		err(EXIT_DATA, "malloc");
	for (size_t i = 0; i < m->nlayers; i++) {
		jv d = jv_array_get(jv_copy(layers), (int)i);
		int bad = parse_layer(d, i, &m->layers[i], why) < 0;
		jv_free(d);
		if (bad)
			goto out;
	}
	rc = 0;
out:
	jv_free(config);
	jv_free(layers);
	return rc;
}

/* os, architecture, variant and whether it is an attestation. */
static void
parse_platform(jv d, struct descriptor *out)
{
	jv p = json_get(jv_copy(d), "platform");
	jv a = json_get(jv_copy(d), "annotations");

	if (jv_get_kind(p) == JV_KIND_OBJECT) {
		out->os = xstrdup_or_null(json_peek_string(p, "os"));
		out->arch =
		    xstrdup_or_null(json_peek_string(p, "architecture"));
		out->variant = xstrdup_or_null(json_peek_string(p, "variant"));
	}
	if (jv_get_kind(a) == JV_KIND_OBJECT) {
		const char *t =
		    json_peek_string(a, "vnd.docker.reference.type");
		out->attestation = t && strcmp(t, "attestation-manifest") == 0;
	}
	if (out->os && out->arch && strcmp(out->os, "unknown") == 0 &&
	    strcmp(out->arch, "unknown") == 0)
		out->attestation = 1;
	jv_free(p);
	jv_free(a);
}

static int
parse_index(jv v, struct manifest *m, char **why)
{
	jv list = json_get(jv_copy(v), "manifests");
	int rc = -1;

	m->kind = MANIFEST_INDEX;
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		error_set(why, "index has no manifests array");
		goto out;
	}
	m->nmanifests = (size_t)jv_array_length(jv_copy(list));
	m->manifests =
	    calloc(m->nmanifests ? m->nmanifests : 1, sizeof(*m->manifests));
	if (m->manifests == NULL)
		err(EXIT_DATA, "malloc");
	for (size_t i = 0; i < m->nmanifests; i++) {
		jv d = jv_array_get(jv_copy(list), (int)i);
		char what[48];
		snprintf(what, sizeof(what), "index entry %zu", i + 1);
		if (parse_descriptor(d, what, &m->manifests[i], why) < 0) {
			jv_free(d);
			goto out;
		}
		parse_platform(d, &m->manifests[i]);
		jv_free(d);
	}
	rc = 0;
out:
	jv_free(list);
	return rc;
}

static int
is_index_type(const char *t)
{
	return strcmp(t, MT_OCI_INDEX) == 0 || strcmp(t, MT_DOCKER_LIST) == 0;
}

static int
is_image_type(const char *t)
{
	return strcmp(t, MT_OCI_MANIFEST) == 0 ||
	       strcmp(t, MT_DOCKER_MANIFEST) == 0;
}

/* The media type: the document's own, else the server's, else its shape. */
static int
decide_type(jv v, const char *content_type, struct manifest *m, char **why)
{
	const char *own = json_peek_string(v, "mediaType");
	char *served = bare_media_type(content_type);
	int has_layers = json_peek_is(v, "layers", JV_KIND_ARRAY);
	int has_list = json_peek_is(v, "manifests", JV_KIND_ARRAY);

	if (has_layers && has_list) {
		free(served);
		return error_set(why, "manifest has both layers and manifests");
	}
	if (own != NULL) {
		m->media_type = xstrdup_or_null(own);
		free(served);
	} else if (served != NULL &&
	           (is_index_type(served) || is_image_type(served))) {
		m->media_type = served;
	} else {
		free(served);
		m->media_type =
		    xstrdup_or_null(has_list ? MT_OCI_INDEX : MT_OCI_MANIFEST);
	}
	if (is_index_type(m->media_type) && has_layers)
		return error_set(why, "an index with layers");
	if (is_image_type(m->media_type) && has_list)
		return error_set(why, "a manifest with a manifests list");
	return 0;
}

int
manifest_parse(const char *s, size_t len, const char *content_type,
               struct manifest *m, char **why)
{
	jv v = json_parse(s, len), sv;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	if (!jv_is_valid(v)) {
		char *msg = json_error(v);
		error_set(why, "manifest is not JSON: %s", msg);
		free(msg);
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		error_set(why, "manifest is not a JSON object");
		goto out;
	}
	sv = json_get(jv_copy(v), "schemaVersion");
	double version =
	    jv_get_kind(sv) == JV_KIND_NUMBER ? jv_number_value(sv) : 0;
	jv_free(sv);
	const char *mt = json_peek_string(v, "mediaType");
	if (version == 1 || (mt && (strcmp(mt, MT_SCHEMA1) == 0 ||
	                            strcmp(mt, MT_SCHEMA1_SIGNED) == 0))) {
		error_set(why,
		          "a Docker schema 1 manifest, which is not supported "
		          "(push the image again with a current client)");
		goto out;
	}
	if (version != 2) {
		error_set(why, "manifest schemaVersion is not 2");
		goto out;
	}
	if (decide_type(v, content_type, m, why) < 0)
		goto out;
	if (is_index_type(m->media_type))
		rc = parse_index(v, m, why);
	else if (is_image_type(m->media_type))
		rc = parse_image(v, m, why);
	else
		error_set(why, "unsupported manifest media type \"%.100s\"",
		          m->media_type);
out:
	jv_free(v);
	if (rc < 0)
		manifest_free(m);
	return rc;
}

void
manifest_free(struct manifest *m)
{
	for (size_t i = 0; m->layers && i < m->nlayers; i++)
		descriptor_free(&m->layers[i]);
	for (size_t i = 0; m->manifests && i < m->nmanifests; i++)
		descriptor_free(&m->manifests[i]);
	descriptor_free(&m->config);
	free(m->layers);
	free(m->manifests);
	free(m->media_type);
	memset(m, 0, sizeof(*m));
}

const char *
manifest_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

const char *
manifest_host_variant(void)
{
#if defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
	return "v6";
#elif defined(__arm__)
	return "v7";
#else
	return NULL;
#endif
}

/*
 * The variant as containerd normalizes it: arm64 means v8 when it says
 * nothing, arm means v7, amd64 means v1.
 */
static const char *
norm_variant(const char *arch, const char *variant)
{
	if (variant != NULL && *variant != '\0')
		return variant;
	if (arch == NULL)
		return "";
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	if (strcmp(arch, "amd64") == 0)
		return "v1";
	return "";
}

static void
add_platform(struct buffer *b, const struct descriptor *d)
{
	buffer_addf(b, "%s%s/%s", b->len ? ", " : "", d->os ? d->os : "?",
	            d->arch ? d->arch : "?");
	if (d->variant && *d->variant)
		buffer_addf(b, "/%s", d->variant);
}

long
manifest_select(const struct manifest *m, const char *os, const char *arch,
                const char *variant, char **why)
{
	const char *want = norm_variant(arch, variant);
	struct buffer have = {0};

	*why = NULL;
	for (size_t i = 0; i < m->nmanifests; i++) {
		const struct descriptor *d = &m->manifests[i];
		if (d->attestation || d->os == NULL || d->arch == NULL)
			continue;
		if (d->media_type && !is_image_type(d->media_type) &&
		    !is_index_type(d->media_type))
			continue;
		add_platform(&have, d);
		if (strcmp(d->os, os) == 0 && strcmp(d->arch, arch) == 0 &&
		    strcmp(norm_variant(d->arch, d->variant), want) == 0) {
			buffer_free(&have);
			return (long)i;
		}
	}
	error_set(why, "no image for %s/%s%s%s in the index; it has: %s", os,
	          arch, variant ? "/" : "", variant ? variant : "",
	          have.len ? buffer_str(&have) : "none");
	buffer_free(&have);
	return -1;
}

int
manifest_config_diff_ids(const char *s, size_t len, char ***ids, size_t *n,
                         char **why)
{
	jv v = json_parse(s, len), rootfs, list;
	int rc = -1;

	*ids = NULL;
	*n = 0;
	*why = NULL;
	if (!jv_is_valid(v)) {
		char *msg = json_error(v);
		error_set(why, "config is not JSON: %s", msg);
		free(msg);
		return -1;
	}
	rootfs = json_get(jv_copy(v), "rootfs");
	list = json_get(jv_copy(rootfs), "diff_ids");
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		error_set(why, "config has no rootfs.diff_ids");
		goto out;
	}
	*n = (size_t)jv_array_length(jv_copy(list));
	if ((*ids = calloc(*n ? *n : 1, sizeof(**ids))) == NULL)
		err(EXIT_DATA, "malloc");
	for (size_t i = 0; i < *n; i++) {
		jv d = jv_array_get(jv_copy(list), (int)i);
		const char *id = jv_get_kind(d) == JV_KIND_STRING
		                     ? jv_string_value(d)
		                     : NULL;
		if (id == NULL || !digest_is_sha256(id)) {
			jv_free(d);
			error_set(why,
			          "config: diff_id %zu is not sha256:<64 hex>",
			          i + 1);
			goto out;
		}
		(*ids)[i] = xstrdup_or_null(id);
		jv_free(d);
	}
	rc = 0;
out:
	if (rc < 0) {
		manifest_free_diff_ids(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	jv_free(list);
	jv_free(rootfs);
	jv_free(v);
	return rc;
}

void
manifest_free_diff_ids(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}
