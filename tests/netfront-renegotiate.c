/* SPDX-License-Identifier: MIT */
/*
 * netfront-renegotiate: libpvio-netfront against a scripted netif back-end that comes back
 * three times with another offer, as a back-end restarted with other options would:
 *
 *   round 0: 4 queues, split event channels, checksum and TSO offloads;
 *   round 1: 1 queue, one event channel, no offloads; it ends with a protocol error (a TX
 *            response for a slot not in flight);
 *   round 2: 2 queues, split event channels, checksum offload only.
 *
 * Each round the back-end checks the front's keys (multi-queue-num-queues, queue-N/ or flat,
 * event-channel-tx and -rx exactly when offered, no key left from an earlier round, the offload
 * flags), maps the rings, binds the ports, and takes one frame on each queue's TX ring, which
 * must come with an event on that queue's TX port; it answers with a frame into each queue's RX
 * buffers, notified on its RX port, and waits for the front's event on that RX port when the
 * front posts the buffer again (so the front has taken the frame).  The front must see each round's
 * queues and offloads, get every frame, and recover from the protocol error: netfront_poll says
 * -EPROTO, then the device reconnects.
 */
#include "config.h"

#include <stdint.h> /* Xen's public headers expect it first */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/netif.h>

#include "frontend/net/netfront.h"
#include "hv/hv.h"
#include "ring/ring.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

#define ROUNDS	 3
#define MAXQ	 4
#define FRAME	 60
#define WAIT_MS	 10000
#define MAC_TEXT "00:16:3e:00:00:07"

/* What the back-end offers in a round, and what the front must then use. */
struct round {
	unsigned int max_queues; /* multi-queue-max-queues */
	bool split;		 /* feature-split-event-channels */
	bool gso;		 /* feature-gso-tcpv4/v6 */
	bool csum;		 /* feature-ipv6-csum-offload */
	unsigned int queues;	 /* what the front must connect (it asks for 4) */
	unsigned int offloads;	 /* NETFRONT_OFFLOAD_* it must negotiate */
	bool broken;		 /* end the round with a protocol error */
};

static const struct round rounds[ROUNDS] = {
	{ 4, true, true, true, 4, 7, false },
	{ 1, false, false, false, 1, 0, true },
	{ 2, true, false, true, 2, 1, false },
};

/* Rounds the front has finished, in memory the domains share (fb_env.disk). */
#define FRONT_DONE (*(volatile unsigned int *)fb_env.disk)

/* A frame of round r on queue q, from src. */
static void frame_make(uint8_t *f, unsigned int r, unsigned int q)
{
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x07 };

	memset(f, 0, FRAME);
	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x88, f[13] = 0xb5;
	f[14] = (uint8_t)r, f[15] = (uint8_t)q;
}

/* ---- the scripted back-end ---- */

struct nbq {
	void *txs, *rxs;		 /* the mapped rings */
	struct ring_back tx, rx;	 /* our ends */
	evtchn_port_t tx_port, rx_port;	 /* bound; rx_port == tx_port when not split */
	bool tx_seen, tx_event, rx_done; /* a frame taken, its port fired, RX answered */
	bool rx_event;			 /* the RX port fired after the answer */
};

struct nb {
	struct hv *hv;
	struct xenbus_dev dev;
	struct nbq q[MAXQ];
	unsigned int nq;
};

static int features(struct nb *b, const struct round *r)
{
	struct xenbus_dev *d = &b->dev;
	int ret = 0;

	ret |= xenbus_printf(d, XBT_NULL, "feature-rx-copy", "1");
	ret |= xenbus_printf(d, XBT_NULL, "feature-rx-notify", "1");
	ret |= xenbus_printf(d, XBT_NULL, "feature-sg", "1");
	ret |= xenbus_printf(d, XBT_NULL, "feature-gso-tcpv4", "%d", r->gso);
	ret |= xenbus_printf(d, XBT_NULL, "feature-gso-tcpv6", "%d", r->gso);
	ret |= xenbus_printf(d, XBT_NULL, "feature-ipv6-csum-offload", "%d", r->csum);
	ret |= xenbus_printf(d, XBT_NULL, "feature-split-event-channels", "%d", r->split);
	ret |= xenbus_printf(d, XBT_NULL, "multi-queue-max-queues", "%u", r->max_queues);
	return ret ? -EIO : 0;
}

/* The front's key dir/key as a number: 0, or -ENOENT when absent. */
static int front_u32(struct nb *b, const char *dir, const char *key, uint32_t *v)
{
	char k[64];

	snprintf(k, sizeof(k), "%s%s", dir, key);
	return xenbus_otherend_read_u32(&b->dev, XBT_NULL, k, v);
}

/* Whether the front's key (or directory) dir/key exists. */
static bool front_has(struct nb *b, const char *dir, const char *key)
{
	char path[300];
	unsigned int len;
	void *v;

	snprintf(path, sizeof(path), "%s/%s%s", b->dev.otherend, dir, key);
	v = xs_read(b->dev.xs, XBT_NULL, path, &len);
	free(v);
	return v != NULL;
}

/* A flag of the front: absent is 0. */
static uint32_t front_flag(struct nb *b, const char *key)
{
	uint32_t v = 0;

	front_u32(b, "", key, &v);
	return v;
}

/* The front's keys for round r, as the front must have written them: 0 or T_FAIL. */
static int check_keys(struct nb *b, const struct round *r)
{
	uint32_t nq = 1, v;
	char dir[32];

	T_CHECK(front_u32(b, "", "multi-queue-num-queues", &nq) == 0 || r->queues == 1,
		"multi-queue-num-queues missing");
	T_CHECK(nq == r->queues && (r->queues > 1 || !front_has(b, "", "multi-queue-num-queues")),
		"multi-queue-num-queues %u (want %u queues)", nq, r->queues);
	T_CHECK(front_flag(b, "request-rx-copy") == 1, "request-rx-copy");
	T_CHECK(front_flag(b, "feature-gso-tcpv4") == !!(r->offloads & NETFRONT_OFFLOAD_TSO4) &&
		    front_flag(b, "feature-gso-tcpv6") == !!(r->offloads & NETFRONT_OFFLOAD_TSO6),
		"feature-gso-tcpv4/v6 %u/%u", front_flag(b, "feature-gso-tcpv4"),
		front_flag(b, "feature-gso-tcpv6"));
	T_CHECK(front_flag(b, "feature-no-csum-offload") == !(r->offloads & NETFRONT_OFFLOAD_CSUM),
		"feature-no-csum-offload %u", front_flag(b, "feature-no-csum-offload"));
	/* Nothing left from an earlier round's queues. */
	snprintf(dir, sizeof(dir), "queue-%u", nq > 1 ? nq : 0);
	T_CHECK(!front_has(b, "", dir), "stale %s/", dir);
	T_CHECK(nq == 1 || !front_has(b, "", "tx-ring-ref"), "stale flat tx-ring-ref");
	for (unsigned int i = 0; i < nq; i++) {
		snprintf(dir, sizeof(dir), nq > 1 ? "queue-%u/" : "", i);
		T_CHECK(front_u32(b, dir, "tx-ring-ref", &v) == 0 &&
			    front_u32(b, dir, "rx-ring-ref", &v) == 0,
			"%sring refs", dir);
		T_CHECK(front_has(b, dir, "event-channel-tx") == r->split &&
			    front_has(b, dir, "event-channel-rx") == r->split &&
			    front_has(b, dir, "event-channel") == !r->split,
			"%s event channels do not match split=%d", dir, r->split);
	}
	b->nq = nq;
	return 0;
}

/* Map queue i's rings and bind its ports: 0 or T_FAIL. */
static int map_queue(struct nb *b, unsigned int i, bool split)
{
	struct nbq *q = &b->q[i];
	domid_t fe = b->dev.otherend_id;
	uint32_t tx, rx, ptx, prx;
	char dir[32];

	snprintf(dir, sizeof(dir), b->nq > 1 ? "queue-%u/" : "", i);
	T_CHECK(front_u32(b, dir, "tx-ring-ref", &tx) == 0 &&
		    front_u32(b, dir, "rx-ring-ref", &rx) == 0 &&
		    front_u32(b, dir, split ? "event-channel-tx" : "event-channel", &ptx) == 0 &&
		    front_u32(b, dir, split ? "event-channel-rx" : "event-channel", &prx) == 0,
		"queue %u keys", i);
	T_CHECK(!split || ptx != prx, "queue %u: one port for both rings", i);
	T_CHECK(hv_grant_map(b->hv, fe, 1, &(grant_ref_t){ tx }, true, &q->txs) == 0 &&
		    hv_grant_map(b->hv, fe, 1, &(grant_ref_t){ rx }, true, &q->rxs) == 0,
		"queue %u rings", i);
	T_CHECK(ring_back_attach(&q->tx, q->txs, 0, sizeof(struct netif_tx_request),
				 sizeof(struct netif_tx_response)) == 0 &&
		    ring_back_attach(&q->rx, q->rxs, 0, sizeof(struct netif_rx_request),
				     sizeof(struct netif_rx_response)) == 0,
		"queue %u attach", i);
	T_CHECK(hv_evtchn_bind(b->hv, fe, ptx, &q->tx_port) == 0, "bind %u", ptx);
	q->rx_port = q->tx_port;
	T_CHECK(!split || hv_evtchn_bind(b->hv, fe, prx, &q->rx_port) == 0, "bind %u", prx);
	return 0;
}

static void unmap_all(struct nb *b)
{
	for (unsigned int i = 0; i < MAXQ; i++) {
		struct nbq *q = &b->q[i];

		if (q->rx_port && q->rx_port != q->tx_port)
			hv_evtchn_unbind(b->hv, q->rx_port);
		if (q->tx_port)
			hv_evtchn_unbind(b->hv, q->tx_port);
		if (q->txs)
			hv_grant_unmap(b->hv, q->txs, 1);
		if (q->rxs)
			hv_grant_unmap(b->hv, q->rxs, 1);
	}
	memset(b->q, 0, sizeof(b->q));
	b->nq = 0;
}

/* Take queue i's TX frames (one slot each) of round r and answer them: 0 or T_FAIL. */
static int serve_tx(struct nb *b, unsigned int r, unsigned int i)
{
	struct nbq *q = &b->q[i];
	struct netif_tx_request req;
	uint8_t *page, want[FRAME];
	int n;

	frame_make(want, r, i);
	while ((n = ring_back_consume(&q->tx, &req, 1)) > 0) {
		struct netif_tx_response *rsp;

		T_CHECK(req.size == FRAME && !(req.flags & NETTXF_more_data) &&
			    (unsigned int)req.offset + FRAME <= HV_PAGE_SIZE,
			"queue %u: TX slot of %u bytes, flags %#x", i, req.size, req.flags);
		T_CHECK(hv_grant_map(b->hv, b->dev.otherend_id, 1, &req.gref, false,
				     (void **)&page) == 0,
			"map TX page");
		T_CHECK(!memcmp(page + req.offset, want, FRAME), "queue %u: not round %u's frame",
			i, r);
		hv_grant_unmap(b->hv, page, 1);
		rsp = ring_back_rsp_slot(&q->tx);
		rsp->id = req.id;
		rsp->status = NETIF_RSP_OKAY;
		q->tx_seen = true;
	}
	n = n < 0 ? n : ring_back_push(&q->tx);
	T_CHECK(n >= 0, "queue %u TX ring", i);
	if (n > 0)
		hv_evtchn_notify(b->hv, q->tx_port);
	return ring_back_final_check(&q->tx) >= 0 ? 0 : T_FAIL;
}

/*
 * Answer the first of queue i's RX buffers with round r's frame, notified on its RX port, and
 * hold the others: with none left to take, req_event asks the front to notify when it posts the
 * buffer again (on its RX port).  0 or T_FAIL.
 */
static int serve_rx(struct nb *b, unsigned int r, unsigned int i)
{
	static struct netif_rx_request held[256];
	struct nbq *q = &b->q[i];
	struct netif_rx_request req;
	struct netif_rx_response *rsp;
	uint8_t *page;

	T_CHECK(ring_back_consume(&q->rx, held, 256) > 0, "queue %u: no RX buffer", i);
	req = held[0];
	T_CHECK(hv_grant_map(b->hv, b->dev.otherend_id, 1, &req.gref, true, (void **)&page) == 0,
		"map RX page");
	frame_make(page, r, i);
	hv_grant_unmap(b->hv, page, 1);
	rsp = ring_back_rsp_slot(&q->rx);
	rsp->id = req.id;
	rsp->offset = 0;
	rsp->flags = NETRXF_data_validated;
	rsp->status = FRAME;
	T_CHECK(ring_back_push(&q->rx) >= 0 && ring_back_final_check(&q->rx) == 0, "RX ring");
	T_CHECK(hv_evtchn_notify(b->hv, q->rx_port) == 0, "notify RX");
	q->rx_done = true;
	return 0;
}

/* Note which of our ports fired. */
static void port_fired(struct nb *b, evtchn_port_t port)
{
	for (unsigned int i = 0; i < b->nq; i++) {
		struct nbq *q = &b->q[i];

		if (port == q->tx_port)
			q->tx_event = true;
		if (port == q->rx_port && q->rx_done)
			q->rx_event = true;
	}
}

/* Whether round r's exchange is over on every queue. */
static bool exchange_done(struct nb *b)
{
	for (unsigned int i = 0; i < b->nq; i++)
		if (!b->q[i].rx_done || !b->q[i].rx_event)
			return false;
	return true;
}

/* A frame each way on every queue, each notified on its own port: 0 or T_FAIL. */
static int exchange(struct nb *b, unsigned int ri)
{

	for (int t = 0; t < WAIT_MS / 10 && !exchange_done(b); t++) {
		evtchn_port_t port;

		for (unsigned int i = 0; i < b->nq; i++)
			T_CHECK(serve_tx(b, ri, i) == 0, "TX");
		if (hv_evtchn_wait(b->hv, &port, 10) == 0) {
			port_fired(b, port);
			hv_evtchn_unmask(b->hv, port);
		}
		for (unsigned int i = 0; i < b->nq; i++)
			if (b->q[i].tx_seen && b->q[i].tx_event && !b->q[i].rx_done)
				T_CHECK(serve_rx(b, ri, i) == 0, "RX");
	}
	for (unsigned int i = 0; i < b->nq; i++)
		T_CHECK(b->q[i].tx_event && b->q[i].rx_done && b->q[i].rx_event,
			"round %u queue %u: TX frame %d, its event %d, RX port event %d", ri, i,
			b->q[i].tx_seen, b->q[i].tx_event, b->q[i].rx_event);
	return 0;
}

/* A TX response for a slot the front never used, written past ring/: a protocol error. */
static void break_ring(struct nb *b)
{
	struct ring_back *rb = &b->q[0].tx;
	struct netif_tx_response *rsp =
	    (void *)(rb->sring->entries + (rb->rsp_prod_pvt % rb->nr_ents) * rb->entry_size);

	rsp->id = 200;
	rsp->status = NETIF_RSP_OKAY;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	rb->sring->rsp_prod = rb->rsp_prod_pvt + 1;
	hv_evtchn_notify(b->hv, b->q[0].tx_port);
}

static int await_front(struct nb *b, unsigned int mask)
{
	return fb_await_front_state(&b->dev, mask);
}

/* One round: offer, check the front's keys, connect, exchange, end as the round says. */
static int round_run(struct nb *b, unsigned int ri)
{
	const struct round *r = &rounds[ri];

	T_CHECK(features(b, r) == 0 && xenbus_switch_state(&b->dev, XenbusStateInitWait) == 0,
		"round %u: InitWait", ri);
	T_CHECK(await_front(b, XENBUS_STATE_BIT(XenbusStateConnected)) == 0, "round %u", ri);
	T_CHECK(check_keys(b, r) == 0, "round %u: the front's keys", ri);
	for (unsigned int i = 0; i < b->nq; i++)
		T_CHECK(map_queue(b, i, r->split) == 0, "round %u", ri);
	T_CHECK(xenbus_switch_state(&b->dev, XenbusStateConnected) == 0, "Connected");
	T_CHECK(exchange(b, ri) == 0, "round %u", ri);
	/* The front must have taken its frames before the connection goes. */
	for (int t = 0; t < WAIT_MS / 10 && FRONT_DONE <= ri; t++)
		t_msleep(10);
	T_CHECK(FRONT_DONE > ri, "round %u: the front did not finish", ri);
	if (r->broken) {
		break_ring(b);
		T_CHECK(await_front(b, XENBUS_STATE_BIT(XenbusStateClosed)) == 0,
			"the front did not close after the protocol error");
	} else if (ri + 1 == ROUNDS) {
		T_CHECK(await_front(b, XENBUS_STATE_BIT(XenbusStateClosing) |
					   XENBUS_STATE_BIT(XenbusStateClosed)) == 0,
			"the front did not close");
		xenbus_switch_state(&b->dev, XenbusStateClosing);
	}
	/* A restarted back-end: the old one's rings are gone, the new one starts from Closed. */
	unmap_all(b);
	T_CHECK(xenbus_switch_state(&b->dev, XenbusStateClosed) == 0, "Closed");
	if (ri + 1 < ROUNDS)
		T_CHECK(await_front(b, XENBUS_STATE_BIT(XenbusStateInitialising)) == 0,
			"round %u: the front did not start over", ri);
	return 0;
}

static int back(void *arg)
{
	struct xs_handle *xs = xs_open(0);
	struct nb b = { 0 };

	(void)arg;
	T_CHECK(xs && hv_open(&b.hv, NULL) == 0, "open");
	T_CHECK(xenbus_dev_init(&b.dev, xs, XENBUS_BACKEND, fb_env.back, fb_env.front, fb_env.fe) ==
		    0,
		"device");
	for (unsigned int ri = 0; ri < ROUNDS; ri++)
		T_CHECK(round_run(&b, ri) == 0, "back-end");
	xenbus_dev_close(&b.dev);
	hv_close(b.hv);
	xs_close(xs);
	return 0;
}

/* ---- the front ---- */

/* Poll nf once (up to 50 ms): 0, counting a -EPROTO in *eproto, or T_FAIL. */
static int poll_once(struct netfront *nf, unsigned int *eproto)
{
	struct pollfd p = { .fd = netfront_fd(nf), .events = POLLIN };
	int ret;

	poll(&p, 1, 50);
	ret = netfront_poll(nf);
	if (ret == -EPROTO)
		(*eproto)++;
	T_CHECK(ret >= 0 || ret == -EPROTO, "netfront_poll: %s", strerror(-ret));
	return 0;
}

/* Round ri from the front: its queues and offloads, a frame each way per queue: 0 or T_FAIL. */
static int front_round(struct netfront *nf, unsigned int ri, unsigned int *eproto)
{
	const struct round *r = &rounds[ri];
	uint8_t f[NETFRONT_VNET_HDR_LEN + FRAME], got[NETFRONT_VNET_HDR_LEN + 256];
	bool rcvd[MAXQ] = { false };
	unsigned int left;
	int t;

	for (t = 0; t < WAIT_MS / 50 && netfront_queues(nf) != r->queues; t++)
		T_CHECK(poll_once(nf, eproto) == 0, "poll");
	T_CHECK(netfront_queues(nf) == r->queues, "round %u: %u queues, want %u", ri,
		netfront_queues(nf), r->queues);
	T_CHECK(netfront_offloads(nf) == r->offloads, "round %u: offloads %#x, want %#x", ri,
		netfront_offloads(nf), r->offloads);
	memset(f, 0, NETFRONT_VNET_HDR_LEN);
	for (unsigned int q = 0; q < r->queues; q++) {
		frame_make(f + NETFRONT_VNET_HDR_LEN, ri, q);
		T_CHECK(netfront_send_queue(nf, q, f, sizeof(f)) == 0, "send on queue %u", q);
	}
	for (left = r->queues, t = 0; left && t < WAIT_MS / 50; t++) {
		T_CHECK(poll_once(nf, eproto) == 0, "poll");
		for (unsigned int q = 0; q < r->queues; q++) {
			/* The last round's buffer is short: the frame cut, its whole length said.
			 */
			size_t cap = ri + 1 == ROUNDS ? 64 : sizeof(got);
			ssize_t n = netfront_recv_queue(nf, q, got, cap);

			if (n == -EAGAIN)
				continue;
			frame_make(f + NETFRONT_VNET_HDR_LEN, ri, q);
			T_CHECK(n == (ssize_t)sizeof(f) &&
				    !memcmp(got + NETFRONT_VNET_HDR_LEN, f + NETFRONT_VNET_HDR_LEN,
					    (cap < sizeof(f) ? cap : sizeof(f)) -
						NETFRONT_VNET_HDR_LEN),
				"round %u queue %u: received %zd bytes", ri, q, n);
			T_CHECK(!rcvd[q], "queue %u: a second frame", q);
			rcvd[q] = true;
			left--;
		}
	}
	T_CHECK(!left, "round %u: %u queue(s) received nothing", ri, left);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	FRONT_DONE = ri + 1;
	return 0;
}

static int front(void *arg)
{
	struct netfront_opts o = { .queues = MAXQ, .vnet_hdr = true };
	unsigned int eproto = 0, want = 0;
	struct netfront_stats st;
	struct netfront *nf;
	int ret;

	(void)arg;
	ret = netfront_open(&nf, &o);
	T_CHECK(ret == 0, "netfront_open: %s", strerror(-ret));
	for (unsigned int ri = 0; ri < ROUNDS; ri++)
		T_CHECK(front_round(nf, ri, &eproto) == 0, "front");
	T_CHECK(eproto >= 1, "netfront_poll never said -EPROTO");
	/* The counters count since the open, across the reconnects. */
	netfront_get_stats(nf, &st);
	for (unsigned int ri = 0; ri < ROUNDS; ri++)
		want += rounds[ri].queues;
	T_CHECK(st.rx_packets == want, "rx_packets %llu, want %u",
		(unsigned long long)st.rx_packets, want);
	netfront_close(nf);
	return 0;
}

int main(void)
{
	return fb_env_run_vif(MAC_TEXT, back, front);
}
