/* SPDX-License-Identifier: MIT */
/*
 * xs-flood: one domain floods pvio-xenstored while dom0 keeps its service.
 * The flooder (two processes, so that its own descriptors are not what runs
 * out) opens connections on its domain socket until they are hung up on
 * (its "connections" quota, 64), registers watches until refused (E2BIG at
 * its "watches" quota, 128), then streams reads on every connection and
 * writes under its watches (a watch storm on its own unread connection)
 * while dom0 times xenstore reads: dom0's median under flood must stay
 * within twice its baseline median plus 2 ms (tests/latency.h says why the
 * floor).  Dom0 can still connect, and the daemon survives.
 *
 * The daemon runs with 4096 descriptors here, so that a flooder without
 * limits would exhaust them quickly (it did: 19,994 connections took all
 * 20,000 of a default daemon's, and dom0's xenstore-read hung).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/hv-test.h"
#include "tests/latency.h"
#include "tests/ns-helpers.h"
#include "tests/xs-helpers.h"

#define NOFILE 4096
#define DOMID  5
#define HOME   "/local/domain/5"
/* Connections each flooding process tries: together more than the daemon's descriptors. */
#define MAX_CONNS 2500

/* Requests in flight on each flooding connection: within its "outstanding" quota of 20. */
#define BATCH 16

static int from_flood[2];

/* Send one request: 0 or -1. */
static int raw_send(int fd, uint32_t type, uint32_t req_id, const char *a, const char *b)
{
	char buf[256];
	struct xsd_sockmsg *m = (struct xsd_sockmsg *)(void *)buf;
	/* A watch's token ends in a NUL, a written value does not. */
	size_t la = strlen(a) + 1, lb = b ? strlen(b) + (type == XS_WATCH) : 0;

	m->type = type;
	m->req_id = req_id;
	m->tx_id = 0;
	m->len = (uint32_t)(la + lb);
	memcpy(buf + sizeof(*m), a, la);
	if (b)
		memcpy(buf + sizeof(*m) + la, b, lb);
	return send(fd, buf, sizeof(*m) + la + lb, MSG_NOSIGNAL) == (ssize_t)(sizeof(*m) + la + lb)
		   ? 0
		   : -1;
}

/* Read one reply that is not a watch event within ms: its type, -ECONNRESET, -ETIMEDOUT. */
static int raw_reply(int fd, int ms, char *body, size_t size)
{
	struct xsd_sockmsg m;
	char skip[XENSTORE_PAYLOAD_MAX];

	for (;;) {
		if (!t_readable(fd, ms))
			return -ETIMEDOUT;
		if (recv(fd, &m, sizeof(m), MSG_WAITALL) != sizeof(m))
			return -ECONNRESET;
		if (m.len > sizeof(skip) || (m.len && recv(fd, skip, m.len, MSG_WAITALL) != m.len))
			return -ECONNRESET;
		if (m.type == XS_WATCH_EVENT)
			continue;
		if (body)
			snprintf(body, size, "%.*s", (int)m.len, skip);
		return (int)m.type;
	}
}

/*
 * Connections that the daemon serves, until one is not: their count in *n,
 * how the last one ended (-ECONNRESET hung up on, -ETIMEDOUT not served).
 */
static int flood_conns(int *fds, int *n)
{
	int ret = -EMFILE;

	for (*n = 0; *n < MAX_CONNS; ++*n) {
		fds[*n] = t_xs_domain_connect(DOMID);
		if (fds[*n] < 0)
			return -errno;
		ret = -ECONNRESET;
		if (raw_send(fds[*n], XS_READ, 1, HOME, NULL) == 0)
			ret = raw_reply(fds[*n], 3000, NULL, 0);
		if (ret < 0) {
			close(fds[*n]);
			return ret;
		}
	}
	return 0;
}

/* Watches on fd until refused: their count in *n, the refusal's error name in err. */
static void flood_watches(int fd, int *n, char *err, size_t size)
{
	char token[32];
	int ret;

	snprintf(err, size, "none");
	for (*n = 0; *n < 1000; ++*n) {
		snprintf(token, sizeof(token), "t%d", *n);
		if (raw_send(fd, XS_WATCH, 2, HOME, token) < 0)
			return;
		ret = raw_reply(fd, 3000, err, size);
		if (ret != XS_WATCH)
			return;
	}
}

/* Reads on every connection at once, replies read after; writes on the watched one. */
static void flood_stream(const int *fds, int n)
{
	char value[16];
	unsigned int i;
	int k;

	for (i = 0;; i++) {
		snprintf(value, sizeof(value), "%u", i);
		raw_send(fds[0], XS_WRITE, 3, HOME "/w", value);
		for (k = n; k < n * BATCH; k++)
			raw_send(fds[1 + k % (n - 1)], XS_READ, 4, HOME, NULL);
		for (k = n; k < n * BATCH; k++)
			raw_reply(fds[1 + k % (n - 1)], 3000, NULL, 0);
	}
}

/* One flooding process's report. */
struct report {
	int conns;    /* connections served */
	int end;      /* how the next one ended */
	int watches;  /* watches registered (the first process only) */
	char err[16]; /* the refusal of the next watch */
};

static int flooder(bool first)
{
	static int fds[MAX_CONNS];
	struct report r = { 0 };

	r.end = flood_conns(fds, &r.conns);
	if (first && r.conns > 1)
		flood_watches(fds[0], &r.watches, r.err, sizeof(r.err));
	if (write(from_flood[1], &r, sizeof(r)) != sizeof(r))
		return T_FAIL;
	if (first && r.conns > 1)
		flood_stream(fds, r.conns);
	for (;;)
		pause();
}

static pid_t flooder_start(bool first)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(t_die_with_parent() == 0 ? flooder(first) : T_FAIL);
	return pid;
}

/*
 * The flooder, then its helper once the flooder holds what it got: both
 * reports must show the flood hit its quotas, and only those.
 */
static int flood_check(pid_t *pid)
{
	struct report r[2];

	pid[0] = flooder_start(true);
	T_CHECK(pid[0] > 0, "fork");
	T_CHECK(t_get(from_flood[0], &r[0], sizeof(r[0])) == 0, "no report from the flooder");
	pid[1] = flooder_start(false);
	T_CHECK(pid[1] > 0, "fork");
	T_CHECK(t_get(from_flood[0], &r[1], sizeof(r[1])) == 0, "no report from its helper");
	printf("flooder: %d + %d connections, then %s / %s; %d watches, then %s %s\n", r[0].conns,
	       r[1].conns, strerror(-r[0].end), strerror(-r[1].end), r[0].watches + r[1].watches,
	       r[0].err, r[1].err);
	T_CHECK(r[0].conns + r[1].conns == 64, "%d connections, not the quota of 64",
		r[0].conns + r[1].conns);
	T_CHECK(r[0].end == -ECONNRESET && r[1].end == -ECONNRESET,
		"a connection over the quota was not hung up on: %s / %s", strerror(-r[0].end),
		strerror(-r[1].end));
	T_CHECK(r[0].watches == 128, "%d watches, not the quota of 128", r[0].watches);
	T_CHECK(!strcmp(r[0].err, "E2BIG"), "watch over the quota refused with %s", r[0].err);
	return T_PASS;
}

/* T_LAT_SAMPLES reads by dom0 on a fresh connection: their median. */
static int dom0_measure(uint64_t *median)
{
	uint64_t us[T_LAT_SAMPLES], t0;
	struct xs_handle *h = t_xs_open();
	unsigned int len, i;
	char *v;

	T_CHECK(h, "dom0 cannot connect");
	for (i = 0; i < T_LAT_SAMPLES; i++) {
		t0 = t_lat_now_us();
		v = xs_read(h, XBT_NULL, "/tool/probe", &len);
		us[i] = t_lat_now_us() - t0;
		T_CHECK(v && !strcmp(v, "here"), "dom0's read failed");
		free(v);
	}
	xs_close(h);
	*median = t_lat_median(us, T_LAT_SAMPLES);
	return T_PASS;
}

static int setup(void)
{
	struct rlimit rl = { .rlim_cur = NOFILE, .rlim_max = NOFILE };
	struct xs_handle *h;

	T_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	T_CHECK(pipe(from_flood) == 0, "pipe");
	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	t_time_limit(90);
	h = t_xs_open();
	T_CHECK(h, "xs_open");
	T_CHECK(xs_introduce_domain(h, DOMID, 0, 0), "INTRODUCE");
	T_CHECK(xs_write(h, XBT_NULL, "/tool/probe", "here", 4), "write the probe");
	xs_close(h);
	return T_PASS;
}

int main(void)
{
	uint64_t base, flood;
	pid_t pid[2];

	signal(SIGPIPE, SIG_IGN);
	T_CHECK(setup() == T_PASS, "setup");
	T_CHECK(dom0_measure(&base) == T_PASS, "baseline");
	pid[0] = pid[1] = 0;
	T_CHECK(flood_check(pid) == T_PASS, "flood");
	T_CHECK(dom0_measure(&flood) == T_PASS, "under flood");
	printf("dom0's median read: %llu us before, %llu us under flood\n",
	       (unsigned long long)base, (unsigned long long)flood);
	T_CHECK(t_lat_fair(base, flood), "dom0 starved: %llu us under flood, %llu before",
		(unsigned long long)flood, (unsigned long long)base);
	kill(pid[0], SIGKILL);
	kill(pid[1], SIGKILL);
	t_wait(pid[0]);
	t_wait(pid[1]);
	T_CHECK(t_xs_alive(), "pvio-xenstored died");
	return T_PASS;
}
