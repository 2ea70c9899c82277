/* SPDX-License-Identifier: MIT */
/*
 * blkback-journal-stale: pvio-blkback --journal-dir does not resume a journal into a ring the
 * front set up anew.  A guest's front connects and does I/O; dom0 kills the daemon; while no
 * one serves the device, the front sets its ring up again in the same pages under the same
 * references (SHARED_RING_INIT: indices from 0) and says Initialised, as Linux's blkfront does
 * when it comes up and finds the back end Connected.  The new daemon finds both ends as a
 * re-attach would (Connected, Initialised), but the ring's mark (ring.h ring_back_mark) is not
 * the one its journal recorded: it serves the ring afresh from index 0, the back end stays
 * Connected, a write queued on the new ring before the daemon came is answered once (and no
 * request of the old ring is answered into the new one), and the data written before the
 * kill reads back.  A second kill then re-attaches as usual, with writes queued over it.
 * Resuming the old journal's indices (3 or more requests answered) on the new ring (none)
 * broke the ring.
 */
#include "config.h"

#include <errno.h>
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

static struct tb_env env;

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct tfront f;
	struct tf_queue *q;
	uint64_t id;

	T_CHECK(tb_front_open(&env, hv, xs, &f) == 0 && tb_front_connect(&f) == 0, "connect");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateConnected) == 0, "-> Connected");
	for (unsigned int i = 0; i < 3; i++)
		T_CHECK(tf_round_trip(&f, 0, 8 * i, false) == 0, "I/O %u", i);
	/* Two writes the daemon may or may not take before it dies: the old ring's, not ours. */
	T_CHECK(tf_queue_writes(&f, 200, 2, &id) == 0, "queue on the old ring");
	T_CHECK(tb_step(&env, 'k') == 0, "kill");
	/* No one serves the ring: set it up anew, as a front coming up again does. */
	q = &f.q[0];
	T_CHECK(ring_blkif_front_init(&q->rf, q->sring, f.order) == 0, "the ring anew");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateInitialised) == 0, "-> Initialised");
	/* One write on the new ring before any daemon: answered once, and nothing else is. */
	T_CHECK(tf_queue_writes(&f, 64, 1, &id) == 0, "queue on the new ring");
	T_CHECK(tb_step(&env, 's') == 0, "start");
	T_CHECK(tf_collect(&f, 1, id, 60) == 0, "the new ring's write");
	T_CHECK(tf_round_trip(&f, 0, 72, false) == 0, "I/O on the new ring");
	T_CHECK(tf_round_trip(&f, 0, 8, true) == 0, "data from before the kill");
	T_CHECK(tb_still_connected(&f) == 0, "after the new daemon took the device");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateConnected) == 0, "-> Connected");
	T_CHECK(tf_round_trip(&f, 0, 80, false) == 0, "I/O once Connected");
	/* The ring's new mark and journal: a kill now is a re-attach as usual. */
	T_CHECK(tf_queue_writes(&f, 96, 2, &id) == 0, "queue");
	T_CHECK(tb_step(&env, 'K') == 0, "kill and restart");
	T_CHECK(tf_collect(&f, 2, id, 60) == 0, "writes queued over the second kill");
	T_CHECK(tf_round_trip(&f, 0, 88, false) == 0, "I/O after the second kill");
	T_CHECK(tf_round_trip(&f, 0, 80, true) == 0, "data from before the second kill");
	T_CHECK(tb_still_connected(&f) == 0, "after the second kill");
	return tb_front_done(&env, &f);
}

static int driver_domain(void *arg)
{
	(void)arg;
	return tb_dd_blkback(&env, TB_JOURNAL);
}

static int run(struct xs_handle *h)
{
	int status = -1;
	pid_t daemon;

	(void)h;
	T_CHECK(tb_run_start(&env, h, &daemon) == 0, "start");
	T_CHECK(tb_wait_step(&env, 'k') == 0, "guest asks for a kill");
	T_CHECK(kill(daemon, SIGKILL) == 0 && t_get(env.dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 128 + SIGKILL,
		"kill -9: status %d", status);
	T_CHECK(tb_ack(&env, 'k') == 0, "ack");
	T_CHECK(tb_wait_step(&env, 's') == 0, "guest asks for a daemon");
	T_CHECK(tb_daemon_start(&env, &daemon) == 0, "next daemon");
	T_CHECK(tb_ack(&env, 's') == 0, "ack");
	T_CHECK(tb_wait_step(&env, 'K') == 0, "guest asks for a kill and a restart");
	T_CHECK(tb_kill_restart(&env, &daemon) == 0 && tb_ack(&env, 'K') == 0, "restart");
	T_CHECK(tb_wait_step(&env, 'R') == 0, "guest done");
	return tb_run_finish(&env, 'R', daemon);
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
