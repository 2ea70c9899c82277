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

#include "tests/blkback-front.h"
#include "tests/hv-test.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define DEVID 51712

static char dir[64];	       /* the disk */
static int go_dd[2], go_fe[2]; /* dom0 -> driver domain ('s': start a daemon), -> guest */
static int dd_out[2];	       /* driver domain -> dom0: each daemon's pid and exit status */
static struct t_link steps;    /* a = guest, b = dom0 */
static domid_t dd, fe;	       /* the two domains */

static struct xenbus_device_spec spec(void)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = DEVID, .frontend_id = fe, .backend_id = dd
	};
}

static int step(char c)
{
	char ack;

	T_CHECK(t_put(steps.ab[1], &c, 1) == 0 && t_get(steps.ba[0], &ack, 1) == 0 && ack == c,
		"step %c not acknowledged", c);
	return 0;
}

/* Write a pattern at sector (or, with check only, read it back and compare). */
static int io(struct tfront *f, uint64_t sector, bool check_only)
{
	int16_t st;

	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		f->data[i] = (uint8_t)(i * 13 + sector);
	memset(f->data + HV_PAGE_SIZE, 0, HV_PAGE_SIZE);
	if (!check_only)
		T_CHECK(tf_io(f, 0, BLKIF_OP_WRITE, sector, 0, &st) == 0 && st == BLKIF_RSP_OKAY,
			"write: %d", st);
	T_CHECK(tf_io(f, 0, BLKIF_OP_READ, sector, 1, &st) == 0 && st == BLKIF_RSP_OKAY, "read: %d",
		st);
	T_CHECK(!memcmp(f->data, f->data + HV_PAGE_SIZE, HV_PAGE_SIZE), "data differs");
	return 0;
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
	T_CHECK(connect(&f) == 0 && io(&f, 0, false) == 0, "first connect");
	T_CHECK(step('K') == 0, "kill"); /* dom0 kills the daemon and starts another */
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosed), NULL) == 0, "restart: Closed");
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateClosed) == 0, "-> Closed");
	tf_release(&f);
	T_CHECK(xenbus_switch_state(&f.xd, XenbusStateInitialising) == 0, "-> Initialising");
	T_CHECK(connect(&f) == 0, "reconnect");
	T_CHECK(io(&f, 0, true) == 0, "data from before the restart");
	T_CHECK(io(&f, 64, false) == 0, "I/O after the restart");
	T_CHECK(tf_close(&f) == 0, "close");
	xenbus_dev_close(&f.xd);
	T_CHECK(step('R') == 0, "reconnected");
	return 0;
}

static int guest(void *arg)
{
	(void)arg;
	close(go_fe[1]);
	return tf_guest(go_fe[0], &fe, &dd, guest_run);
}

/* The driver domain's first process: starts a daemon on each 's', reports pid and status. */
static int driver_domain(void *arg)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	const char *argv[] = { "pvio-blkback", getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL, NULL };
	char prog[512], sock[256], cmd;
	domid_t id;

	(void)arg;
	close(go_dd[1]);
	T_CHECK(read(go_dd[0], &id, sizeof(id)) == sizeof(id), "read domid");
	t_xs_domain_socket(id, sock, sizeof(sock));
	setenv("XENSTORED_PATH", sock, 1);
	snprintf(prog, sizeof(prog), "%s/pvio-blkback", builddir && *builddir ? builddir : ".");
	while (read(go_dd[0], &cmd, 1) == 1 && cmd == 's') {
		pid_t pid = t_daemon_exec(prog, argv);
		int status;

		T_CHECK(pid > 0 && t_put(dd_out[1], &pid, sizeof(pid)) == 0, "start");
		status = t_wait(pid);
		T_CHECK(t_put(dd_out[1], &status, sizeof(status)) == 0, "report");
	}
	for (;;)
		pause();
}

/* Ask the driver domain for a new daemon. */
static int start_daemon(pid_t *pid)
{
	T_CHECK(write(go_dd[1], "s", 1) == 1 && t_get(dd_out[0], pid, sizeof(*pid)) == 0,
		"daemon start");
	return 0;
}

static int run(struct xs_handle *h, pid_t guest_pid)
{
	const struct xenbus_kv back[] = { { "params", NULL }, { "mode", "w" } };
	struct xenbus_kv kv[2] = { back[0], back[1] };
	struct xenbus_device_spec s = spec();
	domid_t ids[2] = { fe, dd };
	char disk[128], c;
	pid_t daemon;
	int fd, status;

	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "disk");
	close(fd);
	kv[0].value = disk;
	s.back_extra = kv;
	s.n_back_extra = 2;
	T_CHECK(xenbus_device_add(h, &s) == 0, "add");
	T_CHECK(write(go_dd[1], &dd, sizeof(dd)) == sizeof(dd), "go driver domain");
	T_CHECK(start_daemon(&daemon) == 0, "first daemon");
	T_CHECK(write(go_fe[1], ids, sizeof(ids)) == sizeof(ids), "go guest");
	T_CHECK(t_get(steps.ab[0], &c, 1) == 0 && c == 'K', "guest connected");
	T_CHECK(kill(daemon, SIGKILL) == 0 && t_get(dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 128 + SIGKILL,
		"kill -9: status %d", status);
	T_CHECK(start_daemon(&daemon) == 0, "second daemon");
	T_CHECK(t_put(steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_get(steps.ab[0], &c, 1) == 0 && c == 'R', "guest reconnected");
	T_CHECK(t_put(steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_wait(guest_pid) == 0, "guest failed");
	T_CHECK(kill(daemon, SIGTERM) == 0 && t_get(dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 0,
		"second daemon's exit status %d", status);
	return 0;
}

int main(void)
{
	const char *extra[3] = { "--hv-socket", NULL, NULL };
	struct xs_handle *h;
	pid_t dd_pid, guest_pid;
	int ret;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	extra[1] = t_hv_socket();
	T_CHECK(t_xs_start(extra) == 0, "pvio-xenstored did not start");
	snprintf(dir, sizeof(dir), "/tmp/pvio-blkback-XXXXXX");
	T_CHECK(mkdtemp(dir), "mkdtemp");
	T_CHECK(pipe(go_dd) == 0 && pipe(go_fe) == 0 && pipe(dd_out) == 0 &&
		    t_link_init(&steps) == 0,
		"pipes");
	T_CHECK(t_domain_fork("dd", driver_domain, NULL, &dd, &dd_pid) == 0, "driver domain");
	T_CHECK(t_domain_fork("guest", guest, NULL, &fe, &guest_pid) == 0, "guest domain");
	close(go_dd[0]);
	close(go_fe[0]);
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, dd, 0, 0) && xs_introduce_domain(h, fe, 0, 0), "INTRODUCE");
	ret = run(h, guest_pid);
	xs_close(h);
	kill(dd_pid, SIGKILL);
	t_wait(dd_pid);
	if (ret)
		kill(guest_pid, SIGKILL);
	else {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return ret ? T_FAIL : T_PASS;
}
