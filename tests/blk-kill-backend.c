/* SPDX-License-Identifier: MIT */
/*
 * blk-kill-backend: a guest streams tagged asynchronous writes at queue depth 16 through
 * libpvio-blkfront while the test kill -9's pvio-blkback in the driver domain and, 200 ms
 * later, starts a new one there.  The front reconnects by itself and re-issues what was not
 * answered; twice.  A final read-back finds every acknowledged write: each sector holds the
 * latest generation acknowledged for it (or that of a later write that failed), and no write
 * failed at all.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "tests/blk-stream.h"

#define KILLS 2

static struct t_link link_;
static struct blk_stream_guest guest = { .link = &link_,
					 .report_reconnects = true,
					 .min_reconnects = KILLS };

/* Kill the daemon mid-stream, start another 200 ms later, wait for the guest to reconnect. */
static int kill_and_restart(struct blk_env *env, int round)
{
	char c;
	int rc;

	t_msleep(300);
	rc = blk_env_daemon_stop(env, SIGKILL, 5000);
	T_CHECK(rc == 128 + SIGKILL, "kill -9 of pvio-blkback: status %d", rc);
	t_msleep(200);
	T_CHECK(blk_env_daemon_start(env, NULL) == 0, "restart pvio-blkback");
	T_CHECK(t_get(link_.ab[0], &c, 1) == 0 && c == 'r', "no reconnect after kill %d", round);
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_stream_setup(&env, NULL, &guest, &pid) == 0, "set-up");
	for (int k = 1; k <= KILLS; k++)
		T_CHECK(kill_and_restart(&env, k) == 0, "kill %d", k);
	t_msleep(300);
	return blk_stream_teardown(&env, &link_, pid);
}
