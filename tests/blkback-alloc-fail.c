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

#include "tests/blkback-front.h"
#include "tests/hv-test.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

enum {
	DEV_A = 51712,
	DEV_B = 51728
};
#define B_QUEUES "3" /* the queue count whose ring table fails to allocate */

static char dir[64];	       /* the disk */
static int go_dd[2], go_fe[2]; /* dom0 -> driver domain, dom0 -> guest: the domids */
static int dd_out[2];	       /* driver domain -> dom0: the daemon's pid and exit status */
static struct t_link steps;    /* a = guest, b = dom0 */
static domid_t dd, fe;	       /* the two domains */

static struct xenbus_device_spec spec(unsigned int devid)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = devid, .frontend_id = fe, .backend_id = dd
	};
}

static int step(char c)
{
	char ack;

	T_CHECK(t_put(steps.ab[1], &c, 1) == 0 && t_get(steps.ba[0], &ack, 1) == 0 && ack == c,
		"step %c not acknowledged", c);
	return 0;
}

/* ---- the guest ---- */

/* A write and a read back on queue 0. */
static int round_trip(struct tfront *f, uint64_t sector)
{
	int16_t st;

	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		f->data[i] = (uint8_t)(i * 11 + sector);
	memset(f->data + HV_PAGE_SIZE, 0, HV_PAGE_SIZE);
	T_CHECK(tf_io(f, 0, BLKIF_OP_WRITE, sector, 0, &st) == 0 && st == BLKIF_RSP_OKAY,
		"write: %d", st);
	T_CHECK(tf_io(f, 0, BLKIF_OP_READ, sector, 1, &st) == 0 && st == BLKIF_RSP_OKAY, "read: %d",
		st);
	T_CHECK(!memcmp(f->data, f->data + HV_PAGE_SIZE, HV_PAGE_SIZE), "data differs");
	return 0;
}

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
	T_CHECK(round_trip(&a, 0) == 0, "A before B");
	T_CHECK(publish(&b, hv, xs, DEV_B, atoi(B_QUEUES), &state) == 0, "device B");
	T_CHECK(state == XenbusStateClosing,
		"B (ring table not allocated): %s, want Closing with an error node",
		xenbus_state_name(state));
	T_CHECK(step('B') == 0, "B's error node");
	T_CHECK(tf_close(&b) == 0, "close B");
	xenbus_dev_close(&b.xd);
	T_CHECK(round_trip(&a, 64) == 0, "A after B failed");
	T_CHECK(tf_close(&a) == 0, "close A");
	xenbus_dev_close(&a.xd);
	return 0;
}

static int guest(void *arg)
{
	(void)arg;
	close(go_fe[1]);
	return tf_guest(go_fe[0], &fe, &dd, guest_run);
}

/* ---- the driver domain: runs the daemon, reports its pid and exit status, stays ---- */

static int driver_domain(void *arg)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	const char *argv[] = { "pvio-blkback-allocfail", "--max-queues", "4",
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL, NULL };
	char prog[512], sock[256];
	domid_t id;
	pid_t pid;
	int status;

	(void)arg;
	close(go_dd[1]);
	T_CHECK(read(go_dd[0], &id, sizeof(id)) == sizeof(id), "read domid");
	t_xs_domain_socket(id, sock, sizeof(sock));
	setenv("XENSTORED_PATH", sock, 1);
	setenv("PVIO_TEST_FAIL_QUEUES", B_QUEUES, 1);
	snprintf(prog, sizeof(prog), "%s/tests/pvio-blkback-allocfail",
		 builddir && *builddir ? builddir : ".");
	pid = t_daemon_exec(prog, argv);
	T_CHECK(pid > 0 && t_put(dd_out[1], &pid, sizeof(pid)) == 0, "start the daemon");
	status = t_wait(pid);
	T_CHECK(t_put(dd_out[1], &status, sizeof(status)) == 0, "report");
	for (;;)
		pause();
}

/* ---- dom0 ---- */

static int error_node_has(struct xs_handle *h, unsigned int devid, const char *text)
{
	char path[300], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/error/backend/vbd/%u/%u/error", dd, fe,
		 devid);
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

static int run(struct xs_handle *h, pid_t guest_pid)
{
	domid_t ids[2] = { fe, dd };
	char disk[128], c;
	pid_t daemon;
	int fd, status;

	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "disk");
	close(fd);
	T_CHECK(add(h, DEV_A, disk) == 0 && add(h, DEV_B, disk) == 0, "devices");
	T_CHECK(write(go_dd[1], &dd, sizeof(dd)) == sizeof(dd), "go driver domain");
	T_CHECK(t_get(dd_out[0], &daemon, sizeof(daemon)) == 0, "daemon pid");
	T_CHECK(write(go_fe[1], ids, sizeof(ids)) == sizeof(ids), "go guest");
	T_CHECK(t_get(steps.ab[0], &c, 1) == 0 && c == 'B', "guest stopped early");
	T_CHECK(error_node_has(h, DEV_B, "12 ") == 0, "B's error node (ENOMEM)");
	T_CHECK(t_put(steps.ba[1], &c, 1) == 0, "ack");
	T_CHECK(t_wait(guest_pid) == 0, "guest failed");
	T_CHECK(kill(daemon, SIGTERM) == 0 && t_get(dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 0,
		"daemon exit status %d", status);
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
	kill(dd_pid, SIGKILL); /* and the daemon with it (PR_SET_PDEATHSIG) */
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
