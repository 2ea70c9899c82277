/* SPDX-License-Identifier: MIT */
/*
 * blk-flush-barrier: BLKIF_OP_FLUSH_DISKCACHE with and without data and BLKIF_OP_WRITE_BARRIER
 * with and without data are all answered OKAY.  A barrier whose data overlaps a write queued
 * just before it ends up on top (the barrier drained that write first), a read queued after it
 * in the same batch sees its data, and everything reads back afterwards.
 * All of it on a buffered image, then on an O_DIRECT one (t_blk_each_image).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/blk-test.h"

#define NDATA	24   /* data pages */
#define SECTORS 4096 /* 2 MiB disk */

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
} ctx;

static struct {
	struct t_blk_front f;
	uint8_t *data;
	grant_ref_t refs[NDATA];
	uint64_t next_id;
	uint8_t salt[SECTORS]; /* what each sector should hold: 0, the initial pattern */
} g;

static uint8_t pat(uint64_t sector, unsigned int off, unsigned int salt)
{
	return salt ? t_blk_pattern(sector * 131u + salt, off) : t_blk_pattern(sector, off);
}

/* Full-page segments over pages first..first+n at sector; a write fills them with salt. */
static uint64_t req(uint8_t op, uint64_t sector, unsigned int first, unsigned int n, uint8_t salt)
{
	struct blkif_request *r = t_blk_front_slot(&g.f);

	r->operation = op;
	r->nr_segments = (uint8_t)n;
	r->id = g.next_id++;
	r->sector_number = sector;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = g.data + (size_t)(first + i) * HV_PAGE_SIZE;

		r->seg[i].gref = g.refs[first + i];
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = 7;
		for (unsigned int b = 0; b < HV_PAGE_SIZE; b++)
			p[b] =
			    op == BLKIF_OP_READ ? 0 : pat(sector + i * 8 + b / 512, b % 512, salt);
	}
	return r->id;
}

/* Pages first..first+n against g.salt from sector: 0 or 1. */
static int check(uint64_t sector, unsigned int first, unsigned int n)
{
	for (unsigned int i = 0; i < n * 8; i++) {
		const uint8_t *p = g.data + (size_t)first * HV_PAGE_SIZE + i * 512u;

		for (unsigned int o = 0; o < 512; o++)
			T_CHECK(p[o] == pat(sector + i, o, g.salt[sector + i]),
				"sector %llu byte %u", (unsigned long long)(sector + i), o);
	}
	return 0;
}

static void expect(uint64_t sector, unsigned int pages, uint8_t salt)
{
	memset(&g.salt[sector], salt, pages * 8u);
}

static int run_ok(unsigned int n, struct blkif_response *rsp)
{
	T_CHECK(t_blk_front_run(&g.f, rsp, n) == 0, "run");
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(rsp[i].status == BLKIF_RSP_OKAY, "request %llu (op %u): status %d",
			(unsigned long long)rsp[i].id, rsp[i].operation, rsp[i].status);
	return 0;
}

/* Flushes with and without data, a barrier without. */
static int flushes(void)
{
	struct blkif_response rsp[4];

	req(BLKIF_OP_WRITE, 0, 0, 4, 1);
	req(BLKIF_OP_FLUSH_DISKCACHE, 100, 4, 2, 2);
	req(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0);
	req(BLKIF_OP_WRITE_BARRIER, 0, 0, 0, 0);
	T_CHECK(run_ok(4, rsp) == 0, "flush batch");
	expect(0, 4, 1);
	expect(100, 2, 2);
	return 0;
}

/* A write, a barrier with data over its end, a read of the barrier's data, one more write. */
static int barrier(void)
{
	struct blkif_response rsp[4];

	req(BLKIF_OP_WRITE, 200, 6, 4, 3);	    /* sectors 200..231 */
	req(BLKIF_OP_WRITE_BARRIER, 224, 10, 3, 4); /* 224..247, over the write's end */
	req(BLKIF_OP_READ, 224, 13, 3, 0);	    /* after the barrier: sees it */
	req(BLKIF_OP_WRITE, 400, 16, 2, 5);	    /* after the barrier too */
	T_CHECK(run_ok(4, rsp) == 0, "barrier batch");
	expect(200, 4, 3);
	expect(224, 3, 4);
	expect(400, 2, 5);
	T_CHECK(check(224, 13, 3) == 0, "the read after the barrier");
	return 0;
}

/* Read every range back. */
static int read_back(void)
{
	/* Each written range with a page around it: start sector, pages. */
	static const unsigned int ranges[][2] = { { 0, 5 }, { 92, 4 }, { 192, 8 }, { 392, 4 } };
	struct blkif_response rsp[1];

	for (unsigned int i = 0; i < 4; i++) {
		req(BLKIF_OP_READ, ranges[i][0], 0, ranges[i][1], 0);
		T_CHECK(run_ok(1, rsp) == 0, "read %u", ranges[i][0]);
		T_CHECK(check(ranges[i][0], 0, ranges[i][1]) == 0, "range %u", ranges[i][0]);
	}
	return 0;
}

static int guest(void *arg)
{
	struct blkback_stats st;

	(void)arg;
	T_CHECK(t_blk_front_open(&g.f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(g.f.hv, ctx.back, NDATA, true, (void **)&g.data, g.refs) == 0,
		"data pages");
	T_CHECK(flushes() == 0, "flushes");
	T_CHECK(barrier() == 0, "barrier");
	T_CHECK(read_back() == 0, "read back");
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &st, sizeof(st)) == 0, "stats");
	T_CHECK(st.flushes == 2 && st.barriers == 2 && st.errors == 0, "stats");
	T_CHECK(st.bytes_written == (4 + 2 + 4 + 3 + 2) * HV_PAGE_SIZE, "bytes written %llu",
		(unsigned long long)st.bytes_written);
	T_CHECK(hv_grant_end(g.f.hv, g.data, NDATA) == 0, "data pages still mapped");
	return t_blk_front_close(&g.f);
}

static int back(void *arg)
{
	struct blkback_ring_params p = { .name = "blk-flush-barrier" };

	(void)arg;
	return t_blk_back_file(ctx.link.ab[0], ctx.link.ba[1], SECTORS * 512ull, &p);
}

static int phases(void)
{
	T_CHECK(t_blk_pair(&ctx.link, &ctx.back, back, guest) == 0, "flush and barrier");
	return T_PASS;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
