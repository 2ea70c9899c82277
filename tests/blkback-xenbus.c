/* SPDX-License-Identifier: MIT */
/*
 * blkback-xenbus: pvio-blkback(8) in a driver domain serving a scripted guest front end.
 *
 * dom0 (this process) runs pvio-hv and pvio-xenstored, introduces a driver domain running
 * pvio-blkback and a guest domain, and adds devices with the toolstack helpers: one before the
 * daemon starts, the others after.  The guest checks, device by device: the features written at
 * InitWait; a connect with 1 queue of order 0 (Initialised) and one with 2 queues of order 2
 * (straight to Connected, as Mini-OS does); sectors, info, sector-size once Connected; a WRITE
 * then READ round trip on each; protocol "x86_32-abi" and multi-queue-num-queues 99 each lead to
 * the error node and Closing, and so does a ring whose req_prod runs ahead.  A device whose disk
 * file is missing gets the error node while the daemon serves the others.  dom0 checks the
 * statistics file (counts while connected, gone after a detach), the error nodes, and that SIGTERM
 * makes the daemon close its devices and exit 0. Also a unit test of
 * xenbus_dev_error/xenbus_dev_fatal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "tests/blkback-env.h"
#include "tests/blkback-front.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define SECTORS 2048 /* 1 MiB disks */

/* The devices: A exists before the daemon starts. */
enum {
	DEV_A = 51712,
	DEV_B = 51728,
	DEV_C = 51744,
	DEV_D = 51760,
	DEV_E = 51776,
	DEV_F = 51792
};

static struct tb_env env; /* disks and stats under env.dir */
static char statsdir[80]; /* --stats-dir */

static struct xenbus_device_spec spec(unsigned int devid, domid_t front, domid_t back)
{
	return (struct xenbus_device_spec){ .kind = "vbd",
					    .backend_kind = devid == DEV_B ? "qdisk" : "vbd",
					    .devid = devid,
					    .frontend_id = front,
					    .backend_id = back };
}

/* ---- the guest ---- */

/* Features at InitWait, as the daemon was told (--max-queues 4, default order and indirect). */
static int check_features(struct tfront *f)
{
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_expect(f, "feature-flush-cache", 1) == 0, "flush");
	T_CHECK(tf_expect(f, "feature-barrier", 1) == 0, "barrier");
	T_CHECK(tf_expect(f, "feature-persistent", 1) == 0, "persistent");
	T_CHECK(tf_expect(f, "feature-max-indirect-segments", 256) == 0, "indirect");
	T_CHECK(tf_expect(f, "multi-queue-max-queues", 4) == 0, "max queues");
	T_CHECK(tf_expect(f, "max-ring-page-order", 4) == 0, "max order");
	return 0;
}

static int connect_checked(struct tfront *f, unsigned int nq, unsigned int order,
			   const struct tf_keys *k)
{
	T_CHECK(check_features(f) == 0, "features");
	T_CHECK(tf_share(f, nq, order) == 0, "share");
	T_CHECK(tf_publish(f, k) == 0, "publish");
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	T_CHECK(tf_expect(f, "sectors", SECTORS) == 0, "sectors");
	T_CHECK(tf_expect(f, "info", 0) == 0, "info");
	T_CHECK(tf_expect(f, "sector-size", 512) == 0, "sector-size");
	T_CHECK(tf_expect(f, "feature-persistent", k->persistent) == 0, "persistent in use");
	for (unsigned int q = 0; q < nq; q++)
		T_CHECK(tf_round_trip(f, q, 64 + 8 * q, false) == 0, "round trip on queue %u", q);
	return 0;
}

/* A device whose front keys are bad: the back end reports and goes Closing. */
static int bad_front(struct hv *hv, struct xs_handle *xs, unsigned int devid,
		     const struct tf_keys *k)
{
	struct xenbus_device_spec s = spec(devid, env.fe, env.dd);
	struct tfront f;
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0, "open");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(&f, 1, 0) == 0, "share");
	T_CHECK(tf_publish(&f, k) == 0, "publish");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosing), NULL) == 0, "Closing");
	T_CHECK(tf_close(&f) == 0, "close");
	xenbus_dev_close(&f.xd);
	return 0;
}

/* A ring whose req_prod runs more than a ring ahead: the back end drops the device (Closing). */
static int broken_ring(struct hv *hv, struct xs_handle *xs)
{
	const struct tf_keys k = { .protocol = "x86_64-abi" };
	struct xenbus_device_spec s = spec(DEV_F, env.fe, env.dd);
	struct ring_shared *sr;
	struct tfront f;
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0, "open");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(&f, 1, 0) == 0 && tf_publish(&f, &k) == 0, "publish");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	sr = f.q[0].sring;
	__atomic_store_n(&sr->req_prod, sr->rsp_prod + 1000, __ATOMIC_RELEASE);
	T_CHECK(hv_evtchn_notify(hv, f.q[0].port) == 0, "notify");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosing), NULL) == 0, "Closing");
	T_CHECK(tf_close(&f) == 0, "close");
	xenbus_dev_close(&f.xd);
	return 0;
}

static int guest_devices(struct hv *hv, struct xs_handle *xs)
{
	const struct tf_keys ka = { .protocol = "x86_64-abi", .persistent = true };
	const struct tf_keys kb = { .nq_key = 2, .skip_initialised = true };
	const struct tf_keys kd = { .protocol = "x86_32-abi" };
	const struct tf_keys ke = { .nq_key = 99 };
	struct xenbus_device_spec sa = spec(DEV_A, env.fe, env.dd),
				  sb = spec(DEV_B, env.fe, env.dd);
	struct xenbus_device_spec sc = spec(DEV_C, env.fe, env.dd);
	struct tfront f;
	char path[256];

	T_CHECK(xenbus_frontend_path(&sa, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0 && connect_checked(&f, 1, 0, &ka) == 0, "dev A");
	T_CHECK(tb_step(&env, 'A') == 0, "A");
	/* dom0 detaches A: the back end says Closing. */
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosing), NULL) == 0, "A detached");
	T_CHECK(tf_close(&f) == 0, "close A");
	xenbus_dev_close(&f.xd);
	T_CHECK(tb_step(&env, 'a') == 0, "a");

	T_CHECK(xenbus_frontend_path(&sb, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0 && connect_checked(&f, 2, 2, &kb) == 0, "dev B");
	T_CHECK(tf_close(&f) == 0, "close B");
	xenbus_dev_close(&f.xd);
	T_CHECK(tb_step(&env, 'B') == 0, "B");

	T_CHECK(bad_front(hv, xs, DEV_D, &kd) == 0 && tb_step(&env, 'D') == 0, "dev D");
	T_CHECK(bad_front(hv, xs, DEV_E, &ke) == 0 && tb_step(&env, 'E') == 0, "dev E");

	T_CHECK(broken_ring(hv, xs) == 0 && tb_step(&env, 'F') == 0, "dev F");

	T_CHECK(xenbus_frontend_path(&sc, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(&f, hv, xs, path) == 0, "open C");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateClosing), NULL) == 0, "C Closing");
	xenbus_dev_close(&f.xd);
	T_CHECK(tb_step(&env, 'C') == 0, "C");
	return 0;
}

/* ---- the driver domain ---- */

/*
 * The driver domain's first process: it runs the daemon as its child and reports the daemon's
 * pid and exit status on dd_out, then stays, so that the domain (and what it owns in xenstore)
 * outlives the daemon until dom0 has looked.
 */
static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-blkback",
			       "--max-queues",
			       "4",
			       "--stats-dir",
			       statsdir,
			       "--storage",
			       env.dir,
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL,
			       NULL };
	char prog[512];

	(void)arg;
	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(tb_dd_enter(&env, "pvio-blkback", prog, sizeof(prog)) == 0, "enter");
	T_CHECK(tb_dd_run(&env, prog, argv) == 0, "daemon");
	for (;;)
		pause();
}

/* ---- dom0 ---- */

static char *read_text(const char *path)
{
	char *buf = calloc(1, 4096);
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && buf && read(fd, buf, 4095) < 0)
		buf[0] = '\0';
	if (fd >= 0)
		close(fd);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Wait up to 5 s for the stats file of devid to hold every line in want (NULL: to be gone). */
static bool stats_match(unsigned int devid, const char *const *want)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%u.%u", statsdir, env.fe, devid);
	for (int i = 0; i < 500; i++, t_msleep(10)) {
		char *text = read_text(path);
		bool ok = want ? text != NULL : text == NULL;

		for (unsigned int j = 0; ok && want && want[j]; j++)
			ok = strstr(text, want[j]) != NULL;
		if (ok || i == 499)
			fprintf(stderr, "%s:\n%s", path, text ? text : "(none)\n");
		free(text);
		if (ok)
			return true;
	}
	return false;
}

/* The back end's key of devid, or "" (free() it). */
static char *back_read(struct xs_handle *h, unsigned int devid, const char *key)
{
	struct xenbus_device_spec s = spec(devid, env.fe, env.dd);
	char path[300], *v;
	unsigned int len;

	xenbus_backend_path(&s, path, sizeof(path));
	strcat(path, "/");
	strcat(path, key);
	v = xs_read(h, XBT_NULL, path, &len);
	return v ? v : strdup("");
}

static bool back_state_is(struct xs_handle *h, unsigned int devid, const char *state)
{
	for (int i = 0; i < 1000; i++, t_msleep(10)) {
		char *v = back_read(h, devid, "state");
		bool ok = !strcmp(v, state);

		if (ok || i == 999)
			fprintf(stderr, "back-end %u state: \"%s\"\n", devid, v);
		free(v);
		if (ok)
			return true;
	}
	return false;
}

static int error_node_has(struct xs_handle *h, unsigned int devid, const char *text)
{
	char path[300], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/error/backend/%s/%u/%u/error", env.dd,
		 devid == DEV_B ? "qdisk" : "vbd", env.fe, devid);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v && strstr(v, text), "%s: \"%s\", want \"%s\"", path, v ? v : "(none)", text);
	free(v);
	return 0;
}

/* What dom0 does at each step of the guest. */
static int on_step(struct xs_handle *h, char c)
{
	static const char *const a_counts[] = {
		"reads 1\n",	     "writes 1\n", "bytes-written 4096\n",
		"state Connected\n", "queues 1\n", NULL
	};
	struct xenbus_device_spec sa = spec(DEV_A, env.fe, env.dd);

	switch (c) {
	case 'A':
		T_CHECK(stats_match(DEV_A, a_counts), "stats of A");
		T_CHECK(xenbus_device_detach(h, &sa) == 0, "detach A");
		break;
	case 'a':
		T_CHECK(xenbus_device_wait_closed(h, &sa, 5000) == 0, "A Closed");
		T_CHECK(stats_match(DEV_A, NULL), "stats file of A removed");
		T_CHECK(xenbus_device_remove(h, &sa, 0) == 0, "remove A");
		break;
	case 'B':
		T_CHECK(back_state_is(h, DEV_B, "6"), "B Closed");
		break;
	case 'D':
		T_CHECK(error_node_has(h, DEV_D, "unsupported ABI") == 0, "D");
		break;
	case 'E':
		T_CHECK(error_node_has(h, DEV_E, "multi-queue-num-queues") == 0, "E");
		break;
	case 'F':
		T_CHECK(error_node_has(h, DEV_F, "ring protocol error") == 0, "F");
		break;
	case 'C':
		T_CHECK(error_node_has(h, DEV_C, "No such file or directory") == 0, "C");
		break;
	}
	return 0;
}

static int add(struct xs_handle *h, unsigned int devid, const char *params)
{
	const struct xenbus_kv back[] = { { "params", params }, { "mode", "w" } };
	struct xenbus_device_spec s = spec(devid, env.fe, env.dd);

	s.back_extra = back;
	s.n_back_extra = 2;
	T_CHECK(xenbus_device_add(h, &s) == 0, "add %u", devid);
	return 0;
}

static int make_disk(const char *name, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", env.dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, SECTORS * 512) == 0, "disk %s", path);
	close(fd);
	return 0;
}

/* xenbus_dev_error/_fatal write "<errno> <message>" under error/ of our home, fatal Closing. */
static int unit_dev_error(struct xs_handle *h)
{
	const char *node = "/local/domain/0/backend/vbd/9/77";
	struct xenbus_dev dev;
	unsigned int len;
	char *v;

	/* The directory exists (a switch never recreates a removed device's), state not yet. */
	T_CHECK(xs_write(h, XBT_NULL, node, "", 0), "mkdir %s", node);
	T_CHECK(
	    xenbus_dev_init(&dev, h, XENBUS_BACKEND, node, "/local/domain/9/device/vbd/77", 9) == 0,
	    "dev_init");
	T_CHECK((v = xenbus_dev_error_path(&dev)) &&
		    !strcmp(v, "/local/domain/0/error/backend/vbd/9/77"),
		"error path %s", v);
	free(v);
	xenbus_dev_error(&dev, -EINVAL, "bad %s %d", "thing", 5);
	v = xs_read(h, XBT_NULL, "/local/domain/0/error/backend/vbd/9/77/error", &len);
	T_CHECK(v && !strcmp(v, "22 bad thing 5"), "error node: %s", v ? v : "(none)");
	free(v);
	T_CHECK((v = xs_read(h, XBT_NULL, "/local/domain/0/backend/vbd/9/77/state", &len)) == NULL,
		"error does not touch state");
	xenbus_dev_fatal(&dev, -ENOENT, "gone");
	v = xs_read(h, XBT_NULL, "/local/domain/0/error/backend/vbd/9/77/error", &len);
	T_CHECK(v && !strcmp(v, "2 gone"), "fatal node: %s", v ? v : "(none)");
	free(v);
	v = xs_read(h, XBT_NULL, "/local/domain/0/backend/vbd/9/77/state", &len);
	T_CHECK(v && !strcmp(v, "5") && dev.state == XenbusStateClosing, "fatal -> Closing");
	free(v);
	xenbus_dev_close(&dev);
	xs_rm(h, XBT_NULL, "/local/domain/0/error");
	xs_rm(h, XBT_NULL, "/local/domain/0/backend");
	return 0;
}

static int run(struct xs_handle *h)
{
	pid_t daemon;
	char disk_a[128], disk_b[128], aio_b[140], missing[140];
	char c;

	T_CHECK(make_disk("a.img", disk_a, sizeof(disk_a)) == 0, "disk a");
	T_CHECK(make_disk("b.img", disk_b, sizeof(disk_b)) == 0, "disk b");
	snprintf(aio_b, sizeof(aio_b), "aio:%s", disk_b);
	snprintf(missing, sizeof(missing), "%s/missing.img", env.dir);
	T_CHECK(add(h, DEV_A, disk_a) == 0, "A");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon, sizeof(daemon)) == 0, "daemon pid");
	T_CHECK(back_state_is(h, DEV_A, "2"), "A (added before the daemon) InitWait");
	T_CHECK(add(h, DEV_B, aio_b) == 0 && add(h, DEV_C, missing) == 0 &&
		    add(h, DEV_D, disk_a) == 0 && add(h, DEV_E, disk_a) == 0 &&
		    add(h, DEV_F, disk_b) == 0,
		"add B..E");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	while (t_get(env.steps.ab[0], &c, 1) == 0) {
		T_CHECK(on_step(h, c) == 0, "step %c", c);
		T_CHECK(t_put(env.steps.ba[1], &c, 1) == 0, "ack");
		if (c == 'C')
			break;
	}
	T_CHECK(c == 'C', "guest stopped early");
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(kill(daemon, 0) == 0, "daemon alive");
	T_CHECK(tb_daemon_term(&env, daemon) == 0, "SIGTERM");
	T_CHECK(back_state_is(h, DEV_C, "6"), "C Closed at exit");
	T_CHECK(stats_match(DEV_B, NULL), "stats files removed at exit");
	return 0;
}

static int setup_run(struct xs_handle *h)
{
	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(mkdir(statsdir, 0700) == 0, "mkdir");
	T_CHECK(unit_dev_error(h) == 0, "xenbus_dev_error/fatal");
	return run(h);
}

int main(void)
{
	return tb_env_main(&env, driver_domain, guest_devices, setup_run);
}
