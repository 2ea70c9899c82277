/* SPDX-License-Identifier: MIT */
/*
 * xs-conn-rr: a domain's pipelining connection does not starve its other
 * connections.  pvio-xenstored reads one request per guest domain per loop
 * turn; connection A of domain 5 always has a request waiting (a child keeps
 * its socket full, the test reads its replies), so epoll reports A in every
 * turn.  Each read on the domain's connection B must be answered within a
 * bounded number of A's replies (counted, not timed).  Before the fix A, first
 * in epoll's ready list and put back first, took the domain's request every
 * turn and B waited until A happened to leave the ready list (954 to 8195 of
 * A's replies; hidden until xs_conn_fill read a request's header and payload
 * in one turn, as each request took two turns and B was read in A's second).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/ns-helpers.h"
#include "tests/xs-helpers.h"

#define DOMID 5
#define HOME  "/local/domain/5"
/*
 * A's replies that may arrive between B's request and its reply: up to 20 the daemon had
 * queued for A before B's request (its "outstanding" quota: A's socket may be full), then
 * about one a turn until B's is read.  Before the fix: hundreds to thousands (B waited until
 * A happened to leave epoll's ready list).
 */
#define MAX_AHEAD 32
/* B's reads, each of which must be served within MAX_AHEAD of A's. */
#define READS 20

/* A read of HOME, as sent. */
static char read_home[sizeof(struct xsd_sockmsg) + sizeof(HOME)];

/* Reads of HOME on fd, 64 to a send() so that the socket always holds one, for ever. */
static int pipeline_send(int fd)
{
	static char buf[64][sizeof(read_home)];
	unsigned int i;

	for (i = 0; i < 64; i++)
		memcpy(buf[i], read_home, sizeof(read_home));
	while (send(fd, buf, sizeof(buf), MSG_NOSIGNAL) == (ssize_t)sizeof(buf))
		;
	return T_FAIL;
}

static pid_t start(int (*fn)(int), int fd)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(t_die_with_parent() == 0 ? fn(fd) : T_FAIL);
	return pid;
}

/* Read one whole message from fd (flags MSG_DONTWAIT: only if one has begun): its type, or -1. */
static int read_msg(int fd, int flags)
{
	char body[XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg m;

	if (recv(fd, &m, sizeof(m), MSG_WAITALL | flags) != sizeof(m) || m.len > sizeof(body))
		return -1;
	if (m.len && recv(fd, body, m.len, MSG_WAITALL) != m.len)
		return -1;
	return (int)m.type;
}

/*
 * One read on b while a pipelines: A's replies that arrived before B's (counted exactly: A's
 * socket is emptied first, and B's is looked at before each of A's), or -1 if B's failed or
 * did not come within 10 s.
 */
static long b_read(int a, int b)
{
	struct pollfd pfd[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	char peek;
	long n = 0;

	while (read_msg(a, MSG_DONTWAIT) >= 0)
		;
	if (send(b, read_home, sizeof(read_home), MSG_NOSIGNAL) != sizeof(read_home))
		return -1;
	while (recv(b, &peek, 1, MSG_PEEK | MSG_DONTWAIT) != 1) {
		if (poll(pfd, 2, 10000) <= 0)
			return -1;
		if ((pfd[0].revents & POLLIN) && !(pfd[1].revents & POLLIN)) {
			if (read_msg(a, 0) < 0)
				return -1;
			n++;
		}
	}
	return read_msg(b, 0) == XS_READ ? n : -1;
}

int main(void)
{
	struct xs_handle *h;
	long n, most = 0;
	int a, b, i;
	pid_t pid;

	struct xsd_sockmsg m = { .type = XS_READ, .req_id = 1, .len = sizeof(HOME) };

	memcpy(read_home, &m, sizeof(m));
	memcpy(read_home + sizeof(m), HOME, sizeof(HOME));
	signal(SIGPIPE, SIG_IGN);
	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	t_time_limit(60);
	h = t_xs_open();
	T_CHECK(h, "xs_open");
	T_CHECK(xs_introduce_domain(h, DOMID, 0, 0), "INTRODUCE");
	xs_close(h);
	a = t_xs_domain_connect(DOMID);
	T_CHECK(a >= 0, "connect A: %s", strerror(errno));
	pid = start(pipeline_send, a);
	T_CHECK(pid > 0, "fork");
	/* A's pipeline running first puts A ahead of B in the daemon's ready list. */
	for (i = 0; i < 1000; i++)
		T_CHECK(read_msg(a, 0) == XS_READ, "A's pipeline is not served");
	b = t_xs_domain_connect(DOMID);
	T_CHECK(b >= 0, "connect B: %s", strerror(errno));
	for (i = 0; i < READS; i++) {
		n = b_read(a, b);
		T_CHECK(n >= 0, "B's read %d was not answered while A pipelines", i);
		most = n > most ? n : most;
	}
	printf("B's %d reads: at most %ld of A's requests answered while one waited\n", READS,
	       most);
	T_CHECK(most <= MAX_AHEAD,
		"%ld of A's requests answered while B's read waited (at most %d)", most, MAX_AHEAD);
	close(b);
	kill(pid, SIGKILL);
	t_wait(pid);
	T_CHECK(t_xs_alive(), "pvio-xenstored died");
	return T_PASS;
}
