/*
 * ring-overrun: hostile producer indices are refused without reading out of bounds (the rings
 * are allocated to the byte, so ASan would catch a stray access), the ring stays broken, and
 * neither end can produce more than the protocol allows.
 */
#include "config.h"

#include <errno.h>

#include "tests/ring-test.h"

/* A fresh ring of this order, with both ends attached. */
static struct ring_shared *pair(unsigned int order, struct ring_front *rf, struct ring_back *rb)
{
	struct ring_shared *s = t_ring_alloc(order);

	T_ASSERT(ring_blkif_front_init(rf, s, order) == 0, "order %u: front init", order);
	T_ASSERT(ring_blkif_back_attach(rb, s, order) == 0, "order %u: back attach", order);
	return s;
}

/* Publish n requests from the front. */
static void publish(struct ring_front *rf, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		T_ASSERT(ring_front_req_slot(rf), "no request slot for %u", i);
	T_ASSERT(ring_front_push(rf) >= 0, "front push");
}

/* Every back-end call now fails, and the shared ring is left alone. */
static void check_back_broken(struct ring_back *rb, const char *what)
{
	struct ring_shared *s = rb->sring;
	uint32_t rsp_prod = s->rsp_prod, req_event = s->req_event;
	blkif_request_t req[4];

	T_ASSERT(rb->broken, "%s: ring not marked broken", what);
	T_ASSERT(ring_back_consume(rb, req, 4) == -EPROTO, "%s: consume again", what);
	T_ASSERT(ring_back_rsp_slot(rb) == NULL, "%s: response slot handed out", what);
	T_ASSERT(ring_back_push(rb) == -EPROTO, "%s: push", what);
	T_ASSERT(ring_back_final_check(rb) == -EPROTO, "%s: final check", what);
	T_ASSERT(s->rsp_prod == rsp_prod && s->req_event == req_event, "%s: ring written", what);
}

/* req_prod set to prod, with the back having consumed `consumed` and answered none. */
static void back_overrun(unsigned int order, uint32_t consumed, uint32_t prod, const char *what)
{
	struct ring_front rf;
	struct ring_back rb;
	struct ring_shared *s = pair(order, &rf, &rb);
	blkif_request_t req[16];

	publish(&rf, consumed);
	T_ASSERT(ring_back_consume(&rb, req, 16) == (int)consumed, "%s: setup", what);
	s->req_prod = prod;
	T_ASSERT(ring_back_consume(&rb, req, 16) == -EPROTO, "%s: req_prod %#x accepted", what,
		 prod);
	check_back_broken(&rb, what);
	free(s);
}

/* Boundaries: exactly a ring of requests is fine; one more, or an index moved back, is not. */
static void check_back_overruns(void)
{
	struct ring_front rf;
	struct ring_back rb;
	struct ring_shared *s = pair(0, &rf, &rb);
	blkif_request_t req[32];

	s->req_prod = 32; /* a whole ring of (zeroed) requests: legal */
	T_ASSERT(ring_back_consume(&rb, req, 32) == 32, "a full ring refused");
	free(s);
	back_overrun(0, 0, 33, "order 0, a ring and one ahead");
	back_overrun(RING_ORDER_MAX, 0, 513, "order 4, a ring and one ahead");
	back_overrun(RING_ORDER_MAX, 0, 0x7fffffff, "order 4, far ahead");
	back_overrun(0, 0, 0xffffffff, "order 0, moved back");
	back_overrun(0, 5, 4, "order 0, moved back below req_cons");
	/* 10 consumed, unanswered: the front may add 22 more, not 23 (they overlap the answers). */
	back_overrun(0, 10, 10 + 23, "order 0, overruns unanswered requests");
}

/* A back-end attaching to a ring whose req_prod is more than a ring past rsp_prod. */
static void check_attach_overrun(void)
{
	struct ring_shared *s = t_ring_alloc(0);
	struct ring_front rf;
	struct ring_back rb;

	T_ASSERT(ring_blkif_front_init(&rf, s, 0) == 0, "front init");
	s->rsp_prod = 1000;
	s->req_prod = 1000 + 33;
	T_ASSERT(ring_blkif_back_attach(&rb, s, 0) == -EPROTO, "attach to an overrun ring");
	check_back_broken(&rb, "attach overrun");
	s->req_prod = 1000 + 32;
	T_ASSERT(ring_blkif_back_attach(&rb, s, 0) == 0 && rb.req_cons == 1000, "reattach refused");
	T_ASSERT(ring_front_attach(&rf, s, 0, sizeof(blkif_request_t), sizeof(blkif_response_t)) ==
		     -EPROTO,
		 "front attached to a busy ring");
	free(s);
}

/* rsp_prod set to prod with `published` requests out and `reserved` slots not yet published. */
static void front_overrun(uint32_t published, uint32_t reserved, uint32_t prod, const char *what)
{
	struct ring_front rf;
	struct ring_back rb;
	struct ring_shared *s = pair(0, &rf, &rb);
	blkif_response_t rsp[32];
	uint32_t i, req_prod;

	publish(&rf, published);
	for (i = 0; i < reserved; i++)
		T_ASSERT(ring_front_req_slot(&rf), "%s: setup", what);
	req_prod = s->req_prod;
	s->rsp_prod = prod;
	T_ASSERT(ring_front_consume(&rf, rsp, 32) == -EPROTO, "%s: rsp_prod %#x accepted", what,
		 prod);
	T_ASSERT(rf.broken && ring_front_consume(&rf, rsp, 32) == -EPROTO, "%s: not broken", what);
	T_ASSERT(ring_front_req_slot(&rf) == NULL && ring_front_free(&rf) == 0, "%s: slot", what);
	T_ASSERT(ring_front_push(&rf) == -EPROTO && s->req_prod == req_prod, "%s: push", what);
	T_ASSERT(ring_front_final_check(&rf) == -EPROTO, "%s: final check", what);
	free(s);
}

static void check_front_overruns(void)
{
	front_overrun(3, 0, 4, "more responses than requests");
	front_overrun(3, 2, 4, "responses to unpublished requests");
	front_overrun(0, 0, 33, "a ring and one ahead");
	front_overrun(3, 0, 0xffffffff, "moved back");
}

/* The back may answer only what it consumed; the front may not overfill the ring. */
static void check_overproduce(void)
{
	struct ring_front rf;
	struct ring_back rb;
	struct ring_shared *s = pair(0, &rf, &rb);
	blkif_request_t req[4];
	blkif_response_t rsp[4];
	uint32_t i;

	T_ASSERT(ring_back_rsp_slot(&rb) == NULL, "a response with nothing consumed");
	publish(&rf, 3);
	T_ASSERT(ring_back_consume(&rb, req, 2) == 2, "consume 2 of 3");
	T_ASSERT(ring_back_rsp_slot(&rb) && ring_back_rsp_slot(&rb), "two responses refused");
	T_ASSERT(ring_back_rsp_slot(&rb) == NULL, "a third response for two requests");
	T_ASSERT(ring_back_push(&rb) >= 0 && s->rsp_prod == 2, "push of two: rsp_prod %u",
		 s->rsp_prod);
	rb.rsp_prod_pvt = rb.req_cons + 1; /* a caller scribbling on its own state */
	T_ASSERT(ring_back_push(&rb) == -EINVAL && s->rsp_prod == 2, "unasked answer published");
	T_ASSERT(ring_front_consume(&rf, rsp, 4) == 2, "the two responses");
	for (i = 0; i < 32; i++) /* one request is still unanswered: 31 slots are free */
		if (!ring_front_req_slot(&rf))
			break;
	T_ASSERT(i == 31 && ring_front_free(&rf) == 0, "front filled %u slots, not 31", i);
	free(s);
}

/*
 * Answers handed out but not yet published: the front has not seen them, so it may produce only
 * up to a ring past the *published* responses.  Before, req_prod was checked against the private
 * responses only, and a lying front made the back-end read its own unpublished answers as
 * requests; its push then refused more than a ring of answers with -EINVAL.
 */
static void check_unpublished_overrun(void)
{
	struct ring_front rf;
	struct ring_back rb;
	struct ring_shared *s = pair(0, &rf, &rb);
	blkif_request_t req[32];
	uint32_t i;

	publish(&rf, 32);
	T_ASSERT(ring_back_consume(&rb, req, 32) == 32, "setup: a full ring");
	for (i = 0; i < 10; i++)
		T_ASSERT(ring_back_rsp_slot(&rb), "setup: answer %u", i);
	/* 10 answers written, none published: the slots they use are not the front's yet. */
	s->req_prod = 32 + 10;
	T_ASSERT(ring_back_consume(&rb, req, 32) == -EPROTO,
		 "req_prod over 10 unpublished answers accepted");
	check_back_broken(&rb, "unpublished overrun");
	free(s);

	/* Once published, the same req_prod is legal. */
	s = pair(0, &rf, &rb);
	publish(&rf, 32);
	T_ASSERT(ring_back_consume(&rb, req, 32) == 32, "setup 2: a full ring");
	for (i = 0; i < 10; i++)
		T_ASSERT(ring_back_rsp_slot(&rb), "setup 2: answer %u", i);
	T_ASSERT(ring_back_push(&rb) >= 0, "setup 2: push");
	s->req_prod = 32 + 10;
	T_ASSERT(ring_back_consume(&rb, req, 32) == 10, "10 requests after published answers");
	free(s);
}

int main(void)
{
	t_time_limit(T_TIME_LIMIT_S);
	check_back_overruns();
	check_attach_overrun();
	check_unpublished_overrun();
	check_front_overruns();
	check_overproduce();
	return 0;
}
