/*
 * ring-threads: a front-end thread and a back-end thread exchange a million blkif requests and
 * responses over a 4-page ring; every entry arrives once, in order, intact.  This checks the
 * barriers and the final-check handshake under real concurrency; it is not a benchmark.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>

#include "tests/ring-test.h"

#define TOTAL 1000000u
#define ORDER 2
/* Consecutive idle polls (each yields the CPU) before a side declares the other one stuck. */
#define IDLE_CAP 20000000ul

/* Count an idle poll: yield, and fail rather than hang if the other side stopped. */
static void idle_poll(unsigned long *idle, const char *who, uint32_t at)
{
	T_ASSERT(++*idle < IDLE_CAP, "%s: no progress at %u after %lu polls", who, at, *idle);
	sched_yield();
}

/* Hand out as many requests as fit, up to TOTAL; how many. */
static uint32_t front_fill(struct ring_front *rf, uint32_t sent)
{
	uint32_t n = 0;
	blkif_request_t *req;

	while (sent + n < TOTAL && (req = ring_front_req_slot(rf)))
		t_blkif_req_fill(req, sent + n++);
	return n;
}

/* Collect what responses there are, checking their order; how many. */
static uint32_t front_collect(struct ring_front *rf, uint32_t done)
{
	blkif_response_t rsp[32];
	int n = ring_front_consume(rf, rsp, 32), i;

	T_ASSERT(n >= 0, "front consume at %u: %d", done, n);
	for (i = 0; i < n; i++)
		T_ASSERT(t_blkif_rsp_ok(&rsp[i], done + i), "response %u lost, repeated or garbled",
			 done + i);
	return (uint32_t)n;
}

static void *front_main(void *arg)
{
	struct ring_front *rf = arg;
	uint32_t sent = 0, done = 0, filled, got;
	unsigned long idle = 0;

	while (done < TOTAL) {
		filled = front_fill(rf, sent);
		sent += filled;
		T_ASSERT(ring_front_push(rf) >= 0, "front push at %u", sent);
		got = front_collect(rf, done);
		done += got;
		if (filled || got)
			idle = 0;
		else if (ring_front_final_check(rf) == 0)
			idle_poll(&idle, "front", done);
	}
	return NULL;
}

/* Serve what requests there are, checking their order and answering each; how many. */
static uint32_t back_serve(struct ring_back *rb, uint32_t served)
{
	blkif_request_t req[32];
	int n = ring_back_consume(rb, req, 32), i;

	T_ASSERT(n >= 0, "back consume at %u: %d", served, n);
	for (i = 0; i < n; i++) {
		blkif_response_t *rsp = ring_back_rsp_slot(rb);

		T_ASSERT(t_blkif_req_ok(&req[i], served + i),
			 "request %u lost, repeated or garbled", served + i);
		T_ASSERT(rsp, "no response slot for request %u", served + i);
		t_blkif_rsp_fill(rsp, &req[i]);
	}
	T_ASSERT(ring_back_push(rb) >= 0, "back push at %u", served);
	return (uint32_t)n;
}

static void *back_main(void *arg)
{
	struct ring_back *rb = arg;
	uint32_t served = 0, n;
	unsigned long idle = 0;

	while (served < TOTAL) {
		n = back_serve(rb, served);
		served += n;
		if (n)
			idle = 0;
		else if (ring_back_final_check(rb) == 0)
			idle_poll(&idle, "back", served);
	}
	return NULL;
}

int main(void)
{
	struct ring_shared *s = t_ring_alloc(ORDER);
	struct ring_front rf;
	struct ring_back rb;
	pthread_t front, back;

	t_time_limit(T_TIME_LIMIT_S);
	T_ASSERT(ring_blkif_front_init(&rf, s, ORDER) == 0, "front init");
	T_ASSERT(ring_blkif_back_attach(&rb, s, ORDER) == 0, "back attach");
	T_ASSERT(rf.nr_ents == 128, "a 4-page blkif ring has %u entries, not 128", rf.nr_ents);
	T_ASSERT(pthread_create(&back, NULL, back_main, &rb) == 0, "cannot start the back thread");
	T_ASSERT(pthread_create(&front, NULL, front_main, &rf) == 0, "cannot start the front");
	T_ASSERT(pthread_join(front, NULL) == 0 && pthread_join(back, NULL) == 0, "join");
	T_ASSERT(s->req_prod == TOTAL && s->rsp_prod == TOTAL, "indices %u/%u at the end",
		 s->req_prod, s->rsp_prod);
	free(s);
	return 0;
}
