/* buffer.c: growable byte arrays. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "errors.h"
#include "xalloc.h"

void
buffer_grow(struct buffer *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		errx(EXIT_DATA, "buffer size overflow");
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	unsigned char *p = xrealloc(b->data, cap);
	b->data = p;
	b->cap = cap;
}

void
buffer_append(struct buffer *b, const void *p, size_t n)
{
	buffer_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buffer_addstr(struct buffer *b, const char *s)
{
	buffer_append(b, s, strlen(s));
}

void
buffer_addf(struct buffer *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(EXIT_DATA, "vsnprintf");
	buffer_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int
buffer_read_file(struct buffer *b, const char *path, size_t limit)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n, start = b->len;
	int failure = 0;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buffer_append(b, chunk, n);
		if (limit > 0 && b->len - start > limit) {
			failure = EFBIG;
			break;
		}
	}
	if (failure == 0 && ferror(f))
		failure = errno ? errno : EIO;
	if (!is_stdin)
		fclose(f);
	errno = failure;
	return failure ? -1 : 0;
}

void
buffer_reset(struct buffer *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buffer_str(struct buffer *b)
{
	buffer_grow(b, 0);
	b->data[b->len] = '\0';
	return (char *)b->data;
}

char *
buffer_detach(struct buffer *b)
{
	char *s = buffer_str(b);

	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
buffer_free(struct buffer *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
