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

#include <xen/grant_table.h>

#include "frontend/net/netfront.h"
#include "ring/ring.h"

#define NF_RING 256u /* entries of a one-page netif ring, both ways */

/* Offloads negotiated (NETFRONT_OFFLOAD_*); frames carry a virtio-net header when any is. */

struct nf_rx {
	struct ring_front ring;		   /* our end */
	const uint8_t *pages;		   /* NF_RING pages the back-end writes */
	const grant_ref_t *refs;	   /* their grants */
	uint8_t frame[NETFRONT_FRAME_MAX]; /* the frame being assembled */
	size_t frame_len;		   /* its bytes so far */
	unsigned int frame_slots;	   /* its slots so far */
	bool frame_bad;			   /* a slot of it was an error: drop it */
	bool want_extra;		   /* the next answer is extra info */
	bool more;			   /* the frame continues */
	bool frame_ready;		   /* frame holds a whole frame for nf_rx_take */
	bool broken;			   /* the back-end broke the protocol */
	bool vnet;			   /* frames taken carry a struct virtio_net_hdr */
	unsigned int gso_ok;		   /* NETFRONT_OFFLOAD_TSO4/6 negotiated */
	uint16_t flags;			   /* the first slot's NETRXF_ flags */
	uint8_t gso_type;		   /* the frame's GSO extra (XEN_NETIF_GSO_TYPE_), or 0 */
	uint16_t gso_size;		   /* its segment size */
	uint64_t packets, bytes, errors;   /* frames taken, their bytes, frames dropped */
};

/* Initialise the shared ring page sring and post every buffer: 0 or a negative errno. */
int nf_rx_init(struct nf_rx *rx, void *sring, const uint8_t *pages, const grant_ref_t *refs);
/*
 * Take answers until a whole frame is ready or none is left, posting their buffers again
 * (unpublished): 0, or -EPROTO once the back-end broke the protocol.
 */
int nf_rx_collect(struct nf_rx *rx);
/*
 * The ready frame into buf (cap bytes), after its virtio-net header when rx->vnet: its length
 * (header included), or -EAGAIN when none is ready.  A frame whose offloads cannot be described
 * (csum_blank on a frame with no TCP or UDP header, GSO not negotiated or not matching the
 * frame) is dropped and counted as an error.
 */
ssize_t nf_rx_take(struct nf_rx *rx, void *buf, size_t cap);

#endif
