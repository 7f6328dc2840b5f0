/*
 * tarsum.h: Docker's tarsum of a layer (pkg/tarsum, versions 0, 1 and dev),
 * equal byte for byte to what Docker's Go code computes.
 *
 * Each entry is hashed as its selected header fields followed by its data;
 * the tarsum is the hash of the extra bytes followed by the per-entry hex
 * sums in the order Go's sort leaves them.  Entries are hashed on worker
 * threads when more than one is asked for, so a caller on a multi-core
 * machine feeds data as fast as it reads.
 *
 * Feed entries in archive order: tarsum_begin, the data (tarsum_data, or
 * tarsum_data_space + tarsum_data_commit to read straight into the hash
 * queue), tarsum_end.  tarsum_finish returns the malloc'd result.
 */
#ifndef DI_TARSUM_H
#define DI_TARSUM_H

#include <stddef.h>

#include "tar_reader.h"

enum tarsum_version { TARSUM_V0, TARSUM_V1, TARSUM_DEV };

struct tarsum;

/* VERSION: "v0", "v1" or "dev"; -1 if unknown. */
int tarsum_parse_version(const char *s, enum tarsum_version *v);
/* ALG: "sha256" or "sha512"; NULL if unknown.  THREADS <= 1: no threads. */
struct tarsum *tarsum_new(enum tarsum_version v, const char *alg, int threads);

void tarsum_begin(struct tarsum *ts, const struct tar_entry *e);
void tarsum_data(struct tarsum *ts, const void *p, size_t n);
/* Room for up to *N bytes of data; fill some and commit what was filled. */
void *tarsum_data_space(struct tarsum *ts, size_t *n);
void tarsum_data_commit(struct tarsum *ts, size_t n);
void tarsum_end(struct tarsum *ts);

/*
 * Could Go's tar.Writer encode E, as read by tar_reader, again?  Docker's
 * tarsum re-encodes every header and fails when it cannot; 0 and *WHY
 * say so.  Hash E with its go_typeflag as typeflag.
 */
int tarsum_go_encodable(const struct tar_entry *e, const char **why);

/* "tarsum.v1+sha256:<hex>"; frees TS.  EXTRA may be NULL. */
char *tarsum_finish(struct tarsum *ts, const void *extra, size_t extralen);
/* Free TS without a result (after a failure). */
void tarsum_abort(struct tarsum *ts);

#endif
