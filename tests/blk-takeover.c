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

static struct blk_stream_guest guest = { .link = &link_, .no_reconnect = true };

/* Wait until the guest saw DEPTH more writes answered. */
static int progress(const char *when, int round)
{
	T_CHECK(blk_stream_progress(&link_) == 0, "no progress %s %d", when, round);
	return 0;
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

/* The same windows with no hand-over: what the machine's load alone costs the stream. */
static int baseline(uint64_t *gaps, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		blk_stream_gap_us(&link_);
		T_CHECK(progress("baseline", (int)i) == 0 && progress("baseline", (int)i) == 0,
			"baseline");
		gaps[i] = blk_stream_gap_us(&link_);
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
		blk_stream_gap_us(&link_); /* from here */
		T_CHECK(takeover(old, k) == 1, "round %d: not taken over", k);
	}
	T_CHECK(blk_stream_both_connected(&env) == 0, "after round %d", k);
	T_CHECK(progress("after", k) == 0, "progress");
	if (k % DEATH_EVERY && k % 10 != 7)
		gaps[(*ngaps)++] = blk_stream_gap_us(&link_);
	return 0;
}

int main(void)
{
	static uint64_t gaps[ROUNDS], base[BASELINE];
	unsigned int ngaps = 0;
	uint64_t rng = 0x7a4e;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	t_time_limit(600);
	memcpy(start_args, (const char *[]){ "--journal-dir", env.dir, NULL }, 3 * sizeof(char *));
	memcpy(takeover_args, (const char *[]){ "--journal-dir", env.dir, "--takeover", NULL },
	       4 * sizeof(char *));
	memcpy(takeover_low,
	       (const char *[]){ "--journal-dir", env.dir, "--takeover", "--max-indirect", "8",
				 "--max-queues", "1", NULL },
	       8 * sizeof(char *));
	T_CHECK(blk_stream_setup(&env, start_args, &guest, &pid) == 0, "set-up");
	T_CHECK(baseline(base, BASELINE) == 0, "baseline");
	for (int k = 1; k <= ROUNDS; k++)
		T_CHECK(round_run(k, &rng, gaps, &ngaps) == 0, "round %d", k);
	blk_stream_report("no hand-over (the guest's longest gap between completions)", base,
			  BASELINE, "us");
	blk_stream_report("hand-over pause (the guest's longest gap between completions)", gaps,
			  ngaps, "us");
	T_CHECK(blk_stream_both_connected(&env) == 0, "at the end");
	return blk_stream_teardown(&env, &link_, pid);
}
