/* SPDX-License-Identifier: MIT */
/*
 * netfront-tx-full: netfront_send_queue_fd when the TX ring has no room for a largest frame.
 * A scripted netif back-end (one queue, no offloads) takes nothing off the TX ring until the
 * front says go.  The front feeds 60-byte frames, each numbered, through a SOCK_SEQPACKET socket
 * (one frame a read, as a TAP gives them) into netfront_send_queue_fd until it answers -ENOBUFS:
 * that must come once fewer than a largest frame's pages and slots are left, twice in a row,
 * with nothing read from the socket (the next frame still waits there).  The back-end then
 * takes the ring's frames, answers them and notifies only when ring_back_push says the front
 * asked for it, as a Xen back-end does; the front must get that event: it waits on
 * netfront_fd with no time-out doing the work, and a wait that ends with no event while its
 * frames are answered fails the test.  Then it sends the rest; the back-end must see all FRAMES
 * frames once each, in order, byte-exact.
 */
#include "config.h"

#include <stdint.h> /* Xen's public headers expect it first */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xen/io/netif.h>

#include "frontend/net/netfront.h"
#include "hv/hv.h"
#include "ring/ring.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

#define FRAMES	 1000
#define TX_RING	 256u /* entries of a one-page netif TX ring */
#define FRAME	 60
#define WAIT_MS	 10000
#define MAC_TEXT "00:16:3e:00:00:09"

/* The front has seen -ENOBUFS: the back-end may take the ring's frames (fb_env.disk). */
#define GO (*(volatile unsigned int *)fb_env.disk)

/* Frame seq. */
static void frame_make(uint8_t *f, unsigned int seq)
{
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x09 };

	for (unsigned int i = 0; i < FRAME; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x88, f[13] = 0xb5;
	f[14] = (uint8_t)(seq >> 8), f[15] = (uint8_t)seq;
}

/* ---- the scripted back-end ---- */

struct nb {
	struct hv *hv;
	struct xenbus_dev dev;
	void *txs, *rxs;
	struct ring_back tx, rx;
	evtchn_port_t port;
	unsigned int seen; /* frames taken, in order */
};

/* The front's key as a number: 0 or -errno. */
static int front_u32(struct nb *b, const char *key, uint32_t *v)
{
	return xenbus_otherend_read_u32(&b->dev, XBT_NULL, key, v);
}

static int await_front(struct nb *b, unsigned int mask)
{
	return fb_await_front_state(&b->dev, mask);
}

static int connect_back(struct nb *b)
{
	struct xenbus_dev *d = &b->dev;
	domid_t fe = d->otherend_id;
	uint32_t tx, rx, port;
	int ret = 0;

	ret |= xenbus_printf(d, XBT_NULL, "feature-rx-copy", "1");
	ret |= xenbus_printf(d, XBT_NULL, "feature-rx-notify", "1");
	ret |= xenbus_printf(d, XBT_NULL, "feature-sg", "1");
	ret |= xenbus_printf(d, XBT_NULL, "multi-queue-max-queues", "1");
	T_CHECK(!ret && xenbus_switch_state(d, XenbusStateInitWait) == 0, "InitWait");
	T_CHECK(await_front(b, XENBUS_STATE_BIT(XenbusStateConnected)) == 0, "front");
	T_CHECK(front_u32(b, "tx-ring-ref", &tx) == 0 && front_u32(b, "rx-ring-ref", &rx) == 0 &&
		    front_u32(b, "event-channel", &port) == 0,
		"the front's keys");
	T_CHECK(hv_grant_map(b->hv, fe, 1, &(grant_ref_t){ tx }, true, &b->txs) == 0 &&
		    hv_grant_map(b->hv, fe, 1, &(grant_ref_t){ rx }, true, &b->rxs) == 0,
		"rings");
	T_CHECK(ring_back_attach(&b->tx, b->txs, 0, sizeof(struct netif_tx_request),
				 sizeof(struct netif_tx_response)) == 0 &&
		    ring_back_attach(&b->rx, b->rxs, 0, sizeof(struct netif_rx_request),
				     sizeof(struct netif_rx_response)) == 0,
		"attach");
	T_CHECK(hv_evtchn_bind(b->hv, fe, port, &b->port) == 0, "bind %u", port);
	T_CHECK(xenbus_switch_state(d, XenbusStateConnected) == 0, "Connected");
	return 0;
}

/*
 * Take the TX ring's frames, check each is the next one, answer them; notify only when the
 * front asked (ring_back_push > 0).  The number taken, or T_FAIL's negation.
 */
static int serve_tx(struct nb *b)
{
	struct netif_tx_request req;
	uint8_t *page, want[FRAME];
	int n, taken = 0;

	while ((n = ring_back_consume(&b->tx, &req, 1)) > 0) {
		struct netif_tx_response *rsp;

		T_CHECK(req.size == FRAME && !(req.flags & NETTXF_more_data) &&
			    (unsigned int)req.offset + FRAME <= HV_PAGE_SIZE,
			"TX slot of %u bytes, flags %#x", req.size, req.flags);
		T_CHECK(hv_grant_map(b->hv, b->dev.otherend_id, 1, &req.gref, false,
				     (void **)&page) == 0,
			"map TX page");
		frame_make(want, b->seen);
		T_CHECK(!memcmp(page + req.offset, want, FRAME), "frame %u: not the one sent next",
			b->seen);
		hv_grant_unmap(b->hv, page, 1);
		rsp = ring_back_rsp_slot(&b->tx);
		rsp->id = req.id;
		rsp->status = NETIF_RSP_OKAY;
		b->seen++;
		taken++;
	}
	n = n < 0 ? n : ring_back_push(&b->tx);
	T_CHECK(n >= 0, "TX ring");
	if (n > 0)
		T_CHECK(hv_evtchn_notify(b->hv, b->port) == 0, "notify");
	T_CHECK(ring_back_final_check(&b->tx) >= 0, "TX ring");
	return taken;
}

static int back(void *arg)
{
	struct xs_handle *xs = xs_open(0);
	struct nb b = { 0 };
	unsigned int held;

	(void)arg;
	T_CHECK(xs && hv_open(&b.hv, NULL) == 0, "open");
	T_CHECK(xenbus_dev_init(&b.dev, xs, XENBUS_BACKEND, fb_env.back, fb_env.front, fb_env.fe) ==
		    0,
		"device");
	T_CHECK(connect_back(&b) == 0, "connect");
	for (int t = 0; t < WAIT_MS / 10 && !GO; t++)
		t_msleep(10);
	T_CHECK(GO, "the front never said the ring was full");
	held = b.tx.sring->req_prod - b.tx.req_cons;
	T_CHECK(held > 0 && held <= TX_RING, "%u requests on the ring", held);
	/* The back-end's own loop may poll: only the front's waits are under test. */
	for (uint64_t end = t_now_ms() + WAIT_MS; b.seen < FRAMES && t_now_ms() < end;) {
		evtchn_port_t port;
		int taken = serve_tx(&b);

		T_CHECK(taken >= 0, "serve");
		if (!taken && hv_evtchn_wait(b.hv, &port, 10) == 0)
			hv_evtchn_unmask(b.hv, port);
	}
	T_CHECK(b.seen == FRAMES, "%u frames of %u arrived", b.seen, FRAMES);
	printf("netfront-tx-full: %u frames held on the full ring, all %u arrived in order\n", held,
	       FRAMES);
	T_CHECK(await_front(&b, XENBUS_STATE_BIT(XenbusStateClosing) |
				    XENBUS_STATE_BIT(XenbusStateClosed)) == 0,
		"the front did not close");
	xenbus_switch_state(&b.dev, XenbusStateClosing);
	hv_evtchn_unbind(b.hv, b.port);
	hv_grant_unmap(b.hv, b.txs, 1);
	hv_grant_unmap(b.hv, b.rxs, 1);
	xenbus_switch_state(&b.dev, XenbusStateClosed);
	xenbus_dev_close(&b.dev);
	hv_close(b.hv);
	xs_close(xs);
	return 0;
}

/* ---- the front ---- */

/* Frames waiting in the socket (its reading end rd). */
static int queued(int rd)
{
	int bytes = 0;

	ioctl(rd, FIONREAD, &bytes);
	return bytes;
}

/*
 * Wait on netfront_fd for the back-end's event and take it: 0, or T_FAIL if the wait ends with
 * no event (a time-out: the front asked for no notification it needed).
 */
static int await_event(struct netfront *nf)
{
	struct pollfd p = { .fd = netfront_fd(nf), .events = POLLIN };
	int ret;

	T_CHECK(poll(&p, 1, WAIT_MS) == 1, "no event from the back-end after its answers");
	ret = netfront_poll(nf);
	T_CHECK(ret >= 0, "netfront_poll: %s", strerror(-ret));
	return 0;
}

static int front(void *arg)
{
	struct netfront_opts o = { .queues = 1, .vnet_hdr = false };
	unsigned int written = 0, sent = 0, full = 0;
	uint8_t f[FRAME];
	struct netfront *nf;
	int sv[2], ret;

	(void)arg;
	T_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	T_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	ret = netfront_open(&nf, &o);
	T_CHECK(ret == 0, "netfront_open: %s", strerror(-ret));
	for (int t = 0; t < WAIT_MS / 10 && !netfront_queues(nf); t++) {
		struct pollfd p = { .fd = netfront_fd(nf), .events = POLLIN };

		poll(&p, 1, 10); /* the handshake, before the data path under test */
		T_CHECK(netfront_poll(nf) >= 0, "netfront_poll");
	}
	T_CHECK(netfront_queues(nf) == 1, "not connected");
	while (sent < FRAMES) {
		ssize_t n;

		/* Two frames waiting in the socket at each send (fewer at the end). */
		while (written < FRAMES && written < sent + 2) {
			frame_make(f, written);
			T_CHECK(write(sv[0], f, FRAME) == FRAME, "write frame %u", written);
			written++;
		}
		n = netfront_send_queue_fd(nf, 0, sv[1]);
		if (n == FRAME) {
			sent++;
			continue;
		}
		T_CHECK(n == -ENOBUFS, "netfront_send_queue_fd: %zd after %u frames", n, sent);
		T_CHECK(queued(sv[1]) == (int)(written - sent) * FRAME,
			"-ENOBUFS read from the socket: %d bytes left, want %u", queued(sv[1]),
			(written - sent) * FRAME);
		if (!full++) {
			T_CHECK(sent > 0 && sent < TX_RING, "full after %u frames", sent);
			T_CHECK(netfront_send_queue_fd(nf, 0, sv[1]) == -ENOBUFS &&
				    queued(sv[1]) == (int)(written - sent) * FRAME,
				"a second try on the full ring");
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			GO = 1;
		}
		T_CHECK(await_event(nf) == 0, "after %u frames", sent);
	}
	T_CHECK(full > 0, "the ring never filled");
	T_CHECK(netfront_send_queue_fd(nf, 0, sv[1]) == -EAGAIN, "an empty socket");
	/* Every answer in before closing: the back-end checks what it took, not what we saw. */
	netfront_close(nf);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

int main(void)
{
	return fb_env_run_vif(MAC_TEXT, back, front);
}
