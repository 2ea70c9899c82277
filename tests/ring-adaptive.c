/*
 * ring-adaptive: the self-tuning poll budget (ring/adaptive.h) on a fake clock.  It grows on
 * hits and near misses, shrinks to 0 on misses, never passes its cap, runs from the last work
 * so that an idle consumer sleeps at once, stops for a while when a spin found the CPU
 * contended, and the fixed and off modes do what they say.
 */
#include "config.h"

#include <stdlib.h>

#include "ring/adaptive.h"
#include "tests/helpers.h"

#define US 1000ull

/* Work found every gap ns, n times, each caught by a poll if the budget covered it. */
static uint64_t steady(struct ring_poll *p, uint64_t now, uint64_t gap, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t dl = ring_poll_deadline(p, now);
		bool polled = now + gap <= dl;

		if (!polled && dl > now)
			ring_poll_miss(p, dl);
		now += gap;
		ring_poll_work(p, now, polled);
	}
	return now;
}

static int adaptive(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US, b;

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	T_CHECK(ring_poll_deadline(&p, now) <= now, "a fresh consumer must sleep at once");
	ring_poll_work(&p, now, false);
	T_CHECK(p.budget_ns == 0, "first work teaches nothing: %llu",
		(unsigned long long)p.budget_ns);

	/* Near misses: work 5 us after the last, while sleeping: the budget grows to catch it. */
	now = steady(&p, now, 5 * US, 1);
	T_CHECK(p.budget_ns >= 10 * US, "near miss must grow the budget: %llu",
		(unsigned long long)p.budget_ns);
	b = p.budget_ns;
	now = steady(&p, now, 5 * US, 20);
	T_CHECK(p.hits == 20, "steady 5 us gaps must all be hits: %llu",
		(unsigned long long)p.hits);
	T_CHECK(p.budget_ns >= b, "hits must not shrink the budget");

	/* Longer gaps within the cap: it grows again, hits resume, capped. */
	now = steady(&p, now, 20 * US, 10);
	T_CHECK(p.budget_ns >= 40 * US && p.budget_ns <= RING_POLL_CAP_NS, "budget %llu",
		(unsigned long long)p.budget_ns);
	now = steady(&p, now, 40 * US, 10);
	T_CHECK(p.budget_ns == RING_POLL_CAP_NS, "budget must stop at the cap: %llu",
		(unsigned long long)p.budget_ns);

	/* Idle: the poll after the last work misses; later wake-ups sleep at once. */
	T_CHECK(ring_poll_deadline(&p, now) == now + RING_POLL_CAP_NS, "window after work");
	ring_poll_miss(&p, ring_poll_deadline(&p, now));
	T_CHECK(p.budget_ns < RING_POLL_CAP_NS, "a miss must shrink the budget");
	T_CHECK(ring_poll_deadline(&p, now + RING_POLL_CAP_NS) <= now + RING_POLL_CAP_NS,
		"after a miss the consumer must sleep at once");
	T_CHECK(ring_poll_deadline(&p, now + 1000000 * US) < now + 1000000 * US,
		"an idle consumer must sleep at once");

	/* Work only once in a long while: misses drive the budget to 0. */
	now = steady(&p, now, 10000 * US, 10);
	T_CHECK(p.budget_ns == 0, "rare work must end with no polling: %llu",
		(unsigned long long)p.budget_ns);

	/* A spin that got half the CPU: polling stops for the backoff, then learns again. */
	p.budget_ns = 20 * US;
	ring_poll_work(&p, now, true);
	ring_poll_contended(&p, now + 10 * US, 10 * US, 9 * US);
	T_CHECK(p.budget_ns == 20 * US, "a spin with 90%% of the CPU is not contended");
	ring_poll_contended(&p, now + 10 * US, 10 * US, 5 * US);
	T_CHECK(p.budget_ns == 0 && ring_poll_deadline(&p, now + 20 * US) <= now + 20 * US,
		"contention must stop polling");
	now += RING_POLL_BACKOFF_NS / 2;
	now = steady(&p, now, 5 * US, 3);
	T_CHECK(p.budget_ns == 0, "no learning during the backoff");
	now += RING_POLL_BACKOFF_NS;
	now = steady(&p, now, 5 * US, 3);
	T_CHECK(p.budget_ns >= 10 * US, "learning resumes after the backoff");

	/* A kick opens the window from now without learning. */
	p.budget_ns = 8 * US;
	ring_poll_kick(&p, now + 100 * US);
	T_CHECK(p.budget_ns == 8 * US, "a kick must not learn");
	T_CHECK(ring_poll_deadline(&p, now) == now + 108 * US, "kick must open the window");
	return T_PASS;
}

static int fixed_and_off(void)
{
	struct ring_poll p;
	uint64_t now = 1000 * US;

	ring_poll_init(&p, RING_POLL_FIXED, 30, 0);
	ring_poll_work(&p, now, false);
	T_CHECK(ring_poll_deadline(&p, now) == now + 30 * US, "fixed budget");
	now = steady(&p, now, 10000 * US, 5);
	T_CHECK(ring_poll_deadline(&p, now) == now + 30 * US, "a fixed budget must not shrink");

	ring_poll_init(&p, RING_POLL_OFF, 0, 0);
	now = steady(&p, now, 1 * US, 5);
	T_CHECK(ring_poll_deadline(&p, now) <= now, "off must never poll");
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
	T_CHECK(looks > 0 && p.misses == 0, "a slice is not a miss (%u looks)", looks);
	T_CHECK(ring_poll_deadline(&p, ring_poll_now()) > ring_poll_now(),
		"the budget outlives the slice");

	ring_poll_init(&p, RING_POLL_ADAPTIVE, 0, 0);
	looks = 0;
	ring_poll_work(&p, ring_poll_now(), false);
	T_CHECK(!ring_poll_spin(&p, never, &looks, 0) && looks == 0, "no budget: no look");
	return T_PASS;
}

int main(void)
{
	t_time_limit(30);
	if (adaptive() || fixed_and_off() || spin())
		return T_FAIL;
	return T_PASS;
}
