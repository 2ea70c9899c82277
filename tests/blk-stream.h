/* SPDX-License-Identifier: MIT */
/*
 * blk-stream.h - a guest's stream of tagged asynchronous writes through libpvio-blkfront at
 * queue depth BLK_STREAM_DEPTH, at random non-overlapping places of a BLK_STREAM_DISK_BYTES
 * disk, with the bookkeeping to verify at the end that every acknowledged write is there
 * (blk-kill-backend, blk-restart-unnoticed).
 *
 *	T_CHECK(blk_stream_open(&s, &opts) == 0, "open");
 *	while (...)
 *		T_CHECK(blk_stream_round(s, false) == 0, "stream");
 *	T_CHECK(blk_stream_finish(s) == 0, "drain and verify");
 *	blk_stream_close(s);
 */
#ifndef PVIO_TESTS_BLK_STREAM_H
#define PVIO_TESTS_BLK_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"

#define BLK_STREAM_DISK_BYTES (16u << 20)
#define BLK_STREAM_DEPTH      16u
#define BLK_STREAM_MAX_SECT   128u /* 64 KiB per write at most */

/* One write in flight. */
struct blk_stream_op {
	bool busy;				       /* submitted, not yet reaped */
	bool done;				       /* the callback ran */
	int result;				       /* its result */
	uint64_t sector;			       /* first sector */
	uint32_t nsect;				       /* sectors */
	uint32_t gen;				       /* the generation written */
	uint8_t buf[BLK_STREAM_MAX_SECT * BLK_SECTOR]; /* the data */
};

struct blk_stream {
	struct blkfront *bf;			    /* the device */
	uint32_t *acked;			    /* latest acknowledged generation per sector */
	uint32_t *failed;			    /* generation of a later failed write, or 0 */
	uint8_t *busy;				    /* a write in flight covers the sector */
	struct blk_stream_op ops[BLK_STREAM_DEPTH]; /* the writes in flight */
	uint32_t gen;				    /* last generation handed out */
	uint64_t rng;				    /* PRNG state */
	uint64_t acks, failures;		    /* writes acknowledged, failed */
	uint64_t last_us;			    /* when the last write was reaped (monotonic) */
	uint64_t max_gap_us;			    /* the longest time between two reaped writes */
};

/* Allocate a stream and open the device with o (its queue_depth should be the stream's). */
int blk_stream_open(struct blk_stream **sp, const struct blkfront_opts *o);
/* One round: fill free slots (unless draining), poll up to 100 ms, reap. */
int blk_stream_round(struct blk_stream *s, bool draining);
/* Drain what is in flight (bounded), then read the disk back and verify every sector. */
int blk_stream_finish(struct blk_stream *s);
/* Close the device and free the stream; NULL is accepted. */
void blk_stream_close(struct blk_stream *s);

#endif
