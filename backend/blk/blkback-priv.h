/* SPDX-License-Identifier: MIT */
/*
 * blkback-priv.h - what the files of blkback's data plane share: the ring, its table of
 * requests in flight, and the steps between them.
 *
 *   blkback.c  attach, detach, the process loop, taking requests off the ring, responses;
 *   request.c  validation and planning of every operation (indirect descriptors included);
 *   io.c       mapping the segments, libaio submission and completion, flush, barrier, discard;
 *   disk.c     blkback_disk_open/close.
 *
 * A request taken off the ring gets an entry of the ring's table (nr_ents entries, allocated
 * at attach: the ring protocol bounds the requests unanswered to nr_ents) and keeps it until
 * it is answered.  Nothing is allocated per request.
 */
#ifndef PVIO_BACKEND_BLK_BLKBACK_PRIV_H
#define PVIO_BACKEND_BLK_BLKBACK_PRIV_H

#include <libaio.h>
#include <stdbool.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <sys/uio.h>

#include <xen/io/blkif.h>

#include "backend/blk/blkback.h"
#include "backend/blk/journal.h"
#include "grant/mapcache.h"
#include "ring/eoi.h"
#include "ring/ring.h"

#define BLKBACK_SECTORS_PER_PAGE (HV_PAGE_SIZE >> BLKBACK_SECTOR_SHIFT)
/* Persistent grants a successor maps ahead from its predecessor's journal, at most. */
#define BLKBACK_PREFETCH_MAX 1024u
/* Segment descriptors per indirect page: 512. */
#define BLKBACK_SEGS_PER_INDIRECT_PAGE (HV_PAGE_SIZE / sizeof(struct blkif_request_segment))
/* The most indirect segments the protocol can describe: 8 pages of descriptors. */
#define BLKBACK_INDIRECT_SEGMENTS_LIMIT                                                            \
	(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKBACK_SEGS_PER_INDIRECT_PAGE)

/* How one segment's page is mapped. */
enum blkback_seg_map {
	BLKBACK_SEG_UNMAPPED = 0, /* not mapped (yet, or any more) */
	BLKBACK_SEG_BATCH,	  /* part of the request's one batched map (entry->batch) */
	BLKBACK_SEG_CACHED,	  /* a use of a persistent grant: mapcache_put releases it */
	BLKBACK_SEG_SINGLE,	  /* mapped on its own for this request: unmap one page */
};

/*
 * The header of the kernel's aio completion ring, mapped in our memory at the io_context_t
 * (fs/aio.c struct aio_ring): completions are read from it, and head moved, without a system
 * call, as the kernel allows (its accounting refills from head).  Used only with the magic and
 * no incompatible feature, else io_getevents.
 */
struct bb_aio_ring {
	unsigned int id, nr, head, tail, magic, compat_features, incompat_features, header_length;
	struct io_event io_events[];
};
#define BB_AIO_RING_MAGIC 0xa10a10a1u

/* The aio ring of ctx when its header is the one we know, else NULL (then io_getevents). */
static inline struct bb_aio_ring *bb_aio_ring_of(io_context_t ctx)
{
	struct bb_aio_ring *a = (struct bb_aio_ring *)ctx;

	if (!a || a->magic != BB_AIO_RING_MAGIC || a->incompat_features)
		return NULL;
	return a;
}

/* One validated segment of a request in flight. */
struct blkback_seg {
	grant_ref_t ref;    /* the guest's reference to the page */
	uint8_t first_sect; /* first 512-byte sector of the page covered (<= last_sect) */
	uint8_t last_sect;  /* last sector covered (< BLKBACK_SECTORS_PER_PAGE) */
	uint8_t map;	    /* enum blkback_seg_map */
	void *page;	    /* the mapped page while map != BLKBACK_SEG_UNMAPPED */
};

/* What an entry of the table does. */
enum blkback_kind {
	BLKBACK_KIND_RW = 0, /* read or write (a flush with data: its write, after the presync) */
	BLKBACK_KIND_FLUSH,  /* a flush: no data, one IOCB_CMD_FDSYNC (or fdatasync) */
	BLKBACK_KIND_BARRIER /* a write barrier: drain, fdatasync, write, fdatasync */
};

/* One request taken off the ring and not yet answered. */
struct blkback_req {
	struct iocb iocb;	  /* its aio control block; data points back at the entry */
	bool busy;		  /* the entry is taken */
	bool write;		  /* data flows from guest pages to the disk */
	uint8_t kind;		  /* enum blkback_kind */
	uint8_t rsp_op;		  /* the operation the response echoes */
	uint64_t id;		  /* the guest's id, echoed in the response */
	uint64_t offset;	  /* byte offset on the disk */
	uint64_t bytes;		  /* bytes the segments cover, 0 without data */
	uint64_t done;		  /* of those, bytes transferred so far (short completions) */
	unsigned int nseg;	  /* segments, 0 for a flush or barrier without data */
	unsigned int retries;	  /* resubmissions after short completions */
	unsigned int nbatch;	  /* pages in batch */
	void *batch;		  /* the one map of all segments (not persistent), or NULL */
	struct blkback_seg *segs; /* [ring max_segs]: this entry's share of the ring's table */
	struct iovec *iov;	  /* [ring max_segs]: its iovec, live until io_submit took it */
	uint8_t *bbuf;		  /* its bounce buffer (blkback_ring_params.bounce), or NULL */
	size_t bbuf_len;	  /* the buffer's size, kept for the entry's next request */
	bool bounced;		  /* this request's data goes through bbuf */
};

/* A request a journal left unanswered, to execute again (in ring order). */
struct blkback_redo {
	uint32_t slot;		  /* its journal slot (and table entry) */
	uint32_t idx;		  /* the ring index it was taken at */
	struct blkif_request req; /* as taken */
};

struct blkback_ring {
	struct hv *hv;			     /* the seam everything is mapped through */
	struct pvio_log *log;		     /* where messages go */
	char name[64];			     /* for messages */
	domid_t frontend;		     /* the granting guest */
	evtchn_port_t port;		     /* our end of the event channel */
	const struct blkback_disk *disk;     /* the backing disk (the caller's) */
	void *sring;			     /* the mapped ring pages */
	unsigned int ring_pages;	     /* 1 << order */
	struct ring_back rb;		     /* our private view of the ring */
	io_context_t aio;		     /* the aio context, nr_ents deep */
	int efd;			     /* eventfd signalled by every completion */
	unsigned int aio_inflight;	     /* iocbs submitted and not yet reaped */
	bool no_aio_fsync;		     /* io_submit refused IOCB_CMD_FDSYNC: fdatasync */
	struct mapcache *cache;		     /* persistent grants, or NULL */
	unsigned int max_indirect;	     /* indirect segments accepted, 0: none */
	unsigned int max_segs;		     /* segments per entry: max(11, max_indirect) */
	struct blkback_req *reqs;	     /* [nr_ents] the table of requests in flight */
	struct blkback_seg *segs;	     /* [nr_ents * max_segs] their segments */
	uint32_t *free;			     /* [nr_ents] stack of free entry indices */
	unsigned int nfree;		     /* entries on the free stack */
	struct blkback_req *barrier;	     /* a barrier waiting for the drain, or NULL */
	struct iovec *iov;		     /* [nr_ents * max_segs] the entries' iovecs */
	struct iocb **plug;		     /* [nr_ents] iocbs prepared, not yet submitted */
	unsigned int nplug;		     /* how many */
	bool plugging;			     /* collect iocbs: one io_submit per batch */
	grant_ref_t *refs;		     /* [max_segs] scratch for one batched map */
	struct blkif_request_segment *idesc; /* [max_indirect] copied indirect descriptors */
	unsigned int log_budget;	     /* guest-triggered messages left to print */
	struct blkback_stats stats;	     /* counters (pgrant_* filled from the cache) */
	struct ring_poll poll;		     /* blkback_ring_poll_wait's budget */
	bool spun;			     /* the last poll_wait found work */
	bool io_stale;			     /* efd may count completions already reaped */
	bool bounce;			     /* I/O through private buffers (params.bounce) */
	bool renewed; /* a resume found the ring set up anew (journal -ESTALE): served afresh */
	bool cache_prefetched; /* journal_peek mapped the predecessor's grants into cache */
	size_t bounce_total;   /* bytes of the entries' bounce buffers */
	struct blkback_journal *journal; /* requests in flight, for a successor; or NULL */
	uint32_t *grec;			 /* the persistent-grant record (journal.h), or NULL */
	size_t grec_size;		 /* its mapped size */
	struct blkback_redo *redo;	 /* a loaded journal's unanswered requests, or NULL */
	unsigned int nredo;		 /* entries in redo */
	unsigned int redo_next;		 /* the next to execute again */
	struct ring_eoi eoi;		 /* blkback_ring_eoi's state */
};

/* blkback.c */
/* A rate-limited warning about something the guest (or its disk) caused. */
__attribute__((format(printf, 2, 3))) void blkback_warn(struct blkback_ring *r, const char *fmt,
							...);
/* Answer the request of journal slot into a zeroed ring slot, field by field (XSA-216). */
void blkback_respond(struct blkback_ring *r, uint32_t slot, uint64_t id, uint8_t op,
		     int16_t status);
/* Release the entry's grants, account, answer with status and free the entry. */
void blkback_finish(struct blkback_ring *r, struct blkback_req *e, int16_t status);

/* request.c: 0, or -EINVAL (answer BLKIF_RSP_ERROR) after a rate-limited message. */
int blkback_plan_direct(struct blkback_ring *r, const struct blkif_request *req,
			struct blkback_req *e);
int blkback_plan_indirect(struct blkback_ring *r, const struct blkif_request_indirect *ind,
			  struct blkback_req *e);
/* A discard, served synchronously: the BLKIF_RSP_* status. */
int16_t blkback_discard(struct blkback_ring *r, const struct blkif_request_discard *d);

/* io.c */
/* Map every segment of e: 0, or the hypervisor's errno with nothing left mapped. */
int blkback_segs_map(struct blkback_ring *r, struct blkback_req *e);
/* Unmap or put back whatever of e is mapped. */
void blkback_segs_release(struct blkback_ring *r, struct blkback_req *e);
/* Start a planned request; it is answered now or when its I/O completes. */
void blkback_start(struct blkback_ring *r, struct blkback_req *e);
/* Submit the iocbs collected while plugging, in one io_submit; answer those it refuses. */
void blkback_unplug(struct blkback_ring *r);
/*
 * Clear the io fd's count (and io_stale): do it before reaping, so that a completion after it
 * makes the fd readable again.  0 or read's negative errno.
 */
int blkback_io_clear(struct blkback_ring *r);
/* Answer the I/O that has completed: 0 or io_getevents' errno.  The io fd is not cleared here. */
int blkback_reap(struct blkback_ring *r);
/* Run the waiting barrier if there is one and nothing is in flight any more. */
void blkback_barrier_run(struct blkback_ring *r);

#endif
