/* SPDX-License-Identifier: MIT */
/* blk-stream.c - see blk-stream.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/blk-stream.h"

#define SECTORS (BLK_STREAM_DISK_BYTES / BLK_SECTOR)
#define MIB	(1u << 20)

static void op_done(void *arg, int result)
{
	struct blk_stream_op *w = arg;

	w->done = true;
	w->result = result;
}

/* Start a write in slot w at a random place no write in flight overlaps. */
static int op_start(struct blk_stream *s, struct blk_stream_op *w)
{
	uint32_t nsect = 1 + (uint32_t)(blk_rand(&s->rng) % BLK_STREAM_MAX_SECT);
	uint64_t sector = blk_rand(&s->rng) % (SECTORS - nsect + 1);
	int rc;

	for (uint32_t i = 0; i < nsect; i++)
		if (s->busy[sector + i])
			return 0; /* try another place next round */
	w->sector = sector;
	w->nsect = nsect;
	w->gen = ++s->gen;
	w->done = false;
	for (uint32_t i = 0; i < nsect; i++)
		blk_tag_fill(w->buf + i * BLK_SECTOR, sector + i, w->gen);
	rc = blkfront_submit(s->bf, BLKFRONT_WRITE, w->buf, sector * BLK_SECTOR, nsect * BLK_SECTOR,
			     op_done, w);
	if (rc == -EAGAIN)
		return 0;
	T_CHECK(rc == 0, "submit: %d", rc);
	w->busy = true;
	memset(s->busy + sector, 1, nsect);
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void op_reap(struct blk_stream *s, struct blk_stream_op *w)
{
	uint64_t now = now_us();

	if (s->last_us && now - s->last_us > s->max_gap_us)
		s->max_gap_us = now - s->last_us;
	s->last_us = now;
	w->busy = false;
	memset(s->busy + w->sector, 0, w->nsect);
	for (uint32_t i = 0; i < w->nsect; i++) {
		if (w->result == 0) {
			s->acked[w->sector + i] = w->gen;
			s->failed[w->sector + i] = 0;
		} else {
			s->failed[w->sector + i] = w->gen;
		}
	}
	if (w->result == 0)
		s->acks++;
	else
		s->failures++;
}

int blk_stream_open(struct blk_stream **sp, const struct blkfront_opts *o)
{
	struct blk_stream *s = calloc(1, sizeof(*s));

	T_CHECK(s, "malloc");
	*sp = s;
	s->rng = 0xdead;
	s->acked = calloc(SECTORS, sizeof(*s->acked));
	s->failed = calloc(SECTORS, sizeof(*s->failed));
	s->busy = calloc(SECTORS, 1);
	T_CHECK(s->acked && s->failed && s->busy, "malloc");
	T_CHECK(blkfront_open(&s->bf, o) == 0, "blkfront_open");
	return 0;
}

int blk_stream_round(struct blk_stream *s, bool draining)
{
	int n;

	for (unsigned int i = 0; i < BLK_STREAM_DEPTH && !draining; i++)
		if (!s->ops[i].busy)
			T_CHECK(op_start(s, &s->ops[i]) == 0, "start");
	n = blkfront_poll(s->bf, 100);
	T_CHECK(n >= 0, "poll: %d", n);
	for (unsigned int i = 0; i < BLK_STREAM_DEPTH; i++)
		if (s->ops[i].busy && s->ops[i].done)
			op_reap(s, &s->ops[i]);
	return 0;
}

/* Read the disk back: every sector holds what was acknowledged last (or a failed later write). */
static int verify(struct blk_stream *s)
{
	uint8_t *buf = malloc(MIB);
	uint64_t written = 0;

	T_CHECK(buf, "malloc");
	for (uint64_t off = 0; off < BLK_STREAM_DISK_BYTES; off += MIB) {
		T_CHECK(blkfront_read(s->bf, buf, off, MIB) == 0, "read back at %llu",
			(unsigned long long)off);
		for (uint32_t i = 0; i < MIB / BLK_SECTOR; i++) {
			uint64_t sector = off / BLK_SECTOR + i;
			uint32_t gen;
			int rc = blk_tag_check(buf + i * BLK_SECTOR, sector, &gen);

			T_CHECK(rc == 0, "sector %llu: %s", (unsigned long long)sector,
				rc == -ENXIO ? "another sector's data" : "torn or corrupt");
			T_CHECK(gen == s->acked[sector] ||
				    (s->failed[sector] && gen == s->failed[sector]),
				"sector %llu: generation %u, acknowledged %u: %s",
				(unsigned long long)sector, gen, s->acked[sector],
				gen < s->acked[sector] ? "an acknowledged write was lost"
						       : "data nobody acknowledged");
			written += gen != 0;
		}
	}
	free(buf);
	fprintf(stderr, "guest: %llu writes acknowledged, %llu sectors verified written\n",
		(unsigned long long)s->acks, (unsigned long long)written);
	return 0;
}

int blk_stream_finish(struct blk_stream *s)
{
	int waited;

	for (waited = 0; blkfront_in_flight(s->bf) > 0 && waited < 300; waited++)
		T_CHECK(blk_stream_round(s, true) == 0, "drain");
	T_CHECK(blkfront_in_flight(s->bf) == 0, "%u writes never completed",
		blkfront_in_flight(s->bf));
	for (unsigned int i = 0; i < BLK_STREAM_DEPTH; i++)
		if (s->ops[i].busy && s->ops[i].done)
			op_reap(s, &s->ops[i]);
	return verify(s);
}

void blk_stream_close(struct blk_stream *s)
{
	if (!s)
		return;
	blkfront_close(s->bf);
	free(s->acked);
	free(s->failed);
	free(s->busy);
	free(s);
}
