/* SPDX-License-Identifier: MIT */
/*
 * blk-restart-unnoticed: a guest streams tagged asynchronous writes at queue depth 16 through a
 * libpvio-blkfront that never reconnects (opts.no_reconnect: the model of Linux's blkfront)
 * while the test kill -9's pvio-blkback --journal-dir and starts a new one, KILLS times, each
 * kill landing while writes are in flight (right after the guest saw the last daemon answer
 * DEPTH writes).  Each new daemon re-attaches from the journal: the front-end never leaves
 * Connected (it would fail every write if the back-end did; both states are also read at
 * every round), no write fails, and a final read-back finds every acknowledged write.
 * Built as blk-handover, the daemon is stopped with SIGUSR2 (a planned hand-over: it exits 0
 * leaving every device as it is) instead.
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
#include "xenbus/xenbus.h"

#define DEPTH BLK_STREAM_DEPTH
#define KILLS 100

/* Built as blk-handover with BLK_HANDOVER: SIGUSR2 (a planned hand-over) instead of kill -9. */
#ifdef BLK_HANDOVER
#define STOP_SIGNAL SIGUSR2
#define STOP_STATUS 0
#define STOP_NAME   "hand-over (SIGUSR2)"
#else
#define STOP_SIGNAL SIGKILL
#define STOP_STATUS (128 + SIGKILL)
#define STOP_NAME   "kill -9"
#endif

static struct t_link link_;
static struct blk_stream_guest guest = { .link = &link_, .no_reconnect = true };

static uint64_t killed_at;     /* when the last kill was sent, 0: measured already */
static uint64_t pauses[KILLS]; /* ms from each kill to DEPTH writes answered by the next daemon */
static unsigned int npauses;

/* Wait until the guest saw DEPTH more writes answered; measure the pause of the last kill. */
static int progress(const char *when, int round)
{
	T_CHECK(blk_stream_progress(&link_) == 0, "no progress %s %d", when, round);
	if (killed_at && npauses < KILLS)
		pauses[npauses++] = t_now_ms() - killed_at;
	killed_at = 0;
	return 0;
}

/* Wait for progress, kill the daemon with writes in flight, start another. */
static int kill_and_restart(struct blk_env *env, int round)
{
	int rc;

	T_CHECK(progress("before kill", round) == 0, "progress");
	killed_at = t_now_ms();
	rc = blk_env_daemon_stop(env, STOP_SIGNAL, 5000);
	T_CHECK(rc == STOP_STATUS, STOP_NAME " of pvio-blkback: status %d", rc);
	T_CHECK(blk_stream_both_connected(env) == 0, "after kill %d", round);
	T_CHECK(blk_env_daemon_start(env, NULL) == 0, "restart pvio-blkback");
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	t_time_limit(600); /* KILLS restarts: longer than blk_env's alarm */
	T_CHECK(blk_stream_setup(&env, (const char *[]){ "--journal-dir", env.dir, NULL }, &guest,
				 &pid) == 0,
		"set-up");
	for (int k = 1; k <= KILLS; k++)
		T_CHECK(kill_and_restart(&env, k) == 0, "kill %d", k);
	T_CHECK(progress("after the last restart", KILLS) == 0, "progress");
	blk_stream_report("pause (" STOP_NAME " to 16 writes answered by the new daemon)", pauses,
			  npauses, "ms");
	T_CHECK(blk_stream_both_connected(&env) == 0, "at the end");
	return blk_stream_teardown(&env, &link_, pid);
}
