/*
 * hash.h: the one hash of the in-memory tables and stamps.
 *
 * A 64-bit multiply-xorshift over 8 bytes at a time: fast on paths and
 * 32-byte store hashes, and good enough to spread them over an
 * open-addressing table.  It is not a digest: nothing it returns is
 * written out or compared across runs (digest.h is for that).  SEED chains
 * hashes of several pieces: hash_bytes(hash_bytes(0, a, n), b, m).
 */
#ifndef DI_HASH_H
#define DI_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t
hash_bytes(uint64_t seed, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ seed ^ n;

	while (n >= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		h = (h ^ k) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t k = 0;
		memcpy(&k, p, n);
		h = (h ^ k) * 0x94d049bb133111ebULL;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

#endif
