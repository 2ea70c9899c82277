/* SPDX-License-Identifier: MIT */
/*
 * mcast.h - a vif's multicast filter (feature-multicast-control, xen/io/netif.h), with the
 * facts of Linux's xen-netback: the back-end offers feature-multicast-control; a front that
 * writes request-multicast-control = 1 has RX multicast frames dropped unless their destination
 * is on its list, which it edits with XEN_NETIF_EXTRA_TYPE_MCAST_ADD / _DEL extra info on a
 * TX request (a request that carries no frame: it is answered, never sent).  The list holds at
 * most NETBACK_MCAST_MAX addresses; an add past that is answered NETIF_RSP_ERROR, as Linux
 * does, and from then on until a delete makes room every multicast frame is delivered
 * (flooding), so that the guest misses no group it asked for.  Broadcast is never filtered.
 *
 * One per vif, shared by every queue: TX on any queue edits it, RX on any queue reads it, under
 * its lock (taken only while filtering is on).
 */
#ifndef PVIO_BACKEND_NET_MCAST_H
#define PVIO_BACKEND_NET_MCAST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Linux netback's XEN_NETBK_MCAST_MAX. */
#define NETBACK_MCAST_MAX 64u

struct netback_mcast {
	pthread_mutex_t lock;
	atomic_bool on; /* the front wrote request-multicast-control = 1 */
	bool overflow;	/* an add found the list full: deliver every multicast frame */
	unsigned int n;
	uint8_t addr[NETBACK_MCAST_MAX][6];
};

void netback_mcast_init(struct netback_mcast *m, bool on);
void netback_mcast_fini(struct netback_mcast *m);
/* Add addr (any: a unicast one never matches, as Linux netback takes it): 0, or -ENOSPC when
 * the list is full (then flooding). */
int netback_mcast_add(struct netback_mcast *m, const uint8_t addr[6]);
/* Remove addr (its first copy) if listed. */
void netback_mcast_del(struct netback_mcast *m, const uint8_t addr[6]);
/* Whether an RX frame to dst goes to the guest. */
bool netback_mcast_pass(struct netback_mcast *m, const uint8_t dst[6]);

#endif
