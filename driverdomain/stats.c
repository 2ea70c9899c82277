/* SPDX-License-Identifier: MIT */
/*
 * stats.c - pvio-blkback's statistics files: <stats-dir>/<frontend-domid>.<devid>, "key value"
 * lines, replaced atomically (a temporary file renamed over it) so a reader never sees half.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "driverdomain/blkbackd.h"

#define PREFIX "pvio-blkback"

static int write_file(const char *tmp, const struct bbd_device *d, const struct blkback_stats *st)
{
	const struct blkback_dev *dev = d->dev;
	FILE *f = fopen(tmp, "w");
	int ret;

	if (!f)
		return -errno;
	fprintf(f, "state %s\n", xenbus_state_name(dev->xd.state));
	fprintf(f, "frontend %u\ndevid %u\n", dev->xd.otherend_id, dev->devid);
	fprintf(f, "disk-io %s\n",
		!dev->disk.sector_size ? "none" /* not opened yet */
		: dev->disk.loop_held  ? "loop-file"
		: dev->disk.direct     ? "direct"
				       : "buffered");
	fprintf(f, "queues %u\nring-order %u\npersistent %d\n", dev->nr_queues, dev->ring_order,
		dev->nr_queues ? dev->persistent : 0);
	fprintf(f, "reads %llu\nwrites %llu\nflushes %llu\nbarriers %llu\ndiscards %llu\n",
		(unsigned long long)st->reads, (unsigned long long)st->writes,
		(unsigned long long)st->flushes, (unsigned long long)st->barriers,
		(unsigned long long)st->discards);
	fprintf(f, "indirect %llu\nunsupported %llu\nerrors %llu\n",
		(unsigned long long)st->indirect, (unsigned long long)st->unsupported,
		(unsigned long long)st->errors);
	fprintf(f, "bytes-read %llu\nbytes-written %llu\nbytes-discarded %llu\nin-flight %u\n",
		(unsigned long long)st->bytes_read, (unsigned long long)st->bytes_written,
		(unsigned long long)st->bytes_discarded, st->in_flight);
	fprintf(f, "pgrant-hits %llu\npgrant-misses %llu\n", (unsigned long long)st->pgrant_hits,
		(unsigned long long)st->pgrant_misses);
	fprintf(f, "events-spurious %llu\nevents-delayed %llu\n",
		(unsigned long long)st->ev_spurious, (unsigned long long)st->ev_delayed);
	fprintf(f, "poll-hits %llu\npoll-misses %llu\npoll-sleeps %llu\nnotifies %llu\n",
		(unsigned long long)st->poll_hits, (unsigned long long)st->poll_misses,
		(unsigned long long)st->poll_sleeps, (unsigned long long)st->notifies);
	fprintf(f, "busy-ns %llu\nsubmit-ns %llu\nnotify-ns %llu\nbounced %llu\n",
		(unsigned long long)st->busy_ns, (unsigned long long)st->submit_ns,
		(unsigned long long)st->notify_ns, (unsigned long long)st->bounced);
	/* Which queue thread serves each ring, and how often it was called (tests read these). */
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		const struct dd_ring *r = &d->queues[i].r;

		if (d->queues[i].attached)
			fprintf(f, "queue%u-thread %u\nqueue%u-calls %llu\n", i, r->t->idx, i,
				(unsigned long long)atomic_load(&r->calls));
	}
	ret = ferror(f) ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* d's counters: the detached rings' plus the threads' snapshots of the live ones. */
static void device_stats(const struct bbd_device *d, struct blkback_stats *st)
{
	if (!d->nr_queues) {
		blkback_dev_stats(d->dev, st);
		return;
	}
	*st = d->dev->past;
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct bbd_queue *q = &d->queues[i];

		pthread_mutex_lock(&q->lock);
		blkback_stats_add(st, &q->st);
		pthread_mutex_unlock(&q->lock);
	}
}

void bbd_stats_write(struct bbd_device *d, bool force)
{
	const char *dir = d->b->opts.stats_dir;
	struct blkback_stats st;
	char path[4096], tmp[4096];
	int ret;

	if (!dir)
		return;
	device_stats(d, &st);
	if (!force && !d->stats_dirty && !memcmp(&st, &d->last, sizeof(st)))
		return;
	d->stats_dirty = false;
	d->last = st;
	snprintf(path, sizeof(path), "%s/%s", dir, d->stats_name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, d->stats_name);
	ret = write_file(tmp, d, &st);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		pvio_log(d->b->log, PVIO_LOG_WARN, PREFIX, "%s: %s", path, strerror(-ret));
	}
}

void bbd_stats_remove(struct bbd_device *d)
{
	char path[4096];

	if (!d->b->opts.stats_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", d->b->opts.stats_dir, d->stats_name);
	unlink(path);
}
