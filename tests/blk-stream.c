/* SPDX-License-Identifier: MIT */
/* blk-stream.c - see blk-stream.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

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

/* ---- the restart tests' guest and set-up ---- */

/* Serve the test's requests; *at: answer 'p' once the acks reach it (0: not asked). */
static int serve_requests(struct blk_stream_guest *g, struct blk_stream *s, uint64_t *at,
			  bool *quit)
{
	struct t_link *l = g->link;
	char c;

	while (t_readable(l->ba[0], 0) && read(l->ba[0], &c, 1) == 1) {
		if (c == 'q')
			*quit = true;
		if (c == 'w')
			*at = s->acks + BLK_STREAM_DEPTH;
		if (c == 'g') {
			T_CHECK(t_put(l->ab[1], &s->max_gap_us, sizeof(s->max_gap_us)) == 0, "gap");
			s->max_gap_us = 0;
		}
	}
	if (*at && s->acks >= *at) {
		*at = 0;
		T_CHECK(t_put(l->ab[1], "p", 1) == 0, "report");
	}
	return 0;
}

/* Tell the test about each reconnect (n: those reported so far). */
static int report_reconnects(struct blk_stream_guest *g, struct blk_stream *s, uint64_t *n)
{
	struct blkfront_stats st;

	if (!g->report_reconnects)
		return 0;
	blkfront_get_stats(s->bf, &st);
	for (; *n < st.reconnects; (*n)++)
		T_CHECK(t_put(g->link->ab[1], "r", 1) == 0, "report");
	return 0;
}

int blk_stream_guest(void *arg)
{
	struct blk_stream_guest *g = arg;
	/*
	 * No connect deadline of its own: under valgrind on a loaded machine connecting takes
	 * longer than blkfront's default 10 s; the test's time limit bounds the wait.
	 */
	struct blkfront_opts o = { .devid = BLK_XVDA,
				   .queues = 2,
				   .queue_depth = BLK_STREAM_DEPTH,
				   .timeout_ms = -1,
				   .no_reconnect = g->no_reconnect };
	struct blkfront_stats st;
	struct blk_stream *s;
	uint64_t at = 0, reconnects = 0;
	bool quit = false;

	T_CHECK(blk_stream_open(&s, &o) == 0, "stream");
	T_CHECK(t_put(g->link->ab[1], "o", 1) == 0, "report open");
	while (!quit)
		T_CHECK(blk_stream_round(s, false) == 0 && serve_requests(g, s, &at, &quit) == 0 &&
			    report_reconnects(g, s, &reconnects) == 0,
			"stream");
	T_CHECK(blk_stream_finish(s) == 0, "drain and verify");
	blkfront_get_stats(s->bf, &st);
	fprintf(stderr, "guest: %llu reconnects, %llu requests re-issued\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reissued);
	T_CHECK(s->failures == 0 && st.errors == 0, "%llu writes failed",
		(unsigned long long)s->failures);
	T_CHECK(!g->no_reconnect || (st.reconnects == 0 && st.reissued == 0),
		"the front-end reconnected: %llu", (unsigned long long)st.reconnects);
	T_CHECK(st.reconnects >= g->min_reconnects, "reconnects %llu",
		(unsigned long long)st.reconnects);
	blk_stream_close(s);
	return 0;
}

int blk_stream_setup(struct blk_env *env, const char *const *daemon_args,
		     struct blk_stream_guest *g, pid_t *pid)
{
	char path[PATH_MAX], c;

	T_CHECK(blk_env_link(g->link) == 0, "pipes");
	T_CHECK(blk_env_disk(env, "a", BLK_STREAM_DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(env, daemon_args) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(env, blk_stream_guest, g, pid) == 0, "fork the guest");
	T_CHECK(t_readable(g->link->ab[0], BLK_ENV_ALARM_S * 1000) &&
		    t_get(g->link->ab[0], &c, 1) == 0 && c == 'o',
		"the guest did not connect");
	return 0;
}

int blk_stream_progress(struct t_link *l)
{
	char c;

	T_CHECK(t_put(l->ba[1], "w", 1) == 0 && t_get(l->ab[0], &c, 1) == 0 && c == 'p',
		"no progress");
	return 0;
}

uint64_t blk_stream_gap_us(struct t_link *l)
{
	uint64_t g = UINT64_MAX;

	if (t_put(l->ba[1], "g", 1) || t_get(l->ab[0], &g, sizeof(g)))
		return UINT64_MAX;
	return g;
}

int blk_stream_both_connected(struct blk_env *env)
{
	char path[128];
	unsigned int len;
	char *v;
	bool ok;

	T_CHECK(blk_env_backend_state(env, BLK_XVDA) == 4, "back-end left Connected");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/state", env->guest, BLK_XVDA);
	v = xs_read(env->xs, XBT_NULL, path, &len);
	ok = v && !strcmp(v, "4");
	free(v);
	T_CHECK(ok, "front-end left Connected");
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void blk_stream_report(const char *what, uint64_t *v, unsigned int n, const char *unit)
{
	if (!n)
		return;
	qsort(v, n, sizeof(v[0]), cmp_u64);
	fprintf(stderr, "%s, %u rounds: median %llu %s, p99 %llu %s, max %llu %s\n", what, n,
		(unsigned long long)v[n / 2], unit, (unsigned long long)v[(n * 99) / 100], unit,
		(unsigned long long)v[n - 1], unit);
}

int blk_stream_teardown(struct blk_env *env, struct t_link *l, pid_t pid)
{
	int rc;

	T_CHECK(t_put(l->ba[1], "q", 1) == 0, "stop the stream");
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	return blk_env_stop(env);
}
