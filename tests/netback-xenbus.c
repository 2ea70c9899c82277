/* SPDX-License-Identifier: MIT */
/*
 * netback-xenbus: pvio-netback(8) in a driver domain serves vifs through xenstore the way
 * Linux's xen-netback does.  For vif 0 it makes the TAP vif<fe>.0, writes hotplug-status
 * "connected" and the features at InitWait; a guest writing its keys as Linux netfront does
 * (split event channels, request-rx-copy, feature-rx-notify, feature-sg) reaches Connected and
 * frames cross both ways byte-exact, counted in the vif's statistics file.  vif 1, whose front
 * refuses request-rx-copy, fails with an error node.  vif 3 connects two queues (a TAP queue
 * each) and frames from both reach the TAP; then its first queue sends every malformed TX shape
 * (nt_tx_hostile), each answered and counted in the statistics file, a good frame after each:
 * only the good ones, never a spoofed source, come out of the TAP.  vif 2 connects on one
 * event channel (event-channel-tx written too, without -rx: event-channel is used, as Linux
 * netback does), with rate= "1,1000000" (a byte a second): its first frame is held until dom0
 * removes the key, and comes out then (the daemon re-reads rate and wakes the queue);
 * then the guest corrupts vif 0's TX ring: vif 0 fails with "ring protocol error" while vif 2
 * still carries frames.  SIGTERM ends the daemon with status 0.
 *
 * Under the names netback-sandbox, netback-sandbox-user and netback-sandbox-off the same run
 * checks the daemon's privilege first and adds the vifs only then (tests/netback-sandbox.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/if_packet.h>

#include "tests/blkback-env.h"
#include "tests/blkback-front.h"
#include "tests/net-test.h"
#include "tests/netback-sandbox.h"
#include "xenbus/toolstack.h"

static struct tb_env env;
static enum nbs_mode mode;
static char statsdir[80];
static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

static struct xenbus_device_spec spec(unsigned int devid)
{
	return (struct xenbus_device_spec){
		.kind = "vif", .devid = devid, .frontend_id = env.fe, .backend_id = env.dd
	};
}

/* ---- the guest ---- */

struct keys_arg {
	struct nt_hello *hi; /* one per queue */
	unsigned int nq;     /* queues: more than 1 puts the keys under queue-N/ */
	bool split, rx_copy;
};

static int queue_keys(struct xenbus_dev *xd, xs_transaction_t t, const struct keys_arg *k,
		      unsigned int q)
{
	const struct nt_hello *hi = &k->hi[q];
	char dir[24] = "";
	char key[48];
	int ret;

	if (k->nq > 1)
		snprintf(dir, sizeof(dir), "queue-%u/", q);
#define KEY(name) (snprintf(key, sizeof(key), "%s%s", dir, name), key)
	ret = xenbus_printf(xd, t, KEY("tx-ring-ref"), "%u", hi->tx);
	if (!ret)
		ret = xenbus_printf(xd, t, KEY("rx-ring-ref"), "%u", hi->rx);
	if (!ret && k->split)
		ret = xenbus_printf(xd, t, KEY("event-channel-tx"), "%u", hi->port);
	if (!ret && k->split)
		ret = xenbus_printf(xd, t, KEY("event-channel-rx"), "%u", hi->port);
	if (!ret && !k->split)
		ret = xenbus_printf(xd, t, KEY("event-channel"), "%u", hi->port);
	/* Half a split pair, naming no port of ours: Linux netback falls back to event-channel. */
	if (!ret && !k->split)
		ret = xenbus_printf(xd, t, KEY("event-channel-tx"), "%u", hi->port + 1000);
#undef KEY
	return ret;
}

static int keys_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	const struct keys_arg *k = arg;
	int ret = 0;

	for (unsigned int q = 0; !ret && q < k->nq; q++)
		ret = queue_keys(xd, t, k, q);
	if (!ret && k->nq > 1)
		ret = xenbus_printf(xd, t, "multi-queue-num-queues", "%u", k->nq);
	if (!ret)
		ret = xenbus_printf(xd, t, "request-rx-copy", "%d", k->rx_copy);
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-rx-notify", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-sg", "1");
	return ret;
}

/* The back-end's keys at InitWait, as Linux netback writes them. */
static int check_initwait(struct xenbus_dev *xd)
{
	static const char *const on[] = { "feature-sg",
					  "feature-gso-tcpv4",
					  "feature-gso-tcpv6",
					  "feature-ipv6-csum-offload",
					  "feature-rx-copy",
					  "feature-rx-notify",
					  "feature-split-event-channels" };
	uint32_t v;
	char *s;

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		T_CHECK(xenbus_otherend_read_u32(xd, XBT_NULL, on[i], &v) == 0 && v == 1, "%s",
			on[i]);
	T_CHECK(xenbus_otherend_read_u32(xd, XBT_NULL, "multi-queue-max-queues", &v) == 0 && v == 2,
		"multi-queue-max-queues");
	T_CHECK(xenbus_otherend_read_str(xd, XBT_NULL, "hotplug-status", &s) == 0 &&
		    !strcmp(s, "connected"),
		"hotplug-status");
	free(s);
	return 0;
}

/* Open vif devid, share nq queues and connect (or, without rx_copy, see it fail): 0 or 1. */
static int vif_connect(struct hv *hv, struct xs_handle *xs, unsigned int devid, bool split,
		       bool rx_copy, unsigned int nq, struct xenbus_dev *xd, struct nt_front *f)
{
	struct xenbus_device_spec s = spec(devid);
	struct nt_hello hi[2];
	struct keys_arg k = { hi, nq, split, rx_copy };
	char path[256];

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(xenbus_dev_open(xd, xs, XENBUS_FRONTEND, path) == 0, "open %s", path);
	T_CHECK(xenbus_wait_otherend_state(xd, XenbusStateInitWait, TF_WAIT_MS, NULL) == 0,
		"vif %u InitWait", devid);
	T_CHECK(check_initwait(xd) == 0, "features of vif %u", devid);
	for (unsigned int q = 0; q < nq; q++) {
		T_CHECK(nt_front_share(&f[q], hv, env.dd, &hi[q]) == 0, "share");
		T_CHECK(nt_rx_post(&f[q], 0, NT_RX_PAGES) == 0, "post");
	}
	T_CHECK(xenbus_transaction(xd, keys_fn, &k) == 0, "keys");
	T_CHECK(xenbus_switch_state(xd, XenbusStateConnected) == 0, "Connected");
	T_CHECK(xenbus_wait_otherend_state(xd, rx_copy ? XenbusStateConnected : XenbusStateClosing,
					   TF_WAIT_MS, NULL) == 0,
		"vif %u back-end state", devid);
	return 0;
}

/* A frame of len (seq) on each of two queues, which dom0 checks on the TAP: 0 or 1. */
static int mq_traffic(struct nt_front *f, char step)
{
	int16_t st;

	T_CHECK(tb_step(&env, (char)(step + 1)) == 0, "dom0 listens");
	for (unsigned int q = 0; q < 2; q++) {
		nt_frame(want, 1514, nt_peer, nt_mac, 7 + q);
		T_CHECK(nt_tx_frame(&f[q], want, 1514, 4000, NULL, &st) == 0 &&
			    st == NETIF_RSP_OKAY,
			"TX on queue %u: %d", q, st);
	}
	return tb_step(&env, step);
}

/* Send a frame of len (seq), then have dom0 check it and answer with one: 0 or 1. */
static int vif_traffic(struct nt_front *f, char step, size_t len, unsigned int seq)
{
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t got;
	int16_t st;

	T_CHECK(tb_step(&env, (char)(step + 1)) == 0, "dom0 listens"); /* lower case: listen */
	nt_frame(want, len, nt_peer, nt_mac, seq);
	T_CHECK(nt_tx_frame(f, want, len, 4000, NULL, &st) == 0 && st == NETIF_RSP_OKAY,
		"TX %zu bytes: %d", len, st);
	T_CHECK(tb_step(&env, step) == 0, "dom0 checked");
	T_CHECK(nt_rx_frame(f, buf, &got, &flags, &slots, &x) == 0, "RX");
	nt_frame(want, 1000, nt_mac, nt_peer, seq + 1);
	T_CHECK(got == 1000 && !memcmp(buf, want, got), "RX frame of %zu bytes", got);
	return 0;
}

/* A frame the rate holds until dom0 lifts it (step 'L'): 0 or 1. */
static int rate_held(struct nt_front *f)
{
	struct netif_tx_response rsp;
	struct netif_tx_request *r = nt_tx_slot(f);

	T_CHECK(r, "slot");
	nt_frame(f->txp, 1514, nt_peer, nt_mac, 11);
	*r = (struct netif_tx_request){ .gref = f->txr[0], .id = 3, .size = 1514 };
	T_CHECK(nt_tx_run(f, &rsp, 0) == 0, "publish");
	T_CHECK(tb_step(&env, 'L') == 0, "dom0 saw it held, then lifted the rate");
	T_CHECK(nt_tx_run(f, &rsp, 1) == 0 && rsp.id == 3 && rsp.status == NETIF_RSP_OKAY,
		"the held frame answered %d", rsp.status);
	return 0;
}

static int guest(struct hv *hv, struct xs_handle *xs)
{
	struct xenbus_dev a, b, c, d;
	struct nt_front fa, fb, fc, fd[2];

	T_CHECK(vif_connect(hv, xs, 0, true, true, 1, &a, &fa) == 0, "vif 0");
	T_CHECK(vif_traffic(&fa, 'A', 9000, 1) == 0, "vif 0 traffic");
	T_CHECK(vif_connect(hv, xs, 1, true, false, 1, &b, &fb) == 0, "vif 1");
	T_CHECK(tb_step(&env, 'C') == 0, "dom0 checked vif 1");
	T_CHECK(vif_connect(hv, xs, 3, true, true, 2, &d, fd) == 0, "vif 3");
	T_CHECK(mq_traffic(fd, 'G') == 0, "vif 3 traffic");
	T_CHECK(tb_step(&env, 'K') == 0 && nt_tx_hostile(&fd[0], 200) == 0 &&
		    tb_step(&env, 'J') == 0,
		"vif 3 hostile TX");
	T_CHECK(vif_connect(hv, xs, 2, false, true, 1, &c, &fc) == 0, "vif 2");
	T_CHECK(rate_held(&fc) == 0, "vif 2 rate");
	((struct ring_shared *)fa.txs)->req_prod += 1000;
	T_CHECK(hv_evtchn_notify(hv, fa.port) == 0, "notify");
	T_CHECK(xenbus_wait_otherend_state(&a, XenbusStateClosing, TF_WAIT_MS, NULL) == 0,
		"vif 0 fails");
	T_CHECK(vif_traffic(&fc, 'E', 1514, 5) == 0, "vif 2 traffic");
	T_CHECK(tb_step(&env, 'Z') == 0, "done");
	return 0;
}

/* ---- the driver domain ---- */

static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-netback", "--max-queues", "2",	   "--stats-dir",
			       statsdir,       "--bridge",     NBS_BRIDGE, NULL,
			       NULL,	       NULL,	       NULL };
	char prog[512];

	(void)arg;
	nbs_args(mode, &argv[7]);
	argv[argv[7] ? argv[8] ? 9 : 8 : 7] = getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL;
	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(tb_dd_enter(&env, "pvio-netback", prog, sizeof(prog)) == 0, "enter");
	T_CHECK(tb_dd_run(&env, prog, argv) == 0, "daemon");
	for (;;)
		pause();
}

/* ---- dom0 ---- */

static int error_node_has(struct xs_handle *h, unsigned int devid, const char *text)
{
	return nt_error_has(h, env.dd, env.fe, devid, text);
}

/* The statistics file of vif devid has line (waiting for it a while): 0 or 1. */
static int stats_has(unsigned int devid, const char *line)
{
	return nt_stats_has(statsdir, env.fe, devid, line);
}

static int pkt = -1;

/* Only the good frames after the hostile ones came out of vif 3's TAP, all counted: 0 or 1. */
static int hostile_seen(void)
{
	for (unsigned int i = 0; i < NT_NHOSTILE; i++) {
		ssize_t n = nt_pkt_recv(pkt, buf, sizeof(buf));

		nt_frame(want, 60, nt_peer, nt_mac, 200 + i);
		T_CHECK(n == 60 && !memcmp(buf, want, 60), "good frame %u after a hostile one: %zd",
			i, n);
	}
	T_CHECK(stats_has(3, "tx-packets 13\n") == 0 && stats_has(3, "tx-drop-bad-slot 3\n") == 0 &&
		    stats_has(3, "tx-drop-too-many-slots 1\n") == 0 &&
		    stats_has(3, "tx-drop-bad-extra 1\n") == 0 &&
		    stats_has(3, "tx-drop-bad-offload 3\n") == 0 &&
		    stats_has(3, "tx-drop-bad-grant 1\n") == 0 &&
		    stats_has(3, "tx-drop-too-short 1\n") == 0 &&
		    stats_has(3, "tx-drop-spoofed 1\n") == 0,
		"vif 3 drop counters");
	return 0;
}

/* No frame from the guest on pkt for ms: 0 or 1. */
static int quiet(int fd, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (t_now_ms() < end && poll(&pfd, 1, ms) > 0) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);

		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sll, &sl) >= 0)
			T_CHECK(sll.sll_pkttype == PACKET_OUTGOING, "a frame passed the rate");
	}
	return 0;
}

/* vif 2's frame is held by its rate; lift it: 0 or 1. */
static int rate_lift(struct xs_handle *h)
{
	char ifname[IFNAMSIZ], path[128];

	snprintf(ifname, sizeof(ifname), "vif%u.2", env.fe);
	if (pkt >= 0)
		close(pkt);
	T_CHECK(nt_pkt_open(ifname, &pkt) == 0, "packet socket on %s", ifname);
	T_CHECK(quiet(pkt, 300) == 0, "held");
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u/2/rate", env.dd, env.fe);
	T_CHECK(xs_rm(h, XBT_NULL, path), "rm %s", path);
	T_CHECK(nt_pkt_recv(pkt, buf, sizeof(buf)) == 1514, "the held frame");
	return 0;
}

static int on_step(struct xs_handle *h, char c)
{
	char ifname[IFNAMSIZ];
	unsigned int devid = c == 'B' || c == 'A' ? 0 : c >= 'G' && c <= 'K' ? 3 : 2;
	ssize_t n;

	switch (c) {
	case 'B': /* 'A' + 1: listen on vif 0 */
	case 'F': /* 'E' + 1: listen on vif 2 */
	case 'H': /* 'G' + 1: listen on vif 3 */
	case 'K': /* 'J' + 1: listen on vif 3 */
		snprintf(ifname, sizeof(ifname), "vif%u.%u", env.fe, devid);
		if (pkt >= 0)
			close(pkt);
		T_CHECK(nt_pkt_open(ifname, &pkt) == 0, "packet socket on %s", ifname);
		break;
	case 'A':
	case 'E':
		n = nt_pkt_recv(pkt, buf, sizeof(buf));
		nt_frame(want, c == 'A' ? 9000 : 1514, nt_peer, nt_mac, c == 'A' ? 1 : 5);
		T_CHECK(n == (c == 'A' ? 9000 : 1514) && !memcmp(buf, want, (size_t)n),
			"frame on the TAP: %zd bytes", n);
		nt_frame(want, 1000, nt_mac, nt_peer, c == 'A' ? 2 : 6);
		T_CHECK(nt_pkt_send(pkt, want, 1000) == 0, "send");
		T_CHECK(stats_has(devid, c == 'A' ? "tx-packets 1\n" : "tx-packets 2\n") == 0,
			"stats");
		break;
	case 'C':
		T_CHECK(error_node_has(h, 1, "request-rx-copy") == 0, "vif 1 error");
		break;
	case 'G': /* a frame from each queue of vif 3, in either order */
		for (unsigned int i = 0, seen = 0; i < 2; i++) {
			n = nt_pkt_recv(pkt, buf, sizeof(buf));
			T_CHECK(n == 1514, "frame %u of vif 3: %zd bytes", i, n);
			for (unsigned int q = 0; q < 2; q++) {
				nt_frame(want, 1514, nt_peer, nt_mac, 7 + q);
				if (!memcmp(buf, want, 1514))
					seen |= 1u << q;
			}
			T_CHECK(i == 0 || seen == 3, "the frames of queues 0 and 1 (seen %#x)",
				seen);
		}
		T_CHECK(stats_has(3, "queues 2\n") == 0 && stats_has(3, "tx-packets 2\n") == 0,
			"vif 3 stats");
		break;
	case 'J':
		T_CHECK(hostile_seen() == 0, "vif 3 hostile TX");
		break;
	case 'L':
		T_CHECK(rate_lift(h) == 0, "vif 2 rate");
		break;
	case 'Z':
		T_CHECK(error_node_has(h, 0, "ring protocol error") == 0, "vif 0 error");
		T_CHECK(stats_has(2, "rx-packets 1\n") == 0, "vif 2 stats");
		break;
	}
	return 0;
}

static int add(struct xs_handle *h, unsigned int devid)
{
	const struct xenbus_kv bridged[] = { { "mac", "00:16:3e:00:00:01" },
					     { "bridge", NBS_BRIDGE } };
	const struct xenbus_kv rated[] = { { "mac", "00:16:3e:00:00:01" },
					   { "rate", "1,1000000" } };
	struct xenbus_device_spec s = spec(devid);

	if (devid == 2) { /* vif 2: a byte a second */
		s.back_extra = rated;
		s.n_back_extra = 2;
	} else { /* vif 0: the sandbox's bridge */
		s.back_extra = bridged;
		s.n_back_extra = mode != NBS_NONE && devid == 0 ? 2 : 1;
	}
	T_CHECK(xenbus_device_add(h, &s) == 0, "add vif %u", devid);
	return 0;
}

static int vifs_add(struct xs_handle *h)
{
	for (unsigned int devid = 0; devid < 4; devid++)
		T_CHECK(add(h, devid) == 0, "add vif %u", devid);
	return 0;
}

static int run(struct xs_handle *h)
{
	pid_t daemon;

	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(mkdir(statsdir, 0700) == 0, "mkdir");
	T_CHECK(mode == NBS_NONE || nbs_prepare(mode, env.dir, statsdir) == 0, "prepare");
	/* netback-xenbus: vifs found at start; the sandbox variants: vifs made after the drop. */
	T_CHECK(mode != NBS_NONE || vifs_add(h) == 0, "add");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon, sizeof(daemon)) == 0, "daemon pid");
	T_CHECK(mode == NBS_NONE || (nbs_check(mode, daemon) == 0 && vifs_add(h) == 0),
		"the daemon's privilege");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	return tb_dom0_steps(&env, h, on_step, daemon);
}

int main(int argc, char **argv)
{
	int rc;

	mode = nbs_mode(argc > 0 ? argv[0] : "");
	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (!rc && mode != NBS_NONE) /* vif 0's */
		rc = nt_bridge_add(NBS_BRIDGE);
	if (rc)
		return rc;
	return tb_env_main(&env, driver_domain, guest, run);
}
