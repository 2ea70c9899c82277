/* SPDX-License-Identifier: MIT */
/*
 * blkfront-submit-nomem.c - blkfront_submit either refuses an operation with nothing queued, or
 * accepts it (0) and completes it through its callback exactly once, also when memory runs out
 * while it dispatches what is queued.
 *
 * A 1 MiB write (one request of 256 indirect segments) waits on the ring of a first back-end,
 * which then closes; the second offers no indirect segments, so the front-end must cut that
 * request again when it re-issues it, and the allocations of the new parts fail (calloc is
 * wrapped: -Wl,--wrap=calloc).  Then a 4 KiB write is submitted with memory for its own part
 * only.  Its submit's return and its callback must agree, and each callback must run once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/blk/blkfront-priv.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define BIG (1u << 20)

/* The fault injector: while armed, a part's allocation fails unless allowed. */
static bool armed;
static unsigned int allow, failed;

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	if (armed && n == 1 && size == sizeof(struct bf_part)) {
		if (allow == 0) {
			failed++;
			return NULL;
		}
		allow--;
	}
	return __real_calloc(n, size);
}

/* One operation's completions. */
struct op {
	int calls;  /* callbacks run */
	int result; /* the last one's result */
};

static void done(void *arg, int result)
{
	struct op *o = arg;

	o->calls++;
	o->result = result;
}

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 1 };
	uint8_t *big = malloc(BIG), *small = malloc(4096);
	struct op bop = { 0, 0 }, sop = { 0, 0 };
	struct blkfront_stats st;
	struct blkfront *bf;
	int ret, i;

	(void)arg;
	T_CHECK(big && small, "malloc");
	memset(big, 'b', BIG);
	memset(small, 's', 4096);
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	T_CHECK(blkfront_write(bf, small, 0, 4096) == 0 && blkfront_write(bf, small, 0, 4096) == 0,
		"writes before the stall");
	T_CHECK(blkfront_submit(bf, BLKFRONT_WRITE, big, 0, BIG, done, &bop) == 0, "submit 1 MiB");
	armed = true;
	for (i = 0; i < 150; i++) {
		blkfront_get_stats(bf, &st);
		if (st.reconnects)
			break;
		blkfront_poll(bf, 100);
	}
	T_CHECK(st.reconnects == 1, "no reconnect to the second back-end");
	blkfront_poll(bf, 0);
	T_CHECK(failed > 0, "no allocation was made to fail");
	allow = 1;
	ret = blkfront_submit(bf, BLKFRONT_WRITE, small, 8192, 4096, done, &sop);
	armed = false;
	for (i = 0; i < 100 && (bop.calls == 0 || (ret == 0 && sop.calls == 0)); i++)
		blkfront_poll(bf, 100);
	blkfront_poll(bf, 200);
	fprintf(stderr, "submit %d; 4 KiB write: %d calls, %d; 1 MiB write: %d calls, %d\n", ret,
		sop.calls, sop.result, bop.calls, bop.result);
	T_CHECK(ret == 0 || sop.calls == 0, "submit refused (%d) but the callback ran", ret);
	T_CHECK(ret != 0 || (sop.calls == 1 && sop.result == 0), "accepted 4 KiB write");
	T_CHECK(bop.calls == 1 && (bop.result == 0 || bop.result == -ENOMEM), "1 MiB write");
	blkfront_close(bf);
	T_CHECK(sop.calls <= 1 && bop.calls == 1, "a callback ran twice");
	free(big);
	free(small);
	return 0;
}

int main(void)
{
	/* The first stops answering after 2 requests and closes; the second has no indirect. */
	static const struct fb_opts backs[] = {
		{ .max_indirect = 256, .misbehave = FB_CLOSE, .after = 2 },
		{ .max_indirect = 0 },
	};

	return fb_run(backs, 2, front) ? T_FAIL : T_PASS;
}
