/* SPDX-License-Identifier: MIT */
/*
 * netbackd-queue.c - pvio-netback's queues on the driver-domain core's queue threads
 * (dd-core.h).  Queue q of every vif is served by thread q modulo the thread count, the only
 * caller of its netback_queue_process; its ports are bound on that thread's own hypervisor
 * handle.  The thread wakes for the queue's ports, for its TAP while netback_queue_wants_tap
 * says so (dd_ring_ops.extra_fd), and at the end of the rate's credit window while TX waits for
 * credit (dd_ring_ops.deadline: a real timer, the only thing that can end that wait); its ports
 * get a late EOI against an event storm (dd_ring_ops.eoi, netback_queue_eoi: XSA-332).  No other
 * wake-up depends on a timeout (the thread's contract is at the top of dd-thread.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driverdomain/netbackd.h"

static int queue_process(struct dd_ring *r)
{
	return netback_queue_process(r->obj);
}

static int queue_extra_fd(struct dd_ring *r)
{
	struct nbd_queue *nq = (struct nbd_queue *)r;

	return netback_queue_wants_tap(nq->dq->q) ? nq->dq->tap_fd : -1;
}

/* Publish the counters for the statistics files. */
static void queue_after(struct dd_ring *r)
{
	struct nbd_queue *nq = (struct nbd_queue *)r;

	pthread_mutex_lock(&nq->lock);
	netback_queue_stats(nq->dq->q, &nq->st);
	netback_queue_view(nq->dq->q, &nq->view);
	pthread_mutex_unlock(&nq->lock);
}

static uint64_t queue_deadline(struct dd_ring *r)
{
	return netback_queue_deadline(r->obj);
}

static uint64_t queue_eoi(struct dd_ring *r, uint64_t now)
{
	return netback_queue_eoi(r->obj, now);
}

static const struct dd_ring_ops queue_ops = {
	.process = queue_process,
	.extra_fd = queue_extra_fd,
	.after = queue_after,
	.deadline = queue_deadline,
	.eoi = queue_eoi,
};

static int ctrl_process(struct dd_ring *r)
{
	return netback_ctrl_process(r->obj);
}

static uint64_t ctrl_eoi(struct dd_ring *r, uint64_t now)
{
	return netback_ctrl_eoi(r->obj, now);
}

/* Publish its event counters for the statistics files. */
static void ctrl_after(struct dd_ring *r)
{
	struct nbd_queue *nq = (struct nbd_queue *)r;

	pthread_mutex_lock(&nq->lock);
	netback_ctrl_stats(r->obj, &nq->st);
	pthread_mutex_unlock(&nq->lock);
}

/* The control ring: its port gets the queues' late EOI against a guest's notify storm. */
static const struct dd_ring_ops ctrl_ops = {
	.process = ctrl_process,
	.after = ctrl_after,
	.eoi = ctrl_eoi,
};

struct hv *nbd_queue_hv(void *arg, unsigned int q)
{
	struct nbd_device *d = arg;

	return dd_core_thread_hv(&d->b->core, q);
}

void nbd_queue_wake(void *arg, unsigned int q)
{
	struct nbd_device *d = arg;

	/*
	 * Under the hash's lock, before netback_hash_close.  Until nbd_queues_start has attached
	 * every queue (steering says so; the other threads run meanwhile) a queue may not have
	 * its thread yet: the frame waits for the kick that start gives every queue at its end.
	 */
	if (atomic_load(&d->steering) && q < d->nr_queues)
		dd_ring_kick(&d->queues[q].r);
}

void nbd_queues_stop(struct nbd_device *d)
{
	atomic_store(&d->steering, false);
	if (d->ctrl.attached) {
		dd_ring_detach(&d->ctrl.r);
		pthread_mutex_destroy(&d->ctrl.lock);
		d->ctrl.attached = false;
	}
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct nbd_queue *nq = &d->queues[i];

		if (!nq->attached)
			continue;
		dd_ring_detach(&nq->r);
		pthread_mutex_destroy(&nq->lock);
		nq->attached = false;
	}
	free(d->queues);
	d->queues = NULL;
	d->nr_queues = 0;
}

int nbd_queues_start(struct nbd_device *d)
{
	struct netback_dev *dev = d->dev;

	d->queues = calloc(dev->nr_queues, sizeof(*d->queues));
	if (!d->queues)
		return -ENOMEM;
	d->nr_queues = dev->nr_queues;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct nbd_queue *nq = &d->queues[i];

		nq->dq = &dev->queues[i];
		nq->d = d;
		nq->dq->user = nq;
		nq->r.ops = &queue_ops;
		nq->r.obj = nq->dq->q;
		nq->r.ports[0] = nq->dq->tx_port;
		nq->r.ports[1] = nq->dq->rx_port != nq->dq->tx_port ? nq->dq->rx_port : 0;
		nq->r.io_fd = -1;
		pthread_mutex_init(&nq->lock, NULL);
		netback_queue_stats(nq->dq->q, &nq->st);
		netback_queue_view(nq->dq->q, &nq->view);
		dd_ring_attach(&d->b->core, i, &nq->r);
		nq->attached = true;
	}
	if (dev->ctrl) { /* on queue 0's thread, whose handle its port is bound on */
		d->ctrl = (struct nbd_queue){ .d = d };
		d->ctrl.r.ops = &ctrl_ops;
		d->ctrl.r.obj = dev->ctrl;
		d->ctrl.r.ports[0] = dev->ctrl_port;
		d->ctrl.r.io_fd = -1;
		pthread_mutex_init(&d->ctrl.lock, NULL);
		dd_ring_attach(&d->b->core, 0, &d->ctrl.r);
		d->ctrl.attached = true;
	}
	/*
	 * A queue thread may have steered a frame to a queue not yet marked attached, whose
	 * thread had already looked at its inbox: kick them all once now that each has a thread.
	 */
	atomic_store(&d->steering, true);
	nbd_queues_kick(d);
	return 0;
}

void nbd_queues_kick(struct nbd_device *d)
{
	for (unsigned int i = 0; i < d->nr_queues; i++)
		if (d->queues[i].attached)
			dd_ring_kick(&d->queues[i].r);
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
	if (d->ctrl.attached) {
		pthread_mutex_lock(&d->ctrl.lock);
		netback_stats_add(st, &d->ctrl.st);
		pthread_mutex_unlock(&d->ctrl.lock);
	}
}

bool nbd_queues_moved(struct nbd_device *d)
{
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct nbd_queue *nq = &d->queues[i];
		struct ring_indices tx, rx;

		if (!nq->attached)
			continue;
		netback_queue_indices(nq->dq->q, &tx, &rx);
		if (memcmp(&tx, &nq->shown_tx, sizeof(tx)) ||
		    memcmp(&rx, &nq->shown_rx, sizeof(rx)))
			return true;
	}
	return false;
}

static void ring_line(FILE *f, unsigned int i, const char *name, const struct ring_indices *now,
		      const struct ring_indices *then, uint32_t cons)
{
	fprintf(f,
		"queue%u-%s req-prod %u req-event %u rsp-prod %u rsp-event %u; at the last call "
		"req-prod %u req-cons %u req-event %u\n",
		i, name, now->req_prod, now->req_event, now->rsp_prod, now->rsp_event,
		then->req_prod, cons, then->req_event);
}

/*
 * A stalled queue shows itself here: requests published past our consumer while its thread
 * hears no event (events), or is called no more (calls).
 */
void nbd_queues_write(struct nbd_device *d, FILE *f)
{
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct nbd_queue *nq = &d->queues[i];
		struct netback_queue_view v;
		struct ring_indices tx, rx;

		if (!nq->attached)
			continue;
		netback_queue_indices(nq->dq->q, &tx, &rx);
		pthread_mutex_lock(&nq->lock);
		v = nq->view;
		pthread_mutex_unlock(&nq->lock);
		fprintf(f, "queue%u-thread %u\nqueue%u-calls %llu\nqueue%u-events %llu\n", i,
			nq->r.t->idx, i, (unsigned long long)atomic_load(&nq->r.calls), i,
			(unsigned long long)atomic_load(&nq->r.events));
		ring_line(f, i, "tx-ring", &tx, &v.tx, v.tx_cons);
		ring_line(f, i, "rx-ring", &rx, &v.rx, v.rx_cons);
		nq->shown_tx = tx;
		nq->shown_rx = rx;
	}
}
