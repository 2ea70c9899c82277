/* SPDX-License-Identifier: MIT */
/*
 * netbackd.h - the pvio-netback(8) daemon's pieces: the main thread (pvio-netback.c) follows
 * xenstore, owns every vif's control plane (backend/net/xenbus.h) and hands each event-channel
 * event to the thread of the queue it belongs to (netbackd-queue.c), which alone drives that
 * queue's data plane, and sleeps on its rate's credit deadline when it has one.
 */
#ifndef PVIO_DRIVERDOMAIN_NETBACKD_H
#define PVIO_DRIVERDOMAIN_NETBACKD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "backend/net/xenbus.h"

struct nbd;

/* One queue's thread. */
struct nbd_queue {
	struct nbd *b;		      /* the daemon */
	struct netback_dev_queue *dq; /* the queue (the vif's) */
	int evfd;		      /* eventfd: an event for the queue, or stop */
	pthread_t thread;	      /* runs nbd_queue_main */
	bool started;		      /* thread was created */
	atomic_bool stop;	      /* the main thread asks the thread to end */
	atomic_int failed;	      /* the queue's negative errno once it failed, else 0 */
	pthread_mutex_t lock;	      /* guards st */
	struct netback_stats st;      /* the counters, as of the thread's last round */

	atomic_bool masked; /* the main thread left the queue's ports masked after an event */
	uint64_t unmask_at; /* the thread unmasks them then (ns, CLOCK_MONOTONIC); 0: not held */
};

/* One vif. */
struct nbd_device {
	struct netback_dev *dev;      /* the control plane (owned) */
	struct nbd *b;		      /* the daemon */
	char *path;		      /* back-end directory (owned) */
	struct nbd_queue *queues;     /* one per queue while connected (owned) */
	unsigned int nr_queues;	      /* entries in queues */
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
	struct hv *hv;			  /* hypervisor handle, shared by the threads */
	struct xs_handle *xs;		  /* xenstore connection (main thread only) */
	char home[32];			  /* /local/domain/<domid> */
	int failfd;			  /* eventfd: a queue thread failed */
	struct nbd_device_list devices;	  /* every vif served */
};

/* netbackd-queue.c */
/* Start one thread per queue of d's vif: 0 or a negative errno (nothing left running). */
int nbd_queues_start(struct nbd_device *d);
/* Stop and join d's queue threads (before the queues are detached); safe to call twice. */
void nbd_queues_stop(struct nbd_device *d);
/* Wake every queue thread of d (the vif's rate changed). */
void nbd_queues_kick(struct nbd_device *d);
/*
 * Route an event on port to its queue's thread, which unmasks the port (late EOI, XSA-332):
 * false when no queue has the port, and the caller unmasks it.
 */
bool nbd_port_event(struct nbd *b, evtchn_port_t port);
/* d's counters: the threads' snapshots, or the vif's own once disconnected. */
void nbd_device_stats(struct nbd_device *d, struct netback_stats *st);

#endif
