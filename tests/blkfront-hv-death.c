/* SPDX-License-Identifier: MIT */
/*
 * blkfront-hv-death.c - when pvio-hv dies, no operation waits forever.
 *
 * Eight writes wait on the back-end's ring while pvio-hv is killed (pvio-xenstored follows it);
 * then the back-end goes away without answering.  Mapped grants and event channels (eventfds)
 * outlive pvio-hv, but nothing tells the front-end any more that its back-end went, nor can
 * it end a grant or reconnect: every operation must complete exactly once with -ENOTCONN
 * within bounded time, and later calls fail the same way rather than wait.
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
#define OPS 8

/* One operation's completions. */
struct op {
	int calls;  /* callbacks run */
	int result; /* the last one's result */
};

static struct op ops[OPS];

static void done(void *arg, int result)
{
	struct op *o = arg;

	o->calls++;
	o->result = result;
}

static unsigned int left(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < OPS; i++)
		n += ops[i].calls == 0;
	return n;
}

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 1 };
	uint8_t *buf = malloc(OPS * LEN);
	struct blkfront *bf;
	unsigned int i;
	int ret = 0, k;

	(void)arg;
	T_CHECK(buf, "malloc");
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	*fb_env.hold = 1;
	for (i = 0; i < OPS; i++) {
		memset(buf + i * LEN, 'a' + (int)i, LEN);
		T_CHECK(blkfront_submit(bf, BLKFRONT_WRITE, buf + i * LEN, (uint64_t)i * LEN, LEN,
					done, &ops[i]) == 0,
			"submit %u", i);
	}
	T_CHECK(blkfront_poll(bf, 200) == 0, "a held back-end answers nothing");
	T_CHECK(fb_env_kill_hv() == 0, "kill pvio-hv");
	*fb_env.quit = 1;
	for (k = 0; k < 100 && left(); k++)
		blkfront_poll(bf, 100);
	T_CHECK(!left(), "%u operations still waiting 10 s after pvio-hv died", left());
	for (i = 0; i < OPS; i++)
		T_CHECK(ops[i].calls == 1 && ops[i].result == -ENOTCONN, "write %u: %d calls, %d",
			i, ops[i].calls, ops[i].result);
	ret = blkfront_read(bf, buf, 0, LEN);
	T_CHECK(ret == -ENOTCONN, "read once the hypervisor is gone: %d", ret);
	blkfront_close(bf);
	free(buf);
	return 0;
}

int main(void)
{
	static const struct fb_opts o = { .persistent = true, .survive_xs = true };

	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
