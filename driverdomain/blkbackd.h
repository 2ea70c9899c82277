/* SPDX-License-Identifier: MIT */
/*
 * blkbackd.h - the pvio-blkback(8) daemon's pieces: the event loop (loop.c), the device table
 * with its xenstore watches (devices.c) and the statistics files (stats.c).  One process serves
 * every virtual disk of the driver domain; each disk is a blkback_dev (backend/blk/xenbus.h).
 */
#ifndef PVIO_DRIVERDOMAIN_BLKBACKD_H
#define PVIO_DRIVERDOMAIN_BLKBACKD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "backend/blk/xenbus.h"
#include "driverdomain/sandbox.h"
#include "hv/hv.h"
#include "hv/log.h"

#define BBD_KIND_VBD   1u /* serve backend/vbd */
#define BBD_KIND_QDISK 2u /* serve backend/qdisk */

/* --storage directories at most. */
#define BBD_STORAGE_MAX 64

/* Ports the daemon can index (Xen's FIFO ABI has at most 2^17). */
#define BBD_PORTS_MAX (1u << 17)
/* The epoll data of a ring's io fd is EPOLL_PORT_FLAG | its port; the fixed fds' tags are small. */
#define EPOLL_PORT_FLAG (1ull << 32)

/* What the command line sets. */
struct bbd_opts {
	unsigned int kinds;	     /* BBD_KIND_* mask */
	struct blkback_dev_opts dev; /* limits and features passed to each device */
	unsigned int poll_us;	     /* busy-poll this long after the last work; 0: never */
	const char *stats_dir;	     /* one statistics file per device here; NULL: none */
	struct dd_sandbox sandbox;   /* --user, --allow-root, --no-sandbox */
	struct blkback_storage_dir storage_dirs[BBD_STORAGE_MAX]; /* --storage, opened at start */
	struct blkback_storage storage;				  /* over storage_dirs */
};

struct bbd_device;

/* One ring of a connected device, as the loop schedules it. */
struct bbd_queue {
	struct bbd_device *d;	     /* its device */
	struct blkback_ring *ring;   /* the ring (the device's) */
	evtchn_port_t port;	     /* its port (the device's) */
	int io_fd;		     /* blkback_ring_io_fd, registered in the epoll set */
	bool ready;		     /* on the ready list */
	TAILQ_ENTRY(bbd_queue) link; /* ready-list link */
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

TAILQ_HEAD(bbd_queue_list, bbd_queue);
TAILQ_HEAD(bbd_device_list, bbd_device);

/* The daemon. */
struct bbd {
	struct bbd_opts opts;		/* command line */
	struct pvio_log *log;		/* where messages go */
	struct hv *hv;			/* hypervisor handle */
	struct xs_handle *xs;		/* xenstore connection */
	domid_t domid;			/* our domain */
	char home[32];			/* /local/domain/<domid> */
	int epfd;			/* the epoll set */
	int sigfd;			/* signalfd: SIGTERM, SIGINT */
	int timerfd;			/* stats files only, 1 s; -1 without --stats-dir */
	bool stop;			/* a signal asked us to exit */
	bool handover;			/* it was SIGUSR2: exit leaving devices as they are */
	bool rescan;			/* the backend tree changed above a device: rescan */
	struct bbd_device_list devices; /* every device served */
	struct bbd_queue_list ready;	/* rings with work to do, oldest first */
	struct bbd_queue **ports;	/* port -> ring, nports entries (owned) */
	unsigned int nports;		/* entries in ports */
	uint64_t last_work_ns;		/* when a ring last had work (for --poll-us) */
};

/* loop.c */
int bbd_init(struct bbd *b);
int bbd_run(struct bbd *b);
void bbd_fini(struct bbd *b);
/* Put q on the ready list (idempotent). */
void bbd_queue_ready(struct bbd *b, struct bbd_queue *q);

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
