/* SPDX-License-Identifier: MIT */
/*
 * blk-restart-unnoticed: a guest streams tagged asynchronous writes at queue depth 16 through a
 * libpvio-blkfront that never reconnects (opts.no_reconnect: the model of Linux's blkfront)
 * while the test kill -9's pvio-blkback --journal-dir and starts a new one, KILLS times, each
 * kill landing while writes are in flight (right after the guest saw the last daemon answer
 * DEPTH writes).  Each new daemon re-attaches from the journal: the front-end never leaves
 * Connected (it would fail every write if the back-end did; both states are also read at
 * every round), no write fails, and a final read-back finds every acknowledged write.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "xenbus/xenbus.h"

#define DISK_BYTES (16u << 20)
#define SECTORS	   (DISK_BYTES / BLK_SECTOR)
#define DEPTH	   16u
#define MAX_SECT   128u /* 64 KiB per write at most */
#define KILLS	   100
#define MIB	   (1u << 20)

/* One write in flight. */
struct wop {
	bool busy;			    /* submitted, not yet reaped */
	bool done;			    /* the callback ran */
	int result;			    /* its result */
	uint64_t sector;		    /* first sector */
	uint32_t nsect;			    /* sectors */
	uint32_t gen;			    /* the generation written */
	uint8_t buf[MAX_SECT * BLK_SECTOR]; /* the data */
};

/* The guest's state. */
struct stream {
	struct t_link *link;	 /* to the test (a = guest) */
	struct blkfront *bf;	 /* xvda */
	uint32_t *acked;	 /* latest acknowledged generation per sector */
	uint32_t *failed;	 /* generation of a later write that failed, 0 if none */
	uint8_t *busy;		 /* a write in flight covers the sector */
	struct wop ops[DEPTH];	 /* the writes in flight */
	uint32_t gen;		 /* last generation handed out */
	uint64_t rng;		 /* PRNG state */
	uint64_t acks, failures; /* writes acknowledged, failed */
	uint64_t progress_at;	 /* acks at which to report progress ('p'); 0: not asked */
};

static struct t_link link_;

static void wop_done(void *arg, int result)
{
	struct wop *w = arg;

	w->done = true;
	w->result = result;
}

/* Start a write in slot w at a random place no write in flight overlaps. */
static int wop_start(struct stream *s, struct wop *w)
{
	uint32_t nsect = 1 + (uint32_t)(blk_rand(&s->rng) % MAX_SECT);
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
			     wop_done, w);
	if (rc == -EAGAIN)
		return 0;
	T_CHECK(rc == 0, "submit: %d", rc);
	w->busy = true;
	memset(s->busy + sector, 1, nsect);
	return 0;
}

static void wop_reap(struct stream *s, struct wop *w)
{
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

/* The test asks ('w') to hear ('p') when DEPTH more writes have been acknowledged. */
static int report_progress(struct stream *s)
{
	if (s->progress_at && s->acks >= s->progress_at) {
		s->progress_at = 0;
		T_CHECK(t_put(s->link->ab[1], "p", 1) == 0, "report");
	}
	return 0;
}

/* One round: fill free slots (unless draining), poll, reap. */
static int stream_round(struct stream *s, bool draining)
{
	int n;

	for (unsigned int i = 0; i < DEPTH && !draining; i++)
		if (!s->ops[i].busy)
			T_CHECK(wop_start(s, &s->ops[i]) == 0, "start");
	n = blkfront_poll(s->bf, 100);
	T_CHECK(n >= 0, "poll: %d", n);
	for (unsigned int i = 0; i < DEPTH; i++)
		if (s->ops[i].busy && s->ops[i].done)
			wop_reap(s, &s->ops[i]);
	return report_progress(s);
}

/* Whether the test asked to stop; a progress request ('w') is noted. */
static bool quit_asked(struct stream *s)
{
	char c;

	while (t_readable(s->link->ba[0], 0) && read(s->link->ba[0], &c, 1) == 1) {
		if (c == 'q')
			return true;
		if (c == 'w')
			s->progress_at = s->acks + DEPTH;
	}
	return false;
}

/* Read the disk back: every sector holds what was acknowledged last (or a failed later write). */
static int verify(struct stream *s)
{
	uint8_t *buf = malloc(MIB);
	uint64_t written = 0;

	T_CHECK(buf, "malloc");
	for (uint64_t off = 0; off < DISK_BYTES; off += MIB) {
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

static int guest(void *arg)
{
	/*
	 * No connect deadline of its own: under valgrind on a loaded machine connecting takes
	 * longer than blkfront's default 10 s; the test's time limit bounds the wait.
	 */
	struct blkfront_opts o = { .devid = BLK_XVDA,
				   .queues = 2,
				   .queue_depth = DEPTH,
				   .timeout_ms = -1,
				   .no_reconnect = true };
	struct stream *s = calloc(1, sizeof(*s));
	struct blkfront_stats st;
	int waited;

	T_CHECK(s, "malloc");
	s->link = arg;
	s->rng = 0xdead;
	s->acked = calloc(SECTORS, sizeof(*s->acked));
	s->failed = calloc(SECTORS, sizeof(*s->failed));
	s->busy = calloc(SECTORS, 1);
	T_CHECK(s->acked && s->failed && s->busy, "malloc");
	T_CHECK(blkfront_open(&s->bf, &o) == 0, "blkfront_open");
	T_CHECK(t_put(s->link->ab[1], "o", 1) == 0, "report open");
	while (!quit_asked(s))
		T_CHECK(stream_round(s, false) == 0, "stream");
	for (waited = 0; blkfront_in_flight(s->bf) > 0 && waited < 300; waited++)
		T_CHECK(stream_round(s, true) == 0, "drain");
	T_CHECK(blkfront_in_flight(s->bf) == 0, "%u writes never completed",
		blkfront_in_flight(s->bf));
	for (unsigned int i = 0; i < DEPTH; i++)
		if (s->ops[i].busy && s->ops[i].done)
			wop_reap(s, &s->ops[i]);
	T_CHECK(verify(s) == 0, "verify");
	blkfront_get_stats(s->bf, &st);
	fprintf(stderr, "guest: %llu reconnects, %llu requests re-issued\n",
		(unsigned long long)st.reconnects, (unsigned long long)st.reissued);
	T_CHECK(s->failures == 0 && st.errors == 0, "%llu writes failed",
		(unsigned long long)s->failures);
	T_CHECK(st.reconnects == 0 && st.reissued == 0, "the front-end reconnected: %llu",
		(unsigned long long)st.reconnects);
	blkfront_close(s->bf);
	free(s->acked);
	free(s->failed);
	free(s->busy);
	free(s);
	return 0;
}

/* Both ends of xvda are Connected, as read now. */
static int both_connected(struct blk_env *env)
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

static uint64_t killed_at;     /* when the last kill was sent, 0: measured already */
static uint64_t pauses[KILLS]; /* ms from each kill to DEPTH writes answered by the next daemon */
static unsigned int npauses;

/* Wait until the guest saw DEPTH more writes answered; measure the pause of the last kill. */
static int progress(const char *when, int round)
{
	char c;

	T_CHECK(t_put(link_.ba[1], "w", 1) == 0 && t_get(link_.ab[0], &c, 1) == 0 && c == 'p',
		"no progress %s %d", when, round);
	if (killed_at && npauses < KILLS)
		pauses[npauses++] = t_now_ms() - killed_at;
	killed_at = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The figures (not asserted): median, p99 and max of the pauses. */
static void report_pauses(void)
{
	if (!npauses)
		return;
	qsort(pauses, npauses, sizeof(pauses[0]), cmp_u64);
	fprintf(stderr,
		"restart pause (kill -9 to %u writes answered by the new daemon), %u restarts: "
		"median %llu ms, p99 %llu ms, max %llu ms\n",
		DEPTH, npauses, (unsigned long long)pauses[npauses / 2],
		(unsigned long long)pauses[(npauses * 99) / 100],
		(unsigned long long)pauses[npauses - 1]);
}

/* Wait for progress, kill the daemon with writes in flight, start another. */
static int kill_and_restart(struct blk_env *env, int round)
{
	int rc;

	T_CHECK(progress("before kill", round) == 0, "progress");
	killed_at = t_now_ms();
	rc = blk_env_daemon_stop(env, SIGKILL, 5000);
	T_CHECK(rc == 128 + SIGKILL, "kill -9 of pvio-blkback: status %d", rc);
	T_CHECK(both_connected(env) == 0, "after kill %d", round);
	T_CHECK(blk_env_daemon_start(env, NULL) == 0, "restart pvio-blkback");
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char path[PATH_MAX], c;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&link_) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	t_time_limit(600); /* KILLS restarts: longer than blk_env's alarm */
	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--journal-dir", env.dir, NULL }) == 0,
		"start pvio-blkback");
	T_CHECK(blk_env_guest(&env, guest, &link_, &pid) == 0, "fork the guest");
	T_CHECK(t_readable(link_.ab[0], BLK_ENV_ALARM_S * 1000) && t_get(link_.ab[0], &c, 1) == 0 &&
		    c == 'o',
		"the guest did not connect");
	for (int k = 1; k <= KILLS; k++)
		T_CHECK(kill_and_restart(&env, k) == 0, "kill %d", k);
	T_CHECK(progress("after the last restart", KILLS) == 0, "progress");
	report_pauses();
	T_CHECK(both_connected(&env) == 0, "at the end");
	T_CHECK(t_put(link_.ba[1], "q", 1) == 0, "stop the stream");
	rc = blk_env_wait(pid, 60000);
	T_CHECK(rc == 0, "guest failed: %d", rc);
	return blk_env_stop(&env);
}
