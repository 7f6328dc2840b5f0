/*
 * image_stack.h: an image's layers as a stack for flatten: each layer
 * opened through the image reader, and closed through it, so that a layer
 * read to its end is checked against its diff_id.
 */
#ifndef DI_IMAGE_STACK_H
#define DI_IMAGE_STACK_H

#include "flatten.h"
#include "image.h"

struct image_stack;

/* A stack over IMG's layers (IMG stays the caller's). */
struct image_stack *image_stack_new(struct image *img);
/* The stack as flatten takes it; valid while the stack lives. */
struct flatten_layers image_stack_layers(struct image_stack *s);
void image_stack_free(struct image_stack *s);

#endif
