/*
 * ring-blkif: compile-time proof that ring/ring.c lays rings out exactly as DEFINE_RING_TYPES
 * does, checked against Xen's own blkif and netif types, and typed attach/init for blkif.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h> /* Xen's public headers expect it first */

#include "ring/barrier.h"
#include <xen/io/blkif.h>
#include <xen/io/netif.h>

#include "ring/ring.h"

#define RING_MAX_SIZE(a, b) ((a) > (b) ? (a) : (b))

/* One header field of Xen's struct tag##_sring sits where ours does. */
#define RING_CHECK_FIELD(tag, xen, ours)                                                           \
	_Static_assert(offsetof(struct tag##_sring, xen) == offsetof(struct ring_shared, ours),    \
		       #tag ": " #xen " differs from Xen's")

/* The header: the four indices, Xen's pvt union and pad, then the entries at byte 64. */
#define RING_CHECK_HEADER(tag)                                                                     \
	RING_CHECK_FIELD(tag, req_prod, req_prod);                                                 \
	RING_CHECK_FIELD(tag, req_event, req_event);                                               \
	RING_CHECK_FIELD(tag, rsp_prod, rsp_prod);                                                 \
	RING_CHECK_FIELD(tag, rsp_event, rsp_event);                                               \
	RING_CHECK_FIELD(tag, pvt, pvt);                                                           \
	RING_CHECK_FIELD(tag, __pad, pad);                                                         \
	RING_CHECK_FIELD(tag, ring, entries)

/* An entry is the union of request and response: as large as the larger of the two. */
#define RING_CHECK_ENTRY(tag, req, rsp)                                                            \
	_Static_assert(sizeof(union tag##_sring_entry) == RING_MAX_SIZE(sizeof(req), sizeof(rsp)), \
		       #tag ": entry size is not max(request, response)")

RING_CHECK_HEADER(blkif);
RING_CHECK_ENTRY(blkif, struct blkif_request, struct blkif_response);
RING_CHECK_HEADER(netif_tx);
RING_CHECK_ENTRY(netif_tx, struct netif_tx_request, struct netif_tx_response);
RING_CHECK_HEADER(netif_rx);
RING_CHECK_ENTRY(netif_rx, struct netif_rx_request, struct netif_rx_response);

/* blkif's documented sizes in the 64-bit ABIs (x86_64 and arm64 agree). */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(blkif_request_t) == 112, "blkif request is 112 bytes");
_Static_assert(sizeof(blkif_response_t) == 16, "blkif response is 16 bytes");
_Static_assert(__CONST_RING_SIZE(blkif, RING_PAGE_SIZE) == 32, "1-page blkif ring has 32");
_Static_assert(__CONST_RING_SIZE(blkif, RING_PAGE_SIZE << RING_ORDER_MAX) == 512,
	       "16-page blkif ring has 512");
#endif

int ring_blkif_back_attach(struct ring_back *rb, void *sring, unsigned int order)
{
	return ring_back_attach(rb, sring, order, sizeof(blkif_request_t),
				sizeof(blkif_response_t));
}

int ring_blkif_front_init(struct ring_front *rf, void *sring, unsigned int order)
{
	return ring_front_init(rf, sring, order, sizeof(blkif_request_t), sizeof(blkif_response_t));
}
