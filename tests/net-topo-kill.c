/* SPDX-License-Identifier: MIT */
/*
 * net-topo-kill: kill -9 of pvio-netback in the middle of a TCP stream from the outside world to
 * the guest (tests/net-topo.h), and a new pvio-netback started at once, as a supervisor would:
 * the new daemon makes the vif again on the bridge, pvio-netfront reconnects by itself (it must
 * not exit), the guest's eth0 carries on and the same TCP connection delivers every byte,
 * checked (retransmission); a new connection the other way works too, and so does ping.  No
 * timing is asserted beyond the stream's generous stall limit.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "tests/net-topo.h"

/* Big enough that three quarters of it cannot sit in the sockets' buffers at the kill. */
#define TCP_BYTES (64u << 20)

static int restart(void *arg)
{
	return nto_netback_restart(arg);
}

static int run(struct nto *t)
{
	struct nto_guest *g = &t->g[0];
	uint64_t rx;

	T_CHECK(nto_netback_start(t, NULL) == 0, "pvio-netback");
	T_CHECK(nto_guest_add(t, 1, NULL) == 0, "guest");
	T_CHECK(nto_tcp(t->outside, g->netfront, g->ip, TCP_BYTES, restart, t) == 0,
		"TCP outside -> guest across kill -9 of pvio-netback");
	T_CHECK(kill(g->netfront, 0) == 0, "pvio-netfront is gone");
	/* The new daemon carried frames: its statistics start from zero. */
	T_CHECK(nto_stat_wait(t, g, "rx-packets", 1, &rx) == 0, "no frame through the new vif");
	T_CHECK(nto_tcp(g->netfront, t->outside, NTO_OUTSIDE_IP, 4u << 20, NULL, NULL) == 0,
		"a new TCP connection guest -> outside");
	T_CHECK(nto_sh(g->netfront, "ping -n -q -c 3 -i 0.2 -W 5 " NTO_OUTSIDE_IP " >&2") == 0,
		"ping after the restart");
	return 0;
}

int main(void)
{
	struct nto t;

	return nto_main(&t, 1500, run);
}
