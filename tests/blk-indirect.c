/* SPDX-License-Identifier: MIT */
/*
 * blk-indirect: BLKIF_OP_INDIRECT through blkback.  A 1 MiB (256-segment) write and an
 * odd-shaped 37-segment write are read back with other shapes and checksummed; malformed
 * indirect requests (no segments, more than advertised, indirect_op FLUSH, an ungranted
 * descriptor page, bad sectors inside the descriptor page) each get BLKIF_RSP_ERROR while the
 * good ones around them succeed.  Run without and with persistent grants (the descriptor pages
 * are granted read-only, so the cache falls back to single maps for them, and 256 segments
 * overflow a 64-entry cache); with max_indirect_segments 0 the operation is refused with
 * EOPNOTSUPP.
 * All of it on a buffered image, then on an O_DIRECT one (t_blk_each_image).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/blk-test.h"

#define NDATA	  256  /* data pages: 1 MiB */
#define NIND	  16   /* descriptor pages, one per request of a batch */
#define SECTORS	  8192 /* 4 MiB disk */
#define UNGRANTED 9000 /* a reference the guest never granted */
#define ODD_START 4097 /* the odd write's first sector */
#define ODD_NSEG  37

struct phase {
	bool persistent;	   /* feature-persistent */
	unsigned int max_indirect; /* advertised segments */
};

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
	struct phase ph;    /* this run */
} ctx;

/* The guest's pages. */
static struct {
	struct t_blk_front f;
	uint8_t *data;			   /* NDATA pages */
	grant_ref_t data_refs[NDATA];	   /* writable grants */
	struct blkif_request_segment *ind; /* NIND pages of descriptors */
	grant_ref_t ind_refs[NIND];	   /* read-only grants */
	uint64_t next_id;
	struct blkif_request_indirect *last; /* the request ind_req filled last */
} g;

/* What was written: sectors [0, 2048) by the 1 MiB write, the odd range by the odd write. */
static uint64_t odd_end; /* one past the odd write's last sector */

static uint8_t written(uint64_t sector, unsigned int off)
{
	if (sector < 2048 || (sector >= ODD_START && sector < odd_end))
		return t_blk_pattern(sector ^ 0xabcde, off);
	return t_blk_pattern(sector, off);
}

/* One indirect request in slot order, its descriptors in descriptor page ipage. */
static uint64_t ind_req(uint8_t iop, uint64_t sector, unsigned int nseg,
			const struct blkif_request_segment *segs, unsigned int ipage)
{
	struct blkif_request_indirect *req = (void *)t_blk_front_slot(&g.f);
	struct blkif_request_segment *d = g.ind + (size_t)ipage * 512;

	for (unsigned int i = 0; i < nseg && i < 512; i++)
		d[i] = segs[i];
	req->operation = BLKIF_OP_INDIRECT;
	req->indirect_op = iop;
	req->nr_segments = (uint16_t)nseg;
	req->id = g.next_id++;
	req->sector_number = sector;
	req->indirect_grefs[0] = g.ind_refs[ipage];
	g.last = req;
	return req->id;
}

/* Full-page segments over pages [page, page + n). */
static void segs_full(struct blkif_request_segment *s, unsigned int page, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		s[i] = (struct blkif_request_segment){ g.data_refs[page + i], 0, 7 };
}

/* Fill (or check) the data a request's segments cover against written(): 0 or 1. */
static int data_apply(const struct blkif_request_segment *s, unsigned int n, uint64_t sector,
		      unsigned int page, bool fill)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = g.data + (size_t)(page + i) * HV_PAGE_SIZE;

		for (unsigned int k = s[i].first_sect; k <= s[i].last_sect; k++, sector++) {
			for (unsigned int o = 0; o < 512; o++) {
				uint8_t want = written(sector, o);

				if (fill)
					p[k * 512 + o] = want;
				else
					T_CHECK(p[k * 512 + o] == want, "sector %llu byte %u",
						(unsigned long long)sector, o);
			}
		}
	}
	return 0;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Submit one request, expect status. */
static int run1(uint64_t id, int16_t want)
{
	struct blkif_response rsp;

	T_CHECK(t_blk_front_run(&g.f, &rsp, 1) == 0, "run");
	T_CHECK(rsp.id == id && rsp.status == want, "request %llu: status %d, want %d",
		(unsigned long long)id, rsp.status, want);
	return 0;
}

/* The 1 MiB write, then its read into zeroed pages, compared by checksum. */
static int big(void)
{
	static struct blkif_request_segment s[NDATA];
	uint32_t sum;

	segs_full(s, 0, NDATA);
	T_CHECK(data_apply(s, NDATA, 0, 0, true) == 0, "fill");
	sum = fnv(g.data, NDATA * HV_PAGE_SIZE);
	T_CHECK(run1(ind_req(BLKIF_OP_WRITE, 0, NDATA, s, 0), BLKIF_RSP_OKAY) == 0, "1 MiB write");
	memset(g.data, 0, NDATA * HV_PAGE_SIZE);
	T_CHECK(run1(ind_req(BLKIF_OP_READ, 0, NDATA, s, 1), BLKIF_RSP_OKAY) == 0, "1 MiB read");
	T_CHECK(fnv(g.data, NDATA * HV_PAGE_SIZE) == sum, "1 MiB read-back checksum");
	return 0;
}

/* 37 segments of 1..8 sectors, read back as full pages from one sector before. */
static int odd(void)
{
	struct blkif_request_segment s[ODD_NSEG], rs[ODD_NSEG];
	uint64_t nsect = 0;
	unsigned int nread;

	for (unsigned int i = 0; i < ODD_NSEG; i++) {
		s[i] = (struct blkif_request_segment){ g.data_refs[i], (uint8_t)(i % 5),
						       (uint8_t)(4 + i % 4) };
		nsect += s[i].last_sect - s[i].first_sect + 1u;
	}
	odd_end = ODD_START + nsect;
	T_CHECK(data_apply(s, ODD_NSEG, ODD_START, 0, true) == 0, "fill");
	T_CHECK(run1(ind_req(BLKIF_OP_WRITE, ODD_START, ODD_NSEG, s, 2), BLKIF_RSP_OKAY) == 0,
		"odd write");
	nread = (unsigned int)((nsect + 2 + 7) / 8);
	segs_full(rs, 0, nread);
	memset(g.data, 0, NDATA * HV_PAGE_SIZE);
	T_CHECK(run1(ind_req(BLKIF_OP_READ, ODD_START - 1, nread, rs, 3), BLKIF_RSP_OKAY) == 0,
		"odd read");
	T_CHECK(data_apply(rs, nread, ODD_START - 1, 0, false) == 0, "odd read-back");
	return 0;
}

/* A good 16-segment read of sectors [0, 128) into pages [page, page + 16). */
static uint64_t good(unsigned int page, unsigned int ipage)
{
	struct blkif_request_segment s[16];

	segs_full(s, page, 16);
	return ind_req(BLKIF_OP_READ, 0, 16, s, ipage);
}

/* Malformed requests, each between good ones, in one batch. */
static int malformed(void)
{
	static struct blkif_request_segment s[NDATA + 1];
	struct blkif_response rsp[16];
	uint64_t ok[6], bad[5];

	segs_full(s, 0, NDATA);
	s[NDATA] = s[0];
	ok[0] = good(0, 0);
	bad[0] = ind_req(BLKIF_OP_READ, 0, 0, s, 1); /* no segments */
	ok[1] = good(16, 2);
	bad[1] = ind_req(BLKIF_OP_READ, 0, NDATA + 1, s, 3); /* more than advertised */
	ok[2] = good(32, 4);
	bad[2] = ind_req(BLKIF_OP_FLUSH_DISKCACHE, 0, 4, s, 5);
	ok[3] = good(48, 6);
	bad[3] = ind_req(BLKIF_OP_READ, 0, 4, s, 7);
	g.last->indirect_grefs[0] = UNGRANTED;
	ok[4] = good(64, 8);
	s[50] = (struct blkif_request_segment){ g.data_refs[50], 5, 3 };
	s[60] = (struct blkif_request_segment){ g.data_refs[60], 0, 8 };
	bad[4] = ind_req(BLKIF_OP_WRITE, 0, 100, s, 9); /* bad sectors in the descriptors */
	ok[5] = good(80, 10);
	memset(g.data, 0, NDATA * HV_PAGE_SIZE);
	T_CHECK(t_blk_front_run(&g.f, rsp, 11) == 0, "malformed batch");
	for (unsigned int i = 0; i < 6; i++) {
		T_CHECK(t_blk_status(rsp, 11, ok[i]) == BLKIF_RSP_OKAY, "good %u", i);
		segs_full(s, 16 * i, 16);
		T_CHECK(data_apply(s, 16, 0, 16 * i, false) == 0, "good %u data", i);
	}
	for (unsigned int i = 0; i < 5; i++)
		T_CHECK(t_blk_status(rsp, 11, bad[i]) == BLKIF_RSP_ERROR, "bad %u: status %d", i,
			t_blk_status(rsp, 11, bad[i]));
	for (unsigned int i = 0; i < 11; i++)
		if (rsp[i].id == bad[2])
			T_CHECK(rsp[i].operation == BLKIF_OP_FLUSH_DISKCACHE, "echoed operation");
	return 0;
}

static int guest_shares(void)
{
	T_CHECK(hv_grant_share(g.f.hv, ctx.back, NDATA, true, (void **)&g.data, g.data_refs) == 0,
		"data pages");
	T_CHECK(hv_grant_share(g.f.hv, ctx.back, NIND, false, (void **)&g.ind, g.ind_refs) == 0,
		"descriptor pages");
	return 0;
}

static int guest(void *arg)
{
	struct blkback_stats st;

	(void)arg;
	T_CHECK(t_blk_front_open(&g.f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(guest_shares() == 0, "shares");
	if (ctx.ph.max_indirect == 0) {
		struct blkif_request_segment s[1] = { { g.data_refs[0], 0, 7 } };
		uint8_t seg[1][3] = { { 0, 0, 7 } };
		uint64_t id = ind_req(BLKIF_OP_READ, 0, 1, s, 0);

		T_CHECK(run1(id, BLKIF_RSP_EOPNOTSUPP) == 0, "indirect refused");
		t_blk_req(t_blk_front_slot(&g.f), BLKIF_OP_READ, g.next_id++, 0, 1, g.data_refs,
			  (const uint8_t(*)[3])seg);
		T_CHECK(run1(g.next_id - 1, BLKIF_RSP_OKAY) == 0, "direct read still served");
	} else {
		T_CHECK(big() == 0, "1 MiB");
		T_CHECK(odd() == 0, "odd shape");
		T_CHECK(malformed() == 0, "malformed");
	}
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &st, sizeof(st)) == 0, "stats");
	if (ctx.ph.max_indirect == 0) {
		T_CHECK(st.unsupported == 1 && st.indirect == 0 && st.reads == 1, "refused stats");
	} else {
		/* big 2, odd 2, malformed: 6 good and the 4 bad ones with a valid indirect_op. */
		T_CHECK(st.indirect == 14, "indirect %llu", (unsigned long long)st.indirect);
		T_CHECK(st.errors == 5 && st.in_flight == 0, "errors %llu",
			(unsigned long long)st.errors);
		T_CHECK(ctx.ph.persistent == (st.pgrant_hits + st.pgrant_misses > 0), "pgrants");
	}
	T_CHECK(hv_grant_end(g.f.hv, g.data, NDATA) == 0, "data pages still mapped");
	T_CHECK(hv_grant_end(g.f.hv, g.ind, NIND) == 0, "descriptor pages still mapped");
	return t_blk_front_close(&g.f);
}

static int back(void *arg)
{
	struct blkback_ring_params p = { .persistent = ctx.ph.persistent,
					 .max_persistent = 64,
					 .max_indirect_segments = ctx.ph.max_indirect,
					 .name = "blk-indirect",
					 /* the guest's mistakes are expected here */
					 .log = pvio_log_stderr(PVIO_LOG_ERROR) };

	(void)arg;
	return t_blk_back_file(ctx.link.ab[0], ctx.link.ba[1], SECTORS * 512ull, &p);
}

static int run(bool persistent, unsigned int max_indirect)
{
	ctx.ph = (struct phase){ persistent, max_indirect };
	return t_blk_pair(&ctx.link, &ctx.back, back, guest);
}

static int phases(void)
{
	T_CHECK(run(false, BLKBACK_MAX_INDIRECT_SEGMENTS) == 0, "indirect");
	T_CHECK(run(true, BLKBACK_MAX_INDIRECT_SEGMENTS) == 0, "indirect, persistent");
	T_CHECK(run(false, 0) == 0, "indirect not advertised");
	return T_PASS;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
