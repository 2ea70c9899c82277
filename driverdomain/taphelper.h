/* SPDX-License-Identifier: MIT */
/*
 * taphelper.h - the TAPs of a sandboxed network back-end daemon (pvio-netback(8)).
 *
 * Creating a TAP queue (TUNSETIFF), bringing it up and adding it to a bridge need CAP_NET_ADMIN
 * over the network namespace; the serving daemon keeps no capability at all.  So before it drops
 * privilege it forks a helper, the way libvirt hands QEMU its tap fds: the helper keeps
 * CAP_NET_ADMIN alone (securebits, NoNewPrivs, a seccomp filter of its own; the uid it started
 * with, even under --user, since /dev/net/tun is often root's alone) and
 * answers, over a socketpair, only three requests, none of which it trusts: open N queues
 * (1..NETBACK_DEV_QUEUES_MAX) of a TAP named exactly vif<domid>.<devid>, handed back with
 * SCM_RIGHTS, which it makes or made itself (an interface of that name it did not make, or made
 * again by someone else since, is refused); bring such a TAP of its own up; give it the MTU of
 * a bridge of the allowlist it was started with (pvio-netback --bridge) and add it to that
 * bridge.  It ends when the daemon closes its end (or dies).
 */
#ifndef PVIO_DRIVERDOMAIN_TAPHELPER_H
#define PVIO_DRIVERDOMAIN_TAPHELPER_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "driverdomain/sandbox.h"

/*
 * The wire format, one SOCK_SEQPACKET message each way: a struct th_req in, a struct th_rsp back
 * with, for a TH_OPEN that worked, its nfds queue fds attached (SCM_RIGHTS).  A message of
 * another size, an unknown op, a field without its NUL, a name other than vif<domid>.<devid>
 * (domid below DOMID_FIRST_RESERVED, devid at most 65535, no leading zero), a queue count
 * outside 1..NETBACK_DEV_QUEUES_MAX: -EINVAL; an interface the helper did not make, a bridge
 * not on its allowlist: -EPERM; an allowed bridge that does not exist: -ENODEV.
 */
#define TH_BRIDGES_MAX 16   /* bridges on the allowlist */
#define TH_TAPS_MAX    1024 /* TAPs the helper remembers making (gone ones' entries reused) */

enum th_op {
	TH_OPEN = 1, /* nqueues queues of name */
	TH_UP,	     /* name up */
	TH_BRIDGE,   /* name on bridge */
};

struct th_req {
	uint32_t op;	       /* enum th_op */
	uint32_t nqueues;      /* TH_OPEN: 1..NETBACK_DEV_QUEUES_MAX */
	char name[IFNAMSIZ];   /* vif<domid>.<devid>, NUL-terminated */
	char bridge[IFNAMSIZ]; /* TH_BRIDGE: an existing interface, NUL-terminated */
};

struct th_rsp {
	int32_t err;   /* 0 or a negative errno */
	uint32_t nfds; /* fds attached (TH_OPEN) */
};

/*
 * Start the helper (unless s->off) with bridges (NULL-terminated, at most TH_BRIDGES_MAX; NULL:
 * none) as the only bridges its TAPs may join, and route netback_tap_open, _up and _bridge through
 * it (netback_tap_set_ops); s->filter becomes dd_sandbox_common, all a network back end needs once
 * serving.  Call it first, before any thread or descriptor exists (a forked child of a threaded
 * process may find a lock held forever), and dd_sandbox_enter(s, on_xen) once the services are
 * open.  0, or -1 with the reason printed (the caller exits).
 */
int dd_taphelper_start(struct dd_sandbox *s, const char *const *bridges);

#endif
