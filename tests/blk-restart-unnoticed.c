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

#define DISK_BYTES BLK_STREAM_DISK_BYTES
#define DEPTH	   BLK_STREAM_DEPTH
#define KILLS	   100

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

/* Whether the test asked to stop; a progress request ('w') sets *at to DEPTH acks ahead. */
static bool quit_asked(const struct blk_stream *s, uint64_t *at)
{
	char c;

	while (t_readable(link_.ba[0], 0) && read(link_.ba[0], &c, 1) == 1) {
		if (c == 'q')
			return true;
		if (c == 'w')
			*at = s->acks + DEPTH;
	}
	return false;
}

/* Tell the test ('p') once the acks asked for are in. */
static int report_progress(const struct blk_stream *s, uint64_t *at)
{
	if (*at && s->acks >= *at) {
		*at = 0;
		T_CHECK(t_put(link_.ab[1], "p", 1) == 0, "report");
	}
	return 0;
}

static int guest(void *arg)
{
	/* No connect deadline of its own (see blk-kill-backend); never reconnect. */
	struct blkfront_opts o = { .devid = BLK_XVDA,
				   .queues = 2,
				   .queue_depth = DEPTH,
				   .timeout_ms = -1,
				   .no_reconnect = true };
	struct blkfront_stats st;
	struct blk_stream *s;
	uint64_t at = 0;

	(void)arg;
	T_CHECK(blk_stream_open(&s, &o) == 0, "stream");
	T_CHECK(t_put(link_.ab[1], "o", 1) == 0, "report open");
	while (!quit_asked(s, &at))
		T_CHECK(blk_stream_round(s, false) == 0 && report_progress(s, &at) == 0, "stream");
	T_CHECK(blk_stream_finish(s) == 0, "drain and verify");
	blkfront_get_stats(s->bf, &st);
	fprintf(stderr, "guest: %llu reconnects, %llu requests re-issued\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reissued);
	T_CHECK(s->failures == 0 && st.errors == 0, "%llu writes failed",
		(unsigned long long)s->failures);
	T_CHECK(st.reconnects == 0 && st.reissued == 0, "the front-end reconnected: %llu",
		(unsigned long long)st.reconnects);
	blk_stream_close(s);
	return 0;
}

/* Both ends of xvda are Connected, as read now. */
static int both_connected(struct blk_env *env)
{
	char path[128];
	unsigned int len;
	char *v;
	bool ok;

	T_CHECK(blk_env_backend_state(env, BLK_XVDA) == 4, "back-end left Connected");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/state", env->guest, BLK_XVDA);
	v = xs_read(env->xs, XBT_NULL, path, &len);
	ok = v && !strcmp(v, "4");
	free(v);
	T_CHECK(ok, "front-end left Connected");
	return 0;
}

static uint64_t killed_at;     /* when the last kill was sent, 0: measured already */
static uint64_t pauses[KILLS]; /* ms from each kill to DEPTH writes answered by the next daemon */
static unsigned int npauses;

/* Wait until the guest saw DEPTH more writes answered; measure the pause of the last kill. */
static int progress(const char *when, int round)
{
	char c;

	T_CHECK(t_put(link_.ba[1], "w", 1) == 0 && t_get(link_.ab[0], &c, 1) == 0 && c == 'p',
		"no progress %s %d", when, round);
	if (killed_at && npauses < KILLS)
		pauses[npauses++] = t_now_ms() - killed_at;
	killed_at = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The figures (not asserted): median, p99 and max of the pauses. */
static void report_pauses(void)
{
	if (!npauses)
		return;
	qsort(pauses, npauses, sizeof(pauses[0]), cmp_u64);
	fprintf(stderr,
		"pause (" STOP_NAME " to %u writes answered by the new daemon), %u restarts: "
		"median %llu ms, p99 %llu ms, max %llu ms\n",
		DEPTH, npauses, (unsigned long long)pauses[npauses / 2],
		(unsigned long long)pauses[(npauses * 99) / 100],
		(unsigned long long)pauses[npauses - 1]);
}

/* Wait for progress, kill the daemon with writes in flight, start another. */
static int kill_and_restart(struct blk_env *env, int round)
{
	int rc;

	T_CHECK(progress("before kill", round) == 0, "progress");
	killed_at = t_now_ms();
	rc = blk_env_daemon_stop(env, STOP_SIGNAL, 5000);
	T_CHECK(rc == STOP_STATUS, STOP_NAME " of pvio-blkback: status %d", rc);
	T_CHECK(both_connected(env) == 0, "after kill %d", round);
	T_CHECK(blk_env_daemon_start(env, NULL) == 0, "restart pvio-blkback");
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
	t_time_limit(600); /* KILLS restarts: longer than blk_env's alarm */
	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--journal-dir", env.dir, NULL }) == 0,
		"start pvio-blkback");
	T_CHECK(blk_env_guest(&env, guest, NULL, &pid) == 0, "fork the guest");
	T_CHECK(t_readable(link_.ab[0], BLK_ENV_ALARM_S * 1000) && t_get(link_.ab[0], &c, 1) == 0 &&
		    c == 'o',
		"the guest did not connect");
	for (int k = 1; k <= KILLS; k++)
		T_CHECK(kill_and_restart(&env, k) == 0, "kill %d", k);
	T_CHECK(progress("after the last restart", KILLS) == 0, "progress");
	report_pauses();
	T_CHECK(both_connected(&env) == 0, "at the end");
	T_CHECK(t_put(link_.ba[1], "q", 1) == 0, "stop the stream");
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	return blk_env_stop(&env);
}
