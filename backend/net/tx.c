/* SPDX-License-Identifier: MIT */
/*
 * tx.c - netback's TX direction, guest -> TAP (see netback.h).  Slots are taken one at a time
 * into struct tx_frame, which holds at most NETBACK_TX_SLOTS_MAX data slots and one of each
 * extra type whatever the guest writes; a frame that wants more is answered at once and the
 * rest of it answered slot by slot as it arrives, so a frame that never ends costs nothing.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "backend/net/netback-priv.h"

static void tx_respond(struct netback_queue *q, uint16_t id, int16_t status)
{
	struct netif_tx_response *rsp = ring_back_rsp_slot(&q->tx);

	if (!rsp) /* cannot happen: every slot consumed is answered once */
		return;
	rsp->id = id;
	rsp->status = status;
}

/* Answer every slot stored so far: status for data slots, NETIF_RSP_NULL for extra info. */
static void tx_answer_all(struct netback_queue *q, int16_t status)
{
	const struct tx_frame *f = &q->txf;

	for (unsigned int i = 0; i < f->nordered; i++) {
		if (f->order[i] == EXTRA_SLOT)
			tx_respond(q, 0, NETIF_RSP_NULL);
		else
			tx_respond(q, f->slot[f->order[i]].id, status);
	}
}

static void tx_reset(struct tx_frame *f)
{
	f->nslots = f->nseen = f->nextra = f->nordered = 0;
	f->want_extra = f->more = f->discarding = false;
	f->extra_seen = 0;
	f->failed = NULL;
}

/* The frame fails for this reason (the first one given counts). */
static void tx_fail(struct tx_frame *f, uint64_t *reason)
{
	if (!f->failed)
		f->failed = reason;
}

static void tx_extra_check(struct netback_queue *q, const struct netif_extra_info *x)
{
	struct tx_frame *f = &q->txf;

	if (!x->type || x->type >= XEN_NETIF_EXTRA_TYPE_MAX || (f->extra_seen & (1u << x->type))) {
		netback_warn(q, "bad extra info type %u", x->type);
		tx_fail(f, &q->st.tx_bad_extra);
		return;
	}
	f->extra_seen |= (uint8_t)(1u << x->type);
	if (x->type == XEN_NETIF_EXTRA_TYPE_GSO)
		f->gso = *x;
	else if (x->type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD)
		f->mc_add = *x;
	else if (x->type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
		f->mc_del = *x;
}

/* Keep the slot for the frame: false when the frame holds too many already. */
static bool tx_store(struct tx_frame *f, const struct netif_tx_request *req, bool extra)
{
	if (extra) {
		if (f->nextra == XEN_NETIF_EXTRA_TYPE_MAX)
			return false;
		f->nextra++;
		f->order[f->nordered++] = EXTRA_SLOT;
		return true;
	}
	if (f->nslots == NETBACK_TX_SLOTS_MAX)
		return false;
	f->order[f->nordered++] = (uint16_t)f->nslots;
	f->slot[f->nslots++] = *req;
	return true;
}

/*
 * The virtio header for the offloads of a frame of len bytes whose first avail are at frame
 * (all its headers, when avail is TX_HEAD or more): 0, or -EINVAL when they cannot be honoured.
 */
static int tx_vnet_hdr(struct netback_queue *q, const uint8_t *frame, size_t avail, size_t len,
		       struct virtio_net_hdr *h)
{
	const struct tx_frame *f = &q->txf;
	bool gso = f->extra_seen & (1u << XEN_NETIF_EXTRA_TYPE_GSO), v6;
	uint8_t proto;
	size_t off;

	memset(h, 0, sizeof(*h));
	if (!gso && !(f->slot[0].flags & NETTXF_csum_blank))
		return 0;
	if (netback_l4_find(frame, avail, &off, &proto, &v6))
		return -EINVAL;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)off;
	h->csum_offset = proto == 6 ? 16 : 6;
	if (!gso)
		return 0;
	if (proto != 6 || !f->gso.u.gso.size ||
	    f->gso.u.gso.type != (v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4))
		return -EINVAL;
	h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = f->gso.u.gso.size;
	h->hdr_len = (uint16_t)(off + (frame[off + 12] >> 4) * 4u);
	/* A segment larger than the whole payload: no sender means that; the host would guess. */
	if (h->gso_size > len - h->hdr_len)
		return -EINVAL;
	return 0;
}

/* Check the slots' sizes and offsets and lay out the copy: the number of segments, or -EINVAL. */
static int tx_layout(struct netback_queue *q, struct hv_copy_seg *segs, uint16_t *total)
{
	const struct tx_frame *f = &q->txf;
	unsigned int sum = 0, first_len, n = 0, pos = 0;

	for (unsigned int i = 1; i < f->nslots; i++) {
		if (f->slot[i].offset + f->slot[i].size > HV_PAGE_SIZE)
			return -EINVAL;
		sum += f->slot[i].size;
	}
	/* The first slot's size is the frame's: fragments beyond it make a frame over 64 KiB. */
	if (sum >= f->slot[0].size)
		return -EINVAL;
	first_len = f->slot[0].size - sum;
	if (f->slot[0].offset + first_len > HV_PAGE_SIZE)
		return -EINVAL;
	for (unsigned int i = 0; i < f->nslots; i++) {
		unsigned int len = i ? f->slot[i].size : first_len;

		if (!len) /* an empty fragment carries nothing: no copy (XSA-448) */
			continue;
		segs[n] = (struct hv_copy_seg){
			.source.foreign = { .ref = f->slot[i].gref,
					    .offset = f->slot[i].offset,
					    .domid = q->p.frontend },
			.dest.virt = q->txbuf + NETBACK_VNET_HDR_LEN + pos,
			.len = (uint16_t)len,
			.flags = GNTCOPY_source_gref,
		};
		pos += len;
		n++;
	}
	*total = f->slot[0].size;
	return (int)n;
}

/*
 * Bytes at the frame's start that are always copied out of the guest, even when the rest is
 * written to the TAP from its pages: every header tx_vnet_hdr and the spoofing check read (at
 * most 14 + 4 + 60 + 60), so that what is checked is what is sent, whatever the guest writes
 * into its pages meanwhile.  Linux's netback copies its first XEN_NETBACK_TX_COPY_LEN likewise.
 */
#define TX_HEAD 256u

/* The frame as the TAP write takes it: the virtio header and a copy, then guest pages. */
struct tx_view {
	struct iovec iov[NETBACK_TX_SLOTS_MAX + 1]; /* [0]: txbuf */
	unsigned int niov;
	void *mapped[NETBACK_TX_SLOTS_MAX]; /* the slots' pages mapped for the write */
	unsigned int nmapped;
	unsigned int avail; /* the frame's bytes in txbuf: all of it, or its first TX_HEAD */
};

/* Unmap the frame's pages: before its slots are answered, so the front may end the grants. */
static void tx_unmap(struct netback_queue *q, struct tx_view *v)
{
	while (v->nmapped)
		hv_grant_unmap(q->hv, v->mapped[--v->nmapped], 1);
}

/*
 * The frame from its pages, each mapped: its first TX_HEAD bytes copied into txbuf, the rest as
 * iovecs into the pages.  0, or -EIO (nothing left mapped) for a reference that does not map.
 */
static int tx_map(struct netback_queue *q, struct hv_copy_seg *segs, unsigned int n, uint16_t total,
		  struct tx_view *v)
{
	unsigned int head = total < TX_HEAD ? total : TX_HEAD, pos = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int len = segs[i].len, take = pos < head ? head - pos : 0;
		void *page;
		uint8_t *p;

		if (hv_grant_map(q->hv, q->p.frontend, 1, &segs[i].source.foreign.ref, false,
				 &page) < 0) {
			tx_unmap(q, v);
			return -EIO;
		}
		v->mapped[v->nmapped++] = page;
		p = (uint8_t *)page + segs[i].source.foreign.offset;
		if (take > len)
			take = len;
		memcpy(q->txbuf + NETBACK_VNET_HDR_LEN + pos, p, take);
		if (len > take)
			v->iov[v->niov++] =
			    (struct iovec){ .iov_base = p + take, .iov_len = len - take };
		pos += len;
	}
	v->avail = head;
	return 0;
}

/* Grant-copy the whole frame into txbuf: 0 or -EIO. */
static int tx_grant_copy(struct netback_queue *q, struct hv_copy_seg *segs, unsigned int n,
			 uint16_t total, struct tx_view *v)
{
	if (hv_grant_copy(q->hv, n, segs) < 0)
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		if (segs[i].status != GNTST_okay)
			return -EIO;
	v->avail = total;
	return 0;
}

/*
 * Copy the frame out of the guest, or its headers with its pages mapped for the write: 0, or
 * the counter of the reason it failed (nothing then left mapped).
 */
static uint64_t *tx_copy(struct netback_queue *q, uint16_t *total, struct tx_view *v)
{
	struct hv_copy_seg segs[NETBACK_TX_SLOTS_MAX];
	int n = tx_layout(q, segs, total);

	if (n < 0) {
		netback_warn(q, "bad slot sizes or offsets (first slot size %u, %u slots)",
			     q->txf.slot[0].size, q->txf.nslots);
		return &q->st.tx_bad_slot;
	}
	if (*total < 14)
		return &q->st.tx_too_short;
	v->niov = 1;
	v->nmapped = 0;
	if ((q->maps ? tx_map : tx_grant_copy)(q, segs, (unsigned int)n, *total, v) < 0)
		return &q->st.tx_bad_grant;
	v->iov[0] =
	    (struct iovec){ .iov_base = q->txbuf, .iov_len = NETBACK_VNET_HDR_LEN + v->avail };
	return NULL;
}

#define MCAST_EXTRAS                                                                               \
	((1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD) | (1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL))

/*
 * A request carrying MCAST_ADD or _DEL edits the vif's multicast list and is not sent (as
 * Linux: its slots are answered, the add first, ERROR when the list is full).
 */
static int16_t tx_mcast(struct netback_queue *q)
{
	const struct tx_frame *f = &q->txf;
	int ret = 0;

	q->st.tx_mcast_ctl++;
	if (!q->p.mcast)
		return NETIF_RSP_ERROR;
	if (f->extra_seen & (1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD))
		ret = netback_mcast_add(q->p.mcast, f->mc_add.u.mcast.addr);
	else
		netback_mcast_del(q->p.mcast, f->mc_del.u.mcast.addr);
	return ret ? NETIF_RSP_ERROR : NETIF_RSP_OKAY;
}

/* Check and write the frame as v holds it: the status its slots are answered with. */
static int16_t tx_send(struct netback_queue *q, struct tx_view *v, uint16_t total)
{
	uint8_t *frame = q->txbuf + NETBACK_VNET_HDR_LEN;
	struct virtio_net_hdr h;

	if (memcmp(frame + 6, q->p.mac, 6)) {
		q->st.tx_spoofed++;
		return NETIF_RSP_DROPPED;
	}
	if (tx_vnet_hdr(q, frame, v->avail, total, &h)) {
		q->st.tx_bad_offload++;
		return NETIF_RSP_ERROR;
	}
	memcpy(q->txbuf, &h, NETBACK_VNET_HDR_LEN);
	/* The frame has left the ring either way: a TAP that refuses it is our loss (counted). */
	if (writev(q->p.tap_fd, v->iov, (int)v->niov) != (ssize_t)(NETBACK_VNET_HDR_LEN + total)) {
		q->st.tx_tap_errors++;
		return NETIF_RSP_OKAY;
	}
	q->st.tx_packets++;
	q->st.tx_bytes += total;
	return NETIF_RSP_OKAY;
}

/* Copy (or map), check and write the gathered frame: the status its slots are answered with. */
static int16_t tx_deliver(struct netback_queue *q)
{
	uint64_t *failed = q->txf.failed;
	struct tx_view v;
	uint16_t total = 0;
	int16_t status;

	if (!failed && (q->txf.extra_seen & MCAST_EXTRAS))
		return tx_mcast(q);
	if (!failed)
		failed = tx_copy(q, &total, &v);
	if (failed) {
		(*failed)++;
		return NETIF_RSP_ERROR;
	}
	status = tx_send(q, &v, total);
	tx_unmap(q, &v);
	return status;
}

/* Too many slots: answer the frame so far with an error and the rest of it as it comes. */
static void tx_overflow(struct netback_queue *q, const struct netif_tx_request *req, bool extra)
{
	struct tx_frame *f = &q->txf;

	(*(extra ? &q->st.tx_bad_extra : &q->st.tx_too_many_slots))++;
	netback_warn(q, "frame of more than %u %s slots",
		     extra ? XEN_NETIF_EXTRA_TYPE_MAX : NETBACK_TX_SLOTS_MAX,
		     extra ? "extra-info" : "data");
	tx_answer_all(q, NETIF_RSP_ERROR);
	tx_respond(q, extra ? 0 : req->id, extra ? NETIF_RSP_NULL : NETIF_RSP_ERROR);
	f->discarding = true;
}

/* One slot off the ring, in its private copy: 0, or -EPROTO for a frame of too many slots. */
static int tx_slot(struct netback_queue *q, const struct netif_tx_request *req)
{
	struct tx_frame *f = &q->txf;
	bool extra = f->want_extra, first = !extra && !f->nslots && !f->discarding;

	/* Counted in tx_too_many_slots already, at its slot NETBACK_TX_SLOTS_MAX + 1. */
	if (!extra && ++f->nseen >= NETBACK_TX_SLOTS_FATAL) {
		netback_warn(q, "a frame of %u data slots or more: the queue fails",
			     NETBACK_TX_SLOTS_FATAL);
		return -EPROTO;
	}

	if (extra) {
		struct netif_extra_info x;

		memcpy(&x, req, sizeof(x));
		f->want_extra = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
		if (!f->discarding)
			tx_extra_check(q, &x);
	} else {
		f->more = req->flags & NETTXF_more_data;
		if (first)
			f->want_extra = req->flags & NETTXF_extra_info;
		else if (req->flags & NETTXF_extra_info)
			tx_fail(f, &q->st.tx_bad_extra);
	}
	if (f->discarding)
		tx_respond(q, extra ? 0 : req->id, extra ? NETIF_RSP_NULL : NETIF_RSP_ERROR);
	else if (!tx_store(f, req, extra))
		tx_overflow(q, req, extra);
	if (f->want_extra || f->more)
		return 0;
	if (!f->discarding)
		tx_answer_all(q, tx_deliver(q));
	tx_reset(f);
	return 0;
}
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(struct netif_tx_request),
	       "an extra-info slot is a TX request slot");

/*
 * The next slot: the one held for credit, else one off the ring.  1 with *req, 0 when the ring
 * is empty, 2 when the slot starts a frame the rate holds back (kept in q->tx_held), or a
 * negative errno.
 */
static int tx_next(struct netback_queue *q, struct netif_tx_request *req)
{
	const struct tx_frame *f = &q->txf;
	int ret = 1;

	if (q->tx_holding)
		*req = q->tx_held;
	else if ((ret = ring_back_consume(&q->tx, req, 1)) <= 0)
		return ret;
	else
		q->ring_work++;
	/* The first slot's size is the frame's: the credit is taken for it before any copy. */
	if (!f->nslots && !f->want_extra && !f->discarding &&
	    !netback_credit_take(&q->credit, req->size, netback_now_ns())) {
		q->tx_held = *req;
		q->tx_holding = true;
		return 2;
	}
	q->tx_holding = false;
	return 1;
}

int netback_tx_process(struct netback_queue *q)
{
	unsigned int done = 0;
	int ret = 0;

	do {
		struct netif_tx_request req;

		while (done < NETBACK_BUDGET && (ret = tx_next(q, &req)) == 1) {
			ret = tx_slot(q, &req);
			if (ret < 0)
				return ret;
			done++;
		}
		if (ret < 0)
			return ret;
		ret = ring_back_push(&q->tx);
		if (ret < 0)
			return ret;
		if (ret > 0 && (ret = hv_evtchn_notify(q->hv, q->p.tx_port)) < 0)
			return ret;
		if (done >= NETBACK_BUDGET)
			return 1;
		/* Held for credit: the deadline wakes the queue (netback_queue_deadline). */
		if (q->tx_holding)
			return 0;
	} while ((ret = ring_back_final_check(&q->tx)) > 0);
	return ret;
}
