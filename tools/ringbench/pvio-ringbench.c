/* SPDX-License-Identifier: MIT */
/*
 * pvio-ringbench - pvio's ring benchmark, pvio-ringbench(1).
 *
 * Two domains on the embedded hypervisor, bench-front and bench-back, talk
 * over a granted multi-page ring with an event channel: ping-pong round trips
 * and streams of 4 KiB granted pages, moved by mapping and by grant copy.  The
 * same run measures the baselines (ping-pong over an eventfd pair and over a
 * pipe pair between two plain processes, memcpy of the same pages), and the
 * report gives every figure as a ratio against one of them.  This file holds
 * the options, the machine facts and the report; ringbench.h lists the rest.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/bench-machine.h"
#include "tools/bench/bench-parse.h"
#include "tools/ringbench/ringbench.h"

#define ITERATIONS_DEFAULT 100000u
#define ITERATIONS_QUICK   2000u
#define ITERATIONS_MAX	   100000000u
#define BYTES_DEFAULT	   (1ull << 30)
#define BYTES_QUICK	   (64ull << 20)
#define BYTES_MAX	   (1ull << 40)
#define ORDER_DEFAULT	   RING_ORDER_MAX
/* A ring slot holds a request or a response, whichever is bigger. */
#define RB_ENTRY_SIZE                                                                              \
	(sizeof(struct rb_req) > sizeof(struct rb_rsp) ? sizeof(struct rb_req)                     \
						       : sizeof(struct rb_rsp))
/* Untimed round trips before the timed ones: a tenth, at most this many. */
#define WARMUP_MAX 1000u

enum {
	OPT_QUICK = 256
};

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "order", required_argument, NULL, 'o' },
	{ "iterations", required_argument, NULL, 'n' },
	{ "bytes", required_argument, NULL, 'b' },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Measure pvio's rings between two domains on the embedded hypervisor,\n"
		"against an eventfd pair, a pipe pair and memcpy measured in the same run.\n"
		"\n"
		"  -s, --socket PATH     use the pvio-hv listening on PATH (default: start one)\n"
		"  -o, --order N         ring-page-order, 0 to %u (default %u)\n"
		"  -n, --iterations N    timed ping-pong round trips (default %u)\n"
		"  -b, --bytes N[K|M|G]  bytes moved per stream test (default 1G)\n"
		"      --quick           a smoke test: %u round trips, 64M per stream\n"
		"  -h, --help            print this help\n",
		RB_PROG, RING_ORDER_MAX, ORDER_DEFAULT, ITERATIONS_DEFAULT, ITERATIONS_QUICK);
}

/* Parse one option's argument into p; 0 or a negative errno, reported. */
static int parse_opt(int c, const char *arg, struct rb_params *p, bool *quick)
{
	char what[64];
	uint64_t v;
	int ret = 0;

	snprintf(what, sizeof(what), "-%c %s", c, arg ? arg : "");
	if (c == 's')
		p->socket = arg;
	else if (c == 'o' && (ret = bench_parse_count(arg, false, 0, RING_ORDER_MAX, &v)) == 0)
		p->order = (unsigned int)v;
	else if (c == 'n')
		ret = bench_parse_count(arg, false, 1, ITERATIONS_MAX, &p->iterations);
	else if (c == 'b')
		ret = bench_parse_count(arg, true, HV_PAGE_SIZE, BYTES_MAX, &p->bytes);
	else if (c == OPT_QUICK)
		*quick = true;
	return ret < 0 ? rb_err(what, ret) : 0;
}

/* 0 to run, 1 after --help, or a negative errno (reported). */
static int parse_args(int argc, char **argv, struct rb_params *p)
{
	bool quick = false;
	int c, ret;

	memset(p, 0, sizeof(*p));
	p->order = ORDER_DEFAULT;
	while ((c = getopt_long(argc, argv, "s:o:n:b:h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?')
			return -EINVAL;
		ret = parse_opt(c, optarg, p, &quick);
		if (ret < 0)
			return ret;
	}
	if (optind < argc)
		return rb_err(argv[optind], -EINVAL);
	/* --quick changes the defaults; -n and -b still win, in any order. */
	if (!p->iterations)
		p->iterations = quick ? ITERATIONS_QUICK : ITERATIONS_DEFAULT;
	if (!p->bytes)
		p->bytes = quick ? BYTES_QUICK : BYTES_DEFAULT;
	p->warmup = p->iterations / 10 < WARMUP_MAX ? p->iterations / 10 : WARMUP_MAX;
	return 0;
}

static int run_baselines(const struct rb_params *p, struct rb_results *res)
{
	int ret;

	ret = rb_base_eventfd(p, &res->eventfd);
	if (ret < 0)
		return rb_err("eventfd baseline", ret);
	ret = rb_base_pipe(p, &res->pipe);
	if (ret < 0)
		return rb_err("pipe baseline", ret);
	ret = rb_base_memcpy(p, &res->memcpy_gbs);
	if (ret < 0)
		return rb_err("memcpy baseline", ret);
	ret = rb_base_shm_stream(p, &res->shm_gbs);
	return ret < 0 ? rb_err("shared-ring baseline", ret) : 0;
}

static void print_machine(const char *provider, bool private_hv)
{
	bench_print_machine(RB_PROG);
	printf("hypervisor:  %s, %s\n", provider,
	       private_hv ? "a private pvio-hv started for this run; isolated domains (own\n"
			    "             namespaces, uid and seccomp filter, as pvio create makes)"
			  : "a running pvio-hv; domains not isolated");
}

static void print_params(const struct rb_params *p, const struct rb_front_result *r)
{
	printf("ring:        order %u: %u page%s, %u slots of %zu bytes\n", p->order,
	       1u << p->order, p->order ? "s" : "", r->nr_ents, RB_ENTRY_SIZE);
	printf("ping-pong:   %llu timed round trips after %llu untimed, one request in flight\n",
	       (unsigned long long)p->iterations, (unsigned long long)p->warmup);
	printf("streams:     %llu bytes each (%llu pages of %u bytes) from %u granted pages,\n"
	       "             the ring kept full, the back taking up to %u requests a batch\n",
	       (unsigned long long)r->stream_bytes,
	       (unsigned long long)(r->stream_bytes / HV_PAGE_SIZE), HV_PAGE_SIZE, RB_DATA_PAGES,
	       RB_BATCH);
	printf("  by map:    one hv_grant_map and one hv_grant_unmap per request (1 page),\n"
	       "             memcpy of the page into private memory in between\n");
	printf("  by copy:   one hv_grant_copy per batch, one %u-byte segment per request\n",
	       HV_PAGE_SIZE);
	printf("baselines:   ping-pong over an eventfd pair and over a pipe pair between two\n"
	       "             plain processes (blocking read and write); memcpy of %u-byte\n"
	       "             pages from %u pages into a %u-page buffer, in one process;\n"
	       "             shm-ring: the same stream, ring and batches between two plain\n"
	       "             processes sharing memory, eventfds for events (no grants)\n",
	       HV_PAGE_SIZE, RB_DATA_PAGES, RB_BATCH);
}

/* Two decimals, or two significant digits for a ratio below 0.1. */
static void print_row(const char *test, double pvio, const char *base, double base_val)
{
	double ratio = base_val > 0 ? pvio / base_val : 0.0;

	printf("%-22s %10.2f   %-8s %9.2f   %6.*f\n", test, pvio, base, base_val,
	       ratio >= 0.1 || ratio == 0 ? 2 : 1 - (int)floor(log10(ratio)), ratio);
}

static void print_lat(const char *test, double pvio_ns, double eventfd_ns, double pipe_ns)
{
	print_row(test, pvio_ns / 1000, "eventfd", eventfd_ns / 1000);
	print_row(test, pvio_ns / 1000, "pipe", pipe_ns / 1000);
}

static void print_table(const struct rb_results *res)
{
	const struct rb_front_result *r = &res->pvio;

	printf("\n%-22s %10s   %-18s   %6s\n", "test", "pvio", "baseline", "ratio");
	print_lat("ping-pong p50 (us)", r->ping.p50, res->eventfd.p50, res->pipe.p50);
	print_lat("ping-pong p99 (us)", r->ping.p99, res->eventfd.p99, res->pipe.p99);
	print_lat("ping-pong mean (us)", r->ping.mean, res->eventfd.mean, res->pipe.mean);
	print_row("stream by map (GB/s)", rb_gbs(r->stream_bytes, r->map_ns), "memcpy",
		  res->memcpy_gbs);
	print_row("stream by copy (GB/s)", rb_gbs(r->stream_bytes, r->copy_ns), "memcpy",
		  res->memcpy_gbs);
	print_row("stream by map (GB/s)", rb_gbs(r->stream_bytes, r->map_ns), "shm-ring",
		  res->shm_gbs);
	print_row("stream by copy (GB/s)", rb_gbs(r->stream_bytes, r->copy_ns), "shm-ring",
		  res->shm_gbs);
	printf("\nratio = pvio / baseline: for latency lower is better, for throughput higher.\n"
	       "us = microseconds; GB/s = 10^9 bytes per second.\n");
}

int main(int argc, char **argv)
{
	struct rb_results res;
	struct rb_params p;
	bool private_hv;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = parse_args(argc, argv, &p);
	if (ret)
		return ret < 0;
	/* A peer that goes away must show up as EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	private_hv = !p.socket;
	ret = rb_run_pvio(&p, &res.pvio);
	if (ret == 0)
		ret = run_baselines(&p, &res);
	if (ret < 0)
		return 1;
	print_machine(res.pvio.provider, private_hv);
	print_params(&p, &res.pvio);
	print_table(&res);
	return 0;
}
