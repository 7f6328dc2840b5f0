/*
 * refgraph.h: Nix store paths and the references between them.
 *
 * A graph holds records "PATH references REFS", from Nix's
 * exportReferencesGraph files (refgraph_parse) or from scanning
 * (refgraph_add), and answers the closure of a set of roots: the roots and
 * everything they reference, directly or not.  Self-references are
 * allowed, as in Nix; any other cycle is an error.
 *
 * A store path is STORE/HASH-NAME: HASH is 32 characters of Nix's base32
 * alphabet (0-9 and a-z without e, o, u, t), NAME is not empty.  The
 * scanner finds references the way Nix does: by looking for the hash part
 * of every candidate path in the bytes of files, symlink targets and names.
 *
 * Nothing here exits on bad input: parsers return -1 and a malloc'd
 * message, so that they can be fuzzed.
 */
#ifndef DI_REFGRAPH_H
#define DI_REFGRAPH_H

#include <stddef.h>

#define REFGRAPH_HASH_LEN 32

/* Is C a character of Nix's base32 alphabet? */
int refgraph_base32(unsigned char c);

/*
 * Is PATH a store path directly under STORE (both without a trailing
 * '/')?  Returns the offset of its hash part in PATH, or -1.
 */
long refgraph_store_path(const char *store, const char *path);

struct refgraph;

struct refgraph *refgraph_new(void);

/*
 * Add the records of one exportReferencesGraph file held in BUF: for each
 * path, a line with the path, a line with its deriver (maybe empty), a
 * line with a count, then that many lines of references.  Returns 0, or -1
 * with *why (malloc'd) naming LABEL and the line.  A path recorded twice
 * must have the same references each time.
 */
int refgraph_parse(struct refgraph *g, const char *buf, size_t len,
                   const char *label, char **why);

/* Record that PATH references the NREFS paths REFS (replacing nothing). */
void refgraph_add(struct refgraph *g, const char *path, const char *const *refs,
                  size_t nrefs);

/* Has PATH a record? */
int refgraph_has(const struct refgraph *g, const char *path);

/*
 * The closure of the NROOTS ROOTS: every path in it once, sorted in byte
 * order, into *OUT (an array of *NOUT strings, all malloc'd).  Returns 0,
 * or -1 with *why when a root or a reference has no record, or paths
 * reference each other in a cycle.
 */
int refgraph_closure(struct refgraph *g, const char *const *roots,
                     size_t nroots, char ***out, size_t *nout, char **why);

/*
 * The paths PATH references, itself left out: *OUT is a malloc'd array of
 * strings that G owns.  Returns their number (0 when PATH has no record).
 */
size_t refgraph_references(const struct refgraph *g, const char *path,
                           const char ***out);

void refgraph_free(struct refgraph *g);

/*
 * The scanner: finds which of a set of candidate hashes occur in a stream
 * of bytes, also across the boundaries of the pieces it is fed.
 */
struct refscan;

struct refscan *refscan_new(void);
/* A candidate: HASH is REFGRAPH_HASH_LEN characters; ID comes back. */
void refscan_add(struct refscan *s, const char *hash, size_t id);
/* Start a new stream: bytes fed before do not join what comes next. */
void refscan_break(struct refscan *s);
void refscan_feed(struct refscan *s, const void *buf, size_t n);
/* Call FN with the id of every candidate found since the last call. */
void refscan_take(struct refscan *s, void (*fn)(void *arg, size_t id),
                  void *arg);
void refscan_free(struct refscan *s);

#endif
