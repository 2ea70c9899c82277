/* SPDX-License-Identifier: MIT */
/*
 * blkback-threads.c - pvio-blkback(8) serves a 2-queue device on two queue threads, and tears
 * devices down while both queues carry I/O.
 *
 * Threads: with --threads 2 and a guest doing asynchronous I/O on both queues of xvda, the
 * statistics file names a different thread for each queue (queue0-thread, queue1-thread) and
 * each ring was served on its own (queueN-calls).  The one-thread daemon has no such threads.
 *
 * Teardown under I/O: xvda and xvdb both carry I/O on both queues from two guest processes;
 * the toolstack then detaches xvda, then xvdb, while their guests keep submitting.  The daemon
 * must drop both (no statistics file left), stay up, and exit 0 on SIGTERM: under ASan a
 * use-after-free of a ring its thread still held, or a thread left waiting, fails it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "tests/helpers.h"

#define DISK_BYTES (16u << 20)
#define LANES	   16u
#define LEN	   4096u

/* One guest: asynchronous reads and writes over both queues of devid until the device goes. */
struct io_guest {
	unsigned int devid;
	struct t_link link; /* a: guest says "connected"; the test never answers */
};

struct lane {
	bool busy;
	void *buf;
};

static void lane_done(void *arg, int result)
{
	(void)result;
	((struct lane *)arg)->busy = false;
}

static int io_guest(void *arg)
{
	struct io_guest *g = arg;
	struct blkfront_opts o = { .devid = g->devid, .queues = 2, .queue_depth = LANES };
	struct lane lanes[LANES] = { 0 };
	struct blkfront_info info;
	struct blkfront *bf;
	uint64_t n = 0;
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open %u: %d", g->devid, rc);
	blkfront_get_info(bf, &info);
	T_CHECK(info.queues == 2, "queues %u", info.queues);
	for (unsigned int l = 0; l < LANES; l++)
		T_CHECK(blkfront_buf_alloc(bf, LEN, &lanes[l].buf) == 0, "buffer");
	T_CHECK(t_put(g->link.ab[1], "c", 1) == 0, "report");
	/* Until the device goes: then submit or poll fails, and the guest exits. */
	for (;;) {
		for (unsigned int l = 0; l < LANES; l++, n++) {
			if (lanes[l].busy)
				continue;
			rc = blkfront_submit(bf, n & 1 ? BLKFRONT_WRITE : BLKFRONT_READ,
					     lanes[l].buf, (n * LEN) % DISK_BYTES, LEN, lane_done,
					     &lanes[l]);
			if (rc == -EAGAIN)
				break;
			if (rc)
				goto out;
			lanes[l].busy = true;
		}
		if (blkfront_poll(bf, 1000) < 0)
			break;
	}
out:
	blkfront_close(bf);
	return 0;
}

static int start_guest(struct blk_env *env, struct io_guest *g, unsigned int devid, pid_t *pid)
{
	char c;

	g->devid = devid;
	T_CHECK(blk_env_link(&g->link) == 0, "pipes");
	T_CHECK(blk_env_guest(env, io_guest, g, pid) == 0, "fork the guest");
	close(g->link.ab[1]);
	close(g->link.ba[0]);
	T_CHECK(t_readable(g->link.ab[0], 60000) && t_get(g->link.ab[0], &c, 1) == 0,
		"guest of %u did not connect", devid);
	return 0;
}

/* Both rings of devid were served, each by its own thread. */
static int check_threads(struct blk_env *env, unsigned int devid)
{
	uint64_t t0, t1, c0, c1;

	T_CHECK(blk_env_stat_wait(env, devid, "reads", 100, 30000, &c0) == 0, "no reads: %llu",
		(unsigned long long)c0);
	T_CHECK(blk_env_stat_wait(env, devid, "queue0-calls", 50, 30000, &c0) == 0,
		"queue 0 served %llu times", (unsigned long long)c0);
	T_CHECK(blk_env_stat_wait(env, devid, "queue1-calls", 50, 30000, &c1) == 0,
		"queue 1 served %llu times", (unsigned long long)c1);
	T_CHECK(blk_env_stat(env, devid, "queue0-thread", &t0) == 0 &&
		    blk_env_stat(env, devid, "queue1-thread", &t1) == 0,
		"no queue threads in the statistics file");
	T_CHECK(t0 != t1, "both queues on thread %llu", (unsigned long long)t0);
	blk_env_note("queue 0 on thread %llu, queue 1 on thread %llu", (unsigned long long)t0,
		     (unsigned long long)t1);
	return 0;
}

int main(void)
{
	static const char *const opts[] = { "--max-queues", "2", "--threads", "2", NULL };
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static struct io_guest ga, gb;
	char a[PATH_MAX], b[PATH_MAX];
	pid_t pa, pb;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, a, sizeof(a)) == 0, "disk a");
	T_CHECK(blk_env_disk(&env, "b", DISK_BYTES, b, sizeof(b)) == 0, "disk b");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, a, false) == 0, "attach xvda");
	T_CHECK(blk_env_attach(&env, BLK_XVDB, b, false) == 0, "attach xvdb");
	T_CHECK(blk_env_daemon_start(&env, opts) == 0, "start pvio-blkback");
	T_CHECK(start_guest(&env, &ga, BLK_XVDA, &pa) == 0, "guest a");
	T_CHECK(start_guest(&env, &gb, BLK_XVDB, &pb) == 0, "guest b");
	T_CHECK(check_threads(&env, BLK_XVDA) == 0, "xvda's threads");
	T_CHECK(check_threads(&env, BLK_XVDB) == 0, "xvdb's threads");
	/* Both devices busy on both queues: take them away under the I/O. */
	T_CHECK(blk_env_detach(&env, BLK_XVDA, 30000) == 0, "detach xvda under I/O");
	blk_env_note("xvda detached");
	T_CHECK(blk_env_detach(&env, BLK_XVDB, 30000) == 0, "detach xvdb under I/O");
	blk_env_note("xvdb detached");
	T_CHECK(kill(env.daemon, 0) == 0, "pvio-blkback died");
	T_CHECK(blk_env_wait(pa, 60000) == 0, "guest a");
	T_CHECK(blk_env_wait(pb, 60000) == 0, "guest b");
	return blk_env_stop(&env);
}
