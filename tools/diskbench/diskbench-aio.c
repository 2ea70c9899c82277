/* SPDX-License-Identifier: MIT */
/*
 * diskbench-aio.c - the native baseline of pvio-diskbench: the guest's loop, run directly on
 * the file through libaio.  The file is opened by blkback_disk_open, as pvio-blkback opens it
 * (O_DIRECT where the file system allows it), so both see the same page cache behaviour.
 */
#include "config.h"

#include <errno.h>
#include <libaio.h>
#include <pthread.h>
#include <stdlib.h>
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

/*
 * The loop over every workload on one aio context.  With split > 1 this is one of split
 * threads: each keeps depth/split I/Os in flight (at least one), and all start each workload
 * together at bar.  After an error it only keeps meeting the others at bar.
 */
static int aio_run(const struct db_params *p, unsigned int split, pthread_barrier_t *bar,
		   struct db_result *res)
{
	struct db_engine e = { aio_submit, aio_wait, NULL };
	struct aio_engine a;
	struct blkback_disk d;
	void *bufs = NULL;
	unsigned int i;
	bool opened;
	int ret;

	memset(&a, 0, sizeof(a));
	memset(&d, 0, sizeof(d));
	ret = blkback_disk_open(&d, p->file, false);
	opened = ret == 0;
	if (ret < 0)
		db_err(p->file, ret);
	else if ((ret = io_setup(DB_DEPTH_MAX, &a.ctx)) < 0)
		db_err("io_setup", ret);
	else if (!(bufs = db_bufs_alloc()))
		ret = -ENOMEM;
	a.fd = d.fd;
	e.ctx = &a;
	for (i = 0; i < db_nr_workloads; i++) {
		struct db_workload w = db_workloads[i];

		if (bar)
			pthread_barrier_wait(bar);
		if (ret < 0)
			continue;
		w.depth = w.depth / split ? w.depth / split : 1;
		ret = db_loop_run(p, &w, &e, bufs, &res[i]);
		if (ret < 0)
			db_err(db_workloads[i].name, ret);
	}
	db_bufs_free(bufs);
	if (a.ctx)
		io_destroy(a.ctx);
	if (opened)
		blkback_disk_close(&d);
	return ret;
}

int db_run_aio(const struct db_params *p, struct db_result *res)
{
	return aio_run(p, 1, NULL, res);
}

struct aio_thread {
	const struct db_params *p;
	unsigned int n;
	pthread_barrier_t *bar;
	struct db_result res[DB_NR_WORKLOADS];
	int ret;
	pthread_t thread;
};

static void *aio_thread_main(void *arg)
{
	struct aio_thread *t = arg;

	t->ret = aio_run(t->p, t->n, t->bar, t->res);
	return NULL;
}

/* Sum what the threads did in one workload: ops and bytes add, latencies by their weight. */
static void aio_combine(const struct aio_thread *t, unsigned int n, unsigned int w,
			struct db_result *out)
{
	double lat = 0;

	memset(out, 0, sizeof(*out));
	out->have_lat = true;
	for (unsigned int i = 0; i < n; i++) {
		const struct db_result *r = &t[i].res[w];

		if (!out->err)
			out->err = r->err;
		out->ops += r->ops;
		out->bytes += r->bytes;
		out->ns = r->ns > out->ns ? r->ns : out->ns;
		lat += r->mean_ns * (double)r->ops;
		out->p99_ns = r->p99_ns > out->p99_ns ? r->p99_ns : out->p99_ns;
		out->have_lat = out->have_lat && r->have_lat;
	}
	out->mean_ns = out->ops ? lat / (double)out->ops : 0;
	out->cpu = t[0].res[w].cpu; /* the threads' timed parts start together (the barrier) */
}

int db_run_aio_threads(const struct db_params *p, unsigned int n, struct db_result *res)
{
	struct aio_thread t[DB_AIO_THREADS_MAX];
	pthread_barrier_t bar;
	unsigned int started = 0;
	int ret = 0;

	if (n < 1 || n > DB_AIO_THREADS_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(t));
	pthread_barrier_init(&bar, NULL, n);
	for (; started < n; started++) {
		t[started] = (struct aio_thread){ .p = p, .n = n, .bar = &bar };
		ret = -pthread_create(&t[started].thread, NULL, aio_thread_main, &t[started]);
		if (ret)
			break;
	}
	/* A thread that could not start would leave the others at the barrier for ever. */
	if (ret)
		abort();
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(t[i].thread, NULL);
		if (!ret)
			ret = t[i].ret;
	}
	pthread_barrier_destroy(&bar);
	for (unsigned int w = 0; w < db_nr_workloads; w++)
		aio_combine(t, n, w, &res[w]);
	return ret;
}
