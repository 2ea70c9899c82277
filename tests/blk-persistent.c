/* SPDX-License-Identifier: MIT */
/*
 * blk-persistent: blkback with feature-persistent and a cache of 8 grants.  A guest whose
 * pages come from a gntpool reuses the same references request after request (pgrant_hits
 * grow), then sends batches that use three times more distinct references than the cache
 * holds (the cache answers -EBUSY and blkback maps those segments for the one request): every
 * byte still reads back right.  After detach no grant is left mapped: the guest's
 * gntpool_destroy and the ring's hv_grant_end both succeed at once.
 * All of it on a buffered image, then on an O_DIRECT one (t_blk_each_image).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "grant/gntpool.h"
#include "tests/blk-test.h"

#define NPAGES	  32   /* pool pages */
#define SECTORS	  4096 /* 2 MiB disk */
#define CACHE	  8    /* max_persistent */
#define REUSE	  10   /* rounds over the same references */
#define SEGS_FULL 8    /* segments of the fallback requests */

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
} ctx;

static struct {
	struct t_blk_front f;
	struct gntpool *pool;
	struct gntpool_page pg[NPAGES];
	uint64_t next_id;
} g;

static uint8_t pat(uint64_t sector, unsigned int off, unsigned int salt)
{
	return t_blk_pattern(sector * 131u + salt, off);
}

/* A full-page request over pool pages first..first+n at sector; filled first if a write. */
static uint64_t rw(uint8_t op, uint64_t sector, unsigned int first, unsigned int n,
		   unsigned int salt)
{
	struct blkif_request *req = t_blk_front_slot(&g.f);

	req->operation = op;
	req->nr_segments = (uint8_t)n;
	req->id = g.next_id++;
	req->sector_number = sector;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = g.pg[first + i].addr;

		req->seg[i].gref = g.pg[first + i].ref;
		req->seg[i].first_sect = 0;
		req->seg[i].last_sect = 7;
		for (unsigned int b = 0; b < HV_PAGE_SIZE; b++)
			p[b] =
			    op == BLKIF_OP_WRITE ? pat(sector + i * 8 + b / 512, b % 512, salt) : 0;
	}
	return req->id;
}

/* Check pool pages first..first+n against what rw() wrote at sector with salt: 0 or 1. */
static int check(uint64_t sector, unsigned int first, unsigned int n, unsigned int salt)
{
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = g.pg[first + i].addr;

		for (unsigned int b = 0; b < HV_PAGE_SIZE; b++)
			T_CHECK(p[b] == pat(sector + i * 8 + b / 512, b % 512, salt),
				"sector %llu byte %u",
				(unsigned long long)(sector + i * 8 + b / 512), b % 512);
	}
	return 0;
}

/* Run the n requests just filled; all must succeed. */
static int run_ok(unsigned int n)
{
	struct blkif_response rsp[8];

	T_CHECK(t_blk_front_run(&g.f, rsp, n) == 0, "run");
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(rsp[i].status == BLKIF_RSP_OKAY, "request %llu: status %d",
			(unsigned long long)rsp[i].id, rsp[i].status);
	return 0;
}

/* The same four references, written and read back again and again. */
static int reuse(void)
{
	for (unsigned int k = 0; k < REUSE; k++) {
		rw(BLKIF_OP_WRITE, 32 * k, 0, 4, k);
		T_CHECK(run_ok(1) == 0, "write %u", k);
		rw(BLKIF_OP_READ, 32 * k, 4, 4, k);
		T_CHECK(run_ok(1) == 0, "read %u", k);
		T_CHECK(check(32 * k, 4, 4, k) == 0, "round %u", k);
	}
	return 0;
}

/* 24 and then 11 distinct references in flight against a cache of 8. */
static int overflow(void)
{
	for (unsigned int i = 0; i < 3; i++)
		rw(BLKIF_OP_WRITE, 1000 + 64 * i, 8 * i + 8, SEGS_FULL, 50 + i);
	T_CHECK(run_ok(3) == 0, "write batch");
	for (unsigned int i = 0; i < 3; i++)
		rw(BLKIF_OP_READ, 1000 + 64 * i, 8 * ((i + 1) % 3) + 8, SEGS_FULL, 0);
	T_CHECK(run_ok(3) == 0, "read batch");
	for (unsigned int i = 0; i < 3; i++)
		T_CHECK(check(1000 + 64 * i, 8 * ((i + 1) % 3) + 8, SEGS_FULL, 50 + i) == 0,
			"batch %u", i);
	rw(BLKIF_OP_WRITE, 3000, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST, 77);
	T_CHECK(run_ok(1) == 0, "11-segment write");
	rw(BLKIF_OP_READ, 3000, 12, BLKIF_MAX_SEGMENTS_PER_REQUEST, 0);
	T_CHECK(run_ok(1) == 0, "11-segment read");
	T_CHECK(check(3000, 12, BLKIF_MAX_SEGMENTS_PER_REQUEST, 77) == 0, "11 segments");
	return 0;
}

static int guest(void *arg)
{
	struct blkback_stats st;

	(void)arg;
	T_CHECK(t_blk_front_open(&g.f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(gntpool_create(&g.pool, g.f.hv, ctx.back, NPAGES, true) == 0, "pool");
	for (unsigned int i = 0; i < NPAGES; i++)
		T_CHECK(gntpool_get(g.pool, &g.pg[i]) == 0, "pool page %u", i);
	T_CHECK(reuse() == 0, "reuse");
	T_CHECK(overflow() == 0, "more references than the cache");
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &st, sizeof(st)) == 0, "stats");
	/* Reuse: 4 refs written REUSE times, 4 others read REUSE times: all but 8 hit. */
	T_CHECK(st.pgrant_hits >= 2 * 4 * (REUSE - 1), "pgrant_hits %llu",
		(unsigned long long)st.pgrant_hits);
	T_CHECK(st.pgrant_misses >= CACHE, "pgrant_misses %llu",
		(unsigned long long)st.pgrant_misses);
	T_CHECK(st.errors == 0 && st.in_flight == 0, "errors");
	for (unsigned int i = 0; i < NPAGES; i++)
		T_CHECK(gntpool_put(g.pool, g.pg[i].index) == 0, "put %u", i);
	/* The back-end has detached but keeps its hv session open until we say so. */
	T_CHECK(gntpool_destroy(g.pool) == 0, "pool pages still mapped after detach");
	T_CHECK(hv_grant_end(g.f.hv, g.f.sring, 1) == 0, "ring still mapped after detach");
	T_CHECK(t_put(ctx.link.ab[1], "d", 1) == 0, "done");
	hv_close(g.f.hv);
	return 0;
}

static int back(void *arg)
{
	struct blkback_ring_params p = { 0 };
	struct blkback_disk disk;
	struct blkback_ring *r;
	struct blkback_stats st;
	struct hv *hv;
	char path[32], c;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_blk_disk_make(path, SECTORS * 512ull) == 0, "disk file");
	T_CHECK(t_blk_disk_open(&disk, path, false) == 0, "disk");
	unlink(path);
	p.disk = &disk;
	p.persistent = true;
	p.max_persistent = CACHE;
	p.name = "blk-persistent";
	T_CHECK(t_blk_back_attach(hv, ctx.link.ab[0], &p, &r) == 0, "attach");
	T_CHECK(t_blk_serve(hv, r, ctx.link.ab[0]) == 0, "serve");
	blkback_ring_stats(r, &st);
	blkback_ring_detach(r);
	T_CHECK(t_put(ctx.link.ba[1], &st, sizeof(st)) == 0, "send stats");
	T_CHECK(t_get(ctx.link.ab[0], &c, 1) == 0 && c == 'd', "guest done");
	hv_evtchn_unbind(hv, p.port);
	hv_close(hv);
	blkback_disk_close(&disk);
	return 0;
}

static int phases(void)
{
	T_CHECK(t_blk_pair(&ctx.link, &ctx.back, back, guest) == 0, "persistent grants");
	return T_PASS;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
