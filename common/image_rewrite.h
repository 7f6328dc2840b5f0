/*
 * image_rewrite.h: a new IMAGE made of the layers of images already made
 * and of new layers, with its config's history kept in step.
 *
 * A layer taken from an image is copied byte for byte as stored,
 * compressed or not, so it keeps its digest and diff_id (a registry, or
 * di-push, shares it); its legacy id is kept too while every layer below
 * it is the one it had.  A new layer comes from a di-cook input (a LAYER,
 * a BUNDLE or a STACK's member, checked as a tar on its way) or from a
 * spool of a tar made here.  Each layer comes with its history group
 * (image_history.h); the config's history is their concatenation and its
 * rootfs.diff_ids the layers written.
 *
 * Bad input is fatal (errx naming the input and the member); a writer
 * left unfinished by errx ends without an end-of-archive (image.h).
 */
#ifndef DI_IMAGE_REWRITE_H
#define DI_IMAGE_REWRITE_H

#include <jv.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "layer_input.h"

struct image_rewrite;

/*
 * Start an IMAGE on FD named NAME:TAG, of NLAYERS layers (the top one's
 * legacy json carries the container config) and CONFIG (consumed: the
 * image config whose history and rootfs are replaced at the end).
 */
struct image_rewrite *image_rewrite_new(int fd, const char *name,
                                        const char *tag,
                                        enum image_format format, int64_t mtime,
                                        jv config, size_t nlayers);

/* Layer I of IMG, unchanged, with history GROUP (consumed). */
void image_rewrite_copy(struct image_rewrite *rw, struct image *img, size_t i,
                        jv group);
/* The layer of S (a layer_input's), with history GROUP (consumed). */
void image_rewrite_source(struct image_rewrite *rw, struct layer_source *s,
                          jv group);
/* The SIZE bytes of plain tar at FD's offset 0, named LABEL. */
void image_rewrite_fd(struct image_rewrite *rw, int fd, int64_t size,
                      const char *label, jv group);

/* The history entries after the top layer (TAIL, consumed); frees RW. */
void image_rewrite_finish(struct image_rewrite *rw, jv tail);

#endif
