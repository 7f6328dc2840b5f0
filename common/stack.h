/*
 * stack.h: the STACK stream, several layers in order, bottom first, as one
 * tar: first a member "stack.json" that lists the layers, then one member
 * per layer, "001.tar", "002.tar", ..., each holding a layer tar.
 *
 * stack.json is {"layers": [{"name": "001.tar", "size": N, "paths":
 * [STORE PATH, ...]}, ...]}: what follows, in order, with each member's
 * size and the store paths it holds (empty for a layer that is not a group
 * of store paths).  It comes first so that a reader knows how many layers
 * follow, which is the top one and what each holds before it reads their
 * bytes; each member's size is in its header, so a STACK streams.
 *
 * The writer writes the member headers; the caller writes each layer's
 * bytes to the same descriptor in between.  The reader checks every member
 * against the list, and hands each layer's bytes out of the tar reader.
 */
#ifndef DI_STACK_H
#define DI_STACK_H

#include <jv.h>
#include <stdint.h>

#include "tar_reader.h"

#define STACK_INDEX "stack.json"

/* Is E, the first member of a tar, the head of a STACK? */
int stack_sniff(const struct tar_entry *e);

/* The name of layer I (from 0): "001.tar", into BUF. */
void stack_member_name(size_t i, char buf[32]);

/*
 * The text of stack.json for LAYERS (consumed, an array of {"size": N,
 * "paths": [...]}): {"layers": [...]} with each layer's name added.
 */
jv stack_list(jv layers);

struct stack_writer;

/*
 * Start a STACK on FD with the list LAYERS (consumed): an array of
 * {"size": N, "paths": [...]} objects; the names are added here.
 */
struct stack_writer *stack_writer_new(int fd, jv layers, int64_t mtime);
/*
 * Write the header of the next layer; its bytes (exactly the size the
 * list gave) are then written to FD by the caller, who calls
 * stack_writer_layer_end with how many it wrote.
 */
void stack_writer_layer_begin(struct stack_writer *w);
void stack_writer_layer_end(struct stack_writer *w, uint64_t written);
/* End-of-archive after the last layer; frees W. */
void stack_writer_finish(struct stack_writer *w);

struct stack_reader;

/*
 * Read a STACK from R, whose first entry E (stack.json) the caller has
 * read already.  Returns NULL with *why (malloc'd) when the list is bad.
 * LABEL names the stream in messages.
 */
struct stack_reader *stack_reader_new(struct tar_reader *r, struct tar_entry *e,
                                      const char *label, char **why);
size_t stack_reader_count(const struct stack_reader *s);
/* Layer I's store paths, as stack.json lists them (a copy). */
jv stack_reader_paths(const struct stack_reader *s, size_t i);
/*
 * Go to the next layer: 1 with its index, size and member name; 0 after
 * the last (the end-of-archive checked); -1 with *why when the member is
 * not the one the list announced.  Its bytes come from tar_reader_read of
 * R.
 */
int stack_reader_next(struct stack_reader *s, size_t *index, int64_t *size,
                      const char **name, char **why);
void stack_reader_free(struct stack_reader *s);

#endif
