/* SPDX-License-Identifier: MIT */
/*
 * blkfront-sync-wait.c - a synchronous call returns only once its operation has completed.
 *
 * blkfront_read waits on a back-end that holds its request while pvio-xenstored is killed;
 * then the back-end answers.  The read must return 0 with the disk's data.  Had it returned
 * early (on the error of the xenstore step), its operation would still be queued: then
 * blkfront_close completes it into the read's dead stack frame.  The close runs under a stack
 * canary at the depth where that frame was, so the plain build sees the write too (AddressSanitizer
 * reports it as a stack-use-after-return when that check is on).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define LEN	(64u << 10)
#define CANARY	0x5a
#define STACKSZ (32u << 10)

/* The test's own ASan default: see a late completion as a stack-use-after-return. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_stack_use_after_return=1";
}

/* Kill pvio-xenstored while the read waits, then let the back-end answer. */
static void *killer(void *arg)
{
	(void)arg;
	t_msleep(300);
	if (fb_env_kill_xenstored() < 0)
		fprintf(stderr, "pvio-xenstored did not die\n");
	t_msleep(300);
	*fb_env.hold = 0;
	return NULL;
}

/* Close bf with a canary filling the stack below the caller's frame: 1 if it was written. */
static __attribute__((noinline)) int close_under_canary(struct blkfront *bf)
{
	volatile uint8_t stack[STACKSZ];
	size_t i;

	memset((uint8_t *)stack, CANARY, sizeof(stack));
	blkfront_close(bf);
	for (i = 0; i < sizeof(stack); i++)
		if (stack[i] != CANARY)
			return 1;
	return 0;
}

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 1 };
	uint8_t *buf = malloc(LEN);
	struct blkfront *bf;
	pthread_t t;
	size_t i;
	int ret;

	(void)arg;
	T_CHECK(buf, "malloc");
	for (i = 0; i < LEN; i++)
		fb_env.disk[i] = (uint8_t)(i * 7 + 1);
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	*fb_env.hold = 1;
	T_CHECK(pthread_create(&t, NULL, killer, NULL) == 0, "pthread_create");
	ret = blkfront_read(bf, buf, 0, LEN);
	pthread_join(t, NULL);
	T_CHECK(!close_under_canary(bf), "the read completed after it returned %d", ret);
	T_CHECK(ret == 0, "blkfront_read returned %d before its operation completed", ret);
	T_CHECK(!memcmp(buf, fb_env.disk, LEN), "read data");
	free(buf);
	return 0;
}

int main(void)
{
	static const struct fb_opts o = { .persistent = true, .survive_xs = true };

	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
