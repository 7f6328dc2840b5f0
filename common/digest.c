/* digest.c: hashing with libcrypto. */
#include <openssl/evp.h>
#include <string.h>

#include "digest.h"
#include "errors.h"

int
digest_init(struct digest *d, const char *alg)
{
	const EVP_MD *md;

	if (strcmp(alg, "sha256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "sha512") == 0)
		md = EVP_sha512();
	else
		return -1;
	d->alg = strcmp(alg, "sha256") == 0 ? "sha256" : "sha512";
	d->ctx = EVP_MD_CTX_new();
	if (d->ctx == NULL || !EVP_DigestInit_ex(d->ctx, md, NULL))
		errx(EXIT_DATA, "EVP_DigestInit failed");
	return 0;
}

void
digest_update(struct digest *d, const void *p, size_t n)
{
	if (n > 0 && !EVP_DigestUpdate(d->ctx, p, n))
		errx(EXIT_DATA, "EVP_DigestUpdate failed");
}

size_t
digest_final_raw(struct digest *d, unsigned char out[DIGEST_MAX_BYTES])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(d->ctx, md, &n) || n > DIGEST_MAX_BYTES)
		errx(EXIT_DATA, "EVP_DigestFinal failed");
	memcpy(out, md, n);
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
	return n;
}

void
digest_hex(const unsigned char *raw, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[raw[i] >> 4];
		hex[2 * i + 1] = digits[raw[i] & 15];
	}
	hex[2 * n] = '\0';
}

void
digest_final_hex(struct digest *d, char hex[DIGEST_MAX_HEX])
{
	unsigned char md[DIGEST_MAX_BYTES];

	digest_hex(md, digest_final_raw(d, md), hex);
}

void
digest_buffer_hex(const char *alg, const void *p, size_t n,
                  char hex[DIGEST_MAX_HEX])
{
	struct digest d;

	if (digest_init(&d, alg) < 0)
		errx(EXIT_DATA, "%s: unknown digest", alg);
	digest_update(&d, p, n);
	digest_final_hex(&d, hex);
}

size_t
digest_buffer_raw(const char *alg, const void *p, size_t n,
                  unsigned char out[DIGEST_MAX_BYTES])
{
	struct digest d;

	if (digest_init(&d, alg) < 0)
		errx(EXIT_DATA, "%s: unknown digest", alg);
	digest_update(&d, p, n);
	return digest_final_raw(&d, out);
}

int
digest_is_sha256(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return 0;
	return strspn(s + 7, "0123456789abcdef") == 64;
}
