/* SPDX-License-Identifier: MIT */
/*
 * blkfront-reconnect.c - no acknowledged write is lost across a back-end restart, and a
 * removed device fails what is pending with -ENODEV.
 *
 * A first back-end process (4 queues, indirect, flush) stops answering after 300 requests
 * with requests outstanding, unmaps, switches Closed and exits.  A second process in the same
 * domain comes up with other features (1 queue, no indirect, barrier instead of flush).  The
 * front-end keeps 32 random writes and reads in flight throughout: it must reconnect, re-issue
 * in order, complete every operation with 0, report one reconnect, the new features, and then
 * the disk must hold every acknowledged write.  Then the back-end stalls with 8 writes on its
 * ring and the toolstack detaches the device (online=0): all 8 complete with -ENODEV, and so
 * does any later call.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define SLOTS	  32
#define SLOT_SIZE (FB_DISK_BYTES / SLOTS)
#define OPS	  1500

static uint8_t *model;

/* One slot: at most one operation in flight on its part of the disk. */
struct slot {
	uint8_t *buf; /* data */
	uint64_t off; /* where */
	size_t len;   /* how much */
	bool write;   /* which */
	bool busy;    /* in flight */
	int result;   /* last result */
	bool bad;     /* a read did not match */
};

static void slot_done(void *arg, int result)
{
	struct slot *s = arg;

	s->busy = false;
	s->result = result;
	if (result == 0 && s->write)
		memcpy(model + s->off, s->buf, s->len);
	else if (result == 0 && memcmp(s->buf, model + s->off, s->len))
		s->bad = true;
}

static int workload(struct blkfront *bf, struct slot *slots)
{
	unsigned int issued = 0, i, busy;

	do {
		for (i = 0; i < SLOTS && issued < OPS; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			T_CHECK(s->result == 0 && !s->bad, "slot %u: %d", i, s->result);
			s->len = ((uint64_t)random() % 256 + 1) * 512;
			s->off = i * (uint64_t)SLOT_SIZE +
				 (uint64_t)random() % ((SLOT_SIZE - s->len) / 512 + 1) * 512;
			s->write = random() % 3 != 0;
			memset(s->buf, (int)random(), s->len);
			s->busy = true;
			T_CHECK(blkfront_submit(bf, s->write ? BLKFRONT_WRITE : BLKFRONT_READ,
						s->buf, s->off, s->len, slot_done, s) == 0,
				"submit");
			issued++;
		}
		for (i = 0, busy = 0; i < SLOTS; i++)
			busy += slots[i].busy;
		if (busy)
			T_CHECK(blkfront_poll(bf, 15000) > 0, "poll: nothing within 15 s");
	} while (busy || issued < OPS);
	for (i = 0; i < SLOTS; i++)
		T_CHECK(slots[i].result == 0 && !slots[i].bad, "slot %u: %d", i, slots[i].result);
	return 0;
}

static int check_after(struct blkfront *bf)
{
	struct blkfront_stats st;
	struct blkfront_info in;
	uint8_t *buf = malloc(1 << 20);
	uint64_t off;

	blkfront_get_stats(bf, &st);
	blkfront_get_info(bf, &in);
	fprintf(stderr, "reconnects %llu reissued %llu requests %llu\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reissued,
		(unsigned long long)st.requests);
	T_CHECK(st.reconnects == 1 && st.reissued > 0, "one reconnect, requests re-issued");
	T_CHECK(st.errors == 0 && st.completed == st.submitted, "no errors");
	T_CHECK(in.queues == 1 && in.max_segments == 11 && !in.flush && in.barrier,
		"renegotiated: queues %u segs %u", in.queues, in.max_segments);
	T_CHECK(blkfront_flush(bf) == 0, "flush as a barrier");
	T_CHECK(!memcmp(fb_env.disk, model, FB_DISK_BYTES), "every acknowledged write on disk");
	T_CHECK(buf, "malloc");
	for (off = 0; off < FB_DISK_BYTES; off += 1 << 20) {
		T_CHECK(blkfront_read(bf, buf, off, 1 << 20) == 0, "read");
		T_CHECK(!memcmp(buf, model + off, 1 << 20), "read back at %llu MiB",
			(unsigned long long)off >> 20);
	}
	free(buf);
	return 0;
}

/* Results of the writes pending at removal. */
static int removed[8];

static void removed_done(void *arg, int result)
{
	*(int *)arg = result;
}

static int removal(struct blkfront *bf, struct slot *slots)
{
	unsigned int i;
	int ret;

	*fb_env.stall = 1;
	for (i = 0; i < 8; i++) {
		removed[i] = 1;
		T_CHECK(blkfront_submit(bf, BLKFRONT_WRITE, slots[i].buf, i * 4096, 4096,
					removed_done, &removed[i]) == 0,
			"submit");
	}
	ret = blkfront_poll(bf, 300);
	T_CHECK(ret == 0, "a stalled back-end answers nothing: %d (%d %d)", ret, removed[0],
		removed[7]);
	T_CHECK(fb_env_request_detach() == 0, "detach");
	for (i = 0; i < 200 && blkfront_in_flight(bf); i++)
		blkfront_poll(bf, 100);
	for (i = 0; i < 8; i++)
		T_CHECK(removed[i] == -ENODEV, "pending write %u: %d", i, removed[i]);
	ret = blkfront_poll(bf, 0);
	T_CHECK(ret == -ENODEV, "poll after removal: %d", ret);
	T_CHECK(blkfront_read(bf, slots[0].buf, 0, 512) == -ENODEV, "read after removal");
	return 0;
}

static int front(void *arg)
{
	static struct slot slots[SLOTS];
	struct blkfront_opts o = { .queues = 4, .ring_order = 1 };
	struct blkfront *bf;
	unsigned int i;
	int ret;

	(void)arg;
	srandom(7);
	model = calloc(1, FB_DISK_BYTES);
	T_CHECK(model, "calloc");
	for (i = 0; i < SLOTS; i++)
		T_CHECK((slots[i].buf = malloc(SLOT_SIZE)), "malloc");
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	if (workload(bf, slots) || check_after(bf) || removal(bf, slots))
		return T_FAIL;
	blkfront_close(bf);
	return 0;
}

int main(void)
{
	static const struct fb_opts backs[] = {
		{ .max_queues = 4,
		  .max_order = 2,
		  .max_indirect = 256,
		  .persistent = true,
		  .flush = true,
		  .misbehave = FB_CLOSE,
		  .after = 300 },
		{ .persistent = true, .barrier = true },
	};

	return fb_run(backs, 2, front) ? T_FAIL : T_PASS;
}
