/* SPDX-License-Identifier: MIT */
/*
 * adaptive.c - the self-tuning poll budget (the policy is in adaptive.h).
 */
#include "config.h"

#include <sched.h>

#include "ring/adaptive.h"

void ring_poll_init(struct ring_poll *p, enum ring_poll_mode mode, unsigned int fixed_us,
		    uint64_t cap_ns)
{
	*p = (struct ring_poll){ .mode = mode, .cap_ns = cap_ns ? cap_ns : RING_POLL_CAP_NS };
	if (mode == RING_POLL_FIXED)
		p->budget_ns = p->cap_ns = fixed_us * 1000ull;
}

uint64_t ring_poll_deadline(const struct ring_poll *p, uint64_t now)
{
	if (p->mode == RING_POLL_OFF || !p->last_ns || now < p->backoff_until)
		return 0;
	return p->last_ns + p->budget_ns;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void shrink(struct ring_poll *p)
{
	p->budget_ns /= 2;
	if (p->budget_ns < RING_POLL_MIN_NS)
		p->budget_ns = 0;
}

/* What the gap g between the last work and this one teaches the adaptive budget. */
static void learn(struct ring_poll *p, uint64_t g, bool polled)
{
	uint64_t want = min_u64(p->cap_ns, max_u64(2 * g, RING_POLL_MIN_NS));

	if (polled && g <= p->budget_ns) {
		p->hits++;
		p->budget_ns = max_u64(p->budget_ns, want);
	} else if (g <= p->cap_ns) {
		/* Slept, but a longer poll would have caught it. */
		p->budget_ns = min_u64(p->cap_ns, max_u64(2 * p->budget_ns, want));
	} else {
		p->misses++;
		shrink(p);
	}
}

void ring_poll_work(struct ring_poll *p, uint64_t now, bool polled)
{
	if (p->mode == RING_POLL_ADAPTIVE && p->last_ns && now >= p->last_ns &&
	    now >= p->backoff_until)
		learn(p, now - p->last_ns, polled);
	else if (polled)
		p->hits++;
	p->last_ns = now;
}

void ring_poll_kick(struct ring_poll *p, uint64_t now)
{
	p->last_ns = now;
}

void ring_poll_miss(struct ring_poll *p, uint64_t now)
{
	(void)now;
	p->misses++;
	if (p->mode == RING_POLL_ADAPTIVE)
		shrink(p);
}

void ring_poll_contended(struct ring_poll *p, uint64_t now, uint64_t wall_ns, uint64_t cpu_ns)
{
	if (p->mode != RING_POLL_ADAPTIVE || wall_ns < RING_POLL_MIN_NS ||
	    cpu_ns * 4 >= wall_ns * 3)
		return;
	p->contended++;
	p->budget_ns = 0;
	p->backoff_until = now + RING_POLL_BACKOFF_NS;
}

static uint64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool ring_poll_spin(struct ring_poll *p, bool (*ready)(void *arg), void *arg, uint64_t slice_ns)
{
	uint64_t start = ring_poll_now(), now = start, end = ring_poll_deadline(p, now), cpu, stop;
	bool hit = false;

	if (end <= now)
		return false;
	stop = slice_ns && start + slice_ns < end ? start + slice_ns : end;
	cpu = cpu_now();
	do {
		if (ready(arg)) {
			hit = true;
			break;
		}
		sched_yield(); /* a contended CPU goes to the peer we wait for */
		now = ring_poll_now();
	} while (now < stop);
	if (!hit && now >= end)
		ring_poll_miss(p, now);
	ring_poll_contended(p, now, now - start, cpu_now() - cpu);
	return hit;
}
