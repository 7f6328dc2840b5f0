/* image_stack.c: an image's layers opened and closed for flatten. */
#include <stdlib.h>

#include "errors.h"
#include "image_stack.h"
#include "xalloc.h"

struct image_stack {
	struct image *img;
	struct image_layer **open; /* per layer: the one open, or NULL */
};

static struct tar_reader *
open_layer(void *ctx, size_t i)
{
	struct image_stack *s = ctx;

	s->open[i] = image_layer_open(s->img, i);
	return image_layer_tar(s->open[i]);
}

/* Closing checks the layer's diff_id against the config's. */
static void
close_layer(void *ctx, size_t i, struct tar_reader *r)
{
	struct image_stack *s = ctx;

	(void)r;
	image_layer_close(s->open[i]);
	s->open[i] = NULL;
}

struct image_stack *
image_stack_new(struct image *img)
{
	struct image_stack *s = xcalloc(1, sizeof(*s));
	size_t n = image_layer_count(img);

	s->open = xcalloc(n ? n : 1, sizeof(*s->open));
	s->img = img;
	return s;
}

struct flatten_layers
image_stack_layers(struct image_stack *s)
{
	struct flatten_layers layers = {
	    .count = image_layer_count(s->img),
	    .open = open_layer,
	    .close = close_layer,
	    .ctx = s,
	};

	return layers;
}

void
image_stack_free(struct image_stack *s)
{
	if (s == NULL)
		return;
	free(s->open);
	free(s);
}
