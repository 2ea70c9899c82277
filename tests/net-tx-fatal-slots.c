/* SPDX-License-Identifier: MIT */
/*
 * net-tx-fatal-slots: netback's rule for frames of too many TX slots, Linux netback's.  A frame
 * of 20 data slots (19 and 20 are over NETBACK_TX_SLOTS_MAX) is answered with errors, never
 * reaches the TAP, and a good frame after it does; a frame of NETBACK_TX_SLOTS_FATAL (21) fails
 * the queue with -EPROTO (the vif disconnects, as Linux's xenvif_fatal_tx_err), before any
 * answer to it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/net-test.h"

static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

/* Push n data slots of one 60-byte-per-slot frame; with answer, collect n ERROR answers. */
static int slots(struct nt_front *f, unsigned int n, bool answer)
{
	struct netif_tx_response rsp[32];

	nt_frame(f->txp, 64, nt_peer, nt_mac, 1);
	for (unsigned int i = 0; i < n; i++) {
		struct netif_tx_request *r = nt_tx_slot(f);

		T_CHECK(r, "ring full");
		*r = (struct netif_tx_request){ .gref = f->txr[0],
						.flags = i + 1 < n ? NETTXF_more_data : 0,
						.id = (uint16_t)(100 + i),
						.size = (uint16_t)(i ? 60 : 60 * n) };
	}
	if (!answer) {
		if (ring_front_push(&f->tx) > 0)
			T_CHECK(hv_evtchn_notify(f->hv, f->port) == 0, "notify");
		return 0;
	}
	T_CHECK(nt_tx_run(f, rsp, n) == 0, "answers");
	for (unsigned int i = 0; i < n; i++)
		T_CHECK(rsp[i].status == NETIF_RSP_ERROR, "slot %u answered %d", i, rsp[i].status);
	return 0;
}

static int guest(void *arg)
{
	struct nt_front f;
	int16_t st = NETIF_RSP_OKAY;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	T_CHECK(nt_rx_post(&f, 0, NT_RX_PAGES) == 0, "post");
	T_CHECK(slots(&f, NETBACK_TX_SLOTS_FATAL - 1, true) == 0, "20 slots");
	nt_frame(want, 60, nt_peer, nt_mac, 7);
	T_CHECK(nt_tx_frame(&f, want, 60, 4000, NULL, &st) == 0, "a good frame after it");
	T_CHECK(nt_step('T') == 0, "dom0 saw the good frame");
	T_CHECK(slots(&f, NETBACK_TX_SLOTS_FATAL, false) == 0, "21 slots");
	return nt_step('C');
}

static int dom0(int pkt)
{
	ssize_t n;

	T_CHECK(nt_step_wait() == 'T', "guest step");
	nt_frame(want, 60, nt_peer, nt_mac, 7);
	n = nt_pkt_recv(pkt, buf, sizeof(buf));
	T_CHECK(n == 60 && !memcmp(buf, want, 60), "the good frame: %zd bytes, or others", n);
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'C', "guest step");
	nt_step_ack(true);
	return 0;
}

int main(void)
{
	struct nt_result res;
	int rc = nt_setup();

	if (rc)
		return rc;
	T_CHECK(nt_run(guest, dom0, false, &res) == 0, "run");
	T_CHECK(res.serve == -EPROTO, "a frame of %u slots gave %d, not -EPROTO",
		NETBACK_TX_SLOTS_FATAL, res.serve);
	T_CHECK(res.st.tx_packets == 1 && res.st.tx_too_many_slots == 2,
		"tx_packets %llu, too many slots %llu", (unsigned long long)res.st.tx_packets,
		(unsigned long long)res.st.tx_too_many_slots);
	return 0;
}
