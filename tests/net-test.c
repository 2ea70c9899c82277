/* SPDX-License-Identifier: MIT */
/*
 * net-test.c - the raw netif front, the netback serving domain and the packet socket the net-*
 * tests share (see net-test.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>

#include "tests/net-test.h"

const uint8_t nt_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
const uint8_t nt_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
struct nt_env nt;

int nt_netns(void)
{
	int fd;

	if (access("/dev/net/tun", R_OK | W_OK)) {
		printf("SKIP: no /dev/net/tun\n");
		return T_SKIP;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP: cannot make a network namespace: %s\n", strerror(errno));
		return T_SKIP;
	}
	/* No IPv6 chatter (router solicitations, MLD) from the TAP into the guest's RX. */
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		T_CHECK(write(fd, "1", 1) == 1, "disable_ipv6");
		close(fd);
	}
	return 0;
}

int nt_setup(void)
{
	int rc;

	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (rc)
		return rc;
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return 0;
}

/* ---- the back-end domain ---- */

/* This process's VmHWM in KiB, or -1. */
static long hwm_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The poll timeout: the earlier of the two timers (ns, 0: none), else 1 s. */
static int timeout_ms(uint64_t a, uint64_t b)
{
	uint64_t at = !a ? b : !b || a < b ? a : b, now = now_ns();

	if (!at)
		return 1000;
	/* Rounded up: woken early, the loop would only wait again. */
	return at <= now ? 0 : (int)((at - now + 999999) / 1000000);
}

/* The queue's port, left masked from its event until the late EOI says (netback_queue_eoi). */
struct eoi {
	evtchn_port_t port; /* masked; 0: none */
	bool asked;	    /* netback_queue_eoi answered unmask_at */
	uint64_t unmask_at; /* when to unmask (ns) */
};

/* After process returned 0: unmask the port now or when its time has come. */
static void eoi_step(struct hv *hv, struct netback_queue *q, struct eoi *e)
{
	if (!e->port)
		return;
	if (!e->asked) {
		e->unmask_at = netback_queue_eoi(q, now_ns());
		e->asked = true;
	}
	if (e->unmask_at && now_ns() < e->unmask_at)
		return;
	hv_evtchn_unmask(hv, e->port);
	*e = (struct eoi){ 0 };
}

/* This process's CPU time, user and system, in ms. */
static uint64_t cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000u;
}

/* Serve q as netback.h says a loop must, until 'q' on ctl: 0, or the queue's error. */
static int serve(struct hv *hv, struct netback_queue *q, int tap, int ctl)
{
	uint64_t deadline = t_now_ms() + 90000;
	struct eoi e = { 0 };

	for (;;) {
		int rc = netback_queue_process(q);
		struct pollfd pfd[3] = {
			{ .fd = hv_evtchn_fd(hv), .events = POLLIN },
			{ .fd = ctl, .events = POLLIN },
			{ .fd = netback_queue_wants_tap(q) ? tap : -1, .events = POLLIN },
		};
		evtchn_port_t port;
		char c;

		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		eoi_step(hv, q, &e);
		/* A port held masked is one not listened to (whether or not the provider masks). */
		pfd[0].fd = e.asked ? -1 : hv_evtchn_fd(hv);
		if (poll(pfd, 3, timeout_ms(netback_queue_deadline(q), e.port ? e.unmask_at : 0)) <
			0 &&
		    errno != EINTR)
			return -errno;
		if (t_now_ms() > deadline)
			return -ETIMEDOUT;
		if ((pfd[1].revents & POLLIN) && read(ctl, &c, 1) == 1 && c == 'q')
			return 0;
		while (hv_evtchn_pending(hv, &port) == 0)
			e = (struct eoi){ .port = port };
	}
}

/* MTU 9000 on the TAP, so that dom0 can send the guest jumbo frames. */
static int tap_mtu(void)
{
	struct ifreq ifr = { .ifr_mtu = 9000 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NT_TAP);
	ret = s >= 0 && ioctl(s, SIOCSIFMTU, &ifr) == 0 ? 0 : -1;
	if (s >= 0)
		close(s);
	return ret;
}

static int back(void *arg)
{
	struct netback_queue_params p = { .name = "vif test",
					  .rx_sg = nt.rx_sg,
					  .rx_gso_tcpv4 = nt.rx_gso,
					  .rx_csum_v4_off = nt.rx_csum_v4_off,
					  .rx_csum_v6_off = nt.rx_csum_v6_off,
					  .rate_bytes = nt.rate_bytes,
					  .rate_usec = nt.rate_usec };
	struct nt_result res = { 0 };
	struct netback_queue *q;
	struct nt_hello hi;
	struct hv *hv;
	int tap;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(netback_tap_open(NT_TAP, 1, &tap) == 0, "TAP open");
	T_CHECK(netback_tap_offload(tap, true, nt.rx_gso, false) == 0, "TAP offload");
	T_CHECK(tap_mtu() == 0, "TAP mtu");
	T_CHECK(netback_tap_up(NT_TAP) == 0, "TAP up");
	T_CHECK(t_put(nt.out[1], "r", 1) == 0, "ready");
	T_CHECK(t_get(nt.hello[0], &hi, sizeof(hi)) == 0, "hello");
	p.frontend = hi.guest;
	p.tx_ref = hi.tx;
	p.rx_ref = hi.rx;
	p.tap_fd = tap;
	memcpy(p.mac, nt_mac, 6);
	T_CHECK(hv_evtchn_bind(hv, hi.guest, hi.port, &p.tx_port) == 0, "bind");
	p.rx_port = p.tx_port;
	T_CHECK(netback_queue_attach(&q, hv, &p) == 0, "attach");
	res.hwm_kib_start = hwm_kib();
	res.cpu_ms = cpu_ms();
	res.wall_ms = t_now_ms();
	res.serve = serve(hv, q, tap, nt.ctl[0]);
	res.cpu_ms = cpu_ms() - res.cpu_ms;
	res.wall_ms = t_now_ms() - res.wall_ms;
	res.hwm_kib_end = hwm_kib();
	netback_queue_stats(q, &res.st);
	netback_queue_detach(q);
	hv_evtchn_unbind(hv, p.tx_port);
	close(tap);
	hv_close(hv);
	T_CHECK(t_put(nt.out[1], &res, sizeof(res)) == 0, "result");
	return 0;
}

/* ---- dom0 ---- */

int nt_pkt_open(const char *ifname, int *fd)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	T_CHECK(sll.sll_ifindex > 0, "no %s", ifname);
	int rcvbuf = 16 << 20;

	*fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	T_CHECK(*fd >= 0, "packet socket: %s", strerror(errno));
	/* Room for a whole test's frames: a dom0 stalled on a loaded machine must not drop any. */
	if (setsockopt(*fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		(void)setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	T_CHECK(bind(*fd, (struct sockaddr *)&sll, sizeof(sll)) == 0, "bind: %s", strerror(errno));
	return 0;
}

ssize_t nt_pkt_recv(int pkt, uint8_t *buf, size_t cap)
{
	uint64_t deadline = t_now_ms() + NT_WAIT_MS;

	while (t_now_ms() < deadline) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (!t_readable(pkt, 100))
			continue;
		n = recvfrom(pkt, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		return n;
	}
	return -1;
}

int nt_pkt_send(int pkt, const uint8_t *buf, size_t len)
{
	T_CHECK(send(pkt, buf, len, 0) == (ssize_t)len, "send %zu bytes: %s", len, strerror(errno));
	return 0;
}

int nt_pkt_send_gso(int pkt, const uint8_t *buf, size_t len, uint16_t gso_size)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = 54,
				    .gso_size = gso_size,
				    .csum_start = 34,
				    .csum_offset = 16 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	int on = 1;

	T_CHECK(setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0,
		"PACKET_VNET_HDR: %s", strerror(errno));
	T_CHECK(writev(pkt, iov, 2) == (ssize_t)(sizeof(h) + len), "GSO send: %s", strerror(errno));
	on = 0;
	T_CHECK(setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0, "off");
	return 0;
}

int nt_step_wait(void)
{
	char c;

	return t_get(nt.link.ab[0], &c, 1) == 0 ? c : -1;
}

void nt_step_ack(bool ok)
{
	(void)t_put(nt.link.ba[1], ok ? "k" : "n", 1);
}

int nt_step(char c)
{
	char ack;

	T_CHECK(t_put(nt.link.ab[1], &c, 1) == 0 && t_get(nt.link.ba[0], &ack, 1) == 0, "step %c",
		c);
	T_CHECK(ack == 'k', "dom0 failed step %c", c);
	return 0;
}

static int pipes(void)
{
	T_CHECK(pipe(nt.hello) == 0 && pipe(nt.ctl) == 0 && pipe(nt.out) == 0, "pipes");
	T_CHECK(t_link_init(&nt.link) == 0, "pipes");
	return 0;
}

int nt_run(int (*guest)(void *), int (*dom0)(int pkt), bool stop, struct nt_result *res)
{
	pid_t pb, pg;
	int pkt, rc, rb, rg;
	char c;

	T_CHECK(pipes() == 0, "pipes");
	T_CHECK(t_domain_fork("netback", back, NULL, &nt.back, &pb) == 0, "fork back");
	T_CHECK(t_get(nt.out[0], &c, 1) == 0 && c == 'r', "back-end not ready");
	/* Listening before the guest exists: none of its frames can pass unseen. */
	T_CHECK(nt_pkt_open(NT_TAP, &pkt) == 0, "packet socket");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	rc = dom0(pkt);
	rg = t_wait(pg);
	if (stop)
		T_CHECK(t_put(nt.ctl[1], "q", 1) == 0, "stop");
	T_CHECK(t_get(nt.out[0], res, sizeof(*res)) == 0, "no result from the back-end");
	rb = t_wait(pb);
	close(pkt);
	T_CHECK(rg == 0, "guest failed");
	T_CHECK(rb == 0, "back-end failed");
	return rc;
}

int nt_main(int (*guest)(void *), int (*dom0)(int pkt), struct nt_result *res)
{
	int rc = nt_setup();

	if (rc)
		return rc;
	T_CHECK(nt_run(guest, dom0, true, res) == 0, "run");
	T_CHECK(res->serve == 0, "serve %d", res->serve);
	return 0;
}

/* ---- the guest ---- */

int nt_front_share(struct nt_front *f, struct hv *hv, domid_t back, struct nt_hello *hi)
{
	memset(f, 0, sizeof(*f));
	memset(hi, 0, sizeof(*hi)); /* its padding crosses a pipe too */
	f->hv = hv;
	T_CHECK(hv_domid(f->hv, &hi->guest) == 0, "domid");
	T_CHECK(hv_grant_share(f->hv, back, 1, true, &f->txs, &hi->tx) == 0, "tx ring");
	T_CHECK(hv_grant_share(f->hv, back, 1, true, &f->rxs, &hi->rx) == 0, "rx ring");
	T_CHECK(ring_front_init(&f->tx, f->txs, 0, sizeof(struct netif_tx_request),
				sizeof(struct netif_tx_response)) == 0,
		"tx init");
	T_CHECK(ring_front_init(&f->rx, f->rxs, 0, sizeof(struct netif_rx_request),
				sizeof(struct netif_rx_response)) == 0,
		"rx init");
	T_CHECK(hv_grant_share(f->hv, back, NT_TX_PAGES, false, (void **)&f->txp, f->txr) == 0,
		"tx pages");
	T_CHECK(hv_grant_share(f->hv, back, NT_RX_PAGES, true, (void **)&f->rxp, f->rxr) == 0,
		"rx pages");
	T_CHECK(hv_evtchn_alloc_unbound(f->hv, back, &f->port) == 0, "alloc unbound");
	hi->port = f->port;
	return 0;
}

int nt_front_open(struct nt_front *f)
{
	struct nt_hello hi;
	struct hv *hv;

	T_CHECK(hv_open(&hv, NULL) == 0, "guest: hv_open");
	T_CHECK(nt_front_share(f, hv, nt.back, &hi) == 0, "share");
	T_CHECK(t_put(nt.hello[1], &hi, sizeof(hi)) == 0, "hello");
	return 0;
}

static int push(struct nt_front *f, struct ring_front *rf)
{
	int rc = ring_front_push(rf);

	T_CHECK(rc >= 0, "push");
	if (rc > 0)
		T_CHECK(hv_evtchn_notify(f->hv, f->port) == 0, "notify");
	return 0;
}

int nt_rx_post(struct nt_front *f, unsigned int first, unsigned int n)
{
	for (unsigned int i = first; i < first + n; i++) {
		struct netif_rx_request *r = ring_front_req_slot(&f->rx);

		T_CHECK(r && i < NT_RX_PAGES, "rx ring full");
		r->id = (uint16_t)i;
		r->gref = f->rxr[i];
	}
	return push(f, &f->rx);
}

struct netif_tx_request *nt_tx_slot(struct nt_front *f)
{
	return ring_front_req_slot(&f->tx);
}

/* Copy up to max responses of rf, waiting for the first: the count, or -1. */
static int collect(struct nt_front *f, struct ring_front *rf, void *rsp, unsigned int max)
{
	uint64_t deadline = t_now_ms() + NT_WAIT_MS;

	while (t_now_ms() < deadline) {
		int k = ring_front_consume(rf, rsp, max);

		if (k != 0)
			return k;
		if (ring_front_final_check(rf) == 0)
			t_event_wait(f->hv, f->port, 100);
	}
	return -1;
}

int nt_tx_run(struct nt_front *f, struct netif_tx_response *rsp, unsigned int n)
{
	unsigned int got = 0;

	T_CHECK(push(f, &f->tx) == 0, "push");
	while (got < n) {
		int k = collect(f, &f->tx, rsp + got, n - got);

		T_CHECK(k > 0, "TX: %u of %u responses", got, n);
		got += (unsigned int)k;
	}
	return 0;
}

int nt_tx_frame(struct nt_front *f, const uint8_t *frame, size_t len, size_t chunk,
		const struct netif_extra_info *gso, int16_t *status)
{
	struct netif_tx_response rsp[NT_TX_PAGES + 1];
	unsigned int n = 0, nrsp = 0;

	for (size_t pos = 0; pos < len; pos += chunk, n++) {
		size_t part = len - pos < chunk ? len - pos : chunk, off = n ? 0 : 64;
		struct netif_tx_request *r = nt_tx_slot(f);

		T_CHECK(r && n < NT_TX_PAGES && off + part <= HV_PAGE_SIZE, "frame too big");
		memcpy(f->txp + (size_t)n * HV_PAGE_SIZE + off, frame + pos, part);
		r->gref = f->txr[n];
		r->offset = (uint16_t)off;
		r->id = (uint16_t)n;
		r->size = (uint16_t)(n ? part : len);
		r->flags = (pos + part < len ? NETTXF_more_data : 0) |
			   (!n && gso ? NETTXF_extra_info | NETTXF_csum_blank : 0);
		nrsp++;
		if (!n && gso) {
			struct netif_extra_info *x = (void *)nt_tx_slot(f);

			T_CHECK(x, "ring full");
			memcpy(x, gso, sizeof(*x));
			nrsp++;
		}
	}
	T_CHECK(nt_tx_run(f, rsp, nrsp) == 0, "TX run");
	*status = rsp[0].status;
	for (unsigned int i = 1; i < nrsp; i++)
		T_CHECK(rsp[i].status == (gso && i == 1 ? NETIF_RSP_NULL : *status),
			"slot %u answered %d, the first %d", i, rsp[i].status, *status);
	return 0;
}

/* The next RX response, waiting for it: 0 or 1. */
static int rx_next(struct nt_front *f, struct netif_rx_response *rsp)
{
	T_CHECK(collect(f, &f->rx, rsp, 1) == 1, "no RX response");
	return 0;
}

int nt_rx_frame(struct nt_front *f, uint8_t *buf, size_t *len, uint16_t *flags, unsigned int *slots,
		struct netif_extra_info *gso)
{
	for (;;) {
		struct netif_rx_response r;
		bool more = true, extra = false;

		*len = 0;
		*slots = 0;
		memset(gso, 0, sizeof(*gso));
		while (more || extra) {
			T_CHECK(rx_next(f, &r) == 0, "RX");
			if (extra) { /* its buffer's id is not said: that page is not re-posted */
				memcpy(gso, &r, sizeof(*gso));
				extra = gso->flags & XEN_NETIF_EXTRA_FLAG_MORE;
				continue;
			}
			T_CHECK(r.status >= 0 && r.id < NT_RX_PAGES && r.offset == 0 &&
				    *len + (size_t)r.status <= NETBACK_FRAME_MAX,
				"bad RX response id %u status %d", r.id, r.status);
			memcpy(buf + *len, f->rxp + (size_t)r.id * HV_PAGE_SIZE, (size_t)r.status);
			*len += (size_t)r.status;
			if (!*slots) {
				*flags = r.flags;
				extra = r.flags & NETRXF_extra_info;
			}
			more = r.flags & NETRXF_more_data;
			(*slots)++;
			T_CHECK(nt_rx_post(f, r.id, 1) == 0, "re-post");
		}
		if (*len >= 14 && !memcmp(buf + 6, nt_peer, 6))
			return 0;
	}
}

void nt_frame(uint8_t *buf, size_t len, const uint8_t *dst, const uint8_t *src, unsigned int seq)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = NT_ETHERTYPE >> 8;
	buf[13] = NT_ETHERTYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seq * 31u + i * 7u + (i >> 8));
}

int nt_stats_has(const char *dir, unsigned int fe, unsigned int devid, const char *line)
{
	char path[4200], text[2048];

	snprintf(path, sizeof(path), "%s/vif-%u.%u", dir, fe, devid);
	for (int i = 0; i < 300; i++, t_msleep(10)) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

		if (f)
			fclose(f);
		text[n] = '\0';
		if (strstr(text, line))
			return 0;
	}
	T_CHECK(false, "%s has no \"%s\":\n%s", path, line, text);
}

int nt_error_has(struct xs_handle *xs, unsigned int dd, unsigned int fe, unsigned int devid,
		 const char *text)
{
	char path[300], *v = NULL;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/error/backend/vif/%u/%u/error", dd, fe,
		 devid);
	for (int i = 0; i < 500 && !(v = xs_read(xs, XBT_NULL, path, &len)); i++)
		t_msleep(10);
	T_CHECK(v && strstr(v, text), "%s: \"%s\", want \"%s\"", path, v ? v : "(none)", text);
	free(v);
	return 0;
}

int nt_bridge_add(const char *name)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret, err;

	T_CHECK(s >= 0, "socket: %s", strerror(errno));
	ret = ioctl(s, SIOCBRADDBR, name);
	err = errno;
	close(s);
	if (ret && err == ENOPKG) {
		printf("SKIP: no bridge module: %s\n", strerror(err));
		return T_SKIP;
	}
	T_CHECK(ret == 0, "bridge %s: %s", name, strerror(err));
	return 0;
}
