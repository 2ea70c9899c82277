/* SPDX-License-Identifier: MIT */
/*
 * net-topo-e2e: a guest reaches the outside world through the driver domain (tests/net-topo.h:
 * guest eth0 -> pvio-netfront -> rings -> pvio-netback -> vif -> bridge -> veth NIC -> outside
 * namespace) and back: ping both ways (at MTU 9000 with 8972-byte payloads that may not be
 * fragmented: jumbo frames over several slots each way), then a TCP stream of TCP_BYTES outside ->
 * guest and one guest -> outside, every byte checked.
 *
 * PVIO_NTO_MTU=9000 (tests/net-topo-mtu9000.sh) sets that MTU everywhere; PVIO_NTO_QUEUES=N
 * (tests/net-topo-mq.sh) runs pvio-netback --max-queues N and pvio-netfront --queues N.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/net-topo.h"

#define TCP_BYTES (32u << 20)

static unsigned int env_uint(const char *name, unsigned int def)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? (unsigned int)atoi(v) : def;
}

/* ping from the namespace of pid to ip with payloads that fill the MTU, unfragmented. */
static int ping(pid_t pid, const char *ip, unsigned int mtu)
{
	/* -W: a reply may wait for ARP and a loaded machine; five tries, three must answer. */
	T_CHECK(nto_sh(pid,
		       "out=$(ping -n -q -c 5 -i 0.2 -W 5 -M do -s %u %s); echo \"$out\" >&2; "
		       "echo \"$out\" | grep -Eq ' [3-5] received'",
		       mtu - 28, ip) == 0,
		"ping %s", ip);
	return 0;
}

static int run(struct nto *t)
{
	unsigned int queues = env_uint("PVIO_NTO_QUEUES", 1);
	char nq[16];
	const char *args[] = { "--max-queues", nq, NULL };
	struct nto_guest *g = &t->g[0];

	snprintf(nq, sizeof(nq), "%u", queues);
	T_CHECK(nto_netback_start(t, args) == 0, "pvio-netback");
	T_CHECK(nto_guest_add(t, queues, NULL) == 0, "guest");
	T_CHECK(ping(g->netfront, NTO_OUTSIDE_IP, t->mtu) == 0, "guest -> outside");
	T_CHECK(ping(t->outside, g->ip, t->mtu) == 0, "outside -> guest");
	T_CHECK(nto_tcp(t->outside, g->netfront, g->ip, TCP_BYTES, NULL, NULL) == 0,
		"TCP outside -> guest");
	T_CHECK(nto_tcp(g->netfront, t->outside, NTO_OUTSIDE_IP, TCP_BYTES, NULL, NULL) == 0,
		"TCP guest -> outside");
	return 0;
}

int main(void)
{
	struct nto t;

	return nto_main(&t, env_uint("PVIO_NTO_MTU", 1500), run);
}
