/* SPDX-License-Identifier: MIT */
/*
 * dd-ring-del-unmask: a ring taken from its queue thread while a late EOI holds its port masked
 * (driverdomain/dd-thread.c ring_del) leaves the port unmasked, so that the ring, attached again
 * (a reconnect, a hand-over between threads), hears its next event.
 *
 * One queue thread of a bare dd_core, one ring on a loopback event channel of dom0's: its eoi
 * holds the port masked for an hour after each event.  pvio-hv never masks a port (hv/sim.c),
 * so the thread's calls of hv_evtchn_unmask are counted instead (linked with
 * --wrap=hv_evtchn_unmask): none while held, one when the ring is detached.  Then, attached
 * again, the ring hears one more event.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driverdomain/dd-core.h"
#include "tests/dd-bare.h"
#include "tests/helpers.h"

#define HOUR_NS 3600000000000ull

static int process(struct dd_ring *r)
{
	(void)r;
	return 0;
}

/* Held: the port stays masked for an hour after each event. */
static uint64_t eoi(struct dd_ring *r, uint64_t now)
{
	(void)r;
	return now + HOUR_NS;
}

/* The unmask calls on the ring's port (the queue thread's), and the real call. */
static evtchn_port_t watched;
static atomic_uint unmasks;

int __real_hv_evtchn_unmask(struct hv *hv, evtchn_port_t port);
int __wrap_hv_evtchn_unmask(struct hv *hv, evtchn_port_t port);

int __wrap_hv_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	if (port == atomic_load(&watched))
		atomic_fetch_add(&unmasks, 1);
	return __real_hv_evtchn_unmask(hv, port);
}

static const struct dd_ring_ops ops = { .process = process, .eoi = eoi };

int main(void)
{
	static struct dd_core c;
	static struct dd_thread thread;
	static struct dd_ring r = { .ops = &ops, .io_fd = -1 };
	evtchn_port_t local, remote;
	unsigned long long n;
	unsigned int u;
	struct hv *hv;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(t_hv_start() == 0, "pvio-hv");
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	/* Bound on the queue thread's handle before it starts: its port, as a back-end's. */
	T_CHECK(t_dd_bare(&c, &thread, hv, &local, &remote) == 0, "a bare core");
	r.ports[0] = remote;
	atomic_store(&watched, remote);
	T_CHECK(dd_ring_attach(&c, 0, &r) == 0, "attach");
	T_CHECK(dd_thread_start(&thread) == 0, "thread");
	T_CHECK(t_dd_calls_reach(&r, 1), "no first process call");
	/* Events before the ring was there (the bind's) were unmasked as any unknown port's. */
	u = atomic_load(&unmasks);
	n = atomic_load(&r.calls);
	T_CHECK(hv_evtchn_notify(hv, local) == 0, "notify");
	T_CHECK(t_dd_calls_reach(&r, n + 1), "the event was not heard");
	T_CHECK(atomic_load(&unmasks) == u, "the port was unmasked while held");
	/* Now held masked for an hour; taken from the thread. */
	dd_ring_detach(&r);
	T_CHECK(atomic_load(&unmasks) == u + 1,
		"the ring was detached with its port left masked (%u unmask calls, %u before)",
		atomic_load(&unmasks), u);
	T_CHECK(dd_ring_attach(&c, 0, &r) == 0, "attach again");
	T_CHECK(t_dd_calls_reach(&r, 1), "no process call after attaching again");
	n = atomic_load(&r.calls);
	T_CHECK(hv_evtchn_notify(hv, local) == 0, "notify again");
	T_CHECK(t_dd_calls_reach(&r, n + 1),
		"the port stayed masked: the event after the re-attach "
		"was not heard (%llu calls)",
		(unsigned long long)atomic_load(&r.calls));
	dd_ring_detach(&r);
	dd_thread_close(&thread);
	hv_close(hv);
	return T_PASS;
}
