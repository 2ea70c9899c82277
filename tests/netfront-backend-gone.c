/* SPDX-License-Identifier: MIT */
/*
 * netfront-backend-gone: libpvio-netfront notices a back-end that answers and dies within one
 * event.  A scripted netif back-end (one queue, a process of the back-end's domain, which lives
 * on) takes the front's one TX frame, answers it, notifies and exits at once; the hypervisor
 * closes its end of the event channel, whose event merges with the answer's (the front is not
 * polling meanwhile).  The
 * front's next wait on netfront_fd must end with that one event, and the netfront_poll it
 * runs must both collect the answer and see the channel closed: the device reconnects
 * (netfront_queues 0, the front's state no longer Connected).  Before, only an event that
 * brought no work was looked at, and this one brought an answer: the front stayed Connected to
 * a dead back-end with nothing left to wake it.
 */
#include "config.h"

#include <stdint.h> /* Xen's public headers expect it first */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/io/netif.h>

#include "frontend/net/netfront.h"
#include "hv/hv.h"
#include "ring/ring.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

#define FRAME	 60
#define WAIT_MS	 10000
#define MAC_TEXT "00:16:3e:00:00:0a"

/* Shared (fb_env.disk): the front sent its frame; the back-end answered and is exiting; the
 * front is done. */
#define SENT	   (((volatile unsigned int *)fb_env.disk)[0])
#define ANSWERED   (((volatile unsigned int *)fb_env.disk)[1])
#define FRONT_DONE (((volatile unsigned int *)fb_env.disk)[2])

/* ---- the scripted back-end ---- */

static int await_front(struct xenbus_dev *d, unsigned int mask)
{
	return fb_await_front_state(d, mask);
}

/* The back-end process: serve the frame, answer it and die. */
static int serve_once(void)
{
	struct xs_handle *xs = xs_open(0);
	struct netif_tx_response *rsp;
	struct netif_tx_request req;
	struct ring_back tx, rx;
	struct xenbus_dev d;
	evtchn_port_t port;
	uint32_t txr, rxr, fport;
	void *txs, *rxs;
	struct hv *hv;
	int ret = 0, n;

	T_CHECK(xs && hv_open(&hv, NULL) == 0, "open");
	T_CHECK(xenbus_dev_init(&d, xs, XENBUS_BACKEND, fb_env.back, fb_env.front, fb_env.fe) == 0,
		"device");
	ret |= xenbus_printf(&d, XBT_NULL, "feature-rx-copy", "1");
	ret |= xenbus_printf(&d, XBT_NULL, "multi-queue-max-queues", "1");
	T_CHECK(!ret && xenbus_switch_state(&d, XenbusStateInitWait) == 0, "InitWait");
	T_CHECK(await_front(&d, XENBUS_STATE_BIT(XenbusStateConnected)) == 0, "front");
	T_CHECK(xenbus_otherend_read_u32(&d, XBT_NULL, "tx-ring-ref", &txr) == 0 &&
		    xenbus_otherend_read_u32(&d, XBT_NULL, "rx-ring-ref", &rxr) == 0 &&
		    xenbus_otherend_read_u32(&d, XBT_NULL, "event-channel", &fport) == 0,
		"the front's keys");
	T_CHECK(hv_grant_map(hv, d.otherend_id, 1, &(grant_ref_t){ txr }, true, &txs) == 0 &&
		    hv_grant_map(hv, d.otherend_id, 1, &(grant_ref_t){ rxr }, true, &rxs) == 0,
		"rings");
	T_CHECK(ring_back_attach(&tx, txs, 0, sizeof(struct netif_tx_request),
				 sizeof(struct netif_tx_response)) == 0 &&
		    ring_back_attach(&rx, rxs, 0, sizeof(struct netif_rx_request),
				     sizeof(struct netif_rx_response)) == 0,
		"attach");
	T_CHECK(hv_evtchn_bind(hv, d.otherend_id, fport, &port) == 0, "bind");
	T_CHECK(xenbus_switch_state(&d, XenbusStateConnected) == 0, "Connected");
	for (int t = 0; t < WAIT_MS / 10 && !SENT; t++)
		t_msleep(10);
	T_CHECK(SENT && (n = ring_back_consume(&tx, &req, 1)) == 1, "the front's frame");
	rsp = ring_back_rsp_slot(&tx);
	rsp->id = req.id;
	rsp->status = NETIF_RSP_OKAY;
	T_CHECK(ring_back_push(&tx) > 0, "the front asked for an event");
	T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify");
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ANSWERED = 1;
	/* Gone at once, nothing closed by hand: the process's death closes the channel. */
	_exit(0);
}

/* The back-end's domain: its back-end process, then alive until the front is done. */
static int back(void *arg)
{
	pid_t pid;
	int st;

	(void)arg;
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(serve_once() == 0 ? 0 : 1);
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"the back-end process failed");
	for (int t = 0; t < 3 * WAIT_MS / 10 && !FRONT_DONE; t++)
		t_msleep(10);
	return 0;
}

/* ---- the front ---- */

static int front(void *arg)
{
	struct netfront_opts o = { .queues = 1, .vnet_hdr = false };
	struct pollfd p;
	uint8_t f[FRAME];
	struct netfront *nf;
	int ret;

	(void)arg;
	ret = netfront_open(&nf, &o);
	T_CHECK(ret == 0, "netfront_open: %s", strerror(-ret));
	for (int t = 0; t < WAIT_MS / 10 && !netfront_queues(nf); t++) {
		p = (struct pollfd){ .fd = netfront_fd(nf), .events = POLLIN };
		poll(&p, 1, 10); /* the handshake, before what is under test */
		T_CHECK(netfront_poll(nf) >= 0, "netfront_poll");
	}
	T_CHECK(netfront_queues(nf) == 1, "not connected");
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	f[12] = 0x88, f[13] = 0xb5;
	T_CHECK(netfront_send(nf, f, sizeof(f)) == 0, "send");
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	SENT = 1;
	/* Not polling while the back-end answers and dies: its two events merge. */
	for (int t = 0; t < WAIT_MS / 10 && !ANSWERED; t++)
		t_msleep(10);
	T_CHECK(ANSWERED, "the back-end never answered");
	t_msleep(300);
	p = (struct pollfd){ .fd = netfront_fd(nf), .events = POLLIN };
	T_CHECK(poll(&p, 1, WAIT_MS) == 1, "no event after the back-end answered and died");
	ret = netfront_poll(nf);
	T_CHECK(ret >= 0, "netfront_poll: %s", strerror(-ret));
	T_CHECK(netfront_queues(nf) == 0,
		"still connected to a back-end that died after answering (its events merged)");
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	FRONT_DONE = 1;
	netfront_close(nf);
	return 0;
}

int main(void)
{
	return fb_env_run_vif(MAC_TEXT, back, front);
}
