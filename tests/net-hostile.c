/* SPDX-License-Identifier: MIT */
/*
 * net-hostile.c - the malformed TX shapes a hostile front writes (see nt_tx_hostile in
 * net-test.h), each followed by a good frame, shared by the tests that drive netback directly
 * and through pvio-netback.
 */
#include "config.h"

#include <string.h>

#include "tests/net-test.h"

#define UNGRANTED 9000 /* a reference the guest never granted */

void nt_tcp_frame(uint8_t *b, size_t len, const uint8_t *dst, const uint8_t *src)
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
	uint8_t want[60];
	int16_t st;

	nt_frame(want, 60, nt_peer, nt_mac, seq);
	T_CHECK(nt_tx_frame(f, want, 60, 4000, NULL, &st) == 0 && st == NETIF_RSP_OKAY,
		"good frame %u after a hostile one", seq);
	return 0;
}

/* A TCPv4 GSO frame of 200 bytes in page 0 whose GSO extra is x: answered ERROR. */
static int hostile_gso(struct nt_front *f, const struct netif_extra_info *x)
{
	struct netif_tx_request r = { .gref = f->txr[0],
				      .id = 9,
				      .size = 200,
				      .flags = NETTXF_extra_info | NETTXF_csum_blank };

	nt_tcp_frame(f->txp, 200, nt_peer, nt_mac);
	T_CHECK(hostile_one(f, r, x, NETIF_RSP_ERROR) == 0, "GSO");
	nt_frame(f->txp, 64, nt_peer, nt_mac, 1);
	return 0;
}

int nt_tx_hostile(struct nt_front *f, unsigned int seq)
{
	struct netif_extra_info bad_type = { .type = XEN_NETIF_EXTRA_TYPE_MAX };
	struct netif_extra_info gso = { .type = XEN_NETIF_EXTRA_TYPE_GSO,
					.u.gso = { .size = 0, .type = XEN_NETIF_GSO_TYPE_TCPV4 } };
	struct netif_tx_request base = { .gref = f->txr[0], .id = 7, .size = 60 };
	struct netif_tx_request r;

	nt_frame(f->txp, 64, nt_peer, nt_mac, 1);
	r = base, r.offset = 4090; /* offset + size past the page */
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, seq) == 0, "1");
	T_CHECK(hostile_slots(f, 2, 100, 100, 0) == 0 && good_after(f, seq + 1) == 0, "zero");
	T_CHECK(hostile_slots(f, 17, 65535, 4096, 0) == 0 && good_after(f, seq + 2) == 0, "64K");
	T_CHECK(hostile_slots(f, 19, 19 * 60, 60, 0) == 0 && good_after(f, seq + 3) == 0, "19");
	r = base, r.flags = NETTXF_extra_info;
	T_CHECK(hostile_one(f, r, &bad_type, NETIF_RSP_ERROR) == 0 && good_after(f, seq + 4) == 0,
		"bad extra");
	T_CHECK(hostile_gso(f, &gso) == 0 && good_after(f, seq + 5) == 0, "gso 0");
	gso.u.gso.size = 1000; /* over the frame's 146 bytes of payload */
	T_CHECK(hostile_gso(f, &gso) == 0 && good_after(f, seq + 6) == 0, "gso > frame");
	gso.u.gso.size = 100, gso.u.gso.type = 77;
	T_CHECK(hostile_gso(f, &gso) == 0 && good_after(f, seq + 7) == 0, "gso type");
	r = base, r.gref = UNGRANTED;
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, seq + 8) == 0,
		"ungranted");
	r = base, r.size = 13;
	T_CHECK(hostile_one(f, r, NULL, NETIF_RSP_ERROR) == 0 && good_after(f, seq + 9) == 0,
		"runt");
	nt_frame(f->txp, 64, nt_peer, nt_peer, 1); /* not the vif's source MAC */
	T_CHECK(hostile_one(f, base, NULL, NETIF_RSP_DROPPED) == 0 && good_after(f, seq + 10) == 0,
		"spoofed");
	return 0;
}
