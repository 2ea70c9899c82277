/* SPDX-License-Identifier: MIT */
/*
 * blkbackd.h - the pvio-blkback(8) daemon's pieces: its glue on the driver-domain core
 * (loop.c over dd-core.h), the device table with its xenstore watches (devices.c) and the
 * statistics files (stats.c).  One process serves
 * every virtual disk of the driver domain; each disk is a blkback_dev (backend/blk/xenbus.h).
 */
#ifndef PVIO_DRIVERDOMAIN_BLKBACKD_H
#define PVIO_DRIVERDOMAIN_BLKBACKD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "backend/blk/xenbus.h"
#include "driverdomain/dd-core.h"
#include "driverdomain/sandbox.h"
#include "hv/hv.h"
#include "hv/log.h"

#define BBD_KIND_VBD   1u /* serve backend/vbd */
#define BBD_KIND_QDISK 2u /* serve backend/qdisk */

/* --storage directories at most. */
#define BBD_STORAGE_MAX 64

/* What the command line sets. */
struct bbd_opts {
	unsigned int kinds;	     /* BBD_KIND_* mask */
	struct blkback_dev_opts dev; /* limits and features passed to each device */
	unsigned int threads;	     /* queue threads at most; 0: online CPUs */
	const char *stats_dir;	     /* one statistics file per device here; NULL: none */
	const char *journal_path;    /* --journal-dir as given (the hand-over socket's), or NULL */
	bool takeover;		     /* --takeover */
	bool keep_finished;	     /* --keep-finished: a driver domain leaves them to xl devd */
	int bounce;		     /* --bounce: 1 yes, 0 no, -1 by the hypervisor (Xen: yes) */
	struct dd_sandbox sandbox;   /* --user, --allow-root, --no-sandbox */
	struct blkback_storage_dir storage_dirs[BBD_STORAGE_MAX]; /* --storage, opened at start */
	struct blkback_storage storage;				  /* over storage_dirs */
};

struct bbd_device;

/* One ring of a connected device, as its queue thread serves it. */
struct bbd_queue {
	struct dd_ring r;	   /* the core's handle: r.obj is the ring */
	struct bbd_device *d;	   /* its device */
	struct blkback_ring *ring; /* the ring (the device's) */
	bool attached;		   /* handed to its thread */
	pthread_mutex_t lock;	   /* guards st */
	struct blkback_stats st;   /* the ring's counters as of its thread's last call */
};

/* One device the daemon serves. */
struct bbd_device {
	struct blkback_dev *dev;      /* the control plane (owned) */
	struct bbd *b;		      /* the daemon */
	char *path;		      /* back-end directory (owned) */
	char stats_name[32];	      /* "<frontend-domid>.<devid>" */
	bool front_dirty;	      /* a watch event for the front's state is pending */
	bool back_dirty;	      /* an event under our directory is pending */
	bool stats_dirty;	      /* the statistics file needs writing (state change) */
	struct blkback_stats last;    /* counters last written to the statistics file */
	struct bbd_queue *queues;     /* one per ring while connected (owned) */
	unsigned int nr_queues;	      /* entries in queues */
	TAILQ_ENTRY(bbd_device) link; /* device-list link */
};

TAILQ_HEAD(bbd_device_list, bbd_device);

/* The daemon. */
struct bbd {
	struct bbd_opts opts;		/* command line */
	struct pvio_log *log;		/* where messages go */
	struct hv *hv;			/* hypervisor handle of the control plane */
	struct xs_handle *xs;		/* xenstore connection */
	domid_t domid;			/* our domain */
	char home[32];			/* /local/domain/<domid> */
	struct dd_core core;		/* control plane and queue threads */
	bool rescan;			/* the backend tree changed above a device: rescan */
	bool takeover;			/* --takeover: a predecessor serves; take its devices */
	bool preparing;			/* before the hand-over: devices are only prepared */
	uint64_t start_us;		/* CLOCK_MONOTONIC at main's start, for -v timings */
	struct bbd_device_list devices; /* every device served */
};

/* loop.c */
int bbd_init(struct bbd *b);
int bbd_run(struct bbd *b);
/* --takeover: prepare every device, have the predecessor leave, serve what it left. */
int bbd_takeover(struct bbd *b);
void bbd_fini(struct bbd *b);
/* Hand q to its thread; take it back (returns once the thread has let go of it). */
void bbd_queue_attach(struct bbd *b, struct bbd_queue *q, unsigned int idx);
void bbd_queue_detach(struct bbd_queue *q);

/* devices.c */
int bbd_watch(struct bbd *b);
void bbd_rescan(struct bbd *b);
/* Consume up to max pending watch events, then act on the devices they touched. */
int bbd_xs_events(struct bbd *b, unsigned int max);
/* Destroy a device; close: switch it to Closed first (orderly exit). */
void bbd_device_forget(struct bbd_device *d, bool close);

/* stats.c */
/* Write d's statistics file if its counters or state changed (force: even if not). */
void bbd_stats_write(struct bbd_device *d, bool force);
void bbd_stats_remove(struct bbd_device *d);

#endif
