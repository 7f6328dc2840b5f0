/*
 * workpool.c: the threads, the lock that guards the items' states, and the
 * waits of the main thread (which draw progress every 200 ms).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "errors.h"
#include "http.h"
#include "progress.h"
#include "workpool.h"
#include "xalloc.h"

#define MAX_THREADS 64

struct workpool {
	struct work_item *items;
	size_t n, next, nthreads;
	int failed;
	struct workpool_ops ops;
	struct progress *pr;
	pthread_t threads[MAX_THREADS];
	pthread_mutex_t lock;
	pthread_cond_t changed;
};

void
work_item_progress(struct work_item *it, int64_t done)
{
	__atomic_store_n(&it->done, done, __ATOMIC_RELAXED);
}

void
work_item_phase(struct work_item *it, const char *phase)
{
	__atomic_store_n(&it->phase, phase, __ATOMIC_RELAXED);
}

int
work_item_fail(struct work_item *it, const char *fmt, ...)
{
	va_list ap;

	free(it->error);
	va_start(ap, fmt);
	error_vset(&it->error, fmt, ap);
	va_end(ap);
	return -1;
}

void
work_item_free(struct work_item *it)
{
	free(it->error);
	it->error = NULL;
}

static void *
worker(void *arg)
{
	struct workpool *p = arg;
	void *w = p->ops.worker_new ? p->ops.worker_new(p->ops.ctx) : NULL;

	pthread_mutex_lock(&p->lock);
	while (!p->failed && p->next < p->n) {
		size_t i = p->next++;
		struct work_item *it = &p->items[i];
		it->state = WORK_RUNNING;
		it->started = http_now();
		pthread_mutex_unlock(&p->lock);
		int rc = p->ops.run(p->ops.ctx, w, i);
		pthread_mutex_lock(&p->lock);
		it->finished = http_now();
		it->state = rc < 0 ? WORK_FAILED : WORK_DONE;
		if (rc < 0)
			p->failed = 1;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	if (p->ops.worker_free)
		p->ops.worker_free(w);
	return NULL;
}

struct workpool *
workpool_start(struct work_item *items, size_t n, size_t threads,
               const struct workpool_ops *ops, struct progress *pr)
{
	struct workpool *p = xcalloc(1, sizeof(*p));

	p->items = items;
	p->n = n;
	p->ops = *ops;
	p->pr = pr;
	p->nthreads = threads < n ? threads : n;
	if (p->nthreads > MAX_THREADS)
		p->nthreads = MAX_THREADS;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	for (size_t i = 0; i < p->nthreads; i++)
		if ((errno = pthread_create(&p->threads[i], NULL, worker, p)))
			err(EXIT_DATA, "pthread_create");
	return p;
}

/* Sleep on the condition for at most 200 ms; lock held. */
static void
wait_a_little(struct workpool *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&p->changed, &p->lock, &ts);
}

void
workpool_wait(struct workpool *p, size_t i)
{
	pthread_mutex_lock(&p->lock);
	for (;;) {
		progress_draw(p->pr, p->items, p->n);
		for (size_t k = 0; k < p->n; k++)
			if (p->items[k].state == WORK_FAILED)
				errx(EXIT_DATA, "%s", p->items[k].error);
		if (p->items[i].state == WORK_DONE)
			break;
		wait_a_little(p);
	}
	pthread_mutex_unlock(&p->lock);
}

void
workpool_finish(struct workpool *p)
{
	for (size_t i = 0; i < p->n; i++)
		workpool_wait(p, i);
	pthread_mutex_lock(&p->lock);
	progress_draw(p->pr, p->items, p->n);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	free(p);
}
