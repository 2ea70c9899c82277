/* SPDX-License-Identifier: MIT */
/*
 * xs-perm-missing.c - a missing node below a node the caller may not read
 * answers EACCES, not ENOENT, so a domain learns nothing of what exists
 * where it cannot look (cxenstored's errno_from_parents); below a node it
 * may read, or for dom0, a missing node is ENOENT.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* Whether the operation failed with errno err. */
#define FAILS(call, err) (!(call) && errno == (err))

static int guest(void)
{
	struct xs_handle *h = t_xs_open_domain(5);
	unsigned int len, num;

	T_CHECK(h, "domain xs_open");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/local/domain/6/nothing", &len), EACCES),
		"read below another domain's home: EACCES");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/local/domain/6/secret", &len), EACCES),
		"read of an existing unreadable node: EACCES too");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/tool/a/b", &len), EACCES),
		"read two levels below an unreadable node: EACCES");
	T_CHECK(FAILS(xs_directory(h, XBT_NULL, "/local/domain/6/nothing", &num), EACCES),
		"directory: EACCES");
	T_CHECK(FAILS(xs_get_permissions(h, XBT_NULL, "/local/domain/6/nothing", &num), EACCES),
		"get_perms: EACCES");
	T_CHECK(FAILS(xs_rm(h, XBT_NULL, "/local/domain/6/nothing"), EACCES), "rm: EACCES");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/local/domain/5/nothing", &len), ENOENT),
		"read below own home: ENOENT");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/shared/nothing", &len), ENOENT),
		"read below a node it may read: ENOENT");
	xs_close(h);
	return 0;
}

int main(void)
{
	struct xs_permissions shared[2] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	struct xs_handle *h;
	unsigned int len;
	pid_t pid;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, 5, 0, 0) && xs_introduce_domain(h, 6, 0, 0), "INTRODUCE");
	T_CHECK(xs_write(h, XBT_NULL, "/local/domain/6/secret", "s", 1), "dom0 writes dom6");
	T_CHECK(xs_write(h, XBT_NULL, "/shared", "", 0), "write /shared");
	T_CHECK(xs_set_permissions(h, XBT_NULL, "/shared", shared, 2), "chmod /shared");
	T_CHECK(FAILS(xs_read(h, XBT_NULL, "/local/domain/6/nothing", &len), ENOENT),
		"dom0 reads a missing node: ENOENT");
	pid = fork();
	if (pid == 0)
		_exit(guest());
	T_CHECK(pid > 0 && t_wait(pid) == 0, "guest failed");
	xs_close(h);
	return T_PASS;
}
