/* SPDX-License-Identifier: MIT */
/*
 * blkback-journal-edges: the edges of pvio-blkback --journal-dir's re-attach.
 *   - A front still Initialised (it published its rings, the back end is Connected, and it has
 *     not yet read that) when the daemon is killed: the new daemon re-attaches, the back end
 *     stays Connected, I/O is served, and the front then goes Connected as usual.  (The
 *     restart rule used to switch such a device to Closed, which Linux's blkfront does not
 *     survive.)
 *   - Journals do not outlive their device: when the front closes, the device's journals and
 *     their persistent-grant records are removed from the directory.
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

static struct tb_env env;

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct tfront f;

	T_CHECK(tb_front_open(&env, hv, xs, &f) == 0 && tb_front_connect(&f) == 0, "connect");
	T_CHECK(tf_round_trip(&f, 0, 0, false) == 0, "I/O while Initialised");
	/* Still Initialised: dom0 kills the daemon and starts another. */
	T_CHECK(tb_step(&env, 'K') == 0, "kill");
	T_CHECK(tf_round_trip(&f, 0, 8, false) == 0, "I/O served by the new daemon");
	T_CHECK(tf_round_trip(&f, 0, 0, true) == 0, "data from before the restart");
	T_CHECK(tb_still_connected(&f) == 0, "after the restart");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateConnected) == 0, "-> Connected");
	T_CHECK(tf_round_trip(&f, 0, 16, false) == 0, "I/O once Connected");
	T_CHECK(tb_still_connected(&f) == 0, "once Connected");
	return tb_front_done(&env, &f);
}

static int driver_domain(void *arg)
{
	(void)arg;
	return tb_dd_blkback(&env, TB_JOURNAL);
}

/* The files ending in suffix left in the directory (journals, grant records). */
static int files_ending(const char *suffix)
{
	DIR *d = opendir(env.dir);
	size_t slen = strlen(suffix);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > slen && !strcmp(de->d_name + len - slen, suffix)) {
			fprintf(stderr, "left: %s\n", de->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static int run(struct xs_handle *h)
{
	pid_t daemon;

	T_CHECK(tb_run_start(&env, h, &daemon) == 0, "start");
	T_CHECK(tb_wait_step(&env, 'K') == 0, "guest asks for a kill");
	T_CHECK(files_ending(".journal") == 1, "one journal while connected");
	T_CHECK(files_ending(".journal.grants") == 1, "one grant record while connected");
	T_CHECK(tb_kill_restart(&env, &daemon) == 0 && tb_ack(&env, 'K') == 0, "restart");
	T_CHECK(tb_wait_step(&env, 'R') == 0, "guest done");
	T_CHECK(files_ending(".journal") == 0, "journals left after the device closed");
	T_CHECK(files_ending(".journal.grants") == 0, "grant records left after the device closed");
	return tb_run_finish(&env, 'R', daemon);
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
