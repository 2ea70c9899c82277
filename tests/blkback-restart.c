/* SPDX-License-Identifier: MIT */
/*
 * blkback-restart: the restart rule of pvio-blkback(8).  A guest's front end connects and does
 * I/O; dom0 kills the daemon with SIGKILL, leaving the device Connected in xenstore, and the
 * driver domain starts a new daemon.  The new daemon switches the device to Closed; the front
 * end answers Closed, then Initialising, gets InitWait, publishes fresh rings and is Connected
 * again, with I/O working and the data written before the restart still there.
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

static struct tb_env env; /* go_dd also carries 's': start a daemon */

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct tfront f;

	T_CHECK(tb_front_open(&env, hv, xs, &f) == 0, "open");
	T_CHECK(tb_front_connect(&f) == 0 && tf_round_trip(&f, 0, 0, false) == 0, "first connect");
	T_CHECK(tb_step(&env, 'K') == 0, "kill"); /* dom0 kills the daemon and starts another */
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosed), NULL) == 0, "restart: Closed");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateClosed) == 0, "-> Closed");
	tf_release(&f);
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateInitialising) == 0, "-> Initialising");
	T_CHECK(tb_front_connect(&f) == 0, "reconnect");
	T_CHECK(tf_round_trip(&f, 0, 0, true) == 0, "data from before the restart");
	T_CHECK(tf_round_trip(&f, 0, 64, false) == 0, "I/O after the restart");
	T_CHECK(tb_front_done(&env, &f) == 0, "reconnected");
	return 0;
}

/* The driver domain's first process: starts a daemon each time dom0 asks. */
static int driver_domain(void *arg)
{
	(void)arg;
	return tb_dd_blkback(&env, 0);
}

static int run(struct xs_handle *h)
{
	pid_t daemon;

	T_CHECK(tb_run_start(&env, h, &daemon) == 0, "start");
	T_CHECK(tb_wait_step(&env, 'K') == 0, "guest connected");
	T_CHECK(tb_kill_restart(&env, &daemon) == 0 && tb_ack(&env, 'K') == 0, "restart");
	T_CHECK(tb_wait_step(&env, 'R') == 0, "guest reconnected");
	return tb_run_finish(&env, 'R', daemon);
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
