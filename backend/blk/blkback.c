/* SPDX-License-Identifier: MIT */
/*
 * blkback.c - the block back-end's ring loop and synchronous I/O.
 *
 * ring/ reads the producer index once, bounds it and copies each request into private memory
 * (XSA-155), so everything here works on copies.  Each request is validated completely before
 * any grant is mapped; its segments are then mapped in one call, read or written with one
 * preadv/pwritev straight into the mapped pages, and unmapped.  Responses go into slots ring/
 * has zeroed, field by field (XSA-216).
 *
 * This increment serves requests synchronously; libaio, persistent grants (grant/mapcache.h)
 * and indirect descriptors come next.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "backend/blk/blkback.h"
#include "ring/ring.h"

#define SECTORS_PER_PAGE (HV_PAGE_SIZE >> BLKBACK_SECTOR_SHIFT)
/* Batches served per call, so one busy front cannot starve the other rings of a thread. */
#define MAX_BATCHES 2
/* Messages a guest can trigger are logged this many times per ring, then suppressed. */
#define LOG_BUDGET 8
/* Retries of a short or interrupted preadv/pwritev before the request fails. */
#define IO_RETRIES 8

struct blkback_ring {
	struct hv *hv;		    /* the seam the ring and the segments are mapped through */
	struct pvio_log *log;	    /* where messages go */
	domid_t frontend;	    /* the granting guest */
	evtchn_port_t port;	    /* our end of the event channel */
	int fd;			    /* the backing file (not ours to close) */
	uint64_t sectors;	    /* disk size in 512-byte sectors */
	bool readonly;		    /* refuse writes */
	void *sring;		    /* the mapped ring pages */
	unsigned int ring_pages;    /* 1 << order */
	struct ring_back rb;	    /* our private view of the ring */
	struct blkif_request *reqs; /* nr_ents private request copies, one batch */
	unsigned int log_budget;    /* guest-triggered messages left to print */
	struct blkback_stats stats; /* counters for blkback_ring_stats */
};

/* A request that passed validation, reduced to what the I/O needs. */
struct io_plan {
	bool write;	   /* data flows from guest pages to the disk */
	unsigned int nseg; /* segments to map, 0 for a bare flush */
	uint64_t offset;   /* byte offset on the disk */
	size_t bytes;	   /* total bytes */
	grant_ref_t refs[BLKIF_MAX_SEGMENTS_PER_REQUEST]; /* one grant per segment */
	struct iovec
	    iov[BLKIF_MAX_SEGMENTS_PER_REQUEST]; /* offsets within the pages, then addresses */
};

__attribute__((format(printf, 2, 3))) static void guest_warn(struct blkback_ring *r,
							     const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (r->log_budget == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log_budget--;
	pvio_log(r->log, PVIO_LOG_WARN, "blkback", "dom%u: %s%s", r->frontend, line,
		 r->log_budget ? "" : " (further messages suppressed)");
}

int blkback_ring_attach(struct blkback_ring **rp, struct hv *hv,
			const struct blkback_ring_params *p)
{
	struct blkback_ring *r;
	int rc;

	if (!rp || !hv || !p || !p->refs || p->order > RING_ORDER_MAX || p->fd < 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->hv = hv;
	r->log = p->log ? p->log : pvio_log_stderr(PVIO_LOG_WARN);
	r->frontend = p->frontend;
	r->port = p->port;
	r->fd = p->fd;
	r->sectors = p->sectors;
	r->readonly = p->readonly;
	r->ring_pages = 1u << p->order;
	r->log_budget = LOG_BUDGET;
	rc = hv_grant_map(hv, p->frontend, r->ring_pages, p->refs, true, &r->sring);
	if (rc < 0)
		goto free_ring;
	rc = ring_blkif_back_attach(&r->rb, r->sring, p->order);
	if (rc < 0)
		goto unmap_ring;
	r->reqs = calloc(r->rb.nr_ents, sizeof(*r->reqs));
	if (!r->reqs) {
		rc = -ENOMEM;
		goto unmap_ring;
	}
	*rp = r;
	return 0;

unmap_ring:
	hv_grant_unmap(hv, r->sring, r->ring_pages);
free_ring:
	free(r);
	return rc;
}

void blkback_ring_detach(struct blkback_ring *r)
{
	if (!r)
		return;
	hv_grant_unmap(r->hv, r->sring, r->ring_pages);
	free(r->reqs);
	free(r);
}

void blkback_ring_stats(const struct blkback_ring *r, struct blkback_stats *st)
{
	*st = r->stats;
}

/* Check the segments and the sector range of a read, write or flush; fill the plan. */
static int plan_request(struct blkback_ring *r, const struct blkif_request *req,
			struct io_plan *plan)
{
	uint64_t nsect = 0;
	unsigned int i;

	plan->write = req->operation != BLKIF_OP_READ;
	plan->nseg = req->nr_segments;
	if (plan->nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST ||
	    (plan->nseg == 0 && req->operation != BLKIF_OP_FLUSH_DISKCACHE)) {
		guest_warn(r, "request with %u segments", plan->nseg);
		return -EINVAL;
	}
	for (i = 0; i < plan->nseg; i++) {
		const struct blkif_request_segment *seg = &req->seg[i];

		if (seg->first_sect > seg->last_sect || seg->last_sect >= SECTORS_PER_PAGE) {
			guest_warn(r, "segment sectors %u..%u", seg->first_sect, seg->last_sect);
			return -EINVAL;
		}
		plan->refs[i] = seg->gref;
		/* Addresses are added once the batch is mapped; each segment stays in its page. */
		plan->iov[i].iov_base =
		    (void *)(uintptr_t)((size_t)i * HV_PAGE_SIZE +
					((size_t)seg->first_sect << BLKBACK_SECTOR_SHIFT));
		plan->iov[i].iov_len = (size_t)(seg->last_sect - seg->first_sect + 1)
				       << BLKBACK_SECTOR_SHIFT;
		nsect += seg->last_sect - seg->first_sect + 1u;
	}
	/* nsect <= 88, so only the start can overflow: compare without adding to it. */
	if (nsect > r->sectors || req->sector_number > r->sectors - nsect) {
		guest_warn(r, "sectors %llu+%llu beyond the disk's %llu",
			   (unsigned long long)req->sector_number, (unsigned long long)nsect,
			   (unsigned long long)r->sectors);
		return -EINVAL;
	}
	if (plan->write && plan->nseg && r->readonly) {
		guest_warn(r, "write to a read-only disk");
		return -EROFS;
	}
	plan->offset = req->sector_number << BLKBACK_SECTOR_SHIFT;
	plan->bytes = nsect << BLKBACK_SECTOR_SHIFT;
	return 0;
}

/* One preadv/pwritev over the whole plan, resuming after short or interrupted transfers. */
static int do_io(struct blkback_ring *r, struct io_plan *plan)
{
	struct iovec *iov = plan->iov;
	unsigned int iovcnt = plan->nseg, tries;
	uint64_t offset = plan->offset;

	for (tries = 0; iovcnt && tries < IO_RETRIES; tries++) {
		ssize_t n = plan->write ? pwritev(r->fd, iov, (int)iovcnt, (off_t)offset)
					: preadv(r->fd, iov, (int)iovcnt, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file is shorter than the disk we advertised */
		offset += (uint64_t)n;
		while (iovcnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return iovcnt ? -EIO : 0;
}

/* Map the plan's grants in one call, do the I/O, unmap. */
static int run_segments(struct blkback_ring *r, struct io_plan *plan)
{
	unsigned int i;
	void *pages;
	int rc, urc;

	/*
	 * hv_grant_map is all or nothing, so there is no partially mapped batch to unwind
	 * (XSA-361/362/365).  Guest data for a write is only read: map it read-only.
	 */
	rc = hv_grant_map(r->hv, r->frontend, plan->nseg, plan->refs, !plan->write, &pages);
	if (rc < 0) {
		guest_warn(r, "segment grants do not map: %s", strerror(-rc));
		return rc;
	}
	for (i = 0; i < plan->nseg; i++)
		plan->iov[i].iov_base = (char *)pages + (uintptr_t)plan->iov[i].iov_base;
	rc = do_io(r, plan);
	urc = hv_grant_unmap(r->hv, pages, plan->nseg);
	if (urc < 0)
		pvio_log(r->log, PVIO_LOG_ERROR, "blkback", "unmap: %s", strerror(-urc));
	return rc < 0 ? rc : urc;
}

/* Serve a validated read, write or flush: 0 or a negative errno. */
static int serve(struct blkback_ring *r, struct io_plan *plan, uint8_t op)
{
	int rc = 0;

	if (plan->nseg) {
		rc = run_segments(r, plan);
		if (rc < 0)
			return rc;
		if (plan->write)
			r->stats.bytes_written += plan->bytes;
		else
			r->stats.bytes_read += plan->bytes;
	}
	if (op == BLKIF_OP_FLUSH_DISKCACHE && fdatasync(r->fd) < 0)
		rc = -errno;
	return rc;
}

/* Handle one private copy: the BLKIF_RSP_* status to answer with. */
static int16_t handle_request(struct blkback_ring *r, const struct blkif_request *req)
{
	struct io_plan plan;

	switch (req->operation) {
	case BLKIF_OP_READ:
		r->stats.reads++;
		break;
	case BLKIF_OP_WRITE:
		r->stats.writes++;
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		r->stats.flushes++;
		break;
	default:
		r->stats.unsupported++;
		guest_warn(r, "unsupported operation %u", req->operation);
		return BLKIF_RSP_EOPNOTSUPP;
	}
	if (plan_request(r, req, &plan) < 0 || serve(r, &plan, req->operation) < 0) {
		r->stats.errors++;
		return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

/* Answer into a zeroed slot, field by field (XSA-216). */
static void respond(struct blkback_ring *r, const struct blkif_request *req, int16_t status)
{
	struct blkif_response *rsp = ring_back_rsp_slot(&r->rb);

	if (!rsp)
		return; /* cannot happen: one slot per consumed request */
	rsp->id = req->id;
	rsp->operation = req->operation;
	rsp->status = status;
}

/* One batch: consume, serve, respond, push, notify.  The count served, or -EPROTO. */
static int serve_batch(struct blkback_ring *r)
{
	int n, i, rc;

	n = ring_back_consume(&r->rb, r->reqs, r->rb.nr_ents);
	if (n < 0)
		return n;
	r->stats.in_flight += (unsigned int)n;
	for (i = 0; i < n; i++) {
		respond(r, &r->reqs[i], handle_request(r, &r->reqs[i]));
		r->stats.in_flight--;
	}
	rc = ring_back_push(&r->rb);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		rc = hv_evtchn_notify(r->hv, r->port);
		if (rc < 0)
			return rc;
	}
	return n;
}

int blkback_ring_process(struct blkback_ring *r)
{
	int batch, rc;

	for (batch = 0; batch < MAX_BATCHES; batch++) {
		rc = serve_batch(r);
		if (rc < 0)
			goto fail;
		rc = ring_back_final_check(&r->rb);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			return 0;
	}
	return 1;

fail:
	if (rc == -EPROTO)
		pvio_log(r->log, PVIO_LOG_WARN, "blkback", "dom%u: ring protocol error",
			 r->frontend);
	return rc;
}
