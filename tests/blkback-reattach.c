/* SPDX-License-Identifier: MIT */
/*
 * blkback-reattach: pvio-blkback --journal-dir re-attaches to a device Connected at both ends.
 * A guest's front end connects and does I/O; then, ROUNDS times, it queues writes on the ring
 * without notifying (the daemon has not taken them), dom0 kills the daemon with SIGKILL and the
 * driver domain starts a new one.  The new daemon must take the device over with no state
 * change: the back end stays Connected throughout (checked at every step), the queued writes
 * are answered once each, and every write is there when read back.  The front's persistent
 * grants that the killed daemon's journal names are mapped by the new daemon before it serves
 * (blkback_ring_prepare): after the first restart, its first requests all find them mapped
 * (pgrant-misses 0 in its statistics file).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "tests/blkback-env.h"
#include "tests/blkback-front.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define ROUNDS	  10
#define QUEUED	  3  /* writes queued while the daemon is replaced */
#define COLLECT_S 60 /* bound on waiting for their responses (a restart under load) */
#define STATS_S	  60 /* bound on waiting for the new daemon's statistics file */

static struct tb_env env; /* go_dd also carries 's': start a daemon */

/*
 * The new daemon's persistent-grant counters once its statistics file counts the min requests
 * it was given (hits + misses): every one must have found its grant mapped ahead.  The file is
 * rewritten by the control thread's 1 s timer, which under load runs seconds after the ring
 * answered (behind the start's scan of xenstore): STATS_S bounds that wait, the file showing
 * the counts ends it.  The killed daemon's file cannot pass for it: that one counts the first
 * I/O's two grants, both missed.
 */
static int grants_mapped_ahead(uint64_t min)
{
	char path[128];
	uint64_t hits = 0, misses = 0;
	int waited = 0;

	snprintf(path, sizeof(path), "%s/%u.%u", env.dir, (unsigned int)env.fe, TB_DEVID);
	while (t_keyfile_u64(path, "pgrant-hits", &hits) ||
	       t_keyfile_u64(path, "pgrant-misses", &misses) || hits + misses < min) {
		T_CHECK(waited < STATS_S * 1000,
			"%llu persistent-grant hits, %llu misses %d s after the restart",
			(unsigned long long)hits, (unsigned long long)misses, STATS_S);
		t_msleep(20);
		waited += 20;
	}
	if (waited > 5000)
		fprintf(stderr, "note: the statistics file counted the requests after %d ms\n",
			waited);
	T_CHECK(hits >= min && misses == 0,
		"%llu hits, %llu grants mapped on first use after the restart, none expected",
		(unsigned long long)hits, (unsigned long long)misses);
	return 0;
}

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct tfront f;
	uint64_t id;

	T_CHECK(tb_front_open(&env, hv, xs, &f) == 0 && tb_front_connect(&f) == 0, "connect");
	/* As Linux's blkfront once it has read the disk's properties. */
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateConnected) == 0, "-> Connected");
	T_CHECK(tf_round_trip(&f, 0, 0, false) == 0, "first I/O");
	for (unsigned int round = 0; round < ROUNDS; round++) {
		uint64_t base = 64 + 8 * QUEUED * round;

		for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
			f.data[i] = (uint8_t)(i * 13 + round);
		T_CHECK(tf_queue_writes(&f, base, QUEUED, &id) == 0, "queue");
		T_CHECK(tb_step(&env, 'K') == 0,
			"kill"); /* dom0 kills the daemon, starts another */
		T_CHECK(tb_still_connected(&f) == 0, "after restart %u", round);
		/* The new daemon serves what was queued without a notify (bind raises its port). */
		T_CHECK(tf_collect(&f, QUEUED, id, COLLECT_S) == 0, "queued writes, round %u",
			round);
		T_CHECK(round || grants_mapped_ahead(QUEUED) == 0, "grants mapped ahead");
		T_CHECK(tf_round_trip(&f, 0, 0, true) == 0, "data from before the restarts");
		for (unsigned int i = 0; i < HV_PAGE_SIZE; i++) /* what the queued writes wrote */
			f.data[i] = (uint8_t)(i * 13 + round);
		for (unsigned int i = 0; i < QUEUED; i++) {
			int16_t st;

			T_CHECK(tf_io(&f, 0, BLKIF_OP_READ, base + 8 * i, 1, &st) == 0 &&
				    st == BLKIF_RSP_OKAY &&
				    !memcmp(f.data, f.data + HV_PAGE_SIZE, HV_PAGE_SIZE),
				"write %u of round %u read back", i, round);
		}
		T_CHECK(tb_still_connected(&f) == 0, "after I/O %u", round);
	}
	return tb_front_done(&env, &f);
}

/* The driver domain's first process: starts a daemon each time dom0 asks. */
static int driver_domain(void *arg)
{
	(void)arg;
	return tb_dd_blkback(&env, TB_JOURNAL | TB_STATS);
}

static int run(struct xs_handle *h)
{
	pid_t daemon;

	T_CHECK(tb_run_start(&env, h, &daemon) == 0, "start");
	for (unsigned int round = 0; round < ROUNDS; round++) {
		T_CHECK(tb_wait_step(&env, 'K') == 0, "guest asks for a kill");
		T_CHECK(tb_kill_restart(&env, &daemon) == 0 && tb_ack(&env, 'K') == 0, "restart %u",
			round);
	}
	T_CHECK(tb_wait_step(&env, 'R') == 0, "guest done");
	return tb_run_finish(&env, 'R', daemon);
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
