/* SPDX-License-Identifier: MIT */
/*
 * hv-flood: one guest floods pvio-hv while another keeps its service and
 * dom0 can still create domains.  The flooder opens sessions on its token
 * until refused (-EMFILE at its session limit), takes event channels until
 * refused (-ENOSPC at its port limit), then streams requests on every
 * session at once while a victim guest times an hv operation (allocating
 * and closing an event channel): the victim's median under flood must stay
 * within twice its baseline median plus 2 ms (tests/latency.h says why the
 * floor).  A session that never reads its replies is no longer read (its
 * own socket then refuses its requests) but not disconnected.  Dom0
 * then creates a domain and opens a session, and may open 64 death streams
 * but not a 65th.
 *
 * The daemon runs with 4096 descriptors here, so that a flooder without
 * limits would exhaust them quickly (it did: 6,656 sessions on one token
 * took all 20,000 of a default daemon's).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "tests/helpers.h"
#include "tests/hv-test.h"
#include "tests/latency.h"
#include "tests/ns-helpers.h"

#define NOFILE 4096
/* More than any limit here, fewer than a daemon without limits could hold. */
#define MAX_TRIES 3000

/* Pipes between the test and its guests. */
static int to_victim[2], from_victim[2], from_flooder[2];

/* A session on our token whose HELLO reply must come within 5 s: 0 and *sock, or -errno. */
static int session_try(int token, int *sock)
{
	struct hvsim_msg req = { .op = HVSIM_HELLO }, rep;
	int sv[2], fds[3], ret;
	unsigned int nfds = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = hvsim_send(token, &req, &sv[1], 1);
	close(sv[1]);
	if (ret == 0 && !t_readable(sv[0], 5000))
		ret = -ETIMEDOUT;
	if (ret == 0)
		ret = hvsim_recv(sv[0], &rep, fds, 3, &nfds);
	while (nfds)
		close(fds[--nfds]);
	if (ret == 0)
		ret = rep.err;
	if (ret < 0)
		close(sv[0]);
	else
		*sock = sv[0];
	return ret;
}

/* One EVTCHN_ALLOC for ourselves, its eventfd closed at once: the port or -errno. */
static int port_take(int sock)
{
	uint32_t arg = DOMID_SELF;
	struct hvsim_msg rep;
	unsigned int nfds = 0;
	int fd, ret;

	ret = t_rpc(sock, HVSIM_EVTCHN_ALLOC, &arg, 1, &rep, &fd, 1, &nfds);
	if (nfds)
		close(fd);
	return ret < 0 ? ret : rep.err < 0 ? rep.err : (int)rep.arg[0];
}

/* The victim's timed operation: take a port and give it back. */
static int victim_op(int sock)
{
	struct hvsim_msg rep;
	uint32_t port;
	int ret = port_take(sock);

	if (ret < 0)
		return ret;
	port = (uint32_t)ret;
	ret = t_rpc(sock, HVSIM_EVTCHN_CLOSE, &port, 1, &rep, NULL, 0, NULL);
	return ret < 0 ? ret : rep.err;
}

/* T_LAT_SAMPLES timed operations: their median in *us, or -errno of the first failure. */
static int victim_measure(int sock, uint64_t *median)
{
	uint64_t us[T_LAT_SAMPLES], t0;
	int i, ret;

	for (i = 0; i < T_LAT_SAMPLES; i++) {
		t0 = t_lat_now_us();
		ret = victim_op(sock);
		if (ret < 0)
			return ret;
		us[i] = t_lat_now_us() - t0;
	}
	*median = t_lat_median(us, T_LAT_SAMPLES);
	return 0;
}

/* Victim: a baseline, then a measurement under flood, each on a word from the test. */
static int victim(void *arg)
{
	struct hvsim_msg hello;
	uint64_t res[2] = { 0, 0 };
	int sock, i, ret;
	char go;

	(void)arg;
	T_CHECK(t_die_with_parent() == 0, "victim: the test is gone");
	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "victim: no session");
	for (i = 0; i < 2; i++) {
		T_CHECK(read(to_victim[0], &go, 1) == 1, "victim: no word from the test");
		ret = victim_measure(sock, &res[i]);
		T_CHECK(ret == 0, "victim: %s: %s", i ? "under flood" : "baseline", strerror(-ret));
		T_CHECK(write(from_victim[1], &res[i], sizeof(res[i])) == sizeof(res[i]),
			"victim: report");
	}
	return T_PASS;
}

/* Sessions until refused: their count in *n, the refusal returned. */
static int flood_sessions(int token, int *socks, int *n)
{
	int ret = 0;

	for (*n = 0; *n < MAX_TRIES; ++*n) {
		ret = session_try(token, &socks[*n]);
		if (ret < 0)
			break;
	}
	return ret;
}

/* Ports on sock until refused: the refusal. */
static int flood_ports(int sock, int *n)
{
	int ret = 0;

	for (*n = 0; *n < MAX_TRIES; ++*n) {
		ret = port_take(sock);
		if (ret < 0)
			break;
	}
	return ret;
}

/* Requests in flight on each flooding session. */
#define BATCH 8

/* BATCH requests on every session at once, replies read after: until killed. */
static void flood_stream(const int *socks, int n)
{
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_PEER }, rep;
	int i;

	for (;;) {
		for (i = 0; i < n * BATCH; i++)
			hvsim_send(socks[i % n], &req, NULL, 0);
		for (i = 0; i < n * BATCH; i++)
			hvsim_recv(socks[i % n], &rep, NULL, 0, NULL);
	}
}

/*
 * A session that sends and never reads: its sends end in EAGAIN (the requests wait in its own
 * socket), and once replies come it is still connected.  (That it stays so, every reply kept,
 * is tests/hv-pipeline's to check: it reads them.)
 */
static int flood_unread(int sock)
{
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_PEER };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int i;

	for (i = 0; i < MAX_TRIES * 64; i++) {
		if (send(sock, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
	}
	if (i == MAX_TRIES * 64)
		return -EOVERFLOW;
	if (errno != EAGAIN)
		return -errno;
	/* A slow daemon (sanitizers) may not have answered yet: the limit is only a failure's. */
	if (poll(&pfd, 1, 20000) != 1 || (pfd.revents & (POLLHUP | POLLERR)) ||
	    !(pfd.revents & POLLIN))
		return -ENOTCONN;
	return 0;
}

/* Flooder: report the session and port refusals, then stream until killed. */
static int flooder(void *arg)
{
	static int socks[MAX_TRIES];
	int res[4], n, ports;

	(void)arg;
	T_CHECK(t_die_with_parent() == 0, "flooder: the test is gone");
	res[0] = flood_sessions(atoi(getenv(HVSIM_FD_ENV)), socks, &n);
	res[1] = n;
	res[2] = n > 1 ? flood_ports(socks[0], &ports) : -ENOTCONN;
	res[3] = n > 1 ? flood_unread(socks[n - 1]) : -ENOTCONN;
	T_CHECK(write(from_flooder[1], res, sizeof(res)) == sizeof(res), "flooder: report");
	if (n > 1)
		flood_stream(socks, n - 1);
	return T_PASS;
}

/* The flooder's report: its refusals as expected. */
static int flooder_check(void)
{
	int res[4];

	T_CHECK(t_get(from_flooder[0], res, sizeof(res)) == 0, "no report from the flooder");
	printf("flooder: %d sessions, then %s; ports: %s; unread session: %s\n", res[1],
	       strerror(-res[0]), strerror(-res[2]), strerror(-res[3]));
	T_CHECK(res[0] == -EMFILE, "sessions refused with %s, not at the session limit",
		strerror(-res[0]));
	T_CHECK(res[1] == 128, "%d sessions, not the default limit of 128", res[1]);
	T_CHECK(res[2] == -ENOSPC, "ports refused with %s, not at the port limit",
		strerror(-res[2]));
	T_CHECK(res[3] == 0, "a session that never reads was not held back, connected: %s",
		strerror(-res[3]));
	return T_PASS;
}

/* Dom0 after the flood: a new domain and a session. */
static int dom0_check(void)
{
	struct hvsim_msg hello;
	struct hvctl *ctl;
	domid_t id;
	int ret, token, sock;

	ret = hvctl_open(&ctl, NULL);
	T_CHECK(ret == 0, "dom0: hvctl_open: %s", strerror(-ret));
	ret = hvctl_domain_create(ctl, "after-flood", 0, &id, &token);
	T_CHECK(ret == 0, "dom0: create a domain under flood: %s", strerror(-ret));
	close(token);
	hvctl_close(ctl);
	ret = t_session_open(&sock, &hello, NULL);
	T_CHECK(ret == 0, "dom0: a session under flood: %s", strerror(-ret));
	close(sock);
	return T_PASS;
}

/* Death streams up to the default limit of 64, and no more. */
static int subscribers_check(void)
{
	int fds[65], i, ret = 0;

	for (i = 0; i < 65 && ret == 0; i++)
		ret = hvctl_subscribe(NULL, &fds[i]);
	printf("death streams: %d, then %s\n", i - 1, strerror(-ret));
	T_CHECK(i == 65 && ret == -EMFILE, "subscriber %d refused with %s, not at the limit", i,
		strerror(-ret));
	while (--i > 0)
		close(fds[i - 1]);
	T_CHECK(hvctl_subscribe(NULL, &fds[0]) == 0, "no death stream after closing the others");
	close(fds[0]);
	return T_PASS;
}

static int measure(uint64_t *us)
{
	char go = 1;

	T_CHECK(write(to_victim[1], &go, 1) == 1, "victim gone");
	T_CHECK(t_get(from_victim[0], us, sizeof(*us)) == 0, "no measurement from the victim");
	return T_PASS;
}

int main(void)
{
	struct rlimit rl = { .rlim_cur = NOFILE, .rlim_max = NOFILE };
	pid_t vpid, fpid;
	uint64_t base, flood;

	T_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	T_CHECK(pipe(to_victim) == 0 && pipe(from_victim) == 0 && pipe(from_flooder) == 0, "pipe");
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	t_time_limit(90);
	T_CHECK(t_domain_fork("victim", victim, NULL, NULL, &vpid) == 0, "victim");
	T_CHECK(measure(&base) == T_PASS, "baseline");
	T_CHECK(t_domain_fork("flooder", flooder, NULL, NULL, &fpid) == 0, "flooder");
	T_CHECK(flooder_check() == T_PASS, "flooder");
	T_CHECK(measure(&flood) == T_PASS, "under flood");
	printf("victim's median: %llu us before, %llu us under flood\n", (unsigned long long)base,
	       (unsigned long long)flood);
	T_CHECK(t_lat_fair(base, flood), "victim starved: %llu us under flood, %llu before",
		(unsigned long long)flood, (unsigned long long)base);
	T_CHECK(dom0_check() == T_PASS, "dom0");
	T_CHECK(subscribers_check() == T_PASS, "death streams");
	kill(fpid, SIGKILL);
	T_CHECK(t_wait(fpid) == 128 + SIGKILL, "flooder");
	T_CHECK(t_wait(vpid) == T_PASS, "victim");
	return T_PASS;
}
