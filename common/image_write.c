/*
 * image_write.c: writing the IMAGE stream in one pass.
 *
 * Each layer's bytes go to <id>/layer.tar, where id is the seed's legacy
 * id: it is known before the bytes (it hashes the layer's json, not its
 * contents), so the bytes can be written as they come.  The OCI blob that
 * names the same bytes by digest is a symlink written after them, and the
 * config, the manifests and the tags come last.
 *
 * A plain layer that is to be stored compressed (image_writer_compress)
 * cannot be copied through, as its stored size is known only at its end.
 * Into a regular file its compressed bytes go straight to the output after
 * a placeholder block, and the header is written over the placeholder at
 * the end (pwrite); into a pipe they go to a spool, and <id>/layer.tar is
 * written from the spool when the layer ends.  The bytes are the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "compress.h"
#include "digest.h"
#include "errors.h"
#include "fdio.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "media_type.h"
#include "outfile.h"
#include "reference.h"
#include "spool.h"
#include "tar_writer.h"
#include "xalloc.h"

/* Member names here are short: a 64-digit id or digest and a suffix. */
#define NAME_MAX_LEN 256

/* A layer already written, as the manifests will name it. */
struct written_layer {
	char *v1_id;   /* hex */
	char *diff_id; /* sha256:hex */
	char *digest;  /* sha256:hex of the bytes as stored */
	char *media_type;
	int64_t size;
};

/* An image of a multi-platform archive, ended, as its index names it. */
struct index_entry {
	char *digest; /* of its manifest */
	int64_t size;
	jv platform;
};

struct image_writer {
	int fd;
	struct tar_writer *tw;
	enum image_format format;
	char *name, *tag;
	int64_t mtime;
	int blobs_dir_written;
	struct written_layer *layers;
	size_t nlayers;
	/* The layer being written. */
	int in_layer;
	char *label, *compression, *expect_diff_id;
	int64_t remaining;
	struct digest sha;
	/* Plain layers stored compressed; the one being compressed. */
	enum compress_kind compress;
	int threads;
	struct compressor *cz;
	int spool_fd, spool_errno;
	off_t header_off;   /* of the placeholder, when not spooled (-1) */
	struct digest zsha; /* of the compressed bytes */
	int64_t zsize;
	/* Multi-platform: the images ended, and every blob stored so far. */
	struct index_entry *entries;
	size_t nentries;
	char **stored;
	size_t nstored;
	int by_digest;       /* after the first image: layers named by digest */
	int discard;         /* this layer's bytes are in the archive already */
	char *expect_digest; /* the digest announced in the meta */
	char *manifest_blob; /* image_writer_manifest_blob's text, or NULL */
};

static const struct {
	const char *name;
	enum image_format format;
} formats[] = {
    {"hybrid", IMAGE_HYBRID},
    {"docker", IMAGE_DOCKER},
    {"oci", IMAGE_OCI},
    {"legacy", IMAGE_LEGACY},
};

int
image_format_parse(const char *s, enum image_format *f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (strcmp(s, formats[i].name) == 0) {
			*f = formats[i].format;
			return 0;
		}
	}
	return -1;
}

static int
has_legacy(const struct image_writer *w)
{
	return w->format != IMAGE_OCI;
}

static int
has_docker(const struct image_writer *w)
{
	return w->format == IMAGE_HYBRID || w->format == IMAGE_DOCKER;
}

static int
has_oci(const struct image_writer *w)
{
	return w->format == IMAGE_HYBRID || w->format == IMAGE_OCI;
}

/* --- members ----------------------------------------------------------- */

static void
member_entry(const struct image_writer *w, const char *name, char type,
             const char *link, int64_t size, struct tar_entry *out)
{
	struct tar_entry e = {0};

	e.name = name;
	e.linkname = link ? link : "";
	e.uname = e.gname = "";
	e.mode = type == '0' ? 0644 : type == '5' ? 0755 : 0777;
	e.mtime = w->mtime;
	e.size = size;
	e.typeflag = type;
	*out = e;
}

static void
put_header(struct image_writer *w, const char *name, char type,
           const char *link, int64_t size)
{
	struct tar_entry e;

	member_entry(w, name, type, link, size, &e);
	tar_writer_header(w->tw, &e);
}

static void
put_dir(struct image_writer *w, const char *name)
{
	put_header(w, name, '5', NULL, 0);
}

static void
put_file(struct image_writer *w, const char *name, const char *text)
{
	tar_writer_file(w->tw, name, 0644, w->mtime, text, strlen(text));
}

/* The file NAME holding V (consumed) as canonical JSON. */
static void
put_json(struct image_writer *w, const char *name, jv v)
{
	char *text = json_dump(v);

	put_file(w, name, text);
	free(text);
}

static void
put_blobs_dir(struct image_writer *w)
{
	if (w->blobs_dir_written)
		return;
	put_dir(w, "blobs/");
	put_dir(w, "blobs/sha256/");
	w->blobs_dir_written = 1;
}

/* Is the blob "sha256:HEX" in the archive already?  If not, it will be. */
static int
stored_before(struct image_writer *w, const char *digest)
{
	for (size_t i = 0; i < w->nstored; i++)
		if (strcmp(w->stored[i], digest) == 0)
			return 1;
	w->stored = xreallocarray(w->stored, w->nstored + 1, sizeof(char *));
	w->stored[w->nstored++] = xstrdup(digest);
	return 0;
}

/* A blob's bytes from memory; *DIGEST gets "sha256:<hex>" (malloc'd). */
static void
put_blob(struct image_writer *w, const char *text, char **digest)
{
	char hex[DIGEST_MAX_HEX], name[NAME_MAX_LEN];

	digest_buffer_hex("sha256", text, strlen(text), hex);
	*digest = xasprintf("sha256:%s", hex);
	if (stored_before(w, *digest))
		return;
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	put_blobs_dir(w);
	put_file(w, name, text);
}

/* --- starting and failing ---------------------------------------------- */

/* The writer whose archive is not finished yet, for poison_on_exit. */
static struct image_writer *unfinished;

/*
 * A tool that fails exits in the middle of the archive.  Cut at a member's
 * end, the archive would read as whole to Go's archive/tar and to GNU tar,
 * so a block that no tar reader takes as a header follows what was
 * written: the next program in the pipe fails too.
 */
static void
poison(struct image_writer *w)
{
	static const char msg[] = "di: this image archive is incomplete: "
	                          "writing it failed\n";
	unsigned char block[TAR_BLOCK];

	memset(block, 0xff, sizeof(block));
	memcpy(block, msg, sizeof(msg) - 1);
	if (write(w->fd, block, sizeof(block)) < 0) {
		/* nothing more to do: the output is broken already */
	}
}

static void
poison_on_exit(void)
{
	struct image_writer *w = unfinished;

	unfinished = NULL;
	if (w != NULL)
		poison(w);
}

struct image_writer *
image_writer_new(int fd, const char *name, const char *tag,
                 enum image_format format, int64_t mtime)
{
	struct image_writer *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	w->tw = tar_writer_new(fd);
	w->format = format;
	w->name = xstrdup(name);
	w->tag = xstrdup(tag != NULL ? tag : "latest");
	w->mtime = mtime;
	w->spool_fd = -1;
	w->header_off = -1;
	if (has_oci(w))
		put_file(w, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	if (unfinished == NULL) {
		static int registered;
		if (!registered && atexit(poison_on_exit) != 0)
			err(EXIT_DATA, "atexit");
		registered = 1;
		unfinished = w;
	}
	return w;
}

/* --- layers ------------------------------------------------------------ */

/* "sha256:" and HEX, malloc'd. */
static char *
sha256_name(const char *hex)
{
	char *name;

	name = xasprintf("sha256:%s", hex);
	return name;
}

void
image_writer_compress(struct image_writer *w, enum compress_kind kind,
                      int threads)
{
	if (kind == COMPRESS_ZSTD && w->format != IMAGE_OCI)
		errx(EXIT_DATA, "zstd layers need the oci format: Docker's "
		                "formats do not name them");
	w->compress = kind;
	w->threads = threads;
}

/* The compressed bytes of a layer on their way to its spool. */
static int
spool_sink(void *ctx, const void *p, size_t n)
{
	struct image_writer *w = ctx;

	digest_update(&w->zsha, p, n);
	w->zsize += (int64_t)n;
	if (w->spool_fd < 0) {
		tar_writer_raw(w->tw, p, n); /* fatal on error, as layers are */
		return 0;
	}
	if (fdio_write_all(w->spool_fd, p, n) < 0) {
		w->spool_errno = errno;
		return -1;
	}
	return 0;
}

/*
 * Where a header can be written after its data: a regular file that
 * pwrite(2) writes where it is told (not O_APPEND).
 */
static int
output_seekable(int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && !(flags & O_APPEND) && fstat(fd, &st) == 0 &&
	       S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) >= 0;
}

/*
 * Whether a layer of SIZE plain bytes surely compresses to a size that a
 * ustar header holds (8 GiB less one), so that the header written over the
 * placeholder is one block: deflate's stored blocks and zstd's raw blocks
 * add far less than a sixteenth.
 */
static int
fits_one_block(int64_t size)
{
	return size <= (077777777777LL - (1 << 20)) / 17 * 16;
}

/*
 * Where the compressed bytes go: after a placeholder block in the output,
 * or to a spool.  The placeholder is a block no tar reader takes for a
 * header (poison's), so an archive cut before the header is written over
 * it reads as broken.
 */
static void
compress_target(struct image_writer *w, int64_t size)
{
	unsigned char block[TAR_BLOCK];

	w->header_off = -1;
	if (!fits_one_block(size) || !output_seekable(w->fd)) {
		w->spool_fd = spool_tempfile();
		return;
	}
	tar_writer_flush(w->tw);
	w->header_off = lseek(w->fd, 0, SEEK_CUR);
	if (w->header_off < 0)
		outfile_write_failed(w->fd);
	memset(block, 0xff, sizeof(block));
	tar_writer_raw(w->tw, block, sizeof(block));
}

static void
compress_start(struct image_writer *w)
{
	compress_target(w, w->layers[w->nlayers].size);
	w->spool_errno = 0;
	w->zsize = 0;
	digest_init(&w->zsha, "sha256");
	w->cz = compressor_new(w->compress, spool_sink, w);
	if (compressor_set_threads(w->cz, w->threads) != 0)
		errx(EXIT_DATA, "%d threads: out of range", w->threads);
}

static void compress_failed(struct image_writer *w) __attribute__((noreturn));

static void
compress_failed(struct image_writer *w)
{
	if (w->spool_errno != 0)
		errc(EXIT_DATA, w->spool_errno, "%s: spooling the %s layer",
		     w->label, compress_kind_name(w->compress));
	if (w->cz == NULL) /* finished, and freed */
		errx(EXIT_DATA, "%s: %s compression failed", w->label,
		     compress_kind_name(w->compress));
	errx(EXIT_DATA, "%s: %s", w->label, compressor_error(w->cz));
}

/* The header of <id>/layer.tar over its placeholder, once the size is known. */
static void
header_over_placeholder(struct image_writer *w, const char *path)
{
	unsigned char block[TAR_BLOCK];
	struct tar_entry e;

	tar_writer_pad(w->tw, w->zsize);
	tar_writer_flush(w->tw);
	member_entry(w, path, '0', NULL, w->zsize, &e);
	if (tar_writer_header_block(&e, block) < 0)
		errx(EXIT_DATA, "%s: %" PRId64 " compressed bytes: too many",
		     w->label, w->zsize);
	for (size_t done = 0; done < sizeof(block);) {
		ssize_t n = pwrite(w->fd, block + done, sizeof(block) - done,
		                   w->header_off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			outfile_write_failed(w->fd);
		done += (size_t)n;
	}
	w->header_off = -1;
}

/* The spooled compressed bytes as <id>/layer.tar. */
static void
copy_spool(struct image_writer *w, const char *path)
{
	unsigned char buf[128 * 1024];
	int64_t off = 0;

	put_header(w, path, '0', NULL, w->zsize);
	while (off < w->zsize) {
		ssize_t got = pread(w->spool_fd, buf, sizeof(buf), off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			err(EXIT_DATA, "%s: reading the spooled layer",
			    w->label);
		tar_writer_raw(w->tw, buf, (size_t)got);
		off += got;
	}
	tar_writer_pad(w->tw, w->zsize);
	close(w->spool_fd);
	w->spool_fd = -1;
}

/*
 * End the compressed stream and store it as <id>/layer.tar, with its size
 * and digest in L.
 */
static void
compress_end(struct image_writer *w, struct written_layer *l)
{
	char path[NAME_MAX_LEN], hex[DIGEST_MAX_HEX];

	int r = compressor_finish(w->cz);
	w->cz = NULL;
	if (r != 0)
		compress_failed(w);
	snprintf(path, sizeof(path), "%s/layer.tar", l->v1_id);
	if (w->spool_fd >= 0)
		copy_spool(w, path);
	else
		header_over_placeholder(w, path);
	l->size = w->zsize;
	digest_final_hex(&w->zsha, hex);
	l->digest = sha256_name(hex);
}

static void
check_meta(const struct image_layer_meta *m)
{
	const char *label = m->label ? m->label : "layer";

	if (m->size < 0)
		errx(EXIT_DATA, "%s: negative layer size", label);
	if (media_type_oci_layer(m->compression) == NULL)
		errx(EXIT_DATA, "%s: %s layers cannot be stored in an image",
		     label, m->compression);
	if (m->diff_id != NULL && !digest_is_sha256(m->diff_id))
		errx(EXIT_DATA, "%s: bad diff_id '%s'", label, m->diff_id);
	if (m->diff_id == NULL &&
	    strcmp(media_type_oci_layer(m->compression), MT_OCI_LAYER) != 0)
		errx(EXIT_DATA, "%s: a compressed layer needs its diff_id",
		     label);
	if (m->v1_id != NULL && (m->v1_json == NULL || strlen(m->v1_id) != 64 ||
	                         strspn(m->v1_id, "0123456789abcdef") != 64))
		errx(EXIT_DATA, "%s: bad legacy id '%s'", label, m->v1_id);
}

/*
 * The seed's legacy id: "parent" added to the json, id = sha256 of the
 * text (of the text as given when there is no parent), then "id" and
 * "Size" added.  Returns the json to store; *ID gets the hex id.
 */
static char *
v1_chain(const struct image_layer_meta *m, const char *parent,
         char id[DIGEST_MAX_HEX])
{
	const char *text = m->v1_json != NULL ? m->v1_json : "{}";
	jv obj = json_parse(text, strlen(text));

	if (!jv_is_valid(obj)) {
		char *why = json_error(obj);
		errx(EXIT_DATA, "%s: json: %s", m->label ? m->label : "layer",
		     why);
	}
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "%s: json: not an object",
		     m->label ? m->label : "layer");
	if (parent != NULL) {
		obj =
		    jv_object_set(obj, jv_string("parent"), jv_string(parent));
		char *hashed = json_dump(jv_copy(obj));
		digest_buffer_hex("sha256", hashed, strlen(hashed), id);
		free(hashed);
	} else {
		digest_buffer_hex("sha256", text, strlen(text), id);
	}
	obj = jv_object_set(obj, jv_string("id"), jv_string(id));
	obj = jv_object_set(
	    obj, jv_string("Size"),
	    jv_number((double)(m->plain_size > 0 ? m->plain_size : m->size)));
	return json_dump(obj);
}

/* Start the record of a layer that META describes, for the manifests. */
static void
begin_record(struct image_writer *w, const struct image_layer_meta *m,
             const char *v1_id, int compress)
{
	w->layers =
	    xreallocarray(w->layers, w->nlayers + 1, sizeof(*w->layers));
	w->layers[w->nlayers] = (struct written_layer){
	    .v1_id = xstrdup(v1_id),
	    .media_type =
	        xstrdup(compress ? compress_oci_layer_type(w->compress)
	                         : media_type_oci_layer(m->compression)),
	    .size = m->size,
	};
	w->in_layer = 1;
	w->label = xstrdup(m->label ? m->label : "layer");
	w->expect_diff_id = m->diff_id ? xstrdup(m->diff_id) : NULL;
	w->remaining = m->size;
	digest_init(&w->sha, "sha256");
	if (compress)
		compress_start(w);
}

/*
 * A layer of an image after the first of an index: stored once, at
 * blobs/sha256/<hex> (the digest announced), with no legacy names; the
 * bytes of a blob stored already are only checked.
 */
static void
begin_by_digest(struct image_writer *w, const struct image_layer_meta *m)
{
	char path[NAME_MAX_LEN];

	if (m->digest == NULL || !digest_is_sha256(m->digest))
		errx(EXIT_DATA, "%s: a layer of an index needs its digest",
		     m->label ? m->label : "layer");
	w->discard = stored_before(w, m->digest);
	if (!w->discard) {
		put_blobs_dir(w);
		snprintf(path, sizeof(path), "blobs/sha256/%s", m->digest + 7);
		put_header(w, path, '0', NULL, m->size);
	}
	begin_record(w, m, "", 0);
	w->expect_digest = xstrdup(m->digest);
}

void
image_writer_layer_begin(struct image_writer *w,
                         const struct image_layer_meta *m)
{
	const char *parent =
	    w->nlayers ? w->layers[w->nlayers - 1].v1_id : NULL;
	char id[DIGEST_MAX_HEX], path[NAME_MAX_LEN], *json;

	if (w->in_layer)
		errx(EXIT_DATA, "image_writer_layer_begin: layer not ended");
	check_meta(m);
	if (w->by_digest) {
		begin_by_digest(w, m);
		return;
	}
	if (m->v1_id != NULL) {
		strlcpy(id, m->v1_id, sizeof(id));
		json = xstrdup(m->v1_json);
	} else {
		json = v1_chain(m, parent, id);
	}
	snprintf(path, sizeof(path), "%s/", id);
	put_dir(w, path);
	if (has_legacy(w)) {
		snprintf(path, sizeof(path), "%s/VERSION", id);
		put_file(w, path, "1.0");
		snprintf(path, sizeof(path), "%s/json", id);
		put_file(w, path, json);
	}
	free(json);
	int compress =
	    w->compress != COMPRESS_NONE &&
	    strcmp(media_type_oci_layer(m->compression), MT_OCI_LAYER) == 0;
	snprintf(path, sizeof(path), "%s/layer.tar", id);
	if (!compress)
		put_header(w, path, '0', NULL, m->size);

	begin_record(w, m, id, compress);
}

void
image_writer_layer_write(struct image_writer *w, const void *p, size_t n)
{
	if ((int64_t)n > w->remaining)
		errx(EXIT_DATA, "%s: more than the %" PRId64 " bytes announced",
		     w->label, w->layers[w->nlayers].size);
	digest_update(&w->sha, p, n);
	if (w->cz != NULL) {
		if (compressor_write(w->cz, p, n) != 0)
			compress_failed(w);
	} else if (!w->discard) {
		tar_writer_raw(w->tw, p, n);
	}
	w->remaining -= (int64_t)n;
}

/* The symlink blobs/sha256/<hex> to the layer's bytes, once per digest. */
static void
link_blob(struct image_writer *w, const struct written_layer *l)
{
	char name[NAME_MAX_LEN], target[NAME_MAX_LEN];

	if (stored_before(w, l->digest))
		return;
	put_blobs_dir(w);
	snprintf(name, sizeof(name), "blobs/sha256/%s", l->digest + 7);
	snprintf(target, sizeof(target), "../../%s/layer.tar", l->v1_id);
	put_header(w, name, '2', target, 0);
}

const char *
image_writer_layer_end(struct image_writer *w)
{
	struct written_layer *l = &w->layers[w->nlayers];
	char hex[DIGEST_MAX_HEX];

	if (w->remaining != 0)
		errx(EXIT_DATA, "%s: %" PRId64 " of %" PRId64 " bytes came",
		     w->label, l->size - w->remaining, l->size);
	digest_final_hex(&w->sha, hex);
	if (w->cz != NULL) {
		/* Stored compressed: what was hashed here is its diff_id. */
		compress_end(w, l);
		l->diff_id = sha256_name(hex);
	} else {
		if (!w->discard)
			tar_writer_pad(w->tw, l->size);
		l->digest = sha256_name(hex);
		if (w->expect_digest && strcmp(w->expect_digest, l->digest))
			errx(EXIT_DATA, "%s: digest is %s, expected %s",
			     w->label, l->digest, w->expect_digest);
		if (strcmp(l->media_type, MT_OCI_LAYER) == 0)
			l->diff_id = xstrdup(l->digest);
	}
	if (l->diff_id == NULL) {
		l->diff_id = xstrdup(w->expect_diff_id);
	} else if (w->expect_diff_id && strcmp(w->expect_diff_id, l->diff_id)) {
		errx(EXIT_DATA, "%s: diff_id is %s, expected %s", w->label,
		     l->diff_id, w->expect_diff_id);
	}
	if (has_oci(w) && !w->by_digest)
		link_blob(w, l);
	w->nlayers++;
	w->in_layer = 0;
	w->discard = 0;
	free(w->label);
	free(w->expect_diff_id);
	free(w->expect_digest);
	w->label = w->expect_diff_id = w->expect_digest = NULL;
	return l->diff_id;
}

const char *
image_writer_top_v1_id(const struct image_writer *w)
{
	size_t n = w->nlayers + (size_t)w->in_layer;

	return n ? w->layers[n - 1].v1_id : NULL;
}

/* --- the names at the end ---------------------------------------------- */

static jv
diff_ids(const struct image_writer *w)
{
	jv a = jv_array();

	for (size_t i = 0; i < w->nlayers; i++)
		a = jv_array_append(a, jv_string(w->layers[i].diff_id));
	return a;
}

static jv
descriptor(const char *mt, const char *digest, int64_t size)
{
	jv d = jv_object();

	d = jv_object_set(d, jv_string("mediaType"), jv_string(mt));
	d = jv_object_set(d, jv_string("digest"), jv_string(digest));
	return jv_object_set(d, jv_string("size"), jv_number((double)size));
}

static char *
ref_name(const struct image_writer *w)
{
	char *ref;

	ref = xasprintf("%s:%s", w->name, w->tag);
	return ref;
}

/*
 * The index entry's names, as containerd's own export writes them: the
 * fully normalized name (docker.io/library/ and all) for containerd and
 * its clients, which look images up by it, and the tag alone as the OCI
 * ref.name, which skopeo's and umoci's "oci:DIR:TAG" match.  A name that
 * is no reference (di-pull and di-cook pass only valid ones) keeps the
 * ref.name alone.
 */
static jv
oci_annotations(const struct image_writer *w)
{
	jv a = jv_object();
	struct reference r;
	char *ref = ref_name(w), *why, *full;

	if (reference_parse(ref, strlen(ref), &r, &why) == 0) {
		full = xasprintf("%s/%s:%s", r.domain, r.path, w->tag);
		a = jv_object_set(a, jv_string("io.containerd.image.name"),
		                  jv_string(full));
		free(full);
		reference_free(&r);
	}
	free(why);
	free(ref);
	return jv_object_set(a, jv_string("org.opencontainers.image.ref.name"),
	                     jv_string(w->tag));
}

/* The platform an image config names, or null without os/architecture. */
static jv
config_platform(jv config)
{
	jv p = jv_object();

	if (!json_peek_string(config, "architecture") ||
	    !json_peek_string(config, "os"))
		return jv_null();
	p = jv_object_set(p, jv_string("architecture"),
	                  json_get(jv_copy(config), "architecture"));
	p = jv_object_set(p, jv_string("os"), json_get(jv_copy(config), "os"));
	if (json_peek_string(config, "variant"))
		p = jv_object_set(p, jv_string("variant"),
		                  json_get(jv_copy(config), "variant"));
	return p;
}

/* errx naming the first thing manifest blob M says otherwise than W. */
static void
check_layers(struct image_writer *w, const struct manifest *m)
{
	if (m->nlayers != w->nlayers)
		errx(EXIT_DATA, "manifest blob: %zu layers, %zu written",
		     m->nlayers, w->nlayers);
	for (size_t i = 0; i < w->nlayers; i++) {
		const struct descriptor *d = &m->layers[i];
		const struct written_layer *l = &w->layers[i];
		if (strcmp(d->digest, l->digest) != 0)
			errx(EXIT_DATA,
			     "manifest blob: layer %zu: digest %s, the "
			     "layer written is %s",
			     i, d->digest, l->digest);
		if (d->size != l->size)
			errx(EXIT_DATA,
			     "manifest blob: layer %zu: size %" PRId64
			     ", the layer written is %" PRId64,
			     i, d->size, l->size);
		if (d->media_type == NULL ||
		    strcmp(d->media_type, l->media_type) != 0)
			errx(EXIT_DATA,
			     "manifest blob: layer %zu: media type %s, the "
			     "layer written is %s",
			     i, d->media_type ? d->media_type : "(none)",
			     l->media_type);
	}
}

/* errx unless manifest blob TEXT is an OCI manifest of what W wrote. */
static void
check_manifest_blob(struct image_writer *w, const char *text,
                    const char *cfg_digest, size_t cfg_size)
{
	struct manifest m;
	char *why;

	if (manifest_parse(text, strlen(text), NULL, &m, &why) < 0)
		errx(EXIT_DATA, "manifest blob: %s", why);
	if (m.kind != MANIFEST_IMAGE || m.media_type == NULL ||
	    strcmp(m.media_type, MT_OCI_MANIFEST) != 0)
		errx(EXIT_DATA, "manifest blob: not an OCI image manifest");
	if (strcmp(m.config.digest, cfg_digest) != 0)
		errx(EXIT_DATA,
		     "manifest blob: config digest %s, the config "
		     "is %s",
		     m.config.digest, cfg_digest);
	if (m.config.size != (int64_t)cfg_size)
		errx(EXIT_DATA,
		     "manifest blob: config size %" PRId64
		     ", the config is %zu bytes",
		     m.config.size, cfg_size);
	check_layers(w, &m);
	manifest_free(&m);
}

void
image_writer_manifest_blob(struct image_writer *w, const char *text, size_t len)
{
	if (!has_oci(w))
		errx(EXIT_DATA, "a manifest blob needs the OCI layout");
	if (memchr(text, '\0', len) != NULL)
		errx(EXIT_DATA, "manifest blob: holds a NUL byte");
	free(w->manifest_blob);
	w->manifest_blob = xstrndup(text, len);
}

/* The OCI manifest of the layers written, as a blob; *SIZE its length. */
static char *
put_manifest(struct image_writer *w, const char *cfg_digest, size_t cfg_size,
             int64_t *size)
{
	jv m = jv_object(), layers = jv_array();
	char *text, *mdigest;

	if (w->manifest_blob != NULL) {
		/* Kept byte for byte, so that the manifest digest stays. */
		check_manifest_blob(w, w->manifest_blob, cfg_digest, cfg_size);
		put_blob(w, w->manifest_blob, &mdigest);
		*size = (int64_t)strlen(w->manifest_blob);
		jv_free(m);
		jv_free(layers);
		return mdigest;
	}

	for (size_t i = 0; i < w->nlayers; i++)
		layers = jv_array_append(
		    layers, descriptor(w->layers[i].media_type,
		                       w->layers[i].digest, w->layers[i].size));
	m = jv_object_set(m, jv_string("schemaVersion"), jv_number(2));
	m = jv_object_set(m, jv_string("mediaType"),
	                  jv_string(MT_OCI_MANIFEST));
	m = jv_object_set(
	    m, jv_string("config"),
	    descriptor(MT_OCI_CONFIG, cfg_digest, (int64_t)cfg_size));
	m = jv_object_set(m, jv_string("layers"), layers);
	text = json_dump(m);
	put_blob(w, text, &mdigest);
	*size = (int64_t)strlen(text);
	free(text);
	return mdigest;
}

/* index.json: the one entry ENTRY (consumed), named. */
static void
put_index_json(struct image_writer *w, jv entry)
{
	jv index = jv_object();

	entry =
	    jv_object_set(entry, jv_string("annotations"), oci_annotations(w));
	index = jv_object_set(index, jv_string("schemaVersion"), jv_number(2));
	index = jv_object_set(index, jv_string("mediaType"),
	                      jv_string(MT_OCI_INDEX));
	index = jv_object_set(index, jv_string("manifests"),
	                      jv_array_append(jv_array(), entry));
	put_json(w, "index.json", index);
}

/* The OCI manifest and index.json naming it. */
static void
put_oci(struct image_writer *w, jv config, const char *cfg_digest,
        size_t cfg_size)
{
	int64_t size;
	char *mdigest = put_manifest(w, cfg_digest, cfg_size, &size);
	jv entry = descriptor(MT_OCI_MANIFEST, mdigest, size);
	jv platform = config_platform(config);

	if (jv_get_kind(platform) == JV_KIND_OBJECT) {
		/* A single image's entry names os and architecture only. */
		platform = jv_object_delete(platform, jv_string("variant"));
		entry = jv_object_set(entry, jv_string("platform"), platform);
	} else {
		jv_free(platform);
	}
	put_index_json(w, entry);
	free(mdigest);
}

static void
put_docker_manifest(struct image_writer *w, const char *cfg_path)
{
	jv layers = jv_array(), m = jv_object();
	char *ref = ref_name(w), path[NAME_MAX_LEN];

	for (size_t i = 0; i < w->nlayers; i++) {
		snprintf(path, sizeof(path), "%s/layer.tar",
		         w->layers[i].v1_id);
		layers = jv_array_append(layers, jv_string(path));
	}
	m = jv_object_set(m, jv_string("Config"), jv_string(cfg_path));
	m = jv_object_set(m, jv_string("RepoTags"),
	                  jv_array_append(jv_array(), jv_string(ref)));
	m = jv_object_set(m, jv_string("Layers"), layers);
	put_json(w, "manifest.json", jv_array_append(jv_array(), m));
	free(ref);
}

static void
put_repositories(struct image_writer *w)
{
	jv tags = jv_object();

	if (w->nlayers == 0)
		return; /* nothing to tag: docker needs a layer here */
	tags = jv_object_set(tags, jv_string(w->tag),
	                     jv_string(w->layers[w->nlayers - 1].v1_id));
	put_json(w, "repositories",
	         jv_object_set(jv_object(), jv_string(w->name), tags));
}

static void
free_writer(struct image_writer *w)
{
	for (size_t i = 0; i < w->nlayers + (size_t)w->in_layer; i++) {
		free(w->layers[i].v1_id);
		free(w->layers[i].diff_id);
		free(w->layers[i].digest);
		free(w->layers[i].media_type);
	}
	free(w->layers);
	for (size_t i = 0; i < w->nentries; i++) {
		free(w->entries[i].digest);
		jv_free(w->entries[i].platform);
	}
	free(w->entries);
	for (size_t i = 0; i < w->nstored; i++)
		free(w->stored[i]);
	free(w->stored);
	free(w->expect_digest);
	free(w->manifest_blob);
	free(w->label);
	free(w->expect_diff_id);
	free(w->name);
	free(w->tag);
	free(w);
}

/* Everything after the layers, given the config's text. */
static void
finish(struct image_writer *w, jv config, const char *text)
{
	char hex[DIGEST_MAX_HEX], cfg_path[NAME_MAX_LEN], *cfg_digest = NULL;
	size_t len = strlen(text);

	if (w->in_layer)
		errx(EXIT_DATA, "image_writer_finish: layer not ended");
	digest_buffer_hex("sha256", text, len, hex);
	if (has_oci(w)) {
		put_blob(w, text, &cfg_digest);
		snprintf(cfg_path, sizeof(cfg_path), "blobs/sha256/%s", hex);
		put_oci(w, config, cfg_digest, len);
	} else if (has_docker(w)) {
		snprintf(cfg_path, sizeof(cfg_path), "%s.json", hex);
		put_file(w, cfg_path, text);
	}
	if (has_docker(w))
		put_docker_manifest(w, cfg_path);
	if (has_legacy(w))
		put_repositories(w);
	tar_writer_finish(w->tw);
	if (unfinished == w)
		unfinished = NULL;
	free(cfg_digest);
	jv_free(config);
	free_writer(w);
}

void
image_writer_finish(struct image_writer *w, jv config)
{
	jv rootfs = jv_object();
	char *text;

	if (jv_get_kind(config) != JV_KIND_OBJECT)
		errx(EXIT_DATA, "image config is not an object");
	rootfs = jv_object_set(rootfs, jv_string("type"), jv_string("layers"));
	rootfs = jv_object_set(rootfs, jv_string("diff_ids"), diff_ids(w));
	config = jv_object_set(config, jv_string("rootfs"), rootfs);
	text = json_dump(jv_copy(config));
	finish(w, config, text);
	free(text);
}

void
image_writer_finish_raw(struct image_writer *w, const char *config, size_t len)
{
	jv v = json_parse(config, len), have;

	if (!jv_is_valid(v)) {
		char *why = json_error(v);
		errx(EXIT_DATA, "image config: %s", why);
	}
	if (memchr(config, '\0', len) != NULL)
		errx(EXIT_DATA, "image config: holds a NUL byte");
	have = jv_getpath(jv_copy(v),
	                  JV_ARRAY(jv_string("rootfs"), jv_string("diff_ids")));
	if (!jv_equal(have, diff_ids(w)))
		errx(EXIT_DATA, "image config: rootfs.diff_ids differ from "
		                "the layers written");
	char *text = xstrndup(config, len);
	finish(w, v, text);
	free(text);
}

/* Forget the layers of the image ended, keeping what the archive holds. */
static void
drop_layers(struct image_writer *w)
{
	for (size_t i = 0; i < w->nlayers; i++) {
		free(w->layers[i].v1_id);
		free(w->layers[i].diff_id);
		free(w->layers[i].digest);
		free(w->layers[i].media_type);
	}
	w->nlayers = 0;
}

void
image_writer_next_image(struct image_writer *w, const char *config, size_t len)
{
	jv v = json_parse(config, len), have;
	char *cfg_digest, *mdigest, *text;
	int64_t msize;

	if (!has_oci(w))
		errx(EXIT_DATA, "a multi-platform image needs the OCI layout");
	if (w->in_layer)
		errx(EXIT_DATA, "image_writer_next_image: layer not ended");
	if (!jv_is_valid(v) || memchr(config, '\0', len) != NULL)
		errx(EXIT_DATA, "image config: not JSON");
	have = jv_getpath(jv_copy(v),
	                  JV_ARRAY(jv_string("rootfs"), jv_string("diff_ids")));
	if (!jv_equal(have, diff_ids(w)))
		errx(EXIT_DATA, "image config: rootfs.diff_ids differ from "
		                "the layers written");
	text = xstrndup(config, len);
	put_blob(w, text, &cfg_digest);
	mdigest = put_manifest(w, cfg_digest, len, &msize);
	if (!w->by_digest && has_docker(w)) {
		/* The first image is the one docker load sees. */
		char cfg_path[NAME_MAX_LEN];
		snprintf(cfg_path, sizeof(cfg_path), "blobs/sha256/%s",
		         cfg_digest + 7);
		put_docker_manifest(w, cfg_path);
	}
	if (!w->by_digest && has_legacy(w))
		put_repositories(w);
	w->entries =
	    xreallocarray(w->entries, w->nentries + 1, sizeof(*w->entries));
	w->entries[w->nentries++] = (struct index_entry){
	    .digest = mdigest, .size = msize, .platform = config_platform(v)};
	drop_layers(w);
	w->by_digest = 1;
	free(cfg_digest);
	free(text);
	jv_free(v);
}

void
image_writer_finish_index(struct image_writer *w)
{
	jv index = jv_object(), list = jv_array();
	char *text, *digest;

	if (w->in_layer || w->nlayers != 0 || w->nentries == 0)
		errx(EXIT_DATA,
		     "image_writer_finish_index: an image not ended");
	for (size_t i = 0; i < w->nentries; i++) {
		jv e = descriptor(MT_OCI_MANIFEST, w->entries[i].digest,
		                  w->entries[i].size);
		if (jv_get_kind(w->entries[i].platform) == JV_KIND_OBJECT)
			e = jv_object_set(e, jv_string("platform"),
			                  jv_copy(w->entries[i].platform));
		list = jv_array_append(list, e);
	}
	index = jv_object_set(index, jv_string("schemaVersion"), jv_number(2));
	index = jv_object_set(index, jv_string("mediaType"),
	                      jv_string(MT_OCI_INDEX));
	index = jv_object_set(index, jv_string("manifests"), list);
	text = json_dump(index);
	put_blob(w, text, &digest);
	put_index_json(w,
	               descriptor(MT_OCI_INDEX, digest, (int64_t)strlen(text)));
	tar_writer_finish(w->tw);
	if (unfinished == w)
		unfinished = NULL;
	free(text);
	free(digest);
	free_writer(w);
}

void
image_writer_abandon(struct image_writer *w)
{
	if (w == NULL)
		return;
	tar_writer_abandon(w->tw);
	poison(w);
	if (unfinished == w)
		unfinished = NULL;
	if (w->in_layer)
		digest_final_hex(&w->sha, (char[DIGEST_MAX_HEX]){0});
	if (w->cz != NULL) {
		compressor_abandon(w->cz);
		digest_final_hex(&w->zsha, (char[DIGEST_MAX_HEX]){0});
	}
	if (w->spool_fd >= 0)
		close(w->spool_fd);
	free_writer(w);
}
