/*
 * digest.h: SHA-256 and SHA-512 through libcrypto's EVP interface, and
 * the "sha256:<hex>" names that images use for content.
 *
 * A struct digest owns its EVP context; digest_final releases it.
 */
#ifndef DI_DIGEST_H
#define DI_DIGEST_H

#include <stddef.h>

#define DIGEST_MAX_BYTES 64
#define DIGEST_MAX_HEX (2 * DIGEST_MAX_BYTES + 1)

struct digest {
	void *ctx; /* EVP_MD_CTX */
	const char *alg;
};

/* ALG is "sha256" or "sha512"; returns -1 for any other name. */
int digest_init(struct digest *d, const char *alg);
void digest_update(struct digest *d, const void *p, size_t n);
/* Write the lowercase hex digest (NUL-terminated) and free the context. */
void digest_final_hex(struct digest *d, char hex[DIGEST_MAX_HEX]);
/* Write the raw digest and free the context; returns its length. */
size_t digest_final_raw(struct digest *d, unsigned char out[DIGEST_MAX_BYTES]);
/* Lowercase hex of N raw bytes, NUL-terminated. */
void digest_hex(const unsigned char *raw, size_t n, char *hex);
/* Hex digest of a whole buffer. */
void digest_buffer_hex(const char *alg, const void *p, size_t n,
                       char hex[DIGEST_MAX_HEX]);
/* Raw digest of a whole buffer; returns its length. */
size_t digest_buffer_raw(const char *alg, const void *p, size_t n,
                         unsigned char out[DIGEST_MAX_BYTES]);
/* Is S "sha256:" followed by 64 lowercase hex digits? */
int digest_is_sha256(const char *s);

#endif
