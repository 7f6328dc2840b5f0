/*
 * image_ref.h: how the names an image archive gives its images
 * (manifest.json's RepoTags, index.json's annotations, repositories) are
 * matched against the name a user asks for.  Both are read by Docker's
 * reference grammar (reference.h), with its defaults: registry docker.io,
 * namespace library, tag latest.
 */
#ifndef DI_IMAGE_REF_H
#define DI_IMAGE_REF_H

/*
 * Does REF, as an archive names an image, name NAME:TAG?  NAME NULL: any
 * name; TAG NULL: any tag (a tag in NAME counts when TAG is NULL).  A REF
 * that the grammar refuses names nothing.  An image on "localhost" (as
 * podman names what it built) is also found by its path alone: "app"
 * finds "localhost/app".
 */
int image_ref_match(const char *ref, const char *name, const char *tag);

/*
 * Is NAME a reference the grammar takes?  0, or -1 and *WHY (malloc'd).
 */
int image_ref_check(const char *name, char **why);

#endif
