/*
 * platform.h: the platform an image is for (os, architecture, variant, as
 * Go and the OCI image-spec name them), the platform of the machine this
 * program was built for, and how a wanted platform matches an image's.
 *
 * Variants are compared as containerd normalizes them: arm64 without one
 * is v8, arm is v7, amd64 is v1.  The strings are borrowed.
 */
#ifndef DI_PLATFORM_H
#define DI_PLATFORM_H

struct platform {
	const char *os;      /* "linux" */
	const char *arch;    /* "amd64", "arm64", "arm", ... */
	const char *variant; /* "v7", or NULL: the architecture's default */
};

/* GOARCH of the machine this was built for ("amd64", "arm64"...). */
const char *platform_host_arch(void);
/* Its default variant ("v7" on 32-bit arm), or NULL. */
const char *platform_host_variant(void);
/* linux, the host's architecture and variant. */
struct platform platform_host(void);

/*
 * Does HAVE (an image's platform) serve WANT?  os and architecture must be
 * equal and the variants equal once normalized; WANT's variant NULL asks
 * for the architecture's default.
 */
int platform_match(const struct platform *want, const struct platform *have);

/*
 * Is HAVE not an image at all but an attestation (BuildKit writes those
 * as unknown/unknown)?
 */
int platform_is_unknown(const struct platform *have);

#endif
