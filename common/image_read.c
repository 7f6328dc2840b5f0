/*
 * image_read.c: finding one image in an IMAGE archive, in whichever form
 * it comes: docker (manifest.json), oci (index.json and blobs) or legacy
 * (repositories and a parent chain of <id>/json), and reading its layers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "errors.h"
#include "image.h"
#include "image_members.h"
#include "image_ref.h"
#include "json.h"
#include "manifest.h"
#include "path.h"
#include "media_type.h"
#include "platform.h"
#include "xalloc.h"

#define JSON_LIMIT (64u << 20)
#define MAX_DEPTH 8

struct layer {
	char *path;      /* member holding the bytes, links followed */
	uint64_t offset; /* of the bytes in the archive */
	int64_t size;
	char *diff_id, *digest;
	char *compression;
	char *v1_id, *v1_json;
};

struct image {
	struct image_members m;
	const char *form;
	jv config;
	char *config_text;
	size_t config_len;
	char *manifest_text; /* the OCI manifest blob's bytes; NULL if none */
	size_t manifest_len;
	struct layer *layers;
	size_t nlayers;
	jv names; /* the chosen image's NAME:TAG strings, as the archive says */
	/* image_open_at's choice (-1: by name or platform), and the counts */
	long want_entry, want_platform;
	size_t nentries, nplatforms;
	int want_index;        /* read index.json before manifest.json */
	struct manifest index; /* the index the image was chosen from */
	char *index_text;
	size_t index_len;
};

struct image_layer {
	struct image *img;
	size_t i;
	struct digest sha;
	struct tar_reader *tar;
};

/* The JSON file NAME in the archive, parsed; errx when it is not JSON. */
static jv
load_json(struct image *img, const char *name, char **text, size_t *len)
{
	size_t n;
	char *t = image_members_slurp(&img->m, name, JSON_LIMIT, &n);
	jv v = json_parse(t, n);

	if (!jv_is_valid(v)) {
		char *why = json_error(v);
		errx(EXIT_DATA, "%s: %s: %s", img->m.label, name, why);
	}
	if (text != NULL) {
		*text = t;
		*len = n;
	} else {
		free(t);
	}
	return v;
}

static void
add_layer(struct image *img, const char *path)
{
	const struct image_member *x = image_members_find(&img->m, path);
	struct layer *l;

	if (x == NULL)
		errx(EXIT_DATA, "%s: layer '%s' is missing", img->m.label,
		     path);
	img->layers =
	    xreallocarray(img->layers, img->nlayers + 1, sizeof(*img->layers));
	l = &img->layers[img->nlayers++];
	memset(l, 0, sizeof(*l));
	l->path = xstrdup(x->name);
	l->offset = x->offset;
	l->size = x->size;
}

/* The stored bytes' compression, from their first bytes. */
static void
sniff_layers(struct image *img)
{
	for (size_t i = 0; i < img->nlayers; i++) {
		struct layer *l = &img->layers[i];
		struct instream *in = instream_range(
		    img->m.fd, l->offset, (uint64_t)l->size, l->path);
		char b[1];
		/* A tar that only looks compressed fails to decompress. */
		ssize_t n = instream_read(in, b, sizeof(b));
		l->compression =
		    xstrdup(n < 0 ? "none" : instream_compression(in));
		instream_close(in);
	}
}

/* --- the config -------------------------------------------------------- */

/* Take the config's diff_ids and check there is one per layer. */
static void
set_diff_ids(struct image *img, const char *what)
{
	char **ids, *why;
	size_t n;

	if (manifest_config_diff_ids_jv(img->config, &ids, &n, &why) < 0)
		errx(EXIT_DATA, "%s: %s: %s", img->m.label, what, why);
	if (n != img->nlayers)
		errx(EXIT_DATA, "%s: %s has %zu diff_ids for %zu layers",
		     img->m.label, what, n, img->nlayers);
	for (size_t i = 0; i < n; i++)
		img->layers[i].diff_id = ids[i];
	free(ids);
}

/* Check the config just loaded; NAME says where it came from. */
static void
check_config(struct image *img, const char *name)
{
	if (jv_get_kind(img->config) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "%s: %s: the config is not an object",
		     img->m.label, name);
	set_diff_ids(img, name);
}

/* --- legacy ids -------------------------------------------------------- */

/*
 * Keep the legacy ids when every layer sits at <id>/layer.tar beside its
 * <id>/json and each json's "parent" names the layer below.
 */
static void
find_v1_chain(struct image *img, char **paths)
{
	const char *parent = NULL;
	char json_path[256];

	for (size_t i = 0; i < img->nlayers; i++) {
		const char *p = paths[i];
		size_t idlen = strcspn(p, "/");
		if (idlen != 64 || strcmp(p + 64, "/layer.tar") != 0 ||
		    strspn(p, "0123456789abcdef") < 64)
			return;
		snprintf(json_path, sizeof(json_path), "%.64s/json", p);
		if (image_members_find(&img->m, json_path) == NULL)
			return;
		jv v = load_json(img, json_path, NULL, NULL);
		const char *par = json_peek_string(v, "parent");
		int ok = jv_get_kind(v) == JV_KIND_OBJECT &&
		         (parent == NULL ? par == NULL || *par == '\0'
		                         : par != NULL && strlen(par) == 64 &&
		                               strncmp(par, parent, 64) == 0);
		jv_free(v);
		if (!ok)
			return;
		parent = p; /* its first 64 bytes: the id */
	}
	for (size_t i = 0; i < img->nlayers; i++) {
		snprintf(json_path, sizeof(json_path), "%.64s/json", paths[i]);
		img->layers[i].v1_id = xstrndup(paths[i], 64);
		img->layers[i].v1_json =
		    image_members_slurp(&img->m, json_path, JSON_LIMIT, NULL);
	}
}

/* --- docker: manifest.json --------------------------------------------- */

static int
tags_match(jv tags, const char *name, const char *tag)
{
	int match = 0;

	if (jv_get_kind(tags) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(tags, i, t)
	{
		if (!match && jv_get_kind(t) == JV_KIND_STRING)
			match = image_ref_match(jv_string_value(t), name, tag);
		jv_free(t);
	}
	return match;
}

/* The entry of manifest.json for NAME:TAG, or the first; -1 if none. */
static int
choose_entry(struct image *img, jv man, const char *name, const char *tag)
{
	int n = jv_array_length(jv_copy(man));

	if (n == 0)
		errx(EXIT_DATA, "%s: manifest.json lists no image",
		     img->m.label);
	if (name == NULL && tag == NULL)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		/* Without a tag, NAME:latest is preferred to other tags. */
		const char *want = tag != NULL ? tag
		                   : pass == 0 ? "latest"
		                               : NULL;
		for (int i = 0; i < n; i++) {
			jv e = jv_array_get(jv_copy(man), i);
			jv tags = json_get(e, "RepoTags");
			int match = tags_match(tags, name, want);
			jv_free(tags);
			if (match)
				return i;
		}
	}
	return -1;
}

static int
open_docker(struct image *img, const char *name, const char *tag)
{
	jv man = load_json(img, "manifest.json", NULL, NULL), e, layers;
	const char *cfg;
	char **paths;
	int k;

	if (jv_get_kind(man) != JV_KIND_ARRAY)
		errx(EXIT_DATA, "%s: manifest.json is not an array",
		     img->m.label);
	img->nentries = (size_t)jv_array_length(jv_copy(man));
	k = img->want_entry >= 0
	        ? (img->want_entry < (long)img->nentries ? (int)img->want_entry
	                                                 : -1)
	        : choose_entry(img, man, name, tag);
	if (k < 0) {
		jv_free(man);
		return -1;
	}
	e = jv_array_get(man, k);
	cfg = json_peek_string(e, "Config");
	layers = json_get(jv_copy(e), "Layers");
	if (cfg == NULL || jv_get_kind(layers) != JV_KIND_ARRAY)
		errx(EXIT_DATA,
		     "%s: manifest.json: entry %d lacks Config or "
		     "Layers",
		     img->m.label, k);
	paths = xcalloc((size_t)jv_array_length(jv_copy(layers)) + 1,
	                sizeof(*paths));
	jv_array_foreach(layers, i, p)
	{
		if (jv_get_kind(p) != JV_KIND_STRING)
			errx(EXIT_DATA,
			     "%s: manifest.json: a layer is not a "
			     "path",
			     img->m.label);
		add_layer(img, jv_string_value(p));
		paths[i] = path_go_clean(jv_string_value(p));
		jv_free(p);
	}
	img->config = load_json(img, cfg, &img->config_text, &img->config_len);
	check_config(img, cfg);
	jv_free(img->names);
	img->names = json_get(jv_copy(e), "RepoTags");
	find_v1_chain(img, paths);
	for (size_t i = 0; i < img->nlayers; i++)
		free(paths[i]);
	free(paths);
	jv_free(layers);
	jv_free(e);
	img->form = "docker";
	return 0;
}

/* --- oci: index.json --------------------------------------------------- */

/* Where the blob with DIGEST (sha256:<hex>, checked by manifest.c) is. */
static char *
blob_path(const char *digest)
{
	char *path;

	path = xasprintf("blobs/sha256/%s", digest + 7);
	return path;
}

/* The blob that D names, checked against its digest. */
static char *
load_blob(struct image *img, const struct descriptor *d, size_t *len)
{
	char *path = blob_path(d->digest), hex[DIGEST_MAX_HEX];
	char *t = image_members_slurp(&img->m, path, JSON_LIMIT, len);

	digest_buffer_hex("sha256", t, *len, hex);
	if (strcmp(d->digest + 7, hex) != 0)
		errx(EXIT_DATA, "%s: %s: its digest is sha256:%s", img->m.label,
		     path, hex);
	free(path);
	return t;
}

/* The manifest or index in the N bytes at T (freed), named WHAT. */
static void
parse_doc(struct image *img, const char *what, char *t, size_t n,
          struct manifest *m)
{
	char *why;
	int rc = manifest_parse(t, n, NULL, m, &why);

	free(t); /* the manifest owns copies of its strings */
	if (rc < 0)
		errx(EXIT_DATA, "%s: %s: %s", img->m.label, what, why);
}

static int
desc_matches(const struct descriptor *d, const char *name, const char *tag)
{
	const char *refs[] = {d->image_name, d->ref_name};

	for (size_t k = 0; k < 2; k++) {
		const char *ref = refs[k];
		if (ref == NULL)
			continue;
		if (strchr(ref, ':') == NULL && strchr(ref, '/') == NULL) {
			/* a bare tag, as OCI suggests */
			if (tag != NULL && strcmp(ref, tag) == 0 &&
			    (name == NULL || k == 1))
				return 1;
		} else if (image_ref_match(ref, name, tag)) {
			return 1;
		}
	}
	return 0;
}

/* The entry of index M for this machine, else its first image. */
static long
choose_platform(const struct manifest *m)
{
	struct platform host = platform_host();
	char *why;
	long i = manifest_select(m, host.os, host.arch, host.variant, &why);

	free(why);
	return i >= 0 ? i : manifest_first(m);
}

/* The entry of index M named NAME:TAG, or for this machine; -1 if none. */
static long
choose_entry_oci(const struct manifest *m, const char *name, const char *tag)
{
	if (name == NULL && tag == NULL)
		return choose_platform(m);
	for (size_t i = 0; i < m->nmanifests; i++)
		if (desc_matches(&m->manifests[i], name, tag))
			return (long)i;
	return -1;
}

/* The image manifest that D leads to, through nested indexes, into MAN. */
static void
resolve(struct image *img, const struct descriptor *d, struct manifest *man,
        int depth)
{
	struct manifest index;
	size_t n;
	char *t = load_blob(img, d, &n);
	long i;

	free(img->manifest_text);
	img->manifest_text = xmalloc(n + 1);
	memcpy(img->manifest_text, t, n);
	img->manifest_text[n] = '\0';
	img->manifest_len = n;
	parse_doc(img, d->digest, t, n, man);
	if (man->kind == MANIFEST_IMAGE)
		return;
	free(img->manifest_text);
	img->manifest_text = NULL;
	if (depth >= MAX_DEPTH)
		errx(EXIT_DATA, "%s: indexes nested too deep", img->m.label);
	index = *man;
	img->nplatforms = index.nmanifests;
	i = img->want_platform >= 0
	        ? (img->want_platform < (long)index.nmanifests
	               ? img->want_platform
	               : -1)
	        : choose_platform(&index);
	if (i < 0)
		errx(EXIT_DATA, "%s: %s: an index lists no image", img->m.label,
		     d->digest);
	if (img->want_index) {
		/* Kept for image_index_image: the innermost one counts. */
		manifest_free(&img->index);
		free(img->index_text);
		img->index_text = load_blob(img, d, &img->index_len);
		img->index = index;
		resolve(img, &index.manifests[i], man, depth + 1);
		return;
	}
	resolve(img, &index.manifests[i], man, depth + 1);
	manifest_free(&index);
}

static void
add_oci_layers(struct image *img, const struct manifest *man)
{
	for (size_t i = 0; i < man->nlayers; i++) {
		char *path = blob_path(man->layers[i].digest);
		add_layer(img, path);
		img->layers[i].digest = xstrdup(man->layers[i].digest);
		free(path);
	}
}

/* The name an index entry gives its image: containerd's, else OCI's. */
static void
oci_names(struct image *img, const struct descriptor *d)
{
	const char *ref = d->image_name ? d->image_name : d->ref_name;

	jv_free(img->names);
	img->names = jv_array();
	if (ref != NULL)
		img->names = jv_array_append(img->names, jv_string(ref));
}

static void load_oci_image(struct image *img, struct manifest *man);

static int
open_oci(struct image *img, const char *name, const char *tag)
{
	struct manifest index, man;
	size_t n;
	char *t = image_members_slurp(&img->m, "index.json", JSON_LIMIT, &n);
	long i;

	parse_doc(img, "index.json", t, n, &index);
	img->nentries = index.nmanifests;
	i = img->want_entry >= 0
	        ? (img->want_entry < (long)index.nmanifests ? img->want_entry
	                                                    : -1)
	        : choose_entry_oci(&index, name, tag);
	if (i < 0) {
		if (name == NULL && tag == NULL)
			errx(EXIT_DATA, "%s: index.json lists no image",
			     img->m.label);
		manifest_free(&index);
		return -1;
	}
	resolve(img, &index.manifests[i], &man, 1);
	oci_names(img, &index.manifests[i]);
	manifest_free(&index);
	load_oci_image(img, &man);
	return 0;
}

/* The image of manifest MAN (freed): its layers and config. */
static void
load_oci_image(struct image *img, struct manifest *man)
{
	char *path, *t;
	size_t n;

	add_oci_layers(img, man);
	path = blob_path(man->config.digest);
	t = load_blob(img, &man->config, &n);
	img->config = json_parse(t, n);
	if (!jv_is_valid(img->config)) {
		char *why = json_error(img->config);
		errx(EXIT_DATA, "%s: %s: %s", img->m.label, path, why);
	}
	img->config_text = t;
	img->config_len = n;
	check_config(img, path);
	free(path);
	manifest_free(man);
	img->form = "oci";
}

/* --- legacy: repositories ---------------------------------------------- */

/* The id that TAGS, the tags of REPO, give to NAME:WANT, or NULL. */
static char *
tags_find(const char *repo, jv tags, const char *name, const char *want)
{
	char *top = NULL, *ref;

	jv_object_foreach(tags, t, id)
	{
		ref = xasprintf("%s:%s", repo, jv_string_value(t));
		if (top == NULL && jv_get_kind(id) == JV_KIND_STRING &&
		    ((name == NULL && want == NULL) ||
		     image_ref_match(ref, name, want)))
			top = xstrdup(jv_string_value(id));
		free(ref);
		jv_free(t);
		jv_free(id);
	}
	return top;
}

/* The id that repositories gives NAME:TAG (or the first), or NULL. */
static char *
legacy_top(struct image *img, const char *name, const char *tag)
{
	jv repos = load_json(img, "repositories", NULL, NULL);
	char *top = NULL;

	if (jv_get_kind(repos) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "%s: repositories is not an object",
		     img->m.label);
	for (int pass = 0; pass < 2 && top == NULL; pass++) {
		/* Without a tag, NAME:latest is preferred to other tags. */
		const char *want = tag                 ? tag
		                   : name && pass == 0 ? "latest"
		                                       : NULL;
		jv_object_foreach(repos, repo, tags)
		{
			if (top == NULL && jv_get_kind(tags) == JV_KIND_OBJECT)
				top = tags_find(jv_string_value(repo), tags,
				                name, want);
			jv_free(repo);
			jv_free(tags);
		}
	}
	jv_free(repos);
	return top;
}

/* The layers from TOP down its parent chain, then put bottom first. */
static jv
legacy_chain(struct image *img, const char *top, char ***ids, size_t *n)
{
	char *id = xstrdup(top), path[256];
	jv top_json = jv_invalid();

	*ids = NULL;
	*n = 0;
	while (id != NULL) {
		if (*n > 1000)
			errx(EXIT_DATA, "%s: parent chain too long (a loop?)",
			     img->m.label);
		if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
			errx(EXIT_DATA, "%s: bad layer id '%s'", img->m.label,
			     id);
		for (size_t i = 0; i < *n; i++)
			if (strcmp((*ids)[i], id) == 0)
				errx(EXIT_DATA,
				     "%s: %s/json: its parent chain loops "
				     "back to %s",
				     img->m.label, (*ids)[*n - 1], id);
		snprintf(path, sizeof(path), "%s/json", id);
		jv v = load_json(img, path, NULL, NULL);
		const char *parent = json_peek_string(v, "parent");
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = id;
		id = parent != NULL && *parent ? xstrdup(parent) : NULL;
		if (!jv_is_valid(top_json))
			top_json = v;
		else
			jv_free(v);
	}
	for (size_t i = 0; i < *n / 2; i++) {
		char *t = (*ids)[i];
		(*ids)[i] = (*ids)[*n - 1 - i];
		(*ids)[*n - 1 - i] = t;
	}
	return top_json;
}

/* Read each layer whole to learn its diff_id. */
static void
legacy_diff_ids(struct image *img)
{
	char buf[128 * 1024], hex[DIGEST_MAX_HEX];

	for (size_t i = 0; i < img->nlayers; i++) {
		struct layer *l = &img->layers[i];
		struct instream *in = instream_range(
		    img->m.fd, l->offset, (uint64_t)l->size, l->path);
		struct digest d;
		ssize_t n;
		digest_init(&d, "sha256");
		instream_digest(in, &d);
		while ((n = instream_read(in, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			errx(EXIT_DATA, "%s: %s: %s", img->m.label, l->path,
			     instream_error(in));
		instream_close(in);
		digest_final_hex(&d, hex);
		l->diff_id = xasprintf("sha256:%s", hex);
	}
}

/* Copy the string or object KEY of FROM into TO, when FROM has it. */
static jv
copy_key(jv to, jv from, const char *key)
{
	jv v = json_get(jv_copy(from), key);
	jv_kind k = jv_get_kind(v);

	if (k == JV_KIND_STRING || k == JV_KIND_OBJECT)
		return jv_object_set(to, jv_string(key), v);
	jv_free(v);
	return to;
}

/* One history entry per layer, from each layer's json. */
static jv
v1_history(struct image *img)
{
	jv history = jv_array();

	for (size_t i = 0; i < img->nlayers; i++) {
		const char *text = img->layers[i].v1_json;
		jv v = json_parse(text, strlen(text)), h = jv_object();
		if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT)
			errx(EXIT_DATA, "%s: %s/json is not a JSON object",
			     img->m.label, img->layers[i].v1_id);
		h = copy_key(h, v, "created");
		h = copy_key(h, v, "author");
		h = copy_key(h, v, "comment");
		history = jv_array_append(history, h);
		jv_free(v);
	}
	return history;
}

/*
 * The image config of the legacy form: what old loaders took from the top
 * layer's json, with a history entry and a diff_id per layer.
 */
static jv
config_from_v1(struct image *img, jv top)
{
	jv c = jv_object(), ids = jv_array(), rootfs = jv_object();

	c = jv_object_set(c, jv_string("architecture"),
	                  jv_string(platform_host_arch()));
	c = jv_object_set(c, jv_string("os"), jv_string("linux"));
	c = copy_key(c, top, "architecture");
	c = copy_key(c, top, "os");
	c = copy_key(c, top, "created");
	c = copy_key(c, top, "author");
	c = copy_key(c, top, "config");
	for (size_t i = 0; i < img->nlayers; i++)
		ids = jv_array_append(ids, jv_string(img->layers[i].diff_id));
	rootfs = jv_object_set(rootfs, jv_string("type"), jv_string("layers"));
	rootfs = jv_object_set(rootfs, jv_string("diff_ids"), ids);
	c = jv_object_set(c, jv_string("rootfs"), rootfs);
	c = jv_object_set(c, jv_string("history"), v1_history(img));
	jv_free(top);
	return c;
}

static int
open_legacy(struct image *img, const char *name, const char *tag)
{
	char *top = legacy_top(img, name, tag), **ids, path[256];
	size_t n;
	jv top_json;

	if (top == NULL)
		return -1;
	top_json = legacy_chain(img, top, &ids, &n);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/layer.tar", ids[i]);
		add_layer(img, path);
		snprintf(path, sizeof(path), "%s/json", ids[i]);
		img->layers[i].v1_id = ids[i];
		img->layers[i].v1_json =
		    image_members_slurp(&img->m, path, JSON_LIMIT, NULL);
	}
	free(ids);
	free(top);
	legacy_diff_ids(img);
	img->config = config_from_v1(img, top_json);
	img->config_text = json_dump(jv_copy(img->config));
	img->config_len = strlen(img->config_text);
	img->form = "legacy";
	return 0;
}

/* --- opening ----------------------------------------------------------- */

/*
 * Does index.json's entry for NAME:TAG name an index (a multi-platform
 * image)?  Only then is the OCI layout read first: a single image is
 * read as ever, manifest.json before it.
 */
static int
names_index(struct image *img, const char *name, const char *tag)
{
	struct manifest index;
	size_t n;
	char *t = image_members_slurp(&img->m, "index.json", JSON_LIMIT, &n);
	long i;
	int yes;

	parse_doc(img, "index.json", t, n, &index);
	i = choose_entry_oci(&index, name, tag);
	yes = i >= 0 && media_type_is_index(index.manifests[i].media_type);
	manifest_free(&index);
	return yes;
}

/*
 * A hybrid archive read from manifest.json: the bytes of the OCI manifest
 * that index.json names for NAME:TAG, when it is an image manifest of the
 * same config (else none is kept).
 */
static void
find_oci_manifest(struct image *img, const char *name, const char *tag)
{
	struct manifest index, man;
	char hex[DIGEST_MAX_HEX], *why, *t, *path = NULL;
	size_t n;
	long i;

	t = image_members_slurp(&img->m, "index.json", JSON_LIMIT, &n);
	parse_doc(img, "index.json", t, n, &index);
	i = choose_entry_oci(&index, name, tag);
	if (i >= 0)
		path = blob_path(index.manifests[i].digest);
	if (path == NULL || image_members_find(&img->m, path) == NULL) {
		free(path);
		manifest_free(&index);
		return;
	}
	free(path);
	t = load_blob(img, &index.manifests[i], &n);
	manifest_free(&index);
	digest_buffer_hex("sha256", img->config_text, img->config_len, hex);
	if (manifest_parse(t, n, NULL, &man, &why) < 0) {
		free(why);
		free(t);
		return;
	}
	if (man.kind == MANIFEST_IMAGE &&
	    strcmp(man.config.digest + 7, hex) == 0) {
		img->manifest_text = t;
		img->manifest_len = n;
	} else {
		free(t);
	}
	manifest_free(&man);
}

static int
choose(struct image *img, const char *name, const char *tag)
{
	if (img->want_index && image_members_find(&img->m, "index.json") &&
	    names_index(img, name, tag))
		return open_oci(img, name, tag);
	if (image_members_find(&img->m, "manifest.json") != NULL) {
		int r = open_docker(img, name, tag);
		if (r == 0 && image_members_find(&img->m, "index.json"))
			find_oci_manifest(img, name, tag);
		return r;
	}
	if (image_members_find(&img->m, "index.json") != NULL)
		return open_oci(img, name, tag);
	if (image_members_find(&img->m, "repositories") != NULL)
		return open_legacy(img, name, tag);
	errx(EXIT_DATA,
	     "%s: not an image: no manifest.json, index.json or "
	     "repositories",
	     img->m.label);
}

/* A new image, once NAME is known to be a reference. */
static struct image *
image_new(const char *name)
{
	struct image *img;
	char *why;

	if (name != NULL && image_ref_check(name, &why) < 0)
		errx(EXIT_USAGE, "image name '%s': %s", name, why);
	img = xcalloc(1, sizeof(*img));
	img->config = jv_invalid();
	img->names = jv_array();
	img->want_entry = img->want_platform = -1;
	img->nentries = img->nplatforms = 1;
	return img;
}

/* Choose the image NAME:TAG in the indexed archive. */
static struct image *
image_choose(struct image *img, const char *name, const char *tag)
{
	if (choose(img, name, tag) < 0)
		errx(EXIT_DATA, "%s: no image %s%s%s", img->m.label,
		     name ? name : "", tag ? ":" : "", tag ? tag : "");
	sniff_layers(img);
	return img;
}

struct image *
image_open(const char *path, const char *name, const char *tag)
{
	struct image *img = image_new(name);

	image_members_open(&img->m, path);
	return image_choose(img, name, tag);
}

struct image *
image_open_fd(int fd, const char *label, const char *name, const char *tag)
{
	struct image *img = image_new(name);

	image_members_open_fd(&img->m, fd, label);
	return image_choose(img, name, tag);
}

struct image *
image_open_at(int fd, const char *label, size_t entry, size_t platform)
{
	struct image *img = image_new(NULL);

	img->want_entry = (long)entry;
	img->want_platform = (long)platform;
	image_members_open_fd(&img->m, fd, label);
	return image_choose(img, NULL, NULL);
}

size_t
image_entry_count(const struct image *img)
{
	return img->nentries;
}

size_t
image_platform_count(const struct image *img)
{
	return img->nplatforms;
}

struct image *
image_open_index(const char *path, const char *name, const char *tag)
{
	struct image *img = image_new(name);

	img->want_index = 1;
	image_members_open(&img->m, path);
	return image_choose(img, name, tag);
}

size_t
image_index_count(const struct image *img)
{
	return img->index_text != NULL ? img->index.nmanifests : 0;
}

const char *
image_index_bytes(const struct image *img, size_t *len)
{
	*len = img->index_len;
	return img->index_text;
}

struct image *
image_index_image(const struct image *img, size_t k, const char **os,
                  const char **arch, const char **variant)
{
	struct image *sub = image_new(NULL);
	const struct descriptor *d = &img->index.manifests[k];
	struct manifest man;
	size_t n;

	image_members_dup(&sub->m, &img->m);
	char *t = load_blob(sub, d, &n);
	parse_doc(sub, d->digest, t, n, &man);
	if (man.kind != MANIFEST_IMAGE)
		errx(EXIT_DATA, "%s: %s: an index inside an index's list",
		     img->m.label, d->digest);
	load_oci_image(sub, &man);
	sniff_layers(sub);
	*os = d->os, *arch = d->arch, *variant = d->variant;
	return sub;
}

void
image_close(struct image *img)
{
	if (img == NULL)
		return;
	manifest_free(&img->index);
	free(img->index_text);
	for (size_t i = 0; i < img->nlayers; i++) {
		struct layer *l = &img->layers[i];
		free(l->path);
		free(l->diff_id);
		free(l->digest);
		free(l->compression);
		free(l->v1_id);
		free(l->v1_json);
	}
	free(img->layers);
	jv_free(img->config);
	jv_free(img->names);
	free(img->config_text);
	free(img->manifest_text);
	image_members_free(&img->m);
	free(img);
}

const char *
image_label(const struct image *img)
{
	return img->m.label;
}

jv
image_names(const struct image *img)
{
	if (jv_get_kind(img->names) != JV_KIND_ARRAY)
		return jv_array();
	return jv_copy(img->names);
}

const char *
image_form(const struct image *img)
{
	return img->form;
}

jv
image_config(const struct image *img)
{
	return img->config;
}

const char *
image_manifest_bytes(const struct image *img, size_t *len)
{
	if (len != NULL)
		*len = img->manifest_len;
	return img->manifest_text;
}

const char *
image_config_bytes(const struct image *img, size_t *len)
{
	if (len != NULL)
		*len = img->config_len;
	return img->config_text;
}

size_t
image_layer_count(const struct image *img)
{
	return img->nlayers;
}

const char *
image_layer_diff_id(const struct image *img, size_t i)
{
	return img->layers[i].diff_id;
}

int64_t
image_layer_size(const struct image *img, size_t i)
{
	return img->layers[i].size;
}

const char *
image_layer_compression(const struct image *img, size_t i)
{
	return img->layers[i].compression;
}

const char *
image_layer_digest(const struct image *img, size_t i)
{
	return img->layers[i].digest;
}

const char *
image_layer_path(const struct image *img, size_t i)
{
	return img->layers[i].path;
}

const char *
image_layer_v1_id(const struct image *img, size_t i)
{
	return img->layers[i].v1_id;
}

const char *
image_layer_v1_json(const struct image *img, size_t i)
{
	return img->layers[i].v1_json;
}

/* --- layers ------------------------------------------------------------ */

static char *
layer_label(const struct image *img, size_t i)
{
	char *label;

	label = xasprintf("%s: %s", img->m.label, img->layers[i].path);
	return label;
}

struct instream *
image_layer_raw(struct image *img, size_t i)
{
	char *label = layer_label(img, i);
	struct instream *in =
	    instream_range(img->m.fd, img->layers[i].offset,
	                   (uint64_t)img->layers[i].size, label);

	free(label);
	instream_plain(in);
	return in;
}

struct instream *
image_layer_bytes(struct image *img, size_t i)
{
	char *label = layer_label(img, i);
	struct instream *in =
	    instream_range(img->m.fd, img->layers[i].offset,
	                   (uint64_t)img->layers[i].size, label);

	free(label);
	return in;
}

struct image_layer *
image_layer_open(struct image *img, size_t i)
{
	struct image_layer *l = xcalloc(1, sizeof(*l));
	char *label = layer_label(img, i);
	struct instream *in;

	in = instream_range(img->m.fd, img->layers[i].offset,
	                    (uint64_t)img->layers[i].size, label);
	free(label);
	l->img = img;
	l->i = i;
	digest_init(&l->sha, "sha256");
	instream_digest(in, &l->sha);
	l->tar = tar_reader_new(in);
	return l;
}

struct tar_reader *
image_layer_tar(struct image_layer *l)
{
	return l->tar;
}

/* Read what is left of the layer: entries, end-of-archive, padding. */
static void
drain(struct image_layer *l)
{
	struct instream *in = tar_reader_stream(l->tar);
	struct tar_entry *e;
	char buf[64 * 1024];
	ssize_t n;
	int got;

	while ((got = tar_reader_next(l->tar, &e)) == 1)
		;
	if (got < 0)
		errx(EXIT_DATA, "%s", tar_reader_error(l->tar));
	while ((n = instream_read(in, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		errx(EXIT_DATA, "%s: %s", instream_label(in),
		     instream_error(in));
}

void
image_layer_close(struct image_layer *l)
{
	const char *want = l->img->layers[l->i].diff_id;
	char hex[DIGEST_MAX_HEX];

	drain(l);
	digest_final_hex(&l->sha, hex);
	if (strcmp(want + 7, hex) != 0)
		errx(EXIT_DATA,
		     "%s: layer %zu (%s): diff_id is sha256:%s, "
		     "the config says %s",
		     l->img->m.label, l->i + 1, l->img->layers[l->i].path, hex,
		     want);
	tar_reader_close(l->tar);
	free(l);
}
