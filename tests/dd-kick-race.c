/* SPDX-License-Identifier: MIT */
/*
 * dd-kick-race: a kick or message that lands while a queue thread is taking its control
 * eventfd (driverdomain/dd-thread.c on_ctl) is not lost, and does not leave the thread unable
 * to process its rings.
 *
 * The thread clears its "message pending" flag and reads the eventfd.  A kick between the two
 * (another thread's steering, the control plane's kick of a vif's queues) set the flag again
 * and added to the count the read then took: the flag stayed set with nothing left to read,
 * and every round of run_ready ended before its first ring while the thread spun.  On Xen that
 * was queue 0 of a Linux guest's vif never served (xen/net-pvio-back).
 *
 * The window is two instructions wide, so it is hit on purpose: the test's read(2) wrapper
 * (linked with --wrap=read) kicks the ring itself on the thread's first eventfd read after it
 * is armed, as a kicker preempting the thread there would.  Then the ring must be processed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "driverdomain/dd-core.h"
#include "tests/dd-bare.h"
#include "tests/helpers.h"

static int process(struct dd_ring *r)
{
	(void)r;
	return 0;
}

static const struct dd_ring_ops ops = { .process = process };
static struct dd_thread thread;
static struct dd_ring r = { .ops = &ops, .io_fd = -1 };
static atomic_bool armed;

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (fd == thread.ctlfd && atomic_exchange(&armed, false))
		dd_ring_kick(&r); /* a kicker's whole kick, right here */
	return __real_read(fd, buf, n);
}

int main(void)
{
	static struct dd_core c;
	evtchn_port_t local, remote;
	unsigned long long n;
	struct hv *hv;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(t_hv_start() == 0, "pvio-hv");
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	/* A kick reaches rings through their ports: give it one, as a back-end's ring has. */
	T_CHECK(t_dd_bare(&c, &thread, hv, &local, &remote) == 0, "a bare core");
	r.ports[0] = remote;
	T_CHECK(dd_ring_attach(&c, 0, &r) == 0, "attach");
	T_CHECK(dd_thread_start(&thread) == 0, "thread");
	T_CHECK(t_dd_calls_reach(&r, 1), "no first process call");
	for (int round = 0; round < 3; round++) {
		n = atomic_load(&r.calls);
		atomic_store(&armed, true);
		dd_ring_kick(&r);
		T_CHECK(t_dd_calls_reach(&r, n + 1),
			"round %d: a kick taken with the thread's eventfd read left it unable to "
			"process its ring (%llu calls, %llu before)",
			round, (unsigned long long)atomic_load(&r.calls), n);
		T_CHECK(!atomic_load(&armed), "round %d: the thread never read its eventfd", round);
	}
	dd_ring_detach(&r);
	dd_thread_close(&thread);
	hv_close(hv);
	return T_PASS;
}
