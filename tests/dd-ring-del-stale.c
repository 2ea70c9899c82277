/* SPDX-License-Identifier: MIT */
/*
 * dd-ring-del-stale: a ring's io fd event returned by the same epoll_wait as the message that
 * detaches the ring must not make the detached ring ready again (driverdomain/dd-thread.c
 * thread_main).  Once dd_ring_detach has returned, its caller may free the ring (pvio-blkback
 * does, rings_down): a process call after that is a use after free, which crashed
 * pvio-blkback's hand-over when its io fds were often readable.
 *
 * The order is made, not hoped for: the ring's process call (for its port's event) blocks
 * while the test posts the detach (the thread's control eventfd becomes readable) and only then
 * makes the io fd readable and lets the call return, so the thread's next epoll_wait returns the
 * control event first and the io fd's second.  The ring's process op, on the thread, counts calls
 * made while the thread's port table no longer holds the ring (ring_del cleared it).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "driverdomain/dd-core.h"
#include "tests/dd-bare.h"
#include "tests/helpers.h"

static struct dd_thread thread;
static evtchn_port_t ring_port;
static atomic_int block, inside, release, stale_calls;

static bool attached_here(struct dd_ring *r)
{
	return ring_port < thread.nports && thread.ports[ring_port] == r;
}

static int process(struct dd_ring *r)
{
	uint64_t v;

	(void)!read(r->io_fd, &v, sizeof(v)); /* drained: readable again only when written */
	if (!attached_here(r))
		atomic_fetch_add(&stale_calls, 1);
	if (atomic_exchange(&block, 0)) {
		atomic_store(&inside, 1);
		while (!atomic_load(&release))
			sched_yield();
	}
	return 0;
}

static int process_other(struct dd_ring *r)
{
	(void)r;
	return 0;
}

static const struct dd_ring_ops ops = { .process = process };
static const struct dd_ring_ops other_ops = { .process = process_other };

/* Once the detach is posted (the control eventfd readable): the io fd, then the call's end. */
static void *helper(void *arg)
{
	struct dd_ring *r = arg;
	struct pollfd pfd = { .fd = thread.ctlfd, .events = POLLIN };
	uint64_t one = 1;

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	(void)!write(r->io_fd, &one, sizeof(one));
	atomic_store(&release, 1);
	return NULL;
}

int main(void)
{
	static struct dd_core c;
	static struct dd_ring r = { .ops = &ops }, other = { .ops = &other_ops, .io_fd = -1 };
	evtchn_port_t local, remote;
	struct hv *hv;
	pthread_t h;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(t_hv_start() == 0, "pvio-hv");
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	T_CHECK(t_dd_bare(&c, &thread, hv, &local, &remote) == 0, "a bare core");
	r.io_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	T_CHECK(r.io_fd >= 0, "eventfd: %s", strerror(errno));
	r.ports[0] = ring_port = remote;
	T_CHECK(dd_ring_attach(&c, 0, &r) == 0, "attach");
	T_CHECK(dd_thread_start(&thread) == 0, "thread");
	T_CHECK(t_dd_calls_reach(&r, 1), "no first process call");

	/*
	 * A process call that blocks until the detach is posted and the io fd readable.  Called
	 * for the port's event, not the io fd's: an fd epoll returned stays on its ready list
	 * (level-triggered) ahead of the control eventfd, which would undo the order wanted.
	 */
	atomic_store(&block, 1);
	T_CHECK(hv_evtchn_notify(hv, local) == 0, "notify");
	for (int i = 0; i < 1000 && !atomic_load(&inside); i++)
		t_msleep(10);
	T_CHECK(atomic_load(&inside), "the blocking process call did not come");
	T_CHECK(pthread_create(&h, NULL, helper, &r) == 0, "helper");
	dd_ring_detach(&r);
	pthread_join(h, NULL);

	/* Another ring's first call: the thread has finished the round after the detach. */
	T_CHECK(dd_ring_attach(&c, 0, &other) == 0, "attach another");
	T_CHECK(t_dd_calls_reach(&other, 1), "the other ring was not processed");
	T_CHECK(atomic_load(&stale_calls) == 0,
		"the detached ring was processed %d time(s) after its detach (an io fd event of "
		"the same epoll_wait made it ready again)",
		atomic_load(&stale_calls));
	dd_ring_detach(&other);
	dd_thread_close(&thread);
	close(r.io_fd);
	hv_close(hv);
	return T_PASS;
}
