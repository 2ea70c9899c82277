/* SPDX-License-Identifier: MIT */
/*
 * net-dataplane: a guest sends frames of several sizes through netback (one slot, several,
 * the most allowed, headers split across slots, a TCPv4 GSO frame) and dom0 receives each
 * byte-exact on the TAP; then every malformed TX shape (offset + size past the page, a
 * zero-length first slot, fragments over the first slot's size, too many slots, a bad extra
 * type, GSO of size 0, an ungranted page, a runt, a spoofed source) is answered with an error
 * (or dropped), counted, never reaches the TAP, and a good frame after each still does; dom0
 * sends frames of 60, 1514 and 9000 bytes, and a TCPv4 GSO frame, that reach the guest
 * byte-exact (the GSO one with csum_blank and its GSO extra info); last, the guest
 * corrupts its TX ring and netback fails that queue with -EPROTO.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "tests/net-test.h"

#define UNGRANTED 9000 /* a reference the guest never granted */

/* The good frames the guest sends, in order: length and slot size. */
static const struct {
	size_t len, chunk;
} good[] = {
	{ 60, 4000 },	 /* one slot */
	{ 1514, 4000 },	 /* one slot, at offset 64 */
	{ 9000, 4000 },	 /* three slots */
	{ 60000, 4000 }, /* fifteen slots */
	{ 1800, 100 },	 /* eighteen slots: the most allowed */
	{ 100, 7 },	 /* the Ethernet header split over two slots (XSA-423) */
};
#define NGOOD	 (sizeof(good) / sizeof(good[0]))
#define NHOSTILE 9
static const size_t rx_sizes[] = { 60, 1514, 9000 };
#define NRX	(sizeof(rx_sizes) / sizeof(rx_sizes[0]))
#define GSO_LEN 4000

static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

/* A TCPv4 frame from src to dst of len bytes: Ethernet, IPv4 (20), TCP (20), pattern. */
static void tcp_frame(uint8_t *b, size_t len, const uint8_t *dst, const uint8_t *src)
{
	nt_frame(b, len, dst, src, 99);
	b[12] = 0x08, b[13] = 0x00;
	memset(b + 14, 0, 40);
	b[14] = 0x45;
	b[16] = (uint8_t)((len - 14) >> 8), b[17] = (uint8_t)(len - 14);
	b[22] = 64, b[23] = 6;
	b[26] = 10, b[29] = 1, b[30] = 10, b[33] = 2;
	b[34 + 12] = 5 << 4;
}

/* One raw hostile request (and the extra info after it, when x): 0 or 1 on its answer. */
static int hostile_one(struct nt_front *f, struct netif_tx_request req,
		       const struct netif_extra_info *x, int16_t want_status)
{
	struct netif_tx_response rsp[2];
	struct netif_tx_request *r = nt_tx_slot(f);

	T_CHECK(r, "ring full");
	*r = req;
	if (x)
		memcpy(nt_tx_slot(f), x, sizeof(*x));
	T_CHECK(nt_tx_run(f, rsp, x ? 2 : 1) == 0, "run");
	T_CHECK(rsp[0].id == req.id && rsp[0].status == want_status,
		"hostile id %u answered %d (want %d)", req.id, rsp[0].status, want_status);
	T_CHECK(!x || rsp[1].status == NETIF_RSP_NULL, "extra answered %d", rsp[1].status);
	return 0;
}

/* A frame of n slots of size each, the first saying first_size: each answered ERROR. */
static int hostile_slots(struct nt_front *f, unsigned int n, uint16_t first_size, uint16_t size,
			 uint16_t offset)
{
	struct netif_tx_response rsp[NT_TX_PAGES];

	nt_frame(f->txp, 64, nt_peer, nt_mac, 1);
	for (unsigned int i = 0; i < n; i++) {
		struct netif_tx_request *r = nt_tx_slot(f);

		T_CHECK(r, "ring full");
		*r = (struct netif_tx_request){ .gref = f->txr[i % NT_TX_PAGES],
						.offset = offset,
						.flags = i + 1 < n ? NETTXF_more_data : 0,
						.id = (uint16_t)(100 + i),
						.size = i ? size : first_size };
	}
	T_CHECK(nt_tx_run(f, rsp, n) == 0, "run");
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(rsp[i].id == 100 + i && rsp[i].status == NETIF_RSP_ERROR,
			"slot %u of a bad frame answered id %u status %d", i, rsp[i].id,
			rsp[i].status);
	return 0;
}

/* A good 60-byte frame after a hostile one: 0 or 1. */
static int good_after(struct nt_front *f, unsigned int seq)
{
	int16_t st;

	nt_frame(want, 60, nt_peer, nt_mac, seq);
	T_CHECK(nt_tx_frame(f, want, 60, 4000, NULL, &st) == 0 && st == NETIF_RSP_OKAY,
		"good frame %u after a hostile one", seq);
	return 0;
}

static int hostile(struct nt_front *f)
{
	struct netif_extra_info bad_type = { .type = XEN_NETIF_EXTRA_TYPE_MAX };
	struct netif_extra_info gso0 = { .type = XEN_NETIF_EXTRA_TYPE_GSO,
					 .u.gso = { .size = 0, .type = XEN_NETIF_GSO_TYPE_TCPV4 } };
	struct netif_tx_request base = { .gref = f->txr[0], .id = 7, .size = 60 };
	struct netif_tx_request r;

	nt_frame(f->txp, 64, nt_peer, nt_mac, 1);
	r = base, r.offset = 4090; /* offset + size past the page */
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, 200) == 0, "1");
	T_CHECK(hostile_slots(f, 2, 100, 100, 0) == 0 && good_after(f, 201) == 0, "zero first");
	T_CHECK(hostile_slots(f, 17, 65535, 4096, 0) == 0 && good_after(f, 202) == 0, "> 64 KiB");
	T_CHECK(hostile_slots(f, 19, 19 * 60, 60, 0) == 0 && good_after(f, 203) == 0, "19 slots");
	r = base, r.flags = NETTXF_extra_info;
	T_CHECK(hostile_one(f, r, &bad_type, NETIF_RSP_ERROR) == 0 && good_after(f, 204) == 0,
		"bad extra");
	r = base, r.flags = NETTXF_extra_info | NETTXF_csum_blank;
	T_CHECK(hostile_one(f, r, &gso0, NETIF_RSP_ERROR) == 0 && good_after(f, 205) == 0, "gso 0");
	r = base, r.gref = UNGRANTED;
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, 206) == 0,
		"ungranted");
	r = base, r.size = 13;
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, 207) == 0, "runt");
	nt_frame(f->txp, 64, nt_peer, nt_peer, 1); /* not the vif's source MAC */
	T_CHECK(hostile_one(f, base, NULL, NETIF_RSP_DROPPED) == 0 && good_after(f, 208) == 0,
		"spoofed");
	return 0;
}

static int guest_tx(struct nt_front *f)
{
	struct netif_extra_info gso = { .type = XEN_NETIF_EXTRA_TYPE_GSO,
					.u.gso = { .size = 1448,
						   .type = XEN_NETIF_GSO_TYPE_TCPV4 } };
	int16_t st;

	for (unsigned int i = 0; i < NGOOD; i++) {
		nt_frame(want, good[i].len, nt_peer, nt_mac, i);
		T_CHECK(nt_tx_frame(f, want, good[i].len, good[i].chunk, NULL, &st) == 0, "TX");
		T_CHECK(st == NETIF_RSP_OKAY, "frame %u of %zu bytes answered %d", i, good[i].len,
			st);
	}
	tcp_frame(want, GSO_LEN, nt_peer, nt_mac);
	T_CHECK(nt_tx_frame(f, want, GSO_LEN, 4000, &gso, &st) == 0, "GSO TX");
	T_CHECK(st == NETIF_RSP_OKAY, "GSO frame answered %d", st);
	T_CHECK(nt_step('T') == 0, "dom0 checked the frames");
	T_CHECK(hostile(f) == 0, "hostile");
	return nt_step('H');
}

/* A TCPv4 GSO frame from the TAP: csum_blank, data_validated and the GSO extra info. */
static int guest_rx_gso(struct nt_front *f)
{
	struct netif_extra_info x;
	unsigned int slots;
	uint16_t flags;
	size_t len;

	T_CHECK(nt_rx_frame(f, buf, &len, &flags, &slots, &x) == 0, "RX GSO");
	tcp_frame(want, GSO_LEN, nt_mac, nt_peer);
	T_CHECK(len == GSO_LEN && !memcmp(buf, want, len), "RX GSO frame: %zu bytes", len);
	T_CHECK((flags & (NETRXF_csum_blank | NETRXF_data_validated)) ==
		    (NETRXF_csum_blank | NETRXF_data_validated),
		"RX GSO flags %#x", flags);
	T_CHECK(x.type == XEN_NETIF_EXTRA_TYPE_GSO && x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 &&
		    x.u.gso.size == 1448,
		"RX GSO extra: type %u gso type %u size %u", x.type, x.u.gso.type, x.u.gso.size);
	return 0;
}

static int guest_rx(struct nt_front *f)
{
	for (unsigned int i = 0; i < NRX; i++) {
		unsigned int slots;
		uint16_t flags;
		size_t len;
		struct netif_extra_info x;

		T_CHECK(nt_rx_frame(f, buf, &len, &flags, &slots, &x) == 0, "RX %u", i);
		nt_frame(want, rx_sizes[i], nt_mac, nt_peer, 300 + i);
		T_CHECK(len == rx_sizes[i] && !memcmp(buf, want, len),
			"RX frame %u: %zu bytes, want %zu, or different", i, len, rx_sizes[i]);
		T_CHECK(slots == (len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE, "%u slots", slots);
	}
	return guest_rx_gso(f);
}

static int guest(void *arg)
{
	struct nt_front f;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	T_CHECK(nt_rx_post(&f, 0, NT_RX_PAGES) == 0, "post");
	T_CHECK(guest_tx(&f) == 0, "TX");
	T_CHECK(nt_step('R') == 0, "dom0 sent the RX frames");
	T_CHECK(guest_rx(&f) == 0, "RX");
	/* A producer index far ahead: the ring is corrupt. */
	((struct ring_shared *)f.txs)->req_prod += 1000;
	T_CHECK(hv_evtchn_notify(f.hv, f.port) == 0, "notify");
	return nt_step('C');
}

/* The next frame from the guest must be want (len bytes): 0 or 1. */
static int expect_frame(int pkt, size_t len)
{
	ssize_t n = nt_pkt_recv(pkt, buf, sizeof(buf));

	T_CHECK(n >= 0, "no frame of %zu bytes on the TAP", len);
	T_CHECK((size_t)n == len && !memcmp(buf, want, len),
		"a frame of %zd bytes on the TAP, want %zu, or different bytes", n, len);
	return 0;
}

/* A TCPv4 GSO frame towards the guest, through a packet socket that takes a virtio header. */
static int send_gso(int pkt)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = 54,
				    .gso_size = 1448,
				    .csum_start = 34,
				    .csum_offset = 16 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { want, GSO_LEN } };
	int on = 1;

	tcp_frame(want, GSO_LEN, nt_mac, nt_peer);
	T_CHECK(setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0,
		"PACKET_VNET_HDR: %s", strerror(errno));
	T_CHECK(writev(pkt, iov, 2) == (ssize_t)(sizeof(h) + GSO_LEN), "GSO send: %s",
		strerror(errno));
	on = 0;
	T_CHECK(setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0, "off");
	return 0;
}

static int dom0(int pkt)
{
	T_CHECK(nt_step_wait() == 'T', "guest step");
	for (unsigned int i = 0; i < NGOOD; i++) {
		nt_frame(want, good[i].len, nt_peer, nt_mac, i);
		T_CHECK(expect_frame(pkt, good[i].len) == 0, "good frame %u", i);
	}
	tcp_frame(want, GSO_LEN, nt_peer, nt_mac);
	T_CHECK(expect_frame(pkt, GSO_LEN) == 0, "GSO frame");
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'H', "guest step");
	for (unsigned int i = 0; i < NHOSTILE; i++) {
		nt_frame(want, 60, nt_peer, nt_mac, 200 + i);
		T_CHECK(expect_frame(pkt, 60) == 0, "good frame after hostile %u", i);
	}
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'R', "guest step");
	for (unsigned int i = 0; i < NRX; i++) {
		nt_frame(want, rx_sizes[i], nt_mac, nt_peer, 300 + i);
		T_CHECK(nt_pkt_send(pkt, want, rx_sizes[i]) == 0, "send");
	}
	T_CHECK(send_gso(pkt) == 0, "send GSO");
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'C', "guest step");
	nt_step_ack(true);
	return 0;
}

int main(void)
{
	struct nt_result res;
	const struct netback_stats *s = &res.st;
	int rc = nt_setup();

	if (rc)
		return rc;
	nt.rx_sg = true;
	nt.rx_gso = true;
	T_CHECK(nt_run(guest, dom0, false, &res) == 0, "run");
	T_CHECK(res.serve == -EPROTO, "the corrupt ring gave %d, not -EPROTO", res.serve);
	T_CHECK(s->tx_packets == NGOOD + 1 + NHOSTILE, "tx_packets %llu",
		(unsigned long long)s->tx_packets);
	T_CHECK(s->tx_bad_slot == 3 && s->tx_too_many_slots == 1 && s->tx_bad_extra == 1 &&
		    s->tx_bad_offload == 1 && s->tx_bad_grant == 1 && s->tx_too_short == 1 &&
		    s->tx_spoofed == 1 && s->tx_tap_errors == 0,
		"drop counters: slot %llu slots %llu extra %llu offload %llu grant %llu short %llu "
		"spoofed %llu tap %llu",
		(unsigned long long)s->tx_bad_slot, (unsigned long long)s->tx_too_many_slots,
		(unsigned long long)s->tx_bad_extra, (unsigned long long)s->tx_bad_offload,
		(unsigned long long)s->tx_bad_grant, (unsigned long long)s->tx_too_short,
		(unsigned long long)s->tx_spoofed, (unsigned long long)s->tx_tap_errors);
	T_CHECK(s->rx_packets >= NRX + 1, "rx_packets %llu", (unsigned long long)s->rx_packets);
	return T_PASS;
}
