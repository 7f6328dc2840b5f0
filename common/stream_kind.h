/*
 * stream_kind.h: which of di's streams (DESIGN.md: TREE, BUNDLE, IMAGE,
 * STACK) a tar is, decided in this one place for every tool that takes
 * more than one kind at the same argument.
 *
 * An IMAGE is told by what it holds, not by the names of its other
 * members: a manifest.json that is docker save's list of images (any
 * layer paths: <id>/layer.tar, <digest>.tar, skopeo's or a hand-made
 * layers/l.tar), an index.json with its oci-layout, or a repositories
 * file of the seed's legacy form.  A BUNDLE is VERSION, json, layer.tar in
 * that order; a STACK begins with stack.json (stack.h's rule).  Anything
 * else is a TREE: a damaged tar too, which the reader that takes it
 * reports.
 */
#ifndef DI_STREAM_KIND_H
#define DI_STREAM_KIND_H

enum stream_kind {
	STREAM_TREE,
	STREAM_BUNDLE,
	STREAM_IMAGE,
	STREAM_STACK, /* several layers as one tar (stack.h) */
};

/*
 * The kind of the tar on FD, a regular file or a spool (spool_open), read
 * from offset 0 with pread(2), compressed or not; FD's offset is not moved.
 * Headers are read and data seeked over when the tar is plain; a
 * compressed one is read as a stream, no further than it takes to decide.
 * Only the small documents that make an image are read whole.
 */
enum stream_kind stream_kind_of(int fd, const char *label);

/* "tree", "bundle", "image", "stack". */
const char *stream_kind_name(enum stream_kind k);

#endif
