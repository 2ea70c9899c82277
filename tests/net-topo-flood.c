/* SPDX-License-Identifier: MIT */
/*
 * net-topo-flood: the outside world floods the guest (tests/net-topo.h) with FLOOD UDP datagrams
 * of 18 bytes (64-byte frames, the smallest) as fast as it can, to a socket the guest reads.
 * What was sent, received and dropped where is reported, and the counts must agree: every frame
 * the vif handed pvio-netback (the TAP's tx_packets) was delivered to the guest or dropped and
 * counted by pvio-netback (rx-packets and its rx-drop counters, one frame per queue possibly
 * held); the guest's eth0 took no more than pvio-netback delivered, and its UDP layer took in or
 * dropped for a full socket buffer what eth0 took; nothing was received that was not sent.  Then
 * pvio-netback keeps serving: a TCP stream to the guest, every byte checked, and ping.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/hv-test.h"
#include "tests/net-topo.h"

#define FLOOD	 200000u
#define UDP_PORT (NTO_PORT + 1)
#define QUIET_MS 2000 /* the receiver stops after this long without a datagram */
#define OTHERS	 200u /* frames that are not the flood's (ARP, IPv6 chatter) allowed meanwhile */

static struct nto t;
static int res[2];   /* the receiver's count, the sender's count */
static int ready[2]; /* the receiver is bound */

static int receive(void *arg)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), rcv = 8 << 20;
	uint64_t n = 0;
	char buf[64];

	(void)arg;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	T_CHECK(s >= 0 && bind(s, (struct sockaddr *)&me, sizeof(me)) == 0, "bind: %s",
		strerror(errno));
	T_CHECK(t_put(ready[1], "r", 1) == 0, "ready");
	/* The first within NTO_WAIT_MS, then until QUIET_MS of silence. */
	for (int wait = NTO_WAIT_MS; t_readable(s, wait); wait = QUIET_MS)
		while (recv(s, buf, sizeof(buf), 0) >= 0)
			n++;
	return t_put(res[1], &n, sizeof(n)) ? T_FAIL : 0;
}

static int send_flood(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	const struct nto_guest *g = arg;
	char msg[18] = "flood";
	uint64_t sent = 0;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, g->ip, &to.sin_addr);
	T_CHECK(s >= 0, "socket");
	for (unsigned int i = 0; i < FLOOD; i++) {
		if (sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)sizeof(msg))
			sent++;
		else
			T_CHECK(errno == ENOBUFS || errno == EAGAIN, "sendto: %s", strerror(errno));
	}
	return t_put(res[1], &sent, sizeof(sent)) ? T_FAIL : 0;
}

/* The counters the test compares, at one moment. */
struct counts {
	struct nto_ifc vif, eth0;    /* the vif in the driver domain, eth0 in the guest */
	uint64_t nb_rx, nb_drop;     /* pvio-netback's rx-packets and its rx drops */
	uint64_t udp_in, udp_rcvbuf; /* the guest's UDP InDatagrams and RcvbufErrors */
};

static int counts(const struct nto_guest *g, struct counts *c)
{
	static const char *const drops[] = { "rx-drop-too-big", "rx-drop-bad-grant" };
	uint64_t v;

	T_CHECK(nto_if_counters(t.dd_ns, g->vif, &c->vif) == 0 &&
		    nto_if_counters(g->netfront, "eth0", &c->eth0) == 0,
		"interface counters");
	T_CHECK(nto_stat(&t, g, "rx-packets", &c->nb_rx) == 0, "rx-packets");
	c->nb_drop = 0;
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		T_CHECK(nto_stat(&t, g, drops[i], &v) == 0, "%s", drops[i]);
		c->nb_drop += v;
	}
	T_CHECK(nto_snmp(g->netfront, "Udp", "InDatagrams", &c->udp_in) == 0 &&
		    nto_snmp(g->netfront, "Udp", "RcvbufErrors", &c->udp_rcvbuf) == 0,
		"UDP counters");
	return 0;
}

/* The counters once they stay still for longer than the statistics file takes to be written. */
static int settled(const struct nto_guest *g, struct counts *c)
{
	struct counts again;

	T_CHECK(counts(g, c) == 0, "counters");
	for (int i = 0; i < 20; i++) {
		t_msleep(1200);
		T_CHECK(counts(g, &again) == 0, "counters");
		if (!memcmp(c, &again, sizeof(again)))
			return 0;
		*c = again;
	}
	T_CHECK(false, "the counters never settle");
}

#define D(field) (b.field - a.field)

static int run(struct nto *tp)
{
	struct nto_guest *g = &tp->g[0];
	uint64_t sent = 0, got = 0;
	struct counts a, b;
	pid_t rx, tx;
	char c;

	T_CHECK(nto_netback_start(&t, NULL) == 0, "pvio-netback");
	T_CHECK(nto_guest_add(&t, 1, NULL) == 0, "guest");
	/* ARP settled and the statistics file written before the first counts. */
	T_CHECK(nto_sh(t.outside, "ping -n -q -c 2 -i 0.2 -W 5 %s >/dev/null", g->ip) == 0, "ping");
	T_CHECK(settled(g, &a) == 0, "counters before");
	T_CHECK(pipe(res) == 0 && pipe(ready) == 0, "pipes");
	T_CHECK(nto_fork_in(g->netfront, receive, NULL, &rx) == 0, "receiver");
	T_CHECK(t_get(ready[0], &c, 1) == 0, "receiver ready");
	T_CHECK(nto_fork_in(t.outside, send_flood, g, &tx) == 0, "sender");
	T_CHECK(t_get(res[0], &sent, sizeof(sent)) == 0 && t_wait(tx) == 0, "the sender");
	T_CHECK(t_get(res[0], &got, sizeof(got)) == 0 && t_wait(rx) == 0, "the receiver");
	T_CHECK(settled(g, &b) == 0, "counters after");
	printf("sent %" PRIu64 " of %u, received %" PRIu64 "\n", sent, FLOOD, got);
	printf("vif %s: %" PRIu64 " frames to pvio-netback, %" PRIu64 " dropped by the TAP\n",
	       g->vif, D(vif.tx_packets), D(vif.tx_drop));
	printf("pvio-netback: %" PRIu64 " delivered, %" PRIu64 " dropped\n", D(nb_rx), D(nb_drop));
	printf("guest eth0: %" PRIu64 " frames in, %" PRIu64 " dropped; UDP %" PRIu64
	       " datagrams in, %" PRIu64 " dropped for the socket's buffer\n",
	       D(eth0.rx_packets), D(eth0.rx_drop), D(udp_in), D(udp_rcvbuf));
	T_CHECK(got > 0 && got <= sent, "received %" PRIu64 " of %" PRIu64, got, sent);
	T_CHECK(D(vif.tx_packets) + D(vif.tx_drop) <= sent + OTHERS,
		"the vif saw more frames than were sent");
	/* One frame per queue may be held for want of a buffer; nothing else may vanish. */
	T_CHECK(D(vif.tx_packets) <= D(nb_rx) + D(nb_drop) + 1 &&
		    D(nb_rx) + D(nb_drop) <= D(vif.tx_packets),
		"pvio-netback took %" PRIu64 " frames and accounts for %" PRIu64, D(vif.tx_packets),
		D(nb_rx) + D(nb_drop));
	T_CHECK(D(eth0.rx_packets) <= D(nb_rx), "eth0 took more than pvio-netback delivered");
	T_CHECK(got <= D(udp_in) && D(udp_in) <= D(eth0.rx_packets) &&
		    D(eth0.rx_packets) <= D(udp_in) + D(udp_rcvbuf) + OTHERS,
		"UDP counted %" PRIu64 " datagrams in", D(udp_in));
	/* Still serving. */
	T_CHECK(nto_tcp(t.outside, g->netfront, g->ip, 8u << 20, NULL, NULL) == 0,
		"TCP after the flood");
	T_CHECK(nto_sh(t.outside, "ping -n -q -c 3 -i 0.2 -W 5 %s >&2", g->ip) == 0,
		"ping after the flood");
	return 0;
}

int main(void)
{
	return nto_main(&t, 1500, run);
}
