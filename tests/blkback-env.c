/* SPDX-License-Identifier: MIT */
/* blkback-env.c - the three domains of the pvio-blkback(8) tests (see blkback-env.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/blkback-env.h"
#include "tests/blkback-front.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

/* The guest domain's first process. */
static int guest_main(void *arg)
{
	struct tb_env *e = arg;

	close(e->go_fe[1]);
	return tf_guest(e->go_fe[0], &e->fe, &e->dd, e->guest);
}

int tb_env_start(struct tb_env *e, int (*dd)(void *), int (*guest)(struct hv *, struct xs_handle *))
{
	const char *extra[3] = { "--hv-socket", NULL, NULL };

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	extra[1] = t_hv_socket();
	T_CHECK(t_xs_start(extra) == 0, "pvio-xenstored did not start");
	snprintf(e->dir, sizeof(e->dir), "/tmp/pvio-blkback-XXXXXX");
	T_CHECK(mkdtemp(e->dir), "mkdtemp");
	T_CHECK(pipe(e->go_dd) == 0 && pipe(e->go_fe) == 0 && pipe(e->dd_out) == 0 &&
		    t_link_init(&e->steps) == 0,
		"pipes");
	e->guest = guest;
	T_CHECK(t_domain_fork("dd", dd, e, &e->dd, &e->dd_pid) == 0, "driver domain");
	T_CHECK(t_domain_fork("guest", guest_main, e, &e->fe, &e->guest_pid) == 0, "guest domain");
	close(e->go_dd[0]);
	close(e->go_fe[0]);
	T_CHECK((e->xs = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(e->xs, e->dd, 0, 0) && xs_introduce_domain(e->xs, e->fe, 0, 0),
		"INTRODUCE");
	return 0;
}

int tb_env_go_dd(struct tb_env *e)
{
	T_CHECK(write(e->go_dd[1], &e->dd, sizeof(e->dd)) == sizeof(e->dd), "go driver domain");
	return 0;
}

int tb_env_go_guest(struct tb_env *e)
{
	domid_t ids[2] = { e->fe, e->dd };

	T_CHECK(write(e->go_fe[1], ids, sizeof(ids)) == sizeof(ids), "go guest");
	return 0;
}

int tb_env_end(struct tb_env *e, int ret)
{
	char cmd[128];

	if (e->xs)
		xs_close(e->xs);
	if (e->dd_pid > 0) {
		kill(e->dd_pid, SIGKILL); /* and the daemon with it (PR_SET_PDEATHSIG) */
		t_wait(e->dd_pid);
	}
	if (ret) {
		if (e->guest_pid > 0)
			kill(e->guest_pid, SIGKILL);
		return T_FAIL;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", e->dir);
	return T_PASS;
}

int tb_env_main(struct tb_env *e, int (*dd)(void *), int (*guest)(struct hv *, struct xs_handle *),
		int (*run)(struct xs_handle *xs))
{
	int ret = tb_env_start(e, dd, guest);

	return tb_env_end(e, ret ? ret : run(e->xs));
}

int tb_daemon_term(struct tb_env *e, pid_t pid)
{
	int status = -1;

	T_CHECK(kill(pid, SIGTERM) == 0 && t_get(e->dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 0,
		"daemon's exit status after SIGTERM: %d", status);
	return 0;
}

int tb_dd_enter(struct tb_env *e, const char *rel, char *prog, size_t len)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	char sock[256];
	domid_t id;

	close(e->go_dd[1]);
	T_CHECK(read(e->go_dd[0], &id, sizeof(id)) == sizeof(id), "read domid");
	t_xs_domain_socket(id, sock, sizeof(sock));
	setenv("XENSTORED_PATH", sock, 1);
	snprintf(prog, len, "%s/%s", builddir && *builddir ? builddir : ".", rel);
	return 0;
}

int tb_dd_run(struct tb_env *e, const char *prog, const char *const *argv)
{
	pid_t pid = t_daemon_exec(prog, argv);
	int status;

	T_CHECK(pid > 0 && t_put(e->dd_out[1], &pid, sizeof(pid)) == 0, "start %s", prog);
	status = t_wait(pid);
	T_CHECK(t_put(e->dd_out[1], &status, sizeof(status)) == 0, "report");
	return 0;
}

int tb_dd_serve(struct tb_env *e, const char *rel, const char *const *argv)
{
	char prog[512], cmd;

	T_CHECK(tb_dd_enter(e, rel, prog, sizeof(prog)) == 0, "enter");
	while (read(e->go_dd[0], &cmd, 1) == 1 && cmd == 's')
		T_CHECK(tb_dd_run(e, prog, argv) == 0, "daemon");
	for (;;)
		pause();
}

int tb_disk_add(struct tb_env *e, struct xs_handle *h, const struct xenbus_device_spec *s)
{
	struct xenbus_kv kv[2] = { { "params", NULL }, { "mode", "w" } };
	struct xenbus_device_spec spec = *s;
	char disk[128];
	int fd;

	snprintf(disk, sizeof(disk), "%s/disk.img", e->dir);
	fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "disk");
	close(fd);
	kv[0].value = disk;
	spec.back_extra = kv;
	spec.n_back_extra = 2;
	T_CHECK(xenbus_device_add(h, &spec) == 0, "add");
	return 0;
}

int tb_daemon_start(struct tb_env *e, pid_t *pid)
{
	T_CHECK(write(e->go_dd[1], "s", 1) == 1 && t_get(e->dd_out[0], pid, sizeof(*pid)) == 0,
		"daemon start");
	return 0;
}

/*
 * One byte from fd, waiting until it comes or process pid (the other side) exits: no bound of
 * its own, for each side bounds its own waits (blkback-reattach's collect: 60 s for a restart
 * under load) and a shorter one here gave up on a peer still within its own; dom0's time limit
 * bounds the whole.  0, or -1 (*c = 0) when the peer exited first or the pipe closed.
 */
static int step_get(int fd, pid_t pid, char *c)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = (int)syscall(SYS_pidfd_open, pid, 0), .events = POLLIN } };
	ssize_t n = -1;

	*c = 0;
	while (poll(p, 2, -1) >= 0 || errno == EINTR) {
		if (p[0].revents) {
			do {
				n = read(fd, c, 1);
			} while (n < 0 && errno == EINTR);
			break;
		}
		if (p[1].revents)
			break;
	}
	if (p[1].fd >= 0)
		close(p[1].fd);
	return n == 1 ? 0 : -1;
}

int tb_step(struct tb_env *e, char c)
{
	char ack;

	T_CHECK(t_put(e->steps.ab[1], &c, 1) == 0 &&
		    step_get(e->steps.ba[0], getppid(), &ack) == 0 && ack == c,
		"step %c not acknowledged", c);
	return 0;
}

struct xenbus_device_spec tb_spec(const struct tb_env *e)
{
	return (struct xenbus_device_spec){
		.kind = "vbd", .devid = TB_DEVID, .frontend_id = e->fe, .backend_id = e->dd
	};
}

int tb_dd_blkback(struct tb_env *e, unsigned int flags)
{
	const char *argv[10] = { "pvio-blkback", "--storage", e->dir };
	unsigned int n = 3;

	if (flags & TB_JOURNAL) {
		argv[n++] = "--journal-dir";
		argv[n++] = e->dir;
	}
	if (flags & TB_STATS) {
		argv[n++] = "--stats-dir";
		argv[n++] = e->dir;
	}
	if (getenv("PVIO_TEST_VERBOSE"))
		argv[n++] = "-vv";
	return tb_dd_serve(e, "pvio-blkback", argv);
}

int tb_run_start(struct tb_env *e, struct xs_handle *h, pid_t *daemon)
{
	struct xenbus_device_spec s = tb_spec(e);

	T_CHECK(tb_disk_add(e, h, &s) == 0, "disk");
	T_CHECK(tb_env_go_dd(e) == 0, "go");
	T_CHECK(tb_daemon_start(e, daemon) == 0, "first daemon");
	T_CHECK(tb_env_go_guest(e) == 0, "go");
	return 0;
}

int tb_wait_step(struct tb_env *e, char c)
{
	char got;
	int st;

	if (step_get(e->steps.ab[0], e->guest_pid, &got) == 0 && got == c)
		return 0;
	/* A guest that died without a word (a signal): say how, for the overlapping runs. */
	if (waitpid(e->guest_pid, &st, WNOHANG) == e->guest_pid) {
		fprintf(stderr, "the guest exited: status 0x%x\n", st);
		e->guest_pid = 0;
	}
	T_CHECK(0, "guest's step %c (got 0x%x)", c, (unsigned int)(unsigned char)got);
	return 0;
}

int tb_ack(struct tb_env *e, char c)
{
	T_CHECK(t_put(e->steps.ba[1], &c, 1) == 0, "ack %c", c);
	return 0;
}

int tb_kill_restart(struct tb_env *e, pid_t *daemon)
{
	int status = -1;

	T_CHECK(kill(*daemon, SIGKILL) == 0 && t_get(e->dd_out[0], &status, sizeof(status)) == 0 &&
		    status == 128 + SIGKILL,
		"kill -9: status %d", status);
	T_CHECK(tb_daemon_start(e, daemon) == 0, "next daemon");
	return 0;
}

int tb_run_finish(struct tb_env *e, char c, pid_t daemon)
{
	T_CHECK(tb_ack(e, c) == 0, "ack");
	T_CHECK(t_wait(e->guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(e, daemon) == 0, "SIGTERM");
	return 0;
}

int tb_front_open(struct tb_env *e, struct hv *hv, struct xs_handle *xs, struct tfront *f)
{
	struct xenbus_device_spec s = tb_spec(e);
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(tf_open(f, hv, xs, path) == 0, "open");
	return 0;
}

int tb_front_connect(struct tfront *f)
{
	const struct tf_keys k = { .protocol = "x86_64-abi", .persistent = true };

	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(f, 1, 1) == 0 && tf_publish(f, &k) == 0, "share, publish");
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	return 0;
}

int tb_still_connected(struct tfront *f)
{
	enum xenbus_state st;

	T_CHECK(xenbus_read_otherend_state(&f->xd, &st) == 0 && st == XenbusStateConnected,
		"back end left Connected: %d", (int)st);
	return 0;
}

int tb_front_done(struct tb_env *e, struct tfront *f)
{
	T_CHECK(tf_close(f) == 0, "close");
	xenbus_dev_close(&f->xd);
	T_CHECK(tb_step(e, 'R') == 0, "done");
	return 0;
}

int tb_dom0_steps(struct tb_env *e, struct xs_handle *h, int (*on_step)(struct xs_handle *, char),
		  pid_t daemon)
{
	char c = 0;

	while (t_get(e->steps.ab[0], &c, 1) == 0) {
		int rc = on_step(h, c);

		T_CHECK(t_put(e->steps.ba[1], &c, 1) == 0, "ack");
		T_CHECK(rc == 0, "step %c", c);
		if (c == 'Z')
			break;
	}
	T_CHECK(c == 'Z', "guest stopped early");
	T_CHECK(t_wait(e->guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(e, daemon) == 0, "SIGTERM");
	return 0;
}
