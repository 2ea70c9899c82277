/* SPDX-License-Identifier: MIT */
/*
 * hv-evtchn-mask: a port is masked as on Xen.  Taking a port's event masks it until
 * hv_evtchn_unmask; while masked, the sender's notifications leave it pending and raise nothing
 * (the event fd does not stay readable, hv_evtchn_pending reports nothing); unmasking a pending
 * port reports it exactly once, unmasking an idle one reports nothing, and an event that arrives
 * between the take and the unmask is not lost.  Then a sender thread notifies in a loop while
 * the receiver takes, consumes and unmasks (a late EOI after its work): every notification's
 * work is seen, with no wake-up lost.  Receiver and sender are two handles of dom0 (the sender
 * writes the receiver's eventfd directly, as a guest's front end would).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>

#include "tests/hv-test.h"

#define STORM  2000u
#define ROUNDS 20000u

static struct hv *rx, *tx;
static evtchn_port_t rport, tport;
static atomic_uint produced;

/* Take every pending port of rx: how many times port came (others fail the test). */
static int take_all(unsigned int *n)
{
	evtchn_port_t got;
	int ret;

	*n = 0;
	while ((ret = hv_evtchn_pending(rx, &got)) == 0) {
		T_CHECK(got == rport, "event on port %u", got);
		(*n)++;
	}
	T_CHECK(ret == -EAGAIN, "pending: %d", ret);
	return 0;
}

static int notify_n(unsigned int n)
{
	while (n--)
		T_CHECK(hv_evtchn_notify(tx, tport) == 0, "notify");
	return 0;
}

static int setup(void)
{
	domid_t self;
	unsigned int n;

	T_CHECK(hv_open(&rx, NULL) == 0 && hv_open(&tx, NULL) == 0, "hv_open");
	T_CHECK(hv_domid(rx, &self) == 0, "domid");
	T_CHECK(hv_evtchn_alloc_unbound(rx, self, &rport) == 0, "alloc");
	T_CHECK(hv_evtchn_bind(tx, self, rport, &tport) == 0, "bind");
	/* Xen raises the binding end once on bind; the allocating end hears nothing. */
	T_CHECK(t_event_wait(tx, tport, 5000), "sender's event on bind");
	T_CHECK(take_all(&n) == 0 && n == 0, "an event on the allocating end");
	return 0;
}

/* A masked port's storm raises nothing; its unmask raises one event. */
static int storm_masked(void)
{
	unsigned int n;

	T_CHECK(notify_n(1) == 0 && t_readable(hv_evtchn_fd(rx), 5000), "first event");
	T_CHECK(take_all(&n) == 0 && n == 1, "first event taken once (%u)", n);
	/* Masked now: the storm may wake the fd once, but reports nothing. */
	T_CHECK(notify_n(STORM) == 0, "storm");
	T_CHECK(take_all(&n) == 0 && n == 0, "a masked port reported %u events", n);
	T_CHECK(notify_n(STORM) == 0, "storm again");
	T_CHECK(!t_readable(hv_evtchn_fd(rx), 100), "a masked port's storm wakes the event fd");
	T_CHECK(take_all(&n) == 0 && n == 0, "a masked port reported %u events", n);
	T_CHECK(hv_evtchn_unmask(rx, rport) == 0, "unmask");
	T_CHECK(t_readable(hv_evtchn_fd(rx), 5000), "unmask of a pending port raises nothing");
	T_CHECK(take_all(&n) == 0 && n == 1, "unmask of a pending port: %u events", n);
	return 0;
}

/* Unmask with nothing pending raises nothing; the port then hears the next event. */
static int unmask_idle(void)
{
	unsigned int n;

	T_CHECK(hv_evtchn_unmask(rx, rport) == 0, "unmask");
	T_CHECK(!t_readable(hv_evtchn_fd(rx), 100) && take_all(&n) == 0 && n == 0,
		"unmask of an idle port raised an event");
	T_CHECK(hv_evtchn_unmask(rx, rport) == 0, "unmask an unmasked port");
	T_CHECK(notify_n(1) == 0 && t_readable(hv_evtchn_fd(rx), 5000), "event after unmask");
	T_CHECK(take_all(&n) == 0 && n == 1, "event after unmask: %u", n);
	/* An event between the take and the unmask, with no wait in between, is not lost. */
	T_CHECK(notify_n(1) == 0 && hv_evtchn_unmask(rx, rport) == 0, "notify, then unmask");
	T_CHECK(t_readable(hv_evtchn_fd(rx), 5000), "the event before the unmask was lost");
	T_CHECK(take_all(&n) == 0 && n == 1, "event before the unmask: %u", n);
	T_CHECK(hv_evtchn_unmask(rx, rport) == 0, "unmask");
	T_CHECK(hv_evtchn_unbind(rx, rport) == 0, "unbind");
	T_CHECK(hv_evtchn_unmask(rx, rport) == -EINVAL, "unmask a closed port");
	return 0;
}

static void *sender(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < ROUNDS; i++) {
		atomic_fetch_add(&produced, 1);
		if (hv_evtchn_notify(tx, tport))
			return (void *)1;
	}
	return NULL;
}

/* A sender in a loop, the receiver consuming before each unmask: no wake-up lost. */
static int no_loss(void)
{
	unsigned int consumed = 0, wakeups = 0;
	pthread_t th;
	void *res;

	T_CHECK(pthread_create(&th, NULL, sender, NULL) == 0, "thread");
	while (consumed < ROUNDS) {
		evtchn_port_t got;
		int ret = hv_evtchn_wait(rx, &got, 10000);

		T_CHECK(ret == 0, "no event with %u of %u notifications unseen: %d",
			ROUNDS - consumed, ROUNDS, ret);
		T_CHECK(got == rport, "event on port %u", got);
		wakeups++;
		consumed = atomic_load(&produced);
		T_CHECK(hv_evtchn_unmask(rx, rport) == 0, "unmask");
	}
	T_CHECK(pthread_join(th, &res) == 0 && !res, "sender");
	printf("%u notifications seen in %u events\n", ROUNDS, wakeups);
	return 0;
}

int main(void)
{
	domid_t self;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(setup() == 0, "set-up");
	T_CHECK(storm_masked() == 0, "storm on a masked port");
	T_CHECK(unmask_idle() == 0, "unmask");
	T_CHECK(hv_domid(rx, &self) == 0 && hv_evtchn_alloc_unbound(rx, self, &rport) == 0 &&
		    hv_evtchn_unbind(tx, tport) == 0 &&
		    hv_evtchn_bind(tx, self, rport, &tport) == 0,
		"a new channel");
	T_CHECK(no_loss() == 0, "a sender in a loop");
	hv_close(tx);
	hv_close(rx);
	return T_PASS;
}
