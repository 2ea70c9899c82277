/* SPDX-License-Identifier: MIT */
/*
 * blkback-alloc-fail: a device whose rings pvio-blkback(8) cannot schedule fails, and only it.
 * The driver domain runs tests/pvio-blkback-allocfail, the daemon with its allocation of a
 * device's ring table made to fail for 3-queue devices (tests/alloc-fail.c).  Device A connects
 * with 1 queue and does I/O; device B connects with 3 queues and must get the error node
 * ("12 ...": ENOMEM) and Closing instead of Connected with rings nobody serves; A is still
 * served afterwards, and the daemon exits 0 on SIGTERM (issue 8, defect 5).
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

enum {
	DEV_A = 51712,
	DEV_B = 51728
};
#define B_QUEUES "3" /* the queue count whose ring table fails to allocate */

static struct tb_env env;

static struct xenbus_device_spec spec(unsigned int devid)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = devid, .frontend_id = env.fe, .backend_id = env.dd
	};
}

/* ---- the guest ---- */

/* Open devid's front and publish nq rings: the back end's answer in *state. */
static int publish(struct tfront *f, struct hv *hv, struct xs_handle *xs, unsigned int devid,
		   unsigned int nq, enum xenbus_state *state)
{
	const struct tf_keys k = { .protocol = "x86_64-abi", .nq_key = nq > 1 ? nq : 0 };
	struct xenbus_device_spec s = spec(devid);
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(f, hv, xs, path) == 0, "open %u", devid);
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(f, nq, 0) == 0 && tf_publish(f, &k) == 0, "publish");
	T_CHECK(
	    tf_wait(f,
		    XENBUS_STATE_BIT(XenbusStateConnected) | XENBUS_STATE_BIT(XenbusStateClosing),
		    state) == 0,
	    "Connected or Closing");
	return 0;
}

static int guest_run(struct hv *hv, struct xs_handle *xs)
{
	struct tfront a, b;
	enum xenbus_state state;

	T_CHECK(publish(&a, hv, xs, DEV_A, 1, &state) == 0, "device A");
	T_CHECK(state == XenbusStateConnected, "A: %s", xenbus_state_name(state));
	T_CHECK(tf_round_trip(&a, 0, 0, false) == 0, "A before B");
	T_CHECK(publish(&b, hv, xs, DEV_B, atoi(B_QUEUES), &state) == 0, "device B");
	T_CHECK(state == XenbusStateClosing,
		"B (ring table not allocated): %s, want Closing with an error node",
		xenbus_state_name(state));
	T_CHECK(tb_step(&env, 'B') == 0, "B's error node");
	T_CHECK(tf_close(&b) == 0, "close B");
	xenbus_dev_close(&b.xd);
	T_CHECK(tf_round_trip(&a, 0, 64, false) == 0, "A after B failed");
	T_CHECK(tf_close(&a) == 0, "close A");
	xenbus_dev_close(&a.xd);
	return 0;
}

/* ---- the driver domain: runs the daemon, reports its pid and exit status, stays ---- */

static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-blkback-allocfail",
			       "--max-queues",
			       "4",
			       "--storage",
			       env.dir,
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL,
			       NULL };
	char prog[512];

	(void)arg;
	T_CHECK(tb_dd_enter(&env, "tests/pvio-blkback-allocfail", prog, sizeof(prog)) == 0,
		"enter");
	setenv("PVIO_TEST_FAIL_QUEUES", B_QUEUES, 1);
	T_CHECK(tb_dd_run(&env, prog, argv) == 0, "daemon");
	for (;;)
		pause();
}

/* ---- dom0 ---- */

static int error_node_has(struct xs_handle *h, unsigned int devid, const char *text)
{
	char path[300], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/error/backend/vbd/%u/%u/error", env.dd,
		 env.fe, devid);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v && !strncmp(v, text, strlen(text)), "%s: \"%s\", want \"%s...\"", path,
		v ? v : "(none)", text);
	fprintf(stderr, "%s: %s\n", path, v);
	free(v);
	return 0;
}

static int add(struct xs_handle *h, unsigned int devid, const char *disk)
{
	const struct xenbus_kv back[] = { { "params", disk }, { "mode", "w" } };
	struct xenbus_device_spec s = spec(devid);

	s.back_extra = back;
	s.n_back_extra = 2;
	T_CHECK(xenbus_device_add(h, &s) == 0, "add %u", devid);
	return 0;
}

static int run(struct xs_handle *h)
{
	char disk[128], c;
	pid_t daemon;
	int fd;

	snprintf(disk, sizeof(disk), "%s/disk.img", env.dir);
	fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "disk");
	close(fd);
	T_CHECK(add(h, DEV_A, disk) == 0 && add(h, DEV_B, disk) == 0, "devices");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon, sizeof(daemon)) == 0, "daemon pid");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'B', "guest stopped early");
	T_CHECK(error_node_has(h, DEV_B, "12 ") == 0, "B's error node (ENOMEM)");
	T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(&env, daemon) == 0, "SIGTERM");
	return 0;
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_run, run);
}
