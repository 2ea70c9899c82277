/* SPDX-License-Identifier: MIT */
/*
 * blkfront-priv.h - libpvio-blkfront's insides, shared by its files:
 *   blkfront.c  open, close, info, and the xenbus handshake (talk_to_blkback, blkfront_connect);
 *   queue.c     one ring per queue: grants, event channel, page pool, requests and responses;
 *   ops.c       operations: submit, split into parts, the pending FIFO, completion, poll;
 *   reconnect.c losing the back-end, the zombie grants, and connecting again.
 *
 * An operation (struct bf_op) is what the caller submitted; it is split into parts (struct
 * bf_part), one blkif request each.  A part is either in the device's pending FIFO, or on one
 * queue's ring (named by the ring's shadow slot, which is the request id).  On reconnect the
 * parts on the rings go back to the front of the FIFO, in submission order.
 */
#ifndef PVIO_FRONTEND_BLK_BLKFRONT_PRIV_H
#define PVIO_FRONTEND_BLK_BLKFRONT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/io/blkif.h>

#include "frontend/blk/blkfront.h"
#include "grant/gntpool.h"
#include "hv/clock.h"
#include "hv/hv.h"
#include "ring/adaptive.h"
#include "ring/ring.h"
#include "xenbus/xenbus.h"

#define BF_SECTOR	      512u
#define BF_SEGS_PER_PAGE      (HV_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BF_MAX_INDIRECT_PAGES BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST
#define BF_MAX_SEGS	      (BF_MAX_INDIRECT_PAGES * BF_SEGS_PER_PAGE)
#define BF_DEFAULT_INDIRECT   256u
#define BF_DEFAULT_POOL	      1024u
#define BF_MAX_QUEUES	      16u
#define BF_DEFAULT_TIMEOUT_MS 10000
/* Longest single sleep of blkfront_poll: channels and zombie grants are re-checked this often. */
#define BF_TICK_MS 100
/* How long close waits for the back-end to close. */
#define BF_CLOSE_TIMEOUT_MS 5000

/* Where the device stands. */
enum bf_status {
	BF_CONNECTED,	 /* rings up, requests flow */
	BF_DISCONNECTED, /* rings torn down; waiting for a back-end to come back (or go) */
	BF_INITIALISING, /* we wrote Initialising; waiting for the back-end's InitWait */
	BF_CONNECTING,	 /* rings set up, we wrote Initialised; waiting for Connected */
	BF_GONE,	 /* the device was removed: everything fails -ENODEV */
};

/* One submitted operation. */
struct bf_op {
	enum blkfront_op op;	/* what */
	uint8_t *buf;		/* caller's buffer (reads land here at completion) */
	uint64_t offset;	/* byte offset on the disk */
	size_t len;		/* bytes */
	blkfront_done_fn *done; /* callback */
	void *arg;		/* its argument */
	unsigned int parts;	/* parts not yet completed */
	unsigned int on_ring;	/* parts on a ring now: the back-end may still write buf */
	int result;		/* first error of a part, or 0 */
	struct bf_op *next;	/* link in the device's done list */
};

/* One blkif request's worth of an operation. */
struct bf_part {
	struct bf_op *op;	 /* the operation it belongs to */
	uint64_t seq;		 /* submission order, for re-issue */
	uint8_t operation;	 /* BLKIF_OP_READ/WRITE/FLUSH_DISKCACHE/WRITE_BARRIER/DISCARD */
	bool secure;		 /* discard: BLKIF_DISCARD_SECURE */
	uint64_t sector;	 /* first 512-byte sector */
	size_t op_off;		 /* byte offset of this part inside the operation's buffer */
	size_t len;		 /* bytes (discard: the range) */
	unsigned int nseg;	 /* data segments (pages) */
	unsigned int nind;	 /* indirect descriptor pages (0: a direct request) */
	unsigned int *pages;	 /* pool indexes: nseg data pages, then nind indirect pages */
	const grant_ref_t *zref; /* data in a blkfront_buf_alloc region: its pages' refs (no copy,
				    pages[0..nseg) unused), or NULL */
	struct bf_part *next;	 /* link in the pending FIFO */
};

/* One ring with its event channel and data pages (Linux's blkfront_ring_info). */
struct bf_queue {
	unsigned int index;			/* queue number */
	struct ring_front rf;			/* our view of the ring */
	void *sring;				/* the granted ring pages, NULL when torn down */
	unsigned int order;			/* log2 ring pages */
	grant_ref_t refs[1u << RING_ORDER_MAX]; /* their grant references */
	evtchn_port_t port;			/* our event channel */
	bool bound;				/* port allocated */
	struct gntpool *pool;	 /* data and indirect pages granted to the back-end */
	struct bf_part **shadow; /* per request id: the part on the ring, or NULL */
	unsigned int *free_ids;	 /* stack of free request ids */
	unsigned int nfree;	 /* entries on that stack */
	unsigned int busy;	 /* requests on the ring */
};

/* Caller memory granted to the back-end (blkfront_buf_alloc). */
struct bf_region {
	uint8_t *addr;		/* the pages, virtually contiguous */
	unsigned int pages;	/* how many */
	domid_t domid;		/* the back-end they are granted to */
	grant_ref_t *refs;	/* [pages] their references */
	struct bf_region *next; /* list link */
};

/* The caller's blkfront_log_fn as the pvio_log the lower layers take. */
struct bf_logger {
	struct pvio_log log; /* first: what hv/, xenbus/ and we log through */
	blkfront_log_fn *fn; /* the caller's function */
	void *arg;	     /* its argument */
};

/* Grants a back-end still maps after teardown: retried, never reused (XSA-396). */
struct bf_zombie {
	void *ring;		 /* ring pages to hv_grant_end, or NULL */
	unsigned int ring_pages; /* how many */
	struct gntpool *pool;	 /* pool to gntpool_destroy, or NULL */
	struct bf_zombie *next;	 /* list link */
};

/* The device handle. */
struct blkfront {
	struct blkfront_opts opts;	       /* as given, defaults filled in */
	struct hv *hv;			       /* hypervisor seam, our own session */
	struct xs_handle *xs;		       /* xenstore */
	bool own_xs;			       /* we opened xs */
	struct pvio_log *log;		       /* logger: &logger.log or pvio_log_stderr */
	struct bf_logger logger;	       /* the caller's log function, if any */
	struct xenbus_dev dev;		       /* our device directory and the back-end's */
	int epfd;			       /* epoll over the evtchn fd and the xenstore fd */
	enum bf_status status;		       /* where the device stands */
	enum xenbus_state be_state;	       /* back-end state last read */
	struct blkfront_info info;	       /* negotiated */
	unsigned int be_max_queues;	       /* multi-queue-max-queues (1 if absent) */
	unsigned int be_max_order;	       /* max-ring-page-order (0 if absent) */
	unsigned int be_indirect;	       /* feature-max-indirect-segments (0 if absent) */
	struct bf_queue queues[BF_MAX_QUEUES]; /* queues[0 .. info.queues) */
	unsigned int nqueues;		       /* queues set up */
	unsigned int rr;		       /* the queue used last: first choice on a tie */
	unsigned int part_segs;		       /* data segments per part */
	unsigned int pool_pages;	       /* pool pages per queue, fitted to the grant limit */
	bool pool_explicit;		       /* the caller chose opts.pool_pages */
	bool pool_logged;		       /* said once why the pool is smaller */
	unsigned int depth;		       /* operations outstanding at most */
	struct bf_part *fifo_head;	       /* parts waiting for ring or pool space */
	struct bf_part *fifo_tail;	       /* its last */
	struct bf_op *done_head;	       /* operations completed, callbacks not yet run */
	struct bf_op *done_tail;	       /* its last */
	uint64_t seq;			       /* next part sequence number */
	struct bf_zombie *zombies;	       /* grants not yet ended */
	struct bf_region *regions;	       /* blkfront_buf_alloc memory */
	struct blkfront_stats stats;	       /* counters */
	bool was_connected;		       /* connected once: the next connect is a reconnect */
	long long chan_checked_ms;	       /* when the ports' states were last looked at */
	bool xs_lost;	       /* xenstore is gone: the rings serve on, no reconnect */
	int report;	       /* an error blkfront_poll reports once, or 0 */
	int gone_err;	       /* what everything fails with once BF_GONE */
	struct ring_poll poll; /* how long to spin for responses before sleeping */
	bool spun;	       /* the last spin found a response */
};

/* blkfront.c */
int bf_talk_to_backend(struct blkfront *bf);
int bf_read_connect_info(struct blkfront *bf);
int bf_backend_online(struct blkfront *bf);

/* queue.c */
int bf_queue_setup(struct blkfront *bf, struct bf_queue *q, unsigned int index);
void bf_queue_teardown(struct blkfront *bf, struct bf_queue *q, struct bf_part **list);
bool bf_queue_fits(const struct blkfront *bf, const struct bf_queue *q, const struct bf_part *p);
int bf_queue_issue(struct blkfront *bf, struct bf_queue *q, struct bf_part *p);
int bf_queue_push(struct blkfront *bf, struct bf_queue *q);
int bf_queue_responses(struct blkfront *bf, struct bf_queue *q);
bool bf_queue_has_responses(const struct bf_queue *q);
void bf_zombies_retry(struct blkfront *bf);
/* Keep grants the back-end still maps, to end later (XSA-396: never reuse them). */
void bf_zombie_add(struct blkfront *bf, void *ring, unsigned int pages, struct gntpool *pool);

/* buf.c */
/* The refs of part p's data if it lies in a region granted to the current back-end, or NULL. */
const grant_ref_t *bf_region_refs(const struct blkfront *bf, const struct bf_part *p);
/* End every region (at close); what the back-end still maps becomes a zombie. */
void bf_regions_release(struct blkfront *bf);

/* ops.c */
void bf_part_complete(struct blkfront *bf, struct bf_part *p, int result);
void bf_dispatch(struct blkfront *bf);
void bf_fail_all(struct blkfront *bf, int err);
int bf_run_done(struct blkfront *bf);

/* reconnect.c */
void bf_lost(struct blkfront *bf, const char *why);
/* The device cannot continue: everything pending, and every later call, fails with err. */
void bf_gone(struct blkfront *bf, int err);
/*
 * The hypervisor is gone (pvio-hv died): no grant can end, no back-end's death would be seen,
 * no reconnect is possible, so the device cannot continue.
 */
void bf_check_hv(struct blkfront *bf);
/* Follow the back-end's state in xenstore, or note once that xenstore is gone. */
int bf_follow_xenstore(struct blkfront *bf);
int bf_state_step(struct blkfront *bf);
int bf_state_act(struct blkfront *bf, enum xenbus_state st);
int bf_check_channels(struct blkfront *bf);

#endif
