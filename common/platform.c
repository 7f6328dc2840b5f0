/* platform.c: the host's platform and matching platforms by variant. */
#include <stddef.h>
#include <string.h>

#include "platform.h"

const char *
platform_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

const char *
platform_host_variant(void)
{
#if defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
	return "v6";
#elif defined(__arm__)
	return "v7";
#else
	return NULL;
#endif
}

struct platform
platform_host(void)
{
	return (struct platform){"linux", platform_host_arch(),
	                         platform_host_variant()};
}

/* The variant as containerd normalizes it. */
static const char *
norm_variant(const char *arch, const char *variant)
{
	if (variant != NULL && *variant != '\0')
		return variant;
	if (arch == NULL)
		return "";
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	if (strcmp(arch, "amd64") == 0)
		return "v1";
	return "";
}

int
platform_match(const struct platform *want, const struct platform *have)
{
	if (have->os == NULL || have->arch == NULL)
		return 0;
	return strcmp(have->os, want->os) == 0 &&
	       strcmp(have->arch, want->arch) == 0 &&
	       strcmp(norm_variant(have->arch, have->variant),
	              norm_variant(want->arch, want->variant)) == 0;
}

int
platform_is_unknown(const struct platform *have)
{
	return have->os != NULL && have->arch != NULL &&
	       strcmp(have->os, "unknown") == 0 &&
	       strcmp(have->arch, "unknown") == 0;
}
