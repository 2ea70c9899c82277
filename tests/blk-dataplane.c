/* SPDX-License-Identifier: MIT */
/*
 * blk-dataplane: a guest writes patterned sectors through blkback (one- and multi-segment
 * requests, partial pages), reads them back, then sends malformed requests that must each be
 * answered with an error while good requests around them are still served; a write to a
 * read-only disk is refused; a corrupted ring makes blkback return -EPROTO and the back-end
 * exits cleanly.  The back-end's loop waits on both the port and the ring's io fd.
 * All of it on a buffered image, then on an O_DIRECT one (t_blk_each_image).
 */
#include "config.h"

#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>

#include <xen/io/blkif.h>

#include "tests/blk-test.h"

#define NDATA	  16   /* data pages the guest shares */
#define SECTORS	  2048 /* 1 MiB disk */
#define UNGRANTED 9000 /* a reference the guest never granted */

struct refs {
	domid_t guest;		 /* the front */
	evtchn_port_t port;	 /* the guest's unbound port */
	grant_ref_t ring;	 /* the 1-page ring */
	grant_ref_t data[NDATA]; /* data pages, writable to the back-end */
};

struct seg {
	uint8_t page, first, last; /* data page index and sector range in it */
};

/* One request as the test describes it. */
struct treq {
	uint8_t op, nseg;
	uint64_t sector;
	struct seg seg[BLKIF_MAX_SEGMENTS_PER_REQUEST + 1];
	int16_t want; /* expected status */
};

struct ctx {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
	bool readonly;	    /* the back-end's phase */
};

static struct ctx ctx;

/* Front-side state. */
struct front {
	struct hv *hv;
	struct ring_front rf;
	void *sring;
	uint8_t *data;
	struct refs refs;
	evtchn_port_t port;
	uint64_t next_id;
};

/* Fill (write) or check (read) the data pages a request covers; 0 or 1. */
static int data_apply(struct front *f, const struct treq *t, bool fill)
{
	uint64_t sector = t->sector;

	for (unsigned int i = 0; i < t->nseg; i++) {
		for (unsigned int s = t->seg[i].first; s <= t->seg[i].last; s++, sector++) {
			uint8_t *p = f->data + (size_t)t->seg[i].page * HV_PAGE_SIZE + s * 512u;

			for (unsigned int o = 0; o < 512; o++) {
				if (fill)
					p[o] = t_blk_pattern(sector, o);
				else
					T_CHECK(p[o] == t_blk_pattern(sector, o),
						"sector %llu byte %u", (unsigned long long)sector,
						o);
			}
		}
	}
	return 0;
}

static void fill_slot(struct front *f, const struct treq *t, struct blkif_request *req)
{
	req->operation = t->op;
	req->nr_segments = t->nseg;
	req->handle = 0;
	req->id = f->next_id++;
	req->sector_number = t->sector;
	for (unsigned int i = 0; i < t->nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		req->seg[i].gref =
		    t->seg[i].page == 0xff ? UNGRANTED : f->refs.data[t->seg[i].page];
		req->seg[i].first_sect = t->seg[i].first;
		req->seg[i].last_sect = t->seg[i].last;
	}
}

/* Submit n requests as one batch and check each response's status (reads are also verified). */
static int submit(struct front *f, const struct treq *t, unsigned int n)
{
	uint64_t base = f->next_id;
	unsigned int got = 0, i;

	T_CHECK(n <= ring_front_free(&f->rf), "batch too big");
	for (i = 0; i < n; i++) {
		if (t[i].op == BLKIF_OP_WRITE)
			T_CHECK(data_apply(f, &t[i], true) == 0, "fill");
		fill_slot(f, &t[i], ring_front_req_slot(&f->rf));
	}
	if (ring_front_push(&f->rf) > 0)
		T_CHECK(hv_evtchn_notify(f->hv, f->port) == 0, "notify");
	while (got < n) {
		struct blkif_response rsp[32];
		int k = ring_front_consume(&f->rf, rsp, 32);

		T_CHECK(k >= 0, "front consume");
		for (int j = 0; j < k; j++, got++) {
			uint64_t idx = rsp[j].id - base;

			T_CHECK(idx < n, "response id %llu", (unsigned long long)rsp[j].id);
			T_CHECK(rsp[j].operation == t[idx].op, "response op");
			T_CHECK(rsp[j].status == t[idx].want,
				"request %llu (op %u): status %d, want %d", (unsigned long long)idx,
				t[idx].op, rsp[j].status, t[idx].want);
			if (t[idx].op == BLKIF_OP_READ && t[idx].want == BLKIF_RSP_OKAY)
				T_CHECK(data_apply(f, &t[idx], false) == 0, "read-back data");
		}
		if (k == 0 && ring_front_final_check(&f->rf) == 0)
			T_CHECK(t_event_wait(f->hv, f->port, 5000), "no response");
	}
	return 0;
}

#define W   BLKIF_OP_WRITE
#define R   BLKIF_OP_READ
#define OK  BLKIF_RSP_OKAY
#define ERR BLKIF_RSP_ERROR

/* Writes of various shapes, then reads of them in other shapes. */
static const struct treq writes[] = {
	{ W, 1, 0, { { 0, 0, 7 } }, OK },
	{ W, 3, 8, { { 1, 3, 5 }, { 2, 0, 7 }, { 3, 7, 7 } }, OK }, /* 8..19 */
	{ W,
	  11,
	  100,
	  { { 4, 0, 7 },
	    { 5, 0, 7 },
	    { 6, 0, 7 },
	    { 7, 0, 7 },
	    { 8, 0, 7 },
	    { 9, 0, 7 },
	    { 10, 0, 7 },
	    { 11, 0, 7 },
	    { 12, 0, 7 },
	    { 13, 0, 7 },
	    { 14, 1, 6 } },
	  OK }, /* 100..185 */
	{ W, 1, SECTORS - 2, { { 15, 6, 7 } }, OK },
	{ BLKIF_OP_FLUSH_DISKCACHE, 0, 0, { { 0 } }, OK },
};
/* Pages are distinct within a batch: all of it is served before the front looks. */
static const struct treq reads[] = {
	{ R, 3, 0, { { 2, 0, 7 }, { 0, 0, 7 }, { 1, 4, 7 } }, OK }, /* 0..19 */
	{ R,
	  11,
	  100,
	  { { 3, 0, 7 },
	    { 4, 0, 7 },
	    { 5, 0, 7 },
	    { 6, 0, 7 },
	    { 7, 0, 7 },
	    { 8, 0, 7 },
	    { 9, 0, 7 },
	    { 10, 0, 7 },
	    { 11, 0, 7 },
	    { 12, 0, 7 },
	    { 13, 2, 7 } },
	  OK }, /* 100..185 */
	{ R, 1, SECTORS - 2, { { 14, 0, 1 } }, OK },
};
#define GOOD                                                                                       \
	{                                                                                          \
		R, 2, 8, { { 3, 0, 7 }, { 4, 0, 3 } }, OK                                          \
	}
/* Each malformed request followed by a good one. */
static const struct treq bad[] = {
	{ 99, 1, 0, { { 0, 0, 7 } }, BLKIF_RSP_EOPNOTSUPP },
	GOOD,
	{ BLKIF_OP_WRITE_BARRIER, 0, 0, { { 0 } }, OK },
	GOOD,
	{ BLKIF_OP_INDIRECT, 1, 0, { { 0, 0, 7 } }, BLKIF_RSP_EOPNOTSUPP },
	GOOD,
	{ R, 0, 0, { { 0 } }, ERR },
	GOOD,
	{ W, 12, 0, { { 0, 0, 7 } }, ERR },
	GOOD,
	{ R, 1, 0, { { 0, 5, 4 } }, ERR },
	GOOD,
	{ R, 1, 0, { { 0, 0, 8 } }, ERR },
	GOOD,
	{ R, 1, SECTORS - 1, { { 0, 0, 1 } }, ERR },
	GOOD,
	{ R, 1, UINT64_MAX - 3, { { 0, 0, 7 } }, ERR },
	GOOD,
	{ W, 2, 300, { { 0, 0, 7 }, { 0xff, 0, 7 } }, ERR },
	GOOD,
	{ R, 1, 300, { { 0xff, 0, 7 } }, ERR },
	GOOD,
};
#define NBAD_ERR 8 /* of those, answered ERROR */

static const struct treq ro_phase[] = {
	{ W, 1, 0, { { 0, 0, 7 } }, ERR },
	{ R, 2, 8, { { 1, 0, 7 }, { 2, 0, 3 } }, OK },
	{ BLKIF_OP_FLUSH_DISKCACHE, 0, 0, { { 0 } }, OK },
};

static int front_open(struct front *f)
{
	memset(f, 0, sizeof(*f));
	T_CHECK(hv_open(&f->hv, NULL) == 0, "guest: hv_open");
	T_CHECK(hv_domid(f->hv, &f->refs.guest) == 0, "domid");
	T_CHECK(hv_grant_share(f->hv, ctx.back, 1, true, &f->sring, &f->refs.ring) == 0, "ring");
	T_CHECK(ring_blkif_front_init(&f->rf, f->sring, 0) == 0, "ring init");
	T_CHECK(hv_grant_share(f->hv, ctx.back, NDATA, true, (void **)&f->data, f->refs.data) == 0,
		"data pages");
	T_CHECK(hv_evtchn_alloc_unbound(f->hv, ctx.back, &f->port) == 0, "alloc unbound");
	f->refs.port = f->port;
	/* Through a byte copy: GCC's -Wstringop-overread misjudges &f->refs here. */
	uint8_t msg[sizeof(f->refs)];
	memcpy(msg, &f->refs, sizeof(msg));
	T_CHECK(t_put(ctx.link.ab[1], msg, sizeof(msg)) == 0, "send refs");
	return 0;
}

static int guest_rw(void *arg)
{
	struct front f;
	char c;

	(void)arg;
	T_CHECK(front_open(&f) == 0, "front");
	T_CHECK(submit(&f, writes, sizeof(writes) / sizeof(writes[0])) == 0, "writes");
	memset(f.data, 0, NDATA * HV_PAGE_SIZE);
	T_CHECK(submit(&f, reads, sizeof(reads) / sizeof(reads[0])) == 0, "reads");
	T_CHECK(submit(&f, bad, sizeof(bad) / sizeof(bad[0])) == 0, "bad requests");
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) /* one at a time too */
		T_CHECK(submit(&f, &bad[i], 1) == 0, "bad request %u alone", i);
	/* Corrupt the ring: req_prod more than a ring ahead of what the back consumed. */
	__atomic_store_n(&((struct ring_shared *)f.sring)->req_prod, f.rf.req_prod_pub + 100,
			 __ATOMIC_RELEASE);
	T_CHECK(hv_evtchn_notify(f.hv, f.port) == 0, "notify corrupt");
	T_CHECK(t_get(ctx.link.ba[0], &c, 1) == 0 && c == 'p', "back-end saw -EPROTO");
	hv_close(f.hv);
	return 0;
}

static int guest_ro(void *arg)
{
	struct front f;

	(void)arg;
	T_CHECK(front_open(&f) == 0, "front");
	for (int i = 0; i < 3; i++)
		T_CHECK(submit(&f, ro_phase, 3) == 0, "read-only phase");
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	hv_close(f.hv);
	return 0;
}

/* A 1 MiB patterned backing file, opened read-only in the read-only phase. */
static int disk_open(struct blkback_disk *d)
{
	char path[32];

	T_CHECK(t_blk_disk_make(path, SECTORS * 512) == 0, "disk file");
	T_CHECK(t_blk_disk_open(d, path, ctx.readonly) == 0, "blkback_disk_open");
	unlink(path);
	T_CHECK(d->sectors == SECTORS && d->sector_size == 512 && d->readonly == ctx.readonly,
		"disk geometry");
	return 0;
}

static int check_stats(const struct blkback_stats *st)
{
	if (ctx.readonly) {
		T_CHECK(st->writes == 3 && st->reads == 3 && st->flushes == 3, "ro counts");
		T_CHECK(st->errors == 3 && st->bytes_written == 0, "ro errors");
		T_CHECK(st->bytes_read == 3 * 12 * 512, "ro bytes read");
	} else {
		T_CHECK(st->unsupported == 2 * 2, "unsupported %llu",
			(unsigned long long)st->unsupported);
		T_CHECK(st->errors == 2 * NBAD_ERR, "errors %llu", (unsigned long long)st->errors);
		T_CHECK(st->bytes_written == (8 + 12 + 86 + 2) * 512, "bytes written %llu",
			(unsigned long long)st->bytes_written);
		T_CHECK(st->flushes == 1 && st->writes == 4 + 2 * 2, "writes/flushes");
		T_CHECK(st->barriers == 2, "barriers");
	}
	T_CHECK(st->in_flight == 0, "in flight");
	return 0;
}

static int back(void *arg)
{
	struct blkback_ring_params p = { 0 };
	struct blkback_disk disk;
	struct blkback_ring *r;
	struct blkback_stats st;
	struct hv *hv;
	struct refs refs;
	int rc;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(disk_open(&disk) == 0, "disk");
	T_CHECK(t_get(ctx.link.ab[0], &refs, sizeof(refs)) == 0, "back: refs");
	p.frontend = refs.guest;
	p.refs = &refs.ring;
	p.order = 0;
	T_CHECK(hv_evtchn_bind(hv, refs.guest, refs.port, &p.port) == 0, "bind");
	p.disk = &disk;
	p.log = pvio_log_stderr(PVIO_LOG_ERROR); /* the guest's mistakes are expected here */
	T_CHECK(blkback_ring_attach(&r, hv, &p) == 0, "attach");
	T_CHECK(blkback_ring_io_fd(r) >= 0, "io fd");
	rc = t_blk_serve(hv, r, ctx.link.ab[0]);
	blkback_ring_stats(r, &st);
	T_CHECK(rc == (ctx.readonly ? 0 : -EPROTO), "serve returned %d", rc);
	T_CHECK(blkback_ring_process(r) == (ctx.readonly ? 0 : -EPROTO), "stays broken");
	T_CHECK(check_stats(&st) == 0, "stats");
	if (!ctx.readonly)
		T_CHECK(t_put(ctx.link.ba[1], "p", 1) == 0, "report");
	t_blk_back_close(hv, r, p.port);
	blkback_disk_close(&disk);
	return 0;
}

static int run(bool readonly)
{
	ctx.readonly = readonly;
	return t_blk_pair(&ctx.link, &ctx.back, back, readonly ? guest_ro : guest_rw);
}

static int phases(void)
{
	T_CHECK(run(false) == 0, "read-write disk");
	T_CHECK(run(true) == 0, "read-only disk");
	return T_PASS;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
