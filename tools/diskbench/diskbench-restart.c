/* SPDX-License-Identifier: MIT */
/*
 * diskbench-restart.c - pvio-diskbench's restart figures (issue 12's targets): the time from
 * blkfront_open to Connected, and the pause a guest sees when pvio-blkback is replaced under
 * it, by kill -9 and a restart (re-attach from the journals) and by a planned hand-over
 * (pvio-blkback --takeover).
 *
 * The guest keeps DEPTH 4 KiB writes in flight through a libpvio-blkfront that never
 * reconnects (as Linux's blkfront) and records the longest gap between two completions; dom0
 * asks for it ('g', which also restarts the measure) around each replacement, and around a
 * window where nothing is replaced (the baseline: what the machine's load alone costs).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "tools/diskbench/diskbench.h"

#define DEPTH	  16u
#define BS	  4096u
#define SPAN	  (16ull << 20) /* the writes' range */
#define SETTLE_MS 100u		/* the stream runs this long before and after each round */

struct rs_guest {
	const struct db_params *p;
	unsigned int n;	   /* rounds of each */
	int cmd, res;	   /* dom0 -> guest, guest -> dom0 */
	int cmd_w, res_r;  /* the ends the guest closes */
	uint64_t last_us;  /* the last completion */
	uint64_t max_gap;  /* the longest gap since the last 'g' */
	uint64_t errors;   /* failed writes */
	unsigned int busy; /* writes in flight */
	bool slot[DEPTH];  /* which are */
	uint64_t rng;	   /* offsets */
	struct blkfront *bf;
	void *bufs;
};

static uint64_t now_us(void)
{
	return db_now_ns() / 1000u;
}

static int put(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -EPIPE;
}

static int get(int fd, void *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	return read(fd, buf, len) == (ssize_t)len ? 0 : -EPIPE;
}

struct rs_op {
	struct rs_guest *g;
	unsigned int i;
};
static struct rs_op ops[DEPTH];

static void done(void *arg, int result)
{
	struct rs_op *o = arg;
	struct rs_guest *g = o->g;
	uint64_t t = now_us();

	if (g->last_us && t - g->last_us > g->max_gap)
		g->max_gap = t - g->last_us;
	g->last_us = t;
	g->errors += result != 0;
	g->slot[o->i] = false;
	g->busy--;
}

static void fill(struct rs_guest *g)
{
	for (unsigned int i = 0; i < DEPTH; i++) {
		uint64_t off;

		if (g->slot[i])
			continue;
		g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
		off = (g->rng >> 33) % (SPAN / BS) * BS;
		ops[i] = (struct rs_op){ g, i };
		if (blkfront_submit(g->bf, BLKFRONT_WRITE, (char *)g->bufs + (size_t)i * BS, off,
				    BS, done, &ops[i]) < 0)
			return;
		g->slot[i] = true;
		g->busy++;
	}
}

/* blkfront_open to Connected, n times (each closed again): into res. */
static int guest_attach(struct rs_guest *g, const struct blkfront_opts *o)
{
	for (unsigned int i = 0; i < g->n; i++) {
		uint64_t t0 = now_us(), us;
		struct blkfront *bf;
		int ret = blkfront_open(&bf, o);

		if (ret < 0)
			return db_err("guest: blkfront_open", ret);
		us = now_us() - t0;
		blkfront_close(bf);
		if (put(g->res, &us, sizeof(us)))
			return -EPIPE;
	}
	return 0;
}

static int guest_stream(struct rs_guest *g)
{
	char c = 0;

	for (;;) {
		struct pollfd pfd = { .fd = g->cmd, .events = POLLIN };

		fill(g);
		if (blkfront_poll(g->bf, 1) < 0)
			return -EIO;
		if (poll(&pfd, 1, 0) <= 0)
			continue;
		if (read(g->cmd, &c, 1) != 1 || c == 'q')
			break;
		if (put(g->res, &g->max_gap, sizeof(g->max_gap)))
			return -EPIPE;
		g->max_gap = 0;
	}
	while (g->busy)
		if (blkfront_poll(g->bf, 1000) < 0)
			return -EIO;
	return put(g->res, &g->errors, sizeof(g->errors));
}

static int guest_main(void *arg)
{
	struct rs_guest *g = arg;
	struct blkfront_opts o = { .devid = 51712,
				   .queues = g->p->queues,
				   .queue_depth = DEPTH,
				   .timeout_ms = -1,
				   .no_reconnect = true };
	int ret;

	close(g->cmd_w);
	close(g->res_r);
	ret = guest_attach(g, &o);
	if (ret == 0)
		ret = blkfront_open(&g->bf, &o);
	if (ret < 0)
		return 1;
	g->bufs = db_bufs_alloc();
	ret = g->bufs ? guest_stream(g) : -ENOMEM;
	blkfront_close(g->bf);
	return ret < 0;
}

struct rs_dom0 {
	struct rs_guest *g;
	struct db_restart *out;
};

/* One measured window: the stream's longest gap across what replace did (NULL: nothing). */
static int window(struct db_pvio_ctl *c, struct rs_guest *g, int (*replace)(struct db_pvio_ctl *),
		  uint64_t *gap)
{
	int ret;

	usleep(SETTLE_MS * 1000u);
	ret = put(g->cmd_w, "g", 1);
	if (!ret)
		ret = get(g->res_r, gap, sizeof(*gap), 10000);
	if (!ret && replace)
		ret = replace(c);
	usleep(SETTLE_MS * 1000u);
	if (!ret)
		ret = put(g->cmd_w, "g", 1);
	if (!ret)
		ret = get(g->res_r, gap, sizeof(*gap), 30000);
	return ret;
}

static int dom0(struct db_pvio_ctl *c, void *arg)
{
	struct rs_dom0 *d = arg;
	struct rs_guest *g = d->g;
	struct db_restart *out = d->out;
	int ret = 0;

	for (unsigned int i = 0; i < g->n && !ret; i++)
		ret = get(g->res_r, &out->attach_us[i], sizeof(uint64_t), 30000);
	for (unsigned int i = 0; i < g->n && !ret; i++)
		ret = window(c, g, NULL, &out->baseline_us[i]);
	for (unsigned int i = 0; i < g->n && !ret; i++)
		ret = window(c, g, c->restart, &out->restart_us[i]);
	for (unsigned int i = 0; i < g->n && !ret; i++)
		ret = window(c, g, c->takeover, &out->handover_us[i]);
	if (!ret)
		ret = put(g->cmd_w, "q", 1);
	if (!ret)
		ret = get(g->res_r, &out->errors, sizeof(out->errors), 30000);
	if (ret)
		return db_err("restart figures", ret);
	out->n = g->n;
	return 0;
}

/* The journals, the hand-over socket and the pid file, then the directory. */
static void dir_remove(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(path);
}

int db_run_restart(const struct db_params *p, unsigned int n, struct db_restart *out)
{
	char jdir[] = "/dev/shm/pvio-diskbench-journal.XXXXXX";
	struct rs_guest g = { .p = p, .n = n, .rng = 1 };
	struct rs_dom0 d = { &g, out };
	int cmd[2], res[2], ret;

	out->n = 0;
	if (!n)
		return 0;
	if (!mkdtemp(jdir))
		return db_err("mkdtemp", -errno);
	if (pipe(cmd) < 0 || pipe(res) < 0)
		return db_err("pipe", -errno);
	g.cmd = cmd[0];
	g.cmd_w = cmd[1];
	g.res = res[1];
	g.res_r = res[0];
	ret = db_run_pvio_ctl(p, jdir, guest_main, &g, dom0, &d);
	close(cmd[0]);
	close(cmd[1]);
	close(res[0]);
	close(res[1]);
	dir_remove(jdir);
	return ret;
}
