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

#define DEVID 51712

static struct tb_env env; /* go_dd also carries 's': start a daemon */

static struct xenbus_device_spec spec(void)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = DEVID, .frontend_id = env.fe, .backend_id = env.dd
	};
}

static int connect(struct tfront *f)
{
	const struct tf_keys k = { .protocol = "x86_64-abi", .persistent = true };

	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(f, 1, 1) == 0, "share");
	T_CHECK(tf_publish(f, &k) == 0, "publish");
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	return 0;
}

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct xenbus_device_spec s = spec();
	struct tfront f;
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0, "open");
	T_CHECK(connect(&f) == 0 && tf_round_trip(&f, 0, 0, false) == 0, "first connect");
	T_CHECK(tb_step(&env, 'K') == 0, "kill"); /* dom0 kills the daemon and starts another */
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosed), NULL) == 0, "restart: Closed");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateClosed) == 0, "-> Closed");
	tf_release(&f);
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateInitialising) == 0, "-> Initialising");
	T_CHECK(connect(&f) == 0, "reconnect");
	T_CHECK(tf_round_trip(&f, 0, 0, true) == 0, "data from before the restart");
	T_CHECK(tf_round_trip(&f, 0, 64, false) == 0, "I/O after the restart");
	T_CHECK(tf_close(&f) == 0, "close");
	xenbus_dev_close(&f.xd);
	T_CHECK(tb_step(&env, 'R') == 0, "reconnected");
	return 0;
}

/* The driver domain's first process: starts a daemon each time dom0 asks. */
static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-blkback", "--storage", env.dir,
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL, NULL };

	(void)arg;
	return tb_dd_serve(&env, "pvio-blkback", argv);
}

static int run(struct xs_handle *h)
{
	struct xenbus_device_spec s = spec();
	pid_t daemon;
	int status;
	char c;

	T_CHECK(tb_disk_add(&env, h, &s) == 0, "disk");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(tb_daemon_start(&env, &daemon) == 0, "first daemon");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'K', "guest connected");
	T_CHECK(kill(daemon, SIGKILL) == 0 && t_get(env.dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 128 + SIGKILL,
		"kill -9: status %d", status);
	T_CHECK(tb_daemon_start(&env, &daemon) == 0, "second daemon");
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'R', "guest reconnected");
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(&env, daemon) == 0, "SIGTERM");
	return 0;
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
