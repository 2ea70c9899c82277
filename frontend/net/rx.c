/* SPDX-License-Identifier: MIT */
/* rx.c - libpvio-netfront's receive path of one queue (see rx.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <string.h>
#include <sys/types.h>

#include <xen/io/netif.h>

#include <linux/virtio_net.h>

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

/* Extra info: a GSO we negotiated is kept for the header; any other drops the frame. */
static void rx_extra(struct nf_rx *rx, const struct netif_rx_response *r)
{
	const struct netif_extra_info *x = (const void *)r;
	unsigned int want = x->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4	? NETFRONT_OFFLOAD_TSO4
			    : x->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6 ? NETFRONT_OFFLOAD_TSO6
									: 0;

	rx->want_extra = x->flags & XEN_NETIF_EXTRA_FLAG_MORE;
	if (x->type == XEN_NETIF_EXTRA_TYPE_GSO && want && (rx->gso_ok & want) && x->u.gso.size &&
	    !rx->gso_type) {
		rx->gso_type = x->u.gso.type;
		rx->gso_size = x->u.gso.size;
	} else {
		rx->frame_bad = true;
	}
}

/* One answer, at ring position pos: 0, or -EPROTO. */
static int rx_slot(struct nf_rx *rx, const struct netif_rx_response *r, uint32_t pos)
{
	uint16_t page = (uint16_t)(pos % NF_RING);

	if (rx->want_extra) {
		rx_extra(rx, r);
	} else if (r->id != page) {
		return -EPROTO; /* answers come in ring order */
	} else if (++rx->frame_slots > NETFRONT_SLOTS_MAX) {
		/* Error slots too: a frame that never ends would hold every buffer. */
		return -EPROTO;
	} else if (r->status < 0 || r->offset + r->status > (int)NF_PAGE ||
		   rx->frame_len + (size_t)r->status > NETFRONT_FRAME_MAX) {
		rx->frame_bad = true;
		rx->more = r->flags & NETRXF_more_data;
	} else {
		size_t n = rx->frame_len < NF_RX_HEAD ? NF_RX_HEAD - rx->frame_len : 0;

		if (n > (size_t)r->status)
			n = (size_t)r->status;
		/* The head is copied out: what the virtio-net header is computed from must not
		 * change under it.  The rest is used in place when the frame is taken. */
		if (n)
			memcpy(rx->head + rx->frame_len,
			       rx->pages + (size_t)page * NF_PAGE + r->offset, n);
		rx->seg[rx->frame_slots - 1] =
		    (struct nf_rx_seg){ page, r->offset, (uint16_t)r->status };
		rx->frame_len += (size_t)r->status;
		rx->more = r->flags & NETRXF_more_data;
		if (rx->frame_slots == 1) {
			rx->flags = r->flags;
			rx->want_extra = r->flags & NETRXF_extra_info;
		}
	}
	rx->held++; /* posted again once the frame is released or dropped */
	return 0;
}

void nf_rx_release(struct nf_rx *rx)
{
	for (; rx->held; rx->held--)
		repost(rx);
	rx->taken = false;
}

/* The frame ended: ready for nf_rx_take, or dropped. */
static void rx_frame_end(struct nf_rx *rx)
{
	if (rx->frame_bad || rx->frame_len < 14) {
		rx->errors++;
		rx->frame_len = 0;
		rx->gso_type = 0;
		nf_rx_release(rx);
	} else {
		rx->frame_ready = true;
		rx->packets++;
		rx->bytes += rx->frame_len;
	}
	rx->frame_slots = 0;
	rx->frame_bad = false;
}

/* Where frame f's TCP or UDP header starts (no IPv6 extension headers): 0, or -EINVAL. */
static int l4_offset(const uint8_t *f, size_t len, size_t *off, uint8_t *proto, bool *v6)
{
	size_t l3 = 14;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x8100 && len >= 18) { /* one VLAN tag */
		type = (uint16_t)(f[16] << 8 | f[17]);
		l3 = 18;
	}
	*v6 = type == 0x86dd;
	if (type == 0x0800 && len >= l3 + 20 && (f[l3] >> 4) == 4 && (f[l3] & 15) >= 5 &&
	    !((f[l3 + 6] & 0x1f) | f[l3 + 7])) { /* not a later fragment */
		*proto = f[l3 + 9];
		*off = l3 + (f[l3] & 15u) * 4u;
	} else if (*v6 && len >= l3 + 40 && (f[l3] >> 4) == 6) {
		*proto = f[l3 + 6];
		*off = l3 + 40;
	} else {
		return -EINVAL;
	}
	if (*proto == 17 && len >= *off + 8)
		return 0;
	if (*proto == 6 && len >= *off + 20 && (f[*off + 12] >> 4) >= 5 &&
	    len >= *off + (f[*off + 12] >> 4) * 4u)
		return 0;
	return -EINVAL;
}

/* The virtio-net header of the ready frame: 0, or -EINVAL when it cannot be described. */
static int vnet_hdr(const struct nf_rx *rx, struct virtio_net_hdr *h)
{
	bool gso = rx->gso_type, v6;
	uint8_t proto;
	size_t off;

	memset(h, 0, sizeof(*h));
	if (!gso && !(rx->flags & NETRXF_csum_blank)) {
		if (rx->flags & NETRXF_data_validated)
			h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	/* csum_blank: the checksum field holds the pseudo-header's sum; the stack finishes it. */
	if (l4_offset(rx->head, rx->frame_len < NF_RX_HEAD ? rx->frame_len : NF_RX_HEAD, &off,
		      &proto, &v6))
		return -EINVAL;
	*h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .csum_start = (uint16_t)off,
				      .csum_offset = proto == 6 ? 16 : 6 };
	if (gso && (proto != 6 || v6 != (rx->gso_type == XEN_NETIF_GSO_TYPE_TCPV6)))
		return -EINVAL; /* the GSO type does not match the frame */
	if (gso) {
		h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = rx->gso_size;
		h->hdr_len = (uint16_t)(off + (rx->head[off + 12] >> 4) * 4u);
	}
	return 0;
}

int nf_rx_collect(struct nf_rx *rx)
{
	while (!rx->frame_ready && !rx->taken && !rx->broken) {
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

int nf_rx_take_iov(struct nf_rx *rx, struct virtio_net_hdr *h, struct iovec *iov)
{
	size_t head, at = 0;
	int ret, n = 0;

	if (rx->taken)
		nf_rx_release(rx);
	for (;;) {
		ret = rx->frame_ready ? 0 : nf_rx_collect(rx);
		if (ret)
			return ret;
		if (!rx->frame_ready)
			return -EAGAIN;
		rx->frame_ready = false;
		memset(h, 0, sizeof(*h));
		if (!rx->vnet || !vnet_hdr(rx, h))
			break;
		rx->errors++; /* offloads the back-end claimed but the frame does not bear */
		rx->packets--;
		rx->bytes -= rx->frame_len;
		rx->frame_len = 0;
		rx->gso_type = 0;
		nf_rx_release(rx);
	}
	rx->taken = true;
	if (rx->vnet)
		iov[n++] = (struct iovec){ h, sizeof(*h) };
	head = rx->frame_len < NF_RX_HEAD ? rx->frame_len : NF_RX_HEAD;
	iov[n++] = (struct iovec){ rx->head, head };
	/* The data slots after the head, in place: frame_len is the sum of the frame's slots. */
	for (unsigned int i = 0; i < NETFRONT_SLOTS_MAX && at < rx->frame_len;
	     at += rx->seg[i++].len) {
		const struct nf_rx_seg *g = &rx->seg[i];
		size_t off = at < head ? head - at : 0;

		if (off >= g->len)
			continue;
		iov[n++] =
		    (struct iovec){ (void *)(rx->pages + (size_t)g->page * NF_PAGE + g->off + off),
				    g->len - off };
	}
	rx->frame_len = 0;
	rx->gso_type = 0;
	return n;
}

ssize_t nf_rx_take(struct nf_rx *rx, void *buf, size_t cap)
{
	struct virtio_net_hdr h;
	struct iovec iov[NF_RX_IOV];
	int n = nf_rx_take_iov(rx, &h, iov);
	size_t len = 0, copied = 0;

	if (n < 0)
		return n;
	/* The frame's whole length, as recv with MSG_TRUNC: more than cap says it was cut. */
	for (int i = 0; i < n; i++) {
		size_t k = cap - copied; /* copied <= cap throughout */

		if (k > iov[i].iov_len)
			k = iov[i].iov_len;
		memcpy((uint8_t *)buf + copied, iov[i].iov_base, k);
		copied += k;
		len += iov[i].iov_len;
	}
	nf_rx_release(rx);
	return (ssize_t)len;
}
