/* SPDX-License-Identifier: MIT */
/*
 * blkfront-persistent-late.c - a back-end that, as Linux's xen-blkback does, writes
 * feature-persistent only when it connects, not with its other features at InitWait.
 *
 * Found on real Xen (make check-xen, xen/blk-pvio-front): against dom0's kernel blkback the
 * front-end announced feature-persistent and the back-end used persistent grants, yet
 * blkfront_get_info said persistent=0, because the library read the back-end's key at
 * InitWait, before it existed.  Linux's blkfront reads it once the back-end is Connected
 * (blkfront_gather_backend_features).  Here the front-end must announce feature-persistent
 * and report persistent grants in use, and I/O must work; with --no-persistent's option it
 * must report none.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define LEN (1u << 20)

static int connect_once(bool no_persistent)
{
	struct blkfront_opts o = { .no_persistent = no_persistent };
	uint8_t *buf = malloc(LEN), *back = malloc(LEN);
	struct blkfront_info in;
	struct blkfront *bf;
	int ret;

	T_CHECK(buf && back, "malloc");
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	blkfront_get_info(bf, &in);
	T_CHECK(in.persistent == !no_persistent, "persistent reported %d with no_persistent %d",
		in.persistent, no_persistent);
	memset(buf, 'p', LEN);
	T_CHECK(blkfront_write(bf, buf, 0, LEN) == 0, "write");
	T_CHECK(blkfront_read(bf, back, 0, LEN) == 0, "read");
	T_CHECK(!memcmp(buf, back, LEN), "read back");
	blkfront_close(bf);
	free(buf);
	free(back);
	return 0;
}

static int front(void *arg)
{
	(void)arg;
	/* The back-end is new: its directory has no feature-persistent before it connects. */
	if (connect_once(false))
		return T_FAIL;
	return connect_once(true);
}

int main(void)
{
	static const struct fb_opts o = { .max_indirect = 32,
					  .persistent = true,
					  .persistent_late = true };

	t_time_limit(60);
	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
