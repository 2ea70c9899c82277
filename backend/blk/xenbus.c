/* SPDX-License-Identifier: MIT */
/*
 * xenbus.c - blkback's control plane for one virtual disk (see xenbus.h): probe, the
 * frontend_changed() switch, connect and disconnect.  The order of things follows Linux's
 * drivers/block/xen-blkback/xenbus.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "backend/blk/journal.h"
#include "backend/blk/xenbus.h"
#include "ring/ring.h"
#include "xenbus/backend.h"

#define PREFIX "blkback"

static struct pvio_log *dev_log(const struct blkback_dev *dev)
{
	return xenbus_backend_log(&dev->xd);
}

static int notify(struct blkback_dev *dev, enum blkback_dev_event ev)
{
	return dev->opts.notify ? dev->opts.notify(dev->opts.arg, dev, ev) : 0;
}

static void set_state(struct blkback_dev *dev, enum xenbus_state state)
{
	xenbus_backend_switch(&dev->xd, PREFIX, dev->name, state);
	notify(dev, BLKBACK_DEV_STATE);
}

/* xenbus_dev_fatal (error node, Closing), then tell the caller the state changed. */
/*
 * While preparing a hand-over (blkback_dev_prepare's quiet) the device is still the
 * predecessor's: only remember the error (the caller refuses to take over) and log it.
 */
#define dev_fatal(dev, err, ...)                                                                   \
	do {                                                                                       \
		if ((dev)->quiet) {                                                                \
			(dev)->quiet_err = (err);                                                  \
			pvio_log(dev_log(dev), PVIO_LOG_ERROR, PREFIX, __VA_ARGS__);               \
			break;                                                                     \
		}                                                                                  \
		xenbus_dev_fatal(&(dev)->xd, (err), __VA_ARGS__);                                  \
		(dev)->failed = true;                                                              \
		notify((dev), BLKBACK_DEV_STATE);                                                  \
	} while (0)

/* A printable, bounded copy of a value the front end wrote, for messages. */
static const char *safe(const char *in, char *buf, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		buf[i] = isprint((unsigned char)in[i]) ? in[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* Read an optional u32 of dir: *val = def when absent.  0 or a negative errno. */
static int read_opt_u32(struct xs_handle *xs, const char *dir, const char *key, uint32_t def,
			uint32_t *val)
{
	int ret = xenbus_read_u32_at(xs, XBT_NULL, dir, key, val);

	if (ret == -ENOENT) {
		*val = def;
		ret = 0;
	}
	return ret;
}

int blkback_dev_create(struct blkback_dev **devp, struct xs_handle *xs, struct hv *hv,
		       const char *nodename, const struct blkback_dev_opts *opts)
{
	struct blkback_dev *dev;
	unsigned int fe, devid;
	char kind[16];
	int ret;

	if (xenbus_backend_parse(nodename, kind, &fe, &devid))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->hv = hv;
	dev->opts = *opts;
	dev->devid = devid;
	dev->disk.fd = -1;
	snprintf(dev->name, sizeof(dev->name), "%s %u/%u", kind, fe, devid);
	ret = xenbus_backend_open(&dev->xd, xs, nodename, opts->log);
	if (ret) {
		free(dev);
		return ret;
	}
	*devp = dev;
	return 0;
}

const char *blkback_dev_token(const struct blkback_dev *dev)
{
	return dev->xd.token;
}

/* ---- probe ---- */

/* The path in params: "aio:" and "raw:" prefixes dropped; NULL for another format. */
static const char *params_path(const char *params)
{
	const char *colon = strchr(params, ':'), *slash = strchr(params, '/');

	if (!colon || (slash && slash < colon))
		return params;
	if (!strncmp(params, "aio:", 4) || !strncmp(params, "raw:", 4))
		return params + 4;
	return NULL;
}

/* Read mode, discard-enable, device-type, removable.  0, or fatal reported. */
static int probe_keys(struct blkback_dev *dev, bool *readonly, bool *discard_enable)
{
	uint32_t v;
	char *s;
	int ret = xenbus_read_str(&dev->xd, XBT_NULL, "mode", &s);

	if (ret) {
		dev_fatal(dev, ret, "reading mode");
		return ret;
	}
	*readonly = s[0] == 'r' && !s[1];
	ret = *readonly || (s[0] == 'w' && !s[1]) ? 0 : -EINVAL;
	free(s);
	if (ret) {
		dev_fatal(dev, ret, "mode must be r or w");
		return ret;
	}
	ret = read_opt_u32(dev->xd.xs, dev->xd.nodename, "discard-enable", 1, &v);
	*discard_enable = ret == 0 && v != 0;
	ret = read_opt_u32(dev->xd.xs, dev->xd.nodename, "removable", 0, &v);
	dev->removable = ret == 0 && v != 0;
	if (xenbus_read_str(&dev->xd, XBT_NULL, "device-type", &s) == 0) {
		dev->cdrom = !strcmp(s, "cdrom");
		free(s);
	}
	return 0;
}

static int features_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	struct blkback_dev *dev = arg;
	const struct blkback_disk *d = &dev->disk;
	int ret = xenbus_printf(xd, t, "feature-flush-cache", "1");

	if (!ret)
		ret = xenbus_printf(xd, t, "feature-barrier", "1");
	if (!ret && !dev->opts.no_persistent)
		ret = xenbus_printf(xd, t, "feature-persistent", "1");
	if (!ret && dev->opts.max_indirect_segments)
		ret = xenbus_printf(xd, t, "feature-max-indirect-segments", "%u",
				    dev->opts.max_indirect_segments);
	if (!ret)
		ret = xenbus_printf(xd, t, "multi-queue-max-queues", "%u", dev->opts.max_queues);
	if (!ret)
		ret = xenbus_printf(xd, t, "max-ring-page-order", "%u", dev->opts.max_ring_order);
	if (!ret && dev->discard) {
		ret = xenbus_printf(xd, t, "feature-discard", "1");
		if (!ret)
			ret = xenbus_printf(xd, t, "discard-granularity", "%u",
					    d->discard_granularity);
		if (!ret)
			ret = xenbus_printf(xd, t, "discard-alignment", "%u", d->discard_alignment);
		if (!ret)
			ret = xenbus_printf(xd, t, "discard-secure", "%d", d->secure_discard);
	}
	return ret;
}

/* Open the disk and advertise: 0, -EAGAIN while params is missing, or fatal reported. */
static int probe(struct blkback_dev *dev)
{
	bool readonly, discard_enable;
	const char *path;
	char *params;
	int ret = xenbus_read_str(&dev->xd, XBT_NULL, "params", &params);

	if (ret == -ENOENT || (ret == 0 && !params[0])) {
		if (!ret)
			free(params);
		return -EAGAIN;
	}
	if (ret) {
		dev_fatal(dev, ret, "reading params");
		return ret;
	}
	path = params_path(params);
	ret = path ? probe_keys(dev, &readonly, &discard_enable) : -ENOTSUP;
	if (!path)
		dev_fatal(dev, ret, "unsupported disk format");
	if (!ret) {
		ret = blkback_disk_open_beneath(&dev->disk, dev->opts.storage, path, readonly);
		if (ret == -EXDEV || ret == -ELOOP)
			dev_fatal(dev, ret, "%s: not beneath a storage directory", path);
		else if (ret)
			dev_fatal(dev, ret, "%s: %s", path, strerror(-ret));
	}
	if (!ret && dev->disk.loop_held)
		pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX,
			 "%s: %s is a loop device: its file is served, from byte %llu", dev->name,
			 path, (unsigned long long)dev->disk.base);
	free(params);
	if (ret)
		return ret;
	dev->discard = dev->disk.discard && discard_enable;
	ret = xenbus_transaction(&dev->xd, features_fn, dev);
	if (ret) {
		blkback_disk_close(&dev->disk);
		dev_fatal(dev, ret, "writing features");
		return ret;
	}
	dev->probed = true;
	return 0;
}

/* ---- connect and disconnect ---- */

/* The journal of queue q: "vbd 3/51712" -> "vbd-3-51712-q<q>.journal". */
static void journal_name(const struct blkback_dev *dev, unsigned int q, char *name, size_t len)
{
	snprintf(name, len, "%s-q%u.journal", dev->name, q);
	for (char *c = name; *c; c++)
		*c = *c == ' ' || *c == '/' ? '-' : *c;
}

/* Forget the journals of a device that disconnects (a fresh connect would replace them). */
static void journals_remove(struct blkback_dev *dev)
{
	char jname[80];

	if (!dev->opts.journal || dev->left)
		return; /* left to a successor: they are its way in */
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		journal_name(dev, q, jname, sizeof(jname));
		unlinkat(dev->opts.journal_dirfd, jname, 0);
		blkback_grants_remove(dev->opts.journal_dirfd, jname);
	}
}

void blkback_dev_disconnect(struct blkback_dev *dev)
{
	if (!dev->queues)
		return;
	notify(dev, BLKBACK_DEV_RINGS_DOWN);
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct blkback_dev_queue *dq = &dev->queues[q];

		if (dq->ring) {
			struct blkback_stats st;

			if (dev->quiesce)
				blkback_ring_quiesce(dq->ring);
			blkback_ring_stats(dq->ring, &st);
			st.in_flight = 0; /* detach drains it */
			blkback_ring_detach(dq->ring);
			blkback_stats_add(&dev->past, &st);
		}
		if (dq->port)
			hv_evtchn_unbind(dq->hv, dq->port);
	}
	journals_remove(dev);
	free(dev->queues);
	dev->queues = NULL;
	dev->nr_queues = 0;
}

void blkback_dev_leave(struct blkback_dev *dev)
{
	dev->left = true;
	if (!dev->queues)
		return;
	notify(dev, BLKBACK_DEV_RINGS_DOWN);
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct blkback_dev_queue *dq = &dev->queues[q];

		if (dq->ring)
			blkback_ring_quiesce(dq->ring);
	}
	/* Only now: what the rings answered is pushed, and the successor may bind. */
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct blkback_dev_queue *dq = &dev->queues[q];

		if (dq->port)
			hv_evtchn_unbind(dq->hv, dq->port);
		dq->port = 0;
	}
}

/* The ring references of one queue in dir: ring-ref (order 0, no ring-page-order) or ring-refN. */
static int read_refs(struct blkback_dev *dev, const char *dir, bool multi_ref, grant_ref_t *refs)
{
	unsigned int n = 1u << dev->ring_order;

	for (unsigned int i = 0; i < n; i++) {
		char key[16];
		uint32_t v;
		int ret;

		snprintf(key, sizeof(key), multi_ref ? "ring-ref%u" : "ring-ref", i);
		ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, key, &v);
		if (ret) {
			dev_fatal(dev, ret, "reading %s/%s", dir, key);
			return ret;
		}
		refs[i] = v;
	}
	return 0;
}

/* The directory of queue q's keys: the front's own, or its queue-<q> with more than one. */
static void queue_dir(const struct blkback_dev *dev, unsigned int q, unsigned int nq, char *dir,
		      size_t len)
{
	if (nq > 1)
		snprintf(dir, len, "%s/queue-%u", dev->xd.otherend, q);
	else
		snprintf(dir, len, "%s", dev->xd.otherend);
}

/* Read one queue's ring references and event channel into k. */
static int read_queue_keys(struct blkback_dev *dev, unsigned int q, unsigned int nq, bool multi_ref,
			   struct blkback_dev_keys *k)
{
	char dir[300];
	int ret;

	queue_dir(dev, q, nq, dir, sizeof(dir));
	ret = read_refs(dev, dir, multi_ref, k->refs);
	if (ret)
		return ret;
	ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "event-channel", &k->remote);
	if (ret)
		dev_fatal(dev, ret, "reading %s/event-channel", dir);
	return ret;
}

/* The names of queue q's ring: for messages, and its journal's. */
struct queue_names {
	char name[64], journal[80];
};

/* The parameters of queue q's ring, from the keys read by negotiate(); port still to set. */
static struct blkback_ring_params ring_params(struct blkback_dev *dev, unsigned int q,
					      struct queue_names *n)
{
	snprintf(n->name, sizeof(n->name), "%s q%u", dev->name, q);
	journal_name(dev, q, n->journal, sizeof(n->journal));
	return (struct blkback_ring_params){
		.frontend = dev->xd.otherend_id,
		.refs = dev->keys[q].refs,
		.order = dev->ring_order,
		.disk = &dev->disk,
		.persistent = dev->persistent,
		.max_persistent = dev->opts.max_persistent,
		.max_indirect_segments = dev->opts.max_indirect_segments,
		.name = n->name,
		.log = dev->opts.log,
		.poll_mode = dev->opts.poll_mode,
		.poll_us = dev->opts.poll_us,
		.bounce = dev->opts.bounce,
		.journal_name = dev->opts.journal ? n->journal : NULL,
		.journal_dirfd = dev->opts.journal_dirfd,
		.resume = dev->resume,
	};
}

static struct hv *queue_hv(struct blkback_dev *dev, unsigned int q)
{
	return dev->opts.queue_hv ? dev->opts.queue_hv(dev->opts.arg, q) : dev->hv;
}

/*
 * For a re-attach, while the predecessor may still serve: map every ring, set up its aio
 * context and tables and map the persistent grants its journal names, so that the pause
 * between the predecessor's leaving and our serving is only binding the ports and loading the
 * journals.  A ring that does not prepare is attached in full later, and fails then if it must.
 */
static void prepare_rings(struct blkback_dev *dev)
{
	for (unsigned int q = 0; q < dev->nr_keys; q++) {
		struct queue_names n;
		struct blkback_ring_params p = ring_params(dev, q, &n);

		if (blkback_ring_prepare(&dev->keys[q].pre, queue_hv(dev, q), &p))
			dev->keys[q].pre = NULL;
	}
}

/* Bind queue q's port and attach its ring (prepared ahead or not). */
static int connect_queue(struct blkback_dev *dev, unsigned int q)
{
	struct blkback_dev_queue *dq = &dev->queues[q];
	struct blkback_dev_keys *k = &dev->keys[q];
	struct queue_names n;
	struct blkback_ring_params p = ring_params(dev, q, &n);
	int ret;

	dq->hv = queue_hv(dev, q);
	ret = hv_evtchn_bind(dq->hv, dev->xd.otherend_id, k->remote, &dq->port);
	if (ret) {
		dq->port = 0;
		dev_fatal(dev, ret, "binding event channel %u", k->remote);
		return ret;
	}
	p.port = dq->port;
	if (k->pre) {
		dq->ring = k->pre;
		k->pre = NULL; /* blkback_ring_start frees it on failure */
		ret = blkback_ring_start(dq->ring, &p);
	} else {
		ret = blkback_ring_attach(&dq->ring, dq->hv, &p);
	}
	if (ret) {
		dq->ring = NULL;
		dev_fatal(dev, ret, "mapping ring-ref %u (order %u)", k->refs[0], dev->ring_order);
	}
	return ret;
}

/* protocol, multi-queue-num-queues, ring-page-order, feature-persistent of the front. */
static int read_front_features(struct blkback_dev *dev, uint32_t *nq, bool *multi_ref)
{
	/*
	 * A re-attach keeps what the front negotiated with the predecessor, whose limits may
	 * have been higher than ours (another --max-queues or --max-ring-order): only the
	 * protocol's bound those; ours apply from the next fresh connect.
	 */
	unsigned int max_queues = dev->resume ? BLKBACK_DEV_QUEUES_MAX : dev->opts.max_queues;
	unsigned int max_order = dev->resume ? RING_ORDER_MAX : dev->opts.max_ring_order;
	const char *dir = dev->xd.otherend;
	char *proto, buf[40];
	uint32_t v;
	int ret = xenbus_otherend_read_str(&dev->xd, XBT_NULL, "protocol", &proto);

	if (ret == 0) {
		ret = strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) ? -ENOSYS : 0;
		if (ret)
			dev_fatal(dev, ret, "unsupported ABI \"%s\" (only %s)",
				  safe(proto, buf, 33), XEN_IO_PROTO_ABI_NATIVE);
		free(proto);
		if (ret)
			return ret;
	} else if (ret != -ENOENT) {
		dev_fatal(dev, ret, "reading %s/protocol", dir);
		return ret;
	}
	ret = read_opt_u32(dev->xd.xs, dir, "multi-queue-num-queues", 1, nq);
	if (ret == 0 && (*nq == 0 || *nq > max_queues))
		ret = -ENOSYS;
	if (ret) {
		dev_fatal(dev, ret, "bad multi-queue-num-queues (maximum %u)", max_queues);
		return ret;
	}
	ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "ring-page-order", &v);
	*multi_ref = ret == 0;
	if (ret == -ENOENT)
		v = 0, ret = 0;
	if (ret == 0 && v > max_order)
		ret = -EINVAL;
	if (ret) {
		dev_fatal(dev, ret, "bad ring-page-order (maximum %u)", max_order);
		return ret;
	}
	dev->ring_order = v;
	ret = read_opt_u32(dev->xd.xs, dir, "feature-persistent", 0, &v);
	dev->persistent = !dev->opts.no_persistent && ret == 0 && v == 1;
	/*
	 * A re-attach also keeps what the predecessor published at its connect (the front read
	 * that): a front that set its rings up anew meanwhile (journal.c's mark) may say another
	 * thing now, and mapping what it expects unmapped would keep its grants busy.
	 */
	if (dev->persistent && dev->resume &&
	    (read_opt_u32(dev->xd.xs, dev->xd.nodename, "feature-persistent", 0, &v) || v != 1))
		dev->persistent = false;
	return 0;
}

static int connected_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	struct blkback_dev *dev = arg;
	const struct blkback_disk *d = &dev->disk;
	unsigned int info = (d->readonly ? VDISK_READONLY : 0) | (dev->cdrom ? VDISK_CDROM : 0) |
			    (dev->removable ? VDISK_REMOVABLE : 0);
	int ret = xenbus_printf(xd, t, "sectors", "%llu", (unsigned long long)d->sectors);

	if (!ret)
		ret = xenbus_printf(xd, t, "info", "%u", info);
	if (!ret)
		ret = xenbus_printf(xd, t, "sector-size", "%u", d->sector_size);
	if (!ret)
		ret = xenbus_printf(xd, t, "physical-sector-size", "%u", d->physical_sector_size);
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-persistent", "%d", dev->persistent);
	if (!ret)
		ret = xenbus_printf(xd, t, "state", "%d", XenbusStateConnected);
	return ret;
}

static void keys_free(struct blkback_dev *dev)
{
	for (unsigned int q = 0; q < dev->nr_keys; q++)
		blkback_ring_detach(dev->keys[q].pre);
	free(dev->keys);
	dev->keys = NULL;
	dev->nr_keys = 0;
}

/* Read what the front negotiated and every queue's keys (dev->keys): 0 or fatal reported. */
static int negotiate(struct blkback_dev *dev)
{
	bool multi_ref = false;
	uint32_t nq;
	int ret = read_front_features(dev, &nq, &multi_ref);

	keys_free(dev);
	if (ret)
		return ret;
	dev->keys = calloc(nq, sizeof(*dev->keys));
	if (!dev->keys) {
		dev_fatal(dev, -ENOMEM, "allocating %u queues", nq);
		return -ENOMEM;
	}
	dev->nr_keys = nq;
	for (unsigned int q = 0; q < nq && !ret; q++)
		ret = read_queue_keys(dev, q, nq, multi_ref, &dev->keys[q]);
	if (ret)
		keys_free(dev);
	return ret;
}

/* Attach every ring of dev->keys, write the disk's properties (unless resuming): Connected. */
static int attach_rings(struct blkback_dev *dev)
{
	unsigned int nq = dev->nr_keys;
	int ret;

	dev->queues = calloc(nq, sizeof(*dev->queues));
	if (!dev->queues) {
		dev_fatal(dev, -ENOMEM, "allocating %u queues", nq);
		return -ENOMEM;
	}
	dev->nr_queues = nq;
	for (unsigned int q = 0; q < nq; q++) {
		ret = connect_queue(dev, q);
		if (ret)
			return ret;
	}
	keys_free(dev);
	/* Connected with rings nobody serves would hang the front: fail the device instead. */
	ret = notify(dev, BLKBACK_DEV_RINGS_UP);
	if (ret) {
		dev_fatal(dev, ret, "scheduling the rings: %s", strerror(-ret));
		return ret;
	}
	/* Re-attached: everything the front read is as it was, and no state changes. */
	ret = dev->resume ? 0 : xenbus_transaction(&dev->xd, connected_fn, dev);
	if (ret) {
		dev_fatal(dev, ret, "writing the disk's properties");
		return ret;
	}
	dev->xd.state = XenbusStateConnected;
	pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX,
		 "%s: %s (%u queue(s), ring order %u, persistent %d)", dev->name,
		 dev->resume ? "re-attached" : "-> Connected", nq, dev->ring_order,
		 dev->persistent);
	notify(dev, BLKBACK_DEV_STATE);
	return 0;
}

/* Negotiate with the front, attach every ring, write the disk's properties: Connected. */
static int connect(struct blkback_dev *dev)
{
	int ret = negotiate(dev);

	return ret ? ret : attach_rings(dev);
}

/* ---- the state machine ---- */

/* Linux's xenbus_dev_is_online: `online` absent or unreadable counts as 0. */
static bool online(struct blkback_dev *dev)
{
	return xenbus_backend_online(&dev->xd);
}

/* Linux blkback's frontend_changed(): 1 when the device is finished. */
static int frontend_changed(struct blkback_dev *dev, enum xenbus_state fstate)
{
	pvio_log(dev_log(dev), PVIO_LOG_DEBUG, PREFIX, "%s: front %s, we are %s", dev->name,
		 xenbus_state_name(fstate), xenbus_state_name(dev->xd.state));
	if (fstate != XenbusStateInitialised && fstate != XenbusStateConnected)
		dev->restarting = false;
	switch (fstate) {
	case XenbusStateInitialising:
		if (dev->xd.state == XenbusStateClosed && dev->probed) {
			pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX, "%s: prepare for reconnect",
				 dev->name);
			set_state(dev, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		/* Also when the front skipped Initialised (Mini-OS) or we missed it. */
		if (dev->xd.state == XenbusStateConnected || !dev->probed || dev->failed ||
		    dev->restarting)
			break;
		blkback_dev_disconnect(dev);
		if (connect(dev))
			blkback_dev_disconnect(dev);
		break;
	case XenbusStateClosing:
		set_state(dev, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown: /* the front's directory is gone (the guest died) */
		blkback_dev_disconnect(dev);
		set_state(dev, XenbusStateClosed);
		/* As Linux blkback: a front-end that is gone takes the device with it. */
		if (!online(dev) || fstate == XenbusStateUnknown)
			return 1;
		dev->failed = false; /* a fresh handshake may connect again */
		break;
	default:
		dev_fatal(dev, -EINVAL, "saw state %d at frontend", (int)fstate);
		break;
	}
	return 0;
}

int blkback_dev_otherend_changed(struct blkback_dev *dev)
{
	enum xenbus_state fstate;
	int ret = xenbus_read_otherend_state(&dev->xd, &fstate);

	if (ret == -EINVAL) {
		dev_fatal(dev, ret, "bad state at frontend");
		return 0;
	}
	if (ret) /* xenstore trouble: the next event re-reads */
		return 0;
	return frontend_changed(dev, fstate);
}

/* Our own state as stored (restart rule); Initialising when absent or unreadable. */
static enum xenbus_state own_state(struct blkback_dev *dev)
{
	return xenbus_backend_own_state(&dev->xd);
}

/*
 * Whether a predecessor left this device to be re-attached from its journals: our state
 * Connected, and the front's Connected, or Initialised (it has published its rings and waits
 * to read our Connected, which is already there).  A front that set its rings up anew while
 * no daemon ran is found out ring by ring (the ring's mark, journal.c): such a ring is served
 * afresh, its journal dropped.
 */
static bool reattachable(struct blkback_dev *dev)
{
	enum xenbus_state fstate;

	return dev->opts.journal && dev->probed && dev->xd.state == XenbusStateConnected &&
	       !xenbus_read_otherend_state(&dev->xd, &fstate) &&
	       (fstate == XenbusStateConnected || fstate == XenbusStateInitialised);
}

/*
 * Take over the rings of a reattachable device through the normal connect path (keys read by
 * negotiate(), now or before), with no state change.  0, or nonzero when the restart rule must
 * apply instead.
 */
static int reattach(struct blkback_dev *dev)
{
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	dev->resume = true;
	ret = dev->keys ? 0 : negotiate(dev);
	if (!ret)
		ret = attach_rings(dev);
	dev->resume = false;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	keys_free(dev);
	if (ret) {
		blkback_dev_disconnect(dev);
		dev->failed = false;
		dev->xd.state = XenbusStateConnected;
		pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX, "%s: cannot re-attach: %s", dev->name,
			 strerror(-ret));
		return ret;
	}
	/* For the admin and pvio-blkback(8)'s figures: what a re-attach itself costs. */
	pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX, "%s: re-attach took %ld us", dev->name,
		 (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	return 0;
}

/* Read our stored state and probe; for a device to re-attach, read its keys in advance. */
static void survey(struct blkback_dev *dev)
{
	enum xenbus_state own = own_state(dev);

	dev->xd.state = own;
	dev->restart = own != XenbusStateInitialising && own != XenbusStateInitWait;
	dev->probe_err = dev->probed ? 0 : probe(dev);
	dev->resume = true; /* negotiate within the limits the predecessor offered */
	if (dev->restart && !dev->probe_err && reattachable(dev) && !negotiate(dev))
		prepare_rings(dev);
	dev->resume = false;
}

int blkback_dev_prepare(struct blkback_dev *dev, bool quiet)
{
	dev->quiet = quiet;
	survey(dev);
	dev->quiet = false;
	return xenbus_watch_otherend(&dev->xd);
}

int blkback_dev_go(struct blkback_dev *dev, bool look_again)
{
	if (look_again && !dev->keys)
		survey(dev);
	if (dev->restart && (dev->probe_err || !dev->keys || reattach(dev))) {
		/* A dead back end left this device: start over from Closed (see the man page). */
		keys_free(dev);
		pvio_log(dev_log(dev), PVIO_LOG_INFO, PREFIX, "%s: found in state %s: restarting",
			 dev->name, xenbus_state_name(dev->xd.state));
		dev->restarting = true;
		set_state(dev, XenbusStateClosed);
	} else if (!dev->restart && dev->probe_err == 0) {
		set_state(dev, XenbusStateInitWait);
	}
	dev->restart = false;
	return blkback_dev_otherend_changed(dev);
}

int blkback_dev_take_back(struct blkback_dev *dev)
{
	bool connected = dev->queues != NULL;

	if (!dev->left)
		return 0;
	blkback_dev_disconnect(dev); /* keeps the journals: left is still set */
	dev->left = false;
	if (!connected)
		return 0;
	survey(dev);
	return blkback_dev_go(dev, false);
}

/*
 * Serve first, then watch the front: a watch fires once when it is set (xenstore's rule), so a
 * change of the front's state in between is still seen, and a restart's re-attach does not
 * wait for the watch's round trip.
 */
int blkback_dev_start(struct blkback_dev *dev)
{
	int ret;

	survey(dev);
	ret = blkback_dev_go(dev, false);
	return ret ? ret : xenbus_watch_otherend(&dev->xd);
}

/*
 * QEMU's xen-bus rule: Closing written by the toolstack (a detach) while no front-end is active
 * (it is Initialising, Closed or gone) means Closed at once, since nobody else will answer it.
 * 1 when the device is then finished (online=0).
 */
static int closing_unanswered(struct blkback_dev *dev)
{
	enum xenbus_state fstate;

	/* Our own Closing (a failure) waits for the front-end, as Linux's does. */
	if (dev->xd.state == XenbusStateClosing || own_state(dev) != XenbusStateClosing ||
	    xenbus_read_otherend_state(&dev->xd, &fstate) ||
	    (fstate != XenbusStateInitialising && fstate != XenbusStateClosed &&
	     fstate != XenbusStateUnknown))
		return 0;
	blkback_dev_disconnect(dev);
	set_state(dev, XenbusStateClosed);
	return !online(dev);
}

int blkback_dev_backend_changed(struct blkback_dev *dev)
{
	if (xenbus_backend_gone(&dev->xd))
		return 1;
	if (closing_unanswered(dev))
		return 1;
	if (dev->probed || dev->failed || probe(dev))
		return 0;
	if (dev->xd.state == XenbusStateInitialising)
		set_state(dev, XenbusStateInitWait);
	return blkback_dev_otherend_changed(dev);
}

void blkback_dev_ring_failed(struct blkback_dev *dev, int err)
{
	blkback_dev_disconnect(dev);
	if (err == -EPROTO)
		dev_fatal(dev, err, "ring protocol error");
	else
		dev_fatal(dev, err, "ring: %s", strerror(-err));
}

void blkback_dev_stats(const struct blkback_dev *dev, struct blkback_stats *st)
{
	*st = dev->past;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct blkback_stats r;

		if (!dev->queues[q].ring)
			continue;
		blkback_ring_stats(dev->queues[q].ring, &r);
		blkback_stats_add(st, &r);
	}
}

void blkback_dev_destroy(struct blkback_dev *dev, bool close)
{
	if (!dev)
		return;
	keys_free(dev);
	/* Left to a successor (or forgotten): answer what is in flight rather than leave it. */
	dev->quiesce = !close;
	blkback_dev_disconnect(dev);
	if (close)
		set_state(dev, XenbusStateClosed);
	blkback_disk_close(&dev->disk);
	xenbus_dev_close(&dev->xd);
	free(dev);
}
