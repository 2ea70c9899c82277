/*
 * ring-adaptive: the self-tuning poll budget (ring/adaptive.h) on a fake clock.  It grows on
 * hits and near misses, decays to 0 on misses, never passes its cap, runs from the start of the
 * wait (work done between the last event and the wait does not eat it), polls only soon after
 * work so that an idle consumer sleeps at once, backs off faster (but does not stop) when a spin
 * found the CPU contended, holds polling off for 1, 2, 4 ... (at most RING_POLL_HOLD_MAX) waits
 * after shared hits in a row until a hit has its CPU to itself, and the fixed and off modes do
 * what they say.
 */
#include "config.h"

#include <stdlib.h>

#include "ring/adaptive.h"
#include "tests/helpers.h"

#define US 1000ull

/*
 * One wait on the fake clock: the consumer worked at now, did busy ns of its own work, then
 * waits; the next event comes gap ns after the wait began.  A spin catches it if the deadline
 * covers it, else runs out (a miss) and sleeps.  Returns the event's time.
 */
static uint64_t one_wait(struct ring_poll *p, uint64_t now, uint64_t busy, uint64_t gap)
{
	uint64_t start = now + busy, dl = ring_poll_begin(p, start), ev = start + gap;

	if (dl && ev <= dl) {
		ring_poll_work(p, ev, true);
		return ev;
	}
	if (dl)
		ring_poll_miss(p, dl, false);
	ring_poll_work(p, ev, false);
	return ev;
}

/* n waits of one_wait's kind in a row. */
static uint64_t steady(struct ring_poll *p, uint64_t now, uint64_t busy, uint64_t gap,
		       unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		now = one_wait(p, now, busy, gap);
	return now;
}

static int grows(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US, b;

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	T_CHECK(ring_poll_deadline(&p, now) <= now, "a fresh consumer must sleep at once");
	ring_poll_work(&p, now, false);
	T_CHECK(p.budget_ns == 0, "first work teaches nothing: %llu",
		(unsigned long long)p.budget_ns);

	/* A near miss: slept, the event came 5 us into the wait: the budget grows to catch it. */
	now = one_wait(&p, now, 0, 5 * US);
	T_CHECK(p.budget_ns >= 10 * US && p.sleeps == 1 && p.hits == 0,
		"near miss must grow the budget: %llu", (unsigned long long)p.budget_ns);
	b = p.budget_ns;
	now = steady(&p, now, 0, 5 * US, 20);
	T_CHECK(p.hits == 20 && p.misses == 0, "steady 5 us gaps must all be hits: %llu",
		(unsigned long long)p.hits);
	T_CHECK(p.budget_ns >= b, "hits must not shrink the budget");

	/* Longer gaps within the cap: it grows again, hits resume, capped. */
	now = steady(&p, now, 0, 20 * US, 10);
	T_CHECK(p.budget_ns >= 40 * US && p.budget_ns <= RING_POLL_CAP_NS, "budget %llu",
		(unsigned long long)p.budget_ns);
	now = steady(&p, now, 0, 40 * US, 10);
	T_CHECK(p.budget_ns == RING_POLL_CAP_NS, "budget must stop at the cap: %llu",
		(unsigned long long)p.budget_ns);
	(void)now;
	return T_PASS;
}

/*
 * iodepth 1 as a back-end sees it: 30 us of its own work (I/O, the response) after each
 * request, then the next request 30 us into the wait.  A budget counted from the last work
 * would need 60 us, past the cap, and never catch one; counted from the wait, all but the
 * first few are hits.
 */
static int from_wait_start(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US, h;

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	ring_poll_work(&p, now, false);
	now = steady(&p, now, 30 * US, 30 * US, 5);
	h = p.hits;
	now = steady(&p, now, 30 * US, 30 * US, 100);
	T_CHECK(p.hits - h == 100, "the budget must run from the wait's start: %llu hits of 100",
		(unsigned long long)(p.hits - h));
	(void)now;
	return T_PASS;
}

static int decays(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US, dl;

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	ring_poll_work(&p, now, false);
	now = steady(&p, now, 0, 20 * US, 10);

	/* Idle: the wait after the last work misses once; later wake-ups sleep at once. */
	dl = ring_poll_begin(&p, now);
	T_CHECK(dl == now + p.budget_ns, "window after work");
	ring_poll_miss(&p, dl, false);
	T_CHECK(p.misses == 1 && p.budget_ns < RING_POLL_CAP_NS, "a miss must shrink the budget");
	T_CHECK(ring_poll_begin(&p, dl) == 0, "after a miss the consumer must sleep at once");
	T_CHECK(ring_poll_begin(&p, now + 1000000 * US) == 0,
		"an idle consumer must sleep at once");
	/* Woken long after the last work by something else (a timer, xenstore): no poll. */
	ring_poll_kick(&p, now);
	T_CHECK(ring_poll_begin(&p, now + 2 * RING_POLL_CAP_NS) == 0,
		"no polling long after the last work");

	/* Work only once in a long while: misses drive the budget to 0, it stays there. */
	now = steady(&p, now, 0, 10000 * US, 30);
	T_CHECK(p.budget_ns == 0, "rare work must end with no polling: %llu",
		(unsigned long long)p.budget_ns);
	return T_PASS;
}

/* A spin at now that hits 3 us in on a shared CPU (ring_poll_spin's shared hit). */
static uint64_t shared_hit(struct ring_poll *p, uint64_t now)
{
	if (!ring_poll_begin(p, now))
		return 0;
	ring_poll_shared(p);
	ring_poll_work(p, now + 3 * US, true);
	return now + 3 * US;
}

/*
 * A contended miss halves the budget but leaves polling on: the next near miss grows it again
 * at once.  A shared hit holds polling off: the next wait sleeps at once, then polling comes
 * back; shared hits in a row hold it off for 2, 4 ... waits, at most RING_POLL_HOLD_MAX; a hit
 * with the CPU to itself ends the back-off.  The fixed mode never holds.
 */
static int contended(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US, dl, h, b, s;

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	ring_poll_work(&p, now, false);
	now = steady(&p, now, 0, 20 * US, 10);
	b = p.budget_ns;
	dl = ring_poll_begin(&p, now);
	ring_poll_miss(&p, dl, true);
	T_CHECK(p.contended == 1 && b && p.budget_ns == b / 2 && p.hold == 0,
		"a contended miss must halve the budget, not hold polling: %llu, hold %u",
		(unsigned long long)p.budget_ns, p.hold);
	now = dl + 10 * US;
	ring_poll_work(&p, now, false);
	h = p.hits;
	now = steady(&p, now, 0, 20 * US, 10);
	T_CHECK(p.hits - h == 10, "polling must go on after a contended miss: %llu hits of 10",
		(unsigned long long)(p.hits - h));

	now = shared_hit(&p, now);
	T_CHECK(now && p.contended == 2 && p.hold == 1, "a shared hit must hold one wait (%u)",
		p.hold);
	T_CHECK(ring_poll_deadline(&p, now) <= now, "a held wait must sleep at once");
	h = p.hits;
	s = p.sleeps;
	now = steady(&p, now, 0, 20 * US, 11);
	T_CHECK(p.sleeps - s == 1 && p.hits - h == 10,
		"after one held wait polling must come back: %llu sleeps, %llu hits of 10",
		(unsigned long long)(p.sleeps - s), (unsigned long long)(p.hits - h));
	T_CHECK(p.hold == 0 && p.hold_next == 0, "a hit of its own must end the back-off (%u)",
		p.hold_next);

	/* Shared hits in a row, each after its hold: 1, 2, 4 ... waits, capped. */
	for (uint32_t want = 1; want <= 2 * RING_POLL_HOLD_MAX; want *= 2) {
		uint32_t cap = want < RING_POLL_HOLD_MAX ? want : RING_POLL_HOLD_MAX;

		now = shared_hit(&p, now);
		T_CHECK(now && p.hold == cap, "shared hit: hold %u, want %u", p.hold, cap);
		s = p.sleeps;
		h = p.hits;
		now = steady(&p, now, 0, 5 * US, cap);
		T_CHECK(p.sleeps - s == cap && p.hits == h && p.hold == 0,
			"a hold of %u: %llu sleeps, %llu hits", cap,
			(unsigned long long)(p.sleeps - s), (unsigned long long)(p.hits - h));
	}
	ring_poll_init(&p, RING_POLL_FIXED, 30, 0);
	ring_poll_work(&p, now, false);
	now = shared_hit(&p, now);
	T_CHECK(now && p.hold == 0 && ring_poll_deadline(&p, now) == now + 30 * US,
		"the fixed mode must not hold polling off");
	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	ring_poll_work(&p, now, false);
	now = steady(&p, now, 0, 20 * US, 10);

	/* A kick opens the window from the wait's start without learning. */
	p.budget_ns = 8 * US;
	ring_poll_kick(&p, now + 100 * US);
	T_CHECK(p.budget_ns == 8 * US, "a kick must not learn");
	T_CHECK(ring_poll_deadline(&p, now + 101 * US) == now + 109 * US,
		"kick must open the window");
	return T_PASS;
}

static int fixed_and_off(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US;

	ring_poll_init(&p, RING_POLL_FIXED, 30, 0);
	ring_poll_work(&p, now, false);
	T_CHECK(ring_poll_deadline(&p, now) == now + 30 * US, "fixed budget");
	now = steady(&p, now, 0, 10000 * US, 5);
	T_CHECK(ring_poll_deadline(&p, now) == now + 30 * US, "a fixed budget must not shrink");

	ring_poll_init(&p, RING_POLL_OFF, 0, 0);
	now = steady(&p, now, 0, 1 * US, 5);
	T_CHECK(ring_poll_deadline(&p, now) <= now && p.hits == 0 && p.sleeps == 5,
		"off must never poll");
	return T_PASS;
}

static bool never(void *arg)
{
	(*(unsigned int *)arg)++;
	return false;
}

static bool at_once(void *arg)
{
	(void)arg;
	return true;
}

/* ring_poll_spin on the real clock: a hit, no budget, and a slice ending before the budget. */
static int spin(void)
{
	struct ring_poll p;
	unsigned int looks = 0;

	ring_poll_init(&p, RING_POLL_FIXED, 1000000, 0);
	ring_poll_work(&p, ring_poll_now(), false);
	T_CHECK(ring_poll_spin(&p, at_once, NULL, 0), "a ready ring is a hit");
	T_CHECK(!ring_poll_spin(&p, never, &looks, 1000 * US), "nothing came within the slice");
	T_CHECK(looks > 0 && p.misses == 0 && p.sleeps == 0, "a slice is not a miss (%u looks)",
		looks);
	T_CHECK(ring_poll_deadline(&p, ring_poll_now()) > ring_poll_now(),
		"the budget outlives the slice");

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	looks = 0;
	ring_poll_work(&p, ring_poll_now(), false);
	T_CHECK(!ring_poll_spin(&p, never, &looks, 0) && looks == 0 && p.sleeps == 1,
		"no budget: no look, a sleep");
	return T_PASS;
}

int main(void)
{
	t_time_limit(30);
	if (grows() || from_wait_start() || decays() || contended() || fixed_and_off() || spin())
		return T_FAIL;
	return T_PASS;
}
