/* whiteout.c: recognizing and writing whiteouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "whiteout.h"
#include "xalloc.h"

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* PATH with its last element replaced by NAME (NAME's length N). */
static char *
sibling(const char *path, const char *name, size_t n)
{
	size_t dirlen = (size_t)(base_name(path) - path);
	char *s = xmalloc(dirlen + n + 1);

	memcpy(s, path, dirlen);
	memcpy(s + dirlen, name, n);
	s[dirlen + n] = '\0';
	/* A top-level name has no parent and so no trailing slash to drop. */
	if (n == 0 && dirlen > 0)
		s[dirlen - 1] = '\0';
	return s;
}

int
whiteout_is_opaque_xattr(const char *key)
{
	return strcmp(key, "SCHILY.xattr.trusted.overlay.opaque") == 0 ||
	       strcmp(key, "SCHILY.xattr.user.overlay.opaque") == 0;
}

static int
has_opaque_xattr(const struct tar_entry *e)
{
	for (size_t i = 0; i < e->nrecords; i++)
		if (whiteout_is_opaque_xattr(e->records[i].key) &&
		    e->records[i].len == 1 && e->records[i].value[0] == 'y')
			return 1;
	return 0;
}

enum whiteout_kind
whiteout_classify(const struct tar_entry *e, const char *path, char **target)
{
	const char *base = base_name(path);
	size_t plen = strlen(WHITEOUT_PREFIX);

	*target = NULL;
	if (strncmp(base, WHITEOUT_PREFIX, plen) == 0) {
		if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
			*target = sibling(path, "", 0);
			return WHITEOUT_OPAQUE_DIR;
		}
		if (strncmp(base + plen, WHITEOUT_PREFIX, plen) == 0)
			return WHITEOUT_META;
		if (base[plen] == '\0')
			return WHITEOUT_BAD;
		*target = sibling(path, base + plen, strlen(base + plen));
		return WHITEOUT_FILE;
	}
	if (e->typeflag == '3' && e->devmajor == 0 && e->devminor == 0 &&
	    *path != '\0') {
		*target = xstrdup(path);
		return WHITEOUT_FILE;
	}
	if (e->typeflag == '5' && has_opaque_xattr(e)) {
		*target = xstrdup(path);
		return WHITEOUT_OPAQUE_XATTR;
	}
	return WHITEOUT_NONE;
}

char *
whiteout_name(const char *path)
{
	const char *base = base_name(path);
	size_t dirlen = (size_t)(base - path);
	char *s;

	s = xasprintf("%.*s" WHITEOUT_PREFIX "%s", (int)dirlen, path, base);
	return s;
}

char *
whiteout_opaque_name(const char *dir)
{
	char *s;

	s = xasprintf("%s%s" WHITEOUT_OPAQUE, dir, *dir ? "/" : "");
	return s;
}

void
whiteout_entry(struct tar_entry *e, const char *name, int64_t mtime)
{
	static char empty[1];

	memset(e, 0, sizeof(*e));
	e->name = name;
	e->linkname = e->uname = e->gname = empty;
	e->mode = 0644;
	e->mtime = mtime;
	e->typeflag = e->raw_typeflag = '0';
}
