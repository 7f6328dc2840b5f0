/*
 * progress.h: progress of a set of work items on stderr: a line per item
 * (digest, bytes done and total, rate, state), redrawn in place on a
 * terminal, or each item's last line once it is done when stderr is not
 * one.  Nothing is drawn unless asked for; stdout is never touched.
 */
#ifndef DI_PROGRESS_H
#define DI_PROGRESS_H

#include <stddef.h>

#include "workpool.h"

struct progress;

/* ON: draw at all (--progress, or stderr a terminal and no -q). */
struct progress *progress_new(int on);
void progress_free(struct progress *pr);
/* Draw ITEMS[0..N); the caller keeps their states from changing. */
void progress_draw(struct progress *pr, const struct work_item *items,
                   size_t n);

#endif
