/* SPDX-License-Identifier: MIT */
/*
 * blk-poll-quiet: while one end polls its ring, the other end need not notify it.  With both
 * ends polling a long fixed budget (--poll-us 200000, far longer than any I/O here), 4 KiB
 * synchronous I/O at depth 1 must go almost without event-channel notifications: the front-end
 * sends (kicks) and takes (events) fewer than one per four I/Os, where an end that leaves its
 * event index armed while it polls costs one each way per I/O.  Counts, not times.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"

#define DISK_BYTES (4u << 20)
#define IOS	   2000u
#define POLL_US	   200000u

/* Guest: IOS synchronous 4 KiB I/Os, then the notifications they cost. */
static int front(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000, .poll_us = POLL_US };
	struct blkfront_stats a, b;
	static uint8_t buf[4096];
	struct blkfront *bf;
	int rc = blkfront_open(&bf, &o);

	(void)arg;
	T_CHECK(rc == 0, "blkfront_open: %s", strerror(-rc));
	/* The first I/O finds the back-end asleep (its budget runs from its own work). */
	T_CHECK(blkfront_read(bf, buf, 0, sizeof(buf)) == 0, "first read");
	blkfront_get_stats(bf, &a);
	for (unsigned int i = 0; i < IOS; i++) {
		uint64_t off = (uint64_t)(i % 64) * sizeof(buf);

		rc = i & 1 ? blkfront_read(bf, buf, off, sizeof(buf))
			   : blkfront_write(bf, buf, off, sizeof(buf));
		T_CHECK(rc == 0, "I/O %u: %s", i, strerror(-rc));
	}
	blkfront_get_stats(bf, &b);
	printf("%u I/Os: %llu kicks, %llu events, %llu poll hits, %llu sleeps\n", IOS,
	       (unsigned long long)(b.notifies - a.notifies),
	       (unsigned long long)(b.events - a.events),
	       (unsigned long long)(b.poll_hits - a.poll_hits),
	       (unsigned long long)(b.poll_sleeps - a.poll_sleeps));
	T_CHECK((b.events - a.events) * 4 < IOS, "pvio-blkback notified a polling front-end");
	T_CHECK((b.notifies - a.notifies) * 4 < IOS, "the front-end notified a polling back-end");
	blkfront_close(bf);
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char disk[PATH_MAX];
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, disk, sizeof(disk)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, disk, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--poll-us", "200000", NULL }) == 0,
		"start pvio-blkback");
	T_CHECK(blk_env_guest(&env, front, NULL, &pid) == 0, "fork the front-end");
	T_CHECK(blk_env_wait(pid, 60000) == 0, "the front-end failed");
	return blk_env_stop(&env);
}
