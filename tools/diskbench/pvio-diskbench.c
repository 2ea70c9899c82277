/* SPDX-License-Identifier: MIT */
/*
 * pvio-diskbench - pvio's block benchmark, pvio-diskbench(1).
 *
 * The block stack end to end: a guest domain drives a disk through libpvio-blkfront, served by
 * pvio-blkback in a driver domain, on the embedded hypervisor; the backing file is RAM-backed
 * (default a file in /dev/shm).  The same run measures native I/O on the same file (its own
 * libaio loop, and fio when installed) and reports pvio as a ratio against both, with the
 * issue's targets.  This file holds the options, the backing file and the report; diskbench.h
 * lists the rest.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "tools/bench/bench-machine.h"
#include "tools/bench/bench-parse.h"
#include "tools/diskbench/diskbench.h"

#define SIZE_DEFAULT	(256ull << 20)
#define SIZE_QUICK	(32ull << 20)
#define SIZE_MAX_BYTES	(1ull << 40)
#define RUNTIME_DEFAULT 5u
#define RUNTIME_QUICK	1u
#define RUNTIME_MAX	3600u
/* The warm-up before each timed run: a tenth of it, at most this. */
#define WARMUP_MAX_MS 500u
/* The targets. */
#define TARGET_RATIO	 0.9
#define TARGET_ADDED_US	 10.0
#define TARGET_IDLE_PCT	 1.0 /* an idle, connected disk: % of a CPU, each end */
#define FILL_CHUNK	 (1u << 20)
#define RESTARTS_DEFAULT 20u
#define RESTARTS_QUICK	 3u
/* Issue 12's restart targets, ms. */
#define TARGET_ATTACH_MS   20.0
#define TARGET_RESTART_MS  100.0
#define TARGET_HANDOVER_MS 10.0
/* Issue 12's targets for the guest's loop device, as ratios to fio on the image. */
#define TARGET_LOOP_4K_QD32 0.5
#define TARGET_LOOP_BIG	    0.8

enum {
	OPT_QUICK = 256,
	OPT_POLL_US,
	OPT_QUEUES,
	OPT_RING_ORDER,
	OPT_NO_PERSISTENT,
	OPT_COPY,
	OPT_NO_FIO,
	OPT_RESTARTS,
	OPT_NO_LOOP,
};

static const struct option long_opts[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "size", required_argument, NULL, 's' },
	{ "runtime", required_argument, NULL, 't' },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "ring-order", required_argument, NULL, OPT_RING_ORDER },
	{ "no-persistent", no_argument, NULL, OPT_NO_PERSISTENT },
	{ "copy", no_argument, NULL, OPT_COPY },
	{ "no-fio", no_argument, NULL, OPT_NO_FIO },
	{ "restarts", required_argument, NULL, OPT_RESTARTS },
	{ "no-loop", no_argument, NULL, OPT_NO_LOOP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Everything one run measured. */
struct db_results {
	struct db_result pvio[DB_NR_WORKLOADS]; /* per workload */
	struct db_result aio[DB_NR_WORKLOADS];	/* per workload */
	struct db_result aion[DB_NR_WORKLOADS]; /* per workload, on info.queues threads */
	bool have_aion;				/* aion ran (pvio used more than one queue) */
	struct db_result fio[DB_NR_WORKLOADS];	/* per workload, if have_fio */
	struct db_pvio_info info;		/* what blkfront negotiated */
	struct db_idle idle;			/* the idle device's CPU use */
	struct db_restart restart;		/* attach, restart and hand-over figures */
	struct db_loop_results loop;		/* the loop-device mode */
	bool have_fio;				/* fio ran */
	const char *fio_why;			/* why not, if not */
	bool direct;				/* the file is opened O_DIRECT */
	char load[64];				/* /proc/loadavg when the run began */
	const char *fs;				/* the file system it is on */
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: %s [OPTION]...\n"
	    "Measure pvio's block stack (blkfront in a guest, pvio-blkback in a driver domain)\n"
	    "on a RAM-backed file, against native libaio and fio on the same file, same run.\n"
	    "\n"
	    "  -f, --file PATH       the backing file, overwritten (default: one in /dev/shm)\n"
	    "  -s, --size N[K|M|G]   its size (default 256M)\n"
	    "  -t, --runtime SEC     timed seconds per workload and engine (default %u)\n"
	    "      --quick           a smoke test: 1 s per workload, a 32M file\n"
	    "      --poll-us N       pvio-blkback --poll-us N, and blkfront polls N us (0: never;\n"
	    "                        default: both ends' adaptive polling)\n"
	    "      --queues N        blkfront queues wanted (default: its own)\n"
	    "      --ring-order N    blkfront ring-page-order wanted (default: its own)\n"
	    "      --no-persistent   blkfront does not announce feature-persistent\n"
	    "      --copy            the guest's buffers are plain memory that blkfront copies\n"
	    "                        (default: granted with blkfront_buf_alloc, no copy)\n"
	    "      --no-fio          skip the fio baseline\n"
	    "      --no-loop         skip the guest's loop device (pvio-blkfront over FUSE)\n"
	    "      --restarts N      rounds of each restart figure: attach, kill -9 + restart,\n"
	    "                        hand-over (default %u, --quick %u; 0: none)\n"
	    "  -v, --verbose         the daemons' messages too\n"
	    "  -h, --help            print this help\n",
	    DB_PROG, RUNTIME_DEFAULT, RESTARTS_DEFAULT, RESTARTS_QUICK);
}

/* The long name of option c, for messages. */
static const char *opt_name(int c)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int parse_opt(int c, const char *arg, struct db_params *p, bool *quick, uint64_t *rt)
{
	char what[96];
	uint64_t v = 0;
	int ret = 0;

	snprintf(what, sizeof(what), "--%s %s", opt_name(c), arg ? arg : "");
	if (c == 'f')
		p->file = arg;
	else if (c == 's')
		ret = bench_parse_count(arg, true, 1u << 20, SIZE_MAX_BYTES, &p->size);
	else if (c == 't')
		ret = bench_parse_count(arg, false, 1, RUNTIME_MAX, rt);
	else if (c == OPT_QUICK)
		*quick = true;
	else if (c == OPT_POLL_US && (ret = bench_parse_count(arg, false, 0, 1000000, &v)) == 0)
		p->poll_us = (int)v;
	else if (c == OPT_QUEUES && (ret = bench_parse_count(arg, false, 1, 64, &v)) == 0)
		p->queues = (unsigned int)v;
	else if (c == OPT_RING_ORDER && (ret = bench_parse_count(arg, false, 0, 4, &v)) == 0) {
		p->ring_order = (unsigned int)v;
		p->ring_order_set = true;
	} else if (c == OPT_NO_PERSISTENT)
		p->no_persistent = true;
	else if (c == OPT_COPY)
		p->copy = true;
	else if (c == OPT_NO_FIO)
		p->no_fio = true;
	else if (c == OPT_NO_LOOP)
		p->no_loop = true;
	else if (c == OPT_RESTARTS &&
		 (ret = bench_parse_count(arg, false, 0, DB_RESTART_ROUNDS_MAX, &v)) == 0)
		p->restarts = (unsigned int)v + 1; /* 0: not given */
	else if (c == 'v')
		p->verbose = true;
	return ret < 0 ? db_err(what, ret) : 0;
}

/* 0 to run, 1 after --help, or a negative errno (reported). */
static int parse_args(int argc, char **argv, struct db_params *p)
{
	bool quick = false;
	uint64_t rt = 0;
	int c, ret;

	memset(p, 0, sizeof(*p));
	p->poll_us = -1;
	while ((c = getopt_long(argc, argv, "f:s:t:vh", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?')
			return -EINVAL;
		ret = parse_opt(c, optarg, p, &quick, &rt);
		if (ret < 0)
			return ret;
	}
	if (optind < argc)
		return db_err(argv[optind], -EINVAL);
	/* --quick changes the defaults; -s and -t still win, in any order. */
	if (!p->size)
		p->size = quick ? SIZE_QUICK : SIZE_DEFAULT;
	p->size &= ~(uint64_t)(DB_BS_MAX - 1);
	p->runtime_ms = (unsigned int)(rt ? rt : quick ? RUNTIME_QUICK : RUNTIME_DEFAULT) * 1000u;
	p->warmup_ms = p->runtime_ms / 10 < WARMUP_MAX_MS ? p->runtime_ms / 10 : WARMUP_MAX_MS;
	p->restarts = p->restarts ? p->restarts - 1 : quick ? RESTARTS_QUICK : RESTARTS_DEFAULT;
	return 0;
}

/* Create or resize the file to p->size, allocate it and fill it so that reads hit data. */
static int file_prepare(const struct db_params *p)
{
	unsigned char *chunk = malloc(FILL_CHUNK);
	uint64_t off, x = 0x853c49e6748fea9bull;
	int fd, ret = 0;
	size_t i;

	if (!chunk)
		return -ENOMEM;
	for (i = 0; i < FILL_CHUNK; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		chunk[i] = (unsigned char)(x | 1);
	}
	fd = open(p->file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)p->size) < 0)
		ret = -errno;
	if (ret == 0 && (ret = -posix_fallocate(fd, 0, (off_t)p->size)) == -EOPNOTSUPP)
		ret = 0;
	for (off = 0; ret == 0 && off < p->size; off += FILL_CHUNK) {
		if (pwrite(fd, chunk, FILL_CHUNK, (off_t)off) != FILL_CHUNK)
			ret = errno ? -errno : -EIO;
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(chunk);
	return ret;
}

static const char *fs_name(const char *path)
{
	static const struct {
		long magic;
		const char *name;
	} fs[] = {
		{ 0x01021994, "tmpfs" }, { 0xEF53, "ext4" },	      { 0x58465342, "xfs" },
		{ 0x9123683E, "btrfs" }, { 0x794c7630, "overlayfs" }, { 0x2FC12FC1, "zfs" },
		{ 0x858458f6, "ramfs" }, { 0x6969, "nfs" },	      { 0x65735546, "fuse" },
	};
	struct statfs st;
	size_t i;

	if (statfs(path, &st) < 0)
		return "unknown";
	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((long)st.f_type == fs[i].magic)
			return fs[i].name;
	return "other";
}

static void print_params(const struct db_params *p, const struct db_results *r)
{
	const struct db_pvio_info *in = &r->info;
	char poll[32] = "adaptive (default)";

	printf("load:        %s (/proc/loadavg before the run)\n", r->load);
	printf("hypervisor:  sim, a private pvio-hv started for this run\n");
	printf("file:        %s, %llu MiB, %s, %s\n", p->file, (unsigned long long)(p->size >> 20),
	       fs_name(p->file),
	       r->direct ? "O_DIRECT" : "buffered (no O_DIRECT here: pvio-blkback's probe)");
	printf("runtime:     %.1f s per workload and engine, after %.1f s untimed\n",
	       p->runtime_ms / 1e3, p->warmup_ms / 1e3);
	printf("workloads:   4 KiB random read and write at iodepth 1 and 32; 128 KiB sequential\n"
	       "             read and write at iodepth 32 (32 I/Os in flight at consecutive "
	       "offsets)\n");
	if (p->poll_us >= 0)
		snprintf(poll, sizeof(poll), "%s%d", p->poll_us ? "fixed, " : "never, ",
			 p->poll_us);
	printf("pvio:        guest: libpvio-blkfront, driver domain: pvio-blkback%s%.0d\n",
	       p->poll_us >= 0 ? " --poll-us " : "", p->poll_us >= 0 ? p->poll_us : 0);
	printf("options:     poll-us %s, queues %s, ring-order %s, persistent %s,\n"
	       "             guest buffers %s\n",
	       poll, p->queues ? "asked" : "default", p->ring_order_set ? "asked" : "default",
	       p->no_persistent ? "off" : "on",
	       p->copy ? "malloc (copied through blkfront's pool)"
		       : "blkfront_buf_alloc (granted, no copy)");
	printf("negotiated:  %u queue%s, ring order %u (%u requests), %u segments a request,\n"
	       "             persistent grants %s\n",
	       in->queues, in->queues == 1 ? "" : "s", in->ring_order, in->ring_entries,
	       in->max_segments, in->persistent ? "in use" : "not in use");
	printf("baselines:   aio: the guest's loop run directly on the file with libaio\n"
	       "             (io_submit/io_getevents), the file opened as pvio-blkback opens it\n");
	if (r->have_aion)
		printf(
		    "             aio-mt: the same loop on %u threads (one per pvio queue), each\n"
		    "             keeping depth/%u in flight, started together, summed\n",
		    r->info.queues, r->info.queues);
	if (r->have_fio)
		printf("             fio: --ioengine=libaio --iodepth=N --direct=%d, its \"lat\"\n",
		       r->direct);
	else
		printf("             fio: %s\n", r->fio_why);
	printf("latency:     submission to completion (CLOCK_MONOTONIC); p99 from a log-linear\n"
	       "             histogram (bucket upper bound, < 2%% over)\n");
}

static void print_row(const char *wl, const char *engine, const struct db_result *r)
{
	double s = r->ns / 1e9;

	if (r->err || !r->ns) {
		printf("%-20s %-6s %10s  (%s)\n", wl, engine, "failed", strerror(-r->err));
		return;
	}
	printf("%-20s %-6s %10.0f %9.1f %9.2f %9.2f\n", wl, engine, r->ops / s, r->bytes / s / 1e6,
	       r->mean_ns / 1e3, r->p99_ns / 1e3);
}

static double iops(const struct db_result *r)
{
	return r->err || !r->ns ? 0 : r->ops * 1e9 / r->ns;
}

/*
 * One engine's CPU row: the machine's busy share, CPU per I/O, the IOPS at all CPUs busy, and
 * that ceiling against base IOPS (0: not printed).
 */
static void print_cpu_row(const char *wl, const char *engine, const struct db_result *r, long ncpu,
			  double base)
{
	const struct db_cpu *c = &r->cpu;
	double busy = c->have && c->all ? (double)c->busy / c->all : 0;

	if (!iops(r) || busy <= 0) {
		printf("%-20s %-6s %8s\n", wl, engine, "-");
		return;
	}
	printf("%-20s %-6s %7.0f%% %11.1f %14.0f", wl, engine, 100 * busy,
	       busy * ncpu * 1e6 / iops(r), iops(r) / busy);
	if (base > 0)
		printf(" %14.2f", iops(r) / busy / base);
	printf("\n");
}

static long online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n;
}

static void print_cpu_head(long ncpu, const char *base)
{
	printf("\nthe machine's CPU during each run (/proc/stat, all %ld CPUs)\n", ncpu);
	printf("%-20s %-6s %8s %11s %14s %14s\n", "workload", "engine", "busy", "CPU us/IO",
	       "IOPS at 100%", base);
}

/*
 * Where the library's time goes: a pvio row near 100% busy is CPU-bound, and its ceiling
 * against the best native baseline is what these CPUs can give it.
 */
static void print_cpu(const struct db_results *r)
{
	long ncpu = online_cpus();
	unsigned int i;

	print_cpu_head(ncpu, r->have_aion ? "ceiling/aio-mt" : "ceiling/aio");
	for (i = 0; i < db_nr_workloads; i++) {
		print_cpu_row(db_workloads[i].name, "pvio", &r->pvio[i], ncpu,
			      iops(r->have_aion ? &r->aion[i] : &r->aio[i]));
		print_cpu_row(db_workloads[i].name, "aio", &r->aio[i], ncpu, 0);
		if (r->have_aion)
			print_cpu_row(db_workloads[i].name, "aio-mt", &r->aion[i], ncpu, 0);
	}
	printf("busy: user+system+irq (not niced) of all CPUs over the timed part;\n"
	       "CPU us/IO: that time per I/O; IOPS at 100%%: the rate with every CPU busy\n"
	       "at that cost; ceiling: that rate against the baseline's measured IOPS.\n");
}

static void print_verdict(const struct db_workload *w, const char *base, const struct db_result *pv,
			  const struct db_result *b)
{
	double ratio = iops(b) > 0 ? iops(pv) / iops(b) : 0;
	double added = (pv->mean_ns - b->mean_ns) / 1e3;
	bool met;

	if (pv->err || b->err || !iops(b)) {
		printf("%-20s %-9s %10s\n", w->name, base, "-");
		return;
	}
	if (w->depth == 1) {
		met = added <= TARGET_ADDED_US;
		printf("%-20s %-9s %10.2f %13.2f   added mean <= %.0f us   %s\n", w->name, base,
		       ratio, added, TARGET_ADDED_US, met ? "met" : "not met");
	} else {
		met = ratio >= TARGET_RATIO;
		printf("%-20s %-9s %10.2f %13s   IOPS ratio >= %.1f     %s\n", w->name, base, ratio,
		       "-", TARGET_RATIO, met ? "met" : "not met");
	}
}

/* The idle, connected disk's CPU use, against the target (< 1% of a CPU each). */
static void print_idle(const struct db_idle *in)
{
	bool met = in->blkback_pct >= 0 && in->guest_pct >= 0 &&
		   in->blkback_pct < TARGET_IDLE_PCT && in->guest_pct < TARGET_IDLE_PCT;

	if (in->blkback_pct < 0 || in->guest_pct < 0) {
		printf("%-20s %-9s %10s\n", "idle CPU", "-", "not measured");
		return;
	}
	printf(
	    "%-20s pvio-blkback %.2f%%, blkfront %.2f%% of a CPU over %u ms   < %.0f%% each   %s\n",
	    "idle CPU", in->blkback_pct, in->guest_pct, DB_IDLE_MS, TARGET_IDLE_PCT,
	    met ? "met" : "not met");
}

/*
 * What the guest's waits for responses did, per I/O: caught the response spinning, spun a whole
 * budget in vain, slept; and the notifications it sent to pvio-blkback (kicks) and took from it
 * (events).  Counts, not times: the machine's load does not distort them.
 */
static void print_poll(const struct db_results *r)
{
	unsigned int i;

	printf("\n%-20s %8s %8s %8s %8s %8s   (blkfront, per I/O, warm-up included)\n", "polling",
	       "hits", "misses", "sleeps", "kicks", "events");
	for (i = 0; i < db_nr_workloads; i++) {
		const struct db_result *pv = &r->pvio[i];
		double n = pv->ops ? (double)pv->ops : 1;

		if (!pv->have_poll)
			continue;
		printf("%-20s %8.3f %8.3f %8.3f %8.3f %8.3f\n", db_workloads[i].name,
		       pv->poll_hits / n, pv->poll_misses / n, pv->poll_sleeps / n,
		       pv->notifies / n, pv->events / n);
	}
}

static void print_tables(const struct db_results *r)
{
	unsigned int i;

	printf("\n%-20s %-6s %10s %9s %9s %9s\n", "workload", "engine", "IOPS", "MB/s", "mean us",
	       "p99 us");
	for (i = 0; i < db_nr_workloads; i++) {
		print_row(db_workloads[i].name, "pvio", &r->pvio[i]);
		print_row(db_workloads[i].name, "aio", &r->aio[i]);
		if (r->have_aion)
			print_row(db_workloads[i].name, "aio-mt", &r->aion[i]);
		if (r->have_fio)
			print_row(db_workloads[i].name, "fio", &r->fio[i]);
	}
	printf("\n%-20s %-9s %10s %13s   %-21s %s\n", "workload", "baseline", "IOPS ratio",
	       "added mean us", "target", "verdict");
	for (i = 0; i < db_nr_workloads; i++) {
		print_verdict(&db_workloads[i], "aio", &r->pvio[i], &r->aio[i]);
		if (r->have_aion)
			print_verdict(&db_workloads[i], "aio-mt", &r->pvio[i], &r->aion[i]);
		if (r->have_fio)
			print_verdict(&db_workloads[i], "fio", &r->pvio[i], &r->fio[i]);
	}
	print_idle(&r->idle);
	print_poll(r);
	print_cpu(r);
	printf("\nIOPS ratio = pvio / baseline (higher is better); added mean us = pvio's mean\n"
	       "latency minus the baseline's.  MB/s = 10^6 bytes per second; us = microseconds.\n"
	       "The targets are reported, not asserted.\n");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One row: median, p99 and max of v[n] (us, sorted here) in ms, against a median target. */
static void restart_row(const char *what, uint64_t *v, unsigned int n, double target_ms,
			const char *target)
{
	double med;

	qsort(v, n, sizeof(*v), cmp_u64);
	med = (double)v[n / 2] / 1000.0;
	printf("%-28s %9.2f %9.2f %9.2f   %-22s %s\n", what, med,
	       (double)v[(n * 99) / 100] / 1000.0, (double)v[n - 1] / 1000.0, target,
	       target_ms <= 0	  ? "-"
	       : med <= target_ms ? "met"
				  : "not met");
}

/*
 * The restart figures.  A pause is the longest gap between two completions the guest saw
 * (16 writes of 4 KiB in flight, a front-end that never reconnects) over a window around the
 * replacement; the baseline is the same window with nothing replaced.
 */
static void print_restart(struct db_restart *rs)
{
	unsigned int n = rs->n;

	if (!n)
		return;
	printf("\n%-28s %9s %9s %9s   %-22s %s\n", "restart (ms)", "median", "p99", "max", "target",
	       "verdict");
	restart_row("attach to Connected", rs->attach_us, n, TARGET_ATTACH_MS, "median <= 20 ms");
	restart_row("longest gap, no restart", rs->baseline_us, n, 0, "(baseline)");
	restart_row("pause, kill -9 + restart", rs->restart_us, n, TARGET_RESTART_MS,
		    "median <= 100 ms");
	restart_row("pause, hand-over", rs->handover_us, n, TARGET_HANDOVER_MS, "median <= 10 ms");
	printf("%u rounds each; writes failed: %llu (must be 0).  attach: blkfront_open to "
	       "Connected;\npause: the guest's longest gap between completions (16 x 4 KiB "
	       "writes in flight)\nacross pvio-blkback replaced by kill -9 and a restart, or by "
	       "pvio-blkback --takeover.\n",
	       n, (unsigned long long)rs->errors);
}

/* The loop mode's target for workload w (0: none): issue 12's. */
static double loop_target(const struct db_workload *w)
{
	if (w->bs >= (1u << 20))
		return TARGET_LOOP_BIG;
	return w->depth == DB_DEPTH_MAX ? TARGET_LOOP_4K_QD32 : 0;
}

/*
 * Where the loop device's time goes: the whole machine's CPU during each fio run.  A loop row
 * near 100% busy is CPU-bound: its "IOPS at 100%" is the most these CPUs can give the path,
 * whatever is tuned in the waits, and "ceiling/image" the best ratio it can reach.
 */
static void print_loop_cpu(const struct db_loop_results *l)
{
	long ncpu = online_cpus();
	unsigned int i;

	print_cpu_head(ncpu, "ceiling/image");
	for (i = 0; i < DB_NR_LOOP_WORKLOADS; i++) {
		print_cpu_row(db_loop_workloads[i].name, "loop", &l->loop[i], ncpu,
			      iops(&l->image[i]));
		print_cpu_row(db_loop_workloads[i].name, "image", &l->image[i], ncpu, 0);
	}
	printf("busy: user+system+irq (not niced) of all CPUs over the fio run (its start\n"
	       "included); CPU us/IO: that time per I/O; IOPS at 100%%: the rate with every\n"
	       "CPU busy at that cost; ceiling/image: that rate against the image's IOPS.\n");
}

/* The guest's loop device against the image: both engines' rows, then ratios and verdicts. */
static void print_loop(const struct db_loop_results *l)
{
	const struct db_workload *w;
	double ratio, target;
	unsigned int i;

	printf("\nguest loop device (pvio-blkfront, FUSE, losetup --direct-io=on) under fio\n");
	if (!l->have) {
		printf("loop:        %s\n", l->why);
		return;
	}
	printf("%-20s %-6s %10s %9s %9s %9s\n", "workload", "engine", "IOPS", "MB/s", "mean us",
	       "p99 us");
	for (i = 0; i < DB_NR_LOOP_WORKLOADS; i++) {
		print_row(db_loop_workloads[i].name, "loop", &l->loop[i]);
		print_row(db_loop_workloads[i].name, "image", &l->image[i]);
	}
	printf("\n%-20s %-9s %10s   %-21s %s\n", "workload", "baseline", "IOPS ratio", "target",
	       "verdict");
	for (i = 0; i < DB_NR_LOOP_WORKLOADS; i++) {
		w = &db_loop_workloads[i];
		target = loop_target(w);
		ratio = iops(&l->image[i]) > 0 ? iops(&l->loop[i]) / iops(&l->image[i]) : 0;
		if (!iops(&l->loop[i]) || !iops(&l->image[i]))
			printf("%-20s %-9s %10s\n", w->name, "image", "-");
		else if (target > 0)
			printf("%-20s %-9s %10.2f   IOPS ratio >= %.1f     %s\n", w->name, "image",
			       ratio, target, ratio >= target ? "met" : "not met");
		else
			printf("%-20s %-9s %10.2f   %-21s -\n", w->name, "image", ratio, "(none)");
	}
	printf(
	    "loop: fio --ioengine=libaio --direct=1 on the loop device over MOUNTPOINT/disk;\n"
	    "image: the same job on the file right after each, opened as pvio-blkback opens it.\n");
	print_loop_cpu(l);
}

static void read_load(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "unknown");
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

static int run_all(const struct db_params *p, struct db_results *r)
{
	int ret;

	read_load(r->load, sizeof(r->load));
	ret = db_file_direct(p->file);
	if (ret < 0)
		return db_err(p->file, ret);
	r->direct = ret;
	r->fs = fs_name(p->file);
	ret = db_run_pvio(p, r->pvio, &r->info, &r->idle);
	if (ret < 0)
		return ret;
	ret = db_run_restart(p, p->restarts, &r->restart);
	if (ret < 0)
		return ret;
	ret = db_run_aio(p, r->aio);
	if (ret < 0)
		return ret;
	/* pvio-blkback serves each queue on its own thread: native gets as many threads. */
	if (r->info.queues > 1 && r->info.queues <= DB_AIO_THREADS_MAX) {
		ret = db_run_aio_threads(p, r->info.queues, r->aion);
		if (ret < 0)
			return ret;
		r->have_aion = true;
	}
	r->loop.why = "skipped (--no-loop)";
	if (!p->no_loop) {
		ret = db_run_loop(p, r->direct, &r->loop);
		if (ret < 0)
			return ret;
	}
	r->fio_why = "skipped (--no-fio)";
	if (p->no_fio)
		return 0;
	ret = db_run_fio(p, r->direct, r->fio);
	r->have_fio = ret == 0;
	r->fio_why = "not installed, skipped";
	return ret == -ENOENT ? 0 : ret;
}

int main(int argc, char **argv)
{
	struct db_results *r = calloc(1, sizeof(*r));
	char path[64];
	struct db_params p;
	bool created;
	int ret;

	ret = parse_args(argc, argv, &p);
	if (ret || !r)
		return ret < 0 || !r;
	signal(SIGPIPE, SIG_IGN);
	created = !p.file;
	if (created) {
		snprintf(path, sizeof(path), "/dev/shm/%s.%ld.img", DB_PROG, (long)getpid());
		p.file = path;
	}
	ret = file_prepare(&p);
	if (ret < 0)
		db_err(p.file, ret);
	else
		ret = run_all(&p, r);
	if (created)
		unlink(p.file);
	if (ret == 0) {
		bench_print_machine(DB_PROG);
		print_params(&p, r);
		print_tables(r);
		print_restart(&r->restart);
		print_loop(&r->loop);
	}
	free(r);
	return ret < 0;
}
