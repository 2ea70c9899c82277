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

#define DISK_BYTES BLK_STREAM_DISK_BYTES
#define DEPTH	   BLK_STREAM_DEPTH
#define KILLS	   2

static struct t_link link_;

/* Tell the test about each reconnect (n: those reported so far). */
static int report_reconnects(struct blk_stream *s, uint64_t *n)
{
	struct blkfront_stats st;

	blkfront_get_stats(s->bf, &st);
	for (; *n < st.reconnects; (*n)++)
		T_CHECK(t_put(link_.ab[1], "r", 1) == 0, "report");
	return 0;
}

static bool quit_asked(void)
{
	char c;

	return t_readable(link_.ba[0], 0) && read(link_.ba[0], &c, 1) == 1 && c == 'q';
}

static int guest(void *arg)
{
	/*
	 * No connect deadline of its own: under valgrind on a loaded machine connecting takes
	 * longer than blkfront's default 10 s; the test's time limit bounds the wait.
	 */
	struct blkfront_opts o = {
		.devid = BLK_XVDA, .queues = 2, .queue_depth = DEPTH, .timeout_ms = -1
	};
	struct blkfront_stats st;
	struct blk_stream *s;
	uint64_t reconnects = 0;

	(void)arg;
	T_CHECK(blk_stream_open(&s, &o) == 0, "stream");
	T_CHECK(t_put(link_.ab[1], "o", 1) == 0, "report open");
	while (!quit_asked())
		T_CHECK(blk_stream_round(s, false) == 0 && report_reconnects(s, &reconnects) == 0,
			"stream");
	T_CHECK(blk_stream_finish(s) == 0, "drain and verify");
	blkfront_get_stats(s->bf, &st);
	fprintf(stderr, "guest: %llu reconnects, %llu requests re-issued\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reissued);
	T_CHECK(s->failures == 0 && st.errors == 0, "%llu writes failed",
		(unsigned long long)s->failures);
	T_CHECK(st.reconnects >= KILLS, "reconnects %llu", (unsigned long long)st.reconnects);
	blk_stream_close(s);
	return 0;
}

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
	char path[PATH_MAX], c;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&link_) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, guest, NULL, &pid) == 0, "fork the guest");
	T_CHECK(t_readable(link_.ab[0], BLK_ENV_ALARM_S * 1000) && t_get(link_.ab[0], &c, 1) == 0 &&
		    c == 'o',
		"the guest did not connect");
	for (int k = 1; k <= KILLS; k++)
		T_CHECK(kill_and_restart(&env, k) == 0, "kill %d", k);
	t_msleep(300);
	T_CHECK(t_put(link_.ba[1], "q", 1) == 0, "stop the stream");
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	return blk_env_stop(&env);
}
