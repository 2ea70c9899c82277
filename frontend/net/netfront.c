/* SPDX-License-Identifier: MIT */
/*
 * netfront.c - libpvio-netfront (see pvio/netfront.h): the xenbus handshake of Linux's
 * xen-netfront (talk_to_netback, xennet_connect) and one queue's TX and RX rings.
 *
 * Pages: one per ring slot each way, granted once per connection.  A TX page is handed out
 * again only after the back-end answered the slot that carried it; an RX page is posted again
 * only after its data was copied out.  RX buffers are posted at ring position p with id p mod
 * the ring size, page likewise, and answered in ring order (as Linux netback does and Linux
 * netfront assumes), so an extra-info answer, which has no id, frees the page of its position.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/netif.h>

#include "frontend/net/netfront.h"
#include "hv/hv.h"
#include "ring/ring.h"
#include "xenbus/xenbus.h"

#define NF_RING 256u /* entries of a one-page netif ring, both ways */

struct netfront {
	struct hv *hv;	      /* the guest's seam (owned) */
	struct xs_handle *xs; /* xenstore (owned when own_xs) */
	bool own_xs;	      /* xs was opened here */
	struct xenbus_dev xd; /* device/vif/<devid> and the back-end's directory */
	evtchn_port_t port;   /* our port, one for both rings */
	void *txs, *rxs;      /* the ring pages */
	grant_ref_t tx_ref, rx_ref;
	struct ring_front tx, rx; /* our ends */
	uint8_t *txp, *rxp;	  /* NF_RING pages each way */
	grant_ref_t txr[NF_RING]; /* their grants */
	grant_ref_t rxr[NF_RING];
	uint16_t tx_free[NF_RING];	   /* TX pages not in flight */
	unsigned int tx_nfree;		   /* entries of tx_free */
	bool tx_busy[NF_RING];		   /* TX page id is in flight */
	uint8_t mac[6];			   /* from the toolstack */
	uint8_t frame[NETFRONT_FRAME_MAX]; /* the RX frame being assembled */
	size_t frame_len;		   /* its bytes so far */
	unsigned int frame_slots;	   /* its slots so far */
	bool frame_bad;			   /* a slot of it was an error: drop it */
	bool want_extra;		   /* the next RX answer is extra info */
	bool more;			   /* the frame continues */
	bool frame_ready;		   /* frame holds a whole frame for netfront_recv */
	int broken;			   /* 0, or the error every call returns from now on */
	struct netfront_stats st;	   /* counters */
};

/* ---- the handshake ---- */

static int keys_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	const struct netfront *nf = arg;
	int ret = xenbus_printf(xd, t, "tx-ring-ref", "%u", nf->tx_ref);

	if (!ret)
		ret = xenbus_printf(xd, t, "rx-ring-ref", "%u", nf->rx_ref);
	if (!ret)
		ret = xenbus_printf(xd, t, "event-channel", "%u", nf->port);
	if (!ret)
		ret = xenbus_printf(xd, t, "request-rx-copy", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-rx-notify", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-sg", "1");
	/* Frames reach the caller whole with their checksums: the back-end computes them. */
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-no-csum-offload", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "state", "%d", XenbusStateConnected);
	return ret;
}

/* Grant the rings and pages to the back-end and post every RX buffer. */
static int share(struct netfront *nf)
{
	domid_t be = nf->xd.otherend_id;
	int ret = hv_grant_share(nf->hv, be, 1, true, &nf->txs, &nf->tx_ref);

	if (!ret)
		ret = hv_grant_share(nf->hv, be, 1, true, &nf->rxs, &nf->rx_ref);
	if (!ret)
		ret = hv_grant_share(nf->hv, be, NF_RING, false, (void **)&nf->txp, nf->txr);
	if (!ret)
		ret = hv_grant_share(nf->hv, be, NF_RING, true, (void **)&nf->rxp, nf->rxr);
	if (!ret)
		ret = ring_front_init(&nf->tx, nf->txs, 0, sizeof(struct netif_tx_request),
				      sizeof(struct netif_tx_response));
	if (!ret)
		ret = ring_front_init(&nf->rx, nf->rxs, 0, sizeof(struct netif_rx_request),
				      sizeof(struct netif_rx_response));
	if (!ret)
		ret = hv_evtchn_alloc_unbound(nf->hv, be, &nf->port);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < NF_RING; i++) {
		struct netif_rx_request *r = ring_front_req_slot(&nf->rx);

		r->id = (uint16_t)i;
		r->gref = nf->rxr[i];
		nf->tx_free[i] = (uint16_t)(NF_RING - 1 - i);
	}
	nf->tx_nfree = NF_RING;
	return ring_front_push(&nf->rx) < 0 ? -EPROTO : 0;
}

static int handshake(struct netfront *nf, int timeout_ms)
{
	uint32_t copy = 0;
	char *mac;
	int ret = xenbus_read_str(&nf->xd, XBT_NULL, "mac", &mac);

	if (!ret) {
		ret = xenbus_parse_mac(mac, nf->mac);
		free(mac);
	}
	if (!ret)
		ret = xenbus_wait_otherend_state(&nf->xd, XenbusStateInitWait, timeout_ms, NULL);
	if (ret)
		return ret;
	/* As Linux netfront: without the copying receive path there is nothing to do. */
	if (xenbus_otherend_read_u32(&nf->xd, XBT_NULL, "feature-rx-copy", &copy) || !copy)
		return -ENODEV;
	ret = share(nf);
	if (!ret)
		ret = xenbus_transaction(&nf->xd, keys_fn, nf);
	if (ret)
		return ret;
	nf->xd.state = XenbusStateConnected;
	return xenbus_wait_otherend_state(&nf->xd, XenbusStateConnected, timeout_ms, NULL);
}

int netfront_open(struct netfront **nfp, const struct netfront_opts *opts)
{
	struct netfront *nf = calloc(1, sizeof(*nf));
	char path[64];
	domid_t me;
	int ret;

	if (!nf)
		return -ENOMEM;
	ret = hv_open(&nf->hv, NULL);
	if (ret)
		goto fail;
	nf->xs = opts->xs;
	if (!nf->xs) {
		nf->xs = xs_open(0);
		nf->own_xs = true;
	}
	ret = nf->xs ? hv_domid(nf->hv, &me) : -ECONNREFUSED;
	if (ret)
		goto fail;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u", me, opts->devid);
	ret = xenbus_dev_open(&nf->xd, nf->xs, XENBUS_FRONTEND, path);
	if (!ret)
		ret = handshake(nf, opts->timeout_ms ? opts->timeout_ms : 10000);
	if (ret)
		goto fail;
	*nfp = nf;
	return 0;
fail:
	netfront_close(nf);
	return ret;
}

/* End a share the back-end has let go; one still mapped stays granted, never reused. */
static void end_share(struct netfront *nf, void *addr, unsigned int count)
{
	if (addr && hv_grant_end(nf->hv, addr, count) == -EBUSY)
		fprintf(stderr, "netfront: the back-end still maps %u page(s): left granted\n",
			count);
}

void netfront_close(struct netfront *nf)
{
	if (!nf)
		return;
	if (nf->xd.nodename) {
		xenbus_switch_state(&nf->xd, XenbusStateClosing);
		xenbus_wait_otherend(&nf->xd,
				     XENBUS_STATE_BIT(XenbusStateClosing) |
					 XENBUS_STATE_BIT(XenbusStateClosed) |
					 XENBUS_STATE_BIT(XenbusStateUnknown),
				     5000, NULL);
		xenbus_switch_state(&nf->xd, XenbusStateClosed);
		xenbus_wait_otherend(&nf->xd,
				     XENBUS_STATE_BIT(XenbusStateClosed) |
					 XENBUS_STATE_BIT(XenbusStateUnknown) |
					 XENBUS_STATE_BIT(XenbusStateInitWait),
				     5000, NULL);
		xenbus_dev_close(&nf->xd);
	}
	if (nf->port)
		hv_evtchn_unbind(nf->hv, nf->port);
	end_share(nf, nf->txs, 1);
	end_share(nf, nf->rxs, 1);
	end_share(nf, nf->txp, NF_RING);
	end_share(nf, nf->rxp, NF_RING);
	if (nf->own_xs && nf->xs)
		xs_close(nf->xs);
	if (nf->hv)
		hv_close(nf->hv);
	free(nf);
}

void netfront_mac(const struct netfront *nf, uint8_t mac[6])
{
	memcpy(mac, nf->mac, 6);
}

int netfront_fd(const struct netfront *nf)
{
	return hv_evtchn_fd(nf->hv);
}

void netfront_get_stats(const struct netfront *nf, struct netfront_stats *st)
{
	*st = nf->st;
}

/* ---- TX ---- */

static int notify_if(struct netfront *nf, int pushed)
{
	if (pushed < 0)
		return nf->broken = -EPROTO;
	return pushed > 0 ? hv_evtchn_notify(nf->hv, nf->port) : 0;
}

int netfront_send(struct netfront *nf, const void *frame, size_t len)
{
	unsigned int n = (unsigned int)((len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE);

	if (nf->broken)
		return nf->broken;
	if (len < 14 || len > NETFRONT_FRAME_MAX)
		return -EINVAL;
	if (n > nf->tx_nfree || n > ring_front_free(&nf->tx))
		return -EAGAIN;
	for (unsigned int i = 0; i < n; i++) {
		struct netif_tx_request *r = ring_front_req_slot(&nf->tx);
		uint16_t id = nf->tx_free[--nf->tx_nfree];
		size_t part = len - (size_t)i * HV_PAGE_SIZE;

		if (part > HV_PAGE_SIZE)
			part = HV_PAGE_SIZE;
		memcpy(nf->txp + (size_t)id * HV_PAGE_SIZE,
		       (const uint8_t *)frame + (size_t)i * HV_PAGE_SIZE, part);
		nf->tx_busy[id] = true;
		r->gref = nf->txr[id];
		r->offset = 0;
		r->id = id;
		r->size = (uint16_t)(i ? part : len); /* the first slot says the frame's size */
		r->flags = i + 1 < n ? NETTXF_more_data : 0;
	}
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	return notify_if(nf, ring_front_push(&nf->tx));
}

/* Collect the back-end's TX answers, freeing their pages. */
static int tx_reap(struct netfront *nf)
{
	struct netif_tx_response rsp[32];
	int n;

	do {
		while ((n = ring_front_consume(&nf->tx, rsp, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				if (rsp[i].id >= NF_RING || !nf->tx_busy[rsp[i].id])
					return nf->broken = -EPROTO; /* a slot not in flight */
				nf->tx_busy[rsp[i].id] = false;
				nf->tx_free[nf->tx_nfree++] = rsp[i].id;
				if (rsp[i].status != NETIF_RSP_OKAY &&
				    rsp[i].status != NETIF_RSP_NULL)
					nf->st.tx_errors++;
			}
		}
		if (n < 0)
			return nf->broken = -EPROTO;
	} while ((n = ring_front_final_check(&nf->tx)) > 0);
	return n < 0 ? (nf->broken = -EPROTO) : 0;
}

/* ---- RX ---- */

/* Post the RX buffer of the next ring position again (its page is free once copied). */
static void rx_repost(struct netfront *nf)
{
	struct netif_rx_request *r = ring_front_req_slot(&nf->rx);
	uint16_t id;

	if (!r)
		return;
	id = (uint16_t)((nf->rx.req_prod_pvt - 1) % NF_RING);
	r->id = id;
	r->gref = nf->rxr[id];
}

/* One RX answer, at ring position pos: 0, or -EPROTO. */
static int rx_slot(struct netfront *nf, const struct netif_rx_response *r, uint32_t pos)
{
	uint16_t page = (uint16_t)(pos % NF_RING);

	if (nf->want_extra) { /* extra info (GSO we did not ask for): its flags say if more */
		const struct netif_extra_info *x = (const void *)r;

		nf->want_extra = x->flags & XEN_NETIF_EXTRA_FLAG_MORE;
		nf->frame_bad = true;
	} else if (r->id != page) {
		return -EPROTO; /* answers come in ring order */
	} else if (r->status < 0 || r->offset + r->status > (int)HV_PAGE_SIZE ||
		   nf->frame_len + (size_t)r->status > NETFRONT_FRAME_MAX ||
		   ++nf->frame_slots > NETFRONT_SLOTS_MAX) {
		nf->frame_bad = true;
		nf->more = r->flags & NETRXF_more_data;
	} else {
		memcpy(nf->frame + nf->frame_len, nf->rxp + (size_t)page * HV_PAGE_SIZE + r->offset,
		       (size_t)r->status);
		nf->frame_len += (size_t)r->status;
		nf->more = r->flags & NETRXF_more_data;
		if (nf->frame_slots == 1)
			nf->want_extra = r->flags & NETRXF_extra_info;
	}
	rx_repost(nf);
	return 0;
}

/* The frame ended: ready for netfront_recv, or dropped. */
static void rx_frame_end(struct netfront *nf)
{
	if (nf->frame_bad || nf->frame_len < 14) {
		nf->st.rx_errors++;
		nf->frame_len = 0;
	} else {
		nf->frame_ready = true;
		nf->st.rx_packets++;
		nf->st.rx_bytes += nf->frame_len;
	}
	nf->frame_slots = 0;
	nf->frame_bad = false;
}

/* Take RX answers until a whole frame is ready or none is left. */
static int rx_collect(struct netfront *nf)
{
	while (!nf->frame_ready && !nf->broken) {
		struct netif_rx_response r;
		uint32_t pos = nf->rx.rsp_cons;
		int n = ring_front_consume(&nf->rx, &r, 1);

		if (n == 0 && (n = ring_front_final_check(&nf->rx)) > 0)
			continue;
		if (n < 0)
			nf->broken = -EPROTO;
		if (n <= 0)
			break;
		if (rx_slot(nf, &r, pos))
			nf->broken = -EPROTO;
		else if (!nf->more && !nf->want_extra)
			rx_frame_end(nf);
	}
	return nf->broken ? nf->broken : notify_if(nf, ring_front_push(&nf->rx));
}

int netfront_poll(struct netfront *nf)
{
	evtchn_port_t port;
	int ret;

	for (unsigned int i = 0; i < 64 && hv_evtchn_pending(nf->hv, &port) == 0; i++)
		hv_evtchn_unmask(nf->hv, port);
	if (nf->broken)
		return nf->broken;
	ret = tx_reap(nf);
	if (!ret)
		ret = rx_collect(nf);
	return ret ? ret : nf->frame_ready;
}

ssize_t netfront_recv(struct netfront *nf, void *buf, size_t cap)
{
	size_t len;
	int ret = nf->frame_ready ? 0 : rx_collect(nf);

	if (ret)
		return ret;
	if (!nf->frame_ready)
		return -EAGAIN;
	len = nf->frame_len < cap ? nf->frame_len : cap;
	memcpy(buf, nf->frame, len);
	nf->frame_ready = false;
	nf->frame_len = 0;
	return (ssize_t)len;
}
