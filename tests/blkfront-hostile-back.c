/* SPDX-License-Identifier: MIT */
/*
 * blkfront-hostile-back.c - a back-end that answers wrongly: an id the front-end never used,
 * one request answered twice, a rsp_prod more than a ring ahead, a response with the wrong
 * operation; one of each on four successive connections, after 20 good answers.  Each is a
 * protocol error: the front-end must drop that connection, reconnect, re-issue, and complete
 * every operation with 0 -- no crash, no hang -- and the disk must hold every acknowledged
 * write.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define CHUNK (64u << 10)
#define OPS   400

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 2, .ring_order = 1 };
	uint8_t *model = calloc(1, FB_DISK_BYTES), *buf = malloc(CHUNK);
	struct blkfront_stats st;
	struct blkfront *bf;
	unsigned int i;
	int ret;

	(void)arg;
	T_CHECK(model && buf, "malloc");
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	srandom(3);
	for (i = 0; i < OPS; i++) {
		uint64_t off = (uint64_t)random() % (FB_DISK_BYTES / CHUNK) * CHUNK;
		size_t len = ((size_t)random() % (CHUNK / 512) + 1) * 512;

		memset(buf, (int)random(), len);
		ret = blkfront_write(bf, buf, off, len);
		T_CHECK(ret == 0, "write %u: %d", i, ret);
		memcpy(model + off, buf, len);
	}
	blkfront_get_stats(bf, &st);
	fprintf(stderr, "reconnects %llu reissued %llu\n", (unsigned long long)st.reconnects,
		(unsigned long long)st.reissued);
	T_CHECK(st.reconnects == 4, "four protocol errors, four reconnects: %llu",
		(unsigned long long)st.reconnects);
	T_CHECK(!memcmp(model, fb_env.disk, FB_DISK_BYTES), "every acknowledged write on disk");
	for (i = 0; i < FB_DISK_BYTES / CHUNK; i++) {
		T_CHECK(blkfront_read(bf, buf, (uint64_t)i * CHUNK, CHUNK) == 0, "read");
		T_CHECK(!memcmp(buf, model + (size_t)i * CHUNK, CHUNK), "read back %u", i);
	}
	blkfront_close(bf);
	free(buf);
	free(model);
	return 0;
}

static int back(void *arg)
{
	struct fb_opts o = { .max_queues = 4,
			     .max_order = 2,
			     .max_indirect = 256,
			     .persistent = true,
			     .flush = true,
			     .cycle = true,
			     .after = 20 };

	(void)arg;
	return fb_serve(&o) == 0 ? 0 : T_FAIL;
}

int main(void)
{
	if (fb_env_start(back, front, NULL))
		return T_FAIL;
	return fb_env_wait() ? T_FAIL : T_PASS;
}
