/* SPDX-License-Identifier: MIT */
/*
 * netback.h - the network back-end's data plane: one queue (a TX ring, an RX ring, their event
 * channels and one TAP queue) of one vif, in the wire format of xen/io/netif.h.
 *
 * TX (guest -> world): requests are copied off the ring one slot at a time and gathered into a
 * frame: a first slot whose size is the whole frame's, extra-info slots after it
 * (NETTXF_extra_info, XEN_NETIF_EXTRA_FLAG_MORE), then the fragments (NETTXF_more_data).  The
 * complete frame is grant-copied into private memory, so the host kernel always gets its headers
 * in one piece (XSA-423), checked, and written to the TAP with a virtio_net_hdr carrying its
 * checksum and GSO offloads.  Every slot gets its response in ring order: NETIF_RSP_OKAY,
 * NETIF_RSP_ERROR for a malformed frame, NETIF_RSP_DROPPED for a spoofed one, NETIF_RSP_NULL for
 * an extra-info slot.
 *
 * RX (world -> guest): the guest's posted buffers are copied off the RX ring into a private FIFO
 * (at most a ring's worth).  A frame is read from the TAP only when no earlier one is held, and
 * is grant-copied into the buffers once enough are posted for it; so a guest that posts none
 * costs one held frame at most, and the rest waits in the TAP's own bounded queue, where the
 * host kernel drops it (XSA-392).
 *
 * Everything on the rings is hostile; a bad frame is answered and counted (netback_stats), and
 * only a ring whose indices are corrupt makes netback_queue_process fail with -EPROTO, for good:
 * the caller then disconnects that one vif.
 *
 * Not thread-safe: one thread drives a queue (different queues may run on different threads).
 */
#ifndef PVIO_BACKEND_NET_NETBACK_H
#define PVIO_BACKEND_NET_NETBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "hv/log.h"
#include "ring/ring.h"

/*
 * Data slots one TX frame may use: XEN_NETIF_NR_SLOTS_MIN, which netif.h says a back-end must
 * accept, and Linux netback's XEN_NETBK_LEGACY_SLOTS_MAX.  A frame using more is refused.
 */
#define NETBACK_TX_SLOTS_MAX 18u
/*
 * Data slots at which a frame is no longer a mistake but an attack: the queue fails (its vif
 * disconnects), as Linux netback's fatal_skb_slots (20 after the first slot).  Frames of
 * NETBACK_TX_SLOTS_MAX + 1 up to this less one are answered with errors, as there.
 */
#define NETBACK_TX_SLOTS_FATAL 21u
/* Largest frame either way: XEN_NETIF_MAX_TX_SIZE, the most a u16 first-slot size can say. */
#define NETBACK_FRAME_MAX 0xFFFFu
/* The header the TAP carries in front of each frame: struct virtio_net_hdr. */
#define NETBACK_VNET_HDR_LEN 10u

/* What the control plane negotiated for one queue. */
struct netback_queue_params {
	domid_t frontend;      /* the guest that granted the rings */
	grant_ref_t tx_ref;    /* tx-ring-ref: one page */
	grant_ref_t rx_ref;    /* rx-ring-ref: one page */
	evtchn_port_t tx_port; /* our bound end of event-channel(-tx) */
	evtchn_port_t rx_port; /* of event-channel-rx; tx_port when not split */
	int tap_fd;	       /* one TAP queue, netback_tap_open's (not owned) */
	uint8_t mac[6];	       /* the vif's MAC: TX frames from another source are dropped */
	bool rx_sg;	       /* feature-sg of the front: an RX frame may fill several buffers */
	bool rx_gso_tcpv4;     /* feature-gso-tcpv4 of the front: RX may carry TCPv4 GSO */
	bool rx_gso_tcpv6;     /* feature-gso-tcpv6 of the front: RX may carry TCPv6 GSO */
	/*
	 * The front takes no blank checksum on IPv4 (feature-no-csum-offload) or on IPv6 (no
	 * feature-ipv6-csum-offload): an RX frame the TAP hands over with its checksum to finish
	 * gets it finished here, as the kernel does for Linux netback's vif without those features.
	 */
	bool rx_csum_v4_off;
	bool rx_csum_v6_off;
	uint64_t rate_bytes;	     /* TX credit per rate_usec window (the vif's `rate`); */
	uint64_t rate_usec;	     /*   either 0: no limit (see backend/net/credit.h) */
	struct netback_hash *hash;   /* the vif's receive hash and steering (hash.h), or NULL */
	struct netback_mcast *mcast; /* the vif's multicast filter (mcast.h), or NULL */
	unsigned int index;	     /* this queue's index among the vif's */
	const char *name;	     /* for messages, e.g. "vif 3/0 q0" (copied) */
	struct pvio_log *log;	     /* NULL: stderr at PVIO_LOG_WARN */
};

/* Per-queue counters; drops and errors by reason. */
struct netback_stats {
	uint64_t tx_packets;	    /* frames written to the TAP */
	uint64_t tx_bytes;	    /* their bytes, without the virtio header */
	uint64_t tx_bad_slot;	    /* offset + size past the page, fragment sizes over the first
				       slot's, a zero-length first slot */
	uint64_t tx_too_many_slots; /* more than NETBACK_TX_SLOTS_MAX data slots */
	uint64_t tx_too_short;	    /* smaller than an Ethernet header */
	uint64_t tx_bad_grant;	    /* a slot's grant could not be copied */
	uint64_t tx_bad_extra;	    /* unknown, repeated or malformed extra info (GSO) */
	uint64_t tx_bad_offload;    /* csum_blank or GSO on a frame without TCP/UDP to find */
	uint64_t tx_spoofed;	    /* source MAC not the vif's: dropped */
	uint64_t tx_tap_errors;	    /* the TAP refused the frame */
	uint64_t rx_packets;	    /* frames copied to the guest */
	uint64_t rx_bytes;	    /* their bytes */
	uint64_t rx_too_big;	    /* frames the guest cannot take (no sg, GSO it did not ask for,
				       over NETBACK_FRAME_MAX, a checksum to finish out of the frame) */
	uint64_t rx_bad_grant;	    /* frames whose buffers could not be copied into */
	uint64_t rx_short;	    /* TAP reads shorter than the virtio header and a frame */
	uint64_t rx_steered;	    /* frames handed to the queue the hash mapping names */
	uint64_t rx_steer_drops;    /* frames dropped because that queue's inbox was full */
	uint64_t tx_mcast_ctl;	    /* MCAST_ADD / _DEL requests served (no frame sent) */
	uint64_t rx_mcast_drops;    /* multicast frames not on the front's list */
	uint64_t ev_spurious;	    /* port events that found no new request (netback_queue_eoi) */
	uint64_t ev_delayed;	    /* of them, those whose port was left masked for a while */
	uint64_t rx_direct;	    /* frames read from the TAP straight into the guest's buffers */
	uint64_t rx_direct_missed;  /* frames read so that had to be moved: other extra info */
};

struct netback_queue;
struct netback_hash;
struct netback_mcast;

/*
 * Map both rings writable and attach to them as the back-end.  -EINVAL for bad parameters, the
 * hypervisor's errno if a ring does not map, -EPROTO if its indices are already corrupt, -ENOMEM.
 */
int netback_queue_attach(struct netback_queue **qp, struct hv *hv,
			 const struct netback_queue_params *p);

/*
 * Serve both directions, a bounded batch each.  The event loop's contract: call it once after
 * attach, then whenever one of the queue's ports fires or, while netback_queue_wants_tap says
 * so, its TAP fd polls readable; and again at once while it returns 1.  On 0, every wake-up the
 * queue needs is armed: the rings' req_event (a new TX request or RX buffer fires a port) and,
 * when the queue wants it, TAP readability.
 *   1        more work remains: call again after other queues' turn;
 *   0        nothing to do until an event;
 *   -EPROTO  a ring is broken, for good: disconnect the vif;
 *   another negative errno: notifying the front failed; treat as -EPROTO.
 */
int netback_queue_process(struct netback_queue *q);

/*
 * When TX waits for the rate's credit: the CLOCK_MONOTONIC time in nanoseconds at which
 * netback_queue_process must be called again, or 0 when it waits for nothing.  After a 0 from
 * netback_queue_process the loop arms a timer for it beside the queue's ports and TAP: this is
 * a real timer event (the credit window's end), not a wake-up that papers over a lost one;
 * a throttled queue does not arm its TX ring's req_event, so nothing else would wake it.
 */
uint64_t netback_queue_deadline(const struct netback_queue *q);

/*
 * Change the TX rate (the vif's `rate` was rewritten): bytes per usec, either 0 for no limit.
 * The only call here that another thread may make while the queue's thread runs; that thread
 * applies it at its next netback_queue_process, so the caller then wakes it.  A frame waiting
 * for credit is tried again at once, as Linux netback fires its credit timer.
 */
void netback_queue_set_rate(struct netback_queue *q, uint64_t bytes, uint64_t usec);

/*
 * Late EOI, against event storms (XSA-332): the loop leaves a port masked from its event until
 * netback_queue_process has returned 0 after it, then asks here when to unmask it, by
 * ring/eoi.h's rule over the requests taken off both rings.  Returns 0: unmask now; else the
 * CLOCK_MONOTONIC time (ns) to unmask at, a timer the loop arms.  Call it from the queue's
 * thread, with now from CLOCK_MONOTONIC.
 */
uint64_t netback_queue_eoi(struct netback_queue *q, uint64_t now);

/* Whether the loop should poll the TAP fd for POLLIN (the guest has buffers for a frame). */
bool netback_queue_wants_tap(const struct netback_queue *q);

/* A snapshot of the queue's counters. */
void netback_queue_stats(const struct netback_queue *q, struct netback_stats *st);

/* Where a queue's rings stand, for diagnostics: the shared indices and our consumers. */
struct netback_queue_view {
	struct ring_indices tx, rx; /* the shared indices */
	uint32_t tx_cons, rx_cons;  /* requests copied out so far */
};
/* All of it: from the queue's thread only (the consumers are its own). */
void netback_queue_view(const struct netback_queue *q, struct netback_queue_view *v);
/* The shared indices alone, as they are now: from any thread while the queue is attached. */
void netback_queue_indices(const struct netback_queue *q, struct ring_indices *tx,
			   struct ring_indices *rx);
/* Add every counter of st to sum. */
void netback_stats_add(struct netback_stats *sum, const struct netback_stats *st);

/* Unmap the rings and free.  The ports and the TAP fd stay the caller's.  NULL is fine. */
void netback_queue_detach(struct netback_queue *q);

/*
 * Open (creating it if needed) TAP device name's queues fds[0..nqueues): IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR | IFF_MULTI_QUEUE, each fd non-blocking with a NETBACK_VNET_HDR_LEN header.
 * A multi-queue TAP takes more queues later by calling this again.  0 or a negative errno
 * (-ENOENT without /dev/net/tun).
 */
int netback_tap_open(const char *name, unsigned int nqueues, int *fds);
/*
 * Set what the TAP (any queue's fd) may hand netback (TUNSETOFFLOAD): frames with their
 * checksum left blank when csum, TCPv4 / TCPv6 GSO frames when tso4 / tso6 (with csum only),
 * as the guest said it takes them.  0 or a negative errno.
 */
int netback_tap_offload(int fd, bool csum, bool tso4, bool tso6);
/* Bring interface name up (IFF_UP).  0 or a negative errno. */
int netback_tap_up(const char *name);
/* Give interface name bridge's MTU and attach it to bridge (SIOCBRADDIF).  0 or a negative
 * errno. */
int netback_tap_bridge(const char *name, const char *bridge);

/*
 * Who makes TAPs for a process without CAP_NET_ADMIN (a sandboxed daemon): once set, and until
 * set again (NULL: this process itself), netback_tap_open, netback_tap_up and
 * netback_tap_bridge ask ops instead, with ops->arg.  open hands over nqueues fds as
 * netback_tap_open makes them.  Each returns 0 or a negative errno.  Set it before any vif is
 * served; the control plane's thread alone calls these.
 */
struct netback_tap_ops {
	int (*open)(void *arg, const char *name, unsigned int nqueues, int *fds);
	int (*up)(void *arg, const char *name);
	int (*bridge)(void *arg, const char *name, const char *bridge);
	void *arg;
};
void netback_tap_set_ops(const struct netback_tap_ops *ops);

#endif
