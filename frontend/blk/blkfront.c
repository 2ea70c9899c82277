/* SPDX-License-Identifier: MIT */
/*
 * blkfront.c - libpvio-blkfront's handle: open, close, info and stats, and the two halves of
 * the xenbus handshake, modelled on Linux xen-blkfront: talk_to_blkback (read what the
 * back-end offers, set up the queues, write the ring keys in one transaction, Initialised) and
 * blkfront_connect (read the disk's properties once the back-end is Connected).
 *
 * Everything read from the back-end's directory is parsed strictly and bounded.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <xen/io/protocols.h>

#include "frontend/blk/blkfront-priv.h"

/* <otherend>/key as a u32 no larger than max, or def when it is absent or malformed. */
static unsigned int be_u32(struct blkfront *bf, const char *key, uint32_t def, uint32_t max)
{
	uint32_t v;

	if (xenbus_otherend_read_u32(&bf->dev, XBT_NULL, key, &v) < 0)
		return def;
	return v > max ? max : v;
}

int bf_backend_online(struct blkfront *bf)
{
	uint32_t v;
	int ret = xenbus_otherend_read_u32(&bf->dev, XBT_NULL, "online", &v);

	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : (v != 0);
}

static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

/* What to ask for, from what the back-end offers and the caller wants. */
static void negotiate(struct blkfront *bf)
{
	bf->be_max_queues = be_u32(bf, "multi-queue-max-queues", 1, BF_MAX_QUEUES);
	bf->be_max_order = be_u32(bf, "max-ring-page-order", 0, RING_ORDER_MAX);
	bf->be_indirect = be_u32(bf, "feature-max-indirect-segments", 0, BF_MAX_SEGS);
	bf->info.queues = min_u(bf->opts.queues, bf->be_max_queues ? bf->be_max_queues : 1);
	bf->info.ring_order = min_u(bf->opts.ring_order, bf->be_max_order);
	bf->pool_pages = bf->opts.pool_pages;
}

/* Segments per part: what both ends take, fitted to an empty pool of the chosen size. */
static void choose_segs(struct blkfront *bf)
{
	unsigned int segs = BLKIF_MAX_SEGMENTS_PER_REQUEST, pool = bf->pool_pages;

	if (!bf->opts.no_indirect && bf->be_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		segs = min_u(bf->opts.max_indirect_segments, bf->be_indirect);
	/* A part's data and descriptor pages must fit an empty pool. */
	if (segs > pool)
		segs = pool;
	while (segs > BLKIF_MAX_SEGMENTS_PER_REQUEST &&
	       segs + (segs + BF_SEGS_PER_PAGE - 1) / BF_SEGS_PER_PAGE > pool)
		segs--;
	bf->part_segs = segs ? segs : 1;
	bf->info.max_segments = bf->part_segs;
}

static int write_ring_keys(struct blkfront *bf, xs_transaction_t t, const struct bf_queue *q,
			   const char *dir)
{
	char key[64];
	unsigned int i;
	int ret = 0;

	for (i = 0; ret == 0 && i < (1u << q->order); i++) {
		if (q->order == 0)
			snprintf(key, sizeof(key), "%sring-ref", dir);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
		ret = xenbus_printf(&bf->dev, t, key, "%u", q->refs[i]);
	}
	snprintf(key, sizeof(key), "%sevent-channel", dir);
	return ret ? ret : xenbus_printf(&bf->dev, t, key, "%u", q->port);
}

/* Remove the keys a previous connection may have left (a queue count or order that changed). */
static void remove_old_keys(struct blkfront *bf, xs_transaction_t t)
{
	static const char *const keys[] = { "ring-ref", "event-channel", "ring-page-order",
					    "multi-queue-num-queues" };
	char path[512];
	unsigned int i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", bf->dev.nodename, keys[i]);
		xs_rm(bf->xs, t, path);
	}
	for (i = 0; i < (1u << RING_ORDER_MAX); i++) {
		snprintf(path, sizeof(path), "%s/ring-ref%u", bf->dev.nodename, i);
		xs_rm(bf->xs, t, path);
	}
	for (i = 0; i < BF_MAX_QUEUES; i++) {
		snprintf(path, sizeof(path), "%s/queue-%u", bf->dev.nodename, i);
		xs_rm(bf->xs, t, path);
	}
}

/* The ring keys of every queue, in one transaction (Linux's talk_to_blkback). */
static int ring_keys_txn(struct xenbus_dev *dev, xs_transaction_t t, void *arg)
{
	struct blkfront *bf = arg;
	unsigned int i;
	char dir[32];
	int ret = 0;

	(void)dev;
	remove_old_keys(bf, t);
	if (bf->info.ring_order > 0)
		ret = xenbus_printf(&bf->dev, t, "ring-page-order", "%u", bf->info.ring_order);
	if (ret == 0 && bf->nqueues == 1)
		ret = write_ring_keys(bf, t, &bf->queues[0], "");
	else if (ret == 0)
		ret = xenbus_printf(&bf->dev, t, "multi-queue-num-queues", "%u", bf->nqueues);
	for (i = 0; ret == 0 && bf->nqueues > 1 && i < bf->nqueues; i++) {
		snprintf(dir, sizeof(dir), "queue-%u/", i);
		ret = write_ring_keys(bf, t, &bf->queues[i], dir);
	}
	if (ret == 0)
		ret = xenbus_printf(&bf->dev, t, "protocol", "%s", XEN_IO_PROTO_ABI_NATIVE);
	if (ret == 0)
		ret = xenbus_printf(&bf->dev, t, "feature-persistent", "%u",
				    bf->opts.no_persistent ? 0u : 1u);
	return ret;
}

/* One request of the most segments a ring slot holds: the least a queue's pool must take. */
#define BF_MIN_POOL BLKIF_MAX_SEGMENTS_PER_REQUEST

/*
 * Fit every queue's ring and pool into the grants this process may still share (gntalloc's
 * `limit` on Xen, 1024 by default: less than the default pool and its ring).  The default pool
 * shrinks to fit; a pool the caller chose, or one smaller than a request, does not.  A limit we
 * cannot read leaves the pool as asked: sharing then fails with the kernel's own error.
 */
static int fit_pool(struct blkfront *bf)
{
	unsigned int nq = bf->info.queues, ring = 1u << bf->info.ring_order, left, fit;

	if (hv_grant_left(bf->hv, &left) < 0 || left / nq >= ring + bf->pool_pages)
		return 0;
	fit = left / nq > ring ? left / nq - ring : 0;
	if (bf->pool_explicit || fit < BF_MIN_POOL) {
		pvio_log(bf->log, PVIO_LOG_ERROR, "blkfront",
			 "vbd %u: %u queues of %u ring and %u pool pages do not fit the %u grants "
			 "left under the grant limit (gntalloc's limit on Xen)",
			 bf->info.devid, nq, ring, bf->pool_explicit ? bf->pool_pages : BF_MIN_POOL,
			 left);
		return -ENOSPC;
	}
	if (!bf->pool_logged)
		pvio_log(
		    bf->log, PVIO_LOG_INFO, "blkfront",
		    "vbd %u: pool of %u pages a queue, not %u: %u queues of %u ring pages must "
		    "fit the %u grants left under the grant limit (gntalloc's limit on Xen)",
		    bf->info.devid, fit, bf->pool_pages, nq, ring, left);
	bf->pool_logged = true;
	bf->pool_pages = fit;
	return 0;
}

int bf_talk_to_backend(struct blkfront *bf)
{
	struct bf_part *list = NULL;
	unsigned int i;
	int ret;

	negotiate(bf);
	ret = fit_pool(bf);
	choose_segs(bf);
	for (i = 0; ret == 0 && i < bf->info.queues; i++) {
		ret = bf_queue_setup(bf, &bf->queues[i], i);
		bf->nqueues = i + 1;
	}
	if (ret == 0)
		ret = xenbus_transaction(&bf->dev, ring_keys_txn, bf);
	if (ret == 0)
		ret = xenbus_switch_state(&bf->dev, XenbusStateInitialised);
	if (ret == 0) {
		bf->info.ring_entries = bf->queues[0].rf.nr_ents;
		return 0;
	}
	pvio_log(bf->log, PVIO_LOG_WARN, "blkfront", "vbd %u: setting up rings: %s", bf->info.devid,
		 strerror(-ret));
	for (i = 0; i < bf->nqueues; i++)
		bf_queue_teardown(bf, &bf->queues[i], &list);
	bf->nqueues = 0;
	return ret;
}

/* <otherend>/sectors: a u64 in decimal, digits only. */
static int read_sectors(struct blkfront *bf, uint64_t *sectors)
{
	char *v, *end;
	int ret = xenbus_otherend_read_str(&bf->dev, XBT_NULL, "sectors", &v);

	if (ret < 0)
		return ret;
	errno = 0;
	*sectors = strtoull(v, &end, 10);
	ret = (!*v || *end || *v < '0' || *v > '9' || errno) ? -EINVAL : 0;
	free(v);
	return ret;
}

/* The disk's properties once the back-end is Connected (Linux's blkfront_connect). */
int bf_read_connect_info(struct blkfront *bf)
{
	struct blkfront_info *in = &bf->info;
	unsigned int vinfo;
	int ret = read_sectors(bf, &in->sectors);

	if (ret < 0)
		return ret;
	if (in->sectors > UINT64_MAX / BF_SECTOR)
		return -ERANGE;
	vinfo = be_u32(bf, "info", 0, UINT32_MAX);
	in->readonly = vinfo & VDISK_READONLY;
	in->cdrom = vinfo & VDISK_CDROM;
	in->removable = vinfo & VDISK_REMOVABLE;
	in->sector_size = be_u32(bf, "sector-size", BF_SECTOR, 1u << 16);
	if (in->sector_size < BF_SECTOR || (in->sector_size & (in->sector_size - 1)))
		return -EINVAL;
	in->physical_sector_size = be_u32(bf, "physical-sector-size", in->sector_size, 1u << 20);
	if (in->physical_sector_size < in->sector_size)
		in->physical_sector_size = in->sector_size;
	in->flush = be_u32(bf, "feature-flush-cache", 0, 1);
	in->barrier = be_u32(bf, "feature-barrier", 0, 1);
	in->discard = be_u32(bf, "feature-discard", 0, 1);
	in->secure_discard = in->discard && be_u32(bf, "discard-secure", 0, 1);
	in->discard_granularity = be_u32(bf, "discard-granularity", in->sector_size, UINT32_MAX);
	in->discard_alignment = be_u32(bf, "discard-alignment", 0, UINT32_MAX);
	/* Linux's blkback writes feature-persistent only as it connects, not at InitWait. */
	in->persistent = !bf->opts.no_persistent && be_u32(bf, "feature-persistent", 0, 1) == 1;
	if (!bf->opts.queue_depth)
		bf->depth = in->queues * in->ring_entries;
	return 0;
}

/* device/vbd/<devid>, or the lowest-numbered entry for devid 0. */
static int find_device(struct blkfront *bf, char *path, size_t len)
{
	domid_t self;
	unsigned int n, i, best = UINT32_MAX;
	char dir[64], **ents;
	int ret = hv_domid(bf->hv, &self);

	if (ret < 0)
		return ret;
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd", (unsigned int)self);
	if (bf->opts.devid == 0) {
		ents = xs_directory(bf->xs, XBT_NULL, dir, &n);
		if (!ents)
			return -ENOENT;
		for (i = 0; i < n; i++) {
			uint32_t v;

			if (xenbus_parse_u32(ents[i], UINT32_MAX - 1, &v) == 0 && v < best)
				best = v;
		}
		free(ents);
		if (best == UINT32_MAX)
			return -ENOENT;
		bf->opts.devid = best;
	}
	bf->info.devid = bf->opts.devid;
	if ((size_t)snprintf(path, len, "%s/%u", dir, bf->opts.devid) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * find_device, polled every 100 ms for up to device_wait_ms: a guest's program may start before
 * the toolstack has attached the disk, as a guest kernel boots before a hot-plugged disk.
 */
static int find_device_wait(struct blkfront *bf, char *path, size_t len)
{
	long long deadline =
	    hv_now_ms() + (bf->opts.device_wait_ms > 0 ? bf->opts.device_wait_ms : 0);
	unsigned int devid = bf->opts.devid;
	int ret;

	for (;;) {
		bf->opts.devid = devid;
		ret = find_device(bf, path, len);
		if (ret == 0 && devid) {
			unsigned int n;
			char *state = xs_read(bf->xs, XBT_NULL, path, &n);

			/* The directory is written in one transaction: it exists whole or not. */
			free(state);
			if (!state)
				ret = -ENOENT;
		}
		if (ret != -ENOENT || hv_now_ms() >= deadline)
			return ret;
		usleep(100 * 1000);
	}
}

_Static_assert(BLKFRONT_LOG_ERROR == (int)PVIO_LOG_ERROR &&
		   BLKFRONT_LOG_DEBUG == (int)PVIO_LOG_DEBUG,
	       "the public log levels are pvio's");

static void logger_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
			const char *fmt, va_list ap)
{
	struct bf_logger *l = (struct bf_logger *)log;
	char msg[512], line[600];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "%s: %s", prefix, msg);
	l->fn(l->arg, (enum blkfront_log_level)level, line);
}

/* The caller's log function, or stderr, up to the level asked for. */
static void logger_init(struct blkfront *bf)
{
	enum pvio_log_level max =
	    bf->opts.log_level ? (enum pvio_log_level)bf->opts.log_level : PVIO_LOG_WARN;

	if (!bf->opts.log) {
		bf->log = pvio_log_stderr(max);
		return;
	}
	bf->logger = (struct bf_logger){
		.log = { .vlog = logger_vlog, .max = max },
		.fn = bf->opts.log,
		.arg = bf->opts.log_arg,
	};
	bf->log = &bf->logger.log;
}

static void defaults(struct blkfront *bf, const struct blkfront_opts *opts)
{
	if (opts)
		bf->opts = *opts;
	if (!bf->opts.queues)
		bf->opts.queues = 1;
	if (bf->opts.queues > BF_MAX_QUEUES)
		bf->opts.queues = BF_MAX_QUEUES;
	if (bf->opts.ring_order > RING_ORDER_MAX)
		bf->opts.ring_order = RING_ORDER_MAX;
	if (!bf->opts.max_indirect_segments)
		bf->opts.max_indirect_segments = BF_DEFAULT_INDIRECT;
	if (bf->opts.max_indirect_segments > BF_MAX_SEGS)
		bf->opts.max_indirect_segments = BF_MAX_SEGS;
	bf->pool_explicit = bf->opts.pool_pages != 0;
	if (!bf->opts.pool_pages)
		bf->opts.pool_pages = BF_DEFAULT_POOL;
	if (!bf->opts.timeout_ms)
		bf->opts.timeout_ms = BF_DEFAULT_TIMEOUT_MS;
	/* Where the clock is a system call a spin is none (ring_clock_slow): off, unless fixed. */
	ring_poll_init(&bf->poll,
		       bf->opts.no_poll	   ? RING_POLL_OFF
		       : bf->opts.poll_us  ? RING_POLL_FIXED
		       : ring_clock_slow() ? RING_POLL_OFF
					   : RING_POLL_ADAPTIVE,
		       bf->opts.poll_us, 0);
	bf->depth = bf->opts.queue_depth;
	logger_init(bf);
	bf->epfd = -1;
}

static int open_handles(struct blkfront *bf)
{
	struct hv_open_opts ho = { .log = bf->log };
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	ret = hv_open(&bf->hv, &ho);
	if (ret < 0)
		return ret;
	bf->xs = bf->opts.xs;
	if (!bf->xs) {
		bf->xs = xs_open(0);
		if (!bf->xs)
			return errno ? -errno : -EIO;
		bf->own_xs = true;
	}
	bf->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (bf->epfd < 0)
		return -errno;
	if (epoll_ctl(bf->epfd, EPOLL_CTL_ADD, hv_evtchn_fd(bf->hv), &ev) < 0 ||
	    epoll_ctl(bf->epfd, EPOLL_CTL_ADD, xs_fileno(bf->xs), &ev) < 0)
		return -errno;
	return 0;
}

/* Drive the handshake until Connected, the device is gone, or the timeout. */
static int connect_wait(struct blkfront *bf)
{
	long long deadline = hv_now_ms() + bf->opts.timeout_ms;
	enum xenbus_state st;
	int ret = xenbus_watch_otherend(&bf->dev);

	if (ret == 0)
		ret = xenbus_read_otherend_state(&bf->dev, &st);
	if (ret == 0)
		ret = bf_state_act(bf, st);
	while (ret == 0 && bf->status != BF_CONNECTED && bf->status != BF_GONE) {
		struct epoll_event ev;
		long long left = deadline - hv_now_ms();

		if (bf->opts.timeout_ms > 0 && left <= 0)
			return -ETIMEDOUT;
		epoll_wait(bf->epfd, &ev, 1,
			   left > 100 || bf->opts.timeout_ms < 0 ? 100 : (int)left);
		ret = bf_state_step(bf);
	}
	if (ret == 0 && bf->status == BF_GONE)
		ret = -ENODEV;
	return ret;
}

/*
 * Our own state as an earlier front-end left it.  Initialising is the toolstack's fresh device,
 * and Closed a clean close: both start the handshake as they are (a back-end already Connected
 * then is one that connects early, as NetBSD's xbdback does).  Anything else is a front-end
 * process that died connected, and its back-end may still be serving that front's rings:
 * switch to Closed so that it disconnects, and go on from its Closed as after losing it.
 */
static int reset_stale(struct blkfront *bf)
{
	uint32_t own;
	int ret = xenbus_read_u32(&bf->dev, XBT_NULL, "state", &own);

	if (ret == -ENOENT ||
	    (ret == 0 && (own == XenbusStateInitialising || own == XenbusStateClosed)))
		return 0;
	pvio_log(bf->log, PVIO_LOG_INFO, "blkfront", "vbd %u: stale state %d: reset through Closed",
		 bf->info.devid, ret == 0 ? (int)own : ret);
	return xenbus_switch_state(&bf->dev, XenbusStateClosed);
}

int blkfront_open(struct blkfront **bfp, const struct blkfront_opts *opts)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	char path[128];
	int ret;

	if (!bf)
		return -ENOMEM;
	defaults(bf, opts);
	ret = open_handles(bf);
	if (ret == 0)
		ret = find_device_wait(bf, path, sizeof(path));
	if (ret == 0)
		ret = xenbus_dev_open(&bf->dev, bf->xs, XENBUS_FRONTEND, path);
	if (ret == 0) {
		bf->info.backend_id = bf->dev.otherend_id;
		bf->status = BF_DISCONNECTED;
		ret = reset_stale(bf);
	}
	if (ret == 0)
		ret = connect_wait(bf);
	if (ret < 0) {
		blkfront_close(bf);
		return ret;
	}
	*bfp = bf;
	return 0;
}

/*
 * Wait up to ms for the back-end's state to be in mask, re-trying zombie grants meanwhile.  Not
 * when xenstore or the hypervisor is gone: nothing could answer, or no grant could end.
 */
static void close_wait(struct blkfront *bf, unsigned int mask, int ms)
{
	long long deadline = hv_now_ms() + ms;
	enum xenbus_state st = XenbusStateUnknown;

	if (bf->xs_lost || !bf->hv || hv_check(bf->hv) < 0)
		return;
	while (hv_now_ms() < deadline) {
		if (xenbus_wait_otherend(&bf->dev, mask, 50, &st) != -ETIMEDOUT)
			break;
	}
	bf_zombies_retry(bf);
}

void blkfront_close(struct blkfront *bf)
{
	unsigned int mask = XENBUS_STATE_BIT(XenbusStateClosing) |
			    XENBUS_STATE_BIT(XenbusStateClosed) |
			    XENBUS_STATE_BIT(XenbusStateUnknown);
	struct bf_part *list = NULL;
	unsigned int i;
	int tries;

	if (!bf)
		return;
	if (bf->dev.nodename) {
		xenbus_switch_state(&bf->dev, XenbusStateClosing);
		close_wait(bf, mask, BF_CLOSE_TIMEOUT_MS);
	}
	for (i = 0; i < bf->nqueues; i++)
		bf_queue_teardown(bf, &bf->queues[i], &list);
	bf->nqueues = 0;
	bf->status = BF_GONE;
	while (list) {
		struct bf_part *p = list;

		list = p->next;
		bf_part_complete(bf, p, -ECANCELED);
	}
	bf_fail_all(bf, -ECANCELED);
	bf_run_done(bf);
	if (bf->dev.nodename) {
		xenbus_switch_state(&bf->dev, XenbusStateClosed);
		close_wait(
		    bf, XENBUS_STATE_BIT(XenbusStateClosed) | XENBUS_STATE_BIT(XenbusStateUnknown),
		    BF_CLOSE_TIMEOUT_MS);
		xenbus_dev_close(&bf->dev);
	}
	bf_regions_release(bf);
	for (tries = 0; bf->zombies && tries < 20; tries++) {
		usleep(10000);
		bf_zombies_retry(bf);
	}
	if (bf->zombies)
		pvio_log(bf->log, PVIO_LOG_WARN, "blkfront", "grants still mapped: left granted");
	if (bf->epfd >= 0)
		close(bf->epfd);
	if (bf->own_xs)
		xs_close(bf->xs);
	if (bf->hv)
		hv_close(bf->hv);
	free(bf);
}

void blkfront_get_info(const struct blkfront *bf, struct blkfront_info *info)
{
	*info = bf->info;
	info->queues = bf->nqueues ? bf->nqueues : bf->info.queues;
}

void blkfront_get_stats(const struct blkfront *bf, struct blkfront_stats *st)
{
	*st = bf->stats;
	st->poll_hits = bf->poll.hits;
	st->poll_misses = bf->poll.misses;
	st->poll_sleeps = bf->poll.sleeps;
}
