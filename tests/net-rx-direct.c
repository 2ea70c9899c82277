/* SPDX-License-Identifier: MIT */
/*
 * net-rx-direct: on the embedded hypervisor, where a map is cheap, netback reads a frame that
 * follows one of more than a page with its first page into its own buffer and the rest straight
 * into the guest's posted buffers, chosen around as many extra-info slots as the frame before
 * had.  dom0 sends a sequence that takes every branch of that: a jumbo frame read through the
 * buffer (nothing big before it), one read straight in, a TCPv4 GSO frame read around no extra
 * slot that must be moved after all (it has the GSO one), a 60000-byte GSO frame read straight
 * into fifteen buffers, a small frame offered the guest's pages and not reaching them, two jumbo
 * frames after it and a small one last; the guest receives every frame byte-exact, with its slot
 * count and GSO extra info, and netback counts 3 frames read straight in and 1 moved.  Then the
 * guest ends its RX buffers' grants: netback, which maps a buffer only until its frame is
 * answered, holds none of them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/net-test.h"

/* The frames dom0 sends, in order: length, and whether a TCPv4 GSO frame. */
static const struct {
	size_t len;
	bool gso;
} seq[] = {
	{ 9000, false }, /* through rxbuf: no frame before it */
	{ 9000, false }, /* straight in, around no extra slot */
	{ 9000, true },	 /* offered around none, needs the GSO one: moved */
	{ 60000, true }, /* straight in, around the GSO slot, fifteen buffers */
	{ 60, false },	 /* offered, reaches no guest page */
	{ 9000, false }, /* through rxbuf: a small frame before it */
	{ 9000, false }, /* straight in */
	{ 60, false },	 /* offered, reaches no guest page: the last read offers none */
};
#define NSEQ	 (sizeof(seq) / sizeof(seq[0]))
#define DIRECT	 3u
#define MOVED	 1u
#define GSO_SIZE 1448u

static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

static void make(unsigned int i)
{
	if (seq[i].gso)
		nt_tcp_frame(want, seq[i].len, nt_mac, nt_peer);
	else
		nt_frame(want, seq[i].len, nt_mac, nt_peer, 500 + i);
}

static int guest(void *arg)
{
	struct nt_front f;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	T_CHECK(nt_rx_post(&f, 0, NT_RX_PAGES) == 0, "post");
	T_CHECK(nt_step('R') == 0, "dom0 sent the frames");
	for (unsigned int i = 0; i < NSEQ; i++) {
		struct netif_extra_info x;
		unsigned int slots;
		uint16_t flags;
		size_t len;

		T_CHECK(nt_rx_frame(&f, buf, &len, &flags, &slots, &x) == 0, "RX %u", i);
		make(i);
		T_CHECK(len == seq[i].len && !memcmp(buf, want, len),
			"frame %u: %zu bytes, want %zu, or different bytes", i, len, seq[i].len);
		T_CHECK(slots == (len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE, "frame %u: %u slots", i,
			slots);
		if (seq[i].gso)
			T_CHECK(x.type == XEN_NETIF_EXTRA_TYPE_GSO &&
				    x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 &&
				    x.u.gso.size == GSO_SIZE,
				"frame %u: GSO extra type %u gso type %u size %u", i, x.type,
				x.u.gso.type, x.u.gso.size);
		else
			T_CHECK(x.type == 0, "frame %u: an extra of type %u", i, x.type);
	}
	/* Every frame is answered, the last a small one: netback maps none of the buffers. */
	T_CHECK(hv_grant_end(f.hv, f.rxp, NT_RX_PAGES) == 0,
		"the back-end still maps an RX buffer after answering");
	return nt_step('D');
}

static int dom0(int pkt)
{
	T_CHECK(nt_step_wait() == 'R', "guest step");
	for (unsigned int i = 0; i < NSEQ; i++) {
		make(i);
		if (seq[i].gso)
			T_CHECK(nt_pkt_send_gso(pkt, want, seq[i].len, GSO_SIZE) == 0, "send %u",
				i);
		else
			T_CHECK(nt_pkt_send(pkt, want, seq[i].len) == 0, "send %u", i);
	}
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'D', "guest step");
	nt_step_ack(true);
	return 0;
}

int main(void)
{
	struct nt_result res;
	const struct netback_stats *s = &res.st;
	int rc;

	nt.rx_sg = true;
	nt.rx_gso = true;
	if ((rc = nt_main(guest, dom0, &res)))
		return rc;
	T_CHECK(s->rx_packets == NSEQ && s->rx_bad_grant == 0, "rx_packets %llu bad grant %llu",
		(unsigned long long)s->rx_packets, (unsigned long long)s->rx_bad_grant);
	T_CHECK(s->rx_direct == DIRECT && s->rx_direct_missed == MOVED,
		"rx_direct %llu (want %u), rx_direct_missed %llu (want %u)",
		(unsigned long long)s->rx_direct, DIRECT, (unsigned long long)s->rx_direct_missed,
		MOVED);
	printf("net-rx-direct: %zu frames byte-exact, %u read straight into the guest's buffers, "
	       "%u moved\n",
	       NSEQ, DIRECT, MOVED);
	return 0;
}
