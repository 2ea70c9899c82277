/* SPDX-License-Identifier: MIT */
/*
 * blk-discard: BLKIF_OP_DISCARD on a file-backed disk punches a hole: the range reads back as
 * zeros, the sectors around it keep their data and the file's blocks are freed.  A discard
 * past the end (or whose range overflows) gets BLKIF_RSP_ERROR, a secure discard on a file
 * EOPNOTSUPP, an empty one OKAY, and on a read-only disk a discard gets BLKIF_RSP_ERROR.
 * Where the file system under /tmp cannot punch holes, everything but the hole is checked and
 * the test then skips.
 * All of it on a buffered image, then on an O_DIRECT one (t_blk_each_image).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/blk-test.h"

#define NDATA	11   /* data pages */
#define SECTORS 8192 /* 4 MiB disk */
#define HOLE	2048 /* the hole's first sector ... */
#define HOLE_N	2048 /* ... and length: 1 MiB */

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
	bool readonly;	    /* this run's disk */
} ctx;

/* What the back-end reports at the end. */
struct report {
	struct blkback_stats st; /* its counters */
	int64_t blocks_before;	 /* st_blocks of the file before serving */
	int64_t blocks_after;	 /* and after */
};

static struct {
	struct t_blk_front f;
	uint8_t *data;
	grant_ref_t refs[NDATA];
	uint64_t next_id;
	bool no_punch; /* the first discard got EOPNOTSUPP: no hole punching under /tmp */
} g;

static uint64_t discard(uint64_t sector, uint64_t n, uint8_t flag)
{
	struct blkif_request_discard *d = (void *)t_blk_front_slot(&g.f);

	d->operation = BLKIF_OP_DISCARD;
	d->flag = flag;
	d->id = g.next_id++;
	d->sector_number = sector;
	d->nr_sectors = n;
	return d->id;
}

static int run1(uint64_t id, int16_t want)
{
	struct blkif_response rsp;

	T_CHECK(t_blk_front_run(&g.f, &rsp, 1) == 0, "run");
	T_CHECK(rsp.id == id && rsp.status == want, "request %llu: status %d, want %d",
		(unsigned long long)id, rsp.status, want);
	return 0;
}

/* Read 8 * NDATA sectors from sector into the data pages and check them; 0 or 1. */
static int read_check(uint64_t sector)
{
	uint8_t seg[NDATA][3];

	for (unsigned int i = 0; i < NDATA; i++) {
		seg[i][0] = (uint8_t)i;
		seg[i][1] = 0;
		seg[i][2] = 7;
	}
	memset(g.data, 0xee, NDATA * HV_PAGE_SIZE);
	t_blk_req(t_blk_front_slot(&g.f), BLKIF_OP_READ, g.next_id++, sector, NDATA, g.refs,
		  (const uint8_t(*)[3])seg);
	T_CHECK(run1(g.next_id - 1, BLKIF_RSP_OKAY) == 0, "read %llu", (unsigned long long)sector);
	for (uint64_t s = 0; s < NDATA * 8u; s++) {
		bool hole = !ctx.readonly && !g.no_punch && sector + s >= HOLE &&
			    sector + s < HOLE + HOLE_N;

		for (unsigned int o = 0; o < 512; o++)
			T_CHECK(g.data[s * 512 + o] == (hole ? 0 : t_blk_pattern(sector + s, o)),
				"sector %llu byte %u", (unsigned long long)(sector + s), o);
	}
	return 0;
}

static int guest_rw(void)
{
	struct blkif_response rsp;
	uint64_t id = discard(HOLE, HOLE_N, 0);

	T_CHECK(t_blk_front_run(&g.f, &rsp, 1) == 0 && rsp.id == id, "discard");
	/* Without hole punching only the hole is not checked: the bounds checks still run. */
	g.no_punch = rsp.status == BLKIF_RSP_EOPNOTSUPP;
	T_CHECK(g.no_punch || (rsp.status == BLKIF_RSP_OKAY && rsp.operation == BLKIF_OP_DISCARD),
		"discard: %d", rsp.status);
	T_CHECK(read_check(HOLE - 4) == 0, "the hole's start");
	T_CHECK(read_check(HOLE + HOLE_N - 84) == 0, "the hole's end");
	T_CHECK(read_check(HOLE + 700) == 0, "the hole's middle");
	T_CHECK(run1(discard(SECTORS - 2, 4, 0), BLKIF_RSP_ERROR) == 0, "past the end");
	T_CHECK(run1(discard(UINT64_MAX - 1, 4, 0), BLKIF_RSP_ERROR) == 0, "overflow");
	T_CHECK(run1(discard(0, SECTORS + 1, 0), BLKIF_RSP_ERROR) == 0, "longer than the disk");
	T_CHECK(run1(discard(0, 8, BLKIF_DISCARD_SECURE), BLKIF_RSP_EOPNOTSUPP) == 0, "secure");
	T_CHECK(run1(discard(SECTORS, 0, 0), BLKIF_RSP_OKAY) == 0, "empty");
	T_CHECK(read_check(0) == 0, "secure discard left the data");
	return 0;
}

static int check_report(const struct report *rep)
{
	const struct blkback_stats *st = &rep->st;

	if (ctx.readonly) {
		T_CHECK(st->discards == 1 && st->errors == 1 && st->bytes_discarded == 0,
			"ro stats");
		T_CHECK(rep->blocks_after == rep->blocks_before, "ro blocks");
		return 0;
	}
	T_CHECK(st->discards == 6 && st->errors == 3 && st->unsupported == 1u + g.no_punch,
		"stats");
	T_CHECK(st->bytes_discarded == (g.no_punch ? 0 : HOLE_N * 512ull), "bytes discarded %llu",
		(unsigned long long)st->bytes_discarded);
	if (g.no_punch)
		return 0;
	T_CHECK(rep->blocks_before - rep->blocks_after >= HOLE_N, "blocks %lld -> %lld",
		(long long)rep->blocks_before, (long long)rep->blocks_after);
	return 0;
}

static int guest(void *arg)
{
	struct report rep;

	(void)arg;
	T_CHECK(t_blk_front_open(&g.f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(g.f.hv, ctx.back, NDATA, true, (void **)&g.data, g.refs) == 0,
		"data pages");
	if (ctx.readonly) {
		T_CHECK(run1(discard(0, 8, 0), BLKIF_RSP_ERROR) == 0, "read-only discard");
		T_CHECK(read_check(0) == 0, "read-only read");
	} else {
		T_CHECK(guest_rw() == 0, "read-write phase");
	}
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &rep, sizeof(rep)) == 0, "report");
	T_CHECK(check_report(&rep) == 0, "report");
	T_CHECK(hv_grant_end(g.f.hv, g.data, NDATA) == 0, "data pages still mapped");
	T_CHECK(t_blk_front_close(&g.f) == 0, "close");
	return g.no_punch ? T_SKIP : 0;
}

static int back(void *arg)
{
	struct blkback_ring_params p = { 0 };
	struct blkback_disk disk;
	struct blkback_ring *r;
	struct report rep;
	struct stat st;
	struct hv *hv;
	char path[32];

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_blk_disk_make(path, SECTORS * 512ull) == 0, "disk file");
	T_CHECK(t_blk_disk_open(&disk, path, ctx.readonly) == 0, "disk");
	unlink(path);
	T_CHECK(disk.discard && !disk.secure_discard && disk.discard_granularity >= 512,
		"a file's discard");
	T_CHECK(fstat(disk.fd, &st) == 0, "fstat");
	rep.blocks_before = st.st_blocks;
	p.disk = &disk;
	p.name = "blk-discard";
	p.log = pvio_log_stderr(PVIO_LOG_ERROR); /* the guest's mistakes are expected here */
	T_CHECK(t_blk_back_attach(hv, ctx.link.ab[0], &p, &r) == 0, "attach");
	T_CHECK(t_blk_serve(hv, r, ctx.link.ab[0]) == 0, "serve");
	blkback_ring_stats(r, &rep.st);
	t_blk_back_close(hv, r, p.port);
	T_CHECK(fsync(disk.fd) == 0 && fstat(disk.fd, &st) == 0, "fstat");
	rep.blocks_after = st.st_blocks;
	blkback_disk_close(&disk);
	T_CHECK(t_put(ctx.link.ba[1], &rep, sizeof(rep)) == 0, "send report");
	return 0;
}

static int run(bool readonly)
{
	ctx.readonly = readonly;
	return t_blk_pair(&ctx.link, &ctx.back, back, guest);
}

static int phases(void)
{
	int rc;

	rc = run(false);
	T_CHECK(rc == 0 || rc == T_SKIP, "read-write disk");
	T_CHECK(run(true) == 0, "read-only disk");
	if (rc == T_SKIP)
		printf("SKIP: /tmp cannot punch holes: all but the hole's contents checked\n");
	return rc;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
