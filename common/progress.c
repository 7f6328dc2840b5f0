/*
 * progress.c: the lines of progress.h, made with humanize_number.
 */
#include <libutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "http.h"
#include "progress.h"
#include "xalloc.h"

struct progress {
	int on, tty;
	size_t lines_drawn;
	size_t reported; /* items whose last line is printed (not a tty) */
};

struct progress *
progress_new(int on)
{
	struct progress *pr = xcalloc(1, sizeof(*pr));

	pr->on = on;
	pr->tty = isatty(STDERR_FILENO);
	return pr;
}

void
progress_free(struct progress *pr)
{
	free(pr);
}

static const char *
state_word(const struct work_item *it)
{
	const char *phase = __atomic_load_n(&it->phase, __ATOMIC_RELAXED);

	switch (it->state) {
	case WORK_WAITING:
		return "waiting";
	case WORK_FAILED:
		return "failed";
	case WORK_DONE:
		return it->outcome ? it->outcome : "done";
	default:
		return phase ? phase : "running";
	}
}

static void
item_line(const struct work_item *it, char *line, size_t len)
{
	char done[8], total[8], rate[8];
	int64_t d = __atomic_load_n(&it->done, __ATOMIC_RELAXED);
	double end = it->state == WORK_RUNNING || it->finished == 0
	                 ? http_now()
	                 : it->finished;
	double secs = it->started > 0 ? end - it->started : 0;

	humanize_number(done, sizeof(done), d, "B", HN_AUTOSCALE,
	                HN_DECIMAL | HN_NOSPACE);
	humanize_number(total, sizeof(total), it->size, "B", HN_AUTOSCALE,
	                HN_DECIMAL | HN_NOSPACE);
	humanize_number(rate, sizeof(rate),
	                secs > 0.01 ? (int64_t)((double)d / secs) : 0, "B",
	                HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE);
	snprintf(line, len, "%.19s  %7s / %-7s  %7s/s  %s", it->name, done,
	         total, rate, state_word(it));
}

void
progress_draw(struct progress *pr, const struct work_item *items, size_t n)
{
	char line[160];

	if (pr == NULL || !pr->on)
		return;
	if (!pr->tty) {
		for (;
		     pr->reported < n && items[pr->reported].state == WORK_DONE;
		     pr->reported++) {
			item_line(&items[pr->reported], line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		return;
	}
	if (pr->lines_drawn > 0)
		fprintf(stderr, "\033[%zuA", pr->lines_drawn);
	for (size_t i = 0; i < n; i++) {
		item_line(&items[i], line, sizeof(line));
		fprintf(stderr, "\r\033[K%s\n", line);
	}
	pr->lines_drawn = n;
	fflush(stderr);
}
