/* SPDX-License-Identifier: MIT */
/*
 * xenbus.h - netback's control plane for one vif, in the order of Linux's
 * drivers/net/xen-netback/xenbus.c.
 *
 * Probe.  The back-end directory .../backend/vif/<fe>/<devid> holds the toolstack's `mac`
 * ("xx:xx:xx:xx:xx:xx", the guest's) and optionally `bridge`.  Until `mac` is there the device
 * stays Initialising.  Then the TAP vif<fe>.<devid> is created (one queue), brought up and
 * attached to the bridge, `hotplug-status` is written "connected" (the job of Xen's vif-bridge
 * script, which libxl waits for), one transaction writes feature-sg, feature-gso-tcpv4,
 * feature-gso-tcpv6, feature-ipv6-csum-offload, feature-rx-copy, feature-rx-flip (0),
 * feature-rx-notify, feature-split-event-channels, multi-queue-max-queues, feature-ctrl-ring and
 * feature-multicast-control, and the device switches to InitWait.  A TAP that cannot be made is
 * reported as hotplug-status "error" with hotplug-error, as libxl expects of a failed script.
 *
 * Connect, when the front is Connected (Linux netback ignores Initialised): request-rx-copy must
 * be 1 and feature-rx-notify present; multi-queue-num-queues (1 if absent) at most our maximum;
 * per queue (queue-N/ when more than one) tx-ring-ref, rx-ring-ref, and event-channel or
 * event-channel-tx plus event-channel-rx; feature-sg, feature-gso-tcpv4/v6 and
 * feature-no-csum-offload decide what the TAP may hand the guest; a non-zero ctrl-ring-ref
 * with event-channel-ctrl is the control ring (hash.h), served with queue 0; a
 * request-multicast-control of 1 turns the multicast filter on (mcast.h).  Then Connected.
 *
 * Watch events are the caller's, as for blkback (backend/blk/xenbus.h): it watches the front's
 * state with netback_dev_token() and calls netback_dev_otherend_changed() once per wake-up.
 * Everything the front writes is hostile; a failure is reported in the error node
 * (xenbus_dev_fatal) and the device switches to Closing; other devices are not affected.
 *
 * Not thread-safe: one thread drives the control plane; the queues may each run on their own.
 */
#ifndef PVIO_BACKEND_NET_XENBUS_H
#define PVIO_BACKEND_NET_XENBUS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/net/hash.h"
#include "backend/net/mcast.h"
#include "backend/net/netback.h"
#include "hv/hv.h"
#include "hv/log.h"
#include "xenbus/backend.h"

/* multi-queue-max-queues is bounded by this whatever the option says. */
#define NETBACK_DEV_QUEUES_MAX 16u

struct netback_dev;

/* What netback_dev_opts.notify is told. */
enum netback_dev_event {
	NETBACK_DEV_QUEUES_UP,	 /* the queues are attached: start serving them */
	NETBACK_DEV_QUEUES_DOWN, /* the queues are about to be detached: stop serving them */
	NETBACK_DEV_STATE,	 /* our state changed */
	NETBACK_DEV_RATE,	 /* `rate` changed and was handed to the queues: wake their
				    threads so that they apply it */
};

/* Limits and features, the same for every vif of a daemon. */
struct netback_dev_opts {
	unsigned int max_queues; /* multi-queue-max-queues: 1..NETBACK_DEV_QUEUES_MAX */
	bool no_split;		 /* do not offer feature-split-event-channels */
	struct pvio_log *log;	 /* NULL: stderr at PVIO_LOG_WARN */
	/*
	 * Called (may be NULL) at each event, with arg.  For NETBACK_DEV_QUEUES_UP a negative
	 * errno when the caller cannot serve the queues: the device then fails instead of
	 * switching to Connected.  Other events' results are ignored.
	 */
	int (*notify)(void *arg, struct netback_dev *dev, enum netback_dev_event ev);
	void *arg; /* notify's */
	/*
	 * Optional (NULL: the vif's handle): the hypervisor handle queue q's ports are bound on
	 * and its rings mapped through, e.g. that of the thread that will serve it; called with
	 * arg.
	 */
	struct hv *(*queue_hv)(void *arg, unsigned int q);
	/*
	 * Optional: wake the thread serving queue q (another queue handed it a frame the hash
	 * mapping names it for; hash.h); called with arg from any queue's thread.
	 */
	void (*queue_wake)(void *arg, unsigned int q);
};

/* One queue of a connected vif. */
struct netback_dev_queue {
	struct netback_queue *q; /* attached queue (owned) */
	evtchn_port_t tx_port;	 /* our bound ends (owned); rx_port == tx_port when not split */
	evtchn_port_t rx_port;
	int tap_fd;    /* its TAP queue (owned) */
	void *user;    /* the caller's, e.g. its thread */
	struct hv *hv; /* the handle its ports and rings are on (not owned) */
};

/* One vif.  Fields are read-only outside backend/net/xenbus.c. */
struct netback_dev {
	struct xenbus_dev xd;		  /* our directory, the front's, and the handshake */
	struct hv *hv;			  /* hypervisor handle (not owned) */
	struct netback_dev_opts opts;	  /* limits, logger, notify hook */
	char name[48];			  /* "vif <fe>/<devid>" for messages */
	char ifname[IFNAMSIZ];		  /* the TAP: vif<fe>.<devid> */
	unsigned int devid;		  /* the last component of our directory */
	uint8_t mac[6];			  /* the guest's MAC, from the toolstack */
	int tap0;			  /* the TAP's first queue, open while probed (owned) */
	bool probed;			  /* TAP made, features written */
	bool failed;			  /* a fatal error was reported: no connect until the front
					     has closed */
	unsigned int nr_queues;		  /* queues connected; 0 while disconnected */
	struct netback_dev_queue *queues; /* nr_queues entries (owned) */
	struct netback_stats past;	  /* counters of queues already detached */
	uint64_t rate_bytes, rate_usec;	  /* `rate` as last read; 0: no limit */
	struct netback_hash hash;	  /* the receive hash, while connected */
	struct netback_mcast mcast;	  /* the multicast filter, while connected */
	bool hash_ready;		  /* hash initialised */
	struct netback_ctrl *ctrl;	  /* the control ring, when the front gave one */
	evtchn_port_t ctrl_port;	  /* its port, bound on ctrl_hv (owned) */
	struct hv *ctrl_hv;		  /* queue 0's handle, which serves it */
};

/* Open the vif at nodename (a back-end directory): 0, -ENOENT, -EINVAL, -ENOMEM. */
int netback_dev_create(struct netback_dev **devp, struct xs_handle *xs, struct hv *hv,
		       const char *nodename, const struct netback_dev_opts *opts);
/*
 * Start serving a vif just found: probe, watch the front's state and act on it.  1 when the
 * device is finished (destroy it), 0 otherwise, or a negative errno (the watch could not be
 * set).  A vif found past InitWait (its back-end died) starts over from Closed.
 */
int netback_dev_start(struct netback_dev *dev);
/* The back-end directory changed: probe again if waiting.  1 when it is gone, else 0. */
int netback_dev_backend_changed(struct netback_dev *dev);
/* The token of the device's watch on the front's state. */
const char *netback_dev_token(const struct netback_dev *dev);
/* Re-read the front's state and act on it: 1 when the device is finished, else 0. */
int netback_dev_otherend_changed(struct netback_dev *dev);
/* netback_queue_process failed with err on one of the queues: disconnect, report, Closing. */
void netback_dev_queue_failed(struct netback_dev *dev, int err);
/* Detach the queues, close their TAP fds, unbind the ports; safe to call twice. */
void netback_dev_disconnect(struct netback_dev *dev);
/*
 * The vif's counters: detached queues' plus the live ones' and the control ring's (take them
 * with the queues quiet).
 */
void netback_dev_stats(const struct netback_dev *dev, struct netback_stats *st);
/* Disconnect, switch to Closed if close, stop watching, close the TAP and free.  NULL is fine. */
void netback_dev_destroy(struct netback_dev *dev, bool close);

#endif
