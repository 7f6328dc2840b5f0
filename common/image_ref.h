/*
 * image_ref.h: image references ("busybox", "busybox:1.36",
 * "docker.io/library/busybox:1.36", "localhost/app:dev") and how they name
 * images, with Docker's defaults: registry docker.io, namespace library,
 * tag latest.
 */
#ifndef DI_IMAGE_REF_H
#define DI_IMAGE_REF_H

/*
 * Does REF, as an archive names an image, name NAME:TAG?  NAME NULL: any
 * name; TAG NULL: any tag (a tag in NAME counts when TAG is NULL).
 */
int image_ref_match(const char *ref, const char *name, const char *tag);

/* Go's name of the architecture this program runs on: amd64, arm64, ... */
const char *image_host_arch(void);

#endif
