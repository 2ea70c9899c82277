/* SPDX-License-Identifier: MIT */
/*
 * dd-thread.c - the driver-domain core's queue threads (dd-core.h).
 *
 * Each thread sleeps in epoll_wait over: its own hypervisor handle's event fd (a pending port
 * leads to its ring through the thread's port table), every owned ring's io fd, the extra fd a
 * ring asks for (ops->extra_fd, e.g. a TAP while RX is wanted), and its control eventfd
 * (messages: attach, detach, stop; kicks).
 *
 * The contract with the rings (blkback_ring_process, netback_queue_process): a ring is put on
 * the ready list, and processed in the next round, when it is attached (the front may have
 * queued requests already), when its port is pending, when its io fd or extra fd polls readable
 * (epoll is level-triggered, so completions left unreaped wake us again), and after each call
 * that returned 1.  On every other return the ring has left its port's req_event armed or a
 * completion pending on a polled fd, so no wake-up depends on a timeout: epoll sleeps with -1
 * unless rings are ready or a ring has a timer of its own.  Those are real timers, the only
 * thing that ends what they wait for: a throttled ring's credit window (ops->deadline) and a
 * late EOI held against an event storm (ops->eoi: the ring's ports stay masked until then, and
 * the ring is processed again when they are unmasked).  Polling only adds calls: a ring whose
 * call returned 0 while nothing else is ready is polled for its budget (ops->poll_wait:
 * pvio-blkback's adaptive polling, or --poll-us) and made ready again if work appeared; a poll
 * may leave the event index unarmed while it spins, and arms it again before it returns false,
 * so the contract holds for every ring the thread sleeps on.  A ring whose process call fails
 * is called no more and reported to the control plane, which disconnects its device.
 *
 * Fairness: a ring with more work goes to the back of the ready list; each round is bounded, so
 * one busy guest cannot starve the others or the thread's messages.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "driverdomain/dd-core.h"
#include "ring/adaptive.h"

enum {
	DD_MSG_ADD = 1,
	DD_MSG_DEL,
};

/* epoll data: the fixed fds' tags; a ring's fds carry the ring's address. */
enum {
	TAG_EVTCHN = 1,
	TAG_CTL,
};

#define EVENTS_PER_WAIT	 64
#define PORTS_PER_WAKEUP 1024
#define RINGS_PER_ROUND	 256
#define PORTS_MAX	 (1u << 17) /* Xen's FIFO ABI */

static void ring_ready(struct dd_thread *t, struct dd_ring *r)
{
	if (r->ready || r->failed)
		return;
	r->ready = true;
	TAILQ_INSERT_TAIL(&t->ready, r, link);
}

/*
 * The threads' clock, for the late EOI's unmask times and the rings' deadlines, which a tick's
 * error does not hurt: no system call where CLOCK_MONOTONIC would be one (ring_stat_now), for it
 * is read each time a masked ring goes idle.
 */
static uint64_t now_ns(void)
{
	return ring_stat_now();
}

/* End r's late EOI: unmask its ports. */
static void ring_unmask(struct dd_thread *t, struct dd_ring *r)
{
	for (unsigned int i = 0; i < 2; i++)
		if (r->ports[i])
			hv_evtchn_unmask(t->hv, r->ports[i]);
	r->unmask_at = 0;
}

static int epoll_add(int epfd, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Report r's failure to the control plane (once). */
static void ring_fail(struct dd_thread *t, struct dd_ring *r, int err)
{
	struct dd_core *c = t->c;
	uint64_t one = 1;

	r->failed = true;
	if (r->ready) {
		TAILQ_REMOVE(&t->ready, r, link);
		r->ready = false;
	}
	atomic_store(&r->err, err);
	pthread_mutex_lock(&c->lock);
	if (!r->reported) {
		r->reported = true;
		TAILQ_INSERT_TAIL(&c->failed, r, fail_link);
	}
	pthread_mutex_unlock(&c->lock);
	(void)!write(c->failfd, &one, sizeof(one));
}

static int ports_grow(struct dd_thread *t, evtchn_port_t port)
{
	unsigned int n = port + 64 < PORTS_MAX ? port + 64 : PORTS_MAX;
	struct dd_ring **p;

	if (port < t->nports)
		return 0;
	if (port >= PORTS_MAX)
		return -ERANGE;
	p = realloc(t->ports, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + t->nports, 0, (n - t->nports) * sizeof(*p));
	t->ports = p;
	t->nports = n;
	return 0;
}

static void ring_add(struct dd_thread *t, struct dd_ring *r)
{
	int ret = 0;

	r->extra = -1;
	r->masked = false;
	r->unmask_at = r->due = 0;
	for (unsigned int i = 0; i < 2 && !ret; i++)
		if (r->ports[i] && !(ret = ports_grow(t, r->ports[i])))
			t->ports[r->ports[i]] = r;
	if (!ret && r->io_fd >= 0)
		ret = epoll_add(t->epfd, r->io_fd, (uintptr_t)r);
	atomic_fetch_add(&t->stats.rings, 1);
	if (ret)
		ring_fail(t, r, ret);
	else
		ring_ready(t, r);
}

static void ring_del(struct dd_thread *t, struct dd_ring *r)
{
	/*
	 * A late EOI still holding its ports masked ends here: on Xen the mask outlives the ring,
	 * and a ring attached again (a reconnect, another thread) would never hear its port.
	 */
	if (r->masked || r->unmask_at)
		ring_unmask(t, r);
	r->masked = false;
	if (r->ready)
		TAILQ_REMOVE(&t->ready, r, link);
	r->ready = false;
	for (unsigned int i = 0; i < 2; i++)
		if (r->ports[i] && r->ports[i] < t->nports && t->ports[r->ports[i]] == r)
			t->ports[r->ports[i]] = NULL;
	if (r->io_fd >= 0)
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, r->io_fd, NULL);
	if (r->extra >= 0)
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, r->extra, NULL);
	r->extra = -1;
	atomic_fetch_sub(&t->stats.rings, 1);
}

/* Act on the queued messages; false once asked to stop. */
static bool on_ctl(struct dd_thread *t)
{
	struct dd_msg *m;
	uint64_t v;
	bool stop;

	/*
	 * Take the count, then clear the flag: a kick or message between the two has added to
	 * the count already or will write it after, so a flag left set always has a wake-up
	 * behind it.  The other way round, one landing between them set the flag again while the
	 * read took its count: the flag stayed set with nothing to wake on it, and run_ready,
	 * which yields to a set flag, never processed a ring again (the thread spun).
	 */
	(void)!read(t->ctlfd, &v, sizeof(v));
	atomic_store(&t->ctl, false);
	pthread_mutex_lock(&t->lock);
	while ((m = TAILQ_FIRST(&t->msgs))) {
		TAILQ_REMOVE(&t->msgs, m, link);
		if (m->op == DD_MSG_ADD)
			ring_add(t, m->r);
		else
			ring_del(t, m->r);
		m->done = true;
	}
	stop = t->stop;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (atomic_exchange(&t->kick, false))
		for (unsigned int p = 0; p < t->nports; p++) {
			struct dd_ring *r = t->ports[p];

			if (r && atomic_exchange(&r->kicked, false))
				ring_ready(t, r);
		}
	return !stop;
}

static void on_evtchn(struct dd_thread *t)
{
	evtchn_port_t port;

	for (unsigned int i = 0; i < PORTS_PER_WAKEUP && hv_evtchn_pending(t->hv, &port) == 0;
	     i++) {
		struct dd_ring *r = port < t->nports ? t->ports[port] : NULL;

		if (r)
			atomic_fetch_add_explicit(&r->events, 1, memory_order_relaxed);
		if (r && r->ops->eoi) {
			/* Late EOI: masked until the ring is idle again (run_ready), or held. */
			if (r->unmask_at)
				continue;
			r->masked = true;
		} else {
			/* Unmask first: an event after this wakes us again, process() re-checks. */
			hv_evtchn_unmask(t->hv, port);
		}
		if (r)
			ring_ready(t, r);
	}
	if (hv_check(t->hv) && !atomic_exchange(&t->c->hv_gone, 1)) {
		uint64_t one = 1;

		(void)!write(t->c->failfd, &one, sizeof(one));
	}
}

/* Keep the ring's extra fd in the epoll set while it asks for one. */
static void extra_update(struct dd_thread *t, struct dd_ring *r)
{
	int fd = r->ops->extra_fd && !r->failed ? r->ops->extra_fd(r) : -1;

	if (fd == r->extra)
		return;
	if (r->extra >= 0)
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, r->extra, NULL);
	r->extra = -1;
	if (fd >= 0 && epoll_add(t->epfd, fd, (uintptr_t)r | 1u) == 0)
		r->extra = fd;
}

/*
 * One bounded round over the ready rings; a ring with more work goes to the back.  A message
 * ends the round at once (and keeps rings from polling): the control plane may be waiting for
 * this thread to let go of a ring, and a round of busy, polled rings can last long on a loaded
 * machine.
 */
static void run_ready(struct dd_thread *t)
{
	for (unsigned int i = 0;
	     i < RINGS_PER_ROUND && !TAILQ_EMPTY(&t->ready) && !atomic_load(&t->ctl); i++) {
		struct dd_ring *r = TAILQ_FIRST(&t->ready);
		int ret;

		TAILQ_REMOVE(&t->ready, r, link);
		r->ready = false;
		ret = r->ops->process(r);
		atomic_fetch_add_explicit(&t->stats.processed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->calls, 1, memory_order_relaxed);
		if (r->ops->after)
			r->ops->after(r);
		/* About to go idle: poll it a while, unless another ring waits for its turn. */
		if (ret == 0 && TAILQ_EMPTY(&t->ready) && !atomic_load(&t->ctl) &&
		    r->ops->poll_wait && r->ops->poll_wait(r))
			ret = 1;
		if (ret == 0 && r->masked) {
			r->masked = false;
			r->unmask_at = r->ops->eoi(r, now_ns());
			if (!r->unmask_at)
				ring_unmask(t, r);
		}
		r->due = ret == 0 && r->ops->deadline ? r->ops->deadline(r) : 0;
		if (ret < 0)
			ring_fail(t, r, ret);
		else if (ret == 1)
			ring_ready(t, r);
		extra_update(t, r);
	}
}

/*
 * How long epoll may sleep: not at all while rings are ready, else until the earliest of the
 * rings' timers (a held unmask, a deadline), else for ever.
 */
static int wait_timeout(struct dd_thread *t)
{
	uint64_t next = 0, now;

	if (!TAILQ_EMPTY(&t->ready))
		return 0;
	for (unsigned int p = 0; p < t->nports; p++) {
		const struct dd_ring *r = t->ports[p];

		if (!r || r->failed)
			continue;
		if (r->unmask_at && (!next || r->unmask_at < next))
			next = r->unmask_at;
		if (r->due && (!next || r->due < next))
			next = r->due;
	}
	t->next_timer = next;
	if (!next)
		return -1;
	now = now_ns();
	/* Rounded up: waking early would only spin until the time comes. */
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

/* The rings whose timers came: unmask held ports, process what is due. */
static void run_timers(struct dd_thread *t)
{
	uint64_t now;

	if (!t->next_timer || (now = now_ns()) < t->next_timer)
		return;
	for (unsigned int p = 0; p < t->nports; p++) {
		struct dd_ring *r = t->ports[p];

		if (!r || r->failed)
			continue;
		if (r->unmask_at && r->unmask_at <= now) {
			ring_unmask(t, r);
			ring_ready(t, r);
		}
		if (r->due && r->due <= now) {
			r->due = 0;
			ring_ready(t, r);
		}
	}
}

static void dispatch(struct dd_thread *t, uint64_t data)
{
	struct dd_ring *r;

	if (data == TAG_EVTCHN) {
		on_evtchn(t);
		return;
	}
	r = (struct dd_ring *)(uintptr_t)(data & ~(uint64_t)1);
	ring_ready(t, r);
}

static void *thread_main(void *arg)
{
	struct dd_thread *t = arg;
	struct epoll_event evs[EVENTS_PER_WAIT];
	bool run = true;

	while (run) {
		int n = epoll_wait(t->epfd, evs, EVENTS_PER_WAIT, wait_timeout(t));
		bool ctl = false;

		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == TAG_CTL)
				ctl = true;
			else
				dispatch(t, evs[i].data.u64);
		}
		/*
		 * The messages last: a ring's event returned with the message that detaches it
		 * (taken first, it made the detached ring ready again, and its caller may have
		 * freed it by then).  Taken after, the detach takes the ring off the ready list.
		 */
		if (ctl)
			run = on_ctl(t);
		if (run) {
			run_timers(t);
			run_ready(t);
		}
	}
	return NULL;
}

int dd_thread_open(struct dd_thread *t, const struct hv_open_opts *hvo)
{
	int ret;

	TAILQ_INIT(&t->msgs);
	TAILQ_INIT(&t->ready);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->ctlfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->epfd < 0 || t->ctlfd < 0)
		return -errno;
	ret = hv_open(&t->hv, hvo);
	if (ret)
		return ret;
	if ((ret = epoll_add(t->epfd, hv_evtchn_fd(t->hv), TAG_EVTCHN)) ||
	    (ret = epoll_add(t->epfd, t->ctlfd, TAG_CTL)))
		return ret;
	return 0;
}

int dd_thread_start(struct dd_thread *t)
{
	int ret = -pthread_create(&t->thread, NULL, thread_main, t);

	t->started = ret == 0;
	return ret;
}

/* Queue m and wake the thread. */
static void post(struct dd_thread *t, struct dd_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&t->lock);
	m->done = false;
	TAILQ_INSERT_TAIL(&t->msgs, m, link);
	pthread_mutex_unlock(&t->lock);
	atomic_store(&t->ctl, true);
	(void)!write(t->ctlfd, &one, sizeof(one));
}

void dd_thread_close(struct dd_thread *t)
{
	uint64_t one = 1;

	if (t->started) {
		pthread_mutex_lock(&t->lock);
		t->stop = true;
		pthread_mutex_unlock(&t->lock);
		atomic_store(&t->ctl, true);
		(void)!write(t->ctlfd, &one, sizeof(one));
		pthread_join(t->thread, NULL);
		t->started = false;
	}
	if (t->hv)
		hv_close(t->hv);
	t->hv = NULL;
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->ctlfd >= 0)
		close(t->ctlfd);
	t->epfd = t->ctlfd = -1;
	free(t->ports);
	t->ports = NULL;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

int dd_ring_attach(struct dd_core *c, unsigned int idx, struct dd_ring *r)
{
	struct dd_thread *t = &c->threads[idx % c->nthreads];

	r->t = t;
	r->ready = r->failed = r->reported = false;
	r->extra = -1;
	atomic_store(&r->err, 0);
	atomic_store(&r->calls, 0);
	atomic_store(&r->events, 0);
	r->add.op = DD_MSG_ADD;
	r->add.r = r;
	/* Before dd_core_run too: the count stays on the eventfd until the thread starts. */
	post(t, &r->add);
	return 0;
}

void dd_ring_kick(struct dd_ring *r)
{
	uint64_t one = 1;

	atomic_store(&r->kicked, true);
	atomic_store(&r->t->kick, true);
	atomic_store(&r->t->ctl, true);
	(void)!write(r->t->ctlfd, &one, sizeof(one));
}

void dd_ring_detach(struct dd_ring *r)
{
	struct dd_thread *t = r->t;
	struct dd_core *c = t->c;
	struct dd_msg del = { .op = DD_MSG_DEL, .r = r };

	if (!t->started) {
		pthread_mutex_lock(&t->lock);
		if (!r->add.done)
			TAILQ_REMOVE(&t->msgs, &r->add, link);
		pthread_mutex_unlock(&t->lock);
	} else {
		post(t, &del);
		pthread_mutex_lock(&t->lock);
		while (!del.done)
			pthread_cond_wait(&t->cond, &t->lock);
		pthread_mutex_unlock(&t->lock);
	}
	/* The thread has let go: forget a failure report not yet acted on. */
	pthread_mutex_lock(&c->lock);
	if (r->reported)
		TAILQ_REMOVE(&c->failed, r, fail_link);
	r->reported = false;
	pthread_mutex_unlock(&c->lock);
	r->t = NULL;
}
