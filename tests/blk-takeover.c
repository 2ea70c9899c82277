/* SPDX-License-Identifier: MIT */
/*
 * blk-takeover: planned hand-overs with pvio-blkback --takeover under load.  A guest streams
 * tagged asynchronous writes at queue depth 16 on 2 queues through a libpvio-blkfront that
 * never reconnects (the model of Linux's blkfront).  ROUNDS times, while writes are in flight,
 * the test starts a second daemon with --takeover in the driver domain: it prepares, asks the
 * running one to leave, re-attaches every device, and the old one exits 0.  Every DEATH_EVERY-th
 * round the successor is killed (kill -9) at a random point of its start or hand-over first:
 * then either the old daemon still serves (it never left, or it took the devices back when its
 * successor vanished) and the next --takeover takes them from it, or the successor had already
 * taken over and the old one exited, and a plain restart recovers from the journals.  Every
 * tenth round a successor that cannot serve the disk (no --storage) refuses before asking:
 * the old daemon serves on with nothing changed (it used to write an error node and Closing).
 * Throughout: the front-end never leaves Connected (it would fail every write) and both states
 * are read at every round, no write fails, and a final read-back finds every acknowledged write.
 * The pause the guest saw (the longest gap between two completed writes around a hand-over) is
 * printed, not asserted.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "tests/blk-stream.h"
#include "xenbus/xenbus.h"

#define DEPTH	    BLK_STREAM_DEPTH
#define ROUNDS	    100
#define DEATH_EVERY 5 /* a successor killed before or while taking over */
#define WAIT_MS	    20000
#define BASELINE    20 /* windows measured with no hand-over */

static struct t_link link_;
static struct blk_env env;
static const char *start_args[4];    /* --journal-dir DIR */
static const char *takeover_args[5]; /* the same and --takeover */
/* Every other successor with lower limits than the device was connected with: it must keep
 * serving the rings as negotiated (the journal records what a ring was offered). */
static const char *takeover_low[9];

/* The test's requests: 'q' stop, 'w' report after DEPTH more acks, 'g' send the longest gap. */
static int serve_requests(struct blk_stream *s, uint64_t *at, bool *quit)
{
	char c;

	while (t_readable(link_.ba[0], 0) && read(link_.ba[0], &c, 1) == 1) {
		if (c == 'q')
			*quit = true;
		if (c == 'w')
			*at = s->acks + DEPTH;
		if (c == 'g') {
			T_CHECK(t_put(link_.ab[1], &s->max_gap_us, sizeof(s->max_gap_us)) == 0,
				"gap");
			s->max_gap_us = 0;
		}
	}
	if (*at && s->acks >= *at) {
		*at = 0;
		T_CHECK(t_put(link_.ab[1], "p", 1) == 0, "report");
	}
	return 0;
}

static int guest(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA,
				   .queues = 2,
				   .queue_depth = DEPTH,
				   .timeout_ms = -1,
				   .no_reconnect = true };
	struct blkfront_stats st;
	struct blk_stream *s;
	uint64_t at = 0;
	bool quit = false;

	(void)arg;
	T_CHECK(blk_stream_open(&s, &o) == 0, "stream");
	T_CHECK(t_put(link_.ab[1], "o", 1) == 0, "report open");
	while (!quit)
		T_CHECK(blk_stream_round(s, false) == 0 && serve_requests(s, &at, &quit) == 0,
			"stream");
	T_CHECK(blk_stream_finish(s) == 0, "drain and verify");
	blkfront_get_stats(s->bf, &st);
	T_CHECK(s->failures == 0 && st.errors == 0, "%llu writes failed",
		(unsigned long long)s->failures);
	T_CHECK(st.reconnects == 0 && st.reissued == 0, "the front-end reconnected: %llu",
		(unsigned long long)st.reconnects);
	blk_stream_close(s);
	return 0;
}

/* Both ends of xvda are Connected, as read now. */
static int both_connected(void)
{
	char path[128];
	unsigned int len;
	char *v;
	bool ok;

	T_CHECK(blk_env_backend_state(&env, BLK_XVDA) == 4, "back-end left Connected");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/state", env.guest, BLK_XVDA);
	v = xs_read(env.xs, XBT_NULL, path, &len);
	ok = v && !strcmp(v, "4");
	free(v);
	T_CHECK(ok, "front-end left Connected");
	return 0;
}

/* Wait until the guest saw DEPTH more writes answered. */
static int progress(const char *when, int round)
{
	char c;

	T_CHECK(t_put(link_.ba[1], "w", 1) == 0 && t_get(link_.ab[0], &c, 1) == 0 && c == 'p',
		"no progress %s %d", when, round);
	return 0;
}

/* The longest gap between two completions since the last ask, in us. */
static uint64_t gap_us(void)
{
	uint64_t g = UINT64_MAX;

	if (t_put(link_.ba[1], "g", 1) || t_get(link_.ab[0], &g, sizeof(g)))
		return UINT64_MAX;
	return g;
}

/* Whether pid has exited (its status in *st), without waiting. */
static bool exited(pid_t pid, int *st)
{
	int status;

	if (waitpid(pid, &status, WNOHANG) != pid)
		return false;
	*st = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return true;
}

/* The pid (in the driver domain's namespace) pvio-blkback.pid names: who serves. */
static long serving(void)
{
	char path[PATH_MAX + 32];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pvio-blkback.pid", env.dir);
	f = fopen(path, "r");
	if (f && fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	if (f)
		fclose(f);
	return pid;
}

/*
 * Start a successor with --takeover while old serves (or, after a killed successor, may have
 * handed over already).  1: the successor took over (it wrote the pid file) and old exited 0;
 * 0: the successor failed (nobody left to take from), old exited 0, and nobody serves.
 */
static int takeover(pid_t old, int round)
{
	long before = serving();
	pid_t succ;
	int st;

	T_CHECK(blk_env_daemon_start(&env, round % 2 ? takeover_args : takeover_low) == 0,
		"start a successor");
	succ = env.daemon;
	for (int waited = 0;; waited += 2) {
		T_CHECK(waited < WAIT_MS, "round %d: no hand-over", round);
		if (serving() != before)
			break;
		if (exited(succ, &st)) {
			env.daemon = 0;
			T_CHECK(st != 0, "round %d: the successor exited 0", round);
			st = blk_env_wait(old, WAIT_MS);
			T_CHECK(st == 0, "round %d: the predecessor exited %d", round, st);
			return 0;
		}
		t_msleep(2);
	}
	st = blk_env_wait(old, WAIT_MS);
	T_CHECK(st == 0, "round %d: the predecessor exited %d", round, st);
	return 1;
}

/* Kill a successor at a random point; then whoever serves is found by taking over again. */
static int successor_dies(pid_t old, int round, uint64_t *rng)
{
	int rc;

	T_CHECK(blk_env_daemon_start(&env, takeover_args) == 0, "start a successor");
	t_msleep((unsigned int)(blk_rand(rng) % 60));
	rc = blk_env_daemon_stop(&env, SIGKILL, WAIT_MS);
	T_CHECK(rc == 128 + SIGKILL, "round %d: successor status %d", round, rc);
	rc = takeover(old, round);
	T_CHECK(rc >= 0, "round %d", round);
	if (rc == 0) /* the killed one had taken over: a plain restart recovers */
		T_CHECK(blk_env_daemon_start(&env, start_args) == 0, "plain restart");
	fprintf(stderr, "round %d: successor killed, %s\n", round,
		rc ? "the predecessor still served" : "it had taken over: restarted");
	return 0;
}

/*
 * A successor that could not serve the device (here: no --storage) refuses to take over before
 * it asks: it exits 1, and the running daemon, never asked, serves on with nothing changed.
 */
static int successor_refuses(pid_t old, int round)
{
	char storage[sizeof(env.storage)];
	int rc, st;

	memcpy(storage, env.storage, sizeof(storage));
	env.storage[0] = '\0';
	rc = blk_env_daemon_start(&env, takeover_args);
	memcpy(env.storage, storage, sizeof(storage));
	T_CHECK(rc == 0, "start a successor without --storage");
	rc = blk_env_daemon_stop(&env, 0, WAIT_MS);
	T_CHECK(rc == 1, "round %d: a successor that cannot serve the disk exited %d", round, rc);
	T_CHECK(!exited(old, &st), "round %d: the predecessor exited %d", round, st);
	env.daemon = old;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *gaps, unsigned int n)
{
	if (!n)
		return;
	qsort(gaps, n, sizeof(gaps[0]), cmp_u64);
	fprintf(stderr,
		"%s (the guest's longest gap between completions), %u rounds: median %llu us, "
		"p99 %llu us, max %llu us\n",
		what, n, (unsigned long long)gaps[n / 2], (unsigned long long)gaps[(n * 99) / 100],
		(unsigned long long)gaps[n - 1]);
}

/* The same windows with no hand-over: what the machine's load alone costs the stream. */
static int baseline(uint64_t *gaps, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		gap_us();
		T_CHECK(progress("baseline", (int)i) == 0 && progress("baseline", (int)i) == 0,
			"baseline");
		gaps[i] = gap_us();
	}
	return 0;
}

static int round_run(int k, uint64_t *rng, uint64_t *gaps, unsigned int *ngaps)
{
	pid_t old = env.daemon;

	T_CHECK(progress("before", k) == 0, "progress");
	env.daemon = 0;
	if (k % DEATH_EVERY == 0) {
		T_CHECK(successor_dies(old, k, rng) == 0, "successor death");
	} else if (k % 10 == 7) {
		T_CHECK(successor_refuses(old, k) == 0, "successor refusing");
	} else {
		gap_us(); /* from here */
		T_CHECK(takeover(old, k) == 1, "round %d: not taken over", k);
	}
	T_CHECK(both_connected() == 0, "after round %d", k);
	T_CHECK(progress("after", k) == 0, "progress");
	if (k % DEATH_EVERY && k % 10 != 7)
		gaps[(*ngaps)++] = gap_us();
	return 0;
}

int main(void)
{
	static uint64_t gaps[ROUNDS], base[BASELINE];
	unsigned int ngaps = 0;
	uint64_t rng = 0x7a4e;
	char path[PATH_MAX], c;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&link_) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", BLK_STREAM_DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	t_time_limit(600);
	memcpy(start_args, (const char *[]){ "--journal-dir", env.dir, NULL }, 3 * sizeof(char *));
	memcpy(takeover_args, (const char *[]){ "--journal-dir", env.dir, "--takeover", NULL },
	       4 * sizeof(char *));
	memcpy(takeover_low,
	       (const char *[]){ "--journal-dir", env.dir, "--takeover", "--max-indirect", "8",
				 "--max-queues", "1", NULL },
	       8 * sizeof(char *));
	T_CHECK(blk_env_daemon_start(&env, start_args) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, guest, NULL, &pid) == 0, "fork the guest");
	T_CHECK(t_readable(link_.ab[0], BLK_ENV_ALARM_S * 1000) && t_get(link_.ab[0], &c, 1) == 0 &&
		    c == 'o',
		"the guest did not connect");
	T_CHECK(baseline(base, BASELINE) == 0, "baseline");
	for (int k = 1; k <= ROUNDS; k++)
		T_CHECK(round_run(k, &rng, gaps, &ngaps) == 0, "round %d", k);
	report("no hand-over", base, BASELINE);
	report("hand-over pause", gaps, ngaps);
	T_CHECK(both_connected() == 0, "at the end");
	T_CHECK(t_put(link_.ba[1], "q", 1) == 0, "stop the stream");
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	return blk_env_stop(&env);
}
