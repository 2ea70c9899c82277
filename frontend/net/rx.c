/* SPDX-License-Identifier: MIT */
/* rx.c - libpvio-netfront's receive path of one queue (see rx.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <string.h>
#include <sys/types.h>

#include <xen/io/netif.h>

#include "frontend/net/rx.h"

#define NF_PAGE 4096u

/* Post the buffer of the next ring position (its page is free once copied). */
static void repost(struct nf_rx *rx)
{
	struct netif_rx_request *r = ring_front_req_slot(&rx->ring);
	uint16_t id;

	if (!r)
		return;
	id = (uint16_t)((rx->ring.req_prod_pvt - 1) % NF_RING);
	r->id = id;
	r->gref = rx->refs[id];
}

int nf_rx_init(struct nf_rx *rx, void *sring, const uint8_t *pages, const grant_ref_t *refs)
{
	int ret = ring_front_init(&rx->ring, sring, 0, sizeof(struct netif_rx_request),
				  sizeof(struct netif_rx_response));

	rx->pages = pages;
	rx->refs = refs;
	for (unsigned int i = 0; !ret && i < NF_RING; i++)
		repost(rx);
	return ret;
}

/* Extra info (GSO we did not ask for, or one we cannot use): the frame is dropped. */
static void rx_extra(struct nf_rx *rx, const struct netif_rx_response *r)
{
	const struct netif_extra_info *x = (const void *)r;

	rx->want_extra = x->flags & XEN_NETIF_EXTRA_FLAG_MORE;
	rx->frame_bad = true;
}

/* One answer, at ring position pos: 0, or -EPROTO. */
static int rx_slot(struct nf_rx *rx, const struct netif_rx_response *r, uint32_t pos)
{
	uint16_t page = (uint16_t)(pos % NF_RING);

	if (rx->want_extra) {
		rx_extra(rx, r);
	} else if (r->id != page) {
		return -EPROTO; /* answers come in ring order */
	} else if (r->status < 0 || r->offset + r->status > (int)NF_PAGE ||
		   rx->frame_len + (size_t)r->status > NETFRONT_FRAME_MAX ||
		   ++rx->frame_slots > NETFRONT_SLOTS_MAX) {
		rx->frame_bad = true;
		rx->more = r->flags & NETRXF_more_data;
	} else {
		memcpy(rx->frame + rx->frame_len, rx->pages + (size_t)page * NF_PAGE + r->offset,
		       (size_t)r->status);
		rx->frame_len += (size_t)r->status;
		rx->more = r->flags & NETRXF_more_data;
		if (rx->frame_slots == 1)
			rx->want_extra = r->flags & NETRXF_extra_info;
	}
	repost(rx);
	return 0;
}

/* The frame ended: ready for nf_rx_take, or dropped. */
static void rx_frame_end(struct nf_rx *rx)
{
	if (rx->frame_bad || rx->frame_len < 14) {
		rx->errors++;
		rx->frame_len = 0;
	} else {
		rx->frame_ready = true;
		rx->packets++;
		rx->bytes += rx->frame_len;
	}
	rx->frame_slots = 0;
	rx->frame_bad = false;
}

int nf_rx_collect(struct nf_rx *rx)
{
	while (!rx->frame_ready && !rx->broken) {
		struct netif_rx_response r;
		uint32_t pos = rx->ring.rsp_cons;
		int n = ring_front_consume(&rx->ring, &r, 1);

		if (n == 0 && (n = ring_front_final_check(&rx->ring)) > 0)
			continue;
		if (n < 0 || (n > 0 && rx_slot(rx, &r, pos)))
			rx->broken = true;
		else if (n == 0)
			break;
		else if (!rx->more && !rx->want_extra)
			rx_frame_end(rx);
	}
	return rx->broken ? -EPROTO : 0;
}

ssize_t nf_rx_take(struct nf_rx *rx, void *buf, size_t cap)
{
	size_t len;
	int ret = rx->frame_ready ? 0 : nf_rx_collect(rx);

	if (ret)
		return ret;
	if (!rx->frame_ready)
		return -EAGAIN;
	len = rx->frame_len < cap ? rx->frame_len : cap;
	memcpy(buf, rx->frame, len);
	rx->frame_ready = false;
	rx->frame_len = 0;
	return (ssize_t)len;
}
