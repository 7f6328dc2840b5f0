/*
 * manifest.c: parsing image manifests, indexes and their descriptors, and
 * choosing a platform from an index.
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
	s = xstrndup(ct, n);
	return s;
}

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
	free(d->ref_name);
	free(d->image_name);
	memset(d, 0, sizeof(*d));
}

static int
parse_layer(jv d, size_t i, struct descriptor *out, char **why)
{
	char what[48];

	snprintf(what, sizeof(what), "layer %zu", i + 1);
	if (parse_descriptor(d, what, out, why) < 0)
		return -1;
	if (media_type_layer(out->media_type, &out->compression) < 0)
		return error_set(
		    why, "%s: media type \"%.100s\" is not a layer", what,
		    out->media_type ? out->media_type : "(none)");
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
	if (!media_type_is_config(ct)) {
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
	m->layers = xcalloc(m->nlayers ? m->nlayers : 1, sizeof(*m->layers));
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

/* os, architecture, variant, names, and whether it is an attestation. */
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
		out->ref_name = xstrdup_or_null(
		    json_peek_string(a, "org.opencontainers.image.ref.name"));
		out->image_name = xstrdup_or_null(
		    json_peek_string(a, "io.containerd.image.name"));
	}
	struct platform have = descriptor_platform(out);
	if (platform_is_unknown(&have))
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
	    xcalloc(m->nmanifests ? m->nmanifests : 1, sizeof(*m->manifests));
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
	} else if (served != NULL && (media_type_is_index(served) ||
	                              media_type_is_manifest(served))) {
		m->media_type = served;
	} else {
		free(served);
		m->media_type =
		    xstrdup_or_null(has_list ? MT_OCI_INDEX : MT_OCI_MANIFEST);
	}
	if (media_type_is_index(m->media_type) && has_layers)
		return error_set(why, "an index with layers");
	if (media_type_is_manifest(m->media_type) && has_list)
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
		error_set(why, "not JSON: %s", msg);
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
	if (media_type_is_index(m->media_type))
		rc = parse_index(v, m, why);
	else if (media_type_is_manifest(m->media_type))
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

struct platform
descriptor_platform(const struct descriptor *d)
{
	return (struct platform){d->os, d->arch, d->variant};
}

/* Is entry D of an index an image or an index, not an attestation? */
static int
names_image(const struct descriptor *d)
{
	if (d->attestation)
		return 0;
	return d->media_type == NULL || media_type_is_manifest(d->media_type) ||
	       media_type_is_index(d->media_type);
}

long
manifest_first(const struct manifest *m)
{
	for (size_t i = 0; i < m->nmanifests; i++)
		if (names_image(&m->manifests[i]))
			return (long)i;
	return -1;
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
	struct platform want = {os, arch, variant}, p;
	struct buffer have = {0};

	*why = NULL;
	for (size_t i = 0; i < m->nmanifests; i++) {
		const struct descriptor *d = &m->manifests[i];
		if (!names_image(d) || d->os == NULL || d->arch == NULL)
			continue;
		add_platform(&have, d);
		p = descriptor_platform(d);
		if (platform_match(&want, &p)) {
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
	jv v = json_parse(s, len);
	int rc;

	*ids = NULL;
	*n = 0;
	*why = NULL;
	if (!jv_is_valid(v)) {
		char *msg = json_error(v);
		error_set(why, "config is not JSON: %s", msg);
		free(msg);
		return -1;
	}
	rc = manifest_config_diff_ids_jv(v, ids, n, why);
	jv_free(v);
	return rc;
}

int
manifest_config_diff_ids_jv(jv v, char ***ids, size_t *n, char **why)
{
	jv rootfs, list;
	int rc = -1;

	*ids = NULL;
	*n = 0;
	*why = NULL;
	rootfs = json_get(jv_copy(v), "rootfs");
	list = json_get(jv_copy(rootfs), "diff_ids");
	if (jv_get_kind(list) != JV_KIND_ARRAY) {
		error_set(why, "config has no rootfs.diff_ids");
		goto out;
	}
	*n = (size_t)jv_array_length(jv_copy(list));
	*ids = xcalloc(*n ? *n : 1, sizeof(**ids));
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
	return rc;
}

void
manifest_free_diff_ids(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}
