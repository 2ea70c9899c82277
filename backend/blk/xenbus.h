/* SPDX-License-Identifier: MIT */
/*
 * xenbus.h - blkback's control plane for one virtual disk, modelled on Linux's
 * drivers/block/xen-blkback/xenbus.c: probe the back-end directory, open the disk, advertise
 * features, follow the front end's state with one frontend_changed() switch, negotiate and
 * attach the rings (backend/blk/blkback.h), write the disk's properties, and tear down.
 *
 * Probe.  The back-end directory .../backend/<vbd|qdisk>/<fe>/<devid> holds the toolstack's
 * `params` (a path, optionally "aio:" or "raw:" prefixed as libxl writes it for qdisk), `mode`
 * ("r" or "w"), `discard-enable`, `device-type`, `removable`.  Until `params` is there the device
 * stays Initialising; blkback_dev_probe() is called again on each change of the directory.  Then
 * one transaction writes feature-flush-cache, feature-barrier, feature-persistent,
 * feature-max-indirect-segments, multi-queue-max-queues, max-ring-page-order and the discard keys,
 * and the device switches to InitWait.
 *
 * Restart rule.  A device found with its own `state` past InitWait was served by a back end that
 * died: it switches to Closed and then follows the front end from there (a front end that goes
 * Closed then Initialising gets InitWait and reconnects).
 *
 * Watch events are the caller's: it watches <front>/state with the token blkback_dev_token() and,
 * however many events arrived for a device, calls blkback_dev_otherend_changed() once (XSA-349).
 *
 * Everything the front end writes is hostile: parsed strictly, bounded, re-read on every change.
 * Errors are reported as Linux does, in the error node (xenbus_dev_fatal) with the device
 * switching to Closing; other devices are not affected.
 *
 * Not thread-safe: one thread drives a device.  Between BLKBACK_DEV_RINGS_UP and the return of
 * BLKBACK_DEV_RINGS_DOWN its rings may be driven by other threads (each ring by one), which
 * then own them: blkback_dev_stats must not be called meanwhile.
 */
#ifndef PVIO_BACKEND_BLK_XENBUS_H
#define PVIO_BACKEND_BLK_XENBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/blk/blkback.h"
#include "hv/hv.h"
#include "hv/log.h"
#include "ring/ring.h"
#include "xenbus/xenbus.h"

/* multi-queue-max-queues is bounded by this whatever the option says. */
#define BLKBACK_DEV_QUEUES_MAX 64u

struct blkback_dev;

/* What blkback_dev_opts.notify is told. */
enum blkback_dev_event {
	BLKBACK_DEV_RINGS_UP,	/* the rings are attached: start serving them */
	BLKBACK_DEV_RINGS_DOWN, /* the rings are about to be detached: stop serving them */
	BLKBACK_DEV_STATE,	/* our state changed */
};

/* Limits and features, the same for every device of a daemon. */
struct blkback_dev_opts {
	unsigned int max_queues;	    /* multi-queue-max-queues: 1..BLKBACK_DEV_QUEUES_MAX */
	unsigned int max_ring_order;	    /* max-ring-page-order: 0..RING_ORDER_MAX */
	unsigned int max_indirect_segments; /* feature-max-indirect-segments; 0: not offered */
	bool no_persistent;		    /* do not offer feature-persistent */
	unsigned int max_persistent;	    /* grants kept mapped per ring; 0: blkback's default */
	enum ring_poll_mode poll_mode;	    /* the rings' polling: adaptive (0), fixed, off */
	unsigned int poll_us;		    /* the fixed budget of RING_POLL_FIXED */
	bool bounce;			    /* blkback_ring_params.bounce for every ring */
	struct pvio_log *log;		    /* NULL: stderr at PVIO_LOG_WARN */
	/* Where `params` may point (blkback_disk_open_beneath); NULL or empty: nowhere. */
	const struct blkback_storage *storage;
	/*
	 * Called (may be NULL) at each event, with arg; the device may not be destroyed from it.
	 * 0, or for BLKBACK_DEV_RINGS_UP a negative errno when the caller cannot serve the rings:
	 * the device then fails (error node, Closing) and is disconnected (BLKBACK_DEV_RINGS_DOWN)
	 * instead of switching to Connected.  Other events' results are ignored.
	 */
	int (*notify)(void *arg, struct blkback_dev *dev, enum blkback_dev_event ev);
	void *arg; /* notify's */
	/*
	 * Optional (NULL: the device's handle): the hypervisor handle queue q's port is bound on
	 * and its ring mapped through, e.g. that of the thread that will serve it; called with arg.
	 */
	struct hv *(*queue_hv)(void *arg, unsigned int q);
	/*
	 * Keep an in-flight journal per ring in the directory journal_dirfd (journal.c), and
	 * re-attach to a device found Connected at both ends from it instead of restarting it.
	 */
	bool journal;
	int journal_dirfd;
};

/* What the front wrote for one queue: read before its ring is attached (or taken over). */
struct blkback_dev_keys {
	grant_ref_t refs[1u << RING_ORDER_MAX]; /* ring-ref* */
	uint32_t remote;			/* event-channel */
	struct blkback_ring *pre;		/* its ring prepared ahead (owned), or NULL */
};

/* One queue of a connected device. */
struct blkback_dev_queue {
	struct blkback_ring *ring; /* attached ring (owned) */
	evtchn_port_t port;	   /* our bound end of its event channel (owned) */
	void *user;		   /* the caller's, e.g. its scheduling entry */
	struct hv *hv;		   /* the handle port and ring are on (not owned) */
};

/* One virtual disk.  Fields are read-only outside backend/blk/xenbus.c. */
struct blkback_dev {
	struct xenbus_dev xd;		  /* our directory, the front's, and the handshake */
	struct hv *hv;			  /* hypervisor handle (not owned) */
	struct blkback_dev_opts opts;	  /* limits, logger, notify hook */
	char name[48];			  /* "<kind> <fe>/<devid>" for messages */
	unsigned int devid;		  /* the last component of our directory */
	bool probed;			  /* disk open and features written */
	bool failed;			  /* a fatal error was reported: no connect until the front
					     has closed */
	bool restarting;		  /* restart rule: no connect until the front has reset */
	bool resume;			  /* connecting from the journals of a predecessor */
	bool quiesce;			  /* answer the I/O in flight at disconnect (hand-over) */
	bool left;			  /* blkback_dev_leave: rings quiesced, ports unbound,
					     journals kept for a successor */
	bool restart;			  /* survey: our stored state was past InitWait */
	int probe_err;			  /* survey: what the probe returned */
	bool quiet;			  /* preparing a hand-over: failures are not reported */
	int quiet_err;			  /* the failure seen while quiet, or 0 */
	struct blkback_dev_keys *keys;	  /* negotiated keys read ahead of the attach, or NULL */
	unsigned int nr_keys;		  /* queues in keys */
	struct blkback_disk disk;	  /* the backing disk (open while probed) */
	bool cdrom;			  /* device-type "cdrom": VDISK_CDROM */
	bool removable;			  /* removable=1: VDISK_REMOVABLE */
	bool discard;			  /* feature-discard offered */
	unsigned int nr_queues;		  /* queues connected; 0 while disconnected */
	unsigned int ring_order;	  /* their ring-page-order */
	bool persistent;		  /* feature-persistent in use */
	struct blkback_dev_queue *queues; /* nr_queues entries (owned) */
	struct blkback_stats past;	  /* counters of rings already detached */
};

/*
 * Open the device at nodename (a back-end directory): read `frontend` and `frontend-id`.  Nothing
 * is written and nothing watched yet.  0, -ENOENT when the directory or its keys are not there,
 * -EINVAL for a bad path, -ENOMEM.
 */
int blkback_dev_create(struct blkback_dev **devp, struct xs_handle *xs, struct hv *hv,
		       const char *nodename, const struct blkback_dev_opts *opts);

/*
 * Start serving a device just found: apply the restart rule, probe, watch the front's state
 * and act on it.  1 when the device is finished (destroy it), 0 otherwise, or a negative errno
 * from xenstore (the watch could not be set).
 */
int blkback_dev_start(struct blkback_dev *dev);

/*
 * blkback_dev_start in two steps, for a hand-over (pvio-blkback --takeover).  prepare reads our
 * stored state, probes (opens the disk), reads ahead every key a re-attach needs for a device
 * left Connected, and watches the front's state.  quiet: nothing a front can see changes, a
 * failure (a disk that does not open, a key that does not parse) is only logged and kept in
 * quiet_err, for the caller to refuse the hand-over (the predecessor serves on).  go then
 * acts as blkback_dev_start would (re-attach, restart rule, InitWait); look_again: read our
 * state again first when nothing was read ahead (the predecessor may have moved on since).
 * Return as blkback_dev_start.
 */
int blkback_dev_prepare(struct blkback_dev *dev, bool quiet);
int blkback_dev_go(struct blkback_dev *dev, bool look_again);

/*
 * Leave a device to a successor: take no new request, answer what is in flight, push the
 * responses, unbind the ports (so the successor can bind them), keep the rings mapped and the
 * journals in place.  Nothing is written to xenstore.
 */
void blkback_dev_leave(struct blkback_dev *dev);
/*
 * The successor did not take over after blkback_dev_leave: serve the device again, re-attaching
 * from the journals (what the successor may have done is in them).  As blkback_dev_start.
 */
int blkback_dev_take_back(struct blkback_dev *dev);

/*
 * The back-end directory changed: probe again if still waiting for `params`.  1 when the
 * directory is gone (destroy the device), else 0.
 */
int blkback_dev_backend_changed(struct blkback_dev *dev);

/* The token of the device's watch on the front's state. */
const char *blkback_dev_token(const struct blkback_dev *dev);

/* Re-read the front's state and act on it: 1 when the device is finished, else 0. */
int blkback_dev_otherend_changed(struct blkback_dev *dev);

/*
 * blkback_ring_process failed with err on one of the device's rings: disconnect the device,
 * report it in the error node ("ring protocol error" for -EPROTO) and switch to Closing.
 */
void blkback_dev_ring_failed(struct blkback_dev *dev, int err);

/* Detach the rings and unbind the ports; safe to call twice. */
void blkback_dev_disconnect(struct blkback_dev *dev);

/*
 * The device's counters: those of the rings detached so far plus the live rings' (read
 * directly: only while no other thread drives them, see the top of this file).
 */
void blkback_dev_stats(const struct blkback_dev *dev, struct blkback_stats *st);

/*
 * Disconnect, switch to Closed if close (an orderly exit of the daemon), stop watching, close
 * the disk and free.  NULL is fine.
 */
void blkback_dev_destroy(struct blkback_dev *dev, bool close);

#endif
