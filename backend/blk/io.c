/* SPDX-License-Identifier: MIT */
/*
 * io.c - blkback's I/O: mapping the segments, libaio submission and completion, flushes and
 * write barriers.
 *
 * A read or write is one iocb (IOCB_CMD_PREADV/PWRITEV) whose iovec points straight into the
 * mapped guest pages, one element per segment (never merged: XSA-229); or, with
 * blkback_ring_params.bounce, at the entry's private buffer, which a write's data is copied
 * into before its first submission and a read's is copied out of once all of it is in.  The kernel
 * reads the iovec during io_submit, so one scratch array per ring serves every submission.  Every
 * iocb signals the ring's eventfd on completion; blkback_reap collects completions without waiting,
 * resubmits the rest of a short transfer (a bounded number of times: a file shorter than the disk
 * advertised ends in BLKIF_RSP_ERROR), then releases the grants and answers.
 *
 * A flush without data is one IOCB_CMD_FDSYNC, or fdatasync in the loop on kernels whose
 * io_submit refuses it with -EINVAL (remembered).  A flush with data, as Linux's
 * REQ_PREFLUSH, flushes synchronously before submitting its write.  A write barrier, as
 * Linux's drain + PREFLUSH|FUA: the ring stops taking requests until its I/O in flight has
 * completed, then, synchronously in the loop, fdatasync, the write (if any), fdatasync again.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/blk/blkback-priv.h"

/* Resubmissions of a short transfer before the request fails. */
#define IO_RETRIES 8
/* Completions collected per io_getevents. */
#define REAP_BATCH 32
/* io_getevents calls per reap: the rest waits for the next call, so one ring cannot hog. */
#define REAP_ROUNDS 16

/* Map each segment through the persistent-grant cache, alone when the cache refuses. */
static int segs_map_cached(struct blkback_ring *r, struct blkback_req *e)
{
	unsigned int i;
	int rc;

	for (i = 0; i < e->nseg; i++) {
		struct blkback_seg *s = &e->segs[i];

		rc = mapcache_get(r->cache, s->ref, &s->page);
		if (rc == 0) {
			s->map = BLKBACK_SEG_CACHED;
			continue;
		}
		/* Full of pages in use, or (a write's data) granted read-only: map it alone. */
		if (rc != -EBUSY && !(rc == -EACCES && e->write))
			return rc;
		rc = hv_grant_map(r->hv, r->frontend, 1, &s->ref, !e->write, &s->page);
		if (rc < 0)
			return rc;
		s->map = BLKBACK_SEG_SINGLE;
	}
	return 0;
}

int blkback_segs_map(struct blkback_ring *r, struct blkback_req *e)
{
	unsigned int i;
	void *batch;
	int rc;

	if (r->cache) {
		rc = segs_map_cached(r, e);
		if (rc < 0)
			blkback_segs_release(r, e);
		return rc;
	}
	/*
	 * One batched map; hv_grant_map is all or nothing, so there is no partially mapped batch
	 * to unwind (XSA-361/362/365).  Data the guest writes is only read: map it read-only.
	 */
	for (i = 0; i < e->nseg; i++)
		r->refs[i] = e->segs[i].ref;
	rc = hv_grant_map(r->hv, r->frontend, e->nseg, r->refs, !e->write, &batch);
	if (rc < 0)
		return rc;
	e->batch = batch;
	e->nbatch = e->nseg;
	for (i = 0; i < e->nseg; i++) {
		e->segs[i].page = (char *)e->batch + (size_t)i * HV_PAGE_SIZE;
		e->segs[i].map = BLKBACK_SEG_BATCH;
	}
	return 0;
}

void blkback_segs_release(struct blkback_ring *r, struct blkback_req *e)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < e->nseg; i++) {
		struct blkback_seg *s = &e->segs[i];

		if (s->map == BLKBACK_SEG_CACHED)
			rc = mapcache_put(r->cache, s->ref);
		else if (s->map == BLKBACK_SEG_SINGLE)
			rc = hv_grant_unmap(r->hv, s->page, 1);
		if (rc < 0)
			pvio_log(r->log, PVIO_LOG_ERROR, "blkback", "%s: release: %s", r->name,
				 strerror(-rc));
		s->map = BLKBACK_SEG_UNMAPPED;
		s->page = NULL;
		rc = 0;
	}
	if (e->batch) {
		rc = hv_grant_unmap(r->hv, e->batch, e->nbatch);
		if (rc < 0)
			pvio_log(r->log, PVIO_LOG_ERROR, "blkback", "%s: unmap: %s", r->name,
				 strerror(-rc));
		e->batch = NULL;
		e->nbatch = 0;
	}
}

/* The iovec of what remains of e after e->done bytes, in e->iov: its length. */
static int iov_build(const struct blkback_req *e)
{
	uint64_t skip = e->done;
	unsigned int i;
	int n = 0;

	if (e->bounced) {
		e->iov[0].iov_base = e->bbuf + e->done;
		e->iov[0].iov_len = e->bytes - e->done;
		return 1;
	}
	for (i = 0; i < e->nseg; i++) {
		const struct blkback_seg *s = &e->segs[i];
		size_t off = (size_t)s->first_sect << BLKBACK_SECTOR_SHIFT;
		size_t len = (size_t)(s->last_sect - s->first_sect + 1u) << BLKBACK_SECTOR_SHIFT;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		e->iov[n].iov_base = (char *)s->page + off + skip;
		e->iov[n].iov_len = len - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* io_submit, its time counted (blkback_stats.submit_ns). */
static int aio_submit(struct blkback_ring *r, long n, struct iocb **list)
{
	uint64_t t0 = ring_stat_now();
	int rc = io_submit(r->aio, n, list);

	r->stats.submit_ns += ring_stat_now() - t0;
	return rc;
}

static int submit(struct blkback_ring *r, struct blkback_req *e)
{
	struct iocb *list[1] = { &e->iocb };
	int rc;

	io_set_eventfd(&e->iocb, r->efd);
	e->iocb.data = e;
	if (r->plugging) {
		r->plug[r->nplug++] = &e->iocb; /* at most one per entry: nr_ents */
		r->aio_inflight++;
		return 0;
	}
	rc = aio_submit(r, 1, list);
	if (rc == 1) {
		r->aio_inflight++;
		return 0;
	}
	return rc < 0 ? rc : -EIO;
}

/* Submit what remains of a read or write as one iocb. */
static int rw_submit(struct blkback_ring *r, struct blkback_req *e)
{
	int n = iov_build(e);
	long long off = (long long)(r->disk->base + e->offset + e->done);

	if (e->write)
		io_prep_pwritev(&e->iocb, r->disk->fd, e->iov, n, off);
	else
		io_prep_preadv(&e->iocb, r->disk->fd, e->iov, n, off);
	return submit(r, e);
}

static void fdatasync_answer(struct blkback_ring *r, struct blkback_req *e)
{
	blkback_finish(r, e, fdatasync(r->disk->fd) < 0 ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY);
}

/* A flush without data: IOCB_CMD_FDSYNC, or fdatasync where aio cannot. */
static void flush_start(struct blkback_ring *r, struct blkback_req *e)
{
	int rc;

	if (r->no_aio_fsync) {
		fdatasync_answer(r, e);
		return;
	}
	io_prep_fdsync(&e->iocb, r->disk->fd);
	rc = submit(r, e);
	if (rc == -EINVAL) {
		r->no_aio_fsync = true; /* before 4.18, aio had no fsync for most files */
		fdatasync_answer(r, e);
	} else if (rc < 0) {
		blkback_warn(r, "flush: io_submit: %s", strerror(-rc));
		blkback_finish(r, e, BLKIF_RSP_ERROR);
	}
}

/* io_submit refused e (err): answer it as a submission failure would have been answered. */
static void unplug_refused(struct blkback_ring *r, struct blkback_req *e, int err)
{
	r->aio_inflight--;
	if (e->nseg == 0 && err == -EINVAL) {
		r->no_aio_fsync = true; /* before 4.18, aio had no fsync for most files */
		fdatasync_answer(r, e);
		return;
	}
	blkback_warn(r, "io_submit: %s", strerror(-err));
	blkback_finish(r, e, BLKIF_RSP_ERROR);
}

void blkback_unplug(struct blkback_ring *r)
{
	unsigned int done = 0, tries = 0;

	while (done < r->nplug) {
		int rc = aio_submit(r, (long)(r->nplug - done), &r->plug[done]);

		if (rc > 0) {
			done += (unsigned int)rc;
			continue;
		}
		if (rc == -EINTR && ++tries < IO_RETRIES)
			continue;
		/* The first iocb not taken is the one that failed (or none was taken at all). */
		unplug_refused(r, r->plug[done]->data, rc < 0 ? rc : -EIO);
		done++;
	}
	r->nplug = 0;
}

/*
 * A bounce buffer of at least e's bytes for e (kept in the entry for its next requests): 0, or
 * -ENOMEM when the ring's budget or memory does not allow it (then e goes direct).
 */
static int bounce_get(struct blkback_ring *r, struct blkback_req *e)
{
	size_t need = (size_t)((e->bytes + HV_PAGE_SIZE - 1) & ~(uint64_t)(HV_PAGE_SIZE - 1));
	void *p;

	if (e->bbuf_len >= need)
		return 0;
	if (r->bounce_total - e->bbuf_len + need > BLKBACK_BOUNCE_RING_MAX)
		return -ENOMEM;
	free(e->bbuf);
	r->bounce_total -= e->bbuf_len;
	e->bbuf = NULL;
	e->bbuf_len = 0;
	if (posix_memalign(&p, HV_PAGE_SIZE, need))
		return -ENOMEM;
	e->bbuf = p;
	e->bbuf_len = need;
	r->bounce_total += need;
	return 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_COPY 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_COPY 1
#endif

/*
 * Copy len bytes, whole sectors, with x86-64's string move: on hardware as fast as glibc's memcpy
 * for whole pages (both are the CPU's fast-string copy), and twice as fast in a Xen PV driver
 * domain nested under QEMU/TCG, whose qemu64 CPU offers no ERMS, so that glibc picks an SSE2
 * loop that the emulator runs slowly (results/xen-blk.txt).  memcpy elsewhere, and where the
 * sanitizer must see the copy.
 */
static void sector_copy(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__) && !defined(SANITIZED_COPY)
	size_t q = len / 8;

	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
#else
	memcpy(dst, src, len);
#endif
}

/* Copy e's data between its mapped segments and its bounce buffer, in segment order. */
static void bounce_copy(struct blkback_req *e, bool to_guest)
{
	size_t pos = 0;

	for (unsigned int i = 0; i < e->nseg; i++) {
		const struct blkback_seg *s = &e->segs[i];
		size_t off = (size_t)s->first_sect << BLKBACK_SECTOR_SHIFT;
		size_t len = (size_t)(s->last_sect - s->first_sect + 1u) << BLKBACK_SECTOR_SHIFT;

		if (to_guest)
			sector_copy((char *)s->page + off, e->bbuf + pos, len);
		else
			sector_copy(e->bbuf + pos, (char *)s->page + off, len);
		pos += len;
	}
}

/* Map and submit a read or write. */
static void rw_start(struct blkback_ring *r, struct blkback_req *e)
{
	int rc = blkback_segs_map(r, e);

	if (rc < 0) {
		blkback_warn(r, "segment grants do not map: %s", strerror(-rc));
		blkback_finish(r, e, BLKIF_RSP_ERROR);
		return;
	}
	/* A write's data is copied once, before its first submission. */
	e->bounced = r->bounce && r->disk->direct && e->bytes && bounce_get(r, e) == 0;
	if (e->bounced)
		r->stats.bounced++;
	if (e->bounced && e->write)
		bounce_copy(e, false);
	rc = rw_submit(r, e);
	if (rc < 0) {
		blkback_warn(r, "io_submit: %s", strerror(-rc));
		blkback_finish(r, e, BLKIF_RSP_ERROR);
	}
}

void blkback_start(struct blkback_ring *r, struct blkback_req *e)
{
	switch (e->kind) {
	case BLKBACK_KIND_BARRIER:
		r->barrier = e;
		blkback_barrier_run(r);
		return;
	case BLKBACK_KIND_FLUSH:
		if (e->nseg == 0) {
			flush_start(r, e);
			return;
		}
		/* REQ_PREFLUSH: what completed before is made durable before the write. */
		if (fdatasync(r->disk->fd) < 0) {
			blkback_warn(r, "flush: %s", strerror(errno));
			blkback_finish(r, e, BLKIF_RSP_ERROR);
			return;
		}
		break;
	default:
		break;
	}
	rw_start(r, e);
}

/* The barrier's write, synchronously: 0 or a negative errno. */
static int sync_write(struct blkback_ring *r, struct blkback_req *e)
{
	unsigned int tries;

	for (tries = 0; e->done < e->bytes && tries < IO_RETRIES; tries++) {
		int n = iov_build(e);
		ssize_t k =
		    pwritev(r->disk->fd, e->iov, n, (off_t)(r->disk->base + e->offset + e->done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		e->done += (uint64_t)k;
	}
	return e->done < e->bytes ? -EIO : 0;
}

void blkback_barrier_run(struct blkback_ring *r)
{
	struct blkback_req *e = r->barrier;
	int rc;

	if (!e || r->aio_inflight)
		return; /* no barrier, or its drain is not over */
	r->barrier = NULL;
	if (fdatasync(r->disk->fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (e->nseg) {
		rc = blkback_segs_map(r, e);
		if (rc < 0)
			goto fail;
		rc = sync_write(r, e);
		if (rc < 0)
			goto fail;
		if (fdatasync(r->disk->fd) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	blkback_finish(r, e, BLKIF_RSP_OKAY);
	return;

fail:
	blkback_warn(r, "barrier: %s", strerror(-rc));
	blkback_finish(r, e, BLKIF_RSP_ERROR);
}

/* One completion: answer, or resubmit the rest of a short transfer. */
static void complete(struct blkback_ring *r, struct blkback_req *e, long res)
{
	r->aio_inflight--;
	if (res < 0) {
		blkback_warn(r, "I/O at %llu: %s", (unsigned long long)e->offset,
			     strerror((int)-res));
		blkback_finish(r, e, BLKIF_RSP_ERROR);
		return;
	}
	if (e->nseg == 0) { /* the fdsync */
		blkback_finish(r, e, BLKIF_RSP_OKAY);
		return;
	}
	if ((uint64_t)res > e->bytes - e->done) {
		blkback_finish(r, e, BLKIF_RSP_ERROR); /* more than asked: cannot happen */
		return;
	}
	e->done += (uint64_t)res;
	if (e->done == e->bytes) {
		if (e->bounced && !e->write)
			bounce_copy(e, true); /* the whole read is in: into the guest's pages */
		blkback_finish(r, e, BLKIF_RSP_OKAY);
		return;
	}
	if (res == 0 || ++e->retries > IO_RETRIES || rw_submit(r, e) < 0) {
		blkback_warn(r, "short I/O at %llu: the disk is shorter than advertised?",
			     (unsigned long long)(e->offset + e->done));
		blkback_finish(r, e, BLKIF_RSP_ERROR);
	}
}

/*
 * Up to max completions straight from the kernel's aio ring (struct bb_aio_ring), or -ENOSYS
 * when the ring is not one we know how to read (then io_getevents does it).
 */
static int reap_ring(struct blkback_ring *r, struct io_event *ev, int max)
{
	struct bb_aio_ring *a = bb_aio_ring_of(r->aio);
	unsigned int head, tail, nr;
	int n = 0;

	if (!a)
		return -ENOSYS;
	nr = a->nr;
	head = __atomic_load_n(&a->head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&a->tail, __ATOMIC_ACQUIRE); /* the events before the index */
	if (head >= nr || tail >= nr)
		return -ENOSYS;
	while (head != tail && n < max) {
		ev[n++] = a->io_events[head];
		head = head + 1 == nr ? 0 : head + 1;
	}
	/* The copies are done before the kernel may reuse their slots. */
	__atomic_store_n(&a->head, head, __ATOMIC_RELEASE);
	return n;
}

int blkback_io_clear(struct blkback_ring *r)
{
	uint64_t count;

	r->io_stale = false;
	if (read(r->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int blkback_reap(struct blkback_ring *r)
{
	struct io_event ev[REAP_BATCH];
	struct timespec zero = { 0, 0 };
	uint64_t count = 1;
	int n, i, round;

	for (round = 0; r->aio_inflight && round < REAP_ROUNDS; round++) {
		n = reap_ring(r, ev, REAP_BATCH);
		if (n == -ENOSYS)
			n = io_getevents(r->aio, 0, REAP_BATCH, ev, &zero);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			complete(r, ev[i].data, (long)ev[i].res);
		if (n < REAP_BATCH)
			return 0;
	}
	/* Stopped with completions perhaps left: come back through the io fd. */
	count = 1;
	if (r->aio_inflight && write(r->efd, &count, sizeof(count)) < 0)
		return -errno;
	return 0;
}
