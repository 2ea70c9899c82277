/* SPDX-License-Identifier: MIT */
/*
 * blk-poll-idle: in the default (adaptive) polling mode, a connected disk goes to sleep once it
 * is idle.  After a burst of 4 KiB synchronous I/O, which teaches both polls to spin, neither
 * pvio-blkback nor the library thread waiting in blkfront_poll may keep spinning: over 1 s of
 * idleness each may use at most 20% of a CPU (a poller that never sleeps uses ~100%).  The
 * bound is loose on purpose: this checks that they sleep, not how fast anything is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "hv/clock.h"
#include "tests/blk-env.h"

#define DISK_BYTES (4u << 20)
#define BURST	   3000u
#define IDLE_MS	   1000
#define MAX_PCT	   20.0

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPU time of every thread of pid so far (utime + stime of /proc/PID/stat), or -1. */
static long long proc_cpu_ns(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's ")": state is field 3, utime and stime fields 14 and 15. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

/* Guest: a burst of I/O, then 1 s waiting in blkfront_poll; sends that wait's CPU time. */
static int front(void *arg)
{
	struct t_link *l = arg;
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[4096];
	long long end;
	struct blkfront *bf;
	uint64_t cpu;
	char c = 'b';
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open: %s", strerror(-rc));
	for (unsigned int i = 0; i < BURST; i++) {
		uint64_t off = (uint64_t)(i % 64) * sizeof(buf);

		rc = i & 1 ? blkfront_read(bf, buf, off, sizeof(buf))
			   : blkfront_write(bf, buf, off, sizeof(buf));
		T_CHECK(rc == 0, "I/O %u: %s", i, strerror(-rc));
	}
	T_CHECK(t_put(l->ba[1], &c, 1) == 0, "report the burst");
	cpu = thread_cpu_ns();
	end = hv_now_ms() + IDLE_MS;
	while (hv_now_ms() < end) {
		rc = blkfront_poll(bf, (int)(end - hv_now_ms()));
		T_CHECK(rc == 0, "blkfront_poll while idle: %d", rc);
	}
	cpu = thread_cpu_ns() - cpu;
	T_CHECK(t_put(l->ba[1], &cpu, sizeof(cpu)) == 0, "report the CPU time");
	T_CHECK(t_get(l->ab[0], &c, 1) == 0, "wait for the end");
	blkfront_close(bf);
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char disk[PATH_MAX], c;
	long long d0, d1;
	uint64_t guest_ns;
	double dpct, gpct;
	struct t_link l;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&l) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, disk, sizeof(disk)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, disk, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, front, &l, &pid) == 0, "fork the front-end");
	T_CHECK(t_get(l.ba[0], &c, 1) == 0, "the front-end did not finish its burst");
	d0 = proc_cpu_ns(env.daemon);
	t_msleep(IDLE_MS);
	d1 = proc_cpu_ns(env.daemon);
	T_CHECK(d0 >= 0 && d1 >= 0, "pvio-blkback's CPU time");
	T_CHECK(t_get(l.ba[0], &guest_ns, sizeof(guest_ns)) == 0, "the front-end's CPU time");
	dpct = (double)(d1 - d0) / (IDLE_MS * 1e4);
	gpct = (double)guest_ns / (IDLE_MS * 1e4);
	printf("idle %d ms after %u I/Os: pvio-blkback %.2f%% of a CPU, blkfront %.2f%%\n", IDLE_MS,
	       BURST, dpct, gpct);
	T_CHECK(dpct < MAX_PCT, "pvio-blkback polled while idle: %.1f%% of a CPU", dpct);
	T_CHECK(gpct < MAX_PCT, "blkfront polled while idle: %.1f%% of a CPU", gpct);
	T_CHECK(t_put(l.ab[1], "q", 1) == 0, "end the front-end");
	T_CHECK(blk_env_wait(pid, 5000) == 0, "the front-end failed");
	return blk_env_stop(&env);
}
