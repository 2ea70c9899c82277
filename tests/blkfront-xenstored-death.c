/* SPDX-License-Identifier: MIT */
/*
 * blkfront-xenstored-death.c - when pvio-xenstored dies, I/O on the connected rings goes on.
 *
 * Eight writes wait on the back-end's ring while pvio-xenstored is killed; then the back-end
 * answers.  blkfront_poll must deliver all eight (with 0), report the lost xenstore once
 * (-ENOTCONN), and the handle must go on serving reads and writes.  Then the back-end goes
 * away with four writes on its ring: with no xenstore to reconnect through, the device cannot
 * continue, and those four complete with -ENOTCONN, as does any later call.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define LEN 4096u

static int results[8];

static void done(void *arg, int result)
{
	*(int *)arg = result;
}

/* Poll until n callbacks of results[] ran (or 10 s): how many -ENOTCONN reports poll made. */
static int drain(struct blkfront *bf, unsigned int n, int *reports)
{
	unsigned int i, left;
	int k, ret;

	for (k = 0; k < 100; k++) {
		for (i = 0, left = 0; i < n; i++)
			left += results[i] == 1;
		if (!left)
			return 0;
		ret = blkfront_poll(bf, 100);
		if (ret == -ENOTCONN)
			(*reports)++;
		else
			T_CHECK(ret >= 0, "blkfront_poll: %d", ret);
	}
	T_CHECK(0, "%u operations never completed", left);
}

static int submit(struct blkfront *bf, uint8_t *buf, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		results[i] = 1;
		memset(buf + i * LEN, 'a' + (int)i, LEN);
		T_CHECK(blkfront_submit(bf, BLKFRONT_WRITE, buf + i * LEN, (uint64_t)i * LEN, LEN,
					done, &results[i]) == 0,
			"submit %u", i);
	}
	return 0;
}

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 2 };
	uint8_t *buf = malloc(8 * LEN), *back = malloc(LEN);
	struct blkfront *bf;
	unsigned int i;
	int ret, reports = 0;

	(void)arg;
	T_CHECK(buf && back, "malloc");
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	*fb_env.hold = 1;
	if (submit(bf, buf, 8))
		return T_FAIL;
	T_CHECK(blkfront_poll(bf, 200) == 0, "a held back-end answers nothing");
	T_CHECK(fb_env_kill_xenstored() == 0, "kill pvio-xenstored");
	*fb_env.hold = 0;
	if (drain(bf, 8, &reports))
		return T_FAIL;
	for (i = 0; i < 8; i++)
		T_CHECK(results[i] == 0, "write %u: %d", i, results[i]);
	T_CHECK(!memcmp(fb_env.disk, buf, 8 * LEN), "the writes are on the disk");
	for (i = 0; i < 20; i++) {
		memset(buf, (int)i, LEN);
		ret = blkfront_write(bf, buf, 65536, LEN);
		if (ret == -ENOTCONN && reports == 0) {
			reports++; /* the report came with this call */
			ret = blkfront_write(bf, buf, 65536, LEN);
		}
		T_CHECK(ret == 0, "write %u without xenstore: %d", i, ret);
		T_CHECK(blkfront_read(bf, back, 65536, LEN) == 0 && !memcmp(buf, back, LEN),
			"read back %u without xenstore", i);
	}
	T_CHECK(reports == 1, "the lost xenstore reported %d times, not once", reports);

	/* Now the back-end goes: nothing can reconnect the device. */
	*fb_env.hold = 1;
	if (submit(bf, buf, 4))
		return T_FAIL;
	*fb_env.quit = 1;
	if (drain(bf, 4, &reports))
		return T_FAIL;
	for (i = 0; i < 4; i++)
		T_CHECK(results[i] == -ENOTCONN, "pending write %u: %d", i, results[i]);
	ret = blkfront_read(bf, back, 0, LEN);
	T_CHECK(ret == -ENOTCONN, "read after the device cannot continue: %d", ret);
	blkfront_close(bf);
	free(buf);
	free(back);
	return 0;
}

int main(void)
{
	static const struct fb_opts o = { .persistent = true, .max_queues = 2, .survive_xs = true };

	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
