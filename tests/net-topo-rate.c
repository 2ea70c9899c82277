/* SPDX-License-Identifier: MIT */
/*
 * net-topo-rate: a vif's rate= through the daemon (tests/net-topo.h).  The toolstack writes
 * rate "RATE_BYTES,RATE_USEC" (2 MB/s in 10 ms windows, as libxl writes rate=2MB/s@10ms) into
 * the vif's back-end directory; the guest sends 1472-byte UDP datagrams (1514-byte frames) to
 * the outside world at about twice that for SEND_S seconds, so the ring is always full and the
 * rate is the only limit.  The outside sees frames at that rate within 10%, measured over the
 * arrivals after the first second (the credit the queue starts with and may carry over is
 * spent by then) until the last: some 9 s, so a loaded 2-CPU machine's scheduling delays
 * (credit carries over up to 128 KiB, 64 ms here) average out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/hv-test.h"
#include "tests/net-topo.h"

#define RATE_BYTES 20000u
#define RATE_USEC  10000u
#define PAYLOAD	   1472u
#define FRAME	   (PAYLOAD + 28u + 14u) /* IPv4, UDP, Ethernet: what the credit counts */
#define SEND_S	   10u
#define SKIP_MS	   1000u
#define UDP_PORT   (NTO_PORT + 2)

static int res[2], ready[2];

/* Count arrivals until 2 s of silence; send the bytes and the span after the first SKIP_MS. */
static int receive(void *arg)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), rcv = 4 << 20;
	uint64_t first = 0, mark = 0, last = 0, bytes = 0, out[2];
	static char buf[65536];
	ssize_t n;

	(void)arg;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	T_CHECK(s >= 0 && bind(s, (struct sockaddr *)&me, sizeof(me)) == 0, "bind: %s",
		strerror(errno));
	T_CHECK(t_put(ready[1], "r", 1) == 0, "ready");
	for (int wait = NTO_WAIT_MS; t_readable(s, wait); wait = 2000) {
		while ((n = recv(s, buf, sizeof(buf), 0)) >= 0) {
			uint64_t now = t_now_ms();

			if (n != PAYLOAD)
				continue;
			if (!first)
				first = now;
			if (now < first + SKIP_MS)
				continue;
			if (!mark)
				mark = now; /* bytes are counted after this one */
			else
				bytes += FRAME;
			last = now;
		}
	}
	out[0] = bytes;
	out[1] = last - mark;
	return t_put(res[1], out, sizeof(out)) ? T_FAIL : 0;
}

/* About twice the rate: 27 datagrams every 10 ms (4 MB/s). */
static int send_paced(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	static char msg[PAYLOAD];
	uint64_t end = t_now_ms() + SEND_S * 1000;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	(void)arg;
	inet_pton(AF_INET, NTO_OUTSIDE_IP, &to.sin_addr);
	T_CHECK(s >= 0, "socket");
	while (t_now_ms() < end) {
		for (int i = 0; i < 27; i++)
			sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
		t_msleep(10);
	}
	return 0;
}

static int run(struct nto *t)
{
	const double want = RATE_BYTES * 1e6 / RATE_USEC;
	char rate[32];
	uint64_t out[2];
	double seen;
	pid_t rx, tx;
	char c;

	snprintf(rate, sizeof(rate), "%u,%u", RATE_BYTES, RATE_USEC);
	T_CHECK(nto_netback_start(t, NULL) == 0, "pvio-netback");
	T_CHECK(nto_guest_add(t, 1, rate) == 0, "guest");
	T_CHECK(pipe(res) == 0 && pipe(ready) == 0, "pipes");
	T_CHECK(nto_fork_in(t->outside, receive, NULL, &rx) == 0, "receiver");
	T_CHECK(t_get(ready[0], &c, 1) == 0, "receiver ready");
	T_CHECK(nto_fork_in(t->g[0].netfront, send_paced, NULL, &tx) == 0, "sender");
	T_CHECK(t_wait(tx) == 0, "the sender");
	T_CHECK(t_get(res[0], out, sizeof(out)) == 0 && t_wait(rx) == 0, "the receiver");
	T_CHECK(out[1] > (SEND_S - 3) * 1000, "datagrams came for %llu ms only",
		(unsigned long long)out[1]);
	seen = (double)out[0] * 1000.0 / (double)out[1];
	printf("%llu bytes of frames in %llu ms: %.0f bytes/s, rate %.0f (%.3f)\n",
	       (unsigned long long)out[0], (unsigned long long)out[1], seen, want, seen / want);
	T_CHECK(seen > want * 0.9 && seen < want * 1.1, "observed %.0f bytes/s, rate %.0f", seen,
		want);
	return 0;
}

int main(void)
{
	struct nto t;

	return nto_main(&t, 1500, run);
}
