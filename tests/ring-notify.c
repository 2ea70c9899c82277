/*
 * ring-notify: event suppression.  A push asks for a notification only when the other side's
 * event index says so: after its final check armed it, or when a batch crosses the index it set.
 * A batch of any size asks once.
 */
#include "config.h"

#include "tests/ring-test.h"

/* Hand out and publish n requests; the push's verdict. */
static int front_send(struct ring_front *rf, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		T_ASSERT(ring_front_req_slot(rf), "no request slot for %u", i);
	return ring_front_push(rf);
}

/* Consume up to n requests and answer every one of them, then push; the push's verdict. */
static int back_answer(struct ring_back *rb, unsigned int n)
{
	blkif_request_t req[32];
	int got = ring_back_consume(rb, req, n), i;

	T_ASSERT(got >= 0, "back consume: %d", got);
	for (i = 0; i < got; i++)
		T_ASSERT(ring_back_rsp_slot(rb), "no response slot for %d", i);
	return ring_back_push(rb);
}

/* Drain responses into nowhere; how many. */
static int front_drain(struct ring_front *rf)
{
	blkif_response_t rsp[32];
	int n = ring_front_consume(rf, rsp, 32);

	T_ASSERT(n >= 0, "front consume: %d", n);
	return n;
}

/* Requests: the back asks with its final check, and only then. */
static void check_requests(struct ring_front *rf, struct ring_back *rb)
{
	struct ring_shared *s = rf->sring;

	T_ASSERT(front_send(rf, 1) == 1, "first request after init did not notify");
	T_ASSERT(front_send(rf, 1) == 0, "notified again before the back went idle");
	T_ASSERT(ring_front_push(rf) == 0, "an empty push notified");
	T_ASSERT(ring_back_final_check(rb) == 1 && s->req_event == 1,
		 "final check with work waiting must not re-arm");
	T_ASSERT(back_answer(rb, 32) >= 0 && front_drain(rf) == 2, "two answers");
	T_ASSERT(ring_back_final_check(rb) == 0 && s->req_event == 3, "idle back did not arm");
	T_ASSERT(front_send(rf, 5) == 1, "a batch of five after arming: no notification");
	T_ASSERT(front_send(rf, 3) == 0, "notified twice for one arming");
	/* Armed again while work is still waiting: the final check reports it and keeps quiet. */
	T_ASSERT(ring_back_final_check(rb) == 1 && s->req_event == 3, "pending work missed");
	T_ASSERT(back_answer(rb, 32) >= 0 && front_drain(rf) == 8, "eight answers");
}

/* Responses, symmetrically, including an event index set for a batch (as netfront does). */
static void check_responses(struct ring_front *rf, struct ring_back *rb)
{
	struct ring_shared *s = rf->sring;

	T_ASSERT(ring_front_final_check(rf) == 0 && s->rsp_event == rf->rsp_cons + 1,
		 "idle front did not arm");
	front_send(rf, 6);
	T_ASSERT(back_answer(rb, 4) == 1, "a batch of four answers did not notify once");
	T_ASSERT(back_answer(rb, 1) == 0, "notified twice for one arming");
	T_ASSERT(front_drain(rf) == 5, "five answers");
	/* The front wants to hear only once the third response from now is out. */
	s->rsp_event = rf->rsp_cons + 3;
	front_send(rf, 3);
	T_ASSERT(back_answer(rb, 2) == 0, "notified before reaching rsp_event");
	T_ASSERT(back_answer(rb, 2) == 1, "not notified on reaching rsp_event");
	T_ASSERT(front_drain(rf) == 4 && ring_front_final_check(rf) == 0, "drain");
}

/* Batched pushes notify once; the same answers pushed one by one notify only the first time. */
static void check_batching(struct ring_front *rf, struct ring_back *rb)
{
	int i, notifies = 0;

	T_ASSERT(ring_back_final_check(rb) == 0, "back idle");
	T_ASSERT(front_send(rf, 20) == 1, "a batch of twenty: one notification");
	T_ASSERT(ring_front_final_check(rf) == 0, "front idle");
	for (i = 0; i < 10; i++)
		notifies += back_answer(rb, 1);
	T_ASSERT(notifies == 1, "ten single pushes notified %d times", notifies);
	T_ASSERT(front_drain(rf) == 10 && ring_front_final_check(rf) == 0, "drain");
	T_ASSERT(back_answer(rb, 10) == 1, "a batch of ten: not exactly one notification");
	T_ASSERT(front_drain(rf) == 10, "drain");
}

int main(void)
{
	struct ring_shared *s = t_ring_alloc(0);
	struct ring_front rf;
	struct ring_back rb;

	t_time_limit(T_TIME_LIMIT_S);
	T_ASSERT(ring_blkif_front_init(&rf, s, 0) == 0, "front init");
	T_ASSERT(ring_blkif_back_attach(&rb, s, 0) == 0, "back attach");
	check_requests(&rf, &rb);
	check_responses(&rf, &rb);
	check_batching(&rf, &rb);
	free(s);
	return 0;
}
