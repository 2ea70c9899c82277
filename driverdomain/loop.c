/* SPDX-License-Identifier: MIT */
/*
 * loop.c - pvio-blkback on the driver-domain core (dd-core.h): the control plane's callbacks
 * and the rings' operations.
 *
 * The control-plane thread follows xenstore, the signals and the statistics timer, and owns
 * every device's blkback_dev (backend/blk/xenbus.h): probe, connect, disconnect, teardown.
 * Each ring is served by one queue thread: queue q of every device by thread q modulo the
 * thread count (online CPUs, or --threads), so a device's queues run on different CPUs.  The
 * ring's port is bound on that thread's own hypervisor handle (blkback_dev_opts.queue_hv) and
 * its grants mapped through it, so a thread wakes only for its own rings.  Why by queue index
 * and not spread: a guest's queue count is what it asked to scale with, and each handle that
 * maps a guest's grants holds that guest's grant views (two fds on the sim provider) while the
 * guest lives; by index, a single-queue guest costs one handle, not one per thread.
 *
 * What each thread sleeps on, and the contract with blkback_ring_process that makes a timeout
 * unnecessary, is at the top of dd-thread.c; the control plane's is at the top of dd-core.c.
 * blkback_ring_process never blocks on a disk (libaio), so a thread only copies requests off
 * rings, submits them and answers completions.
 *
 * Ownership.  BLKBACK_DEV_RINGS_UP hands each ring to its thread (devices.c); a ring is then
 * touched by that thread alone until BLKBACK_DEV_RINGS_DOWN takes it back, which returns only
 * once the thread has let go, before blkback_dev_disconnect detaches the ring: a device's
 * disconnect and teardown cannot race its own I/O (the XSA-350 class).  The counters the
 * statistics files show are the threads' snapshots (bbd_queue.st), taken after each call.
 * A ring whose call fails is reported to the control plane, which fails its device (error
 * node, Closing).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driverdomain/blkbackd.h"

#define PREFIX "pvio-blkback"

#define XS_PER_WAKEUP 64 /* watch events taken per wake-up */

static struct bbd *bbd_of(struct dd_core *c)
{
	return c->arg;
}

/* ---- the rings, on their threads ---- */

static int ring_process(struct dd_ring *r)
{
	return blkback_ring_process(r->obj);
}

static bool ring_poll_wait(struct dd_ring *r)
{
	return blkback_ring_poll_wait(r->obj);
}

/* Publish the counters for the statistics files (only read with --stats-dir). */
static void ring_after(struct dd_ring *r)
{
	struct bbd_queue *q = (struct bbd_queue *)r;

	if (!q->d->b->opts.stats_dir)
		return;
	pthread_mutex_lock(&q->lock);
	blkback_ring_stats(q->ring, &q->st);
	pthread_mutex_unlock(&q->lock);
}

static const struct dd_ring_ops ring_ops = {
	.process = ring_process,
	.poll_wait = ring_poll_wait,
	.after = ring_after,
};

void bbd_queue_attach(struct bbd *b, struct bbd_queue *q, unsigned int idx)
{
	q->r.ops = &ring_ops;
	q->r.obj = q->ring;
	q->r.io_fd = blkback_ring_io_fd(q->ring);
	pthread_mutex_init(&q->lock, NULL);
	blkback_ring_stats(q->ring, &q->st);
	dd_ring_attach(&b->core, idx, &q->r);
	q->attached = true;
}

void bbd_queue_detach(struct bbd_queue *q)
{
	if (!q->attached)
		return;
	dd_ring_detach(&q->r);
	pthread_mutex_destroy(&q->lock);
	q->attached = false;
}

/* ---- the control plane ---- */

static void on_xs(struct dd_core *c)
{
	struct bbd *b = bbd_of(c);
	int ret = bbd_xs_events(b, XS_PER_WAKEUP);

	if (ret) {
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "xenstore: %s", strerror(-ret));
		c->err = ret;
		c->stop = true;
	}
}

static void on_timer(struct dd_core *c)
{
	struct bbd_device *d;

	TAILQ_FOREACH(d, &bbd_of(c)->devices, link)
	bbd_stats_write(d, false);
}

static void on_ring_failed(struct dd_core *c, struct dd_ring *r, int err)
{
	struct bbd_device *d = ((struct bbd_queue *)r)->d;

	(void)c;
	/* Detaches every ring of the device, r included. */
	blkback_dev_ring_failed(d->dev, err);
	bbd_stats_write(d, true);
}

static const struct dd_core_ops core_ops = {
	.xs_events = on_xs,
	.timer = on_timer,
	.ring_failed = on_ring_failed,
};

int bbd_init(struct bbd *b)
{
	struct hv_open_opts hvo = { .log = b->log };

	TAILQ_INIT(&b->devices);
	b->core.prog = PREFIX;
	b->core.log = b->log;
	b->core.xs = b->xs;
	b->core.ops = &core_ops;
	b->core.arg = b;
	b->core.timer = b->opts.stats_dir != NULL;
	b->core.handover_signal = true;
	return dd_core_init(&b->core, dd_core_threads(b->opts.threads), &hvo);
}

int bbd_run(struct bbd *b)
{
	/* The devices that were there before our watches. */
	b->rescan = true;
	bbd_xs_events(b, 0);
	return dd_core_run(&b->core);
}

void bbd_fini(struct bbd *b)
{
	struct bbd_device *d;

	/* A hand-over leaves every state as it is, for a successor to re-attach (journals). */
	while ((d = TAILQ_FIRST(&b->devices)))
		bbd_device_forget(d, !b->core.handover);
	dd_core_fini(&b->core);
}
