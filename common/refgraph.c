/*
 * refgraph.c: reference graphs of store paths, and the reference scanner.
 */
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "hash.h"
#include "refgraph.h"
#include "xalloc.h"

/* Nix's base32 alphabet: the digits and the letters but e, o, u, t. */
static int
in_alphabet(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z' && c != 'e' &&
	                                  c != 'o' && c != 'u' && c != 't');
}

/* The scanner asks for every byte: a table, made on first use. */
static unsigned char base32_table[256];
static int base32_table_made;

static void
make_base32_table(void)
{
	for (int c = 0; c < 256; c++)
		base32_table[c] = (unsigned char)in_alphabet((unsigned char)c);
	base32_table_made = 1;
}

int
refgraph_base32(unsigned char c)
{
	return in_alphabet(c);
}

long
refgraph_store_path(const char *store, const char *path)
{
	size_t n = strlen(store);
	const char *base = path + n + 1;

	if (strncmp(path, store, n) != 0 || path[n] != '/' ||
	    strchr(base, '/') != NULL || strlen(base) < REFGRAPH_HASH_LEN + 2)
		return -1;
	for (int i = 0; i < REFGRAPH_HASH_LEN; i++)
		if (!refgraph_base32((unsigned char)base[i]))
			return -1;
	return base[REFGRAPH_HASH_LEN] == '-' ? (long)(n + 1) : -1;
}

/* --- the graph ---------------------------------------------------------- */

struct node {
	char *path;
	int recorded;
	size_t *refs; /* node indexes, sorted, each once */
	size_t nrefs;
	int color; /* closure walk: 0 unseen, 1 on the stack, 2 done */
};

struct index_key {
	const char *path;
	size_t idx;
};

struct refgraph {
	struct node *v;
	size_t n, cap;
	void *index; /* tsearch tree of struct index_key */
};

struct refgraph *
refgraph_new(void)
{
	struct refgraph *g = xcalloc(1, sizeof(*g));

	return g;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct index_key *)a)->path,
	              ((const struct index_key *)b)->path);
}

static long
find(const struct refgraph *g, const char *path)
{
	struct index_key key = {path, 0};
	struct index_key **k = tfind(&key, &g->index, by_path);

	return k ? (long)(*k)->idx : -1;
}

/* The node of PATH (LEN bytes), made if new. */
static size_t
node_of(struct refgraph *g, const char *path, size_t len)
{
	char *p = xstrndup(path, len);
	long i;

	if ((i = find(g, p)) >= 0) {
		free(p);
		return (size_t)i;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->v = xreallocarray(g->v, g->cap, sizeof(*g->v));
	}
	memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
	g->v[g->n].path = p;
	struct index_key *k = xmalloc(sizeof(*k));
	*k = (struct index_key){p, g->n};
	if (tsearch(k, &g->index, by_path) == NULL)
		err(EXIT_DATA, "malloc");
	return g->n++;
}

static int
by_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates; returns the new count. */
static size_t
sort_unique(size_t *v, size_t n)
{
	size_t out = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), by_index);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || v[out - 1] != v[i])
			v[out++] = v[i];
	return out;
}

/* --- parsing ------------------------------------------------------------ */

struct lines {
	const char *p, *end;
	size_t lineno;
	const char *label;
};

/* The next line (without its '\n'): 1, or 0 at the end of the text. */
static int
next_line(struct lines *l, const char **line, size_t *len)
{
	const char *nl;

	if (l->p >= l->end)
		return 0;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	*line = l->p;
	*len = nl ? (size_t)(nl - l->p) : (size_t)(l->end - l->p);
	l->p = nl ? nl + 1 : l->end;
	l->lineno++;
	return 1;
}

static int
only_newlines(const struct lines *l)
{
	for (const char *q = l->p; q < l->end; q++)
		if (*q != '\n')
			return 0;
	return 1;
}

static int
is_path(const char *s, size_t len)
{
	return len > 1 && s[0] == '/' && memchr(s, '\0', len) == NULL;
}

/* A line that must be there and be an absolute path. */
static int
path_line(struct lines *l, const char *what, const char **s, size_t *len,
          char **why)
{
	if (!next_line(l, s, len))
		return error_set(why,
		                 "%s: line %zu: the file ends where %s was "
		                 "expected",
		                 l->label, l->lineno + 1, what);
	if (!is_path(*s, *len))
		return error_set(why, "%s: line %zu: expected %s, not '%.*s'",
		                 l->label, l->lineno, what,
		                 (int)(*len > 80 ? 80 : *len), *s);
	return 0;
}

static int
count_line(struct lines *l, size_t *count, char **why)
{
	const char *s;
	size_t len;

	if (!next_line(l, &s, &len))
		return error_set(why,
		                 "%s: line %zu: the file ends where a count "
		                 "was expected",
		                 l->label, l->lineno + 1);
	*count = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return error_set(why,
			                 "%s: line %zu: bad reference count "
			                 "'%.*s'",
			                 l->label, l->lineno,
			                 (int)(len > 20 ? 20 : len), s);
		*count = *count * 10 + (size_t)(s[i] - '0');
	}
	if (len == 0)
		return error_set(why, "%s: line %zu: empty reference count",
		                 l->label, l->lineno);
	return 0;
}

static int
same_refs(const struct node *x, const size_t *refs, size_t n)
{
	return x->nrefs == n &&
	       (n == 0 || memcmp(x->refs, refs, n * sizeof(*refs)) == 0);
}

/* One record: path, deriver, count, references. */
static int
parse_record(struct refgraph *g, struct lines *l, char **why)
{
	const char *s, *deriver;
	size_t len, dlen, count = 0, *refs = NULL, at = l->lineno + 1;

	if (path_line(l, "a store path", &s, &len, why) < 0)
		return -1;
	size_t self = node_of(g, s, len);
	if (!next_line(l, &deriver, &dlen))
		return error_set(why,
		                 "%s: line %zu: the record of %s ends early",
		                 l->label, l->lineno + 1, g->v[self].path);
	if (dlen > 0 && !is_path(deriver, dlen))
		return error_set(why, "%s: line %zu: bad deriver '%.*s'",
		                 l->label, l->lineno,
		                 (int)(dlen > 80 ? 80 : dlen), deriver);
	if (count_line(l, &count, why) < 0)
		return -1;
	/* A reference line is at least "/x\n": no reading past the end. */
	if (count > ((size_t)(l->end - l->p) + 1) / 3)
		return error_set(why,
		                 "%s: line %zu: %zu references, but the file "
		                 "is too short for them",
		                 l->label, l->lineno, count);
	refs = xreallocarray(NULL, count + 1, sizeof(*refs));
	for (size_t i = 0; i < count; i++) {
		if (path_line(l, "a reference", &s, &len, why) < 0) {
			free(refs);
			return -1;
		}
		refs[i] = node_of(g, s, len);
	}
	count = sort_unique(refs, count);
	struct node *x = &g->v[self];
	if (x->recorded && !same_refs(x, refs, count)) {
		free(refs);
		return error_set(why,
		                 "%s: line %zu: %s is recorded twice with "
		                 "different references",
		                 l->label, at, x->path);
	}
	free(x->refs);
	x->refs = refs;
	x->nrefs = count;
	x->recorded = 1;
	return 0;
}

int
refgraph_parse(struct refgraph *g, const char *buf, size_t len,
               const char *label, char **why)
{
	struct lines l = {buf, buf + len, 0, label};

	while (l.p < l.end && !only_newlines(&l))
		if (parse_record(g, &l, why) < 0)
			return -1;
	return 0;
}

void
refgraph_add(struct refgraph *g, const char *path, const char *const *refs,
             size_t nrefs)
{
	size_t self = node_of(g, path, strlen(path));
	size_t n = g->v[self].nrefs;
	size_t *v = xreallocarray(g->v[self].refs, n + nrefs + 1, sizeof(*v));

	for (size_t i = 0; i < nrefs; i++)
		v[n + i] = node_of(g, refs[i], strlen(refs[i]));
	g->v[self].refs = v;
	g->v[self].nrefs = sort_unique(v, n + nrefs);
	g->v[self].recorded = 1;
}

int
refgraph_has(const struct refgraph *g, const char *path)
{
	long i = find(g, path);

	return i >= 0 && g->v[i].recorded;
}

/* --- closure ------------------------------------------------------------ */

struct frame {
	size_t node, next;
};

static int
cycle_error(const struct refgraph *g, const struct frame *stack, size_t depth,
            size_t to, char **why)
{
	size_t from = depth;
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);

	if (f == NULL)
		err(EXIT_DATA, "malloc");
	while (from > 0 && stack[from - 1].node != to)
		from--;
	for (size_t i = from > 0 ? from - 1 : 0; i < depth; i++)
		fprintf(f, "%s -> ", g->v[stack[i].node].path);
	fprintf(f, "%s", g->v[to].path);
	fclose(f);
	error_set(why, "the references form a cycle: %s", msg);
	free(msg);
	return -1;
}

/* Depth-first from ROOT, marking what it reaches; cycles are errors. */
static int
walk_from(struct refgraph *g, size_t root, struct frame **stack, size_t *cap,
          char **why)
{
	size_t depth = 0;

	if (g->v[root].color == 2)
		return 0;
	(*stack)[depth++] = (struct frame){root, 0};
	g->v[root].color = 1;
	while (depth > 0) {
		struct frame *f = &(*stack)[depth - 1];
		struct node *x = &g->v[f->node];
		if (f->next == x->nrefs) {
			x->color = 2;
			depth--;
			continue;
		}
		size_t to = x->refs[f->next++];
		if (to == f->node || g->v[to].color == 2)
			continue; /* a self-reference, or done */
		if (g->v[to].color == 1)
			return cycle_error(g, *stack, depth, to, why);
		if (!g->v[to].recorded)
			return error_set(why,
			                 "%s references %s, which has no "
			                 "record in the graph",
			                 x->path, g->v[to].path);
		if (depth == *cap) {
			*cap *= 2;
			*stack = xreallocarray(*stack, *cap, sizeof(**stack));
		}
		(*stack)[depth++] = (struct frame){to, 0};
		g->v[to].color = 1;
	}
	return 0;
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
refgraph_closure(struct refgraph *g, const char *const *roots, size_t nroots,
                 char ***out, size_t *nout, char **why)
{
	size_t cap = 64, n = 0;
	struct frame *stack = xreallocarray(NULL, cap, sizeof(*stack));
	int rc = 0;

	for (size_t i = 0; i < g->n; i++)
		g->v[i].color = 0;
	for (size_t i = 0; i < nroots && rc == 0; i++) {
		long r = find(g, roots[i]);
		if (r < 0 || !g->v[r].recorded)
			rc = error_set(why, "%s: not in the reference graph",
			               roots[i]);
		else
			rc = walk_from(g, (size_t)r, &stack, &cap, why);
	}
	free(stack);
	if (rc < 0)
		return -1;
	*out = xreallocarray(NULL, g->n + 1, sizeof(**out));
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].color == 2)
			(*out)[n++] = xstrdup(g->v[i].path);
	if (n > 1)
		qsort(*out, n, sizeof(**out), by_string);
	*nout = n;
	return 0;
}

size_t
refgraph_references(const struct refgraph *g, const char *path,
                    const char ***out)
{
	long i = find(g, path);
	size_t n = 0;

	*out = NULL;
	if (i < 0)
		return 0;
	*out = xreallocarray(NULL, g->v[i].nrefs + 1, sizeof(**out));
	for (size_t k = 0; k < g->v[i].nrefs; k++)
		if (g->v[i].refs[k] != (size_t)i)
			(*out)[n++] = g->v[g->v[i].refs[k]].path;
	return n;
}

void
refgraph_free(struct refgraph *g)
{
	if (g == NULL)
		return;
	tdestroy(g->index, free);
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].path);
		free(g->v[i].refs);
	}
	free(g->v);
	free(g);
}

/* --- the scanner -------------------------------------------------------- */

struct slot {
	char hash[REFGRAPH_HASH_LEN];
	size_t id;
	int used, found;
};

struct refscan {
	struct slot *slots;
	size_t cap, n; /* cap: a power of two */
	size_t *found;
	size_t nfound;
	unsigned char carry[REFGRAPH_HASH_LEN - 1];
	size_t ncarry;
};

static struct slot *
slot_of(struct refscan *s, const char *hash)
{
	size_t i =
	    (size_t)hash_bytes(0, hash, REFGRAPH_HASH_LEN) & (s->cap - 1);

	while (s->slots[i].used &&
	       memcmp(s->slots[i].hash, hash, REFGRAPH_HASH_LEN) != 0)
		i = (i + 1) & (s->cap - 1);
	return &s->slots[i];
}

struct refscan *
refscan_new(void)
{
	struct refscan *s = xcalloc(1, sizeof(*s));

	s->cap = 64;
	s->slots = xcalloc(s->cap, sizeof(*s->slots));
	if (!base32_table_made)
		make_base32_table();
	return s;
}

static void
grow(struct refscan *s)
{
	struct slot *old = s->slots;
	size_t oldcap = s->cap;

	s->cap *= 2;
	s->slots = xcalloc(s->cap, sizeof(*s->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*slot_of(s, old[i].hash) = old[i];
	free(old);
}

void
refscan_add(struct refscan *s, const char *hash, size_t id)
{
	struct slot *sl;

	if (2 * (s->n + 1) > s->cap)
		grow(s);
	sl = slot_of(s, hash);
	if (!sl->used)
		s->n++;
	memcpy(sl->hash, hash, REFGRAPH_HASH_LEN);
	sl->id = id;
	sl->used = 1;
}

static void
check_window(struct refscan *s, const unsigned char *p)
{
	struct slot *sl = slot_of(s, (const char *)p);

	if (!sl->used || sl->found)
		return;
	sl->found = 1;
	s->found = xreallocarray(s->found, s->nfound + 1, sizeof(*s->found));
	s->found[s->nfound++] = (size_t)(sl - s->slots);
}

/*
 * Every window of REFGRAPH_HASH_LEN base32 characters in P: checked from
 * its end, so that a character outside the alphabet skips every window
 * that holds it.
 */
static void
scan(struct refscan *s, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i + REFGRAPH_HASH_LEN <= n) {
		size_t j = i + REFGRAPH_HASH_LEN;
		while (j > i && base32_table[p[j - 1]])
			j--;
		if (j > i) {
			i = j;
			continue;
		}
		check_window(s, p + i);
		i++;
	}
}

void
refscan_break(struct refscan *s)
{
	s->ncarry = 0;
}

void
refscan_feed(struct refscan *s, const void *buf, size_t n)
{
	unsigned char joint[2 * (REFGRAPH_HASH_LEN - 1)];
	const unsigned char *p = buf;
	size_t head = n < REFGRAPH_HASH_LEN - 1 ? n : REFGRAPH_HASH_LEN - 1;

	if (s->n == 0)
		return;
	/* Windows that start in the last piece and end in this one. */
	memcpy(joint, s->carry, s->ncarry);
	memcpy(joint + s->ncarry, p, head);
	scan(s, joint, s->ncarry + head);
	scan(s, p, n);
	/* Keep the last bytes for the next piece. */
	if (n >= REFGRAPH_HASH_LEN - 1) {
		memcpy(s->carry, p + n - (REFGRAPH_HASH_LEN - 1),
		       REFGRAPH_HASH_LEN - 1);
		s->ncarry = REFGRAPH_HASH_LEN - 1;
	} else {
		size_t keep = s->ncarry + n;
		size_t drop = keep > REFGRAPH_HASH_LEN - 1
		                  ? keep - (REFGRAPH_HASH_LEN - 1)
		                  : 0;
		memmove(s->carry, joint + drop, keep - drop);
		s->ncarry = keep - drop;
	}
}

void
refscan_take(struct refscan *s, void (*fn)(void *arg, size_t id), void *arg)
{
	for (size_t i = 0; i < s->nfound; i++) {
		struct slot *sl = &s->slots[s->found[i]];
		sl->found = 0;
		fn(arg, sl->id);
	}
	s->nfound = 0;
}

void
refscan_free(struct refscan *s)
{
	if (s == NULL)
		return;
	free(s->slots);
	free(s->found);
	free(s);
}
