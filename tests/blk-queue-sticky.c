/* SPDX-License-Identifier: MIT */
/*
 * blk-queue-sticky.c - libpvio-blkfront keeps a shallow workload on one ring.
 *
 * A guest reads 200 blocks one at a time (iodepth 1) from a 2-queue device served by
 * pvio-blkback(8) with a thread per queue.  Each request goes to the ring with the fewest
 * requests on it and, on a tie, to the ring used last: so every read goes to the same ring, and
 * the one back-end thread that serves it finds each next request while it still polls.  Before,
 * requests went round robin: each ring got every other read (the statistics file's queueN-calls
 * showed both rings called about 200 times), and both threads slept between their requests.
 * The check: one ring was called at most a few times (its connection), the other for the reads.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "tests/helpers.h"

#define DISK_BYTES (16u << 20)
#define READS	   200u
#define LEN	   4096u

static struct t_link link_; /* a: the guest says "done"; b: the test has read the statistics */

static int guest(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .queues = 2 };
	struct blkfront_info info;
	struct blkfront *bf;
	void *buf;
	char c;
	int rc = blkfront_open(&bf, &o);

	(void)arg;
	T_CHECK(rc == 0, "blkfront_open: %d", rc);
	blkfront_get_info(bf, &info);
	T_CHECK(info.queues == 2, "queues %u", info.queues);
	T_CHECK(blkfront_buf_alloc(bf, LEN, &buf) == 0, "buffer");
	for (unsigned int i = 0; i < READS; i++) {
		rc = blkfront_read(bf, buf, (uint64_t)i * LEN, LEN);
		T_CHECK(rc == 0, "read %u: %d", i, rc);
	}
	T_CHECK(t_put(link_.ab[1], "d", 1) == 0, "report");
	/* Connected until the test has read the statistics: a detach removes their file. */
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0, "the test's go-ahead");
	blkfront_close(bf);
	return 0;
}

int main(void)
{
	static const char *const opts[] = { "--max-queues", "2", "--threads", "2", NULL };
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char path[PATH_MAX], c;
	uint64_t c0 = 0, c1 = 0, reads = 0;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, opts) == 0, "start pvio-blkback");
	T_CHECK(blk_env_link(&link_) == 0, "pipes");
	T_CHECK(blk_env_guest(&env, guest, NULL, &pid) == 0, "fork the guest");
	close(link_.ab[1]);
	close(link_.ba[0]);
	T_CHECK(t_readable(link_.ab[0], 60000) && t_get(link_.ab[0], &c, 1) == 0,
		"the guest did not finish its reads");
	T_CHECK(blk_env_stat_wait(&env, BLK_XVDA, "reads", READS, 30000, &reads) == 0,
		"reads counted: %llu", (unsigned long long)reads);
	T_CHECK(blk_env_stat(&env, BLK_XVDA, "queue0-calls", &c0) == 0 &&
		    blk_env_stat(&env, BLK_XVDA, "queue1-calls", &c1) == 0,
		"no queueN-calls in the statistics file");
	blk_env_note("queue0-calls %llu, queue1-calls %llu for %u reads", (unsigned long long)c0,
		     (unsigned long long)c1, READS);
	if ((c0 < c1 ? c0 : c1) > READS / 10) {
		blk_env_stat_dump(&env, BLK_XVDA);
		T_CHECK(false, "iodepth 1 spread over both rings: %llu and %llu calls",
			(unsigned long long)c0, (unsigned long long)c1);
	}
	T_CHECK(t_put(link_.ba[1], "c", 1) == 0, "the guest's go-ahead");
	T_CHECK(blk_env_wait(pid, 60000) == 0, "guest");
	return blk_env_stop(&env);
}
