/* SPDX-License-Identifier: MIT */
/*
 * net-topo-storm: an event storm from a guest is bounded at the daemon (XSA-332), and the daemon
 * keeps serving another guest's vif (tests/net-topo.h).  Guest 0 runs pvio-netfront; guest 1 is
 * a raw front end that connects its vif to the same pvio-netback through xenstore (one event
 * channel, RX buffers posted) and then notifies its port in a tight loop for STORM_MS while
 * posting nothing.  During the storm pvio-netback uses well under a CPU (< 50% over CPU_MS: a
 * generous bound; without the late EOI it would spin on every notification) and its threads
 * wake fewer times than milliseconds pass (the held port is masked: its events wake nothing,
 * which a CPU bound alone cannot show on a loaded machine, where the storm starves too), and guest
 * 0 carries a TCP stream from the outside, every byte checked, and answers ping.  Afterwards guest
 * 1's statistics show fewer spurious events served than milliseconds of storm, and delayed unmasks.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "launch/embed.h"
#include "tests/net-test.h"
#include "tests/net-topo.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

#define STORM_MS 10000u
#define CPU_MS	 3000u

static struct nto t;
static int link_[2]; /* guest 1 -> dom0: 'c' once connected, then its notification count */

static int keys(struct xenbus_dev *xd, xs_transaction_t tx, void *arg)
{
	const struct nt_hello *hi = arg;
	int ret = xenbus_printf(xd, tx, "tx-ring-ref", "%u", hi->tx);

	if (!ret)
		ret = xenbus_printf(xd, tx, "rx-ring-ref", "%u", hi->rx);
	if (!ret)
		ret = xenbus_printf(xd, tx, "event-channel", "%u", hi->port);
	if (!ret)
		ret = xenbus_printf(xd, tx, "request-rx-copy", "1");
	if (!ret)
		ret = xenbus_printf(xd, tx, "feature-rx-notify", "1");
	return ret;
}

/* Guest 1: connect the vif as a front end would, then storm. */
static int storm(void *arg)
{
	const struct nto_guest *g = arg;
	struct xenbus_device_spec s = { .kind = "vif", .frontend_id = g->dom, .backend_id = t.dd };
	struct xenbus_dev xd;
	struct nt_front f;
	struct nt_hello hi;
	struct xs_handle *xs;
	char path[256];
	struct hv *hv;
	uint64_t notes = 0, end;

	T_CHECK(hv_open(&hv, NULL) == 0 && (xs = xs_open(0)), "guest 1: hv and xenstore");
	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0 &&
		    xenbus_dev_open(&xd, xs, XENBUS_FRONTEND, path) == 0,
		"open %s", path);
	T_CHECK(xenbus_wait_otherend_state(&xd, XenbusStateInitWait, NTO_WAIT_MS, NULL) == 0,
		"InitWait");
	T_CHECK(nt_front_share(&f, hv, t.dd, &hi) == 0 && nt_rx_post(&f, 0, NT_RX_PAGES) == 0,
		"rings");
	T_CHECK(xenbus_transaction(&xd, keys, &hi) == 0 &&
		    xenbus_switch_state(&xd, XenbusStateConnected) == 0,
		"keys");
	T_CHECK(xenbus_wait_otherend_state(&xd, XenbusStateConnected, NTO_WAIT_MS, NULL) == 0,
		"Connected");
	T_CHECK(t_put(link_[1], "c", 1) == 0, "connected");
	for (end = t_now_ms() + STORM_MS; t_now_ms() < end; notes++)
		T_CHECK(hv_evtchn_notify(hv, f.port) == 0, "notify");
	return t_put(link_[1], &notes, sizeof(notes)) ? T_FAIL : 0;
}

static int run(struct nto *tp)
{
	struct nto_guest *g0 = &tp->g[0], *g1;
	uint64_t w0, notes = 0, spurious, delayed;
	pid_t pid;
	char c;

	T_CHECK(nto_netback_start(&t, NULL) == 0, "pvio-netback");
	T_CHECK(nto_guest_add(&t, 1, NULL) == 0, "guest 0");
	T_CHECK(nto_guest_add_raw(&t, &g1) == 0, "guest 1");
	T_CHECK(pipe(link_) == 0, "pipe");
	T_CHECK(embed_domain_fork(t.e, g1->dom, storm, g1, &pid) == 0, "guest 1's front end");
	T_CHECK(t_get(link_[0], &c, 1) == 0, "guest 1 did not connect");
	T_CHECK(t_storm_bound(t.netback, "pvio-netback", CPU_MS, &w0) == 0, "bounded");
	T_CHECK(nto_tcp(t.outside, g0->netfront, g0->ip, 16u << 20, NULL, NULL) == 0,
		"TCP to guest 0 in the storm");
	T_CHECK(nto_sh(g0->netfront, "ping -n -q -c 3 -i 0.2 -W 5 " NTO_OUTSIDE_IP " >&2") == 0,
		"ping from guest 0 in the storm");
	T_CHECK(t_now_ms() < w0 + STORM_MS, "the storm was over before guest 0's traffic");
	T_CHECK(t_get(link_[0], &notes, sizeof(notes)) == 0 && t_wait(pid) == 0, "guest 1");
	T_CHECK(nto_stat_wait(&t, g1, "events-delayed", 1, &delayed) == 0 &&
		    nto_stat(&t, g1, "events-spurious", &spurious) == 0,
		"guest 1's statistics");
	printf("guest 1: %" PRIu64 " notifications; pvio-netback served %" PRIu64
	       " spurious events, delayed %" PRIu64 " unmasks\n",
	       notes, spurious, delayed);
	T_CHECK(spurious < STORM_MS, "%" PRIu64 " spurious events served in %u ms", spurious,
		STORM_MS);
	return 0;
}

int main(void)
{
	return nto_main(&t, 1500, run);
}
