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
	uint64_t packets, bytes, errors;   /* frames taken, their bytes, frames dropped */
};

/* Initialise the shared ring page sring and post every buffer: 0 or a negative errno. */
int nf_rx_init(struct nf_rx *rx, void *sring, const uint8_t *pages, const grant_ref_t *refs);
/*
 * Take answers until a whole frame is ready or none is left, posting their buffers again
 * (unpublished): 0, or -EPROTO once the back-end broke the protocol.
 */
int nf_rx_collect(struct nf_rx *rx);
/* The ready frame into buf (cap bytes): its length, or -EAGAIN when none is ready. */
ssize_t nf_rx_take(struct nf_rx *rx, void *buf, size_t cap);

#endif
