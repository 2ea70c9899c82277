/* SPDX-License-Identifier: MIT */
/*
 * blkback.h - the block back-end's data plane: one ring of one virtual disk.
 *
 * The control plane (xenbus, backend/blk/xenbus.c, not written yet) reads the ring references,
 * the event channel and the disk's parameters from xenstore, opens the backing file, binds the
 * port and hands them to blkback_ring_attach.  From then on it calls blkback_ring_process each
 * time the port fires (and again at once while it returns 1).  Requests are served synchronously
 * with preadv/pwritev straight into the mapped guest pages; libaio comes in the next increment.
 *
 * Everything on the ring is hostile.  A bad request gets an error response and the ring keeps
 * serving; a ring that breaks the protocol makes blkback_ring_process return -EPROTO for good,
 * and the caller disconnects that one device.
 *
 * Not thread-safe: one thread drives a ring.
 */
#ifndef PVIO_BACKEND_BLK_BLKBACK_H
#define PVIO_BACKEND_BLK_BLKBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "hv/log.h"

/* Sectors in blkif requests are 512 bytes whatever the disk's sector size (protocol notes §1). */
#define BLKBACK_SECTOR_SHIFT 9

/* What the control plane learned from xenstore and the toolstack. */
struct blkback_ring_params {
	domid_t frontend;	 /* the guest that granted the ring */
	const grant_ref_t *refs; /* ring-ref0..N: 1 << order references */
	unsigned int order;	 /* ring-page-order, 0..RING_ORDER_MAX */
	evtchn_port_t port;	 /* our end of the event channel, already bound */
	int fd;			 /* the backing file, opened by the caller, still owned by it */
	uint64_t sectors;	 /* disk size in 512-byte sectors */
	bool readonly;		 /* mode "r": writes are refused */
	struct pvio_log *log;	 /* NULL: stderr at PVIO_LOG_WARN */
};

/* Per-ring counters, for pvio's statistics and tests. */
struct blkback_stats {
	uint64_t reads;		/* BLKIF_OP_READ requests */
	uint64_t writes;	/* BLKIF_OP_WRITE requests */
	uint64_t flushes;	/* BLKIF_OP_FLUSH_DISKCACHE requests */
	uint64_t unsupported;	/* requests with any other operation (answered EOPNOTSUPP) */
	uint64_t bytes_read;	/* bytes read from the disk into guest pages */
	uint64_t bytes_written; /* bytes written from guest pages to the disk */
	uint64_t errors;	/* requests answered BLKIF_RSP_ERROR */
	unsigned int in_flight; /* requests taken off the ring and not yet answered */
};

struct blkback_ring;

/*
 * Map the ring writable and attach to it as the back end.  -EINVAL for bad parameters, the
 * hypervisor's errno if the ring does not map, -EPROTO if its indices are already corrupt.
 */
int blkback_ring_attach(struct blkback_ring **rp, struct hv *hv,
			const struct blkback_ring_params *p);

/*
 * Serve what the front has queued, at most two batches: 0 when the ring is idle (req_event is
 * armed: wait for the next event), 1 when more work remains (call again), -EPROTO once the
 * ring is broken (disconnect), or another negative errno if notifying the front failed.
 */
int blkback_ring_process(struct blkback_ring *r);

/* A snapshot of the ring's counters. */
void blkback_ring_stats(const struct blkback_ring *r, struct blkback_stats *st);

/* Unmap the ring and free it (the backing fd and the port stay the caller's).  NULL is fine. */
void blkback_ring_detach(struct blkback_ring *r);

#endif
