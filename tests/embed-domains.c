/* SPDX-License-Identifier: MIT */
/*
 * embed-domains.c - the embedded launcher end to end: embed_start brings up pvio-hv and
 * pvio-xenstored, two domains are created, a function forked into each finds its own domid
 * through hv_open and its own home through xs_open (and not the other's), a program spawned in
 * a domain sees its environment, a missing program is -ENOENT, a destroyed domain leaves both
 * pvio-hv and xenstore, and embed_stop sees both daemons exit 0.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "hv/hv.h"
#include "hv/simctl.h"
#include "tests/helpers.h"
#include "launch/embed.h"
#include "launch/sandbox.h"

/* What a domain's function expects to find. */
struct expect {
	domid_t self;	  /* its own domid */
	domid_t other;	  /* the other domain's */
	const char *name; /* its name, at /local/domain/<self>/name */
};

static int in_domain(void *arg)
{
	const struct expect *x = arg;
	struct xs_handle *xs;
	unsigned int len;
	struct hv *hv;
	domid_t domid;
	char path[64], *v;

	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open in domain %u", x->self);
	T_CHECK(hv_domid(hv, &domid) == 0 && domid == x->self, "hv domid %u, wanted %u", domid,
		x->self);
	hv_close(hv);
	T_CHECK((xs = xs_open(XS_OPEN_SOCKETONLY)), "xs_open in domain %u", x->self);
	T_CHECK(xs_write(xs, XBT_NULL, "data", "ok", 2), "write in the home (relative)");
	snprintf(path, sizeof(path), "/local/domain/%u/data", x->self);
	v = xs_read(xs, XBT_NULL, path, &len);
	T_CHECK(v && len == 2 && !memcmp(v, "ok", 2), "home is %s", path);
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%u/name", x->self);
	v = xs_read(xs, XBT_NULL, path, &len);
	T_CHECK(v && !strcmp(v, x->name), "name %s", v ? v : "(none)");
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%u/name", x->other);
	T_CHECK(!xs_read(xs, XBT_NULL, path, &len) && errno == EACCES,
		"the other domain's home is closed");
	xs_close(xs);
	return 0;
}

/*
 * A spawned program sees PVIO_HV=sim, a token and its domain's xenstored socket at the fixed
 * path of its view, and nothing that names dom0's main sockets.
 */
static int check_spawn(struct embed *e, domid_t domid)
{
	char script[256], *argv[] = { "sh", "-c", script, NULL };
	pid_t pid;

	snprintf(script, sizeof(script),
		 "[ \"$PVIO_HV\" = sim ] && [ -n \"$PVIO_HV_FD\" ] && "
		 "[ -z \"${PVIO_HV_SOCKET+set}\" ] && [ -S \"$XENSTORED_PATH\" ] && "
		 "[ \"$XENSTORED_PATH\" = %s ]",
		 SANDBOX_XS_SOCKET);
	(void)domid;
	T_CHECK(embed_domain_spawn(e, domid, argv, &pid) == 0, "spawn sh");
	T_CHECK(t_wait(pid) == 0, "the spawned program's environment");
	return 0;
}

/* After destroy: gone from pvio-hv at once, from xenstore once xenstored hears (bounded). */
static int check_destroyed(domid_t domid)
{
	struct hvctl_domain_info info[8];
	struct xs_handle *xs;
	struct hvctl *ctl;
	int i, n;

	T_CHECK(hvctl_open(&ctl, NULL) == 0, "hvctl_open");
	n = hvctl_domain_list(ctl, info, 8);
	hvctl_close(ctl);
	T_CHECK(n >= 0, "hvctl_domain_list");
	for (i = 0; i < n; i++)
		T_CHECK(info[i].domid != domid, "domain %u still listed", domid);
	T_CHECK((xs = xs_open(XS_OPEN_SOCKETONLY)), "dom0 xs_open");
	for (i = 0; i < 500 && xs_is_domain_introduced(xs, domid); i++)
		t_msleep(10);
	T_CHECK(!xs_is_domain_introduced(xs, domid), "domain %u still introduced", domid);
	xs_close(xs);
	return 0;
}

int main(void)
{
	struct embed_opts opts = { .die_with_parent = true };
	char *missing[] = { "/nonexistent/pvio-no-such-program", NULL };
	struct expect xa = { .name = "alpha" }, xb = { .name = "beta" };
	struct embed *e;
	pid_t pa, pb;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(getenv("XENSTORED_PATH") && !strcmp(getenv("XENSTORED_PATH"), embed_xs_socket(e)),
		"XENSTORED_PATH exported");
	T_CHECK(embed_domain_create(e, "alpha", &xa.self) == 0, "create alpha");
	T_CHECK(embed_domain_create(e, "beta", &xb.self) == 0, "create beta");
	T_CHECK(xa.self != xb.self && xa.self && xb.self, "two domids: %u %u", xa.self, xb.self);
	xa.other = xb.self;
	xb.other = xa.self;
	T_CHECK(embed_domain_fork(e, xa.self, in_domain, &xa, &pa) == 0, "fork in alpha");
	T_CHECK(embed_domain_fork(e, xb.self, in_domain, &xb, &pb) == 0, "fork in beta");
	T_CHECK(t_wait(pa) == 0, "alpha's function failed");
	T_CHECK(t_wait(pb) == 0, "beta's function failed");
	if (check_spawn(e, xb.self))
		return T_FAIL;
	T_CHECK(embed_domain_spawn(e, xa.self, missing, &pa) == -ENOENT, "missing program: ENOENT");
	T_CHECK(embed_domain_create(e, "alpha", &(domid_t){ 0 }) == -EEXIST, "duplicate name");
	T_CHECK(embed_domain_destroy(e, xa.self) == 0, "destroy alpha");
	if (check_destroyed(xa.self))
		return T_FAIL;
	T_CHECK(embed_domain_fork(e, xa.self, in_domain, &xa, &pa) == -ESRCH,
		"fork in a destroyed domain: ESRCH");
	T_CHECK(embed_stop(e) == 0, "embed_stop: both daemons exit 0");
	return T_PASS;
}
