/*
 * workpool.h: a few threads working through a list of items (the blobs of
 * an image), the main thread waiting for them one at a time, in order.
 *
 * Each item says how far it has got (bytes done of its size, and what it
 * is doing), which progress.h draws.  A worker that fails an item sets its
 * message; the pool then starts no more items, and the main thread's next
 * wait exits with the first failed item's message (errx, EXIT_DATA).
 */
#ifndef DI_WORKPOOL_H
#define DI_WORKPOOL_H

#include <stddef.h>
#include <stdint.h>

enum work_state { WORK_WAITING, WORK_RUNNING, WORK_DONE, WORK_FAILED };

struct work_item {
	const char *name;      /* shown in progress: a digest */
	int64_t size;          /* the bytes it has to move */
	int64_t done;          /* moved so far: work_item_progress */
	const char *phase;     /* what it does now: work_item_phase */
	const char *outcome;   /* shown when done, instead of "done" */
	enum work_state state; /* guarded by the pool's lock */
	char *error;           /* malloc'd, when it failed */
	double started, finished;
};

/* Set by a worker from any thread; read by the progress display. */
void work_item_progress(struct work_item *it, int64_t done);
void work_item_phase(struct work_item *it, const char *phase);
/* Fail IT with a message (printf-style); returns -1. */
int work_item_fail(struct work_item *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void work_item_free(struct work_item *it);

/*
 * Per-thread state (a connection) made by WORKER_NEW (may be NULL) in each
 * thread and freed by WORKER_FREE; RUN does item I: 0, or -1 with the
 * item failed.
 */
struct workpool_ops {
	void *(*worker_new)(void *ctx);
	void (*worker_free)(void *worker);
	int (*run)(void *ctx, void *worker, size_t i);
	void *ctx;
};

struct progress;
struct workpool;

/* Start THREADS threads (at most the number of items) on ITEMS[0..N). */
struct workpool *workpool_start(struct work_item *items, size_t n,
                                size_t threads, const struct workpool_ops *ops,
                                struct progress *pr);
/* Wait for item I to be done, drawing progress meanwhile. */
void workpool_wait(struct workpool *p, size_t i);
/* Wait for all, join the threads, draw a last time, free P. */
void workpool_finish(struct workpool *p);

#endif
