/*
 * Helpers shared by the tests/ring-*.c programs: exactly-sized ring memory (so that ASan catches
 * any access past the ring) and blkif requests with a sequence number.  Checks are T_ASSERT
 * (tests/helpers.h).
 */
#ifndef PVIO_TESTS_RING_TEST_H
#define PVIO_TESTS_RING_TEST_H

#include <stdint.h> /* before Xen's public headers, which expect it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/barrier.h"
#include <xen/io/blkif.h>

#include "ring/ring.h"
#include "tests/helpers.h"

/* Exactly ring_bytes(order) bytes, page-aligned, filled with junk rather than zeroes. */
static inline struct ring_shared *t_ring_alloc(unsigned int order)
{
	size_t len = ring_bytes(order);
	void *p = len ? aligned_alloc(RING_PAGE_SIZE, len) : NULL;

	T_ASSERT(p, "cannot allocate a ring of order %u", order);
	memset(p, 0xa5, len);
	return p;
}

/* Fill a blkif request slot field by field from a sequence number. */
static inline void t_blkif_req_fill(blkif_request_t *req, uint32_t seq)
{
	req->operation = (uint8_t)(seq % 3 ? BLKIF_OP_READ : BLKIF_OP_WRITE);
	req->nr_segments = (uint8_t)(seq % (BLKIF_MAX_SEGMENTS_PER_REQUEST + 1));
	req->handle = 0x51;
	req->id = 0x100000000ull + seq;
	req->sector_number = (uint64_t)seq * 8;
	req->seg[0].gref = seq ^ 0xdeadbeef;
}

/* Whether a copied request is the one t_blkif_req_fill made for seq. */
static inline int t_blkif_req_ok(const blkif_request_t *req, uint32_t seq)
{
	return req->operation == (seq % 3 ? BLKIF_OP_READ : BLKIF_OP_WRITE) &&
	       req->nr_segments == seq % (BLKIF_MAX_SEGMENTS_PER_REQUEST + 1) &&
	       req->handle == 0x51 && req->id == 0x100000000ull + seq &&
	       req->sector_number == (uint64_t)seq * 8 && req->seg[0].gref == (seq ^ 0xdeadbeef);
}

/* Fill a blkif response slot field by field, answering a request. */
static inline void t_blkif_rsp_fill(blkif_response_t *rsp, const blkif_request_t *req)
{
	rsp->id = req->id;
	rsp->operation = req->operation;
	rsp->status = BLKIF_RSP_OKAY;
}

/* Whether a copied response answers the request t_blkif_req_fill made for seq. */
static inline int t_blkif_rsp_ok(const blkif_response_t *rsp, uint32_t seq)
{
	return rsp->id == 0x100000000ull + seq &&
	       rsp->operation == (seq % 3 ? BLKIF_OP_READ : BLKIF_OP_WRITE) &&
	       rsp->status == BLKIF_RSP_OKAY;
}

#endif /* PVIO_TESTS_RING_TEST_H */
