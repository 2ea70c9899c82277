/* SPDX-License-Identifier: MIT */
/*
 * xenbus.c - netback's control plane for one vif (see xenbus.h): probe (the TAP, the hotplug
 * status, the features), the frontend_changed() switch, connect and disconnect.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/net/credit.h"
#include "backend/net/xenbus.h"

#define PREFIX "netback"

static struct pvio_log *dev_log(const struct netback_dev *dev)
{
	return xenbus_backend_log(&dev->xd);
}

static int notify(struct netback_dev *dev, enum netback_dev_event ev)
{
	return dev->opts.notify ? dev->opts.notify(dev->opts.arg, dev, ev) : 0;
}

static void set_state(struct netback_dev *dev, enum xenbus_state state)
{
	xenbus_backend_switch(&dev->xd, PREFIX, dev->name, state);
	notify(dev, NETBACK_DEV_STATE);
}

/* Report err in the error node and switch to Closing; the vif waits for the front to close. */
#define dev_fatal(dev, err, ...)                                                                   \
	do {                                                                                       \
		xenbus_dev_fatal(&(dev)->xd, (err), __VA_ARGS__);                                  \
		(dev)->failed = true;                                                              \
		notify((dev), NETBACK_DEV_STATE);                                                  \
	} while (0)

int netback_dev_create(struct netback_dev **devp, struct xs_handle *xs, struct hv *hv,
		       const char *nodename, const struct netback_dev_opts *opts)
{
	struct netback_dev *dev;
	unsigned int fe, devid;
	char kind[16];
	int ret;

	if (xenbus_backend_parse(nodename, kind, &fe, &devid) || strcmp(kind, "vif") ||
	    fe >= DOMID_FIRST_RESERVED || devid > 0xffff)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->hv = hv;
	dev->opts = *opts;
	dev->devid = devid;
	dev->tap0 = -1;
	snprintf(dev->name, sizeof(dev->name), "vif %u/%u", fe, devid);
	snprintf(dev->ifname, sizeof(dev->ifname), "vif%u.%u", fe, devid);
	ret = xenbus_backend_open(&dev->xd, xs, nodename, opts->log);
	if (ret) {
		free(dev);
		return ret;
	}
	*devp = dev;
	return 0;
}

const char *netback_dev_token(const struct netback_dev *dev)
{
	return dev->xd.token;
}

/* ---- probe ---- */

static int features_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	static const char *const on[] = { "feature-sg",	       "feature-gso-tcpv4",
					  "feature-gso-tcpv6", "feature-ipv6-csum-offload",
					  "feature-rx-copy",   "feature-rx-notify",
					  "feature-ctrl-ring", "feature-multicast-control" };
	struct netback_dev *dev = arg;
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(on) / sizeof(on[0]); i++)
		ret = xenbus_printf(xd, t, on[i], "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-rx-flip", "0");
	if (!ret)
		ret =
		    xenbus_printf(xd, t, "feature-split-event-channels", "%d", !dev->opts.no_split);
	if (!ret)
		ret = xenbus_printf(xd, t, "multi-queue-max-queues", "%u", dev->opts.max_queues);
	return ret;
}

/* The hotplug script's part: the TAP, up, on its bridge.  0 or fatal reported. */
static int hotplug(struct netback_dev *dev)
{
	char *bridge = NULL;
	int ret = netback_tap_open(dev->ifname, 1, &dev->tap0);

	if (!ret)
		ret = netback_tap_up(dev->ifname);
	if (!ret && xenbus_read_str(&dev->xd, XBT_NULL, "bridge", &bridge) == 0 && bridge[0])
		ret = netback_tap_bridge(dev->ifname, bridge);
	if (ret) {
		xenbus_printf(&dev->xd, XBT_NULL, "hotplug-error", "%s%s%s: %s", dev->ifname,
			      bridge ? " on bridge " : "", bridge ? bridge : "", strerror(-ret));
		xenbus_printf(&dev->xd, XBT_NULL, "hotplug-status", "error");
		dev_fatal(dev, ret, "TAP %s: %s", dev->ifname, strerror(-ret));
	} else {
		ret = xenbus_printf(&dev->xd, XBT_NULL, "hotplug-status", "connected");
		if (ret)
			dev_fatal(dev, ret, "writing hotplug-status");
	}
	free(bridge);
	return ret;
}

/* Read mac, make the TAP, advertise: 0, -EAGAIN while mac is missing, or fatal reported. */
static int probe(struct netback_dev *dev)
{
	char *mac;
	int ret = xenbus_read_str(&dev->xd, XBT_NULL, "mac", &mac);

	if (ret == -ENOENT)
		return -EAGAIN;
	if (!ret) {
		ret = xenbus_parse_mac(mac, dev->mac);
		free(mac);
	}
	if (ret) {
		dev_fatal(dev, ret, "bad mac");
		return ret;
	}
	ret = hotplug(dev);
	if (!ret) {
		ret = xenbus_transaction(&dev->xd, features_fn, dev);
		if (ret)
			dev_fatal(dev, ret, "writing features");
	}
	if (ret) {
		if (dev->tap0 >= 0)
			close(dev->tap0);
		dev->tap0 = -1;
		return ret;
	}
	dev->probed = true;
	return 0;
}

/*
 * `rate`, "<bytes>,<usec>" as libxl writes it: read at connect and again whenever our directory
 * changes, like Linux netback's watch on it.  Absent or unreadable: no limit, as there.
 */
static void rate_read(struct netback_dev *dev)
{
	uint64_t bytes = 0, usec = 0;
	char *v;

	if (!xenbus_read_str(&dev->xd, XBT_NULL, "rate", &v)) {
		if (netback_rate_parse(v, &bytes, &usec))
			pvio_log(dev_log(dev), PVIO_LOG_WARN, PREFIX, "%s: bad rate \"%.40s\"",
				 dev->name, v);
		free(v);
	}
	if (bytes == dev->rate_bytes && usec == dev->rate_usec)
		return;
	dev->rate_bytes = bytes;
	dev->rate_usec = usec;
	if (!dev->nr_queues)
		return;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		if (dev->queues[i].q)
			netback_queue_set_rate(dev->queues[i].q, bytes, usec);
	notify(dev, NETBACK_DEV_RATE);
}

/* ---- connect and disconnect ---- */

/* The control ring and the hash, after the queues are stopped. */
static void ctrl_disconnect(struct netback_dev *dev)
{
	if (dev->ctrl) {
		struct netback_stats st;

		netback_ctrl_stats(dev->ctrl, &st);
		netback_stats_add(&dev->past, &st);
	}
	netback_ctrl_detach(dev->ctrl);
	dev->ctrl = NULL;
	if (dev->ctrl_port)
		hv_evtchn_unbind(dev->ctrl_hv, dev->ctrl_port);
	dev->ctrl_port = 0;
	if (dev->hash_ready) {
		/* Frames still waiting for a queue that is gone: dropped, and said so. */
		dev->past.rx_steer_drops += netback_hash_fini(&dev->hash);
		netback_mcast_fini(&dev->mcast);
	}
	dev->hash_ready = false;
}

void netback_dev_disconnect(struct netback_dev *dev)
{
	if (!dev->queues) {
		ctrl_disconnect(dev);
		return;
	}
	if (dev->hash_ready) /* no queue hands another a frame, nor wakes it, from here */
		netback_hash_close(&dev->hash);
	notify(dev, NETBACK_DEV_QUEUES_DOWN);
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct netback_dev_queue *dq = &dev->queues[i];

		if (dq->q) {
			struct netback_stats st;

			netback_queue_stats(dq->q, &st);
			netback_stats_add(&dev->past, &st);
			netback_queue_detach(dq->q);
		}
		if (dq->rx_port && dq->rx_port != dq->tx_port)
			hv_evtchn_unbind(dq->hv, dq->rx_port);
		if (dq->tx_port)
			hv_evtchn_unbind(dq->hv, dq->tx_port);
		if (dq->tap_fd >= 0 && dq->tap_fd != dev->tap0)
			close(dq->tap_fd);
	}
	free(dev->queues);
	dev->queues = NULL;
	dev->nr_queues = 0;
	ctrl_disconnect(dev);
}

/* A flag the front may write: 1 when it says a non-zero number, def when absent. */
static bool front_flag(struct netback_dev *dev, const char *key, bool def)
{
	uint32_t v;
	int ret = xenbus_otherend_read_u32(&dev->xd, XBT_NULL, key, &v);

	return ret == -ENOENT ? def : ret == 0 && v != 0;
}

/*
 * Bind the queue's ports: event-channel-tx and -rx when split, else (either missing, as Linux
 * netback falls back) event-channel.
 */
static int bind_ports(struct netback_dev *dev, const char *dir, struct netback_dev_queue *dq)
{
	uint32_t tx, rx;
	int ret = -ENOENT;

	if (!dev->opts.no_split) {
		ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "event-channel-tx", &tx);
		if (!ret)
			ret =
			    xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "event-channel-rx", &rx);
	}
	if (ret)
		ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "event-channel", &tx), rx = tx;
	if (ret) {
		dev_fatal(dev, ret, "reading %s/event-channel", dir);
		return ret;
	}
	ret = hv_evtchn_bind(dq->hv, dev->xd.otherend_id, tx, &dq->tx_port);
	if (ret) {
		dq->tx_port = 0;
	} else if (rx == tx) {
		dq->rx_port = dq->tx_port;
	} else if ((ret = hv_evtchn_bind(dq->hv, dev->xd.otherend_id, rx, &dq->rx_port))) {
		dq->rx_port = 0;
	}
	if (ret)
		dev_fatal(dev, ret, "binding event channels %u/%u", tx, rx);
	return ret;
}

/* Read one queue's keys, bind its ports, open its TAP queue and attach it. */
static int connect_queue(struct netback_dev *dev, unsigned int i, struct netback_queue_params *p)
{
	struct netback_dev_queue *dq = &dev->queues[i];
	char dir[300], name[64];
	uint32_t tx, rx;
	int ret;

	snprintf(dir, sizeof(dir), dev->nr_queues > 1 ? "%s/queue-%u" : "%s", dev->xd.otherend, i);
	ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "tx-ring-ref", &tx);
	if (!ret)
		ret = xenbus_read_u32_at(dev->xd.xs, XBT_NULL, dir, "rx-ring-ref", &rx);
	if (ret) {
		dev_fatal(dev, ret, "reading %s/{tx,rx}-ring-ref", dir);
		return ret;
	}
	dq->hv = dev->opts.queue_hv ? dev->opts.queue_hv(dev->opts.arg, i) : dev->hv;
	ret = bind_ports(dev, dir, dq);
	if (ret)
		return ret;
	if (i == 0)
		dq->tap_fd = dev->tap0;
	else if ((ret = netback_tap_open(dev->ifname, 1, &dq->tap_fd))) {
		dev_fatal(dev, ret, "TAP %s queue %u", dev->ifname, i);
		return ret;
	}
	snprintf(name, sizeof(name), "%s q%u", dev->name, i);
	p->tx_ref = tx;
	p->rx_ref = rx;
	p->tx_port = dq->tx_port;
	p->rx_port = dq->rx_port;
	p->tap_fd = dq->tap_fd;
	p->name = name;
	p->rate_bytes = dev->rate_bytes;
	p->rate_usec = dev->rate_usec;
	p->hash = &dev->hash;
	p->mcast = &dev->mcast;
	p->index = i;
	ret = netback_queue_attach(&dq->q, dq->hv, p);
	if (ret) {
		dq->q = NULL;
		dev_fatal(dev, ret, "mapping rings %u/%u", tx, rx);
	}
	return ret;
}

/* The front's keys that are the same for every queue: 0 or fatal reported. */
static int read_front_features(struct netback_dev *dev, uint32_t *nq,
			       struct netback_queue_params *p)
{
	int ret = xenbus_otherend_read_u32(&dev->xd, XBT_NULL, "multi-queue-num-queues", nq);

	if (ret == -ENOENT)
		*nq = 1, ret = 0;
	if (ret || *nq == 0 || *nq > dev->opts.max_queues) {
		dev_fatal(dev, ret ? ret : -ENOSYS, "bad multi-queue-num-queues (maximum %u)",
			  dev->opts.max_queues);
		return ret ? ret : -ENOSYS;
	}
	/* As Linux netback: only the copying receive path, and rx notifications, exist. */
	if (!front_flag(dev, "request-rx-copy", false)) {
		dev_fatal(dev, -EOPNOTSUPP, "the front must use request-rx-copy");
		return -EOPNOTSUPP;
	}
	if (!front_flag(dev, "feature-rx-notify", false)) {
		dev_fatal(dev, -EINVAL, "feature-rx-notify is mandatory");
		return -EINVAL;
	}
	*p = (struct netback_queue_params){
		.frontend = dev->xd.otherend_id,
		.rx_sg = front_flag(dev, "feature-sg", false),
		.log = dev->opts.log,
	};
	/*
	 * As Linux netback: checksum offload for IPv4 unless feature-no-csum-offload, for IPv6
	 * only with feature-ipv6-csum-offload (absent is off, netif.h), and TSO6 only with it.
	 */
	p->rx_csum_v4_off = front_flag(dev, "feature-no-csum-offload", false);
	p->rx_csum_v6_off = !front_flag(dev, "feature-ipv6-csum-offload", false);
	p->rx_gso_tcpv4 =
	    p->rx_sg && !p->rx_csum_v4_off && front_flag(dev, "feature-gso-tcpv4", false);
	p->rx_gso_tcpv6 =
	    p->rx_sg && !p->rx_csum_v6_off && front_flag(dev, "feature-gso-tcpv6", false);
	memcpy(p->mac, dev->mac, sizeof(p->mac));
	/* The TAP's checksum offload is for every protocol: rx.c finishes what the front won't. */
	ret = netback_tap_offload(dev->tap0, !p->rx_csum_v4_off || !p->rx_csum_v6_off,
				  p->rx_gso_tcpv4, p->rx_gso_tcpv6);
	if (ret)
		dev_fatal(dev, ret, "TAP %s offloads", dev->ifname);
	return ret;
}

/*
 * The control ring, as Linux's connect_ctrl_ring: none when ctrl-ring-ref is absent or 0, else
 * event-channel-ctrl must be there too.  Bound on queue 0's handle.  0 or fatal reported.
 */
static int ctrl_connect(struct netback_dev *dev)
{
	uint32_t ref = 0, port;
	int ret = xenbus_otherend_read_u32(&dev->xd, XBT_NULL, "ctrl-ring-ref", &ref);

	if (ret == -ENOENT || (!ret && !ref))
		return 0;
	if (!ret)
		ret = xenbus_otherend_read_u32(&dev->xd, XBT_NULL, "event-channel-ctrl", &port);
	if (ret) {
		dev_fatal(dev, ret, "reading ctrl-ring-ref and event-channel-ctrl");
		return ret;
	}
	dev->ctrl_hv = dev->opts.queue_hv ? dev->opts.queue_hv(dev->opts.arg, 0) : dev->hv;
	ret = hv_evtchn_bind(dev->ctrl_hv, dev->xd.otherend_id, port, &dev->ctrl_port);
	if (ret) {
		dev->ctrl_port = 0;
		dev_fatal(dev, ret, "binding event-channel-ctrl %u", port);
		return ret;
	}
	ret = netback_ctrl_attach(&dev->ctrl, dev->ctrl_hv, dev->xd.otherend_id, ref,
				  dev->ctrl_port, &dev->hash);
	if (ret) {
		dev->ctrl = NULL;
		dev_fatal(dev, ret, "mapping ctrl-ring-ref %u", ref);
	}
	return ret;
}

/* Negotiate with the front, attach every queue: Connected. */
static int vif_connect(struct netback_dev *dev)
{
	struct netback_queue_params p;
	uint32_t nq;
	int ret = read_front_features(dev, &nq, &p);

	if (ret)
		return ret;
	rate_read(dev);
	dev->queues = calloc(nq, sizeof(*dev->queues));
	if (!dev->queues) {
		dev_fatal(dev, -ENOMEM, "allocating %u queues", nq);
		return -ENOMEM;
	}
	dev->nr_queues = nq;
	for (unsigned int i = 0; i < nq; i++)
		dev->queues[i].tap_fd = -1;
	if (netback_hash_init(&dev->hash, nq)) {
		dev_fatal(dev, -ENOMEM, "allocating the hash of %u queues", nq);
		return -ENOMEM;
	}
	netback_mcast_init(&dev->mcast, front_flag(dev, "request-multicast-control", false));
	dev->hash_ready = true;
	dev->hash.wake = dev->opts.queue_wake;
	dev->hash.wake_arg = dev->opts.arg;
	ret = ctrl_connect(dev);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < nq; i++) {
		ret = connect_queue(dev, i, &p);
		if (ret)
			return ret;
	}
	ret = notify(dev, NETBACK_DEV_QUEUES_UP);
	if (ret) {
		dev_fatal(dev, ret, "scheduling the queues: %s", strerror(-ret));
		return ret;
	}
	set_state(dev, XenbusStateConnected);
	return 0;
}

/* ---- the state machine ---- */

/* Linux netback's frontend_changed(): 1 when the device is finished. */
static int frontend_changed(struct netback_dev *dev, enum xenbus_state fstate)
{
	switch (fstate) {
	case XenbusStateInitialising:
		if (dev->xd.state == XenbusStateClosed && dev->probed) {
			dev->failed = false;
			set_state(dev, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised: /* Linux netback waits for Connected */
		break;
	case XenbusStateConnected:
		if (dev->xd.state != XenbusStateInitWait || dev->failed)
			break;
		if (vif_connect(dev))
			netback_dev_disconnect(dev);
		break;
	case XenbusStateClosing:
		netback_dev_disconnect(dev);
		set_state(dev, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown: /* the front's directory is gone (the guest died) */
		netback_dev_disconnect(dev);
		set_state(dev, XenbusStateClosed);
		if (!xenbus_backend_online(&dev->xd) || fstate == XenbusStateUnknown)
			return 1;
		break;
	default:
		dev_fatal(dev, -EINVAL, "saw state %d at frontend", (int)fstate);
		break;
	}
	return 0;
}

int netback_dev_otherend_changed(struct netback_dev *dev)
{
	enum xenbus_state fstate;
	int ret = xenbus_read_otherend_state(&dev->xd, &fstate);

	if (ret == -EINVAL)
		dev_fatal(dev, ret, "bad state at frontend");
	if (ret) /* xenstore trouble: the next event re-reads */
		return 0;
	return frontend_changed(dev, fstate);
}

int netback_dev_start(struct netback_dev *dev)
{
	enum xenbus_state own = xenbus_backend_own_state(&dev->xd);
	int ret;

	dev->xd.state = own;
	ret = probe(dev);
	if (own != XenbusStateInitialising && own != XenbusStateInitWait) {
		/* A dead back-end left this vif: start over from Closed, as blkback does. */
		set_state(dev, XenbusStateClosed);
	} else if (ret == 0) {
		set_state(dev, XenbusStateInitWait);
	}
	ret = xenbus_watch_otherend(&dev->xd);
	if (ret)
		return ret;
	return netback_dev_otherend_changed(dev);
}

int netback_dev_backend_changed(struct netback_dev *dev)
{
	if (xenbus_backend_gone(&dev->xd))
		return 1;
	rate_read(dev);
	if (dev->probed || dev->failed || probe(dev))
		return 0;
	if (dev->xd.state == XenbusStateInitialising)
		set_state(dev, XenbusStateInitWait);
	return netback_dev_otherend_changed(dev);
}

void netback_dev_queue_failed(struct netback_dev *dev, int err)
{
	netback_dev_disconnect(dev);
	dev_fatal(dev, err, err == -EPROTO ? "ring protocol error" : "queue: %s", strerror(-err));
}

void netback_dev_stats(const struct netback_dev *dev, struct netback_stats *st)
{
	*st = dev->past;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct netback_stats s;

		if (!dev->queues[i].q)
			continue;
		netback_queue_stats(dev->queues[i].q, &s);
		netback_stats_add(st, &s);
	}
	if (dev->ctrl) {
		struct netback_stats s;

		netback_ctrl_stats(dev->ctrl, &s);
		netback_stats_add(st, &s);
	}
}

void netback_dev_destroy(struct netback_dev *dev, bool close_state)
{
	if (!dev)
		return;
	netback_dev_disconnect(dev);
	if (close_state)
		set_state(dev, XenbusStateClosed);
	if (dev->tap0 >= 0)
		close(dev->tap0);
	xenbus_dev_close(&dev->xd);
	free(dev);
}
