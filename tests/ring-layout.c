/*
 * ring-layout: the generic ring is bit-for-bit Xen's blkif_sring_t for ring-page-order 0..4, and
 * it interoperates with Xen's own RING_* macros in both directions.
 */
#include "config.h"

#include <errno.h>

#include "tests/ring-test.h"

/* Entry counts, argument checks and the header SHARED_RING_INIT would write. */
static void check_geometry(unsigned int order)
{
	struct ring_shared *mine = t_ring_alloc(order), *xen_copy = t_ring_alloc(order);
	blkif_sring_t *xs = (blkif_sring_t *)xen_copy;
	struct ring_front rf;
	size_t i, len = ring_bytes(order);

	T_ASSERT(len == (size_t)4096 << order, "order %u: ring_bytes %zu", order, len);
	T_ASSERT(ring_nr_ents(order, sizeof(union blkif_sring_entry)) == 32 << order &&
		     (32 << order) == (int)__CONST_RING_SIZE(blkif, len) &&
		     (32 << order) == (int)__RING_SIZE(xs, len),
		 "order %u: blkif entry count is not %d", order, 32 << order);
	T_ASSERT(ring_blkif_front_init(&rf, mine, order) == 0, "order %u: front init", order);
	T_ASSERT(rf.nr_ents == 32u << order && rf.entry_size == 112, "order %u: front geometry",
		 order);
	SHARED_RING_INIT(xs);
	T_ASSERT(memcmp(mine, xs, RING_HDR_SIZE) == 0, "order %u: header differs from Xen's",
		 order);
	for (i = RING_HDR_SIZE; i < len; i++)
		T_ASSERT(((uint8_t *)mine)[i] == 0, "order %u: byte %zu not zeroed by init", order,
			 i);
	free(mine);
	free(xen_copy);
}

/* Arguments the helpers must refuse. */
static void check_bad_arguments(void)
{
	struct ring_shared *s = t_ring_alloc(0);
	struct ring_back rb;

	T_ASSERT(ring_bytes(RING_ORDER_MAX + 1) == 0, "order 5 has a size");
	T_ASSERT(ring_nr_ents(RING_ORDER_MAX + 1, 16) == -EINVAL, "order 5 accepted");
	T_ASSERT(ring_nr_ents(0, 0) == -EINVAL, "entry size 0 accepted");
	T_ASSERT(ring_nr_ents(0, 4096 - 63) == -EINVAL, "an entry larger than a page accepted");
	T_ASSERT(ring_nr_ents(0, 4096 - 64) == 1, "a one-entry ring refused");
	T_ASSERT(ring_back_attach(&rb, (uint8_t *)s + 4, 0, 112, 16) == -EINVAL, "misaligned ring");
	T_ASSERT(ring_back_attach(&rb, NULL, 0, 112, 16) == -EINVAL, "NULL ring accepted");
	T_ASSERT(ring_back_attach(&rb, s, 0, 0, 16) == -EINVAL, "request size 0 accepted");
	free(s);
}

/*
 * Requests from Xen's FRONT_RING macros, consumed and answered by ring_back_*.  Each side goes
 * idle through its final check every round, so every push must ask for a notification.
 */
static void xen_front_to_my_back(unsigned int order, uint32_t total)
{
	blkif_sring_t *xs = (blkif_sring_t *)t_ring_alloc(order);
	blkif_front_ring_t xf;
	struct ring_back rb;
	blkif_request_t req[7];
	uint32_t sent = 0, got = 0, done = 0;
	int n, i, notify;

	XEN_FRONT_RING_INIT(&xf, xs, ring_bytes(order));
	T_ASSERT(ring_blkif_back_attach(&rb, xs, order) == 0, "order %u: back attach", order);
	while (done < total) {
		while (sent < total && !RING_FULL(&xf))
			t_blkif_req_fill(RING_GET_REQUEST(&xf, xf.req_prod_pvt++), sent++);
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&xf, notify);
		T_ASSERT(notify, "order %u: Xen front not told to notify after our final check",
			 order);
		while ((n = ring_back_consume(&rb, req, 7)) > 0) {
			for (i = 0; i < n; i++, got++) {
				blkif_response_t *rsp = ring_back_rsp_slot(&rb);

				T_ASSERT(t_blkif_req_ok(&req[i], got), "request %u garbled", got);
				T_ASSERT(rsp == RING_GET_RESPONSE(&xf, rb.rsp_prod_pvt - 1),
					 "response slot %u is not where Xen puts it", got);
				t_blkif_rsp_fill(rsp, &req[i]);
			}
		}
		T_ASSERT(n == 0, "order %u: consume failed: %d", order, n);
		T_ASSERT(ring_back_final_check(&rb) == 0, "order %u: back not idle", order);
		T_ASSERT(ring_back_push(&rb) == 1, "order %u: Xen front's rsp_event ignored",
			 order);
		for (; RING_HAS_UNCONSUMED_RESPONSES(&xf); done++) {
			blkif_response_t *rsp = RING_GET_RESPONSE(&xf, xf.rsp_cons++);

			T_ASSERT(t_blkif_rsp_ok(rsp, done), "Xen front: response %u garbled", done);
			/* XSA-216: the response's padding (bytes 9 and 12..15) reached us zeroed.
			 */
			T_ASSERT(((uint8_t *)rsp)[9] == 0 && ((uint32_t *)rsp)[3] == 0,
				 "response %u leaks padding", done);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&xf, n);
		T_ASSERT(!n, "order %u: Xen front not idle", order);
	}
	free(xs);
}

/* Requests from ring_front_*, consumed and answered by Xen's BACK_RING macros, likewise. */
static void my_front_to_xen_back(unsigned int order, uint32_t total)
{
	blkif_sring_t *xs = (blkif_sring_t *)t_ring_alloc(order);
	blkif_back_ring_t xb;
	struct ring_front rf;
	blkif_response_t rsp[5];
	blkif_request_t req;
	uint32_t sent = 0, done = 0;
	int n, i, notify;

	T_ASSERT(ring_blkif_front_init(&rf, xs, order) == 0, "order %u: front init", order);
	BACK_RING_INIT(&xb, xs, ring_bytes(order));
	while (done < total) {
		while (sent < total && ring_front_free(&rf) > 0) {
			blkif_request_t *slot = ring_front_req_slot(&rf);

			T_ASSERT(slot == RING_GET_REQUEST(&xb, rf.req_prod_pvt - 1),
				 "request slot %u is not where Xen puts it", sent);
			t_blkif_req_fill(slot, sent++);
		}
		T_ASSERT(ring_front_push(&rf) == 1, "order %u: Xen back's req_event ignored",
			 order);
		while (RING_HAS_UNCONSUMED_REQUESTS(&xb)) {
			RING_COPY_REQUEST(&xb, xb.req_cons++, &req);
			t_blkif_rsp_fill(RING_GET_RESPONSE(&xb, xb.rsp_prod_pvt++), &req);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&xb, n);
		T_ASSERT(!n, "order %u: Xen back not idle", order);
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&xb, notify);
		T_ASSERT(notify, "order %u: Xen back not told to notify after our final check",
			 order);
		while ((n = ring_front_consume(&rf, rsp, 5)) > 0)
			for (i = 0; i < n; i++, done++)
				T_ASSERT(t_blkif_rsp_ok(&rsp[i], done), "response %u garbled",
					 done);
		T_ASSERT(n == 0, "order %u: front consume failed: %d", order, n);
		T_ASSERT(ring_front_final_check(&rf) == 0, "order %u: front not idle", order);
	}
	free(xs);
}

/*
 * The back end's mark sits in the last 8 bytes of Xen's __pad (page offset 56), touches no
 * index or entry, and Xen's SHARED_RING_INIT (a front setting its ring up anew) zeroes it.
 */
static void check_mark(void)
{
	struct ring_shared *s = t_ring_alloc(0);
	blkif_sring_t *xs = (blkif_sring_t *)s;
	const uint64_t mark = 0x0123456789abcdefull;
	struct ring_back rb;
	uint8_t before[4096];
	uint64_t at56;

	SHARED_RING_INIT(xs);
	T_ASSERT(ring_blkif_back_attach(&rb, s, 0) == 0, "back attach");
	T_ASSERT(ring_back_mark(&rb) == 0, "a fresh ring's mark is not 0");
	memcpy(before, s, sizeof(before));
	ring_back_mark_set(&rb, mark);
	memcpy(&at56, (uint8_t *)s + 56, 8);
	T_ASSERT(at56 == mark && ring_back_mark(&rb) == mark, "mark not at offset 56");
	T_ASSERT(memcmp(before, s, 56) == 0 &&
		     memcmp(before + 64, (uint8_t *)s + 64, 4096 - 64) == 0,
		 "the mark touched more than its 8 bytes");
	SHARED_RING_INIT(xs);
	T_ASSERT(ring_back_mark(&rb) == 0, "SHARED_RING_INIT left the mark");
	free(s);
}

int main(void)
{
	unsigned int order;

	t_time_limit(T_TIME_LIMIT_S);
	check_bad_arguments();
	check_mark();
	for (order = 0; order <= RING_ORDER_MAX; order++) {
		check_geometry(order);
		/* Several trips round the ring, in batches that do not divide its size. */
		xen_front_to_my_back(order, (32u << order) * 3 + 11);
		my_front_to_xen_back(order, (32u << order) * 3 + 11);
	}
	return 0;
}
