/* SPDX-License-Identifier: MIT */
/*
 * netback-ctrl: feature-ctrl-ring through pvio-netback(8), as Linux's xen-netback serves it.
 * vif 0 offers feature-ctrl-ring; its guest connects two queues and a control ring
 * (ctrl-ring-ref, event-channel-ctrl) and drives it: Toeplitz, the hash flags, the RSS key by
 * grant, the mapping table's size and contents, each answered with netif.h's status, and every
 * bad request refused without effect (an unknown type, a key of 41 bytes, a table past its size,
 * an entry naming a third queue, an ungranted table).  A TCPv4 frame dom0 sends then arrives on
 * the queue the table names, whichever TAP queue the kernel gave it, with its Toeplitz hash as
 * extra info; the table turned round sends the next to the other queue, and the statistics file
 * counts the frame steered across.  Two pairs of 9000-byte frames of the same flow follow, the
 * table naming queue 1 then queue 0: each arrives byte-exact on the queue named, including the
 * frames netback read straight into the buffers of the TAP queue's ring and then had to hand
 * to the other queue (rx_steer moves them back into its own buffer first).  A guest notifying the
 * control ring's port with nothing on it gets the data rings' late EOI (XSA-332): the statistics
 * file counts the events delayed, and the ring still answers afterwards.
 *
 * vif 1 (one queue, no control ring) offers feature-multicast-control and its guest writes
 * request-multicast-control = 1: a multicast frame to a group it did not add is dropped, one to
 * a group it added (a TX request with MCAST_ADD extra info, answered OKAY and never sent) comes
 * through; NETBACK_MCAST_MAX groups fill the list, the next add is answered ERROR and every
 * multicast frame then comes through (flooding) until a MCAST_DEL makes room; broadcast always
 * passes.  Then the guest corrupts vif 0's control ring's producer index: vif 0 fails with
 * "ring protocol error", while vif 1 still carries frames both ways.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/net/hash.h"
#include "backend/net/mcast.h"
#include "tests/blkback-env.h"
#include "tests/net-test.h"
#include "xenbus/toolstack.h"

static struct tb_env env;
static char statsdir[80];
static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

static const uint8_t rss_key[40] = { 0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				     0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				     0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				     0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };
/* 66.9.149.187:2794 -> 161.142.100.80:1766 under rss_key (the RSS verification table). */
#define TCP_HASH 0x51ccc178u
#define JUMBO	 9000u

/* dom0's frame to the guest: IPv4 and TCP of the RSS table's first vector, payload seq. */
static void tcp_frame(uint8_t *f, size_t len, unsigned int seq)
{
	static const uint8_t ip[] = {
		0x45, 0, 0,   0,   0,	0,   0x40, 0,  64,   6,	   0,	 0,
		66,   9, 149, 187, 161, 142, 100,  80, 0x0a, 0xea, 0x06, 0xe6
	};

	nt_frame(f, len, nt_mac, nt_peer, seq);
	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(f + 14, ip, sizeof(ip));
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
}

static struct xenbus_device_spec spec(unsigned int devid)
{
	return (struct xenbus_device_spec){
		.kind = "vif", .devid = devid, .frontend_id = env.fe, .backend_id = env.dd
	};
}

/* ---- the guest ---- */

/* The guest's end of the control ring and a page for keys and tables. */
struct ctrl_front {
	struct hv *hv;
	void *sring;
	struct ring_front rf;
	evtchn_port_t port;
	grant_ref_t ref;
	uint8_t *data; /* granted read-only */
	grant_ref_t data_ref;
	uint16_t id;
};

static int ctrl_share(struct ctrl_front *c, struct hv *hv)
{
	memset(c, 0, sizeof(*c));
	c->hv = hv;
	T_CHECK(hv_grant_share(hv, env.dd, 1, true, &c->sring, &c->ref) == 0, "ctrl ring");
	T_CHECK(ring_front_init(&c->rf, c->sring, 0, sizeof(struct xen_netif_ctrl_request),
				sizeof(struct xen_netif_ctrl_response)) == 0,
		"ctrl init");
	T_CHECK(hv_grant_share(hv, env.dd, 1, false, (void **)&c->data, &c->data_ref) == 0,
		"data page");
	T_CHECK(hv_evtchn_alloc_unbound(hv, env.dd, &c->port) == 0, "ctrl port");
	return 0;
}

/* One request, its response: the status, or -1 when none came. */
static int64_t ctrl_req(struct ctrl_front *c, uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2,
			uint32_t *data)
{
	struct xen_netif_ctrl_request *req = ring_front_req_slot(&c->rf);
	struct xen_netif_ctrl_response rsp;
	uint64_t deadline = t_now_ms() + NT_WAIT_MS;
	uint16_t id = ++c->id;

	if (!req)
		return -1;
	req->id = id;
	req->type = type;
	req->data[0] = d0;
	req->data[1] = d1;
	req->data[2] = d2;
	if (ring_front_push(&c->rf) > 0 && hv_evtchn_notify(c->hv, c->port))
		return -1;
	while (t_now_ms() < deadline) {
		int k = ring_front_consume(&c->rf, &rsp, 1);

		if (k < 0)
			return -1;
		if (k == 1) {
			if (rsp.id != id || rsp.type != type)
				return -1;
			if (data)
				*data = rsp.data;
			return rsp.status;
		}
		if (ring_front_final_check(&c->rf) == 0)
			t_event_wait(c->hv, c->port, 100);
	}
	return -1;
}

struct keys_arg {
	struct nt_hello *hi;
	unsigned int nq;
	struct ctrl_front *c; /* NULL: no control ring */
	bool mcast;	      /* request-multicast-control */
};

static int keys_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	const struct keys_arg *k = arg;
	char key[48];
	int ret = 0;

	for (unsigned int q = 0; !ret && q < k->nq; q++) {
		char d[24] = "";

		if (k->nq > 1)
			snprintf(d, sizeof(d), "queue-%u/", q);
#define KEY(name) (snprintf(key, sizeof(key), "%s%s", d, name), key)
		ret = xenbus_printf(xd, t, KEY("tx-ring-ref"), "%u", k->hi[q].tx);
		if (!ret)
			ret = xenbus_printf(xd, t, KEY("rx-ring-ref"), "%u", k->hi[q].rx);
		if (!ret)
			ret = xenbus_printf(xd, t, KEY("event-channel"), "%u", k->hi[q].port);
#undef KEY
	}
	if (!ret && k->nq > 1)
		ret = xenbus_printf(xd, t, "multi-queue-num-queues", "%u", k->nq);
	if (!ret && k->c)
		ret = xenbus_printf(xd, t, "ctrl-ring-ref", "%u", k->c->ref);
	if (!ret && k->c)
		ret = xenbus_printf(xd, t, "event-channel-ctrl", "%u", k->c->port);
	if (!ret && k->mcast)
		ret = xenbus_printf(xd, t, "request-multicast-control", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "request-rx-copy", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-rx-notify", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-sg", "1");
	return ret;
}

/* Open vif devid, share nq queues (and c's control ring) and connect: 0 or 1. */
static int vif_connect(struct hv *hv, struct xs_handle *xs, unsigned int devid, unsigned int nq,
		       struct ctrl_front *c, struct xenbus_dev *xd, struct nt_front *f)
{
	struct xenbus_device_spec s = spec(devid);
	struct nt_hello hi[2];
	struct keys_arg k = { hi, nq, c, devid == 1 };
	char path[256];
	uint32_t v;

	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0, "path");
	T_CHECK(xenbus_dev_open(xd, xs, XENBUS_FRONTEND, path) == 0, "open %s", path);
	T_CHECK(xenbus_wait_otherend_state(xd, XenbusStateInitWait, NT_WAIT_MS, NULL) == 0,
		"vif %u InitWait", devid);
	T_CHECK(xenbus_otherend_read_u32(xd, XBT_NULL, "feature-ctrl-ring", &v) == 0 && v == 1,
		"feature-ctrl-ring");
	T_CHECK(xenbus_otherend_read_u32(xd, XBT_NULL, "feature-multicast-control", &v) == 0 &&
		    v == 1,
		"feature-multicast-control");
	for (unsigned int q = 0; q < nq; q++) {
		T_CHECK(nt_front_share(&f[q], hv, env.dd, &hi[q]) == 0, "share");
		T_CHECK(nt_rx_post(&f[q], 0, NT_RX_PAGES) == 0, "post");
	}
	T_CHECK(!c || ctrl_share(c, hv) == 0, "ctrl");
	T_CHECK(xenbus_transaction(xd, keys_fn, &k) == 0, "keys");
	T_CHECK(xenbus_switch_state(xd, XenbusStateConnected) == 0, "Connected");
	T_CHECK(xenbus_wait_otherend_state(xd, XenbusStateConnected, NT_WAIT_MS, NULL) == 0,
		"vif %u Connected", devid);
	return 0;
}

#define OK  XEN_NETIF_CTRL_STATUS_SUCCESS
#define BAD XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define NOT XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED

/* Fill the table (8 entries) with queue q: 0 or 1. */
static int table(struct ctrl_front *c, uint32_t q)
{
	uint32_t *map = (uint32_t *)c->data;

	for (unsigned int i = 0; i < 8; i++)
		map[i] = q;
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, c->data_ref, 8, 0, NULL) == OK,
		"table of queue %u", q);
	return 0;
}

static int ctrl_setup(struct ctrl_front *c)
{
	uint32_t data, *map = (uint32_t *)c->data;

	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, NULL) == NOT,
		"flags without an algorithm");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 7, 0, 0, NULL) == BAD,
		"algorithm 7");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
			 XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, NULL) == OK,
		"Toeplitz");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data) == OK &&
		    data == NETBACK_HASH_TYPES,
		"flags %#x", data);
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
			 XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0,
			 NULL) == OK,
		"set flags");
	memcpy(c->data, rss_key, sizeof(rss_key));
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, c->data_ref, 41, 0, NULL) == BAD,
		"key of 41");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, c->data_ref, 40, 0, NULL) == OK,
		"key");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data) == OK &&
		    data == NETBACK_HASH_MAPPING_MAX,
		"mapping size %u", data);
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0, NULL) == OK,
		"table size");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, c->data_ref, 2, 7, NULL) == BAD,
		"past the table");
	map[0] = 2;
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, c->data_ref, 1, 0, NULL) == BAD,
		"queue 2 of 2");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 0xfff0, 1, 0, NULL) == BAD,
		"an ungranted table");
	T_CHECK(ctrl_req(c, 99, 0, 0, 0, NULL) == NOT, "type 99");
	return 0;
}

/* dom0 sends the TCP frame (step s); it must come on queue q with its hash: 0 or 1. */
static int steered(struct nt_front *f, unsigned int q, char s)
{
	struct netif_rx_response r;
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t got;
	uint32_t v;

	T_CHECK(tb_step(&env, s) == 0, "dom0 sent");
	T_CHECK(nt_rx_frame(&f[q], buf, &got, &flags, &slots, &x) == 0, "RX on queue %u", q);
	tcp_frame(want, 200, 3);
	T_CHECK(got == 200 && !memcmp(buf, want, got), "frame of %zu bytes", got);
	v = (uint32_t)x.u.hash.value[0] | (uint32_t)x.u.hash.value[1] << 8 |
	    (uint32_t)x.u.hash.value[2] << 16 | (uint32_t)x.u.hash.value[3] << 24;
	T_CHECK((flags & NETRXF_extra_info) && x.type == XEN_NETIF_EXTRA_TYPE_HASH &&
		    x.u.hash.type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP &&
		    x.u.hash.algorithm == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ && v == TCP_HASH,
		"hash extra: type %u/%u value %#x", x.type, x.u.hash.type, v);
	T_CHECK(ring_front_consume(&f[1 - q].rx, &r, 1) == 0, "queue %u got a frame", 1 - q);
	return 0;
}

/*
 * dom0 sends two 9000-byte frames of the TCP flow, payloads seq and seq + 1 (step s); both must
 * come on queue q, in order, byte-exact in three slots, each with its hash: 0 or 1.
 */
static int jumbo(struct nt_front *f, unsigned int q, char s, unsigned int seq)
{
	struct netif_rx_response r;
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t got;

	T_CHECK(tb_step(&env, s) == 0, "dom0 sent");
	for (unsigned int i = 0; i < 2; i++) {
		T_CHECK(nt_rx_frame(&f[q], buf, &got, &flags, &slots, &x) == 0, "RX on queue %u",
			q);
		tcp_frame(want, JUMBO, seq + i);
		T_CHECK(got == JUMBO && !memcmp(buf, want, got) && slots == 3,
			"jumbo frame %u: %zu bytes in %u slots, or different bytes", seq + i, got,
			slots);
		T_CHECK((flags & NETRXF_extra_info) && x.type == XEN_NETIF_EXTRA_TYPE_HASH,
			"jumbo frame %u: no hash extra", seq + i);
	}
	T_CHECK(ring_front_consume(&f[1 - q].rx, &r, 1) == 0, "queue %u got a frame", 1 - q);
	return 0;
}

/* Group g: 01:00:5e:00:00:g. */
static void group(uint8_t *a, unsigned int g)
{
	static const uint8_t base[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x00 };

	memcpy(a, base, 6);
	a[4] = (uint8_t)(g >> 8);
	a[5] = (uint8_t)g;
}

/* A TX request carrying MCAST_ADD (add) or _DEL for group g: its status. */
static int16_t mcast_req(struct nt_front *f, bool add, unsigned int g)
{
	struct netif_extra_info x = { .type = add ? XEN_NETIF_EXTRA_TYPE_MCAST_ADD
						  : XEN_NETIF_EXTRA_TYPE_MCAST_DEL };
	int16_t st = 99;

	group(x.u.mcast.addr, g);
	nt_frame(want, 60, nt_peer, nt_mac, 0);
	if (nt_tx_frame(f, want, 60, 4000, &x, &st))
		return 99;
	return st;
}

/* dom0 sends frames to groups (step s); the guest must get the one to group g: 0 or 1. */
static int mcast_rx(struct nt_front *f, char s, unsigned int g)
{
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t got;

	T_CHECK(tb_step(&env, s) == 0, "dom0 sent");
	T_CHECK(nt_rx_frame(f, buf, &got, &flags, &slots, &x) == 0, "RX");
	if (g == 0xffff)
		memset(want, 0xff, 6);
	else
		group(want, g);
	T_CHECK(got == 100 && !memcmp(buf, want, 6), "got the frame to %02x:..:%02x:%02x", buf[0],
		buf[4], buf[5]);
	return 0;
}

/* vif 1's multicast filter (steps 'M', 'N', 'O', 'P'): 0 or 1. */
static int mcast(struct nt_front *f)
{
	T_CHECK(mcast_req(f, true, 1) == NETIF_RSP_OKAY, "add group 1");
	T_CHECK(mcast_rx(f, 'M', 1) == 0, "group 2 dropped, group 1 passed");
	for (unsigned int g = 2; g <= NETBACK_MCAST_MAX; g++)
		T_CHECK(mcast_req(f, true, 0x100 + g) == NETIF_RSP_OKAY, "add group %u", g);
	T_CHECK(mcast_req(f, true, 3) == NETIF_RSP_ERROR, "an add past the list's end");
	T_CHECK(mcast_rx(f, 'N', 2) == 0, "flooding while the list overflowed");
	T_CHECK(mcast_req(f, false, 1) == NETIF_RSP_OKAY, "delete group 1");
	T_CHECK(mcast_rx(f, 'O', 0xffff) == 0, "group 2 dropped again, broadcast passed");
	T_CHECK(tb_step(&env, 'P') == 0, "statistics");
	return 0;
}

/* Notify the control port with no request, 12 times 30 ms apart (steps 'R', 'T'): 0 or 1. */
static int ctrl_storm(struct ctrl_front *c)
{
	uint32_t data;

	T_CHECK(tb_step(&env, 'R') == 0, "dom0 read the counters");
	for (unsigned int i = 0; i < 12; i++) {
		T_CHECK(hv_evtchn_notify(c->hv, c->port) == 0, "notify");
		t_msleep(30);
	}
	T_CHECK(tb_step(&env, 'T') == 0, "dom0 saw the events delayed");
	T_CHECK(ctrl_req(c, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data) == OK &&
		    data == NETBACK_HASH_MAPPING_MAX,
		"the control ring after the storm");
	return 0;
}

/* vif 1: a frame each way (steps 'F' then 'E'): 0 or 1. */
static int vif1_traffic(struct nt_front *f)
{
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t got;
	int16_t st;

	T_CHECK(tb_step(&env, 'F') == 0, "dom0 listens");
	nt_frame(want, 1514, nt_peer, nt_mac, 5);
	T_CHECK(nt_tx_frame(f, want, 1514, 4000, NULL, &st) == 0 && st == NETIF_RSP_OKAY, "TX: %d",
		st);
	T_CHECK(tb_step(&env, 'E') == 0, "dom0 checked");
	T_CHECK(nt_rx_frame(f, buf, &got, &flags, &slots, &x) == 0, "RX");
	nt_frame(want, 1000, nt_mac, nt_peer, 6);
	T_CHECK(got == 1000 && !memcmp(buf, want, got), "RX frame of %zu bytes", got);
	T_CHECK(!(flags & NETRXF_extra_info), "a hash without a control ring");
	return 0;
}

static int guest(struct hv *hv, struct xs_handle *xs)
{
	struct xenbus_dev a, b;
	struct nt_front fa[2], fb;
	struct ctrl_front c;

	T_CHECK(vif_connect(hv, xs, 0, 2, &c, &a, fa) == 0, "vif 0");
	T_CHECK(ctrl_setup(&c) == 0, "control requests");
	T_CHECK(table(&c, 1) == 0 && steered(fa, 1, 'A') == 0, "to queue 1");
	T_CHECK(table(&c, 0) == 0 && steered(fa, 0, 'A') == 0, "to queue 0");
	T_CHECK(table(&c, 1) == 0 && jumbo(fa, 1, 'J', 10) == 0, "jumbo frames to queue 1");
	T_CHECK(table(&c, 0) == 0 && jumbo(fa, 0, 'K', 12) == 0, "jumbo frames to queue 0");
	T_CHECK(tb_step(&env, 'S') == 0, "statistics");
	T_CHECK(ctrl_storm(&c) == 0, "control port storm");
	T_CHECK(vif_connect(hv, xs, 1, 1, NULL, &b, &fb) == 0, "vif 1");
	T_CHECK(mcast(&fb) == 0, "vif 1 multicast");
	((struct ring_shared *)c.sring)->req_prod += 1000;
	T_CHECK(hv_evtchn_notify(hv, c.port) == 0, "notify");
	T_CHECK(xenbus_wait_otherend_state(&a, XenbusStateClosing, NT_WAIT_MS, NULL) == 0,
		"vif 0 fails");
	T_CHECK(vif1_traffic(&fb) == 0, "vif 1 traffic");
	T_CHECK(tb_step(&env, 'Z') == 0, "done");
	return 0;
}

/* ---- the driver domain ---- */

static int driver_domain(void *arg)
{
	const char *argv[] = { "pvio-netback",
			       "--max-queues",
			       "2",
			       "--stats-dir",
			       statsdir,
			       "--no-sandbox",
			       getenv("PVIO_TEST_VERBOSE") ? "-vv" : NULL,
			       NULL };
	char prog[512];

	(void)arg;
	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(tb_dd_enter(&env, "pvio-netback", prog, sizeof(prog)) == 0, "enter");
	T_CHECK(tb_dd_run(&env, prog, argv) == 0, "daemon");
	for (;;)
		pause();
}

/* ---- dom0 ---- */

static int pkt = -1;

static int listen_on(unsigned int devid)
{
	char ifname[IFNAMSIZ];

	snprintf(ifname, sizeof(ifname), "vif%u.%u", env.fe, devid);
	if (pkt >= 0)
		close(pkt);
	T_CHECK(nt_pkt_open(ifname, &pkt) == 0, "packet socket on %s", ifname);
	return 0;
}

/* The statistics file of vif devid has line (waiting for it a while): 0 or 1. */
static int stats_has(unsigned int devid, const char *line)
{
	return nt_stats_has(statsdir, env.fe, devid, line);
}

static int error_node_has(struct xs_handle *h, unsigned int devid, const char *text)
{
	return nt_error_has(h, env.dd, env.fe, devid, text);
}

/* dom0: a 100-byte frame from nt_peer to group g (0xffff: broadcast): 0 or 1. */
static int send_to(unsigned int g)
{
	nt_frame(want, 100, nt_mac, nt_peer, g);
	if (g == 0xffff)
		memset(want, 0xff, 6);
	else
		group(want, g);
	T_CHECK(nt_pkt_send(pkt, want, 100) == 0, "send");
	return 0;
}

/* vif devid's counter key from its statistics file, or -1. */
static long long stats_get(unsigned int devid, const char *key)
{
	char path[160], line[128], k[64];
	long long v = -1, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vif-%u.%u", statsdir, env.fe, devid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &n) == 2 && !strcmp(k, key))
			v = n;
	if (f)
		fclose(f);
	return v;
}

static long long delayed_before, steered_before_k;

/* MTU 9000 on vif 0, so that dom0 can send the guest jumbo frames: 0 or 1. */
static int vif0_mtu(void)
{
	struct ifreq ifr = { .ifr_mtu = JUMBO };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vif%u.0", env.fe);
	ok = s >= 0 && ioctl(s, SIOCSIFMTU, &ifr) == 0;
	if (s >= 0)
		close(s);
	T_CHECK(ok, "MTU %u on vif%u.0", JUMBO, env.fe);
	return 0;
}

/* dom0: the two jumbo frames of step 'J' or 'K', payloads seq and seq + 1: 0 or 1. */
static int send_jumbo(unsigned int seq)
{
	for (unsigned int i = 0; i < 2; i++) {
		tcp_frame(want, JUMBO, seq + i);
		T_CHECK(nt_pkt_send(pkt, want, JUMBO) == 0, "send jumbo %u", seq + i);
	}
	return 0;
}

/*
 * The statistics of vif 0's RX after steps 'A', 'A', 'J', 'K': 0 or 1.  The flow comes on one
 * TAP queue t, the same every time.  Of the two 200-byte frames one crossed; of the four jumbo
 * frames the two whose table named the other queue crossed.  The three jumbo frames read after
 * a jumbo frame were each read with their second and third pages straight into queue t's
 * buffers: those that stayed on t count as rx-direct, those that crossed were moved back into
 * netback's buffer first (rx_steer's rx_linearize), and arrived byte-exact all the same.  t is
 * 0 if by step 'K' three frames had crossed (the table named 1 in 'A' and 'J'): then 'K''s two
 * stayed, rx-direct 2; else only 'J''s second stayed, rx-direct 1.
 */
static int rx_stats(void)
{
	char line[40];

	snprintf(line, sizeof(line), "rx-direct %d\n", steered_before_k == 3 ? 2 : 1);
	T_CHECK(steered_before_k == 1 || steered_before_k == 3, "rx-steered %lld before 'K'",
		steered_before_k);
	T_CHECK(stats_has(0, "rx-packets 6\n") == 0 && stats_has(0, "rx-steered 3\n") == 0 &&
		    stats_has(0, "rx-drop-steer 0\n") == 0 && stats_has(0, line) == 0 &&
		    stats_has(0, "rx-direct-moved 0\n") == 0,
		"vif 0 stats");
	return 0;
}

/* vif 0's events-delayed grew past delayed_before within 3 s: 0 or 1. */
static int storm_counted(void)
{
	long long v = -1;

	for (int i = 0; i < 300; i++, t_msleep(10))
		if ((v = stats_get(0, "events-delayed")) > delayed_before)
			return 0;
	T_CHECK(false, "events-delayed %lld, %lld before the storm", v, delayed_before);
}

static int on_step(struct xs_handle *h, char c)
{
	ssize_t n;

	switch (c) {
	case 'M': /* an unlisted group first: the guest must see the listed one next */
		T_CHECK(listen_on(1) == 0 && send_to(2) == 0 && send_to(1) == 0, "M");
		break;
	case 'N':
		T_CHECK(send_to(2) == 0, "N");
		break;
	case 'O':
		T_CHECK(send_to(2) == 0 && send_to(0xffff) == 0, "O");
		break;
	case 'P':
		T_CHECK(stats_has(1, "tx-mcast-control 66\n") == 0 &&
			    stats_has(1, "rx-drop-mcast 2\n") == 0 &&
			    stats_has(1, "tx-packets 0\n") == 0,
			"vif 1 stats");
		break;
	case 'A':
		T_CHECK(listen_on(0) == 0, "listen");
		tcp_frame(want, 200, 3);
		T_CHECK(nt_pkt_send(pkt, want, 200) == 0, "send");
		break;
	case 'J':
		T_CHECK(vif0_mtu() == 0 && send_jumbo(10) == 0, "J");
		break;
	case 'K': /* what crossed so far says which TAP queue the flow comes on */
		T_CHECK(stats_has(0, "rx-packets 4\n") == 0, "vif 0 stats after 'J'");
		steered_before_k = stats_get(0, "rx-steered");
		T_CHECK(send_jumbo(12) == 0, "K");
		break;
	case 'S':
		T_CHECK(rx_stats() == 0, "S");
		break;
	case 'F':
		T_CHECK(listen_on(1) == 0, "listen");
		break;
	case 'R':
		delayed_before = stats_get(0, "events-delayed");
		T_CHECK(delayed_before >= 0, "vif 0's events-delayed");
		break;
	case 'T':
		T_CHECK(storm_counted() == 0, "the control port's late EOI");
		break;
	case 'E':
		n = nt_pkt_recv(pkt, buf, sizeof(buf));
		nt_frame(want, 1514, nt_peer, nt_mac, 5);
		T_CHECK(n == 1514 && !memcmp(buf, want, 1514), "frame on the TAP: %zd bytes", n);
		nt_frame(want, 1000, nt_mac, nt_peer, 6);
		T_CHECK(nt_pkt_send(pkt, want, 1000) == 0, "send");
		break;
	case 'Z':
		T_CHECK(error_node_has(h, 0, "ring protocol error") == 0, "vif 0 error");
		break;
	}
	return 0;
}

static int run(struct xs_handle *h)
{
	const struct xenbus_kv mac[] = { { "mac", "00:16:3e:00:00:01" } };
	pid_t daemon;

	snprintf(statsdir, sizeof(statsdir), "%s/stats", env.dir);
	T_CHECK(mkdir(statsdir, 0700) == 0, "mkdir");
	for (unsigned int devid = 0; devid < 2; devid++) {
		struct xenbus_device_spec s = spec(devid);

		s.back_extra = mac;
		s.n_back_extra = 1;
		T_CHECK(xenbus_device_add(h, &s) == 0, "add vif %u", devid);
	}
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon, sizeof(daemon)) == 0, "daemon pid");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	return tb_dom0_steps(&env, h, on_step, daemon);
}

int main(void)
{
	int rc;

	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (rc)
		return rc;
	return tb_env_main(&env, driver_domain, guest, run);
}
