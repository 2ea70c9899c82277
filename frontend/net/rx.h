/* SPDX-License-Identifier: MIT */
/*
 * rx.h - libpvio-netfront's receive path of one queue, apart from grants and event channels so
 * that a fuzzer can drive it with a hostile back-end's responses (tests/netfront-rx-fuzz.c).
 *
 * RX buffers are posted at ring position p with id p mod NF_RING, page likewise, and answered
 * in ring order (as Linux netback does and Linux netfront assumes), so an extra-info answer,
 * which has no id, frees the page of its position.
 */
#ifndef PVIO_FRONTEND_NET_RX_H
#define PVIO_FRONTEND_NET_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h> /* Xen's public headers expect it first */

#include <sys/uio.h>

#include <linux/virtio_net.h>
#include <xen/grant_table.h>

#include "frontend/net/netfront.h"
#include "ring/ring.h"

#define NF_RING 256u /* entries of a one-page netif ring, both ways */
/* Bytes of a frame copied out of its pages: every header its virtio-net header describes. */
#define NF_RX_HEAD 256u
/* iovecs of a frame taken: its virtio-net header, its head, the rest of its slots. */
#define NF_RX_IOV (2u + NETFRONT_SLOTS_MAX)

/* Where one slot's data lies: bytes [off, off + len) of the page at ring position page. */
struct nf_rx_seg {
	uint16_t page, off, len;
};

/* Offloads negotiated (NETFRONT_OFFLOAD_*); frames carry a virtio-net header when any is. */

struct nf_rx {
	struct ring_front ring;			  /* our end */
	const uint8_t *pages;			  /* NF_RING pages the back-end writes */
	const grant_ref_t *refs;		  /* their grants */
	uint8_t head[NF_RX_HEAD];		  /* the frame's first bytes, copied out */
	struct nf_rx_seg seg[NETFRONT_SLOTS_MAX]; /* its data slots, in order */
	size_t frame_len;			  /* its bytes so far */
	unsigned int frame_slots;		  /* its slots so far */
	unsigned int held;		 /* positions answered whose buffers are not yet posted
					    again: the frame's, until it is released */
	bool taken;			 /* a frame was taken and not yet released */
	bool frame_bad;			 /* a slot of it was an error: drop it */
	bool want_extra;		 /* the next answer is extra info */
	bool more;			 /* the frame continues */
	bool frame_ready;		 /* frame holds a whole frame for nf_rx_take */
	bool broken;			 /* the back-end broke the protocol */
	bool vnet;			 /* frames taken carry a struct virtio_net_hdr */
	unsigned int gso_ok;		 /* NETFRONT_OFFLOAD_TSO4/6 negotiated */
	uint16_t flags;			 /* the first slot's NETRXF_ flags */
	uint8_t gso_type;		 /* the frame's GSO extra (XEN_NETIF_GSO_TYPE_), or 0 */
	uint16_t gso_size;		 /* its segment size */
	uint64_t packets, bytes, errors; /* frames taken, their bytes, frames dropped */
};

/* Initialise the shared ring page sring and post every buffer: 0 or a negative errno. */
int nf_rx_init(struct nf_rx *rx, void *sring, const uint8_t *pages, const grant_ref_t *refs);
/*
 * Take answers until a whole frame is ready or none is left (nothing while a frame taken is not
 * released): 0, or -EPROTO once the back-end broke the protocol.  The buffers of a frame stay
 * unposted until it is released; those of a dropped frame and of extra info are posted again
 * (unpublished) when the frame ends.
 */
int nf_rx_collect(struct nf_rx *rx);
/*
 * The ready frame as iovecs into iov[NF_RX_IOV]: its virtio-net header in *h when rx->vnet,
 * its first NF_RX_HEAD bytes as copied out (all that the header was computed from), then the
 * rest straight from its pages, which the back-end may still write but only into payload the
 * header does not describe.  The count, or -EAGAIN when none is ready (-EPROTO as
 * nf_rx_collect).  Use the iovecs, then nf_rx_release; a take releases the last frame taken.
 * A frame whose offloads cannot be described (csum_blank on a frame with no TCP or UDP header,
 * GSO not negotiated or not matching the frame) is dropped and counted as an error.
 */
int nf_rx_take_iov(struct nf_rx *rx, struct virtio_net_hdr *h, struct iovec *iov);
/* Post the taken frame's buffers again (unpublished). */
void nf_rx_release(struct nf_rx *rx);
/*
 * The ready frame copied into buf (cap bytes), after its virtio-net header when rx->vnet, and
 * released: its length (header included), or as nf_rx_take_iov.
 */
ssize_t nf_rx_take(struct nf_rx *rx, void *buf, size_t cap);

#endif
