/* SPDX-License-Identifier: MIT */
/*
 * devices.c - pvio-blkback's device table: find devices under <home>/backend/<kind>, follow
 * their xenstore watches, and hand their rings to the queue threads and take them back.
 *
 * Watches.  One watch per kind on <home>/backend/<kind> (its events cover every key below it)
 * and one per device on the front's state.  Events are only counted into per-device flags while
 * they are read; each touched device is then handled once, re-reading what it needs, so a front
 * that floods its state costs one read per wake-up (XSA-349).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driverdomain/blkbackd.h"
#include "xenbus/backend.h"

#define PREFIX	      "pvio-blkback"
#define TOKEN_BACKEND "pvio-blkback-backend"

static const char *const kind_names[] = { "vbd", "qdisk" };

/* ---- rings: the notify hook ---- */

/* blkback_dev_opts.queue_hv: queue q's port and maps go on its thread's handle. */
static struct hv *queue_hv(void *arg, unsigned int q)
{
	struct bbd_device *d = arg;

	return dd_core_thread_hv(&d->b->core, q);
}

/*
 * BLKBACK_DEV_RINGS_UP: hand every ring of d to its thread, which serves it at once, for the
 * front may have queued requests before we attached.  Only memory can fail here: a negative
 * errno then, and the device fails (blkback_dev_opts).
 */
static int rings_up(struct bbd_device *d)
{
	struct blkback_dev *dev = d->dev;
	struct bbd *b = d->b;

	d->queues = calloc(dev->nr_queues, sizeof(*d->queues));
	if (!d->queues) {
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "%s: out of memory", dev->name);
		return -ENOMEM;
	}
	d->nr_queues = dev->nr_queues;
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct bbd_queue *q = &d->queues[i];

		q->d = d;
		q->ring = dev->queues[i].ring;
		dev->queues[i].user = q;
		q->r.ports[0] = dev->queues[i].port;
		bbd_queue_attach(b, q, i);
	}
	return 0;
}

/* BLKBACK_DEV_RINGS_DOWN: take every ring back from its thread, waiting until it let go. */
static void rings_down(struct bbd_device *d)
{
	for (unsigned int i = 0; i < d->nr_queues; i++)
		bbd_queue_detach(&d->queues[i]);
	free(d->queues);
	d->queues = NULL;
	d->nr_queues = 0;
}

static int dev_notify(void *arg, struct blkback_dev *dev, enum blkback_dev_event ev)
{
	struct bbd_device *d = arg;

	(void)dev;
	if (ev == BLKBACK_DEV_RINGS_UP)
		return rings_up(d);
	if (ev == BLKBACK_DEV_RINGS_DOWN)
		rings_down(d);
	else
		d->stats_dirty = true;
	return 0;
}

/* ---- the device table ---- */

static struct bbd_device *find_path(struct bbd *b, const char *path, size_t len)
{
	struct bbd_device *d;

	TAILQ_FOREACH(d, &b->devices, link)
	if (!strncmp(d->path, path, len) && d->path[len] == '\0')
		return d;
	return NULL;
}

/*
 * A finished device's directory (state Closed, online 0): in a driver domain, removed as
 * `xl devd` would, for dom0's libxl waits for that (10 s, then an error); in dom0 libxl removes
 * it itself.  Not with --keep-finished (an xl devd there does it).
 */
static void remove_finished(struct bbd *b, const char *path)
{
	if (b->domid != 0 && !b->opts.keep_finished)
		xenbus_backend_let_go(b->xs, path, b->log, PREFIX);
}

void bbd_device_forget(struct bbd_device *d, bool close)
{
	struct bbd *b = d->b;

	if (!close)
		pvio_log(b->log, PVIO_LOG_INFO, PREFIX, "%s: forgotten", d->dev->name);
	bool left = d->dev->left; /* to a successor, which writes the same statistics file */

	TAILQ_REMOVE(&b->devices, d, link);
	blkback_dev_destroy(d->dev, close);
	rings_down(d);
	if (!left)
		bbd_stats_remove(d);
	/* However it ended: a device forgotten finished has its directory removed (devd's job). */
	if (!close && !left)
		remove_finished(b, d->path);
	free(d->path);
	free(d);
}

/*
 * Whether the front-end domain of the device at path (<...>/<fe>/<devid>) is known dead: its
 * directory outlived it (no toolstack removed it).  Served, such a device is forgotten at once,
 * and what that writes fires our own watch, which would find it again: a spin.  Not introduced
 * means dead; an error (a xenstored that refuses the question) means unknown: served as before.
 */
static bool front_dead(struct bbd *b, const char *path)
{
	const char *devid = strrchr(path, '/'), *fe = devid;
	unsigned long id;
	char *end;

	while (fe && fe > path && fe[-1] != '/')
		fe--;
	if (!fe || fe == devid)
		return false;
	errno = 0;
	id = strtoul(fe, &end, 10);
	if (end != devid || errno || id >= DOMID_FIRST_RESERVED)
		return false;
	errno = 0;
	return !xs_is_domain_introduced(b->xs, (unsigned int)id) && errno == 0;
}

/* Start serving the device at path (len bytes of it) unless already served or finished. */
static void device_add(struct bbd *b, const char *path, size_t len)
{
	struct blkback_dev_opts o = b->opts.dev;
	struct bbd_device *d;
	int ret;

	if (find_path(b, path, len))
		return;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strndup(path, len)))
		goto fail_alloc;
	/* A device found and not yet of a back end, finished: it was before (libxl left it). */
	if (xenbus_backend_finished(b->xs, d->path)) {
		remove_finished(b, d->path);
		goto fail_quiet;
	}
	if (front_dead(b, d->path))
		goto fail_quiet;
	o.notify = dev_notify;
	o.queue_hv = queue_hv;
	o.arg = d;
	d->b = b;
	ret = blkback_dev_create(&d->dev, b->xs, b->hv, d->path, &o);
	if (ret) /* not complete yet (the toolstack writes it in one transaction) or bad */
		goto fail_quiet;
	snprintf(d->stats_name, sizeof(d->stats_name), "%u.%u", d->dev->xd.otherend_id,
		 d->dev->devid);
	TAILQ_INSERT_TAIL(&b->devices, d, link);
	pvio_log(b->log, PVIO_LOG_INFO, PREFIX, "%s: found at %s", d->dev->name, d->path);
	/* Before a hand-over, only what the predecessor's devices do not notice (bbd_takeover). */
	ret = b->preparing ? blkback_dev_prepare(d->dev, true) : blkback_dev_start(d->dev);
	if (ret < 0)
		pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "%s: %s", d->path, strerror(-ret));
	if (ret)
		bbd_device_forget(d, false);
	return;
fail_alloc:
	pvio_log(b->log, PVIO_LOG_ERROR, PREFIX, "out of memory");
fail_quiet:
	if (d)
		free(d->path);
	free(d);
}

/*
 * Classify an event path under <home>/backend/: a device's directory or a key in it gives the
 * directory's length in *len and 1; 0 for a path above the devices; -1 for one not ours.
 */
static int event_device(struct bbd *b, const char *path, size_t *len)
{
	size_t hl = strlen(b->home);
	const char *p = path + hl, *fe, *devid, *end;

	if (strncmp(path, b->home, hl) || strncmp(p, "/backend", 8) || (p[8] && p[8] != '/'))
		return -1;
	if (!p[8])
		return 0;
	p += 9;
	for (unsigned int k = 0; k < 2; k++) {
		size_t kl = strlen(kind_names[k]);

		if (!(b->opts.kinds & (1u << k)) || strncmp(p, kind_names[k], kl) ||
		    (p[kl] && p[kl] != '/'))
			continue;
		if (!p[kl]) /* <kind> itself */
			return 0;
		fe = p + kl + 1;
		devid = strchr(fe, '/');
		if (!devid || devid == fe) /* <kind>/<fe> */
			return 0;
		devid++;
		end = strchr(devid, '/');
		if (!end)
			end = devid + strlen(devid);
		if (end == devid)
			return 0;
		*len = (size_t)(end - path);
		return 1;
	}
	return -1;
}

static void on_backend_event(struct bbd *b, const char *path)
{
	struct bbd_device *d;
	size_t len;
	int kind = event_device(b, path, &len);

	if (kind < 0)
		return;
	if (kind == 0) {
		b->rescan = true;
		return;
	}
	d = find_path(b, path, len);
	if (d)
		d->back_dirty = true;
	else
		device_add(b, path, len);
}

static void on_token(struct bbd *b, const char *token)
{
	struct bbd_device *d;

	TAILQ_FOREACH(d, &b->devices, link)
	{
		if (!strcmp(blkback_dev_token(d->dev), token)) {
			d->front_dirty = true;
			return;
		}
	}
}

int bbd_xs_events(struct bbd *b, unsigned int max)
{
	struct bbd_device *d, *tmp;
	unsigned int i;

	for (i = 0; i < max; i++) {
		char **ev = xs_check_watch(b->xs);

		if (!ev) {
			if (errno != EAGAIN && errno != 0)
				return -errno;
			break;
		}
		if (!strcmp(ev[XS_WATCH_TOKEN], TOKEN_BACKEND))
			on_backend_event(b, ev[XS_WATCH_PATH]);
		else
			on_token(b, ev[XS_WATCH_TOKEN]);
		free(ev);
	}
	if (b->rescan)
		bbd_rescan(b);
	for (d = TAILQ_FIRST(&b->devices); d; d = tmp) {
		int done = 0;

		tmp = TAILQ_NEXT(d, link);

		if (d->back_dirty) {
			d->back_dirty = false;
			done = blkback_dev_backend_changed(d->dev);
		}
		if (!done && d->front_dirty) {
			d->front_dirty = false;
			done = blkback_dev_otherend_changed(d->dev);
		}
		if (done)
			bbd_device_forget(d, false);
		else if (d->stats_dirty)
			bbd_stats_write(d, true);
	}
	return 0;
}

/* Add every device under dir (<home>/backend/<kind>); mark the known ones to re-check. */
static void rescan_kind(struct bbd *b, const char *dir)
{
	unsigned int nfe, ndev;
	char **fes = xs_directory(b->xs, XBT_NULL, dir, &nfe);

	for (unsigned int i = 0; fes && i < nfe; i++) {
		char fedir[200], **devs;

		snprintf(fedir, sizeof(fedir), "%s/%s", dir, fes[i]);
		devs = xs_directory(b->xs, XBT_NULL, fedir, &ndev);
		for (unsigned int j = 0; devs && j < ndev; j++) {
			char path[300];
			int n = snprintf(path, sizeof(path), "%s/%s", fedir, devs[j]);

			if (n > 0 && (size_t)n < sizeof(path))
				device_add(b, path, (size_t)n);
		}
		free(devs);
	}
	free(fes);
}

void bbd_rescan(struct bbd *b)
{
	struct bbd_device *d;

	b->rescan = false;
	for (unsigned int k = 0; k < 2; k++) {
		char dir[64];

		if (!(b->opts.kinds & (1u << k)))
			continue;
		snprintf(dir, sizeof(dir), "%s/backend/%s", b->home, kind_names[k]);
		rescan_kind(b, dir);
	}
	/* A removed parent directory fires one event for itself, none for the devices in it. */
	TAILQ_FOREACH(d, &b->devices, link)
	d->back_dirty = true;
}

int bbd_watch(struct bbd *b)
{
	for (unsigned int k = 0; k < 2; k++) {
		char dir[64];

		if (!(b->opts.kinds & (1u << k)))
			continue;
		snprintf(dir, sizeof(dir), "%s/backend/%s", b->home, kind_names[k]);
		if (!xs_watch(b->xs, dir, TOKEN_BACKEND))
			return errno ? -errno : -EIO;
	}
	return 0;
}
