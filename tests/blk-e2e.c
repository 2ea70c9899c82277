/* SPDX-License-Identifier: MIT */
/*
 * blk-e2e: a guest domain uses a disk served by pvio-blkback in a driver domain, through
 * libpvio-blkfront, over the matrix {persistent grants on, off} x {1, 4 queues} x {1, 4 ring
 * pages}: synchronous writes and reads of 512 B, 4 KiB, 44 KiB, 64 KiB and 1 MiB (indirect)
 * from an unaligned buffer, random asynchronous reads and writes at queue depth 32, a flush, a
 * discard that then reads zeros, and I/O past the end refused with -EINVAL.  Every sector is
 * tagged with a write generation, so each read checks it got the latest data.  A read-only
 * disk refuses writes (-EROFS from the library or -EIO from the back-end) and serves reads.
 * The daemon's statistics file agrees with what the guest did.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "frontend/blk/blkfront.h"
#include "hv/hv.h"
#include "tests/blk-env.h"

#define DISK_BYTES (32u << 20) /* xvda */
#define RO_BYTES   (1u << 20)  /* xvdb, read-only */
#define RO_TAGGED  64u	       /* sectors of xvdb the test writes before attaching it */
#define SECTORS	   (DISK_BYTES / BLK_SECTOR)
#define LANES	   32u	      /* async queue depth: one operation per 1 MiB lane */
#define LANE_BYTES (1u << 20) /* DISK_BYTES / LANES */
#define ASYNC_OPS  160u	      /* asynchronous operations per configuration */
#define MIB	   (1u << 20)

static const size_t sizes[] = { 512, 4096, 44 << 10, 64 << 10, 1 << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* One point of the matrix. */
struct config {
	bool no_persistent;	 /* the front does not announce feature-persistent */
	unsigned int queues;	 /* rings asked for */
	unsigned int ring_order; /* log2 of the pages per ring asked for */
};

/* What the guest asks the test to check in the daemon's statistics. */
struct stats_msg {
	uint32_t devid;	     /* the device */
	uint32_t readonly;   /* a read-only disk: every write was refused */
	uint64_t total;	     /* blkif requests the front put on rings since the first open */
	uint64_t last;	     /* the same for the current connection */
	uint32_t queues;     /* rings negotiated */
	uint32_t order;	     /* ring-page-order negotiated */
	uint32_t persistent; /* persistent grants negotiated */
};

/* An asynchronous operation in its lane. */
struct aop {
	bool busy;	 /* submitted, not yet reaped */
	bool done;	 /* the callback ran */
	bool write;	 /* a write (else a read) */
	int result;	 /* the completion's result */
	uint64_t sector; /* first sector */
	uint32_t nsect;	 /* sectors */
	uint32_t gen;	 /* the generation written */
	uint8_t *buf;	 /* LANE_BYTES of data */
};

/* The guest's state (one process). */
struct guest {
	struct t_link *link;	 /* to the test: a = guest */
	uint32_t *shadow;	 /* latest generation written to each sector of xvda */
	uint32_t gen;		 /* last generation handed out */
	uint64_t rng;		 /* PRNG state */
	uint8_t *buf;		 /* 1 MiB + 1 for synchronous I/O (used at offset 1) */
	uint8_t *rbuf;		 /* 1 MiB + 1 for reading back */
	struct aop ops[LANES];	 /* asynchronous operations, one per lane */
	uint64_t total_requests; /* blkif requests of closed connections */
};

static struct t_link link_;

/* Fill nsect sectors at buf with tags of a fresh generation; the generation. */
static uint32_t tag_range(struct guest *g, uint8_t *buf, uint64_t sector, uint32_t nsect)
{
	uint32_t gen = ++g->gen;

	for (uint32_t i = 0; i < nsect; i++)
		blk_tag_fill(buf + (size_t)i * BLK_SECTOR, sector + i, gen);
	return gen;
}

/* Check nsect sectors read into buf against the shadow. */
static int verify_range(struct guest *g, const uint8_t *buf, uint64_t sector, uint32_t nsect)
{
	for (uint32_t i = 0; i < nsect; i++) {
		uint32_t got;
		int rc = blk_tag_check(buf + (size_t)i * BLK_SECTOR, sector + i, &got);

		T_CHECK(rc == 0, "sector %llu: %s", (unsigned long long)(sector + i),
			rc == -ENXIO ? "another sector's data" : "torn or corrupt");
		T_CHECK(got == g->shadow[sector + i], "sector %llu: generation %u, want %u (%s)",
			(unsigned long long)(sector + i), got, g->shadow[sector + i],
			got < g->shadow[sector + i] ? "stale" : "from the future");
	}
	return 0;
}

static void shadow_set(struct guest *g, uint64_t sector, uint32_t nsect, uint32_t gen)
{
	for (uint32_t i = 0; i < nsect; i++)
		g->shadow[sector + i] = gen;
}

/* Write then read back each size at a random place, from and into unaligned buffers. */
static int sync_io(struct guest *g, struct blkfront *bf)
{
	for (unsigned int i = 0; i < NSIZES; i++) {
		uint32_t nsect = (uint32_t)(sizes[i] / BLK_SECTOR);
		uint64_t sector = blk_rand(&g->rng) % (SECTORS - nsect + 1);
		uint32_t gen = tag_range(g, g->buf + 1, sector, nsect);
		int rc;

		rc = blkfront_write(bf, g->buf + 1, sector * BLK_SECTOR, sizes[i]);
		T_CHECK(rc == 0, "sync write of %zu bytes: %d", sizes[i], rc);
		shadow_set(g, sector, nsect, gen);
		memset(g->rbuf, 0xa5, sizes[i] + 1);
		rc = blkfront_read(bf, g->rbuf + 1, sector * BLK_SECTOR, sizes[i]);
		T_CHECK(rc == 0, "sync read of %zu bytes: %d", sizes[i], rc);
		T_CHECK(g->rbuf[0] == 0xa5, "read wrote before the buffer");
		T_CHECK(verify_range(g, g->rbuf + 1, sector, nsect) == 0, "sync read-back");
	}
	return 0;
}

/*
 * The same through memory granted to the back-end (blkfront_buf_alloc): page-aligned buffers go
 * without a copy, at a region's start and a page into it; a buffer 512 bytes in is copied.
 */
static int granted_io(struct guest *g, struct blkfront *bf)
{
	static const size_t starts[] = { 0, HV_PAGE_SIZE, BLK_SECTOR };
	void *wv = NULL, *rv = NULL;
	int ret = blkfront_buf_alloc(bf, MIB + HV_PAGE_SIZE, &wv);

	if (ret == 0)
		ret = blkfront_buf_alloc(bf, MIB + HV_PAGE_SIZE, &rv);
	T_CHECK(ret == 0, "blkfront_buf_alloc: %s", strerror(-ret));
	uint8_t *w = wv, *r = rv;

	T_CHECK(((uintptr_t)w & (HV_PAGE_SIZE - 1)) == 0, "granted memory is page-aligned");
	for (unsigned int i = 0; i < NSIZES; i++) {
		uint32_t nsect = (uint32_t)(sizes[i] / BLK_SECTOR);
		uint64_t sector = blk_rand(&g->rng) % (SECTORS - nsect + 1);
		size_t at = starts[i % 3];
		uint32_t gen = tag_range(g, w + at, sector, nsect);

		T_CHECK(blkfront_write(bf, w + at, sector * BLK_SECTOR, sizes[i]) == 0,
			"granted write of %zu bytes at +%zu", sizes[i], at);
		shadow_set(g, sector, nsect, gen);
		memset(r, 0, MIB + HV_PAGE_SIZE);
		T_CHECK(blkfront_read(bf, r + at, sector * BLK_SECTOR, sizes[i]) == 0,
			"granted read of %zu bytes at +%zu", sizes[i], at);
		T_CHECK(verify_range(g, r + at, sector, nsect) == 0, "granted read-back");
	}
	blkfront_buf_free(bf, w);
	blkfront_buf_free(bf, r);
	return 0;
}

static void aop_done(void *arg, int result)
{
	struct aop *op = arg;

	op->done = true;
	op->result = result;
}

/* Start a random read or write in a free lane. */
static int aop_start(struct guest *g, struct blkfront *bf, unsigned int lane)
{
	struct aop *op = &g->ops[lane];
	size_t len = sizes[blk_rand(&g->rng) % NSIZES];
	uint32_t lane_sect = LANE_BYTES / BLK_SECTOR;
	int rc;

	op->nsect = (uint32_t)(len / BLK_SECTOR);
	op->sector = (uint64_t)lane * lane_sect + blk_rand(&g->rng) % (lane_sect - op->nsect + 1);
	op->write = blk_rand(&g->rng) & 1;
	op->done = false;
	if (op->write)
		op->gen = tag_range(g, op->buf, op->sector, op->nsect);
	else
		memset(op->buf, 0xa5, len);
	rc = blkfront_submit(bf, op->write ? BLKFRONT_WRITE : BLKFRONT_READ, op->buf,
			     op->sector * BLK_SECTOR, len, aop_done, op);
	if (rc == -EAGAIN)
		return 0;
	T_CHECK(rc == 0, "submit: %d", rc);
	op->busy = true;
	return 0;
}

/* Reap a completed operation: check it, update the shadow. */
static int aop_reap(struct guest *g, struct aop *op)
{
	op->busy = false;
	T_CHECK(op->result == 0, "async %s of %u sectors at %llu: %d", op->write ? "write" : "read",
		op->nsect, (unsigned long long)op->sector, op->result);
	if (op->write)
		shadow_set(g, op->sector, op->nsect, op->gen);
	else
		T_CHECK(verify_range(g, op->buf, op->sector, op->nsect) == 0, "async read");
	return 0;
}

/* ASYNC_OPS random operations, LANES in flight, none overlapping another in flight. */
static int async_io(struct guest *g, struct blkfront *bf)
{
	unsigned int started = 0, reaped = 0, idle = 0;

	while (reaped < ASYNC_OPS) {
		for (unsigned int l = 0; l < LANES && started < ASYNC_OPS; l++) {
			if (g->ops[l].busy)
				continue;
			T_CHECK(aop_start(g, bf, l) == 0, "async start");
			started += g->ops[l].busy;
		}
		int n = blkfront_poll(bf, 5000);

		T_CHECK(n >= 0, "poll: %d", n);
		for (unsigned int l = 0; l < LANES; l++) {
			if (!g->ops[l].busy || !g->ops[l].done)
				continue;
			T_CHECK(aop_reap(g, &g->ops[l]) == 0, "async reap");
			reaped++;
		}
		idle = n > 0 ? 0 : idle + 1;
		T_CHECK(idle < 4, "no completion in 20 s, %u in flight", blkfront_in_flight(bf));
	}
	T_CHECK(blkfront_in_flight(bf) == 0, "in flight after the last completion");
	return 0;
}

/* Discard an aligned MiB, then it reads as zeros. */
static int discard(struct guest *g, struct blkfront *bf, const struct blkfront_info *info)
{
	uint64_t off = (blk_rand(&g->rng) % (DISK_BYTES / MIB)) * MIB;
	uint32_t nsect = MIB / BLK_SECTOR;
	int rc;

	T_CHECK(info->discard, "the back-end offers no discard on a file");
	T_CHECK(info->discard_granularity <= MIB, "discard granularity %u",
		info->discard_granularity);
	rc = blkfront_discard(bf, off, MIB, false);
	T_CHECK(rc == 0, "discard: %d", rc);
	shadow_set(g, off / BLK_SECTOR, nsect, 0);
	memset(g->rbuf, 0xa5, MIB);
	T_CHECK(blkfront_read(bf, g->rbuf, off, MIB) == 0, "read after discard");
	T_CHECK(verify_range(g, g->rbuf, off / BLK_SECTOR, nsect) == 0, "discarded range");
	return 0;
}

/* Out-of-range and misaligned I/O is refused before it reaches a ring. */
static int refused(struct guest *g, struct blkfront *bf, const struct blkfront_info *info)
{
	uint64_t end = info->sectors * BLK_SECTOR;

	T_CHECK(blkfront_read(bf, g->rbuf, end - BLK_SECTOR, 2 * BLK_SECTOR) == -EINVAL,
		"read across the end");
	T_CHECK(blkfront_write(bf, g->buf, end, BLK_SECTOR) == -EINVAL, "write at the end");
	T_CHECK(blkfront_read(bf, g->rbuf, UINT64_MAX - 511, BLK_SECTOR) == -EINVAL,
		"read at an offset that overflows");
	T_CHECK(blkfront_discard(bf, end - BLK_SECTOR, MIB, false) == -EINVAL,
		"discard across the end");
	T_CHECK(blkfront_read(bf, g->rbuf, 100, BLK_SECTOR) == -EINVAL, "misaligned offset");
	T_CHECK(blkfront_write(bf, g->buf, 0, 100) == -EINVAL, "misaligned length");
	T_CHECK(blkfront_read(bf, g->rbuf, 0, 0) == -EINVAL, "zero length");
	return 0;
}

static int check_info(const struct config *c, const struct blkfront_info *info)
{
	T_CHECK(info->sectors == SECTORS, "sectors %llu", (unsigned long long)info->sectors);
	T_CHECK(info->sector_size == 512, "sector size %u", info->sector_size);
	T_CHECK(!info->readonly, "read-write disk reads as read-only");
	T_CHECK(info->queues == c->queues, "queues %u, want %u", info->queues, c->queues);
	T_CHECK(info->ring_order == c->ring_order, "ring order %u, want %u", info->ring_order,
		c->ring_order);
	T_CHECK(info->persistent == !c->no_persistent, "persistent %d", info->persistent);
	T_CHECK(info->max_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST, "no indirect: %u segments",
		info->max_segments);
	T_CHECK(info->devid == BLK_XVDA, "devid %u", info->devid);
	return 0;
}

/* Ask the test to check the daemon's statistics of devid while it is still connected. */
static int report(struct guest *g, struct blkfront *bf, unsigned int devid, bool readonly)
{
	struct blkfront_stats st;
	struct blkfront_info info;
	struct stats_msg m = { .devid = devid, .readonly = readonly };
	char c;

	blkfront_get_info(bf, &info);
	m.queues = info.queues;
	m.order = info.ring_order;
	m.persistent = info.persistent;
	blkfront_get_stats(bf, &st);
	m.last = st.requests;
	m.total = g->total_requests + st.requests;
	/* A slow clock (PVIO_CLOCK_SLOW=1): the front's waits do not spin either. */
	if (getenv("PVIO_CLOCK_SLOW") && !strcmp(getenv("PVIO_CLOCK_SLOW"), "1"))
		T_CHECK(st.poll_hits == 0 && st.poll_misses == 0,
			"a slow clock, yet the front's waits spun: %llu hits, %llu misses",
			(unsigned long long)st.poll_hits, (unsigned long long)st.poll_misses);
	T_CHECK(t_put(g->link->ab[1], &m, sizeof(m)) == 0, "send stats");
	T_CHECK(t_get(g->link->ba[0], &c, 1) == 0 && c == 'k', "the daemon's stats disagree");
	return 0;
}

static int run_config(struct guest *g, const struct config *c, bool last)
{
	struct blkfront_opts o = { .devid = BLK_XVDA,
				   .queues = c->queues,
				   .ring_order = c->ring_order,
				   .no_persistent = c->no_persistent,
				   .queue_depth = LANES };
	struct blkfront_info info;
	struct blkfront_stats st;
	struct blkfront *bf;
	int rc;

	blk_env_note("config persistent=%d queues=%u order=%u", !c->no_persistent, c->queues,
		     c->ring_order);
	rc = blkfront_open(&bf, &o);
	T_CHECK(rc == 0, "blkfront_open: %d", rc);
	blk_env_note("open");
	blkfront_get_info(bf, &info);
	T_CHECK(check_info(c, &info) == 0, "negotiated");
	T_CHECK(sync_io(g, bf) == 0, "synchronous I/O");
	T_CHECK(granted_io(g, bf) == 0, "I/O on granted memory");
	blk_env_note("sync done");
	T_CHECK(async_io(g, bf) == 0, "asynchronous I/O");
	blk_env_note("async done");
	T_CHECK(blkfront_flush(bf) == 0, "flush");
	T_CHECK(discard(g, bf, &info) == 0, "discard");
	T_CHECK(refused(g, bf, &info) == 0, "refused I/O");
	T_CHECK(sync_io(g, bf) == 0, "synchronous I/O after the errors");
	blkfront_get_stats(bf, &st);
	T_CHECK(st.errors == 0 && st.reconnects == 0, "front stats: %llu errors, %llu reconnects",
		(unsigned long long)st.errors, (unsigned long long)st.reconnects);
	if (last) {
		for (uint64_t off = 0; off < DISK_BYTES; off += MIB) {
			T_CHECK(blkfront_read(bf, g->rbuf, off, MIB) == 0, "final read");
			T_CHECK(verify_range(g, g->rbuf, off / BLK_SECTOR, MIB / BLK_SECTOR) == 0,
				"final verify");
		}
		blk_env_note("final verify done");
		T_CHECK(report(g, bf, BLK_XVDA, false) == 0, "stats of xvda");
	}
	blkfront_get_stats(bf, &st);
	g->total_requests += st.requests;
	blkfront_close(bf);
	blk_env_note("closed");
	return 0;
}

/* The read-only disk: reads see what the test wrote, writes fail. */
static int readonly_disk(struct guest *g)
{
	struct blkfront_opts o = { .devid = BLK_XVDB };
	struct blkfront_info info;
	struct blkfront *bf;
	int rc;

	T_CHECK(blkfront_open(&bf, &o) == 0, "blkfront_open of xvdb");
	blkfront_get_info(bf, &info);
	T_CHECK(info.readonly, "mode=r disk is not read-only to the front");
	T_CHECK(blkfront_read(bf, g->rbuf, 0, RO_TAGGED * BLK_SECTOR) == 0, "read xvdb");
	for (uint32_t s = 0; s < RO_TAGGED; s++) {
		uint32_t gen;

		T_CHECK(blk_tag_check(g->rbuf + s * BLK_SECTOR, s, &gen) == 0 && gen == 1,
			"xvdb sector %u", s);
	}
	tag_range(g, g->buf, 0, 8);
	rc = blkfront_write(bf, g->buf, 0, 8 * BLK_SECTOR);
	T_CHECK(rc == -EROFS || rc == -EIO, "write to a read-only disk: %d", rc);
	rc = blkfront_discard(bf, 0, 4096, false);
	T_CHECK(rc == -EROFS || rc == -EIO || rc == -EOPNOTSUPP, "discard read-only: %d", rc);
	T_CHECK(blkfront_read(bf, g->rbuf, 0, BLK_SECTOR) == 0, "read after the refused write");
	T_CHECK(blk_tag_check(g->rbuf, 0, &(uint32_t){ 0 }) == 0, "sector 0 intact");
	T_CHECK(report(g, bf, BLK_XVDB, true) == 0, "stats of xvdb");
	blk_env_note("xvdb checked");
	blkfront_close(bf);
	return 0;
}

static int guest(void *arg)
{
	static const struct config matrix[] = {
		{ false, 1, 0 }, { false, 1, 2 }, { false, 4, 0 }, { false, 4, 2 },
		{ true, 1, 0 },	 { true, 1, 2 },  { true, 4, 0 },  { true, 4, 2 },
	};
	const unsigned int n = sizeof(matrix) / sizeof(matrix[0]);
	struct guest g = { .link = arg, .rng = 0x5eed };

	g.shadow = calloc(SECTORS, sizeof(*g.shadow));
	g.buf = malloc(MIB + 1);
	g.rbuf = malloc(MIB + 1);
	T_CHECK(g.shadow && g.buf && g.rbuf, "malloc");
	for (unsigned int l = 0; l < LANES; l++) {
		g.ops[l].buf = malloc(LANE_BYTES);
		T_CHECK(g.ops[l].buf, "malloc");
	}
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(run_config(&g, &matrix[i], i == n - 1) == 0,
			"config persistent=%d queues=%u ring-order=%u", !matrix[i].no_persistent,
			matrix[i].queues, matrix[i].ring_order);
	T_CHECK(readonly_disk(&g) == 0, "read-only disk");
	return 0;
}

/* Counters of devid; the sum of the per-operation ones in *ops. */
static int read_stats(struct blk_env *env, unsigned int devid, uint64_t v[5], uint64_t *ops)
{
	static const char *const keys[] = { "reads", "writes", "flushes", "discards", "errors" };
	uint64_t barriers;

	for (int i = 0; i < 5; i++)
		if (blk_env_stat(env, devid, keys[i], &v[i]) < 0)
			return -ENOENT;
	if (blk_env_stat(env, devid, "barriers", &barriers) < 0)
		return -ENOENT;
	*ops = v[0] + v[1] + v[2] + v[3] + barriers;
	return 0;
}

/* The stats file says what the front negotiated: a key missing is a failure. */
static int check_negotiated(struct blk_env *env, const struct stats_msg *m)
{
	static const char *const keys[] = { "queues", "ring-order", "persistent" };
	const uint32_t want[] = { m->queues, m->order, m->persistent };

	for (int i = 0; i < 3; i++) {
		uint64_t v;
		int rc = blk_env_stat(env, m->devid, keys[i], &v);

		T_CHECK(rc == 0, "stats file: %s: %s", keys[i], strerror(-rc));
		T_CHECK(v == want[i], "stats file: %s %llu, the front negotiated %u", keys[i],
			(unsigned long long)v, want[i]);
	}
	return 0;
}

/*
 * The I/O went through bounce buffers exactly when the daemon was told to (--bounce, from
 * tests/blk-bounce.sh) and the disk is O_DIRECT (a buffered one is never bounced: tmpfs before
 * Linux 6.6 takes no O_DIRECT): a bounce mode that silently went direct, or the other way
 * round, fails.
 */
static int check_bounced(struct blk_env *env, unsigned int devid)
{
	bool want = getenv("PVIO_TEST_BLKBACK_BOUNCE") != NULL;
	char io[32];
	uint64_t n;
	int rc = blk_env_stat_str(env, devid, "disk-io", io, sizeof(io));

	T_CHECK(rc == 0, "stats file: disk-io: %s", strerror(-rc));
	T_CHECK(!strcmp(io, "direct") || !strcmp(io, "buffered"), "stats file: disk-io %s", io);
	if (strcmp(io, "direct"))
		want = false;
	rc = blk_env_stat(env, devid, "bounced", &n);
	T_CHECK(rc == 0, "stats file: bounced: %s", strerror(-rc));
	T_CHECK(want ? n > 0 : n == 0, "%llu requests bounced, with --bounce %s",
		(unsigned long long)n, want ? "on" : "off");
	return 0;
}

/*
 * Where the clock is slow (PVIO_CLOCK_SLOW=1, from tests/blk-poll-off.sh) the daemon's rings do
 * not spin by default: no poll hit or miss, every wait a sleep.
 */
static int check_unpolled(struct blk_env *env, unsigned int devid)
{
	const char *slow = getenv("PVIO_CLOCK_SLOW");
	uint64_t hits = 0, misses = 0;

	if (!slow || strcmp(slow, "1") || getenv("PVIO_TEST_BLKBACK_POLL_US"))
		return 0;
	T_CHECK(blk_env_stat(env, devid, "poll-hits", &hits) == 0 &&
		    blk_env_stat(env, devid, "poll-misses", &misses) == 0,
		"stats file: poll counters");
	T_CHECK(hits == 0 && misses == 0, "a slow clock, yet %llu poll hits and %llu misses",
		(unsigned long long)hits, (unsigned long long)misses);
	return 0;
}

/* The daemon's counters match the front's: per connection or since the device appeared. */
static int check_stats(struct blk_env *env, const struct stats_msg *m)
{
	uint64_t v[5] = { 0 }, ops = 0;

	for (int waited = 0; waited <= 3000; waited += 20) {
		if (read_stats(env, m->devid, v, &ops) == 0 && (ops == m->last || ops == m->total))
			break;
		t_msleep(20);
	}
	if (ops != m->last && ops != m->total) {
		blk_env_stat_dump(env, m->devid);
		T_CHECK(false, "device %u: the daemon counts %llu requests, the front %llu (%llu)",
			m->devid, (unsigned long long)ops, (unsigned long long)m->last,
			(unsigned long long)m->total);
	}
	T_CHECK(v[0] > 0, "no reads counted");
	T_CHECK(check_negotiated(env, m) == 0, "negotiation in the stats file");
	T_CHECK(check_bounced(env, m->devid) == 0, "bounce buffers");
	T_CHECK(check_unpolled(env, m->devid) == 0, "polling with a slow clock");
	if (m->readonly)
		T_CHECK(v[4] == v[1], "read-only: %llu writes, %llu errors",
			(unsigned long long)v[1], (unsigned long long)v[4]);
	else
		T_CHECK(v[1] > 0 && v[2] > 0 && v[3] > 0 && v[4] == 0,
			"writes %llu flushes %llu discards %llu errors %llu",
			(unsigned long long)v[1], (unsigned long long)v[2],
			(unsigned long long)v[3], (unsigned long long)v[4]);
	return 0;
}

/* The read-only disk's content: RO_TAGGED sectors of generation 1. */
static int ro_disk(struct blk_env *env, char *path, size_t len)
{
	uint8_t sector[BLK_SECTOR];
	FILE *f;

	T_CHECK(blk_env_disk(env, "ro", RO_BYTES, path, len) == 0, "ro disk");
	f = fopen(path, "r+");
	T_CHECK(f, "open %s", path);
	for (uint32_t s = 0; s < RO_TAGGED; s++) {
		blk_tag_fill(sector, s, 1);
		T_CHECK(fwrite(sector, sizeof(sector), 1, f) == 1, "write ro disk");
	}
	T_CHECK(fclose(f) == 0, "close ro disk");
	return 0;
}

static int serve_guest(struct blk_env *env, pid_t pid)
{
	struct stats_msg m;
	int rc;

	/*
	 * The guest reports after every configuration has run, which takes longer than t_get's
	 * 20 s under a sanitizer on a loaded machine: wait for it as long as the test may run.
	 * Its exit closes the pipe and ends the loop.
	 */
	while (t_readable(link_.ab[0], BLK_ENV_ALARM_S * 1000) &&
	       t_get(link_.ab[0], &m, sizeof(m)) == 0) {
		rc = check_stats(env, &m);
		T_CHECK(t_put(link_.ba[1], rc == 0 ? "k" : "f", 1) == 0, "reply");
	}
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	blk_env_note("guest exited");
	return 0;
}

int main(void)
{
	static const char *const opts[] = { "--max-queues", "4", "--max-ring-order", "2", NULL };
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char path[PATH_MAX], ro[PATH_MAX];
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&link_) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(ro_disk(&env, ro, sizeof(ro)) == 0, "read-only disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_attach(&env, BLK_XVDB, ro, true) == 0, "attach xvdb");
	T_CHECK(blk_env_daemon_start(&env, opts) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, guest, &link_, &pid) == 0, "fork the guest");
	close(link_.ab[1]);
	close(link_.ba[0]);
	T_CHECK(serve_guest(&env, pid) == 0, "guest");
	return blk_env_stop(&env);
}
