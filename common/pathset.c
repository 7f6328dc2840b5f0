/*
 * pathset.c: an open-addressing hash table of paths.
 *
 * Records live in chunks that never move; the table holds record numbers
 * with their hashes, so growing it never touches the records.  Path
 * strings live in large blocks of an arena, for the same reason.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "hash.h"
#include "pathset.h"
#include "xalloc.h"

#define CHUNK_RECORDS 4096
#define ARENA_BLOCK (1 << 20)

struct record {
	struct path_info info;
	uint32_t len;
	uint32_t index;
	/* followed by the set's EXTRA bytes, aligned like the record */
};

struct slot {
	uint32_t hash;
	uint32_t index; /* record number + 1; 0 is an empty slot */
};

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char bytes[];
};

struct pathset {
	struct slot *slots;
	size_t mask; /* slot count - 1 */
	char **chunks;
	size_t nchunks, count;
	size_t extra, recsize;
	struct arena_block *arena;
};

/* The table's hash of a path, folded to 32 bits. */
static uint32_t
path_hash(const char *p, size_t n)
{
	return (uint32_t)hash_bytes(0, p, n);
}

struct pathset *
pathset_new(size_t extra)
{
	struct pathset *s = xcalloc(1, sizeof(*s));
	size_t align = _Alignof(struct record);

	s->extra = extra;
	s->recsize =
	    (sizeof(struct record) + extra + align - 1) / align * align;
	s->mask = 1023;
	s->slots = xcalloc(s->mask + 1, sizeof(*s->slots));
	return s;
}

void
pathset_free(struct pathset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nchunks; i++)
		free(s->chunks[i]);
	free(s->chunks);
	free(s->slots);
	while (s->arena != NULL) {
		struct arena_block *next = s->arena->next;
		free(s->arena);
		s->arena = next;
	}
	free(s);
}

size_t
pathset_count(const struct pathset *s)
{
	return s->count;
}

static struct record *
record_at(const struct pathset *s, size_t i)
{
	return (struct record *)(s->chunks[i / CHUNK_RECORDS] +
	                         i % CHUNK_RECORDS * s->recsize);
}

static struct record *
record_of(const struct path_info *p)
{
	return (struct record *)p;
}

struct path_info *
pathset_at(const struct pathset *s, size_t i)
{
	return &record_at(s, i)->info;
}

unsigned char *
pathset_extra(const struct pathset *s, const struct path_info *p)
{
	(void)s;
	return (unsigned char *)(record_of(p) + 1);
}

/* The slot that holds PATH, or the empty slot where it would go. */
static struct slot *
find_slot(const struct pathset *s, const char *path, size_t len, uint32_t h)
{
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		struct slot *sl = &s->slots[i];
		if (sl->index == 0)
			return sl;
		if (sl->hash != h)
			continue;
		struct record *r = record_at(s, sl->index - 1);
		if (r->len == len && memcmp(r->info.path, path, len) == 0)
			return sl;
	}
}

struct path_info *
pathset_getn(const struct pathset *s, const char *path, size_t len)
{
	struct slot *sl = find_slot(s, path, len, path_hash(path, len));

	return sl->index ? &record_at(s, sl->index - 1)->info : NULL;
}

struct path_info *
pathset_get(const struct pathset *s, const char *path)
{
	return pathset_getn(s, path, strlen(path));
}

static void
grow_table(struct pathset *s)
{
	struct slot *old = s->slots;
	size_t oldn = s->mask + 1;

	s->mask = oldn * 2 - 1;
	s->slots = xcalloc(oldn * 2, sizeof(*s->slots));
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].index == 0)
			continue;
		size_t j = old[i].hash & s->mask;
		while (s->slots[j].index != 0)
			j = (j + 1) & s->mask;
		s->slots[j] = old[i];
	}
	free(old);
}

static const char *
arena_copy(struct pathset *s, const char *path, size_t len)
{
	struct arena_block *b = s->arena;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		b->next = s->arena;
		b->used = 0;
		b->size = size;
		s->arena = b;
	}
	p = b->bytes + b->used;
	memcpy(p, path, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

static struct record *
new_record(struct pathset *s)
{
	if (s->count % CHUNK_RECORDS == 0) {
		size_t n = s->count / CHUNK_RECORDS;
		s->chunks = xreallocarray(s->chunks, n + 1, sizeof(*s->chunks));
		s->chunks[n] = xcalloc(CHUNK_RECORDS, s->recsize);
		s->nchunks = n + 1;
	}
	return record_at(s, s->count++);
}

struct path_info *
pathset_addn(struct pathset *s, const char *path, size_t len, int *added)
{
	uint32_t h = path_hash(path, len);
	struct slot *sl = find_slot(s, path, len, h);
	struct record *r;

	if (added != NULL)
		*added = sl->index == 0;
	if (sl->index != 0)
		return &record_at(s, sl->index - 1)->info;
	if (len > UINT32_MAX || s->count >= UINT32_MAX - 1)
		errx(EXIT_DATA, "too many or too long paths");
	r = new_record(s);
	r->info.path = arena_copy(s, path, len);
	r->len = (uint32_t)len;
	r->index = (uint32_t)(s->count - 1);
	sl->hash = h;
	sl->index = r->index + 1;
	/* Keep the table at most half full, so probes stay short. */
	if (s->count * 2 > s->mask)
		grow_table(s);
	return &r->info;
}

struct path_info *
pathset_add(struct pathset *s, const char *path, int *added)
{
	return pathset_addn(s, path, strlen(path), added);
}

static int
cmp_path(const void *a, const void *b)
{
	const struct path_info *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

struct path_info **
pathset_sorted(const struct pathset *s)
{
	struct path_info **v = xcalloc(s->count + 1, sizeof(*v));

	for (size_t i = 0; i < s->count; i++)
		v[i] = pathset_at(s, i);
	qsort(v, s->count, sizeof(*v), cmp_path);
	return v;
}
