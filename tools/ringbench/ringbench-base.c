/* SPDX-License-Identifier: MIT */
/*
 * ringbench-base.c - the baselines pvio-ringbench measures in the same run
 * (ping-pong over an eventfd pair and over a pipe pair between two plain
 * processes, 4 KiB memcpy in one process), and the helpers its files share.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/ringbench/ringbench.h"

/* A bench domain process keeps its first failure for its report instead of printing it. */
static struct rb_failure {
	bool recording; /* set in a bench domain's process */
	int32_t err;	/* 0, or the first failure */
	char what[96];	/* what failed */
} rb_first;

/* Keeps the copies observable, so that no compiler drops them. */
static volatile uint8_t rb_sink;

int rb_err(const char *what, int err)
{
	if (!rb_first.recording) {
		fprintf(stderr, "%s: %s: %s\n", RB_PROG, what, strerror(-err));
	} else if (!rb_first.err && err < 0) {
		rb_first.err = err;
		snprintf(rb_first.what, sizeof(rb_first.what), "%s", what);
	}
	return err;
}

void rb_err_record(void)
{
	rb_first.recording = true;
}

void rb_err_report(struct rb_report *rep)
{
	rep->err = rb_first.err;
	snprintf(rep->what, sizeof(rep->what), "%s", rb_first.what);
}

uint64_t rb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double rb_gbs(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / (double)ns : 0.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted samples. */
static double percentile(const uint64_t *sorted, size_t n, unsigned int pct)
{
	size_t rank = (n * pct + 99) / 100;

	return (double)sorted[rank ? rank - 1 : 0];
}

int rb_lat_summarise(uint64_t *ns, size_t n, struct rb_lat *out)
{
	double sum = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	qsort(ns, n, sizeof(*ns), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	out->p50 = percentile(ns, n, 50);
	out->p99 = percentile(ns, n, 99);
	out->mean = sum / (double)n;
	return 0;
}

int rb_msg_send(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = send(fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* Wait up to RB_WAIT_MS for fd to become readable. */
static int wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do {
		n = poll(&pfd, 1, RB_WAIT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int rb_msg_recv(int fd, void *buf, size_t len)
{
	ssize_t n;
	int ret;

	ret = wait_readable(fd);
	if (ret < 0)
		return ret;
	do {
		n = recv(fd, buf, len, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	return (size_t)n == len ? 0 : -EPROTO;
}

int rb_evtchn_wait(struct hv *hv, evtchn_port_t port)
{
	evtchn_port_t got;
	int ret;

	/* Events coalesce, so one taken event covers all sent so far: the
	 * caller's ring check, not an event count, says what there is to do. */
	ret = hv_evtchn_wait(hv, &got, RB_WAIT_MS);
	if (ret == -EAGAIN)
		return hv_evtchn_state(hv, port) != HV_EVTCHN_CONNECTED ? -ECONNRESET : -ETIMEDOUT;
	if (ret < 0)
		return ret;
	return hv_evtchn_unmask(hv, got);
}

/* Two one-way channels between two processes; an eventfd is both ends of one. */
struct pp_chan {
	int ping_rd, ping_wr; /* parent to child */
	int pong_rd, pong_wr; /* child to parent */
	size_t len;	      /* bytes per message: 8 for an eventfd, 1 for a pipe */
};

static int pp_send(int fd, size_t len)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, len);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EPROTO;
}

static int pp_take(int fd, size_t len)
{
	uint64_t v;
	ssize_t n = read(fd, &v, len);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	return n == (ssize_t)len ? 0 : -EPROTO;
}

/* The child: echo every ping, exit once they are all answered. */
static void pp_child(const struct pp_chan *c, uint64_t rounds)
{
	/* An eventfd never reports end-of-file: do not outlive the parent. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (rounds--)
		if (pp_take(c->ping_rd, c->len) < 0 || pp_send(c->pong_wr, c->len) < 0)
			_exit(1);
	_exit(0);
}

/* The parent: one round trip per sample, after the warm-up. */
static int pp_parent(const struct pp_chan *c, const struct rb_params *p, uint64_t *ns)
{
	uint64_t i, t0;
	int ret;

	for (i = 0; i < p->warmup + p->iterations; i++) {
		t0 = rb_now_ns();
		ret = pp_send(c->ping_wr, c->len);
		if (ret == 0)
			ret = pp_take(c->pong_rd, c->len);
		if (ret < 0)
			return ret;
		if (i >= p->warmup)
			ns[i - p->warmup] = rb_now_ns() - t0;
	}
	return 0;
}

static int pp_reap(pid_t pid, int ret)
{
	int status;

	if (ret < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ret < 0 ? ret : -errno;
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ret = -ECHILD;
	return ret;
}

static int pp_run(const struct pp_chan *c, const struct rb_params *p, struct rb_lat *out)
{
	uint64_t *ns = malloc(p->iterations * sizeof(*ns));
	pid_t pid;
	int ret;

	if (!ns)
		return -ENOMEM;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		free(ns);
		pp_child(c, p->warmup + p->iterations);
	}
	ret = pid < 0 ? -errno : pp_parent(c, p, ns);
	if (pid > 0)
		ret = pp_reap(pid, ret);
	if (ret == 0)
		ret = rb_lat_summarise(ns, p->iterations, out);
	free(ns);
	return ret;
}

int rb_base_eventfd(const struct rb_params *p, struct rb_lat *out)
{
	int ping = eventfd(0, EFD_CLOEXEC), pong = eventfd(0, EFD_CLOEXEC);
	struct pp_chan c = { ping, ping, pong, pong, sizeof(uint64_t) };
	int ret = ping < 0 || pong < 0 ? -errno : pp_run(&c, p, out);

	if (ping >= 0)
		close(ping);
	if (pong >= 0)
		close(pong);
	return ret;
}

int rb_base_pipe(const struct rb_params *p, struct rb_lat *out)
{
	int ping[2] = { -1, -1 }, pong[2] = { -1, -1 }, i, ret = 0;
	struct pp_chan c;

	if (pipe2(ping, O_CLOEXEC) < 0 || pipe2(pong, O_CLOEXEC) < 0)
		ret = -errno;
	c = (struct pp_chan){ ping[0], ping[1], pong[0], pong[1], 1 };
	if (ret == 0)
		ret = pp_run(&c, p, out);
	for (i = 0; i < 2; i++) {
		if (ping[i] >= 0)
			close(ping[i]);
		if (pong[i] >= 0)
			close(pong[i]);
	}
	return ret;
}

/*
 * The stream tests' work without the hypervisor: 4 KiB copies from a set of
 * RB_DATA_PAGES pages into a buffer of RB_BATCH pages, as the back does.
 */
int rb_base_memcpy(const struct rb_params *p, double *gbs)
{
	uint8_t *src = aligned_alloc(HV_PAGE_SIZE, (size_t)RB_DATA_PAGES * HV_PAGE_SIZE);
	uint8_t *dst = aligned_alloc(HV_PAGE_SIZE, (size_t)RB_BATCH * HV_PAGE_SIZE);
	uint64_t pages = p->bytes / HV_PAGE_SIZE, i, t0;
	uint8_t *to;

	if (!src || !dst) {
		free(src);
		free(dst);
		return -ENOMEM;
	}
	for (i = 0; i < RB_DATA_PAGES; i++)
		memset(src + i * HV_PAGE_SIZE, (int)i, HV_PAGE_SIZE);
	memset(dst, 0, (size_t)RB_BATCH * HV_PAGE_SIZE);
	t0 = rb_now_ns();
	for (i = 0; i < pages; i++) {
		to = dst + (i % RB_BATCH) * HV_PAGE_SIZE;
		memcpy(to, src + (i % RB_DATA_PAGES) * HV_PAGE_SIZE, HV_PAGE_SIZE);
		rb_sink ^= to[i % HV_PAGE_SIZE];
	}
	*gbs = rb_gbs(pages * HV_PAGE_SIZE, rb_now_ns() - t0);
	free(src);
	free(dst);
	return 0;
}
