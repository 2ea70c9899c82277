/* SPDX-License-Identifier: MIT */
/*
 * tx-fuzz.c - a libFuzzer target for netback's TX path (tx.c, through netback_queue_process):
 * a hostile front writes TX request slots, extra-info slots included, into the shared ring, in
 * batches, over four granted pages, and netback answers them.  Built and run by
 * tests/net-tx-fuzz.sh, not by make: the hypervisor here is a stub of the few hv_* calls the
 * data plane makes (grant map of the two rings and of the four pages, grant copy from them,
 * notify), and
 * frames go to /dev/null as the TAP.
 *
 * Input: byte 0 flags (bit 0: corrupt req_prod at the end; bit 1: GSO and csum offloads on a
 * TCP page; bit 2: maps are cheap, so frames are written from mapped pages), byte 1 the batch size
 * (slots published between two calls), then up to 255 slots of 12 bytes (struct netif_tx_request,
 * or a struct netif_extra_info where the front means one; the grant reference taken modulo 8, where
 * 0..3 are granted), then the first page's bytes.
 *
 * Checked beyond the sanitizers: every response answers a slot the front published, in ring
 * order, with a status netif.h defines; no page stays mapped once netback returns; a well-formed
 * ring is never called broken; once the front stops, a frame the ring holds whole is answered
 * whole.  Multicast extras edit a real filter (mcast.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/net/netback-priv.h"

#define NPAGES	4u
#define TX_REF	100u
#define RX_REF	101u
#define MAXREQ	255u
#define REQSIZE sizeof(struct netif_tx_request)

static uint8_t tx_ring[HV_PAGE_SIZE] __attribute__((aligned(HV_PAGE_SIZE)));
static uint8_t rx_ring[HV_PAGE_SIZE] __attribute__((aligned(HV_PAGE_SIZE)));
static uint8_t pages[NPAGES][HV_PAGE_SIZE];

/* ---- the hypervisor, as much of it as the data plane calls ---- */

/* Set per input: frames go through mapped pages (tx_map) or grant copy. */
static bool maps_cheap;

bool hv_grant_map_cheap(struct hv *hv)
{
	(void)hv;
	return maps_cheap;
}

/* Maps of the four pages not yet unmapped: none once a frame is answered. */
static unsigned int page_maps;

/* The two rings, and the four pages as netback maps them for a frame. */
int hv_grant_map(struct hv *hv, domid_t granter, unsigned int count, const grant_ref_t *refs,
		 bool writable, void **addr)
{
	(void)hv, (void)granter, (void)writable;
	if (count != 1)
		return -EINVAL;
	if (refs[0] < NPAGES)
		*addr = pages[refs[0]], page_maps++;
	else if (refs[0] == TX_REF || refs[0] == RX_REF)
		*addr = refs[0] == TX_REF ? tx_ring : rx_ring;
	else
		return -EINVAL;
	return 0;
}

int hv_grant_unmap(struct hv *hv, void *addr, unsigned int count)
{
	(void)hv, (void)count;
	if ((uint8_t *)addr >= pages[0] && (uint8_t *)addr < pages[NPAGES]) {
		if (!page_maps)
			abort(); /* unmapped twice */
		page_maps--;
	}
	return 0;
}

/* Copies from (or into) the four pages, checked as Xen checks them. */
int hv_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs)
{
	(void)hv;
	for (unsigned int i = 0; i < count; i++) {
		struct hv_copy_seg *s = &segs[i];
		bool from = s->flags & GNTCOPY_source_gref;
		const union hv_copy_ptr *g = from ? &s->source : &s->dest;

		if (g->foreign.ref >= NPAGES) {
			s->status = GNTST_bad_gntref;
			continue;
		}
		if (g->foreign.offset + s->len > HV_PAGE_SIZE) {
			s->status = GNTST_bad_copy_arg;
			continue;
		}
		if (from)
			memcpy(s->dest.virt, pages[g->foreign.ref] + g->foreign.offset, s->len);
		else
			memcpy(pages[g->foreign.ref] + g->foreign.offset, s->source.virt, s->len);
		s->status = GNTST_okay;
	}
	return 0;
}

int hv_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return 0;
}

/* ---- the front ---- */

static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0, 0, 1 };

/* Pages 1..3: a TCPv4 frame from the vif (for the offloads) or a plain one. */
static void pages_fill(bool tcp)
{
	for (unsigned int p = 1; p < NPAGES; p++) {
		uint8_t *b = pages[p];

		memset(b, (int)p, HV_PAGE_SIZE);
		memset(b, 0xff, 6);
		memcpy(b + 6, mac, 6);
		b[12] = tcp ? 0x08 : 0x88, b[13] = tcp ? 0x00 : 0xb5;
		if (!tcp)
			continue;
		memset(b + 14, 0, 40);
		b[14] = 0x45, b[23] = 6, b[34 + 12] = 5 << 4;
	}
}

/* Take the responses so far: every one must answer a slot published, with a known status. */
static unsigned int responses(struct ring_front *rf, unsigned int published, unsigned int got)
{
	struct netif_tx_response rsp[64];
	int n;

	while ((n = ring_front_consume(rf, rsp, 64)) > 0) {
		for (int i = 0; i < n; i++)
			if (rsp[i].status != NETIF_RSP_OKAY && rsp[i].status != NETIF_RSP_ERROR &&
			    rsp[i].status != NETIF_RSP_DROPPED && rsp[i].status != NETIF_RSP_NULL)
				abort();
		got += (unsigned int)n;
		if (got > published)
			abort();
	}
	if (n < 0)
		abort();
	return got;
}

/* Run the back until it has nothing to do: its last result. */
static int serve(struct netback_queue *q)
{
	int rc;

	while ((rc = netback_queue_process(q)) == 1)
		;
	if (page_maps) /* a frame's pages still mapped after its answer */
		abort();
	return rc;
}

static void run(const uint8_t *data, size_t size, struct netback_queue *q, struct ring_front *rf)
{
	unsigned int nreq = (unsigned int)((size - 2) / REQSIZE), batch = data[1] ? data[1] : 1;
	unsigned int published = 0, got = 0;
	const uint8_t *req = data + 2;
	int rc = 0;

	if (nreq > MAXREQ)
		nreq = MAXREQ;
	memcpy(pages[0], req + nreq * REQSIZE,
	       size - 2 - nreq * REQSIZE > HV_PAGE_SIZE ? HV_PAGE_SIZE : size - 2 - nreq * REQSIZE);
	while (published < nreq && rc == 0) {
		for (unsigned int i = 0; i < batch && published < nreq; i++, published++) {
			struct netif_tx_request *slot = ring_front_req_slot(rf);

			if (!slot)
				abort(); /* 255 slots fit a 256-entry ring */
			memcpy(slot, req + published * REQSIZE, REQSIZE);
			slot->gref &= 7;
		}
		if (ring_front_push(rf) < 0)
			abort();
		rc = serve(q);
		got = responses(rf, published, got);
	}
	/*
	 * Only a corrupt index breaks the ring, and the front wrote none; or a frame of
	 * NETBACK_TX_SLOTS_FATAL data slots fails the queue, which netback says, having gathered
	 * them: then nothing more is checked of it.
	 */
	if (rc == -EPROTO && q->txf.nseen >= NETBACK_TX_SLOTS_FATAL)
		return;
	if (rc < 0)
		abort();
	if (data[0] & 1) {
		/* More requests than the ring holds. */
		((struct ring_shared *)tx_ring)->req_prod += 0x101u + data[1];
		if (serve(q) != -EPROTO)
			abort();
		return;
	}
	/* A frame left open at the end waits for its next slot; every earlier one is answered. */
	if (!q->txf.nordered && !q->txf.want_extra && !q->txf.discarding && got != published)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int tap = -1;
	struct netback_queue_params p = { .frontend = 1,
					  .tx_ref = TX_REF,
					  .rx_ref = RX_REF,
					  .tx_port = 1,
					  .rx_port = 1,
					  .name = "fuzz",
					  .log = pvio_log_stderr(PVIO_LOG_ERROR) };
	struct netback_queue *q;
	struct ring_front tx, rx;
	struct netback_mcast mc; /* MCAST_ADD / _DEL extras edit it, as a vif's */

	if (size < 2)
		return 0;
	netback_mcast_init(&mc, true);
	p.mcast = &mc;
	if (tap < 0 && (tap = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	p.tap_fd = tap;
	memcpy(p.mac, mac, 6);
	pages_fill(data[0] & 2);
	maps_cheap = data[0] & 4;
	if (ring_front_init(&tx, tx_ring, 0, REQSIZE, sizeof(struct netif_tx_response)) ||
	    ring_front_init(&rx, rx_ring, 0, sizeof(struct netif_rx_request),
			    sizeof(struct netif_rx_response)) ||
	    netback_queue_attach(&q, (struct hv *)&tap, &p))
		abort();
	run(data, size, q, &tx);
	netback_queue_detach(q);
	netback_mcast_fini(&mc);
	return 0;
}
