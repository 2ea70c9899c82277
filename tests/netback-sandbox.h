/* SPDX-License-Identifier: MIT */
/*
 * netback-sandbox.h - the sandbox variants of tests/netback-xenbus.c (the same program under
 * another name), and the checks from the host's /proc that they add.
 *
 * netback-sandbox: pvio-netback as started (root in the test's network namespace, no option):
 * once it serves it shows NoNewPrivs 1, Seccomp 2 and no capability in any set; its TAP helper
 * (its one child) NoNewPrivs 1, Seccomp 2, CAP_NET_ADMIN alone in the permitted, effective and
 * bounding sets, and uid 0.  netback-sandbox-user: the same with --user 65534:65534, the daemon
 * showing that uid and gid (the helper stays uid 0: /dev/net/tun may be root's alone).
 * netback-sandbox-off: --no-sandbox keeps root, its capabilities, no filter and no helper.  In
 * every variant the vifs are added only after these checks, so their TAPs are made after the drop,
 * and vif 0 goes on a bridge.
 */
#ifndef PVIO_TESTS_NETBACK_SANDBOX_H
#define PVIO_TESTS_NETBACK_SANDBOX_H

#include <sys/types.h>

enum nbs_mode {
	NBS_NONE, /* netback-xenbus itself */
	NBS_ROOT, /* netback-sandbox */
	NBS_USER, /* netback-sandbox-user */
	NBS_OFF,  /* netback-sandbox-off */
};

#define NBS_BRIDGE "pvbr0"

/* The variant the program's name asks for. */
enum nbs_mode nbs_mode(const char *argv0);
/* The daemon's options for mode: up to two into args, NULL-terminated. */
void nbs_args(enum nbs_mode mode, const char *args[3]);
/* dom0, before the daemon starts: for NBS_USER, dir and stats its own: 0 or 1. */
int nbs_prepare(enum nbs_mode mode, const char *dir, const char *stats);
/* dom0: wait for the daemon (pid) to serve sandboxed as mode says, and check it: 0 or 1. */
int nbs_check(enum nbs_mode mode, pid_t daemon);

#endif
