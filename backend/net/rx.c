/* SPDX-License-Identifier: MIT */
/*
 * rx.c - netback's RX direction, TAP -> guest (see netback.h).  Posted buffers are copied off
 * the RX ring into a FIFO of at most a ring's worth; one frame at a time is read from the TAP
 * and grant-copied into the buffers at the FIFO's head, one page each, in ring order.  Where a
 * map is cheap (q->maps), a frame after one of more than a page is read with its first page into
 * rxbuf and the rest straight into the buffers that will carry it, mapped until it is answered
 * (rx_offer_pages).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "backend/net/netback-priv.h"

/* Take the buffers the guest posted off the ring, as many as the FIFO has room for. */
static int rx_take_buffers(struct netback_queue *q)
{
	while (q->rxq_len < NETBACK_RING_ENTS) {
		unsigned int tail = (q->rxq_head + q->rxq_len) % NETBACK_RING_ENTS;
		unsigned int room = NETBACK_RING_ENTS - q->rxq_len;
		int n;

		if (room > NETBACK_RING_ENTS - tail) /* contiguous up to the array's end */
			room = NETBACK_RING_ENTS - tail;
		n = ring_back_consume(&q->rx, &q->rxq[tail], room);
		if (n <= 0)
			return n;
		q->rxq_len += (unsigned int)n;
		q->ring_work += (unsigned int)n;
	}
	return 0;
}

/* The buffer at the FIFO's head, taken. */
static struct netif_rx_request rx_pop(struct netback_queue *q)
{
	struct netif_rx_request r = q->rxq[q->rxq_head];

	q->rxq_head = (q->rxq_head + 1) % NETBACK_RING_ENTS;
	q->rxq_len--;
	return r;
}

void netback_rx_unmap(struct netback_queue *q)
{
	while (q->rx_dpages)
		hv_grant_unmap(q->hv, q->rx_dptr[--q->rx_dpages], 1);
}

/* Drop the held frame, counted in *counter, and the guest pages it was read into. */
static void rx_drop(struct netback_queue *q, uint64_t *counter)
{
	(*counter)++;
	netback_rx_unmap(q);
	q->rx_held = 0;
}

/* The held frame whole in rxbuf: what was read into guest pages copied after its first page. */
static void rx_linearize(struct netback_queue *q)
{
	uint8_t *to = q->rxbuf + NETBACK_VNET_HDR_LEN + HV_PAGE_SIZE;
	unsigned int left = q->rx_held - HV_PAGE_SIZE;

	for (unsigned int i = 0; i < q->rx_dpages; i++) {
		unsigned int len = left < HV_PAGE_SIZE ? left : HV_PAGE_SIZE;

		memcpy(to + (size_t)i * HV_PAGE_SIZE, q->rx_dptr[i], len);
		left -= len;
	}
	netback_rx_unmap(q);
}

/*
 * The held frame, just read from the TAP: when the front set a hash, hand it to the queue the
 * mapping names if that is another (dropped, counted, when its inbox is full), else keep it
 * with its hash for the extra info.
 */
static void rx_steer(struct netback_queue *q)
{
	struct netback_hash *h = q->p.hash;
	unsigned int target;

	q->rx_hashed = false;
	if (!h || !netback_hash_frame(h, q->rxbuf + NETBACK_VNET_HDR_LEN, q->rx_held, &target,
				      &q->rx_hashed, &q->rx_hash, &q->rx_hash_type))
		return;
	if (target == q->p.index)
		return;
	rx_linearize(q); /* the other queue has its own buffers */
	if (netback_hash_steer(h, target, q->rxbuf, q->rx_held, q->rx_hashed ? q->rx_hash : 0,
			       q->rx_hashed ? q->rx_hash_type : 0xff))
		q->st.rx_steer_drops++;
	else
		q->st.rx_steered++;
	q->rx_held = 0;
}

/* A frame another queue handed this one, into rxbuf: true if there was one. */
static bool rx_take_steered(struct netback_queue *q)
{
	struct netback_steered f;

	if (!q->p.hash || !netback_hash_take(q->p.hash, q->p.index, &f))
		return false;
	memcpy(q->rxbuf, f.buf, NETBACK_VNET_HDR_LEN + (size_t)f.len);
	free(f.buf);
	q->rx_held = f.len;
	q->rx_hashed = f.type != 0xff;
	q->rx_hash = f.value;
	q->rx_hash_type = f.type;
	return true;
}

/*
 * Offer the next frame's bytes past its first page straight to the guest's buffers: iov[1..)
 * the pages of the buffers that will carry its second and later slots, if it turns out to have
 * rx_guess extra-info slots (each using up a buffer after the first).  The number of iovecs
 * added, each page mapped (rx_dptr), or 0 when this read goes through rxbuf alone: maps not
 * cheap, a small frame last, too few buffers posted, or a buffer that does not map (its grant
 * copy will fail and answer it).
 */
static unsigned int rx_offer_pages(struct netback_queue *q, struct iovec *iov)
{
	unsigned int first = q->rxq_head + 1 + q->rx_guess;

	if (!q->maps || !q->rx_direct || !q->p.rx_sg ||
	    q->rxq_len < 1 + q->rx_guess + NETBACK_RX_DIRECT_PAGES)
		return 0;
	for (unsigned int i = 0; i < NETBACK_RX_DIRECT_PAGES; i++) {
		grant_ref_t ref = q->rxq[(first + i) % NETBACK_RING_ENTS].gref;
		void *page;

		if (hv_grant_map(q->hv, q->p.frontend, 1, &ref, true, &page) < 0) {
			netback_rx_unmap(q);
			q->rx_direct = false;
			return 0;
		}
		q->rx_dptr[q->rx_dpages++] = page;
		iov[1 + i] = (struct iovec){ .iov_base = page, .iov_len = HV_PAGE_SIZE };
	}
	return NETBACK_RX_DIRECT_PAGES;
}

/*
 * Read the next frame from the TAP into rxbuf, or its first page into rxbuf and the rest into
 * the guest's buffers (rx_offer_pages; rx_dpages then counts those it filled); tap_drained when
 * there is none.
 */
static void rx_read(struct netback_queue *q)
{
	struct iovec iov[1 + NETBACK_RX_DIRECT_PAGES];
	unsigned int npages = rx_offer_pages(q, iov);
	ssize_t n;

	/* Room for a byte past the largest frame: a frame that fills it was cut short. */
	iov[0] = (struct iovec){
		.iov_base = q->rxbuf,
		.iov_len = NETBACK_VNET_HDR_LEN + (npages ? HV_PAGE_SIZE : NETBACK_FRAME_MAX + 1),
	};
	n = readv(q->p.tap_fd, iov, 1 + (int)npages);
	if (n < 0) { /* EAGAIN, or an interface down: wait for readability again */
		netback_rx_unmap(q);
		q->tap_drained = true;
		return;
	}
	q->tap_drained = false;
	if (n < (ssize_t)NETBACK_VNET_HDR_LEN + 14) {
		netback_rx_unmap(q);
		q->st.rx_short++;
		return;
	}
	q->rx_held = (unsigned int)n - NETBACK_VNET_HDR_LEN;
	if (q->rx_held > NETBACK_FRAME_MAX) { /* larger than the front can take, and cut */
		rx_drop(q, &q->st.rx_too_big);
		return;
	}
	q->rx_direct = q->rx_held > HV_PAGE_SIZE;
	/* Keep only the pages the frame reached. */
	while (q->rx_dpages && q->rx_dpages * HV_PAGE_SIZE >= q->rx_held)
		hv_grant_unmap(q->hv, q->rx_dptr[--q->rx_dpages], 1);
	if (q->p.mcast && !netback_mcast_pass(q->p.mcast, q->rxbuf + NETBACK_VNET_HDR_LEN)) {
		rx_drop(q, &q->st.rx_mcast_drops);
		return;
	}
	rx_steer(q);
}

/* The GSO type the held frame asks the guest for (XEN_NETIF_GSO_TYPE_*), or -EINVAL. */
static int rx_gso_type(const struct netback_queue *q, const struct virtio_net_hdr *h)
{
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return XEN_NETIF_GSO_TYPE_NONE;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return q->p.rx_gso_tcpv4 && h->gso_size ? XEN_NETIF_GSO_TYPE_TCPV4 : -EINVAL;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return q->p.rx_gso_tcpv6 && h->gso_size ? XEN_NETIF_GSO_TYPE_TCPV6 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static void rx_respond(struct netback_queue *q, uint16_t id, uint16_t flags, int16_t status)
{
	struct netif_rx_response *rsp = ring_back_rsp_slot(&q->rx);

	if (!rsp)
		return;
	rsp->id = id;
	rsp->offset = 0;
	rsp->flags = flags;
	rsp->status = status;
}

/*
 * The extra info after the first response slot, each using up a buffer, in type order as Linux
 * netback sends them: the GSO one when gso, then the hash when the held frame has one.
 */
static void rx_respond_extras(struct netback_queue *q, int gso, uint16_t size)
{
	struct netif_extra_info *x;

	if (gso && (x = ring_back_rsp_slot(&q->rx))) {
		x->type = XEN_NETIF_EXTRA_TYPE_GSO;
		x->flags = q->rx_hashed ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
		x->u.gso.size = size;
		x->u.gso.type = (uint8_t)gso;
	}
	if (q->rx_hashed && (x = ring_back_rsp_slot(&q->rx))) {
		x->type = XEN_NETIF_EXTRA_TYPE_HASH;
		x->flags = 0;
		x->u.hash.type = q->rx_hash_type;
		x->u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		for (unsigned int i = 0; i < 4; i++) /* little-endian, as netif.h draws it */
			x->u.hash.value[i] = (uint8_t)(q->rx_hash >> (8 * i));
	}
}
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(struct netif_rx_response),
	       "an extra-info slot is an RX response slot");

/* Copy the held frame into the buffers bufs[0..n), a page each: 0 or -EIO. */
static int rx_copy(struct netback_queue *q, const struct netif_rx_request *bufs, unsigned int n)
{
	struct hv_copy_seg segs[NETBACK_TX_SLOTS_MAX + 1];
	unsigned int left = q->rx_held;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int len = left < HV_PAGE_SIZE ? left : HV_PAGE_SIZE;

		segs[i] = (struct hv_copy_seg){
			.source.virt = q->rxbuf + NETBACK_VNET_HDR_LEN + (size_t)i * HV_PAGE_SIZE,
			.dest.foreign = { .ref = bufs[i].gref,
					  .offset = 0,
					  .domid = q->p.frontend },
			.len = (uint16_t)len,
			.flags = GNTCOPY_dest_gref,
		};
		left -= len;
	}
	if (hv_grant_copy(q->hv, n, segs) < 0)
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		if (segs[i].status != GNTST_okay)
			return -EIO;
	return 0;
}

/* The RX flags for the first slot of a frame with this virtio header. */
static uint16_t rx_csum_flags(const struct virtio_net_hdr *h)
{
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NETRXF_csum_blank | NETRXF_data_validated;
	return h->flags & VIRTIO_NET_HDR_F_DATA_VALID ? NETRXF_data_validated : 0;
}

/*
 * A checksum the TAP left to finish (NEEDS_CSUM) on a frame whose protocol the front takes no
 * blank checksum for (rx_csum_v4_off, rx_csum_v6_off; any other): finished here over the whole
 * frame, moved into rxbuf first, as the kernel's skb_checksum_help would for Linux netback's
 * vif.  The header in rxbuf then says data valid, so that a frame waiting for buffers is not
 * summed twice.  0, or -EINVAL when its csum_start and csum_offset lie outside the frame.
 */
static int rx_csum_finish(struct netback_queue *q, struct virtio_net_hdr *h)
{
	uint8_t *f = q->rxbuf + NETBACK_VNET_HDR_LEN;
	unsigned int et, at, len = q->rx_held;
	uint64_t sum = 0;
	uint16_t c;
	bool off;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	et = (unsigned int)f[12] << 8 | f[13];
	if (et == 0x8100 && len >= 18)
		et = (unsigned int)f[16] << 8 | f[17];
	off = et == 0x86dd ? q->p.rx_csum_v6_off : et != 0x0800 || q->p.rx_csum_v4_off;
	if (!off)
		return 0;
	at = (unsigned int)h->csum_start + h->csum_offset;
	if (h->csum_start >= len || at + 2 > len)
		return -EINVAL;
	if (q->rx_dpages)
		rx_linearize(q);
	for (unsigned int i = h->csum_start; i < len; i += 2)
		sum += (uint32_t)f[i] << 8 | (i + 1 < len ? f[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	if (!c)
		c = 0xffff; /* as Linux: 0 would mean "no checksum" to UDP */
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
	h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	memcpy(q->rxbuf, h, sizeof(*h));
	return 0;
}

/* Extra-info slots the held frame needs: the GSO one when gso, and its hash's. */
static unsigned int rx_nextra(const struct netback_queue *q, int gso)
{
	return (gso ? 1u : 0u) + (q->rx_hashed ? 1u : 0u);
}

/*
 * The first page of the held frame, read into rxbuf while the rest went straight to the guest's
 * buffers, into the buffer of its first slot: 0 or -EIO.
 */
static int rx_place_head(struct netback_queue *q, const struct netif_rx_request *buf)
{
	void *page;

	if (hv_grant_map(q->hv, q->p.frontend, 1, &buf->gref, true, &page) < 0)
		return -EIO;
	memcpy(page, q->rxbuf + NETBACK_VNET_HDR_LEN, HV_PAGE_SIZE);
	hv_grant_unmap(q->hv, page, 1);
	return 0;
}

/*
 * The held frame into the guest's buffers, answered in ring order: the first data slot, the
 * extra info (each using up a buffer), then the other data slots.  Those are the buffers the
 * frame was read into when it holds guest pages (rx_dpages): rx_try_deliver has checked that it
 * has the extra info those were chosen around.
 */
static void rx_deliver(struct netback_queue *q, const struct virtio_net_hdr *h, unsigned int ndata,
		       int gso)
{
	struct netif_rx_request data[NETBACK_TX_SLOTS_MAX + 1];
	unsigned int left = q->rx_held, nextra = rx_nextra(q, gso);
	bool bad;

	data[0] = rx_pop(q);
	for (unsigned int i = 0; i < nextra; i++) /* their ids are not used: the extras answer */
		rx_pop(q);
	for (unsigned int i = 1; i < ndata; i++)
		data[i] = rx_pop(q);
	if (q->rx_dpages) {
		bad = rx_place_head(q, &data[0]) < 0;
		q->st.rx_direct += !bad;
	} else {
		bad = rx_copy(q, data, ndata) < 0;
	}
	netback_rx_unmap(q); /* before the answers: the front may end the grants then */
	for (unsigned int i = 0; i < ndata; i++) {
		unsigned int len = left < HV_PAGE_SIZE ? left : HV_PAGE_SIZE;
		uint16_t flags = (i + 1 < ndata ? NETRXF_more_data : 0) |
				 (i == 0 ? rx_csum_flags(h) | (nextra ? NETRXF_extra_info : 0) : 0);

		rx_respond(q, data[i].id, flags, bad ? NETIF_RSP_ERROR : (int16_t)len);
		if (i == 0)
			rx_respond_extras(q, gso, h->gso_size);
		left -= len;
	}
	if (bad) {
		q->st.rx_bad_grant++;
	} else {
		q->st.rx_packets++;
		q->st.rx_bytes += q->rx_held;
	}
	q->rx_held = 0;
}

/*
 * Deliver the held frame if the guest has posted enough buffers: 1 delivered or dropped, 0 when
 * it must wait for more buffers.
 */
static int rx_try_deliver(struct netback_queue *q)
{
	struct virtio_net_hdr h;
	unsigned int ndata = (q->rx_held + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE, nextra;
	int gso;

	memcpy(&h, q->rxbuf, sizeof(h));
	gso = rx_gso_type(q, &h);
	if (gso < 0 || (ndata > 1 && !q->p.rx_sg)) {
		rx_drop(q, &q->st.rx_too_big);
		return 1;
	}
	nextra = rx_nextra(q, gso);
	if (q->rx_dpages && nextra != q->rx_guess) {
		/* Read around the wrong number of extra-info slots: through rxbuf after all. */
		q->st.rx_direct_missed++;
		rx_linearize(q);
	}
	if (ndata > 1)
		q->rx_guess = nextra;
	if (gso == XEN_NETIF_GSO_TYPE_NONE && rx_csum_finish(q, &h) < 0) {
		rx_drop(q, &q->st.rx_too_big);
		return 1;
	}
	if (q->rxq_len < ndata + nextra) { /* never with guest pages held: they were posted */
		q->rx_starved = true;
		return 0;
	}
	q->rx_starved = false;
	rx_deliver(q, &h, ndata, gso);
	return 1;
}

int netback_rx_process(struct netback_queue *q)
{
	unsigned int frames = 0;
	bool more = false;
	int ret;

	for (;;) {
		ret = rx_take_buffers(q);
		if (ret < 0)
			return ret;
		if (!q->rx_held) {
			if (!q->rxq_len)
				break;
			if (frames >= NETBACK_BUDGET) {
				more = true;
				break;
			}
			if (!rx_take_steered(q))
				rx_read(q);
			if (!q->rx_held && q->tap_drained)
				break;
			if (!q->rx_held) { /* a runt, or handed on: counts towards the budget */
				frames++;
				continue;
			}
		}
		if (!rx_try_deliver(q))
			break;
		frames++;
	}
	ret = ring_back_push(&q->rx);
	if (ret > 0)
		ret = hv_evtchn_notify(q->hv, q->p.rx_port);
	if (ret < 0)
		return ret;
	if (more)
		return 1;
	/* Waiting for the guest's buffers: have its next post fire the port. */
	if (q->rx_held || !q->rxq_len)
		return ring_back_final_check(&q->rx);
	return 0;
}
