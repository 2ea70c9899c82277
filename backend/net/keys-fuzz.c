/* SPDX-License-Identifier: MIT */
/*
 * keys-fuzz.c - a libFuzzer target for pvio-netback's control plane (backend/net/xenbus.c
 * through xenbus/xenbus.c and xenbus/backend.c): what a front-end writes into its own xenstore
 * directory is hostile (tx-ring-ref, rx-ring-ref, event-channel, event-channel-tx/-rx,
 * multi-queue-num-queues, request-rx-copy, feature-rx-notify, the offload flags, ctrl-ring-ref,
 * event-channel-ctrl, request-multicast-control, queue-N/..., state), written, changed and
 * removed in any order around its state changes, while the toolstack writes and removes the
 * back-end's mac, bridge, rate and online, or the whole directory, and the TAP, the rings, the
 * control ring and the queues' scheduling fail when the input says.  Built and run by
 * tests/net-keys-fuzz.sh, not by make.
 *
 * The seams are fakes of our own: xenstore is tests/fuzz-xs.h's in-memory table (no
 * watches: the input says when something changed), the TAP calls hand out descriptors of
 * /dev/null, and a queue or the control ring is only recorded by its attach (tests/net-tx-fuzz.sh
 * and tests/netfront-rx-fuzz.sh fuzz the data path).  hash.c, mcast.c and credit.c are linked.
 *
 * Input: 1 header byte (max queues 1..8; bit 3: no split event channels; bits 4-7: failures
 * to inject, each once: the TAP open, the bridge, a queue's attach, QUEUES_UP), then commands
 * (low 3 bits of a byte):
 *   0 write a front key (2 key bytes, then the value: a length byte whose bit 7 asks for the
 *     decimal of the next 4 bytes instead of raw bytes)
 *   1 remove a front key (2 key bytes)
 *   2 the front's state (1 byte, written as a number), then netback_dev_otherend_changed
 *   3 write a back-end key (1 byte: which, then a value as in 0), then netback_dev_backend_changed
 *   4 remove a back-end key (1 byte), then netback_dev_backend_changed
 *   5 a queue failed (1 byte: -EPROTO or another error): netback_dev_queue_failed, if connected
 *   6 the toolstack removed the back-end directory: netback_dev_backend_changed
 *   7 netback_dev_backend_changed alone
 * A front key: a name byte (low 4 bits: which; bit 7: under queue-Q/) and an index byte (Q).
 *
 * Checked beyond the sanitizers: the TAP is made only once a well-formed mac is there; a queue is
 * attached only for a queue count within what was advertised, with request-rx-copy and
 * feature-rx-notify given, with the ring references its directory holds (digits only, at most
 * 2^32 - 1) and ports bound to the event channels it names; a control ring only for a non-zero
 * ctrl-ring-ref with event-channel-ctrl; the device says Connected only with every queue
 * attached; every port bound, queue and control ring attached and TAP descriptor handed out is
 * released once the device is destroyed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/net/xenbus.h"
#include "tests/fuzz-xs.h"

#define NODE   "/local/domain/0/backend/vif/1/0"
#define FRONT  "/local/domain/1/device/vif/0"
#define MAXFDS 64u

/* A u32 as xenbus reads it: digits only, no sign, no blanks, at most UINT32_MAX. */
static bool strict_u32(const char *path, uint32_t *v)
{
	const struct node *n = node_find(path);
	uint64_t x = 0;

	if (!n || !n->val[0])
		return false;
	for (const char *s = n->val; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > UINT32_MAX)
			return false;
	}
	*v = (uint32_t)x;
	return true;
}

/* ---- what to fail, once each ---- */

static bool fail_tap, fail_bridge, fail_attach, fail_up;

/* ---- the TAP ---- */

static int fds[MAXFDS]; /* handed out, to be closed by the device */
static unsigned int nfds;

/* Whether a descriptor handed out is still open: the TAP exists. */
static bool tap_open(void)
{
	for (unsigned int i = 0; i < nfds; i++)
		if (fcntl(fds[i], F_GETFD) >= 0)
			return true;
	return false;
}

int netback_tap_open(const char *name, unsigned int nqueues, int *out)
{
	uint8_t mac[6];
	const struct node *m = node_find(NODE "/mac");

	if (strcmp(name, "vif1.0") || nqueues != 1)
		abort();
	if (!tap_open() && (!m || xenbus_parse_mac(m->val, mac)))
		abort(); /* the TAP made without a well-formed mac (later queues: read at probe) */
	if (fail_tap)
		return fail_tap = false, -EPERM;
	if (nfds == MAXFDS || (out[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		abort();
	fds[nfds++] = out[0];
	return 0;
}

int netback_tap_up(const char *name)
{
	(void)name;
	return 0;
}

int netback_tap_bridge(const char *name, const char *bridge)
{
	(void)name;
	if (!bridge[0])
		abort(); /* an empty name is no bridge */
	if (fail_bridge)
		return fail_bridge = false, -ENODEV;
	return 0;
}

int netback_tap_offload(int fd, bool csum, bool tso4, bool tso6)
{
	(void)csum, (void)tso4, (void)tso6;
	if (fcntl(fd, F_GETFD) < 0)
		abort(); /* not an open TAP */
	return 0;
}

/* ---- event channels, queues, the control ring ---- */

#define MAXPORTS 1024u

static bool live[MAXPORTS]; /* our ends bound and not yet unbound */
static unsigned int bound, next_port, queues, ctrls;
static struct netback_dev_opts opts;

int hv_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port)
{
	(void)hv;
	if (remote != 1)
		abort();
	if (remote_port == 0 || remote_port >= 4096)
		return -EINVAL; /* as a port the front never allocated */
	if (next_port == MAXPORTS)
		return -ENOSPC;
	*port = next_port++;
	live[*port] = true;
	bound++;
	return 0;
}

int hv_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	(void)hv;
	if (port >= MAXPORTS || !live[port])
		abort(); /* a port never bound, or unbound twice */
	live[port] = false;
	bound--;
	return 0;
}

static bool port_live(evtchn_port_t port)
{
	return port < MAXPORTS && live[port];
}

int hv_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs)
{
	(void)hv, (void)count, (void)segs;
	abort(); /* only the control ring copies, and it is a fake here */
}

struct netback_queue {
	unsigned int index;
};

int netback_queue_attach(struct netback_queue **qp, struct hv *hv,
			 const struct netback_queue_params *p)
{
	char dir[PATHLEN], path[PATHLEN + 32];
	uint32_t nq = 1, tx, rx, flag;

	(void)hv;
	if (node_find(FRONT "/multi-queue-num-queues") &&
	    !strict_u32(FRONT "/multi-queue-num-queues", &nq))
		abort(); /* a queue count that is no number */
	if (nq == 0 || nq > opts.max_queues || p->index >= nq || queues >= nq)
		abort(); /* beyond what was advertised */
	if (!strict_u32(FRONT "/request-rx-copy", &flag) || !flag ||
	    !node_find(FRONT "/feature-rx-notify"))
		abort(); /* rx-copy and rx-notify are mandatory */
	if (nq > 1)
		snprintf(dir, sizeof(dir), FRONT "/queue-%u", p->index);
	else
		snprintf(dir, sizeof(dir), FRONT);
	snprintf(path, sizeof(path), "%s/tx-ring-ref", dir);
	if (!strict_u32(path, &tx) || tx != p->tx_ref)
		abort(); /* not the reference the front wrote */
	snprintf(path, sizeof(path), "%s/rx-ring-ref", dir);
	if (!strict_u32(path, &rx) || rx != p->rx_ref)
		abort();
	if (!port_live(p->tx_port) || !port_live(p->rx_port) || fcntl(p->tap_fd, F_GETFD) < 0 ||
	    p->frontend != 1)
		abort(); /* ports never bound, or no TAP */
	if (fail_attach)
		return fail_attach = false, -EPROTO;
	if (!(*qp = malloc(sizeof(**qp))))
		abort();
	(*qp)->index = p->index;
	queues++;
	return 0;
}

void netback_queue_detach(struct netback_queue *q)
{
	if (!q)
		return;
	if (!queues--)
		abort();
	free(q); /* ASan: a queue detached twice */
}

void netback_queue_set_rate(struct netback_queue *q, uint64_t bytes, uint64_t usec)
{
	(void)bytes, (void)usec;
	if (q->index >= opts.max_queues) /* ASan: a queue already detached */
		abort();
}

void netback_queue_stats(const struct netback_queue *q, struct netback_stats *st)
{
	(void)q;
	memset(st, 0, sizeof(*st));
}

void netback_stats_add(struct netback_stats *sum, const struct netback_stats *st)
{
	sum->tx_packets += st->tx_packets;
}

struct netback_ctrl {
	grant_ref_t ref;
};

int netback_ctrl_attach(struct netback_ctrl **cp, struct hv *hv, domid_t fe, grant_ref_t ref,
			evtchn_port_t port, struct netback_hash *h)
{
	uint32_t want;

	(void)hv, (void)h;
	if (fe != 1 || !strict_u32(FRONT "/ctrl-ring-ref", &want) || want != ref || !ref ||
	    !node_find(FRONT "/event-channel-ctrl") || !port_live(port))
		abort();
	if (!(*cp = malloc(sizeof(**cp))))
		abort();
	(*cp)->ref = ref;
	ctrls++;
	return 0;
}

void netback_ctrl_stats(const struct netback_ctrl *c, struct netback_stats *st)
{
	(void)c;
	memset(st, 0, sizeof(*st));
}

void netback_ctrl_detach(struct netback_ctrl *c)
{
	if (!c)
		return;
	if (!ctrls--)
		abort();
	free(c);
}

/* QUEUES_UP may be refused (the daemon cannot schedule them). */
static int notify(void *arg, struct netback_dev *dev, enum netback_dev_event ev)
{
	(void)arg, (void)dev;
	if (ev == NETBACK_DEV_QUEUES_UP && fail_up)
		return fail_up = false, -ENOMEM;
	return 0;
}

/* ---- the front and the toolstack ---- */

static const char *const front_keys[16] = {
	"tx-ring-ref",
	"rx-ring-ref",
	"event-channel",
	"event-channel-tx",
	"event-channel-rx",
	"multi-queue-num-queues",
	"request-rx-copy",
	"feature-rx-notify",
	"feature-sg",
	"feature-gso-tcpv4",
	"feature-gso-tcpv6",
	"feature-no-csum-offload",
	"ctrl-ring-ref",
	"event-channel-ctrl",
	"request-multicast-control",
	"state",
};

static const char *const back_keys[4] = { "mac", "bridge", "rate", "online" };

/* The path of the front key 2 input bytes name. */
static void front_path(const uint8_t *in, char *path, size_t len)
{
	if (in[0] & 0x80)
		snprintf(path, len, FRONT "/queue-%u/%s", in[1] % 10u, front_keys[in[0] & 15]);
	else
		snprintf(path, len, FRONT "/%s", front_keys[in[0] & 15]);
}

/* A value for path from the input: bytes used, or 0 when short. */
static size_t value_write(const char *path, const uint8_t *in, size_t n)
{
	static const char *const macs[4] = { "00:16:3e:01:02:03", "00:16:3E:0a:0b:0c",
					     "00:16:3e:01:02", "00:16:3e:01:02:03:04" };
	char num[24];
	size_t len;

	if (n < 1)
		return 0;
	len = in[0] & 0x7f;
	if (in[0] & 0x80) { /* a number, where most of the checks are */
		uint32_t v;

		if (n < 5)
			return 0;
		memcpy(&v, in + 1, 4);
		if (strstr(path, "/mac"))
			snprintf(num, sizeof(num), "%s", macs[v & 3]);
		else if (strstr(path, "/rate"))
			snprintf(num, sizeof(num), "%u,%u", v & 0xffff, v >> 16);
		else
			snprintf(num, sizeof(num), "%u", v % 4 == 0 ? v : v % 20);
		node_set(path, num, strlen(num));
		return 5;
	}
	if (len > n - 1)
		len = n - 1;
	node_set(path, (const char *)in + 1, len);
	return 1 + len;
}

static void quiet_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		       const char *fmt, va_list ap)
{
	(void)log, (void)level, (void)prefix, (void)fmt, (void)ap;
}

static struct pvio_log quiet = { quiet_vlog, PVIO_LOG_ERROR };

/* The store as the toolstack leaves it for a new vif with the front Initialising. */
static void store_setup(void)
{
	static const char *const init[][2] = {
		{ NODE, "" },
		{ NODE "/frontend", FRONT },
		{ NODE "/frontend-id", "1" },
		{ NODE "/mac", "00:16:3e:5a:5a:01" },
		{ NODE "/online", "1" },
		{ NODE "/state", "1" },
		{ FRONT, "" },
		{ FRONT "/backend", NODE },
		{ FRONT "/backend-id", "0" },
		{ FRONT "/state", "1" },
	};

	nnodes = 0;
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		node_set(init[i][0], init[i][1], strlen(init[i][1]));
}

/* Connected only with every queue attached. */
static void check_state(const struct netback_dev *dev)
{
	uint32_t st;

	if (strict_u32(NODE "/state", &st) && st == XenbusStateConnected &&
	    (!dev->nr_queues || queues != dev->nr_queues || !dev->queues))
		abort();
	if (dev->nr_queues > opts.max_queues || queues > opts.max_queues)
		abort();
}

/* The commands; 1 once the device is finished. */
static int run(struct netback_dev *dev, const uint8_t *d, size_t n)
{
	while (n > 0) {
		uint8_t c = *d++;
		char path[PATHLEN], num[8];
		size_t used = 0;
		int ret = 0;

		n--;
		switch (c & 7) {
		case 0:
			if (n < 2)
				return 0;
			front_path(d, path, sizeof(path));
			if (!(used = value_write(path, d + 2, n - 2)))
				return 0;
			used += 2;
			break;
		case 1:
			if (n < 2)
				return 0;
			front_path(d, path, sizeof(path));
			node_rm(path);
			used = 2;
			break;
		case 2:
			if (n < 1)
				return 0;
			snprintf(num, sizeof(num), "%u", d[0] % 10u);
			node_set(FRONT "/state", num, strlen(num));
			used = 1;
			ret = netback_dev_otherend_changed(dev);
			break;
		case 3:
			if (n < 1)
				return 0;
			snprintf(path, sizeof(path), NODE "/%s", back_keys[d[0] & 3]);
			if (!(used = value_write(path, d + 1, n - 1)))
				return 0;
			used += 1;
			ret = netback_dev_backend_changed(dev);
			break;
		case 4:
			if (n < 1)
				return 0;
			snprintf(path, sizeof(path), NODE "/%s", back_keys[d[0] & 3]);
			node_rm(path);
			used = 1;
			ret = netback_dev_backend_changed(dev);
			break;
		case 5:
			if (n < 1)
				return 0;
			used = 1;
			if (dev->nr_queues)
				netback_dev_queue_failed(dev, d[0] & 1 ? -EPROTO : -EIO);
			break;
		case 6:
			node_rm_tree(NODE);
			ret = netback_dev_backend_changed(dev);
			if (!ret)
				abort(); /* the directory is gone: the device is finished */
			break;
		case 7:
			ret = netback_dev_backend_changed(dev);
			break;
		}
		check_state(dev);
		if (ret)
			return 1;
		d += used, n -= used;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netback_dev *dev;

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.max_queues = (data[0] & 7u) + 1;
	opts.no_split = data[0] & 8;
	opts.log = &quiet;
	opts.notify = notify;
	fail_tap = data[0] & 0x10;
	fail_bridge = data[0] & 0x20;
	fail_attach = data[0] & 0x40;
	fail_up = data[0] & 0x80;
	store_setup();
	bound = queues = ctrls = nfds = 0;
	next_port = 1; /* 0 is no port */
	memset(live, 0, sizeof(live));
	if (netback_dev_create(&dev, (struct xs_handle *)&nodes, (struct hv *)&nodes, NODE, &opts))
		abort();
	if (netback_dev_start(dev) < 0)
		abort();
	run(dev, data + 1, size - 1);
	netback_dev_destroy(dev, true);
	if (bound || queues || ctrls)
		abort(); /* a port, a queue or the control ring left behind */
	for (unsigned int i = 0; i < nfds; i++)
		if (fcntl(fds[i], F_GETFD) >= 0)
			abort(); /* a TAP descriptor left open */
	return 0;
}
