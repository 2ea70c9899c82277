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

/*
 * ---- what the restart tests (blk-kill-backend, blk-restart-unnoticed, blk-takeover) share ----
 *
 * The guest streams (2 queues, depth BLK_STREAM_DEPTH, no connect deadline) and serves the
 * test's requests on link: 'q' stop, 'w' answer 'p' once BLK_STREAM_DEPTH more writes are
 * acknowledged, 'g' send the longest gap between completions since the last 'g' (uint64_t us).
 * It sends 'o' once open and, with report_reconnects, 'r' at each reconnect.  At the end every
 * acknowledged write must read back and none may have failed.
 */
struct blk_stream_guest {
	struct t_link *link;
	bool no_reconnect;	 /* the front never reconnects (Linux's blkfront), and must not */
	bool report_reconnects;	 /* send 'r' at each reconnect */
	uint64_t min_reconnects; /* reconnects the front must have made */
};

/* The guest's process: blk_env_guest(env, blk_stream_guest, &g, &pid). */
int blk_stream_guest(void *g);
/*
 * The test: disk "a" attached as xvda, pvio-blkback started with daemon_args (may be NULL), the
 * guest forked running g (*pid), and its 'o' received.
 */
int blk_stream_setup(struct blk_env *env, const char *const *daemon_args,
		     struct blk_stream_guest *g, pid_t *pid);
/* The test: wait until the guest saw BLK_STREAM_DEPTH more writes acknowledged. */
int blk_stream_progress(struct t_link *l);
/* The test: the guest's longest gap between completions since the last ask, in us. */
uint64_t blk_stream_gap_us(struct t_link *l);
/* The test: both ends of xvda are Connected, as read now. */
int blk_stream_both_connected(struct blk_env *env);
/* The test: sort v[n] and print its median, p99 and max (not asserted). */
void blk_stream_report(const char *what, uint64_t *v, unsigned int n, const char *unit);
/* The test: stop the stream, check the guest's verdict, stop the environment. */
int blk_stream_teardown(struct blk_env *env, struct t_link *l, pid_t pid);

#endif
