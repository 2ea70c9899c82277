/* SPDX-License-Identifier: MIT */
/*
 * blkback-env.h - the three domains of the pvio-blkback(8) tests.  dom0 (the test) runs pvio-hv
 * and pvio-xenstored and forks a driver domain, which runs the daemon, and a guest domain, which
 * runs a scripted front end (tests/blkback-front.h); pipes carry the domids, the daemon's pid
 * and exit status, and the guest's steps.  Functions return 0 (or T_PASS) on success and
 * T_FAIL after printing why.
 */
#ifndef PVIO_TESTS_BLKBACK_ENV_H
#define PVIO_TESTS_BLKBACK_ENV_H

#include <sys/types.h>

#include "tests/hv-test.h"
#include "xenbus/toolstack.h"

struct hv;
struct xs_handle;
struct tfront;

struct tb_env {
	char dir[64];		 /* a fresh directory for the disks, removed if the test passed */
	int go_dd[2];		 /* dom0 -> driver domain: its domid, then the test's commands */
	int go_fe[2];		 /* dom0 -> guest: the two domids (tf_guest reads them) */
	int dd_out[2];		 /* driver domain -> dom0: the daemon's pid, its exit status */
	struct t_link steps;	 /* a = guest, b = dom0: step codes and their acks */
	domid_t dd, fe;		 /* the driver domain and the guest (dom0's copy) */
	pid_t dd_pid, guest_pid; /* their first processes */
	struct xs_handle *xs;	 /* dom0's xenstore connection */
	/* The guest's script, run by tf_guest (tests/blkback-front.h) once dom0 says go. */
	int (*guest)(struct hv *hv, struct xs_handle *xs);
};

/*
 * Start pvio-hv and pvio-xenstored, make dir and the pipes, fork the driver domain (dd, given e)
 * and the guest (running guest), and introduce both to xenstore.  The children inherit *e as it
 * is before the forks.
 */
int tb_env_start(struct tb_env *e, int (*dd)(void *),
		 int (*guest)(struct hv *, struct xs_handle *));
/* Send the driver domain its domid and the guest both domids. */
int tb_env_go_dd(struct tb_env *e);
int tb_env_go_guest(struct tb_env *e);
/* Tear down after the test's result ret: T_PASS when ret is 0, else T_FAIL. */
int tb_env_end(struct tb_env *e, int ret);
/* A test's main: tb_env_start, then run (with dom0's xenstore connection), then tb_env_end. */
int tb_env_main(struct tb_env *e, int (*dd)(void *), int (*guest)(struct hv *, struct xs_handle *),
		int (*run)(struct xs_handle *xs));
/* SIGTERM the daemon (pid) of the driver domain: it must exit with status 0. */
int tb_daemon_term(struct tb_env *e, pid_t pid);
/*
 * Dom0's side of a guest's script once both run: serve each step code the guest sends with
 * on_step and ack it, up to 'Z'; then the guest must exit with 0 and the daemon (pid) on SIGTERM.
 */
int tb_dom0_steps(struct tb_env *e, struct xs_handle *h, int (*on_step)(struct xs_handle *, char),
		  pid_t daemon);

/*
 * In the driver domain: wait for its domid, point XENSTORED_PATH at its socket and put the path
 * of the program rel (under $PVIO_BUILDDIR) in prog.
 */
int tb_dd_enter(struct tb_env *e, const char *rel, char *prog, size_t len);
/* In the driver domain: run prog, report its pid and, once it exits, its status on dd_out. */
int tb_dd_run(struct tb_env *e, const char *prog, const char *const *argv);
/*
 * The driver domain's first process of a test that restarts the daemon: enter (rel, as
 * tb_dd_enter), then run the daemon (tb_dd_run) each time dom0 asks with tb_daemon_start.
 */
int tb_dd_serve(struct tb_env *e, const char *rel, const char *const *argv);
/* In dom0: a 1 MiB disk.img in the private directory, added as device s (params, mode w). */
int tb_disk_add(struct tb_env *e, struct xs_handle *h, const struct xenbus_device_spec *s);
/* In dom0: ask tb_dd_serve for a new daemon; *pid gets it. */
int tb_daemon_start(struct tb_env *e, pid_t *pid);

/* In the guest: tell dom0 step c is done and wait for its ack. */
int tb_step(struct tb_env *e, char c);

/* ---- what the restart tests (blkback-restart, -reattach, -journal-edges) share ---- */

#define TB_DEVID 51712 /* the one disk's vbd */

/* The guest's vbd TB_DEVID, served by the driver domain. */
struct xenbus_device_spec tb_spec(const struct tb_env *e);

/* The driver domain's first process: tb_dd_serve of pvio-blkback --storage <dir>, with: */
#define TB_JOURNAL 1u /* --journal-dir <dir> */
#define TB_STATS   2u /* --stats-dir <dir> (files <fe>.<devid>) */
int tb_dd_blkback(struct tb_env *e, unsigned int flags);

/* dom0: add the disk (tb_spec), let the driver domain go, start a daemon, let the guest go. */
int tb_run_start(struct tb_env *e, struct xs_handle *h, pid_t *daemon);
/* dom0: wait for the guest's step c (not acknowledged yet). */
int tb_wait_step(struct tb_env *e, char c);
/* dom0: acknowledge step c. */
int tb_ack(struct tb_env *e, char c);
/* dom0: kill -9 *daemon (it must die of it) and start the next one into *daemon. */
int tb_kill_restart(struct tb_env *e, pid_t *daemon);
/* dom0: acknowledge the guest's last step c, reap the guest, SIGTERM the daemon. */
int tb_run_finish(struct tb_env *e, char c, pid_t daemon);

/* The guest: open the front end of tb_spec's device. */
int tb_front_open(struct tb_env *e, struct hv *hv, struct xs_handle *xs, struct tfront *f);
/* The guest: InitWait, one ring of order 1, published with persistent grants, Connected. */
int tb_front_connect(struct tfront *f);
/* The guest: the back end's state, read now (not waited for), is Connected. */
int tb_still_connected(struct tfront *f);
/* The guest: close the front end and tell dom0 it is done (step 'R'). */
int tb_front_done(struct tb_env *e, struct tfront *f);

#endif
