/* SPDX-License-Identifier: MIT */
/*
 * pvio/netfront.h - libpvio-netfront: a Xen network front-end (netif) as a user-space library.
 *
 * netfront_open finds the guest's device/vif/<devid> in xenstore, waits for the back-end's
 * InitWait, checks feature-rx-copy, takes min(opts.queues or the online CPUs, the back-end's
 * multi-queue-max-queues) queues (fewer when their grants, 514 a queue, do not fit the grant
 * limit: gntalloc's `limit` on Xen), grants each one TX and one RX ring and a page per ring slot,
 * allocates an event channel per queue (two, TX and RX, when the back-end offers
 * feature-split-event-channels), writes its keys as Linux xen-netfront does (queue-N/ and
 * multi-queue-num-queues when more than one; event-channel, or event-channel-tx and -rx;
 * request-rx-copy, feature-rx-notify, feature-sg, the offloads or feature-no-csum-offload)
 * and switches to Connected, then waits for the back-end's Connected.  Every handshake reads
 * the back-end's offer again and first removes the keys an earlier connection wrote, so a
 * back-end restarted with other queues, offloads or event channels is negotiated anew.
 * It works against Linux netback and pvio-netback(8).
 *
 * Frames go both ways whole, up to NETFRONT_FRAME_MAX bytes, with their checksums computed:
 * netfront_send queues one on the TX ring (several may be in flight), netfront_recv takes the
 * next one received.  Every RX buffer is posted again as soon as its frame is taken, so the
 * back-end always has the ring's worth.  netfront_fd polls readable when netfront_poll has work.
 *
 * The back-end is not trusted: every response is copied off the ring and checked (its id must
 * name a slot in flight, its size fit its page, a frame at most NETFRONT_SLOTS_MAX slots) and a
 * violation drops the connection as a lost back-end does (below): netfront_poll says -EPROTO
 * once, and the next handshake starts clean, as Linux's netfront resets its "broken" flag on
 * reconnect.  Pages are granted once per connection and never
 * handed out again while the back-end may still map them; at close a grant the back-end still
 * maps is left granted rather than reused (XSA-396).
 *
 * When the back-end is lost (its state leaves Connected, or, where port states are observable,
 * it closes an event channel: the daemon died) frames in flight are dropped as a NIC's would
 * be, and we say Closed; once the back-end is Closed or InitWait again the queues are torn
 * down (a live back-end has unmapped them by then), we say Initialising and, at its InitWait,
 * hand-shake again.  Meanwhile netfront_send says
 * -ENOTCONN, netfront_recv -EAGAIN and netfront_queues 0.  The back-end's directory gone, or
 * its `online` 0 once it is Closed (the toolstack detached the vif), is the end: -ENOTCONN from
 * netfront_poll.
 *
 * Every call returns 0 (or a count where said) or a negative errno and never exits.  A handle
 * is not thread-safe: one thread drives it.
 */
#ifndef PVIO_NETFRONT_H
#define PVIO_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xs_handle; /* libxenstore's connection (<xenstore.h>) */
struct netfront;

/* Largest frame either way (XEN_NETIF_MAX_TX_SIZE). */
#define NETFRONT_FRAME_MAX 0xFFFFu
/* Slots one frame may use (XEN_NETIF_NR_SLOTS_MIN). */
#define NETFRONT_SLOTS_MAX 18u
/* The virtio-net header (struct virtio_net_hdr) before each frame when opts.vnet_hdr. */
#define NETFRONT_VNET_HDR_LEN 10u
/* Offloads (netfront_offloads): checksums left to the other side, TCP segmentation. */
#define NETFRONT_OFFLOAD_CSUM 1u
#define NETFRONT_OFFLOAD_TSO4 2u
#define NETFRONT_OFFLOAD_TSO6 4u
/* Queues at most (pvio-netback(8) offers up to 16). */
#define NETFRONT_QUEUES_MAX 16u

struct netfront_opts {
	unsigned int devid;   /* device/vif/<devid> */
	struct xs_handle *xs; /* NULL: xs_open(0); else it must carry no other watches */
	int timeout_ms;	      /* how long netfront_open waits to connect; 0: 10 s */
	unsigned int queues;  /* queues wanted; 0: online CPUs (at most the back-end's maximum) */
	/*
	 * Offloads: every frame sent or received starts with a struct virtio_net_hdr
	 * (NETFRONT_VNET_HDR_LEN bytes, as a TAP with IFF_VNET_HDR); checksums may be partial and
	 * TCP frames up to 64 KiB segmented by the other side.  Without it frames are plain and
	 * whole, with their checksums (feature-no-csum-offload).
	 */
	bool vnet_hdr;
};

/* Counters since open. */
struct netfront_stats {
	uint64_t tx_packets, tx_bytes; /* frames the back-end took */
	uint64_t tx_errors;	       /* frames it answered with an error or dropped */
	uint64_t rx_packets, rx_bytes; /* frames received */
	uint64_t rx_errors;	       /* frames the back-end marked bad, dropped */
};

/* Connect: -ENOENT without the device, -ETIMEDOUT, -ENODEV if the back-end lacks rx-copy. */
int netfront_open(struct netfront **nfp, const struct netfront_opts *opts);
/* Close the device (Closing, then Closed) and release what the back-end let go.  NULL is fine. */
void netfront_close(struct netfront *nf);
/* The guest's MAC address, from the toolstack's `mac`. */
void netfront_mac(const struct netfront *nf, uint8_t mac[6]);
/* A file descriptor (events and xenstore) that polls readable when netfront_poll has work. */
int netfront_fd(const struct netfront *nf);
/*
 * Take events, collect TX answers and assemble each queue's next received frame.  The number of
 * queues with a frame ready (at most one frame a queue is assembled: more may wait behind it);
 * -EPROTO once after the back-end broke the protocol (the device then reconnects as after a
 * lost back-end: keep polling); -ENOTCONN when the back-end's directory is gone.  Receive on
 * every queue until -EAGAIN before waiting on netfront_fd again: only that -EAGAIN asks the
 * back-end for an event on its next frame, and frames left on the ring make no event.
 */
int netfront_poll(struct netfront *nf);
/*
 * Queue frame (14..NETFRONT_FRAME_MAX bytes, after its virtio-net header with opts.vnet_hdr) for
 * sending: 0, -EAGAIN when the ring is full, -EINVAL for a size or an offload out of bounds,
 * -ENOTCONN while reconnecting (drop the frame).
 */
int netfront_send(struct netfront *nf, const void *frame, size_t len);
/* The same on queue q (0..netfront_queues - 1); -EINVAL for another q. */
int netfront_send_queue(struct netfront *nf, unsigned int q, const void *frame, size_t len);
/*
 * Read one frame from fd (a TAP's file descriptor: one read, one frame, after its virtio-net
 * header with opts.vnet_hdr) straight into free TX pages of queue q and send it: the bytes
 * read; -ENOBUFS, reading nothing, while the ring or its pages lack room for a frame of
 * NETFRONT_FRAME_MAX bytes; -EAGAIN when fd has no frame; -EINVAL for a frame out of bounds
 * (read and dropped); -ENOTCONN while reconnecting (nothing read); fd's -errno.
 */
ssize_t netfront_send_queue_fd(struct netfront *nf, unsigned int q, int fd);
/*
 * The next received frame into buf (cap bytes): its length, or -EAGAIN when there is none.  A
 * frame longer than cap is cut to cap and its whole length returned, as recv(2) with MSG_TRUNC
 * does: a result over cap says so.
 */
ssize_t netfront_recv(struct netfront *nf, void *buf, size_t cap);
/* The same from queue q only. */
ssize_t netfront_recv_queue(struct netfront *nf, unsigned int q, void *buf, size_t cap);
/*
 * The next received frame of queue q written to fd in one writev (a TAP's file descriptor:
 * one write, one frame), its data straight from the RX pages after its headers: its length,
 * whether or not fd took it (a frame fd refuses is dropped, as by a NIC), or as
 * netfront_recv_queue.
 */
ssize_t netfront_recv_queue_fd(struct netfront *nf, unsigned int q, int fd);
/*
 * The offloads negotiated (NETFRONT_OFFLOAD_*; 0 without opts.vnet_hdr), for TUNSETOFFLOAD; a
 * reconnect may change them.
 */
unsigned int netfront_offloads(const struct netfront *nf);
/*
 * The queues connected: min(opts.queues or online CPUs, the back-end's multi-queue-max-queues),
 * read again at each reconnect; 0 while not connected.
 */
unsigned int netfront_queues(const struct netfront *nf);
void netfront_get_stats(const struct netfront *nf, struct netfront_stats *st);

#ifdef __cplusplus
}
#endif

#endif
