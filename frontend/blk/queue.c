/* SPDX-License-Identifier: MIT */
/*
 * queue.c - one blkif ring of libpvio-blkfront: its grants, event channel and page pool
 * (Linux xen-blkfront's setup_blkring), putting requests on it (blkif_queue_rw_req,
 * blkif_queue_discard_req, indirect descriptors) and taking responses off it
 * (blkif_interrupt, blkif_completion).
 *
 * Responses are hostile.  Each is copied out of the ring once by ring_front_consume; its id
 * must name a request on this ring (the shadow slot is cleared when answered, so a duplicate
 * finds it empty) and its operation must be the one we sent; anything else is a protocol error
 * that makes the caller drop the back-end.  A ring index overrun is caught by ring/.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront-priv.h"

/* Responses copied out per ring_front_consume. */
#define BF_RSP_BATCH 32u

int bf_queue_setup(struct blkfront *bf, struct bf_queue *q, unsigned int index)
{
	domid_t be = (domid_t)bf->info.backend_id;
	unsigned int i, nr;
	int ret;

	memset(q, 0, sizeof(*q));
	q->index = index;
	q->order = bf->info.ring_order;
	ret = hv_grant_share(bf->hv, be, 1u << q->order, true, &q->sring, q->refs);
	if (ret < 0) {
		q->sring = NULL;
		return ret;
	}
	ret = ring_blkif_front_init(&q->rf, q->sring, q->order);
	if (ret < 0)
		return ret;
	nr = q->rf.nr_ents;
	q->shadow = calloc(nr, sizeof(*q->shadow));
	q->free_ids = calloc(nr, sizeof(*q->free_ids));
	if (!q->shadow || !q->free_ids)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		q->free_ids[i] = nr - 1 - i;
	q->nfree = nr;
	ret = hv_evtchn_alloc_unbound(bf->hv, be, &q->port);
	if (ret < 0)
		return ret;
	q->bound = true;
	return gntpool_create(&q->pool, bf->hv, be, bf->pool_pages, true);
}

void bf_zombie_add(struct blkfront *bf, void *ring, unsigned int pages, struct gntpool *pool)
{
	struct bf_zombie *z = calloc(1, sizeof(*z));

	if (!z) {
		/* Out of memory: leak the grants rather than reuse them. */
		pvio_log(bf->log, PVIO_LOG_ERROR, "blkfront", "leaking grants still mapped");
		return;
	}
	z->ring = ring;
	z->ring_pages = pages;
	z->pool = pool;
	z->next = bf->zombies;
	bf->zombies = z;
}

void bf_zombies_retry(struct blkfront *bf)
{
	struct bf_zombie **zp = &bf->zombies;

	while (*zp) {
		struct bf_zombie *z = *zp;

		if (z->ring && hv_grant_end(bf->hv, z->ring, z->ring_pages) == 0)
			z->ring = NULL;
		if (z->pool && gntpool_destroy(z->pool) == 0)
			z->pool = NULL;
		if (!z->ring && !z->pool) {
			*zp = z->next;
			free(z);
		} else {
			zp = &z->next;
		}
	}
}

/*
 * Stop using the ring: every part on it goes onto *list (unordered; their pool pages are
 * forgotten with the pool), the port is unbound, and the grants end or become zombies.
 */
void bf_queue_teardown(struct blkfront *bf, struct bf_queue *q, struct bf_part **list)
{
	void *ring = NULL;
	struct gntpool *pool = NULL;
	unsigned int i;

	for (i = 0; q->shadow && i < q->rf.nr_ents; i++) {
		struct bf_part *p = q->shadow[i];

		if (!p)
			continue;
		p->nind = 0;
		p->op->on_ring--;
		p->next = *list;
		*list = p;
		q->shadow[i] = NULL;
	}
	if (q->bound)
		hv_evtchn_unbind(bf->hv, q->port);
	if (q->pool && gntpool_destroy(q->pool) < 0)
		pool = q->pool;
	if (q->sring && hv_grant_end(bf->hv, q->sring, 1u << q->order) < 0)
		ring = q->sring;
	if (ring || pool)
		bf_zombie_add(bf, ring, 1u << q->order, pool);
	free(q->shadow);
	free(q->free_ids);
	memset(q, 0, sizeof(*q));
}

static unsigned int part_nind(const struct bf_part *p)
{
	if (p->nseg <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return 0;
	return (p->nseg + BF_SEGS_PER_PAGE - 1) / BF_SEGS_PER_PAGE;
}

bool bf_queue_fits(const struct blkfront *bf, const struct bf_queue *q, const struct bf_part *p)
{
	(void)bf;
	if (!q->sring || q->nfree == 0 || ring_front_free(&q->rf) == 0)
		return false;
	return gntpool_free_count(q->pool) >= p->nseg + part_nind(p);
}

/* Bytes of segment i of part p. */
static size_t seg_len(const struct bf_part *p, unsigned int i)
{
	size_t left = p->len - (size_t)i * HV_PAGE_SIZE;

	return left < HV_PAGE_SIZE ? left : HV_PAGE_SIZE;
}

/*
 * Take the part's pages from the pool and copy write data into them; a part whose data lies in
 * a granted region (p->zref) takes only its indirect pages.
 */
static int part_pages_get(struct bf_queue *q, struct bf_part *p)
{
	unsigned int i, first = p->zref ? p->nseg : 0, n = p->nseg + p->nind;
	struct gntpool_page pg;

	for (i = first; i < n; i++) {
		int ret = gntpool_get(q->pool, &pg);

		if (ret < 0) {
			while (i-- > first)
				gntpool_put(q->pool, p->pages[i]);
			return ret;
		}
		p->pages[i] = pg.index;
		if (i < p->nseg && p->operation == BLKIF_OP_WRITE)
			memcpy(pg.addr, p->op->buf + p->op_off + (size_t)i * HV_PAGE_SIZE,
			       seg_len(p, i));
	}
	return 0;
}

static void part_pages_put(struct bf_queue *q, struct bf_part *p)
{
	unsigned int i;

	for (i = p->zref ? p->nseg : 0; i < p->nseg + p->nind; i++)
		gntpool_put(q->pool, p->pages[i]);
}

static void fill_rw(struct bf_queue *q, const struct bf_part *p, struct blkif_request *r,
		    unsigned int id, uint16_t handle)
{
	unsigned int i;

	r->operation = p->operation;
	r->nr_segments = (uint8_t)p->nseg;
	r->handle = handle;
	r->id = id;
	r->sector_number = p->sector;
	for (i = 0; i < p->nseg; i++) {
		r->seg[i].gref = p->zref ? p->zref[i] : gntpool_ref_of(q->pool, p->pages[i]);
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = (uint8_t)(seg_len(p, i) / BF_SECTOR - 1);
	}
}

static void fill_indirect(struct bf_queue *q, const struct bf_part *p,
			  struct blkif_request_indirect *r, unsigned int id, uint16_t handle)
{
	unsigned int i;

	r->operation = BLKIF_OP_INDIRECT;
	r->indirect_op = p->operation;
	r->nr_segments = (uint16_t)p->nseg;
	r->id = id;
	r->sector_number = p->sector;
	r->handle = handle;
	for (i = 0; i < p->nind; i++)
		r->indirect_grefs[i] = gntpool_ref_of(q->pool, p->pages[p->nseg + i]);
	for (i = 0; i < p->nseg; i++) {
		struct blkif_request_segment *segs =
		    gntpool_addr_of(q->pool, p->pages[p->nseg + i / BF_SEGS_PER_PAGE]);
		struct blkif_request_segment *s = &segs[i % BF_SEGS_PER_PAGE];

		s->gref = p->zref ? p->zref[i] : gntpool_ref_of(q->pool, p->pages[i]);
		s->first_sect = 0;
		s->last_sect = (uint8_t)(seg_len(p, i) / BF_SECTOR - 1);
	}
}

static void fill_discard(const struct bf_part *p, struct blkif_request_discard *r, unsigned int id,
			 uint16_t handle)
{
	r->operation = BLKIF_OP_DISCARD;
	r->flag = p->secure ? BLKIF_DISCARD_SECURE : 0;
	r->handle = handle;
	r->id = id;
	r->sector_number = p->sector;
	r->nr_sectors = p->len / BF_SECTOR;
}

/* Put part p on ring q (bf_queue_fits said it fits); published by bf_queue_push. */
int bf_queue_issue(struct blkfront *bf, struct bf_queue *q, struct bf_part *p)
{
	uint16_t handle = (uint16_t)bf->info.devid;
	void *slot;
	unsigned int id;
	int ret;

	p->nind = part_nind(p);
	/* Looked up at each issue: after a reconnect the back-end may be another domain. */
	p->zref = p->operation == BLKIF_OP_DISCARD ? NULL : bf_region_refs(bf, p);
	ret = part_pages_get(q, p);
	if (ret < 0)
		return ret;
	slot = ring_front_req_slot(&q->rf);
	if (!slot) {
		part_pages_put(q, p);
		return -EPROTO;
	}
	id = q->free_ids[--q->nfree];
	q->shadow[id] = p;
	q->busy++;
	p->op->on_ring++;
	if (p->operation == BLKIF_OP_DISCARD)
		fill_discard(p, slot, id, handle);
	else if (p->nind)
		fill_indirect(q, p, slot, id, handle);
	else
		fill_rw(q, p, slot, id, handle);
	bf->stats.requests++;
	return 0;
}

int bf_queue_push(struct blkfront *bf, struct bf_queue *q)
{
	int ret = ring_front_push(&q->rf);

	/* Responses are due from now: the poll window opens (blkfront_poll's spin). */
	ring_poll_kick(&bf->poll, ring_poll_clock(&bf->poll));
	if (ret > 0) {
		bf->stats.notifies++;
		ret = hv_evtchn_notify(bf->hv, q->port);
	}
	return ret;
}

bool bf_queue_has_responses(const struct bf_queue *q)
{
	if (!q->sring)
		return false;
	return *(volatile uint32_t *)&q->rf.sring->rsp_prod != q->rf.rsp_cons;
}

static int status_errno(int16_t status)
{
	switch (status) {
	case BLKIF_RSP_OKAY:
		return 0;
	case BLKIF_RSP_EOPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/* One response, already a private copy: validate, then complete its part. */
static int response(struct blkfront *bf, struct bf_queue *q, const struct blkif_response *rsp)
{
	struct bf_part *p;
	uint64_t id = rsp->id;
	int result;
	unsigned int i;

	if (id >= q->rf.nr_ents || !(p = q->shadow[id])) {
		pvio_log(bf->log, PVIO_LOG_WARN, "blkfront", "response with unknown id %llu",
			 (unsigned long long)id);
		return -EPROTO;
	}
	if (rsp->operation != p->operation) {
		pvio_log(bf->log, PVIO_LOG_WARN, "blkfront", "response op %u for op %u",
			 rsp->operation, p->operation);
		return -EPROTO;
	}
	q->shadow[id] = NULL;
	q->free_ids[q->nfree++] = (unsigned int)id;
	q->busy--;
	p->op->on_ring--;
	result = status_errno(rsp->status);
	if (result == 0 && p->operation == BLKIF_OP_READ && !p->zref)
		for (i = 0; i < p->nseg; i++)
			memcpy(p->op->buf + p->op_off + (size_t)i * HV_PAGE_SIZE,
			       gntpool_addr_of(q->pool, p->pages[i]), seg_len(p, i));
	if (result == -EOPNOTSUPP) {
		if (p->operation == BLKIF_OP_FLUSH_DISKCACHE)
			bf->info.flush = false;
		else if (p->operation == BLKIF_OP_WRITE_BARRIER)
			bf->info.barrier = false;
		else if (p->operation == BLKIF_OP_DISCARD)
			bf->info.discard = bf->info.secure_discard = false;
	}
	part_pages_put(q, p);
	p->nind = 0;
	bf_part_complete(bf, p, result);
	return 0;
}

/* Take every response on ring q: the number taken, or -EPROTO (the back-end broke the ring). */
int bf_queue_responses(struct blkfront *bf, struct bf_queue *q)
{
	struct blkif_response rsps[BF_RSP_BATCH];
	int n, i, taken = 0, ret;

	if (!q->sring)
		return 0;
	do {
		while ((n = ring_front_consume(&q->rf, rsps, BF_RSP_BATCH)) > 0) {
			for (i = 0; i < n; i++) {
				ret = response(bf, q, &rsps[i]);
				if (ret < 0)
					return ret;
			}
			taken += n;
		}
		if (n < 0)
			return n;
		ret = ring_front_final_check(&q->rf);
	} while (ret > 0);
	return ret < 0 ? ret : taken;
}
