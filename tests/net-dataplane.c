/* SPDX-License-Identifier: MIT */
/*
 * net-dataplane: a guest sends frames of several sizes through netback (one slot, several,
 * the most allowed, headers split across slots, a TCPv4 GSO frame) and dom0 receives each
 * byte-exact on the TAP; then every malformed TX shape (offset + size past the page, a
 * zero-length first slot, fragments over the first slot's size, too many slots, a bad extra
 * type, GSO of size 0, over the frame or of an unknown type, an ungranted page, a runt, a
 * spoofed source: nt_tx_hostile) is answered with an error
 * (or dropped), counted, never reaches the TAP, and a good frame after each still does; once
 * every slot is answered the guest can end its TX pages' grants (netback maps none of them); dom0
 * sends frames of 60, 1514 and 9000 bytes, and a TCPv4 GSO frame, that reach the guest
 * byte-exact (the GSO one with csum_blank and its GSO extra info); last, the guest
 * corrupts its TX ring and netback fails that queue with -EPROTO.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/net-test.h"

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
#define NGOOD (sizeof(good) / sizeof(good[0]))
static const size_t rx_sizes[] = { 60, 1514, 9000 };
#define NRX	(sizeof(rx_sizes) / sizeof(rx_sizes[0]))
#define GSO_LEN 4000

static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

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
	nt_tcp_frame(want, GSO_LEN, nt_peer, nt_mac);
	T_CHECK(nt_tx_frame(f, want, GSO_LEN, 4000, &gso, &st) == 0, "GSO TX");
	T_CHECK(st == NETIF_RSP_OKAY, "GSO frame answered %d", st);
	T_CHECK(nt_step('T') == 0, "dom0 checked the frames");
	T_CHECK(nt_tx_hostile(f, 200) == 0, "hostile");
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
	nt_tcp_frame(want, GSO_LEN, nt_mac, nt_peer);
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
	/* Every TX slot is answered: netback maps none of the pages any more. */
	T_CHECK(hv_grant_end(f.hv, f.txp, NT_TX_PAGES) == 0,
		"the back-end still maps a TX page after answering");
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

static int dom0(int pkt)
{
	T_CHECK(nt_step_wait() == 'T', "guest step");
	for (unsigned int i = 0; i < NGOOD; i++) {
		nt_frame(want, good[i].len, nt_peer, nt_mac, i);
		T_CHECK(expect_frame(pkt, good[i].len) == 0, "good frame %u", i);
	}
	nt_tcp_frame(want, GSO_LEN, nt_peer, nt_mac);
	T_CHECK(expect_frame(pkt, GSO_LEN) == 0, "GSO frame");
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'H', "guest step");
	for (unsigned int i = 0; i < NT_NHOSTILE; i++) {
		nt_frame(want, 60, nt_peer, nt_mac, 200 + i);
		T_CHECK(expect_frame(pkt, 60) == 0, "good frame after hostile %u", i);
	}
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'R', "guest step");
	for (unsigned int i = 0; i < NRX; i++) {
		nt_frame(want, rx_sizes[i], nt_mac, nt_peer, 300 + i);
		T_CHECK(nt_pkt_send(pkt, want, rx_sizes[i]) == 0, "send");
	}
	nt_tcp_frame(want, GSO_LEN, nt_mac, nt_peer);
	T_CHECK(nt_pkt_send_gso(pkt, want, GSO_LEN, 1448) == 0, "send GSO");
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
	T_CHECK(s->tx_packets == NGOOD + 1 + NT_NHOSTILE, "tx_packets %llu",
		(unsigned long long)s->tx_packets);
	T_CHECK(s->tx_bad_slot == 3 && s->tx_too_many_slots == 1 && s->tx_bad_extra == 1 &&
		    s->tx_bad_offload == 3 && s->tx_bad_grant == 1 && s->tx_too_short == 1 &&
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
