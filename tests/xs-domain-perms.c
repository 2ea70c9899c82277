/* SPDX-License-Identifier: MIT */
/*
 * xs-domain-perms.c - a domain introduced to pvio-xenstored connects on
 * its own socket and is held to cxenstored's permission rules: it owns
 * what it creates, cannot read or write another domain's tree or dom0's
 * nodes, cannot change an owner; a value over node-size is refused without
 * making the node; RELEASE deletes what it owned.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

#define BIG 3000 /* a value over the default node-size of 2048 */

static int guest(void)
{
	struct xs_permissions mine[1] = { { 6, XS_PERM_NONE } };
	struct xs_handle *h = t_xs_open_domain(5);
	unsigned int len;
	char *v, *big;

	T_CHECK(h, "domain xs_open");
	T_CHECK(xs_write(h, XBT_NULL, "data", "d5", 2), "write in own home (relative)");
	T_CHECK((v = xs_read(h, XBT_NULL, "/local/domain/5/data", &len)), "read own node");
	free(v);
	T_CHECK(!xs_read(h, XBT_NULL, "/local/domain/6/secret", &len) && errno == EACCES,
		"read of another domain's node: EACCES");
	T_CHECK(!xs_write(h, XBT_NULL, "/local/domain/6/x", "", 0) && errno == EACCES,
		"write into another domain's tree: EACCES");
	T_CHECK(!xs_write(h, XBT_NULL, "/tool/x", "", 0) && errno == EACCES,
		"write under dom0's node: EACCES");
	T_CHECK(!xs_directory(h, XBT_NULL, "/local/domain", &len) && errno == EACCES,
		"list dom0's node: EACCES");
	T_CHECK((v = xs_read(h, XBT_NULL, "/shared", &len)), "read a node with r5");
	free(v);
	T_CHECK(!xs_write(h, XBT_NULL, "/shared", "", 0) && errno == EACCES, "write with r5");
	T_CHECK(!xs_set_permissions(h, XBT_NULL, "data", mine, 1) && errno == EPERM,
		"changing the owner: EPERM");
	T_CHECK(!xs_introduce_domain(h, 7, 0, 0) && errno == EACCES, "INTRODUCE from a domain");
	big = calloc(1, BIG);
	T_CHECK(big && !xs_write(h, XBT_NULL, "big", big, BIG) && errno == ENOSPC,
		"a value over node-size: ENOSPC");
	free(big);
	T_CHECK(!xs_read(h, XBT_NULL, "big", &len) && errno == ENOENT,
		"the refused write made no node");
	xs_close(h);
	return 0;
}

static int check_owner(struct xs_handle *h, const char *path, unsigned int owner)
{
	struct xs_permissions *p;
	unsigned int num;
	int ok;

	p = xs_get_permissions(h, XBT_NULL, path, &num);
	ok = p && p[0].id == owner;
	free(p);
	T_CHECK(ok, "owner of %s", path);
	return 0;
}

static int run_guest(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(guest());
	T_CHECK(pid > 0 && t_wait(pid) == 0, "guest failed");
	return 0;
}

int main(void)
{
	struct xs_permissions shared[2] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	struct xs_handle *h;
	char sock[256];
	unsigned int len;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, 5, 0, 0) && xs_introduce_domain(h, 6, 0, 0), "INTRODUCE");
	T_CHECK(xs_is_domain_introduced(h, 5), "introduced");
	T_CHECK(check_owner(h, "/local/domain/5", 5) == 0, "home owned by the domain");
	T_CHECK(xs_write(h, XBT_NULL, "/local/domain/6/secret", "s", 1), "dom0 writes dom6");
	T_CHECK(xs_write(h, XBT_NULL, "/shared", "", 0), "write /shared");
	T_CHECK(xs_set_permissions(h, XBT_NULL, "/shared", shared, 2), "chmod /shared");
	if (run_guest())
		return T_FAIL;
	T_CHECK(check_owner(h, "/local/domain/5/data", 5) == 0, "creator owns the node");
	T_CHECK(xs_release_domain(h, 5), "RELEASE");
	T_CHECK(!xs_read(h, XBT_NULL, "/local/domain/5/data", &len) && errno == ENOENT,
		"owned nodes deleted");
	T_CHECK(!xs_is_domain_introduced(h, 5), "released");
	t_xs_domain_socket(5, sock, sizeof(sock));
	T_CHECK(access(sock, F_OK) < 0, "domain socket removed");
	T_CHECK(!xs_release_domain(h, 5) && errno == ENOENT, "second RELEASE");
	xs_close(h);
	return T_PASS;
}
