/* SPDX-License-Identifier: MIT */
/*
 * netbackd.h - the pvio-netback(8) daemon's pieces on the driver-domain core (dd-core.h): the
 * control plane (pvio-netback.c) follows xenstore and owns every vif's control plane
 * (backend/net/xenbus.h); queue q of every vif is served by queue thread q (modulo the thread
 * count), whose own hypervisor handle its ports are bound on (netbackd-queue.c).
 */
#ifndef PVIO_DRIVERDOMAIN_NETBACKD_H
#define PVIO_DRIVERDOMAIN_NETBACKD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/queue.h>

#include "backend/net/xenbus.h"
#include "driverdomain/dd-core.h"

struct nbd;

/* One queue, as its queue thread serves it. */
struct nbd_queue {
	struct dd_ring r;			/* the core's handle: r.obj is the queue */
	struct netback_dev_queue *dq;		/* the queue (the vif's) */
	struct nbd_device *d;			/* its vif */
	bool attached;				/* handed to its thread */
	pthread_mutex_t lock;			/* guards st */
	struct netback_stats st;		/* the counters, as of the thread's last round */
	struct netback_queue_view view;		/* its rings, as of the thread's last round */
	struct ring_indices shown_tx, shown_rx; /* the shared indices last written out */
};

/* One vif. */
struct nbd_device {
	struct netback_dev *dev;      /* the control plane (owned) */
	struct nbd *b;		      /* the daemon */
	char *path;		      /* back-end directory (owned) */
	struct nbd_queue *queues;     /* one per queue while connected (owned) */
	unsigned int nr_queues;	      /* entries in queues */
	struct nbd_queue ctrl;	      /* the control ring on queue thread 0 (dq NULL) */
	atomic_bool steering;	      /* every queue attached: nbd_queue_wake may kick them */
	struct netback_stats last;    /* counters last written to the statistics file */
	bool front_dirty;	      /* a watch event for the front's state is pending */
	TAILQ_ENTRY(nbd_device) link; /* device-list link */
};
TAILQ_HEAD(nbd_device_list, nbd_device);

/* glibc's sys/queue.h lacks the BSD's removal-safe walk. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                                 \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT((var), field), 1);           \
	     (var) = (tvar))
#endif

/* The daemon. */
struct nbd {
	struct netback_dev_opts dev_opts; /* passed to each vif */
	const char *stats_dir;		  /* statistics files here; NULL: none */
	struct pvio_log *log;		  /* where messages go */
	struct hv *hv;			  /* hypervisor handle of the control plane */
	struct xs_handle *xs;		  /* xenstore connection (main thread only) */
	char home[32];			  /* /local/domain/<domid> */
	bool remove_finished;		  /* a driver domain without --keep-finished */
	struct dd_core core;		  /* control plane and queue threads */
	struct nbd_device_list devices;	  /* every vif served */
};

/* netbackd-queue.c */
/* Hand each queue of d's vif to its queue thread: 0 or a negative errno. */
int nbd_queues_start(struct nbd_device *d);
/* Take d's queues back from their threads (before they are detached); safe to call twice. */
void nbd_queues_stop(struct nbd_device *d);
/* The queue thread queue q of every vif runs on: its handle (netback_dev_opts.queue_hv). */
struct hv *nbd_queue_hv(void *arg, unsigned int q);
/* Wake the thread of d's queue q (netback_dev_opts.queue_wake). */
void nbd_queue_wake(void *arg, unsigned int q);
/* Make every queue of d look at its vif again, on its thread (the vif's rate changed). */
void nbd_queues_kick(struct nbd_device *d);
/* d's counters: the threads' snapshots, or the vif's own once disconnected. */
void nbd_device_stats(struct nbd_device *d, struct netback_stats *st);
/* Whether a queue's shared indices moved since nbd_queues_write last showed them. */
bool nbd_queues_moved(struct nbd_device *d);
/* Each queue's thread, calls, events and rings, as "key value" lines (diagnostics). */
void nbd_queues_write(struct nbd_device *d, FILE *f);

#endif
