/* SPDX-License-Identifier: MIT */
/*
 * hash.h - a vif's receive-side hashing, as the front sets it over the control ring
 * (feature-ctrl-ring, xen/io/netif.h), and the steering of RX frames to the queue its mapping
 * table names, with the facts of Linux's drivers/net/xen-netback/hash.c:
 *   - one algorithm, Toeplitz (or none: no hash, frames stay on the queue the TAP gave them);
 *   - hash types IPv4, IPv4+TCP, IPv6, IPv6+TCP, over the fields netif.h lists;
 *   - a key of at most NETBACK_HASH_KEY_MAX bytes, zero-filled after what the front gave;
 *   - a mapping table of at most NETBACK_HASH_MAPPING_MAX entries, each a queue index below the
 *     number of queues; a frame goes to mapping[hash % size], or to hash % queues with no
 *     table (size 0), and carries its hash to the guest as XEN_NETIF_EXTRA_TYPE_HASH.
 *
 * One struct netback_hash per vif, shared by the thread serving the control ring (the only
 * writer) and the queue threads, which hash under its lock only while an algorithm is set.
 * A frame a queue reads from its TAP but that belongs to another queue goes into that queue's
 * inbox, bounded at NETBACK_STEER_MAX frames (more are dropped and counted), and the queue's
 * thread is woken through the wake hook.
 */
#ifndef PVIO_BACKEND_NET_HASH_H
#define PVIO_BACKEND_NET_HASH_H

#include <stdint.h> /* Xen's public headers expect it first */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <xen/io/netif.h>

#include "backend/net/netback.h"
#include "hv/hv.h"

/* Linux netback's XEN_NETBK_MAX_HASH_KEY_SIZE and XEN_NETBK_MAX_HASH_MAPPING_SIZE. */
#define NETBACK_HASH_KEY_MAX	 40u
#define NETBACK_HASH_MAPPING_MAX 128u
/* The hash types GET_HASH_FLAGS offers. */
#define NETBACK_HASH_TYPES                                                                         \
	(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |                       \
	 XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
/* Frames one queue may hold for another (each up to a virtio header and NETBACK_FRAME_MAX). */
#define NETBACK_STEER_MAX 32u

/* The Toeplitz hash of buf[0..len) under key[0..keylen) (bytes past keylen count as zero). */
uint32_t netback_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf, size_t len);

/* A frame handed from the queue that read it to the queue the mapping names. */
struct netback_steered {
	uint8_t *buf;	  /* virtio header + frame (owned) */
	unsigned int len; /* frame bytes after the header */
	uint32_t value;	  /* its hash */
	uint8_t type;	  /* _XEN_NETIF_CTRL_HASH_TYPE_* */
};

/* One queue's inbox. */
struct netback_inbox {
	struct netback_steered f[NETBACK_STEER_MAX];
	unsigned int head, len;
	/* len, published for the lock-free look of netback_hash_take: a queue nobody steered to
	 * (every queue while no hash is set) takes no lock per frame. */
	atomic_uint queued;
};

struct netback_hash {
	pthread_mutex_t lock; /* guards everything below but on and nr_queues */
	atomic_bool on;	      /* alg is Toeplitz: readers may skip the lock while false */
	unsigned int nr_queues;
	uint32_t alg, flags, size;
	uint8_t key[NETBACK_HASH_KEY_MAX];
	/*
	 * The key's Toeplitz contribution of each byte value at each input position (36 bytes
	 * at most: IPv6 with ports): a frame then costs a lookup per byte instead of a pass per
	 * bit.  Made for the first frame hashed after the key changed (table_stale), not when it
	 * is set: a front sending SET_HASH_KEY over and over costs no table each (28 us under the
	 * lock every queue's RX takes).
	 */
	uint32_t table[36][256];
	bool table_stale;
	uint32_t mapping[NETBACK_HASH_MAPPING_MAX];
	bool closing;		     /* no more steering: the queues are being taken down */
	struct netback_inbox *inbox; /* nr_queues of them */
	/* Wake queue q's thread (called under lock, from any queue's thread); may be NULL. */
	void (*wake)(void *arg, unsigned int q);
	void *wake_arg;
};

/* Set the key (NETBACK_HASH_KEY_MAX bytes), its table stale; under h->lock when others run. */
void netback_hash_key(struct netback_hash *h, const uint8_t *key);
/* 0, -ENOMEM or -EINVAL (no queues). */
int netback_hash_init(struct netback_hash *h, unsigned int nr_queues);
/*
 * Free the frames still held and the inboxes: the number of frames freed (the caller counts them
 * as dropped).  No queue may use h any more.
 */
unsigned int netback_hash_fini(struct netback_hash *h);
/* Stop steering: after it no queue hands frames on nor wakes another. */
void netback_hash_close(struct netback_hash *h);

/*
 * Serve one control request: its status (XEN_NETIF_CTRL_STATUS_*) and *data.  Keys and
 * mapping tables are grant-copied from the front (domain fe) through hv; every size, offset
 * and queue index is bounded before use.
 */
uint32_t netback_hash_ctrl(struct netback_hash *h, struct hv *hv, domid_t fe,
			   const struct xen_netif_ctrl_request *req, uint32_t *data);

/*
 * Hash frame[0..len) (an Ethernet frame) as the front asked.  False when no algorithm is set
 * (the frame stays where it is); else true with *queue the queue it belongs to and, when one of
 * the front's hash types matched, *hashed, *value and *type (_XEN_NETIF_CTRL_HASH_TYPE_*) for
 * the guest's hash extra.
 */
bool netback_hash_frame(struct netback_hash *h, const uint8_t *frame, size_t len,
			unsigned int *queue, bool *hashed, uint32_t *value, uint8_t *type);

/*
 * Hand a frame to queue q's inbox and wake it: 0, or -ENOBUFS when the inbox is full or
 * steering is closed (the caller drops it).  The buffer is copied.
 */
int netback_hash_steer(struct netback_hash *h, unsigned int q, const uint8_t *buf, unsigned int len,
		       uint32_t value, uint8_t type);
/* Take the oldest frame of queue q's inbox into *f (its buf now the caller's): false if none. */
bool netback_hash_take(struct netback_hash *h, unsigned int q, struct netback_steered *f);

/*
 * The control ring: one page the front granted (ctrl-ring-ref), its event channel bound as
 * port.  Requests are copied off the ring, served by netback_hash_ctrl and answered in order;
 * a ring whose indices are corrupt makes netback_ctrl_process fail with -EPROTO, for good (the
 * caller disconnects that vif).  One thread drives it.
 */
struct netback_ctrl;
/* Map and attach: 0, -ENOMEM, -EPROTO, or the hypervisor's errno. */
int netback_ctrl_attach(struct netback_ctrl **cp, struct hv *hv, domid_t fe, grant_ref_t ref,
			evtchn_port_t port, struct netback_hash *h);
/* Serve a bounded batch: 1 more remains, 0 idle (req_event armed), negative errno. */
int netback_ctrl_process(struct netback_ctrl *c);
/* Requests served so far (tests, statistics). */
uint64_t netback_ctrl_served(const struct netback_ctrl *c);
/* Late EOI for its port, by ring/eoi.h's rule (XSA-332): 0 unmask now, else when. */
uint64_t netback_ctrl_eoi(struct netback_ctrl *c, uint64_t now);
/* Its counters: ev_spurious and ev_delayed (the others 0). */
void netback_ctrl_stats(const struct netback_ctrl *c, struct netback_stats *st);
/* Unmap and free; the port stays the caller's.  NULL is fine. */
void netback_ctrl_detach(struct netback_ctrl *c);

#endif
