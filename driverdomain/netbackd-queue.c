/* SPDX-License-Identifier: MIT */
/*
 * netbackd-queue.c - pvio-netback's queue threads: one per queue, each the only caller of its
 * queue's netback_queue_process, woken by an eventfd the main thread writes when one of the
 * queue's ports fires, by its TAP while netback_queue_wants_tap says so, and at the credit
 * deadline of its rate (netback_queue_deadline): that timeout is the timer event itself, the end
 * of a credit window, not a stand-in for a lost wake-up.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "driverdomain/netbackd.h"

#define PREFIX "pvio-netback"

static void publish(struct nbd_queue *nq)
{
	pthread_mutex_lock(&nq->lock);
	netback_queue_stats(nq->dq->q, &nq->st);
	pthread_mutex_unlock(&nq->lock);
}

/* CLOCK_MONOTONIC in ns. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How long until the earlier of two deadlines (CLOCK_MONOTONIC ns, 0: none), in *ts: NULL when
 * there is none. */
static struct timespec *until(uint64_t a, uint64_t b, struct timespec *ts)
{
	uint64_t deadline = !a ? b : !b || a < b ? a : b, n;

	if (!deadline)
		return NULL;
	n = now_ns();
	n = deadline > n ? deadline - n : 0;
	ts->tv_sec = (time_t)(n / 1000000000u);
	ts->tv_nsec = (long)(n % 1000000000u);
	return ts;
}

/* Wait for an event, the TAP (when wanted), the rate's credit deadline or stop. */
static void wait_work(struct nbd_queue *nq)
{
	struct timespec ts;
	struct pollfd pfd[2] = {
		{ .fd = nq->evfd, .events = POLLIN },
		{ .fd = netback_queue_wants_tap(nq->dq->q) ? nq->dq->tap_fd : -1,
		  .events = POLLIN },
	};
	uint64_t v;

	if (ppoll(pfd, 2, until(netback_queue_deadline(nq->dq->q), nq->unmask_at, &ts), NULL) > 0 &&
	    (pfd[0].revents & POLLIN))
		(void)!read(nq->evfd, &v, sizeof(v));
}

static void unmask(struct nbd_queue *nq)
{
	const struct netback_dev_queue *dq = nq->dq;

	hv_evtchn_unmask(nq->b->hv, dq->tx_port);
	if (dq->rx_port != dq->tx_port)
		hv_evtchn_unmask(nq->b->hv, dq->rx_port);
	nq->unmask_at = 0;
}

/*
 * The late EOI (netback_queue_eoi): the main thread left the ports masked from their event;
 * unmask them now that the queue is idle, or at the time the storm bound says.
 */
static void eoi(struct nbd_queue *nq)
{
	if (atomic_exchange(&nq->masked, false)) {
		nq->unmask_at = netback_queue_eoi(nq->dq->q, now_ns());
		if (!nq->unmask_at)
			unmask(nq);
	}
}

/* The time of a held unmask came. */
static void eoi_timer(struct nbd_queue *nq)
{
	if (nq->unmask_at && now_ns() >= nq->unmask_at)
		unmask(nq);
}

static void *queue_main(void *arg)
{
	struct nbd_queue *nq = arg;
	uint64_t one = 1;

	while (!atomic_load(&nq->stop)) {
		int rc = netback_queue_process(nq->dq->q);

		publish(nq);
		if (rc < 0) {
			atomic_store(&nq->failed, rc);
			(void)!write(nq->b->failfd, &one, sizeof(one));
			break;
		}
		if (rc == 0) {
			eoi(nq);
			wait_work(nq);
			eoi_timer(nq);
		}
	}
	return NULL;
}

static void queue_stop(struct nbd_queue *nq)
{
	uint64_t one = 1;

	if (nq->started) {
		atomic_store(&nq->stop, true);
		(void)!write(nq->evfd, &one, sizeof(one));
		pthread_join(nq->thread, NULL);
		nq->started = false;
	}
	if (nq->evfd >= 0)
		close(nq->evfd);
	nq->evfd = -1;
	pthread_mutex_destroy(&nq->lock);
}

void nbd_queues_stop(struct nbd_device *d)
{
	for (unsigned int i = 0; i < d->nr_queues; i++)
		queue_stop(&d->queues[i]);
	free(d->queues);
	d->queues = NULL;
	d->nr_queues = 0;
}

int nbd_queues_start(struct nbd_device *d)
{
	struct netback_dev *dev = d->dev;
	int ret = 0;

	d->queues = calloc(dev->nr_queues, sizeof(*d->queues));
	if (!d->queues)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct nbd_queue *nq = &d->queues[i];

		nq->b = d->b;
		nq->dq = &dev->queues[i];
		pthread_mutex_init(&nq->lock, NULL);
		d->nr_queues = i + 1;
		nq->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (nq->evfd < 0) {
			ret = -errno;
			break;
		}
		ret = -pthread_create(&nq->thread, NULL, queue_main, nq);
		if (ret)
			break;
		nq->started = true;
	}
	if (ret)
		nbd_queues_stop(d);
	return ret;
}

void nbd_queues_kick(struct nbd_device *d)
{
	uint64_t one = 1;

	for (unsigned int i = 0; i < d->nr_queues; i++)
		(void)!write(d->queues[i].evfd, &one, sizeof(one));
}

bool nbd_port_event(struct nbd *b, evtchn_port_t port)
{
	struct nbd_device *d;
	uint64_t one = 1;

	TAILQ_FOREACH(d, &b->devices, link)
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		const struct netback_dev_queue *dq = d->queues[i].dq;

		if (dq->tx_port == port || dq->rx_port == port) {
			atomic_store(&d->queues[i].masked, true);
			(void)!write(d->queues[i].evfd, &one, sizeof(one));
			return true;
		}
	}
	return false;
}

void nbd_device_stats(struct nbd_device *d, struct netback_stats *st)
{
	if (!d->nr_queues) {
		netback_dev_stats(d->dev, st);
		return;
	}
	*st = d->dev->past;
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		pthread_mutex_lock(&d->queues[i].lock);
		netback_stats_add(st, &d->queues[i].st);
		pthread_mutex_unlock(&d->queues[i].lock);
	}
}
