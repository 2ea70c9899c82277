/* SPDX-License-Identifier: MIT */
/*
 * blkback-journal-edges: the edges of pvio-blkback --journal-dir's re-attach.
 *   - A front still Initialised (it published its rings, the back end is Connected, and it has
 *     not yet read that) when the daemon is killed: the new daemon re-attaches, the back end
 *     stays Connected, I/O is served, and the front then goes Connected as usual.  (The
 *     restart rule used to switch such a device to Closed, which Linux's blkfront does not
 *     survive.)
 *   - Journals do not outlive their device: when the front closes, the device's journals are
 *     removed from the directory.
 */
#include "config.h"

#include <dirent.h>
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

static struct tb_env env;

static struct xenbus_device_spec spec(void)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = DEVID, .frontend_id = env.fe, .backend_id = env.dd
	};
}

/* The back end's state, read now: it must never have left Connected. */
static int still_connected(struct tfront *f)
{
	enum xenbus_state st;

	T_CHECK(xenbus_read_otherend_state(&f->xd, &st) == 0 && st == XenbusStateConnected,
		"back end left Connected: %d", (int)st);
	return 0;
}

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	const struct tf_keys k = { .protocol = "x86_64-abi", .persistent = true };
	struct xenbus_device_spec s = spec();
	struct tfront f;
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0, "open");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(&f, 1, 1) == 0 && tf_publish(&f, &k) == 0, "share, publish");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	T_CHECK(tf_round_trip(&f, 0, 0, false) == 0, "I/O while Initialised");
	/* Still Initialised: dom0 kills the daemon and starts another. */
	T_CHECK(tb_step(&env, 'K') == 0, "kill");
	T_CHECK(tf_round_trip(&f, 0, 8, false) == 0, "I/O served by the new daemon");
	T_CHECK(tf_round_trip(&f, 0, 0, true) == 0, "data from before the restart");
	T_CHECK(still_connected(&f) == 0, "after the restart");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateConnected) == 0, "-> Connected");
	T_CHECK(tf_round_trip(&f, 0, 16, false) == 0, "I/O once Connected");
	T_CHECK(still_connected(&f) == 0, "once Connected");
	T_CHECK(tf_close(&f) == 0, "close");
	xenbus_dev_close(&f.xd);
	T_CHECK(tb_step(&env, 'R') == 0, "done");
	return 0;
}

static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-blkback",
			       "--storage",
			       env.dir,
			       "--journal-dir",
			       env.dir,
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL,
			       NULL };

	(void)arg;
	return tb_dd_serve(&env, "pvio-blkback", argv);
}

/* The journals left in the directory. */
static int journals(void)
{
	DIR *d = opendir(env.dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 8 && !strcmp(de->d_name + len - 8, ".journal")) {
			fprintf(stderr, "left: %s\n", de->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
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
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'K', "guest asks for a kill");
	T_CHECK(journals() == 1, "one journal while connected");
	T_CHECK(kill(daemon, SIGKILL) == 0 && t_get(env.dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 128 + SIGKILL,
		"kill -9: status %d", status);
	T_CHECK(tb_daemon_start(&env, &daemon) == 0, "next daemon");
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'R', "guest done");
	T_CHECK(journals() == 0, "journals left after the device closed");
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(&env, daemon) == 0, "SIGTERM");
	return 0;
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
