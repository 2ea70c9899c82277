/* SPDX-License-Identifier: MIT */
/*
 * netfront-rx-fuzz: a libFuzzer target for libpvio-netfront's receive path (frontend/net/rx.c)
 * as a hostile back-end drives it.  The input is rounds: a control byte (low five bits: how many
 * responses follow, 8 bytes each, written into the shared ring as they come: netif_rx_response
 * or netif_extra_info; top bit: a 4-byte rsp_prod follows instead of the honest one), then the
 * front (offloads on: a virtio-net header before each frame, TCP GSO accepted) takes every
 * frame it can and posts its buffers again.  Every frame taken must hold 14..NETFRONT_FRAME_MAX
 * bytes after its header; a broken protocol must stop the queue with -EPROTO, never crash,
 * overrun or loop.  Built and run by tests/netfront-rx-fuzz.sh.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdlib.h>
#include <string.h>

#include <xen/io/netif.h>

#include "frontend/net/rx.h"

#define PAGE 4096u

static uint8_t sring[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pages[NF_RING * PAGE];
static grant_ref_t refs[NF_RING];
static struct nf_rx rx;
static uint8_t out[NETFRONT_FRAME_MAX];

/* Take every whole frame: 0 to go on, -1 once the queue stopped. */
static int drain(void)
{
	ssize_t n;

	while ((n = nf_rx_take(&rx, out, sizeof(out))) > 0)
		if (n < (ssize_t)NETFRONT_VNET_HDR_LEN + 14 ||
		    n > (ssize_t)(NETFRONT_VNET_HDR_LEN + NETFRONT_FRAME_MAX))
			abort();
	if (n != -EAGAIN && n != -EPROTO)
		abort();
	if (n == -EPROTO && !rx.broken)
		abort();
	return n == -EPROTO || ring_front_push(&rx.ring) < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct netif_rx_sring *s = (struct netif_rx_sring *)sring;

	/* Everything but the frame buffer, which only ever holds frame_len bytes. */
	memset(&rx, 0, offsetof(struct nf_rx, frame));
	memset(&rx.frame_len, 0, sizeof(rx) - offsetof(struct nf_rx, frame_len));
	/* Offloads on: GSO extra info and csum_blank reach the virtio-net header. */
	rx.vnet = true;
	rx.gso_ok = NETFRONT_OFFLOAD_TSO4 | NETFRONT_OFFLOAD_TSO6;
	for (unsigned int i = 0; i < NF_RING; i++)
		refs[i] = 8 + i;
	if (nf_rx_init(&rx, sring, pages, refs) || ring_front_push(&rx.ring) < 0)
		abort();
	while (n > 0) {
		unsigned int k = d[0] & 31u;
		RING_IDX prod = s->rsp_prod;
		bool lie = d[0] & 0x80u;

		d++, n--;
		for (unsigned int j = 0; j < k && n >= 8; j++, d += 8, n -= 8)
			memcpy(&s->ring[prod++ % NF_RING].rsp, d, 8);
		if (lie && n >= 4) {
			memcpy(&prod, d, 4);
			d += 4, n -= 4;
		}
		s->rsp_prod = prod;
		if (drain())
			break;
	}
	return 0;
}
