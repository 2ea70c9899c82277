/* SPDX-License-Identifier: MIT */
/*
 * xs-ops.c - each xenstore operation through Debian's libxenstore against
 * pvio-xenstored: read, write (with parents), mkdir, rm, directory,
 * permissions, domain path, and the errors cxenstored gives.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* The value at path is exactly want. */
static int check_read(struct xs_handle *h, const char *path, const char *want)
{
	unsigned int len;
	char *v = xs_read(h, XBT_NULL, path, &len);
	int ok = v && len == strlen(want) && !memcmp(v, want, len);

	free(v);
	T_CHECK(ok, "read %s", path);
	return 0;
}

static int check_basic(struct xs_handle *h)
{
	unsigned int len, num;
	char **dir;
	char *v;

	T_CHECK(xs_write(h, XBT_NULL, "/a/b/c", "v1", 2), "write creates parents");
	T_CHECK(check_read(h, "/a/b/c", "v1") == 0, "read back");
	T_CHECK(check_read(h, "/a/b", "") == 0, "parent empty");
	T_CHECK(xs_write(h, XBT_NULL, "/bin", "x\0y", 3), "binary write");
	v = xs_read(h, XBT_NULL, "/bin", &len);
	T_CHECK(v && len == 3 && !memcmp(v, "x\0y", 3), "binary read");
	free(v);
	T_CHECK(!xs_read(h, XBT_NULL, "/nope", &len) && errno == ENOENT, "ENOENT");
	T_CHECK(xs_mkdir(h, XBT_NULL, "/a/d") && xs_mkdir(h, XBT_NULL, "/a/d"), "mkdir twice");
	dir = xs_directory(h, XBT_NULL, "/a", &num);
	T_CHECK(dir && num == 2, "directory");
	T_CHECK(!strcmp(dir[0], "b") && !strcmp(dir[1], "d"), "directory order");
	free(dir);
	T_CHECK(xs_write(h, XBT_NULL, "rel", "r", 1), "relative write");
	T_CHECK(check_read(h, "/local/domain/0/rel", "r") == 0, "relative is dom0's home");
	return 0;
}

static int check_rm(struct xs_handle *h)
{
	unsigned int len;

	T_CHECK(xs_rm(h, XBT_NULL, "/a/b"), "rm subtree");
	T_CHECK(!xs_read(h, XBT_NULL, "/a/b/c", &len) && errno == ENOENT, "child gone");
	T_CHECK(xs_rm(h, XBT_NULL, "/a/b"), "rm of absent node is fine");
	T_CHECK(!xs_rm(h, XBT_NULL, "/x/y") && errno == ENOENT, "rm with absent parent");
	T_CHECK(!xs_rm(h, XBT_NULL, "/") && errno == EINVAL, "rm / refused");
	T_CHECK(!xs_write(h, XBT_NULL, "/bad//path", "", 0) && errno == EINVAL, "//");
	T_CHECK(!xs_write(h, XBT_NULL, "/bad/", "", 0) && errno == EINVAL, "trailing /");
	T_CHECK(!xs_write(h, XBT_NULL, "/bad path", "", 0) && errno == EINVAL, "bad char");
	return 0;
}

static int check_perms(struct xs_handle *h)
{
	struct xs_permissions set[2] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	struct xs_permissions *p;
	unsigned int num;
	char *path;

	T_CHECK(xs_write(h, XBT_NULL, "/p", "", 0), "write /p");
	T_CHECK(xs_set_permissions(h, XBT_NULL, "/p", set, 2), "set perms");
	p = xs_get_permissions(h, XBT_NULL, "/p", &num);
	T_CHECK(p && num == 2 && p[1].id == 5 && p[1].perms == XS_PERM_READ, "get perms");
	free(p);
	T_CHECK(xs_write(h, XBT_NULL, "/p/kid", "", 0), "create under /p");
	p = xs_get_permissions(h, XBT_NULL, "/p/kid", &num);
	T_CHECK(p && num == 2 && p[0].id == 0 && p[1].id == 5, "inherited from parent");
	free(p);
	p = xs_get_permissions(h, XBT_NULL, "/", &num);
	T_CHECK(p && num == 1 && p[0].id == 0 && p[0].perms == XS_PERM_NONE, "root n0");
	free(p);
	path = xs_get_domain_path(h, 7);
	T_CHECK(path && !strcmp(path, "/local/domain/7"), "domain path");
	free(path);
	T_CHECK(xs_is_domain_introduced(h, 0), "dom0 introduced");
	T_CHECK(!xs_is_domain_introduced(h, 9), "dom9 not introduced");
	return 0;
}

int main(void)
{
	struct xs_handle *h;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	h = t_xs_open();
	T_CHECK(h, "xs_open");
	if (check_basic(h) || check_rm(h) || check_perms(h))
		return T_FAIL;
	xs_close(h);
	return T_PASS;
}
