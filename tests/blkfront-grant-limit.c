/* SPDX-License-Identifier: MIT */
/*
 * blkfront-grant-limit.c - the grant pool fits the grants the process may share (gntalloc's
 * `limit` on Xen, 1024 by default: less than the default pool and its ring).
 *
 * In the front-end's domain, hv_grant_share and hv_grant_end are wrapped (tests/grant-limit-wrap.c)
 * to count the pages shared and refuse with -ENOSPC past a limit, as gntalloc does, and
 * hv_grant_left reports what is left.  With 2 queues of 2 ring pages: an explicit pool_pages that
 * cannot fit, and a limit below one request per queue, fail blkfront_open with -ENOSPC and an error
 * line naming gntalloc's limit; under a limit of 600 the default pool shrinks (one info line says
 * so) and I/O works.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "hv/hv.h"
#include "tests/blk-fakeback.h"
#include "tests/grant-limit-wrap.h"
#include "tests/helpers.h"

#define LEN (1u << 20)

/* Log lines mentioning gntalloc, by level. */
static unsigned int said_error, said_info;

static void log_line(void *arg, enum blkfront_log_level level, const char *line)
{
	(void)arg;
	fprintf(stderr, "log %d: %s\n", (int)level, line);
	if (strstr(line, "gntalloc") && level == BLKFRONT_LOG_ERROR)
		said_error++;
	else if (strstr(line, "gntalloc") && level == BLKFRONT_LOG_INFO)
		said_info++;
}

/* Open with pool_pages under a limit of `room` pages more than are shared now. */
static int try_open(struct blkfront **bf, unsigned int pool, unsigned int room)
{
	struct blkfront_opts o = { .queues = 2,
				   .ring_order = 1,
				   .pool_pages = pool,
				   .timeout_ms = 20000,
				   .log = log_line,
				   .log_level = BLKFRONT_LOG_INFO };

	gl_limit = gl_shared + room;
	return blkfront_open(bf, &o);
}

static int io(struct blkfront *bf)
{
	uint8_t *buf = malloc(LEN), *back = malloc(LEN);
	struct blkfront_info in;

	T_CHECK(buf && back, "malloc");
	memset(buf, 0x5a, LEN);
	T_CHECK(blkfront_write(bf, buf, 4096, LEN) == 0, "write");
	T_CHECK(blkfront_read(bf, back, 4096, LEN) == 0, "read");
	T_CHECK(!memcmp(buf, back, LEN), "read back");
	T_CHECK(blkfront_flush(bf) == 0, "flush");
	blkfront_get_info(bf, &in);
	T_CHECK(in.queues == 2, "queues %u", in.queues);
	free(buf);
	free(back);
	return 0;
}

static int front(void *arg)
{
	struct blkfront *bf;
	int ret;

	(void)arg;
	gl_limited = true;
	ret = try_open(&bf, 400, 600);
	T_CHECK(ret == -ENOSPC, "explicit pool of 400 under 600: %d", ret);
	T_CHECK(said_error == 1, "%u error lines naming gntalloc", said_error);
	ret = try_open(&bf, 0, 2 * (2 + 10));
	T_CHECK(ret == -ENOSPC, "less than a request a queue: %d", ret);
	T_CHECK(said_error == 2, "%u error lines naming gntalloc", said_error);
	ret = try_open(&bf, 0, 600);
	T_CHECK(ret == 0, "default pool under 600: %s", strerror(-ret));
	T_CHECK(said_info == 1, "%u info lines naming gntalloc", said_info);
	T_CHECK(gl_shared <= gl_limit, "%u shared", gl_shared);
	if (io(bf))
		return T_FAIL;
	blkfront_close(bf);
	return 0;
}

int main(void)
{
	static const struct fb_opts o = {
		.max_queues = 2, .max_order = 2, .max_indirect = 256, .flush = true
	};

	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
