/* SPDX-License-Identifier: MIT */
/*
 * netfront-grant-limit.c - libpvio-netfront's queues fit the grants the process may share
 * (gntalloc's `limit` on Xen, 1024 by default), as found on Xen: a 2-vCPU domU against dom0's
 * xen-netback (2 queues offered) asked for 2 queues of 514 grants each, and netfront_open failed
 * with -ENOSPC.
 *
 * In the guest, hv_grant_share and hv_grant_end are wrapped to count the pages shared and refuse
 * with -ENOSPC past a limit, as gntalloc does, and hv_grant_left reports what is left.  Against
 * pvio-netback offering 4 queues, a front that wants 4: under a limit of 1024 it connects with
 * the one queue that fits; under less than one queue's grants netfront_open fails with -ENOSPC;
 * without a limit it takes all 4.  Each open follows the last one's clean close on the same vif,
 * as a restarted pvio-netfront does: netfront_open says Initialising again, and the back-end
 * offers InitWait again (before, it waited for an InitWait that never came).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/net/netfront.h"
#include "hv/hv.h"
#include "tests/blkback-env.h"
#include "tests/grant-limit-wrap.h"
#include "tests/net-test.h"
#include "xenbus/toolstack.h"

static struct tb_env env;
static pid_t daemon_pid;

/* Open with 4 queues wanted under a limit (0: none); the queues connected, or -errno. */
static int try_open(struct xs_handle *xs, unsigned int lim)
{
	struct netfront_opts o = { .xs = xs, .queues = 4, .timeout_ms = 20000, .vnet_hdr = true };
	struct netfront *nf;
	int ret;

	gl_limited = lim != 0;
	gl_limit = lim;
	gl_shared = 0;
	ret = netfront_open(&nf, &o);
	fprintf(stderr, "limit %u: netfront_open %d, %u grants shared\n", lim, ret, gl_shared);
	if (ret)
		return ret;
	T_CHECK(gl_shared <= lim || !gl_limited, "%u shared over the limit %u", gl_shared, lim);
	ret = (int)netfront_queues(nf);
	netfront_close(nf);
	return ret;
}

static int guest(struct hv *hv, struct xs_handle *xs)
{
	int ret;

	(void)hv;
	ret = try_open(xs, 1024);
	T_CHECK(ret == 1, "under gntalloc's default limit: %d, want 1 queue", ret);
	T_CHECK(tb_step(&env, 'a') == 0, "step");
	ret = try_open(xs, 500);
	T_CHECK(ret == -ENOSPC, "under less than a queue's grants: %d, want -ENOSPC", ret);
	T_CHECK(tb_step(&env, 'b') == 0, "step");
	ret = try_open(xs, 0);
	T_CHECK(ret == 4, "without a limit: %d, want 4 queues", ret);
	T_CHECK(tb_step(&env, 'D') == 0, "step");
	return 0;
}

static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-netback", "--max-queues", "4", NULL };
	char prog[512];

	(void)arg;
	T_CHECK(tb_dd_enter(&env, "pvio-netback", prog, sizeof(prog)) == 0, "enter");
	return tb_dd_run(&env, prog, argv);
}

/* The guest's step c, acknowledged. */
static int step(char want)
{
	char c;

	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == want, "guest step %c", want);
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	return 0;
}

static int run(struct xs_handle *h)
{
	const struct xenbus_kv mac[] = { { "mac", "00:16:3e:00:00:01" } };
	struct xenbus_device_spec s = { .kind = "vif",
					.frontend_id = env.fe,
					.backend_id = env.dd,
					.back_extra = mac,
					.n_back_extra = 1,
					.front_extra = mac,
					.n_front_extra = 1 };

	T_CHECK(xenbus_device_add(h, &s) == 0, "add vif");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon_pid, sizeof(daemon_pid)) == 0, "daemon pid");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	if (step('a') || step('b') || step('D'))
		return T_FAIL;
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(&env, daemon_pid) == 0, "SIGTERM");
	return 0;
}

int main(void)
{
	int rc;

	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (rc)
		return rc;
	return tb_env_main(&env, driver_domain, guest, run);
}
