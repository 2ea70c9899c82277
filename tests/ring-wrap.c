/*
 * ring-wrap: the free-running 32-bit indices wrap past 0xFFFFFFFF without losing, repeating or
 * misplacing an entry, for the smallest and largest rings, with the ends attached to indices
 * left over from an earlier connection.
 */
#include "config.h"

#include <stdbool.h>

#include "tests/ring-test.h"

/* The first index: a little before the wrap, and not a multiple of any ring size. */
#define START 0xFFFFFFEDu
/* Requests sent through each ring: thousands, crossing the wrap early on. */
#define TOTAL 5000u

/* Make an idle ring whose shared indices all stand at START, as a reconnect would leave it. */
static void setup(struct ring_shared *s, unsigned int order, struct ring_front *rf,
		  struct ring_back *rb)
{
	T_ASSERT(ring_blkif_front_init(rf, s, order) == 0, "order %u: front init", order);
	s->req_prod = s->rsp_prod = START;
	s->req_event = s->rsp_event = START + 1;
	T_ASSERT(
	    ring_front_attach(rf, s, order, sizeof(blkif_request_t), sizeof(blkif_response_t)) == 0,
	    "order %u: front attach at %#x", order, START);
	T_ASSERT(ring_blkif_back_attach(rb, s, order) == 0, "order %u: back attach", order);
	T_ASSERT(rb->req_cons == START && rf->req_prod_pvt == START, "order %u: attach index",
		 order);
}

/* Fill up to want request slots with consecutive sequence numbers; how many were filled. */
static uint32_t produce(struct ring_front *rf, uint32_t seq, uint32_t want)
{
	uint32_t i;

	for (i = 0; i < want; i++) {
		blkif_request_t *req = ring_front_req_slot(rf);

		if (!req)
			break;
		t_blkif_req_fill(req, seq + i);
	}
	return i;
}

/* Consume up to max requests, checking their sequence; answer each.  How many. */
static uint32_t serve(struct ring_back *rb, uint32_t seq, unsigned int max)
{
	blkif_request_t req[16];
	int n, i;

	n = ring_back_consume(rb, req, max);
	T_ASSERT(n >= 0, "back consume failed at %u: %d", seq, n);
	for (i = 0; i < n; i++) {
		blkif_response_t *rsp = ring_back_rsp_slot(rb);

		T_ASSERT(t_blkif_req_ok(&req[i], seq + i), "request %u lost or garbled", seq + i);
		T_ASSERT(rsp, "no response slot for request %u", seq + i);
		t_blkif_rsp_fill(rsp, &req[i]);
	}
	return (uint32_t)n;
}

/*
 * Publish what was produced and check the verdict: a side that went idle through its final
 * check (*armed) must be notified of the next batch, and then not again until it re-arms.
 */
static void push_check(int notify, uint32_t moved, bool *armed, const char *who, uint32_t at)
{
	T_ASSERT(notify >= 0, "%s push failed at %u: %d", who, at, notify);
	if (!moved)
		return;
	T_ASSERT(notify == *armed, "%s push at %u: notify %d, other side %s", who, at, notify,
		 *armed ? "armed" : "busy");
	*armed = false;
}

/* Collect responses, checking their sequence.  How many. */
static uint32_t collect(struct ring_front *rf, uint32_t seq)
{
	blkif_response_t rsp[16];
	int n, i;

	n = ring_front_consume(rf, rsp, 16);
	T_ASSERT(n >= 0, "front consume failed at %u: %d", seq, n);
	for (i = 0; i < n; i++)
		T_ASSERT(t_blkif_rsp_ok(&rsp[i], seq + i), "response %u lost or garbled", seq + i);
	return (uint32_t)n;
}

static void run(unsigned int order)
{
	struct ring_shared *s = t_ring_alloc(order);
	struct ring_front rf;
	struct ring_back rb;
	uint32_t sent = 0, served = 0, done = 0, round, n;
	bool back_armed = true, front_armed = true; /* the events START + 1 set up */

	setup(s, order, &rf, &rb);
	/* Vary the batch sizes so that every slot sees every phase of the wrap. */
	for (round = 0; done < TOTAL && round < 100 * TOTAL; round++) {
		uint32_t want = round * 7 % 23 + 1;

		n = produce(&rf, sent, want < TOTAL - sent ? want : TOTAL - sent);
		sent += n;
		push_check(ring_front_push(&rf), n, &back_armed, "front", sent);
		n = serve(&rb, served, round % 16 + 1);
		served += n;
		push_check(ring_back_push(&rb), n, &front_armed, "back", served);
		if (ring_back_final_check(&rb) == 0)
			back_armed = true;
		done += collect(&rf, done);
		if (ring_front_final_check(&rf) == 0)
			front_armed = true;
	}
	T_ASSERT(done == TOTAL, "order %u: %u of %u responses after %u rounds", order, done, TOTAL,
		 round);
	T_ASSERT(s->req_prod == START + TOTAL && s->rsp_prod == START + TOTAL &&
		     s->req_prod < START,
		 "order %u: indices did not wrap: req_prod %#x", order, s->req_prod);
	T_ASSERT(ring_front_free(&rf) == rf.nr_ents, "order %u: slots leaked", order);
	T_ASSERT(back_armed && front_armed, "order %u: an end did not go idle", order);
	free(s);
}

int main(void)
{
	t_time_limit(T_TIME_LIMIT_S);
	run(0);
	run(RING_ORDER_MAX);
	return 0;
}
