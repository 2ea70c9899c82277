/* SPDX-License-Identifier: MIT */
/*
 * diskbench-aio.c - the native baseline of pvio-diskbench: the guest's loop, run directly on
 * the file through libaio.  The file is opened by blkback_disk_open, as pvio-blkback opens it
 * (O_DIRECT where the file system allows it), so both see the same page cache behaviour.
 */
#include "config.h"

#include <errno.h>
#include <libaio.h>
#include <string.h>

#include "backend/blk/blkback.h"
#include "tools/diskbench/diskbench.h"

/* The engine's state: one aio context, one control block per slot. */
struct aio_engine {
	io_context_t ctx;		  /* sized for the deepest workload */
	int fd;				  /* the file */
	struct iocb cbs[DB_DEPTH_MAX];	  /* one per slot */
	struct io_event ev[DB_DEPTH_MAX]; /* what io_getevents returns */
};

static int aio_submit(void *ctx, struct db_slot *s)
{
	struct aio_engine *a = ctx;
	struct iocb *cb = &a->cbs[s->index];
	int ret;

	if (s->write)
		io_prep_pwrite(cb, a->fd, s->buf, s->len, (long long)s->offset);
	else
		io_prep_pread(cb, a->fd, s->buf, s->len, (long long)s->offset);
	cb->data = s;
	ret = io_submit(a->ctx, 1, &cb);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

static int aio_wait(void *ctx)
{
	struct aio_engine *a = ctx;
	struct db_slot *s;
	int n, i;

	do
		n = io_getevents(a->ctx, 1, DB_DEPTH_MAX, a->ev, NULL);
	while (n == -EINTR);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		s = a->ev[i].data;
		if ((long)a->ev[i].res < 0)
			db_slot_done(s, (int)(long)a->ev[i].res);
		else
			db_slot_done(s, a->ev[i].res == s->len ? 0 : -EIO);
	}
	return 0;
}

int db_file_direct(const char *path)
{
	struct blkback_disk d;
	int ret;

	memset(&d, 0, sizeof(d));
	ret = blkback_disk_open(&d, path, false);
	if (ret < 0)
		return ret;
	ret = d.direct;
	blkback_disk_close(&d);
	return ret;
}

int db_run_aio(const struct db_params *p, struct db_result *res)
{
	struct db_engine e = { aio_submit, aio_wait, NULL };
	struct aio_engine a;
	struct blkback_disk d;
	void *bufs = NULL;
	unsigned int i;
	int ret;

	memset(&a, 0, sizeof(a));
	memset(&d, 0, sizeof(d));
	ret = blkback_disk_open(&d, p->file, false);
	if (ret < 0)
		return db_err(p->file, ret);
	a.fd = d.fd;
	ret = io_setup(DB_DEPTH_MAX, &a.ctx);
	if (ret < 0) {
		db_err("io_setup", ret);
		goto out_close;
	}
	bufs = db_bufs_alloc();
	if (!bufs) {
		ret = -ENOMEM;
		goto out_destroy;
	}
	e.ctx = &a;
	for (i = 0; i < db_nr_workloads; i++) {
		ret = db_loop_run(p, &db_workloads[i], &e, bufs, &res[i]);
		if (ret < 0) {
			db_err(db_workloads[i].name, ret);
			break;
		}
	}
	db_bufs_free(bufs);
out_destroy:
	io_destroy(a.ctx);
out_close:
	blkback_disk_close(&d);
	return ret;
}
