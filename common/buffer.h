/*
 * buffer.h: a growable array of bytes, always NUL-terminated past its
 * length so that text in it can be used as a C string.
 *
 * The struct owns data; buffer_free releases it, buffer_detach hands it
 * to the caller.  A zeroed struct buffer is an empty buffer.
 */
#ifndef DI_BUFFER_H
#define DI_BUFFER_H

#include <stddef.h>

struct buffer {
	unsigned char *data;
	size_t len, cap;
};

void buffer_grow(struct buffer *b, size_t extra);
void buffer_append(struct buffer *b, const void *p, size_t n);
void buffer_addstr(struct buffer *b, const char *s);
void buffer_addf(struct buffer *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Append the whole file PATH ("-": standard input), at most LIMIT bytes
 * (0: no limit).  0, or -1 with errno set (EFBIG past the limit).
 */
int buffer_read_file(struct buffer *b, const char *path, size_t limit);
void buffer_reset(struct buffer *b);
/* The bytes as a C string, never NULL. */
char *buffer_str(struct buffer *b);
/* Hand the bytes (NUL-terminated) to the caller; the buffer is left empty. */
char *buffer_detach(struct buffer *b);
void buffer_free(struct buffer *b);

#endif
