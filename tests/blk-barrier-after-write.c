/* SPDX-License-Identifier: MIT */
/*
 * blk-barrier-after-write: a WRITE and then a WRITE_BARRIER in one batch, on a buffered image,
 * are both answered, and nothing but the port and the io fd moves the ring (t_blk_serve fails
 * on a stall).  On a buffered image io_submit carries the write out before it returns, so the
 * barrier finds the drain it waits for already over: the ring must run it then and there rather
 * than wait for a completion that has come and gone (issue 8, defect 4).  Twice: a barrier with
 * data, then one without; then everything reads back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/blk-test.h"

#define NDATA	8    /* data pages */
#define SECTORS 2048 /* 1 MiB disk */

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
} ctx;

static struct {
	struct t_blk_front f;
	uint8_t *data;
	grant_ref_t refs[NDATA];
	uint64_t next_id;
} g;

/* Full-page segments over pages first..first+n at sector, each page filled with fill. */
static void req(uint8_t op, uint64_t sector, unsigned int first, unsigned int n, int fill)
{
	struct blkif_request *r = t_blk_front_slot(&g.f);
	uint8_t seg[BLKIF_MAX_SEGMENTS_PER_REQUEST][3];

	for (unsigned int i = 0; i < n; i++) {
		seg[i][0] = (uint8_t)(first + i);
		seg[i][1] = 0;
		seg[i][2] = 7;
		memset(g.data + (size_t)(first + i) * HV_PAGE_SIZE, fill, HV_PAGE_SIZE);
	}
	t_blk_req(r, op, g.next_id++, sector, n, g.refs, (const uint8_t(*)[3])seg);
}

/* Both requests of the batch answered OKAY (t_blk_front_run fails if one never is). */
static int batch_ok(const char *what)
{
	struct blkif_response rsp[2];

	T_CHECK(t_blk_front_run(&g.f, rsp, 2) == 0, "%s: not answered", what);
	for (unsigned int i = 0; i < 2; i++)
		T_CHECK(rsp[i].status == BLKIF_RSP_OKAY, "%s: request %llu: status %d", what,
			(unsigned long long)rsp[i].id, rsp[i].status);
	return 0;
}

/* Read pages' worth at sector into page 0 and compare with fill. */
static int read_back(uint64_t sector, unsigned int pages, int fill)
{
	struct blkif_response rsp[1];

	req(BLKIF_OP_READ, sector, 0, pages, 0);
	T_CHECK(t_blk_front_run(&g.f, rsp, 1) == 0 && rsp[0].status == BLKIF_RSP_OKAY,
		"read at %llu", (unsigned long long)sector);
	for (size_t b = 0; b < (size_t)pages * HV_PAGE_SIZE; b++)
		T_CHECK(g.data[b] == fill, "sector %llu byte %zu: %u, want %d",
			(unsigned long long)sector, b, g.data[b], fill);
	return 0;
}

static int guest(void *arg)
{
	struct blkback_stats st;

	(void)arg;
	T_CHECK(t_blk_front_open(&g.f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(g.f.hv, ctx.back, NDATA, true, (void **)&g.data, g.refs) == 0,
		"data pages");
	req(BLKIF_OP_WRITE, 0, 0, 2, 0x11);
	req(BLKIF_OP_WRITE_BARRIER, 64, 2, 2, 0x22);
	T_CHECK(batch_ok("write, barrier with data") == 0, "batch 1");
	req(BLKIF_OP_WRITE, 128, 4, 2, 0x33);
	req(BLKIF_OP_WRITE_BARRIER, 0, 0, 0, 0);
	T_CHECK(batch_ok("write, barrier without data") == 0, "batch 2");
	T_CHECK(read_back(0, 2, 0x11) == 0 && read_back(64, 2, 0x22) == 0 &&
		    read_back(128, 2, 0x33) == 0,
		"read back");
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &st, sizeof(st)) == 0, "stats");
	T_CHECK(st.writes == 2 && st.barriers == 2 && st.errors == 0 && st.in_flight == 0,
		"stats: writes %llu barriers %llu errors %llu", (unsigned long long)st.writes,
		(unsigned long long)st.barriers, (unsigned long long)st.errors);
	T_CHECK(hv_grant_end(g.f.hv, g.data, NDATA) == 0, "data pages still mapped");
	return t_blk_front_close(&g.f);
}

static int back(void *arg)
{
	struct blkback_ring_params p = { .name = "blk-barrier-after-write" };

	(void)arg;
	return t_blk_back_file(ctx.link.ab[0], ctx.link.ba[1], SECTORS * 512ull, &p);
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	t_blk_image = T_BLK_BUFFERED; /* the write completes inside io_submit */
	T_CHECK(t_blk_pair(&ctx.link, &ctx.back, back, guest) == 0, "write and barrier");
	return T_PASS;
}
