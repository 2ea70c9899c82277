/* SPDX-License-Identifier: MIT */
/*
 * blkfront-io.c - libpvio-blkfront against a scripted back-end (multi-queue 4, ring order 2,
 * 256 indirect segments, flush, discard): for each of four front-end configurations (1 or 4
 * queues, ring order 0 or 2, persistent or not, indirect or not) it opens the device, checks
 * the keys it negotiated in xenstore and the info, then writes and reads back random data at
 * sizes 512 B .. 1 MiB synchronously, runs 400 random reads and writes at queue depth 32,
 * flushes, discards (plain and secure), checks the argument errors, compares the whole disk
 * with its model and closes.  Every acknowledged write must be on the back-end's disk.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"
#include "tests/xs-helpers.h"

#define SLOTS	  32
#define SLOT_SIZE (FB_DISK_BYTES / SLOTS)

static uint8_t *model;

/* One front-end configuration. */
struct cfg {
	unsigned int queues, order; /* asked for */
	bool no_persistent;	    /* do not announce persistent grants */
	bool no_indirect;	    /* 11 segments only */
};

static const struct cfg cfgs[] = {
	{ 1, 0, false, false },
	{ 4, 2, true, false },
	{ 4, 0, false, true },
	{ 1, 2, true, true },
};

static uint64_t rnd(uint64_t n)
{
	return (uint64_t)random() % n;
}

static void fill(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)random();
}

/* The keys the front-end wrote for configuration c. */
static int check_keys(struct blkfront *bf, const struct cfg *c)
{
	struct xs_handle *h = xs_open(0);
	struct blkfront_info in;
	char path[512], *v;
	unsigned int len;

	blkfront_get_info(bf, &in);
	T_CHECK(h, "xs_open");
	T_CHECK(in.queues == c->queues && in.ring_order == c->order, "queues %u order %u",
		in.queues, in.ring_order);
	T_CHECK(in.ring_entries == 32u << c->order, "ring entries %u", in.ring_entries);
	T_CHECK(in.max_segments == (c->no_indirect ? 11u : 256u), "segments %u", in.max_segments);
	T_CHECK(in.persistent == !c->no_persistent, "persistent");
	T_CHECK(in.sectors == FB_DISK_BYTES / 512 && in.sector_size == 512 &&
		    in.physical_sector_size == 4096 && in.flush && in.discard &&
		    in.secure_discard && in.discard_granularity == 4096 && !in.readonly,
		"disk properties");
	snprintf(path, sizeof(path), "%s/protocol", fb_env.front);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v && !strcmp(v, "x86_64-abi"), "protocol");
	free(v);
	snprintf(path, sizeof(path), "%s/feature-persistent", fb_env.front);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v && atoi(v) == !c->no_persistent, "feature-persistent");
	free(v);
	snprintf(path, sizeof(path), "%s/ring-page-order", fb_env.front);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(c->order ? v && atoi(v) == (int)c->order : !v, "ring-page-order");
	free(v);
	snprintf(path, sizeof(path), "%s/multi-queue-num-queues", fb_env.front);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(c->queues > 1 ? v && atoi(v) == (int)c->queues : !v, "multi-queue-num-queues");
	free(v);
	snprintf(path, sizeof(path), "%s/%s%s", fb_env.front, c->queues > 1 ? "queue-3/" : "",
		 c->order ? "ring-ref3" : "ring-ref");
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v, "%s", path);
	free(v);
	snprintf(path, sizeof(path), "%s/%sevent-channel", fb_env.front,
		 c->queues > 1 ? "queue-3/" : "");
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(v, "%s", path);
	free(v);
	xs_close(h);
	return 0;
}

static int sync_io(struct blkfront *bf)
{
	static const size_t sizes[] = {
		512, 1024, 4096, 4608, 45056, 45568, 65536, 131072, 1 << 20
	};
	uint8_t *buf = malloc(1 << 20), *back = malloc(1 << 20);
	unsigned int i, round;

	T_CHECK(buf && back, "malloc");
	for (round = 0; round < 3; round++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t len = sizes[i];
			uint64_t off = rnd((FB_DISK_BYTES - len) / 512) * 512;
			int ret;

			fill(buf, len);
			ret = blkfront_write(bf, buf, off, len);
			T_CHECK(ret == 0, "write %zu at %llu: %d", len, (unsigned long long)off,
				ret);
			memcpy(model + off, buf, len);
			T_CHECK(!memcmp(fb_env.disk + off, buf, len), "acknowledged write on disk");
			memset(back, 0xee, len);
			T_CHECK(blkfront_read(bf, back, off, len) == 0, "read %zu", len);
			T_CHECK(!memcmp(back, buf, len), "read back %zu", len);
		}
	free(buf);
	free(back);
	return 0;
}

/* One slot of the asynchronous test. */
struct slot {
	uint8_t *buf; /* data */
	uint64_t off; /* where */
	size_t len;   /* how much */
	bool write;   /* which */
	bool busy;    /* submitted, not completed */
	int result;   /* completion result */
	bool bad;     /* a read did not match the model */
};

static void slot_done(void *arg, int result)
{
	struct slot *s = arg;

	s->busy = false;
	s->result = result;
	if (result == 0 && !s->write && memcmp(s->buf, model + s->off, s->len))
		s->bad = true;
}

static int async_io(struct blkfront *bf)
{
	static struct slot slots[SLOTS];
	unsigned int issued = 0, i, busy;
	int ret;

	for (i = 0; i < SLOTS; i++)
		T_CHECK((slots[i].buf = malloc(SLOT_SIZE)), "malloc");
	while (issued < 400) {
		for (i = 0; i < SLOTS && issued < 400; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			T_CHECK(s->result == 0 && !s->bad, "slot %u result %d", i, s->result);
			s->len = (rnd(SLOT_SIZE / 512) + 1) * 512;
			if (rnd(4) == 0)
				s->len = (rnd(8) + 1) * 512;
			s->off =
			    i * (uint64_t)SLOT_SIZE + rnd((SLOT_SIZE - s->len) / 512 + 1) * 512;
			s->write = rnd(2);
			if (s->write) {
				fill(s->buf, s->len);
				/* The model changes now: no read of this slot is in flight. */
				memcpy(model + s->off, s->buf, s->len);
			}
			s->busy = true;
			ret = blkfront_submit(bf, s->write ? BLKFRONT_WRITE : BLKFRONT_READ, s->buf,
					      s->off, s->len, slot_done, s);
			T_CHECK(ret == 0, "submit: %d", ret);
			issued++;
		}
		T_CHECK(blkfront_in_flight(bf) <= SLOTS, "in flight");
		T_CHECK(blkfront_poll(bf, 5000) > 0, "poll");
	}
	do {
		for (i = 0, busy = 0; i < SLOTS; i++)
			busy += slots[i].busy;
		if (busy)
			T_CHECK(blkfront_poll(bf, 5000) > 0, "poll (drain)");
	} while (busy);
	for (i = 0; i < SLOTS; i++) {
		T_CHECK(slots[i].result == 0 && !slots[i].bad, "slot %u", i);
		free(slots[i].buf);
	}
	return 0;
}

static int misc(struct blkfront *bf)
{
	uint8_t buf[4096];
	uint64_t off = 3 << 20;

	T_CHECK(blkfront_flush(bf) == 0, "flush");
	T_CHECK(blkfront_discard(bf, off, 1 << 20, false) == 0, "discard");
	memset(model + off, 0, 1 << 20);
	T_CHECK(blkfront_discard(bf, off + (2 << 20), 8192, true) == 0, "secure discard");
	memset(model + off + (2 << 20), 0, 8192);
	T_CHECK(blkfront_read(bf, buf, 7, 512) == -EINVAL, "unaligned offset");
	T_CHECK(blkfront_read(bf, buf, 0, 100) == -EINVAL, "unaligned length");
	T_CHECK(blkfront_read(bf, buf, 0, 0) == -EINVAL, "zero length");
	T_CHECK(blkfront_read(bf, buf, FB_DISK_BYTES - 512, 1024) == -EINVAL, "past the end");
	T_CHECK(blkfront_read(bf, buf, FB_DISK_BYTES, 512) == -EINVAL, "at the end");
	return 0;
}

static int verify_all(struct blkfront *bf)
{
	uint8_t *buf = malloc(1 << 20);
	uint64_t off;

	T_CHECK(buf, "malloc");
	for (off = 0; off < FB_DISK_BYTES; off += 1 << 20) {
		T_CHECK(blkfront_read(bf, buf, off, 1 << 20) == 0, "read %llu",
			(unsigned long long)off);
		T_CHECK(!memcmp(buf, model + off, 1 << 20), "disk differs at %llu MiB",
			(unsigned long long)off >> 20);
	}
	free(buf);
	return 0;
}

static int run_cfg(const struct cfg *c)
{
	struct blkfront_opts o = { .queues = c->queues,
				   .ring_order = c->order,
				   .no_persistent = c->no_persistent,
				   .no_indirect = c->no_indirect };
	struct blkfront_stats st;
	struct blkfront *bf;
	int ret = blkfront_open(&bf, &o);

	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	if (check_keys(bf, c) || sync_io(bf) || async_io(bf) || misc(bf) || verify_all(bf))
		return T_FAIL;
	blkfront_get_stats(bf, &st);
	T_CHECK(st.submitted == st.completed && st.errors == 0 && st.in_flight == 0 &&
		    st.reconnects == 0 && st.requests >= st.submitted,
		"stats %llu/%llu errors %llu", (unsigned long long)st.submitted,
		(unsigned long long)st.completed, (unsigned long long)st.errors);
	blkfront_close(bf);
	return 0;
}

static int front(void *arg)
{
	unsigned int i;

	(void)arg;
	model = calloc(1, FB_DISK_BYTES);
	T_CHECK(model, "calloc");
	srandom(42);
	for (i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		fprintf(stderr, "config %u: queues %u order %u%s%s\n", i, cfgs[i].queues,
			cfgs[i].order, cfgs[i].no_persistent ? " no-persistent" : "",
			cfgs[i].no_indirect ? " no-indirect" : "");
		if (run_cfg(&cfgs[i]))
			return T_FAIL;
	}
	return 0;
}

static int back(void *arg)
{
	struct fb_opts o = { .max_queues = 4,
			     .max_order = 2,
			     .max_indirect = 256,
			     .persistent = true,
			     .flush = true,
			     .discard = true };

	(void)arg;
	return fb_serve(&o) == 0 ? 0 : T_FAIL;
}

int main(void)
{
	if (fb_env_start(back, front, NULL))
		return T_FAIL;
	return fb_env_wait() ? T_FAIL : T_PASS;
}
