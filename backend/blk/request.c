/* SPDX-License-Identifier: MIT */
/*
 * request.c - validation and planning of blkif requests.
 *
 * Every request is checked completely, on our private copy, before any of its data pages is
 * mapped: the segment count, each segment's sectors, the alignment a disk with large sectors
 * needs, the range against the disk's size (without overflow), and writes against a read-only
 * disk.  An indirect request's descriptor pages are the one exception: they are mapped
 * read-only, their descriptors copied out once into private memory and the pages released
 * before the copy is validated like a direct request's segments (XSA-155).
 *
 * Discard is served here, synchronously in the loop: neither hole punching nor BLKDISCARD
 * exists as an aio command, and a guest discards rarely and in large pieces.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backend/blk/blkback-priv.h"

#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

/* Validate n segments starting at sector and record them in e; 0 or -EINVAL. */
static int plan_segs(struct blkback_ring *r, struct blkback_req *e,
		     const struct blkif_request_segment *seg, unsigned int n, uint64_t sector)
{
	const struct blkback_disk *d = r->disk;
	unsigned int mask = d->sector_size / 512u - 1u, i; /* sector_size is a power of two */
	uint64_t nsect = 0;

	if (e->write && d->readonly) {
		blkback_warn(r, "write to a read-only disk");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned int first = seg[i].first_sect, last = seg[i].last_sect;

		if (first > last || last >= BLKBACK_SECTORS_PER_PAGE) {
			blkback_warn(r, "segment %u: sectors %u..%u", i, first, last);
			return -EINVAL;
		}
		if ((first & mask) || ((last - first + 1u) & mask)) {
			blkback_warn(r, "segment %u: not aligned to %u bytes", i, d->sector_size);
			return -EINVAL;
		}
		/* Each segment keeps its own page: never merged with the next (XSA-229). */
		e->segs[i].ref = seg[i].gref;
		e->segs[i].first_sect = (uint8_t)first;
		e->segs[i].last_sect = (uint8_t)last;
		e->segs[i].map = BLKBACK_SEG_UNMAPPED;
		e->segs[i].page = NULL;
		nsect += last - first + 1u;
	}
	/* nsect <= 8 * 4096, so only the start can overflow: compare without adding to it. */
	if (nsect > d->sectors || sector > d->sectors - nsect || (sector & mask)) {
		blkback_warn(r, "sectors %llu+%llu beyond the disk's %llu or misaligned",
			     (unsigned long long)sector, (unsigned long long)nsect,
			     (unsigned long long)d->sectors);
		return -EINVAL;
	}
	e->nseg = n;
	e->offset = sector << BLKBACK_SECTOR_SHIFT;
	e->bytes = nsect << BLKBACK_SECTOR_SHIFT;
	return 0;
}

int blkback_plan_direct(struct blkback_ring *r, const struct blkif_request *req,
			struct blkback_req *e)
{
	unsigned int n = req->nr_segments;
	bool flush =
	    req->operation == BLKIF_OP_FLUSH_DISKCACHE || req->operation == BLKIF_OP_WRITE_BARRIER;

	e->write = req->operation != BLKIF_OP_READ;
	e->kind = req->operation == BLKIF_OP_WRITE_BARRIER     ? BLKBACK_KIND_BARRIER
		  : req->operation == BLKIF_OP_FLUSH_DISKCACHE ? BLKBACK_KIND_FLUSH
							       : BLKBACK_KIND_RW;
	if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST || (n == 0 && !flush)) {
		blkback_warn(r, "request with %u segments", n);
		return -EINVAL;
	}
	if (n == 0) {
		/* A bare flush or barrier: no range, and fine on a read-only disk. */
		e->write = false;
		return 0;
	}
	return plan_segs(r, e, req->seg, n, req->sector_number);
}

/* Copy from one mapped descriptor page. */
static void idesc_copy(struct blkback_ring *r, unsigned int page, const void *addr,
		       unsigned int nseg)
{
	unsigned int first = page * BLKBACK_SEGS_PER_INDIRECT_PAGE;
	unsigned int n = nseg - first;

	if (n > BLKBACK_SEGS_PER_INDIRECT_PAGE)
		n = BLKBACK_SEGS_PER_INDIRECT_PAGE;
	memcpy(&r->idesc[first], addr, n * sizeof(*r->idesc));
}

/* Persistent: each descriptor page through the cache, or mapped alone when it refuses. */
static int idesc_read_cached(struct blkback_ring *r, const grant_ref_t *refs, unsigned int npages,
			     unsigned int nseg)
{
	unsigned int i;
	void *addr;
	int rc;

	for (i = 0; i < npages; i++) {
		rc = mapcache_get(r->cache, refs[i], &addr);
		if (rc == 0) {
			idesc_copy(r, i, addr, nseg);
			mapcache_put(r->cache, refs[i]);
			continue;
		}
		if (rc != -EBUSY && rc != -EACCES)
			return rc;
		rc = hv_grant_map(r->hv, r->frontend, 1, &refs[i], false, &addr);
		if (rc < 0)
			return rc;
		idesc_copy(r, i, addr, nseg);
		hv_grant_unmap(r->hv, addr, 1);
	}
	return 0;
}

/* Map the descriptor pages read-only, copy nseg descriptors out once, release the pages. */
static int idesc_read(struct blkback_ring *r, const grant_ref_t *refs, unsigned int npages,
		      unsigned int nseg)
{
	unsigned int i;
	void *addr;
	int rc;

	if (r->cache)
		rc = idesc_read_cached(r, refs, npages, nseg);
	else {
		rc = hv_grant_map(r->hv, r->frontend, npages, refs, false, &addr);
		if (rc < 0)
			return rc;
		for (i = 0; i < npages; i++)
			idesc_copy(r, i, (char *)addr + (size_t)i * HV_PAGE_SIZE, nseg);
		hv_grant_unmap(r->hv, addr, npages);
	}
	/* Only the private copy is looked at from here on. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return rc;
}

int blkback_plan_indirect(struct blkback_ring *r, const struct blkif_request_indirect *ind,
			  struct blkback_req *e)
{
	unsigned int nseg = ind->nr_segments, npages;
	grant_ref_t refs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	int rc;

	e->id = ind->id;
	if (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE) {
		blkback_warn(r, "indirect operation %u", ind->indirect_op);
		return -EINVAL;
	}
	e->write = ind->indirect_op == BLKIF_OP_WRITE;
	e->kind = BLKBACK_KIND_RW;
	if (nseg == 0 || nseg > r->max_indirect) {
		blkback_warn(r, "indirect request with %u segments (at most %u)", nseg,
			     r->max_indirect);
		return -EINVAL;
	}
	npages = DIV_ROUND_UP(nseg, BLKBACK_SEGS_PER_INDIRECT_PAGE);
	if (npages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		return -EINVAL; /* cannot happen: max_indirect is bounded at attach */
	memcpy(refs, ind->indirect_grefs, npages * sizeof(refs[0]));
	rc = idesc_read(r, refs, npages, nseg);
	if (rc < 0) {
		blkback_warn(r, "indirect descriptor pages do not map: %s", strerror(-rc));
		return -EINVAL;
	}
	return plan_segs(r, e, r->idesc, nseg, ind->sector_number);
}

/* Discard [offset, offset + len) of the disk: 0 or a negative errno. */
static int discard_do(const struct blkback_disk *d, uint64_t offset, uint64_t len, bool secure)
{
	uint64_t range[2] = { offset, len };

	if (d->blockdev && !d->loop_held)
		return ioctl(d->fd, secure ? BLKSECDISCARD : BLKDISCARD, range) < 0 ? -errno : 0;
	/* A file, or a loop device's file (what the loop device would do for the discard). */
	return fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)(d->base + offset), (off_t)len) < 0
		   ? -errno
		   : 0;
}

int16_t blkback_discard(struct blkback_ring *r, const struct blkif_request_discard *req)
{
	const struct blkback_disk *d = r->disk;
	uint64_t sector = req->sector_number, n = req->nr_sectors;
	bool secure = req->flag & BLKIF_DISCARD_SECURE;
	int rc;

	if (n > d->sectors || sector > d->sectors - n) {
		blkback_warn(r, "discard %llu+%llu beyond the disk's %llu sectors",
			     (unsigned long long)sector, (unsigned long long)n,
			     (unsigned long long)d->sectors);
		return BLKIF_RSP_ERROR;
	}
	if (d->readonly) {
		blkback_warn(r, "discard on a read-only disk");
		return BLKIF_RSP_ERROR;
	}
	/* As a device of larger blocks refuses BLKDISCARD, whatever serves it (its loop's file). */
	if ((sector | n) & (d->sector_size / 512u - 1u)) {
		blkback_warn(r, "discard %llu+%llu: not aligned to %u bytes",
			     (unsigned long long)sector, (unsigned long long)n, d->sector_size);
		return BLKIF_RSP_ERROR;
	}
	if (!d->discard || (secure && !d->secure_discard))
		return BLKIF_RSP_EOPNOTSUPP;
	if (n == 0)
		return BLKIF_RSP_OKAY;
	rc = discard_do(d, sector << BLKBACK_SECTOR_SHIFT, n << BLKBACK_SECTOR_SHIFT, secure);
	if (rc == -EOPNOTSUPP)
		return BLKIF_RSP_EOPNOTSUPP;
	if (rc < 0) {
		blkback_warn(r, "discard %llu+%llu: %s", (unsigned long long)sector,
			     (unsigned long long)n, strerror(-rc));
		return BLKIF_RSP_ERROR;
	}
	r->stats.bytes_discarded += n << BLKBACK_SECTOR_SHIFT;
	return BLKIF_RSP_OKAY;
}
