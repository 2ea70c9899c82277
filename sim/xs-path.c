/* SPDX-License-Identifier: MIT */
/*
 * xs-path.c - xenstore path syntax and node permissions, as
 * docs/misc/xenstore.txt describes them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-store.h"

static bool xs_path_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '/' || c == '_' || c == '@';
}

/* Characters allowed, no "//", no trailing "/" (except "/" itself). */
static bool xs_path_syntax_ok(const char *p)
{
	size_t i, len = strlen(p);

	if (!len || (len > 1 && p[len - 1] == '/'))
		return false;
	for (i = 0; i < len; i++) {
		if (!xs_path_char_ok(p[i]) || (p[i] == '/' && p[i + 1] == '/'))
			return false;
	}
	return true;
}

int xs_path_canon(const char *in, unsigned int domid, char *out)
{
	int n;

	if (!xs_path_syntax_ok(in))
		return -EINVAL;
	if (in[0] == '/') {
		if (strlen(in) > XS_ABS_PATH_MAX)
			return -EINVAL;
		strcpy(out, in);
		return 0;
	}
	if (strlen(in) > XS_REL_PATH_MAX)
		return -EINVAL;
	n = snprintf(out, XS_ABS_PATH_MAX + 1, "/local/domain/%u/%s", domid, in);
	return n < 0 || n > XS_ABS_PATH_MAX ? -EINVAL : 0;
}

void xs_path_parent(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash && slash != path ? (size_t)(slash - path) : 1;

	memcpy(out, path, len);
	out[len] = '\0';
}

const char *xs_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool xs_path_under(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return path[0] == '/';
	return !strncmp(path, prefix, len) && (path[len] == '\0' || path[len] == '/');
}

unsigned int xs_perm_for(const struct xs_node *n, unsigned int domid)
{
	unsigned int i;

	if (domid == 0 || n->perms[0].id == domid)
		return XS_PERM_READ | XS_PERM_WRITE;
	for (i = 1; i < n->nperms; i++) {
		if (n->perms[i].id == domid)
			return n->perms[i].perm;
	}
	return n->perms[0].perm;
}

/* One entry such as "b5": 0 or -EINVAL. */
static int xs_perm_parse(const char *s, struct xs_perm *out)
{
	static const char letters[] = "nrwb";
	const char *l = s[0] ? strchr(letters, s[0]) : NULL;
	unsigned long id;
	char *end;

	if (!l || s[1] < '0' || s[1] > '9')
		return -EINVAL;
	errno = 0;
	id = strtoul(s + 1, &end, 10);
	if (errno || *end || id >= XS_DOMID_MAX)
		return -EINVAL;
	out->perm = (uint8_t)(l - letters);
	out->id = (uint16_t)id;
	return 0;
}

int xs_perms_parse(const char *buf, unsigned int len, struct xs_perm *out, unsigned int max)
{
	unsigned int off = 0, n = 0;
	const char *end;

	while (off < len) {
		end = memchr(buf + off, '\0', len - off);
		if (!end || n == max || xs_perm_parse(buf + off, &out[n]) < 0)
			return -EINVAL;
		n++;
		off = (unsigned int)(end - buf) + 1;
	}
	return n ? (int)n : -EINVAL;
}

int xs_perms_format(const struct xs_perm *p, unsigned int n, char *buf, unsigned int size)
{
	unsigned int i, off = 0;
	int len;

	for (i = 0; i < n; i++) {
		len = snprintf(buf + off, size - off, "%c%u", "nrwb"[p[i].perm & 3], p[i].id);
		if (len < 0 || (unsigned int)len + 1 > size - off)
			return -E2BIG;
		off += (unsigned int)len + 1;
	}
	return (int)off;
}
