/* SPDX-License-Identifier: MIT */
/*
 * diskbench-run.c - what every engine of pvio-diskbench shares: the workloads, the latency
 * histogram, and the loop that keeps a workload's depth of I/Os in flight, timing each one from
 * submission to completion with CLOCK_MONOTONIC.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/diskbench/diskbench.h"

const struct db_workload db_workloads[DB_NR_WORKLOADS] = {
	DB_WORKLOADS_4K,
	{ "seqread 128k qd32", false, false, 128u << 10, 32 },
	{ "seqwrite 128k qd32", true, false, 128u << 10, 32 },
};
const unsigned int db_nr_workloads = DB_NR_WORKLOADS;

/* The loop's state for one workload. */
struct db_loop {
	const struct db_workload *w;	    /* what it runs */
	const struct db_engine *e;	    /* how */
	struct db_slot slots[DB_DEPTH_MAX]; /* w->depth of them in use */
	struct db_hist *hist;		    /* latencies of the timed phase */
	uint64_t blocks;		    /* the file's size in w->bs blocks */
	uint64_t next;			    /* the sequential cursor, in blocks */
	uint64_t rng;			    /* xorshift64* state for random offsets */
	uint64_t stop_ns;		    /* no I/O is started after this */
	uint64_t last_ns;		    /* when the last I/O completed */
	bool timed;			    /* record latencies (else a warm-up) */
	unsigned int inflight;		    /* submitted, not completed */
	unsigned int ndeferred;		    /* slots waiting to retry after -EAGAIN */
	uint64_t ops;			    /* completed in the timed phase */
	int err;			    /* the first error */
};

uint64_t db_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long long db_proc_cpu_ns(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command may hold anything: fields count from its last ')'; utime is the 14th. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
			 " %*c"
			 "%*s%*s%*s%*s%*s%*s%*s%*s%*s%*s"
			 " %llu %llu",
			 &ut, &st) != 2)
		return -EIO;
	return (long long)((ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

int db_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", DB_PROG, what, strerror(-err));
	return err;
}

static unsigned int hist_index(uint64_t ns)
{
	unsigned int msb, shift;

	if (ns >= (1ull << 40))
		ns = (1ull << 40) - 1;
	if (ns < 2 * DB_HIST_SUB)
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	shift = msb - 6u;
	return 2 * DB_HIST_SUB + (shift - 1) * DB_HIST_SUB + (unsigned int)(ns >> shift) -
	       DB_HIST_SUB;
}

/* The largest value that falls in bucket i. */
static double hist_upper(unsigned int i)
{
	unsigned int shift, sub;

	if (i < 2 * DB_HIST_SUB)
		return i;
	shift = (i - 2 * DB_HIST_SUB) / DB_HIST_SUB + 1;
	sub = (i - 2 * DB_HIST_SUB) % DB_HIST_SUB + DB_HIST_SUB;
	return (double)((((uint64_t)sub + 1) << shift) - 1);
}

void db_hist_add(struct db_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += (double)ns;
	h->bucket[hist_index(ns)]++;
}

double db_hist_quantile(const struct db_hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->count + 0.999999), seen = 0;
	unsigned int i;

	if (!h->count)
		return 0;
	if (want < 1)
		want = 1;
	for (i = 0; i < DB_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return hist_upper(i);
	}
	return hist_upper(DB_HIST_BUCKETS - 1);
}

void *db_bufs_alloc(void)
{
	size_t len = (size_t)DB_DEPTH_MAX * DB_BS_MAX, i;
	unsigned char *b = aligned_alloc(4096, len);

	for (i = 0; b && i < len; i++)
		b[i] = (unsigned char)(i * 7 + 1);
	return b;
}

void db_bufs_free(void *bufs)
{
	free(bufs);
}

static uint64_t next_offset(struct db_loop *l)
{
	uint64_t block;

	if (l->w->random) {
		l->rng ^= l->rng >> 12;
		l->rng ^= l->rng << 25;
		l->rng ^= l->rng >> 27;
		block = (l->rng * 0x2545F4914F6CDD1Dull) % l->blocks;
	} else {
		block = l->next++ % l->blocks;
	}
	return block * l->w->bs;
}

static void slot_start(struct db_slot *s)
{
	struct db_loop *l = s->loop;
	int ret;

	s->offset = next_offset(l);
	s->write = l->w->write;
	s->len = l->w->bs;
	l->inflight++;
	s->start_ns = db_now_ns();
	ret = l->e->submit(l->e->ctx, s);
	if (ret == 0)
		return;
	l->inflight--;
	if (ret == -EAGAIN) {
		s->deferred = true;
		l->ndeferred++;
	} else if (!l->err) {
		l->err = ret;
	}
}

void db_slot_done(struct db_slot *s, int result)
{
	struct db_loop *l = s->loop;
	uint64_t now = db_now_ns();

	l->inflight--;
	if (result < 0) {
		if (!l->err)
			l->err = result;
		return;
	}
	if (l->timed) {
		db_hist_add(l->hist, now - s->start_ns);
		l->ops++;
		l->last_ns = now;
	}
	if (now < l->stop_ns && !l->err)
		slot_start(s);
}

/* Start the slots that were refused with -EAGAIN again (or drop them once time is up). */
static void retry_deferred(struct db_loop *l)
{
	unsigned int i;

	for (i = 0; i < l->w->depth && l->ndeferred; i++) {
		if (!l->slots[i].deferred)
			continue;
		l->slots[i].deferred = false;
		l->ndeferred--;
		if (db_now_ns() < l->stop_ns && !l->err)
			slot_start(&l->slots[i]);
	}
}

/* Keep the depth in flight for dur_ns, then drain; the time from start to the last completion. */
static uint64_t loop_phase(struct db_loop *l, uint64_t dur_ns, bool timed)
{
	uint64_t start = db_now_ns();
	unsigned int i;
	int ret;

	l->timed = timed;
	l->stop_ns = start + dur_ns;
	l->last_ns = start;
	for (i = 0; i < l->w->depth && !l->err; i++)
		slot_start(&l->slots[i]);
	while (l->inflight || l->ndeferred) {
		if (l->inflight) {
			ret = l->e->wait(l->e->ctx);
			if (ret < 0) {
				l->err = l->err ? l->err : ret;
				break;
			}
		}
		retry_deferred(l);
		if (!l->inflight && l->ndeferred) {
			l->err = l->err ? l->err : -EAGAIN;
			break;
		}
	}
	return l->last_ns - start;
}

/* The machine's busy and whole CPU ticks so far (/proc/stat): 0 or a negative errno. */
static int cpu_ticks(uint64_t *busy, uint64_t *all)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
		   &iowait, &irq, &softirq, &steal);
	fclose(f);
	if (n != 8)
		return -EPROTO;
	/* Niced work (a background job that gives way) counts as idle, not as the run's. */
	*busy = user + sys + irq + softirq;
	*all = *busy + nice + idle + iowait + steal;
	return 0;
}

void db_cpu_start(struct db_cpu *c)
{
	c->have = cpu_ticks(&c->busy, &c->all) == 0;
}

void db_cpu_stop(struct db_cpu *c)
{
	uint64_t busy, all;

	if (c->have && cpu_ticks(&busy, &all) == 0 && all > c->all)
		*c = (struct db_cpu){ .busy = busy - c->busy, .all = all - c->all, .have = true };
	else
		*c = (struct db_cpu){ .have = false };
}

int db_loop_run(const struct db_params *p, const struct db_workload *w, const struct db_engine *e,
		void *bufs, struct db_result *res)
{
	struct db_loop *l = calloc(1, sizeof(*l));
	unsigned int i;
	uint64_t ns;

	memset(res, 0, sizeof(*res));
	if (!l || !(l->hist = calloc(1, sizeof(*l->hist)))) {
		free(l);
		return res->err = -ENOMEM;
	}
	l->w = w;
	l->e = e;
	l->blocks = p->size / w->bs;
	l->rng = 0x9E3779B97F4A7C15ull;
	for (i = 0; i < w->depth; i++) {
		l->slots[i].loop = l;
		l->slots[i].index = i;
		l->slots[i].buf = (char *)bufs + (size_t)i * DB_BS_MAX;
	}
	if (p->warmup_ms)
		loop_phase(l, (uint64_t)p->warmup_ms * 1000000u, false);
	db_cpu_start(&res->cpu);
	ns = l->err ? 0 : loop_phase(l, (uint64_t)p->runtime_ms * 1000000u, true);
	db_cpu_stop(&res->cpu);
	res->err = l->err;
	res->ops = l->ops;
	res->bytes = l->ops * w->bs;
	res->ns = ns;
	res->have_lat = l->hist->count > 0;
	res->mean_ns = l->hist->count ? l->hist->sum_ns / (double)l->hist->count : 0;
	res->p99_ns = db_hist_quantile(l->hist, 0.99);
	free(l->hist);
	free(l);
	return res->err;
}
