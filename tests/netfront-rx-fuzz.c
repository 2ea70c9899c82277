/* SPDX-License-Identifier: MIT */
/*
 * netfront-rx-fuzz: a libFuzzer target for libpvio-netfront's receive path (frontend/net/rx.c)
 * as a hostile back-end drives it.  The input is rounds: a control byte (low five bits: how many
 * responses follow, 8 bytes each, written into the shared ring as they come: netif_rx_response
 * or netif_extra_info; bit 6: take the frames as iovecs (nf_rx_take_iov) instead of copies;
 * top bit: a 4-byte rsp_prod follows instead of the honest one), then the front (offloads on:
 * a virtio-net header before each frame, TCP GSO accepted) takes every frame it can and posts
 * its buffers again.  Every frame taken must hold 14..NETFRONT_FRAME_MAX bytes after its
 * header, an iovec lie inside the RX pages or the front's own copies; a broken protocol must
 * stop the queue with -EPROTO, never crash, overrun or loop.  Built and run by
 * tests/netfront-rx-fuzz.sh.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <xen/io/netif.h>

#include "frontend/net/rx.h"

#define PAGE 4096u

static uint8_t sring[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pages[NF_RING * PAGE];
static grant_ref_t refs[NF_RING];
static struct nf_rx rx;
static uint8_t out[NETFRONT_VNET_HDR_LEN + NETFRONT_FRAME_MAX];

/* The next frame as iovecs, checked and gathered into out, then released: its length. */
static ssize_t take_iov(void)
{
	struct virtio_net_hdr h;
	struct iovec iov[NF_RX_IOV];
	int n = nf_rx_take_iov(&rx, &h, iov);
	size_t len = 0;

	if (n < 0)
		return n;
	if (n < 2 || n > (int)NF_RX_IOV || iov[0].iov_base != &h || iov[0].iov_len != sizeof(h) ||
	    iov[1].iov_base != rx.head || iov[1].iov_len > NF_RX_HEAD)
		abort();
	for (int i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;

		if (i >= 2 &&
		    (b < pages || b + iov[i].iov_len > pages + sizeof(pages) ||
		     (size_t)(b - pages) / PAGE != (size_t)(b - pages + iov[i].iov_len - 1) / PAGE))
			abort(); /* outside the RX pages, or across two */
		if (len + iov[i].iov_len > sizeof(out))
			abort();
		memcpy(out + len, b, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	nf_rx_release(&rx);
	return (ssize_t)len;
}

/* Take every whole frame: 0 to go on, -1 once the queue stopped. */
static int drain(bool iov)
{
	ssize_t n;

	while ((n = iov ? take_iov() : nf_rx_take(&rx, out, sizeof(out))) > 0)
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

	/* Everything but the head and the slots, which only ever hold what frame_len says. */
	memset(&rx, 0, offsetof(struct nf_rx, head));
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
		bool lie = d[0] & 0x80u, iov = d[0] & 0x40u;

		d++, n--;
		for (unsigned int j = 0; j < k && n >= 8; j++, d += 8, n -= 8)
			memcpy(&s->ring[prod++ % NF_RING].rsp, d, 8);
		if (lie && n >= 4) {
			memcpy(&prod, d, 4);
			d += 4, n -= 4;
		}
		s->rsp_prod = prod;
		if (drain(iov))
			break;
	}
	return 0;
}
