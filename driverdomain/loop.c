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
#include <time.h>

#include "driverdomain/blkbackd.h"
#include "driverdomain/handover.h"

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

/* Late EOI against a guest's event storm (XSA-332); its counters published at once. */
static uint64_t ring_eoi(struct dd_ring *r, uint64_t now)
{
	uint64_t at = blkback_ring_eoi(r->obj, now);

	ring_after(r);
	return at;
}

static const struct dd_ring_ops ring_ops = {
	.process = ring_process,
	.poll_wait = ring_poll_wait,
	.after = ring_after,
	.eoi = ring_eoi,
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

/* A successor asked: leave every device (dd_core_ops.leave). */
static void on_leave(struct dd_core *c)
{
	struct bbd_device *d;

	TAILQ_FOREACH(d, &bbd_of(c)->devices, link)
	blkback_dev_leave(d->dev);
}

/* It went away without taking over: serve them again from the journals. */
static void on_take_back(struct dd_core *c)
{
	struct bbd_device *d, *tmp;

	for (d = TAILQ_FIRST(&bbd_of(c)->devices); d; d = tmp) {
		tmp = TAILQ_NEXT(d, link);
		if (blkback_dev_take_back(d->dev))
			bbd_device_forget(d, false);
		else
			bbd_stats_write(d, true);
	}
}

static const struct dd_core_ops core_ops = {
	.xs_events = on_xs,
	.timer = on_timer,
	.ring_failed = on_ring_failed,
	.leave = on_leave,
	.take_back = on_take_back,
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

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* pvio-blkback.pid in the journal directory: who serves now (for the admin, and tests). */
static void pidfile(struct bbd *b)
{
	int ret;

	if (!b->opts.dev.journal)
		return;
	ret = dd_handover_pidfile(b->opts.dev.journal_dirfd, PREFIX);
	if (ret)
		pvio_log(b->log, PVIO_LOG_WARN, PREFIX, "pid file: %s", strerror(-ret));
}

int bbd_run(struct bbd *b)
{
	int ret;

	if (!b->opts.takeover)
		pidfile(b);
	/*
	 * The devices there now, then the watch: it fires once when set (xenstore's rule), which
	 * rescans, so a device that came meanwhile is found, and serving does not wait for it.
	 */
	b->rescan = true;
	bbd_xs_events(b, 0);
	if (!b->opts.takeover)
		pvio_log(b->log, PVIO_LOG_INFO, PREFIX,
			 "devices found and served %llu us after start",
			 (unsigned long long)(mono_us() - b->start_us));
	ret = bbd_watch(b);
	if (ret) {
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "watching %s/backend: %s", b->home,
			 strerror(-ret));
		return ret;
	}
	return dd_core_run(&b->core);
}

/*
 * The successor's side of a hand-over.  Everything that does not need the devices is done
 * first, while the predecessor serves: threads, disks, every key a re-attach reads.  Then the
 * predecessor leaves, and each device is re-attached (or started) at once: a port bound, the
 * rings mapped and their journals loaded per queue, no xenstore round trip for a device that
 * was read ahead.  Failing to reach the predecessor hands nothing over.
 */
int bbd_takeover(struct bbd *b)
{
	struct bbd_device *d, *tmp;
	uint64_t t0, t1;
	int ret = dd_core_start(&b->core);

	if (ret)
		return ret;
	b->preparing = true;
	b->rescan = true;
	bbd_rescan(b);
	b->preparing = false;
	/* A device we could not serve (another --storage, a disk that does not open): refuse. */
	TAILQ_FOREACH(d, &b->devices, link)
	if (d->dev->quiet_err && d->dev->xd.state == XenbusStateConnected && !ret)
		ret = d->dev->quiet_err;
	t0 = mono_us();
	if (ret)
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX,
			 "cannot serve every device the running daemon serves (same options?)");
	else
		ret = dd_core_takeover(&b->core);
	if (ret) {
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX,
			 "hand-over: %s (no daemon left its devices: nothing was taken over)",
			 strerror(-ret));
		b->core.handover = true; /* exit leaving every device as it is */
		return ret;
	}
	t1 = mono_us();
	for (d = TAILQ_FIRST(&b->devices); d; d = tmp) {
		tmp = TAILQ_NEXT(d, link);
		if (blkback_dev_go(d->dev, true))
			bbd_device_forget(d, false);
	}
	pvio_log(b->log, PVIO_LOG_INFO, PREFIX,
		 "took over: the predecessor left in %llu us, devices served %llu us later",
		 (unsigned long long)(t1 - t0), (unsigned long long)(mono_us() - t1));
	ret = dd_core_takeover_done(&b->core);
	if (ret) /* it is gone anyway: we serve */
		pvio_log(b->log, PVIO_LOG_WARN, PREFIX, "hand-over: %s", strerror(-ret));
	pidfile(b);
	return bbd_run(b);
}

void bbd_fini(struct bbd *b)
{
	struct bbd_device *d;

	/* A hand-over leaves every state as it is, for a successor to re-attach (journals). */
	if (b->core.handover)
		on_leave(&b->core);
	while ((d = TAILQ_FIRST(&b->devices)))
		bbd_device_forget(d, !b->core.handover);
	dd_core_fini(&b->core);
}
