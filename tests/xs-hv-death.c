/* SPDX-License-Identifier: MIT */
/*
 * xs-hv-death.c - pvio-xenstored following pvio-hv: a domain pvio-hv
 * created is introduced (@introduceDomain fires), its process writes in
 * its home and in a directory dom0 opened to it, and when the process
 * exits pvio-hv reports the death and xenstored releases the domain:
 * @releaseDomain fires, it is no longer introduced, and every node it
 * owned is gone (XSA-419).  INTRODUCE of a domid pvio-hv does not know
 * fails with EINVAL.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* The pipe on which the parent hands the domain its domid once introduced. */
static int go[2];

static int guest(void *arg)
{
	struct xs_handle *h;
	unsigned int domid, len;
	char path[64], *v;

	(void)arg;
	close(go[1]);
	T_CHECK(read(go[0], &domid, sizeof(domid)) == sizeof(domid), "read domid");
	T_CHECK((h = t_xs_open_domain(domid)), "domain xs_open");
	T_CHECK(xs_write(h, XBT_NULL, "data", "x", 1), "write in own home (relative)");
	snprintf(path, sizeof(path), "/local/domain/%u/data", domid);
	T_CHECK((v = xs_read(h, XBT_NULL, path, &len)) && len == 1, "read it back");
	free(v);
	T_CHECK(xs_write(h, XBT_NULL, "/open/mine", "y", 1), "write in a dir opened to it");
	xs_close(h);
	return 0;
}

/* Start the domain, introduce it, let it write, and hand back its domid. */
static int run_domain(struct xs_handle *h, domid_t *domid, pid_t *pid)
{
	struct xs_permissions open[2] = { { 0, XS_PERM_NONE },
					  { 0, XS_PERM_READ | XS_PERM_WRITE } };
	unsigned int id;

	T_CHECK(pipe(go) == 0, "pipe");
	T_CHECK(t_domain_fork("xsguest", guest, NULL, domid, pid) == 0, "t_domain_fork");
	close(go[0]);
	id = *domid;
	T_CHECK(xs_introduce_domain(h, id, 0, 0), "INTRODUCE %u", id);
	T_CHECK(xs_is_domain_introduced(h, id), "introduced");
	open[1].id = id;
	T_CHECK(xs_set_permissions(h, XBT_NULL, "/open", open, 2), "chmod /open");
	T_CHECK(write(go[1], &id, sizeof(id)) == sizeof(id), "hand over domid");
	close(go[1]);
	T_CHECK(t_wait(*pid) == 0, "guest failed");
	return 0;
}

int main(void)
{
	const char *extra[3] = { "--hv-socket", NULL, NULL };
	struct xs_handle *h;
	char path[64];
	unsigned int len;
	char **kids;
	domid_t domid;
	pid_t pid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	extra[1] = t_hv_socket();
	T_CHECK(t_xs_start(extra) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(!xs_introduce_domain(h, 77, 0, 0) && errno == EINVAL,
		"INTRODUCE of a domain pvio-hv does not know: EINVAL");
	T_CHECK(xs_watch(h, "@introduceDomain", "in"), "watch @introduceDomain");
	T_CHECK(t_xs_expect(h, "@introduceDomain", "in", 2000), "registration event");
	T_CHECK(xs_watch(h, "@releaseDomain", "out"), "watch @releaseDomain");
	T_CHECK(t_xs_expect(h, "@releaseDomain", "out", 2000), "registration event");
	T_CHECK(xs_write(h, XBT_NULL, "/open", "", 0), "mkdir /open");
	if (run_domain(h, &domid, &pid))
		return T_FAIL;
	T_CHECK(t_xs_expect(h, "@introduceDomain", "in", 2000), "@introduceDomain fired");
	T_CHECK(t_xs_expect(h, "@releaseDomain", "out", 10000), "@releaseDomain on death");
	T_CHECK(!xs_is_domain_introduced(h, domid), "released after death");
	snprintf(path, sizeof(path), "/local/domain/%u", (unsigned int)domid);
	T_CHECK(!xs_read(h, XBT_NULL, path, &len) && errno == ENOENT, "home deleted");
	T_CHECK(!xs_read(h, XBT_NULL, "/open/mine", &len) && errno == ENOENT,
		"node it owned elsewhere deleted");
	kids = xs_directory(h, XBT_NULL, "/open", &len);
	T_CHECK(kids && len == 0, "/open kept, empty");
	free(kids);
	xs_close(h);
	return T_PASS;
}
