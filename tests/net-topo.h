/* SPDX-License-Identifier: MIT */
/*
 * net-topo.h - the network device's test topology (issue 10): the driver domain's "physical
 * NIC" NTO_NIC is one end of a veth pair whose other end, NTO_EXT, is in a third network
 * namespace playing the outside world (NTO_OUTSIDE_IP); in the driver domain the NIC and every
 * vif are ports of the bridge NTO_BRIDGE, the vif attached by pvio-netback itself through its TAP
 * helper because the vif's back-end directory says bridge=NTO_BRIDGE.  Each guest is a domain
 * of its own running pvio-netfront(8), eth0 in its own namespace at 10.9.0.<2 + index>.  The
 * driver domain and the guests are isolated domains of the embedded hypervisor (launch/embed.h),
 * each in network namespaces of their own; dom0 (the test) sets up the bridge and the veth the
 * way a driver domain's administrator would, and runs commands or functions in any of the three
 * kinds of namespace.
 *
 *	static int run(struct nto *t)
 *	{
 *		T_CHECK(nto_netback_start(t, NULL) == 0, "pvio-netback");
 *		T_CHECK(nto_guest_add(t, 1, NULL) == 0, "guest 0");
 *		T_CHECK(nto_sh(t->g[0].netfront, "ping -c 3 " NTO_OUTSIDE_IP) == 0, "ping");
 *		return 0;
 *	}
 *
 *	int main(void)
 *	{
 *		struct nto t;
 *
 *		return nto_main(&t, 1500, run);	(77 without TUN, namespaces, bridge or veth)
 *	}
 *
 * Functions return 0 or T_FAIL after saying why (T_CHECK), unless said otherwise.
 */
#ifndef PVIO_TESTS_NET_TOPO_H
#define PVIO_TESTS_NET_TOPO_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

#include "tests/helpers.h"

#define NTO_BRIDGE     "br0"
#define NTO_NIC	       "nic0"
#define NTO_EXT	       "ext0"
#define NTO_OUTSIDE_IP "10.9.0.1"
#define NTO_GUESTS_MAX 2
#define NTO_WAIT_MS    20000
/* The time limit nto_start sets. */
#define NTO_ALARM_S 300

struct embed;
struct xs_handle;

/* A guest domain and its vif 0. */
struct nto_guest {
	domid_t dom;	    /* its domid */
	pid_t netfront;	    /* pvio-netfront's pid (its namespace is the guest's) */
	char ip[16];	    /* eth0's address */
	char vif[IFNAMSIZ]; /* the vif in the driver domain */
	char mac[18];	    /* the vif's MAC */
};

/* Everything a topology holds. */
struct nto {
	struct embed *e;	  /* the embedded hypervisor and xenstore */
	struct xs_handle *xs;	  /* dom0's xenstore connection */
	domid_t dd;		  /* the driver domain */
	pid_t dd_ns;		  /* a process in the driver domain's namespace (its init) */
	pid_t outside;		  /* the process holding the outside world's namespace */
	pid_t netback;		  /* pvio-netback, 0 when not running */
	unsigned int mtu;	  /* of the bridge, the NIC, the outside and every eth0 */
	char dir[PATH_MAX];	  /* private directory (the daemon's statistics) */
	char stats[PATH_MAX + 8]; /* dir/stats */
	char back_args[8][32];	  /* pvio-netback's extra options, kept for a restart */
	unsigned int nback_args;  /* how many */
	unsigned int nguests;	  /* entries used in g[] */
	struct nto_guest g[NTO_GUESTS_MAX];
};

/*
 * Start the embedded hypervisor, the driver domain and the outside world, the NIC on the bridge,
 * every MTU mtu, and set a time limit of NTO_ALARM_S: 0, T_SKIP (no TUN, no namespaces, no
 * bridge, no veth: said why) or T_FAIL.
 */
int nto_start(struct nto *t, unsigned int mtu);
/* Stop the guests' pvio-netfront and pvio-netback (each must exit 0 on SIGTERM), then all: T_PASS
 * when ret is 0 and everything stopped cleanly, else T_FAIL. */
int nto_stop(struct nto *t, int ret);

/* A test's main: nto_start, run(t) unless that failed or skipped, nto_stop. */
int nto_main(struct nto *t, unsigned int mtu, int (*run)(struct nto *t));

/* Start pvio-netback in the driver domain with --stats-dir and args (NULL-terminated, may be
 * NULL; kept for nto_netback_restart). */
int nto_netback_start(struct nto *t, const char *const *args);
/* kill -9 pvio-netback, reap it, and start it again with the same options. */
int nto_netback_restart(struct nto *t);

/*
 * A guest domain with vif 0 (bridge=NTO_BRIDGE, rate when not NULL) and pvio-netfront --queues
 * queues, its eth0 addressed and up, its vif on the bridge at the bridge's MTU: 0 or T_FAIL.  The
 * guest is g[nguests - 1] then.
 */
int nto_guest_add(struct nto *t, unsigned int queues, const char *rate);
/* A guest domain with vif 0 on the bridge but no front end yet (a test's own): 0 or T_FAIL. */
int nto_guest_add_raw(struct nto *t, struct nto_guest **g);

/* Wait until pvio-netback has put vif on the bridge, which must have given it the bridge's MTU
 * (as Xen's vif-bridge does): 0 or T_FAIL. */
int nto_vif_ready(struct nto *t, const char *vif);

/* Run "sh -c cmd" in the network namespace of process pid: its exit status (0 passes). */
int nto_sh(pid_t pid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fork a child that enters the network namespace of process pid and _exit(fn(arg)): its pid
 * in *child, reap it with t_wait.  0 or T_FAIL. */
int nto_fork_in(pid_t pid, int (*fn)(void *), void *arg, pid_t *child);
/* The same, waiting for the child: its exit status. */
int nto_run_in(pid_t pid, int (*fn)(void *), void *arg);

/* Counter key of guest g's vif from pvio-netback's statistics file: 0, or -1 if absent. */
int nto_stat(struct nto *t, const struct nto_guest *g, const char *key, uint64_t *v);
/* nto_stat until the counter is at least min (the daemon writes the file once a second): 0 or
 * T_FAIL after NTO_WAIT_MS. */
int nto_stat_wait(struct nto *t, const struct nto_guest *g, const char *key, uint64_t min,
		  uint64_t *v);
/* An interface's counters (/proc/net/dev) as seen in pid's namespace. */
struct nto_ifc {
	uint64_t rx_packets, rx_drop; /* frames the interface took in, and dropped */
	uint64_t tx_packets, tx_drop; /* frames it sent (a TAP: read by its owner), and dropped */
};
/* ifname's counters in pid's namespace: 0 or T_FAIL. */
int nto_if_counters(pid_t pid, const char *ifname, struct nto_ifc *c);
/* Counter field of protocol proto ("Udp") in pid's namespace's /proc/net/snmp: 0 or T_FAIL. */
int nto_snmp(pid_t pid, const char *proto, const char *field, uint64_t *v);

/*
 * A TCP stream of bytes from the namespace of process from to ip (in to's namespace) on port
 * NTO_PORT, every byte checked at the receiver; when a quarter is written, mid(arg) runs in the
 * caller (if not NULL) while the stream goes on.  0 or T_FAIL.
 */
#define NTO_PORT 7777
int nto_tcp(pid_t from, pid_t to, const char *ip, size_t bytes, int (*mid)(void *), void *arg);

#endif
