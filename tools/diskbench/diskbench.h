/* SPDX-License-Identifier: MIT */
/*
 * diskbench.h - the parts of pvio-diskbench(1).
 *
 *   pvio-diskbench.c  options, the backing file, the report
 *   diskbench-run.c   the workloads, the latency histogram, the loop that keeps N I/Os in flight
 *   diskbench-pvio.c  the pvio run: private pvio-hv, driver domain with pvio-blkback, guest
 *   diskbench-aio.c   the native baseline: the same loop on the file through libaio
 *   diskbench-fio.c   the fio baseline: fio --output-format=json, parsed
 *   diskbench-loop.c  the guest's loop device over pvio-blkfront (FUSE) under fio, and the image
 */
#ifndef PVIO_TOOLS_DISKBENCH_H
#define PVIO_TOOLS_DISKBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DB_PROG "pvio-diskbench"
/* The deepest queue a workload keeps. */
#define DB_DEPTH_MAX 32u
/* The biggest I/O a workload issues. */
#define DB_BS_MAX (128u << 10)
/* The latency histogram: 64 exact buckets, then 64 per power of two up to 2^40 ns. */
#define DB_HIST_SUB	64u
#define DB_HIST_BUCKETS (2u * DB_HIST_SUB + 34u * DB_HIST_SUB)

/* One workload: an access pattern at a queue depth. */
struct db_workload {
	const char *name;   /* the row's label, e.g. "randread 4k qd1" */
	bool write;	    /* writes, else reads */
	bool random;	    /* random block-aligned offsets, else sequential */
	unsigned int bs;    /* bytes per I/O */
	unsigned int depth; /* I/Os kept in flight */
};

/* 4 KiB random reads and writes at depth 1 and 32: the first rows of both tables. */
/* clang-format off */
#define DB_WORKLOADS_4K                                  \
	{ "randread 4k qd1", false, true, 4096, 1 },     \
	{ "randwrite 4k qd1", true, true, 4096, 1 },     \
	{ "randread 4k qd32", false, true, 4096, 32 },   \
	{ "randwrite 4k qd32", true, true, 4096, 32 }
/* clang-format on */

/* The workloads, in the order they run and are reported. */
#define DB_NR_WORKLOADS 6u
extern const struct db_workload db_workloads[DB_NR_WORKLOADS];
extern const unsigned int db_nr_workloads;

/* What the command line asked for. */
struct db_params {
	const char *file;	 /* the backing file */
	uint64_t size;		 /* its size in bytes */
	unsigned int runtime_ms; /* timed run per workload */
	unsigned int warmup_ms;	 /* untimed run before it */
	int poll_us;		 /* --poll-us N for both ends; -1: their default (adaptive) */
	unsigned int queues;	 /* blkfront queues (0: its default) */
	unsigned int ring_order; /* blkfront ring order (0: its default) */
	bool ring_order_set;	 /* --ring-order was given */
	bool no_persistent;	 /* blkfront does not announce feature-persistent */
	bool copy;		 /* guest buffers from malloc (copied), not blkfront_buf_alloc */
	bool no_fio;		 /* skip the fio baseline */
	bool no_loop;		 /* skip the loop-device mode */
	bool verbose;		 /* -v: the daemons' messages too */
	unsigned int restarts;	 /* rounds of each restart figure (0: none) */
};

/* One measured workload. */
/* The machine's CPU over one run, from /proc/stat (clock ticks of all CPUs). */
struct db_cpu {
	uint64_t busy; /* user, system, irq, softirq: what the run's processes cost */
	uint64_t all;  /* the same, nice, idle, iowait and steal: the CPUs' whole time */
	bool have;     /* both readings worked */
};
/* Start measuring the machine's CPU into c; db_cpu_stop leaves the run's share there. */
void db_cpu_start(struct db_cpu *c);
void db_cpu_stop(struct db_cpu *c);

struct db_result {
	int err;	/* 0, or the negative errno that stopped it */
	uint64_t ops;	/* I/Os completed in the timed part */
	uint64_t bytes; /* bytes moved in the timed part */
	uint64_t ns;	/* the timed part's length */
	double mean_ns; /* mean latency, submission to completion */
	double p99_ns;	/* 99th percentile of the same */
	bool have_lat;	/* mean_ns and p99_ns are valid */
	/* pvio only: the guest's waits over the workload (blkfront_stats' poll_*) */
	uint64_t poll_hits, poll_misses, poll_sleeps;
	uint64_t notifies, events; /* notifications the guest sent, and took */
	bool have_poll;		   /* the poll counts are valid */
	struct db_cpu cpu;	   /* the machine's CPU over the timed part */
};

/* What the guest learned from blkfront_get_info, for the report. */
struct db_pvio_info {
	bool persistent;	   /* persistent grants in use */
	unsigned int queues;	   /* rings in use */
	unsigned int ring_order;   /* log2 pages per ring */
	unsigned int ring_entries; /* requests per ring */
	unsigned int max_segments; /* segments per request */
};

/* The CPU a connected, idle disk costs, measured after the workloads (DB_IDLE_MS). */
#define DB_IDLE_MS 2000u
struct db_idle {
	double blkback_pct; /* pvio-blkback's CPU time, % of one CPU; < 0: not measured */
	double guest_pct;   /* the guest's, waiting in blkfront_poll, % of one CPU */
};

/* The CPU time of every thread of process pid so far (/proc/PID/stat), or a negative errno. */
long long db_proc_cpu_ns(pid_t pid);

/* Latencies in a log-linear histogram (< 1/64 relative error), bounded memory. */
struct db_hist {
	uint64_t count;			  /* samples */
	double sum_ns;			  /* their sum */
	uint64_t bucket[DB_HIST_BUCKETS]; /* samples per bucket */
};

void db_hist_add(struct db_hist *h, uint64_t ns);
/* The q-quantile (0 < q <= 1): the upper bound of its bucket, in ns. */
double db_hist_quantile(const struct db_hist *h, double q);

uint64_t db_now_ns(void);

/*
 * An I/O engine for the loop: submit starts slot's I/O (0, -EAGAIN to retry after a wait, or
 * an errno), wait blocks until at least one completion was passed to db_slot_done.
 */
struct db_slot;
struct db_engine {
	int (*submit)(void *ctx, struct db_slot *s);
	int (*wait)(void *ctx);
	void *ctx; /* the engine's own state */
};

/* One I/O kept in flight by the loop. */
struct db_slot {
	struct db_loop *loop; /* the loop it belongs to */
	unsigned int index;   /* its place in the loop's slots */
	void *buf;	      /* DB_BS_MAX bytes, page-aligned */
	bool write;	      /* the current I/O writes buf, else reads into it */
	unsigned int len;     /* its length in bytes */
	uint64_t offset;      /* where the current I/O goes */
	uint64_t start_ns;    /* when it was submitted */
	bool deferred;	      /* submit said -EAGAIN: retry after the next wait */
};

/* Run workload w on engine e for p's warm-up, then its runtime, into *res. */
int db_loop_run(const struct db_params *p, const struct db_workload *w, const struct db_engine *e,
		void *bufs, struct db_result *res);
/* The engine reports a completion: result 0 or a negative errno. */
void db_slot_done(struct db_slot *s, int result);
/* DB_DEPTH_MAX buffers of DB_BS_MAX bytes, filled with a pattern; free with db_bufs_free. */
void *db_bufs_alloc(void);
void db_bufs_free(void *bufs);

/* Report an error as "pvio-diskbench: what: strerror"; returns err. */
int db_err(const char *what, int err);

/* The pvio run: every workload through blkfront in a guest, into res[db_nr_workloads]. */
int db_run_pvio(const struct db_params *p, struct db_result *res, struct db_pvio_info *info,
		struct db_idle *idle);
/* The libaio loop on the file itself, opened as pvio-blkback opens it. */
int db_run_aio(const struct db_params *p, struct db_result *res);
/* Threads db_run_aio_threads may run. */
#define DB_AIO_THREADS_MAX 16u
/*
 * The same loop on n threads at once, each on its own aio context keeping depth/n I/Os in
 * flight (at least one), every workload started together; the results are summed per workload
 * (ops, bytes; mean latency weighted by ops; p99 the threads' largest).  The fair native
 * figure for pvio with n queues, which pvio-blkback serves on n threads.
 */
int db_run_aio_threads(const struct db_params *p, unsigned int n, struct db_result *res);
/* Whether pvio-blkback would open the file O_DIRECT (its own probe), or a negative errno. */
int db_file_direct(const char *path);
/* fio with libaio: -ENOENT if fio is not installed. */
int db_run_fio(const struct db_params *p, bool direct, struct db_result *res);
/* One fio job: workload w on file (p->size bytes of it); 0, -ENOENT without fio, or an errno. */
int db_fio_one(const struct db_params *p, const char *file, bool direct,
	       const struct db_workload *w, struct db_result *res);
/*
 * Run argv (execvp, stdin /dev/null) with its stdout into *outp (malloc'd, NUL-terminated):
 * 0, -ENOENT if the program is not there, -EIO if it exited non-zero.
 */
int db_exec_capture(char **argv, char **outp);

/*
 * The restart figures (diskbench-restart.c): the pvio run's environment with pvio-blkback
 * --journal-dir jdir, guest(garg) forked in the guest domain, then dom0(c, arg) in this
 * process, which may replace the daemon through c.
 */
struct db_pvio_ctl {
	const struct db_params *p;		/* the parameters */
	void *env;				/* diskbench-pvio.c's */
	pid_t guest;				/* the guest's process */
	int (*restart)(struct db_pvio_ctl *c);	/* kill -9 pvio-blkback, start another */
	int (*takeover)(struct db_pvio_ctl *c); /* start pvio-blkback --takeover, reap the old */
};
int db_run_pvio_ctl(const struct db_params *p, const char *jdir, int (*guest)(void *), void *garg,
		    int (*dom0)(struct db_pvio_ctl *c, void *arg), void *arg);

/*
 * The same environment with the guest running pvio-blkfront -f xvda mnt (pvio-blkfront(8)) in
 * a guest domain that shares this process's namespaces, so that dom0(c, arg) can use mnt/disk.
 * dom0 must unmount mnt before it returns: pvio-blkfront then exits 0 by itself.
 */
int db_run_pvio_fuse(const struct db_params *p, const char *mnt,
		     int (*dom0)(struct db_pvio_ctl *c, void *arg), void *arg);

/*
 * The loop mode (diskbench-loop.c): fio on a loop device (losetup --direct-io=on) over
 * pvio-blkfront's MOUNTPOINT/disk, each workload followed at once by the same on the image.
 */
#define DB_NR_LOOP_WORKLOADS 6u
extern const struct db_workload db_loop_workloads[DB_NR_LOOP_WORKLOADS];
struct db_loop_results {
	bool have;				      /* both ran */
	const char *why;			      /* if skipped, why (a full line) */
	struct db_result loop[DB_NR_LOOP_WORKLOADS];  /* fio on the loop device */
	struct db_result image[DB_NR_LOOP_WORKLOADS]; /* fio on the image, direct as blkback */
};
/* 0 also when skipped (r->why); a negative errno if the run failed. */
int db_run_loop(const struct db_params *p, bool direct, struct db_loop_results *r);

/* What db_run_restart measured, in us; n: rounds (0: not measured). */
#define DB_RESTART_ROUNDS_MAX 1000u
struct db_restart {
	unsigned int n;				     /* rounds of each */
	uint64_t attach_us[DB_RESTART_ROUNDS_MAX];   /* blkfront_open to Connected */
	uint64_t restart_us[DB_RESTART_ROUNDS_MAX];  /* the guest's pause, kill -9 + restart */
	uint64_t handover_us[DB_RESTART_ROUNDS_MAX]; /* the same, pvio-blkback --takeover */
	uint64_t baseline_us[DB_RESTART_ROUNDS_MAX]; /* the same window, nothing replaced */
	uint64_t errors;			     /* writes the guest saw fail */
};
/* n rounds of each under a stream of 4 KiB writes at depth 16; 0 or a negative errno. */
int db_run_restart(const struct db_params *p, unsigned int n, struct db_restart *out);

#endif
