/* SPDX-License-Identifier: MIT */
/*
 * loop.c - pvio-blkback's event loop.
 *
 * One thread, one epoll set over: the hypervisor's event-channel fd (a pending port leads to its
 * ring through the port table), each ring's I/O completion eventfd, the xenstore fd (watch
 * events), a signalfd (SIGTERM, SIGINT; SIGUSR2: hand-over) and, with --stats-dir, a timerfd.
 *
 * The contract with the rings (blkback_ring_process in backend/blk/blkback.h): a ring is put on
 * the ready list, and processed in the next round, when its device connects (the front may
 * have queued requests already; devices.c), when its port is pending, when its io fd polls
 * readable (epoll is level-triggered, so completions left unreaped wake us again), and after
 * each call that returned 1.  That is all blkback_ring_process asks for: on every other return
 * it leaves req_event armed or a completion pending on the io fd, so no ring needs a timer.
 * The timerfd only rewrites the statistics files once a second and touches no ring; --poll-us
 * only adds calls.  A ring whose process call fails fails its device (error node, Closing).
 *
 * Why one thread: all disk I/O is asynchronous through libaio, so the loop never blocks on a
 * disk; it only copies requests off rings, submits them and answers completions.  One thread
 * needs no locks between the control plane and the rings, and a device's connect, disconnect
 * and teardown can never race its own I/O handling (the XSA-350 class of bugs).  A thread per
 * queue would buy parallel request handling on several CPUs for many fast queues (NVMe-class
 * disks, where the per-request CPU cost of this loop becomes the limit); it would cost a lock
 * or a message queue between the control plane and every ring, and per-thread eventfds.  Not
 * now: first measure that one loop is the bottleneck.
 *
 * Fairness: a ring's blkback_ring_process handles at most two batches per call and returns 1
 * when more remains; such a ring goes to the back of the ready list instead of being called
 * again at once, so one busy guest cannot starve the others or the control plane.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "driverdomain/blkbackd.h"

#define PREFIX "pvio-blkback"

/* epoll data of the fixed fds; an io fd's is EPOLL_PORT_FLAG | port (devices.c). */
enum {
	TAG_EVTCHN = 1,
	TAG_XS,
	TAG_SIGNAL,
	TAG_TIMER
};

#define EVENTS_PER_WAIT	 64   /* epoll events taken per wake-up */
#define PORTS_PER_WAKEUP 1024 /* pending ports taken per wake-up */
#define XS_PER_WAKEUP	 64   /* watch events taken per wake-up */
#define RINGS_PER_ROUND	 256  /* process() calls per round of the ready list */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bbd_queue_ready(struct bbd *b, struct bbd_queue *q)
{
	if (q->ready)
		return;
	q->ready = true;
	TAILQ_INSERT_TAIL(&b->ready, q, link);
}

static int add_fd(struct bbd *b, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int bbd_init(struct bbd *b)
{
	sigset_t set;
	int ret;

	TAILQ_INIT(&b->devices);
	TAILQ_INIT(&b->ready);
	b->sigfd = b->timerfd = -1;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) ||
	    (b->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return -errno;
	if (b->opts.stats_dir) {
		struct itimerspec its = { { 1, 0 }, { 1, 0 } };

		b->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (b->timerfd < 0 || timerfd_settime(b->timerfd, 0, &its, NULL))
			return -errno;
		if ((ret = add_fd(b, b->timerfd, TAG_TIMER)))
			return ret;
	}
	if ((ret = add_fd(b, b->sigfd, TAG_SIGNAL)) ||
	    (ret = add_fd(b, hv_evtchn_fd(b->hv), TAG_EVTCHN)) ||
	    (ret = add_fd(b, xs_fileno(b->xs), TAG_XS)))
		return ret;
	return 0;
}

/* Take the pending ports (bounded) and queue their rings. */
static void on_evtchn(struct bbd *b)
{
	evtchn_port_t port;

	for (unsigned int i = 0; i < PORTS_PER_WAKEUP && hv_evtchn_pending(b->hv, &port) == 0;
	     i++) {
		/* Unmask first: an event after this wakes us again, process() re-checks. */
		hv_evtchn_unmask(b->hv, port);
		if (port < b->nports && b->ports[port])
			bbd_queue_ready(b, b->ports[port]);
	}
}

static void on_signal(struct bbd *b)
{
	struct signalfd_siginfo si;

	while (read(b->sigfd, &si, sizeof(si)) == sizeof(si)) {
		pvio_log(b->log, PVIO_LOG_INFO, PREFIX, "signal %u: exiting%s", si.ssi_signo,
			 si.ssi_signo == SIGUSR2 ? ", devices left to a successor" : "");
		b->handover |= si.ssi_signo == SIGUSR2;
		b->stop = true;
	}
}

static void on_timer(struct bbd *b)
{
	struct bbd_device *d;
	uint64_t ticks;

	if (read(b->timerfd, &ticks, sizeof(ticks)) < 0)
		return;
	TAILQ_FOREACH(d, &b->devices, link)
	bbd_stats_write(d, false);
}

static void dispatch(struct bbd *b, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;

	if (tag & EPOLL_PORT_FLAG) {
		evtchn_port_t port = (evtchn_port_t)(tag & 0xffffffffu);

		if (port < b->nports && b->ports[port])
			bbd_queue_ready(b, b->ports[port]);
		return;
	}
	switch (tag) {
	case TAG_EVTCHN:
		on_evtchn(b);
		break;
	case TAG_XS: {
		int ret = bbd_xs_events(b, XS_PER_WAKEUP);

		if (ret) {
			pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "xenstore: %s", strerror(-ret));
			b->stop = true;
		}
		break;
	}
	case TAG_SIGNAL:
		on_signal(b);
		break;
	case TAG_TIMER:
		on_timer(b);
		break;
	}
}

/* One round over the ready rings, bounded; a ring with more work goes to the back. */
static void run_ready(struct bbd *b)
{
	for (unsigned int i = 0; i < RINGS_PER_ROUND && !TAILQ_EMPTY(&b->ready); i++) {
		struct bbd_queue *q = TAILQ_FIRST(&b->ready);
		int ret;

		TAILQ_REMOVE(&b->ready, q, link);
		q->ready = false;
		ret = blkback_ring_process(q->ring);
		b->last_work_ns = now_ns();
		if (ret == 1)
			bbd_queue_ready(b, q);
		else if (ret < 0) {
			struct bbd_device *d = q->d;

			/* Detaches every ring of the device, q included. */
			blkback_dev_ring_failed(d->dev, ret);
			bbd_stats_write(d, true);
		}
	}
}

/* --poll-us: look for requests without sleeping; true if a ring has some. */
static bool busy_poll(struct bbd *b)
{
	struct bbd_device *d;
	bool found = false;

	TAILQ_FOREACH(d, &b->devices, link)
	for (unsigned int i = 0; i < d->nr_queues; i++)
		if (blkback_ring_has_requests(d->queues[i].ring)) {
			bbd_queue_ready(b, &d->queues[i]);
			found = true;
		}
	return found;
}

/* How long epoll may sleep: not at all while rings are ready or the poll window is open. */
static int wait_timeout(struct bbd *b)
{
	if (!TAILQ_EMPTY(&b->ready))
		return 0;
	if (b->opts.poll_us && now_ns() - b->last_work_ns < b->opts.poll_us * 1000ull)
		return busy_poll(b), 0;
	return -1;
}

int bbd_run(struct bbd *b)
{
	struct epoll_event evs[EVENTS_PER_WAIT];

	/* The devices that were there before our watches. */
	b->rescan = true;
	bbd_xs_events(b, 0);
	while (!b->stop) {
		int n = epoll_wait(b->epfd, evs, EVENTS_PER_WAIT, wait_timeout(b));

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			dispatch(b, &evs[i]);
		run_ready(b);
	}
	return 0;
}

void bbd_fini(struct bbd *b)
{
	struct bbd_device *d;

	/* A hand-over leaves every state as it is, for a successor to re-attach (journals). */
	while ((d = TAILQ_FIRST(&b->devices)))
		bbd_device_forget(d, !b->handover);
	free(b->ports);
	if (b->timerfd >= 0)
		close(b->timerfd);
	if (b->sigfd >= 0)
		close(b->sigfd);
	if (b->epfd >= 0)
		close(b->epfd);
}
