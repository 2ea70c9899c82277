/* SPDX-License-Identifier: MIT */
/*
 * hv-evtchn: interdomain event channels between two domains: alloc-unbound,
 * bind (and its refusals), notify and pending both ways, -EAGAIN when idle,
 * unbind turning the peer's port back to unbound with one wake-up, events
 * dropped while unbound, and a rebind that carries events again.
 */
#include "config.h"

#include <stdio.h>

#include "tests/hv-test.h"

#define ROUNDS 1000

struct hello {
	domid_t front;	     /* the domain that allocated the ports */
	evtchn_port_t port;  /* unbound, for the back-end */
	evtchn_port_t other; /* unbound, for a third domain */
};

static struct t_link link_; /* a = front, b = back */
static domid_t back_id, third_id;

static int ping_pong(struct hv *hv, evtchn_port_t port, bool first)
{
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (first)
			T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify %d", i);
		T_CHECK(t_event_wait(hv, port, 5000), "event %d", i);
		if (!first)
			T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify %d", i);
	}
	return 0;
}

static int back(void *arg)
{
	evtchn_port_t port, pend, again;
	struct hello h;
	struct hv *hv;
	char c;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(link_.ab[0], &h, sizeof(h)) == 0, "back: hello");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.other, &port) == -EINVAL, "port for a third domain");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port + 100, &port) == -EINVAL, "unallocated port");
	T_CHECK(hv_evtchn_bind(hv, 0x7002, h.port, &port) == -ESRCH, "no such domain");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port, &port) == 0, "bind");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port, &again) == -EINVAL, "bind twice");
	T_CHECK(hv_evtchn_state(hv, port) == HV_EVTCHN_CONNECTED, "back connected");
	/* Xen raises the new port once on bind, for events lost while unbound. */
	T_CHECK(t_event_wait(hv, port, 5000), "event on bind");
	T_CHECK(hv_evtchn_pending(hv, &pend) == -EAGAIN, "one event on bind");
	T_CHECK(t_put(link_.ba[1], "b", 1) == 0, "back: bound");
	T_CHECK(ping_pong(hv, port, false) == 0, "back ping-pong");
	/* Events coalesce (one pending bit on Xen, one counter here): let the
	 * front take our last one before the close raises another. */
	T_CHECK(t_get(link_.ab[0], &c, 1) == 0 && c == 'p', "back: front done");
	T_CHECK(hv_evtchn_pending(hv, &pend) == -EAGAIN, "nothing pending");
	T_CHECK(hv_evtchn_unbind(hv, port) == 0, "unbind");
	T_CHECK(hv_evtchn_unbind(hv, port) == -EINVAL, "unbind twice");
	T_CHECK(hv_evtchn_notify(hv, port) == -EINVAL, "notify a closed port");
	T_CHECK(t_put(link_.ba[1], "u", 1) == 0, "back: unbound");
	T_CHECK(t_get(link_.ab[0], &c, 1) == 0, "back: rebind please");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port, &port) == 0, "rebind");
	T_CHECK(t_event_wait(hv, port, 5000), "event on rebind");
	T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify after rebind");
	T_CHECK(t_event_wait(hv, port, 5000), "event after rebind");
	hv_close(hv);
	return 0;
}

static int front(void *arg)
{
	struct hello h;
	struct hv *hv;
	char c;

	(void)arg;
	memset(&h, 0, sizeof(h)); /* it goes down a pipe: no stray padding */
	T_CHECK(hv_open(&hv, NULL) == 0, "front: hv_open");
	T_CHECK(hv_domid(hv, &h.front) == 0, "domid");
	T_CHECK(hv_evtchn_alloc_unbound(hv, 0x7003, &h.other) == -ESRCH, "alloc for no domain");
	T_CHECK(hv_evtchn_alloc_unbound(hv, third_id, &h.other) == 0, "alloc for a third domain");
	T_CHECK(hv_evtchn_alloc_unbound(hv, back_id, &h.port) == 0, "alloc");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_UNBOUND, "unbound");
	T_CHECK(hv_evtchn_state(hv, 4000) == HV_EVTCHN_CLOSED, "not our port");
	T_CHECK(hv_evtchn_notify(hv, h.port) == 0, "notify on unbound drops");
	T_CHECK(t_put(link_.ab[1], &h, sizeof(h)) == 0, "front: hello");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0 && c == 'b', "front: bound");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_CONNECTED, "front connected");
	T_CHECK(ping_pong(hv, h.port, true) == 0, "front ping-pong");
	T_CHECK(t_put(link_.ab[1], "p", 1) == 0, "front: done");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0 && c == 'u', "front: peer unbound");
	T_CHECK(t_event_wait(hv, h.port, 5000), "wake-up when the peer closed");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_UNBOUND, "back to unbound");
	T_CHECK(hv_evtchn_notify(hv, h.port) == 0, "notify with no peer drops");
	T_CHECK(t_put(link_.ab[1], "r", 1) == 0, "front: rebind please");
	T_CHECK(t_event_wait(hv, h.port, 5000), "event from the rebound peer");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_CONNECTED, "connected again");
	/* A stale peer fd from the first connection must not be used. */
	T_CHECK(hv_evtchn_notify(hv, h.port) == 0, "notify the new peer");
	for (int i = 0; i < 500 && hv_evtchn_state(hv, h.port) != HV_EVTCHN_UNBOUND; i++)
		t_msleep(10);
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_UNBOUND, "unbound after peer exit");
	T_CHECK(hv_evtchn_unbind(hv, h.port) == 0 && hv_evtchn_unbind(hv, h.other) == 0, "unbind");
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t pf, pb, pt;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_link_init(&link_) == 0, "pipes");
	T_CHECK(t_domain_fork("third", t_idle, NULL, &third_id, &pt) == 0, "fork third");
	T_CHECK(t_domain_fork("back", back, NULL, &back_id, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("front", front, NULL, NULL, &pf) == 0, "fork front");
	T_CHECK(t_wait(pf) == 0, "front failed");
	T_CHECK(t_wait(pb) == 0, "back failed");
	kill(pt, SIGTERM);
	t_wait(pt);
	return T_PASS;
}
