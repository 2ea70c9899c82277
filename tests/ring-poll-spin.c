/* SPDX-License-Identifier: MIT */
/*
 * ring-poll-spin: ring_poll_spin (ring/adaptive.h) on the real clock, with a second thread.
 *  - a peer that produces while the consumer spins is a hit, with no miss or sleep counted;
 *  - a spin whose peer never produces ends when its budget does: a miss (and the sleep after
 *    it), and the next wait sleeps at once;
 *  - a spin sharing its CPU with a busy thread runs to its budget (a guest's CPU clock leaves
 *    out the time its hypervisor gave other vCPUs, and a burner's long turns in the yields are
 *    no peer's work) and counts a contended miss: the adaptive budget loses half, not a quarter;
 *    the fixed mode (--poll-us) keeps its budget;
 *  - a peer that can run only on the spinner's CPU, and produces as soon as it runs: the
 *    adaptive spin's yield lets it run, and the spin is a shared hit (contended counted, the
 *    next wait sleeps at once).
 * Nothing here depends on timing to pass: the budgets are far longer than any wait the checks
 * need, and a burner pinned with the spinner on one CPU takes half of it at least; the shared
 * hit is tried up to SHARED_TRIES times (a timer tick that preempts the spinner before its first
 * yield lets the peer run unseen: three tries once all missed in CI, the suite's other tests
 * loading both CPUs).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "ring/adaptive.h"
#include "tests/helpers.h"

#define SHARED_TRIES 12

#define MS 1000000ull

static atomic_int flag, go, quit;

static bool flag_set(void *arg)
{
	(void)arg;
	return atomic_load(&flag) != 0;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Set the flag once the consumer has started to wait. */
static void *producer(void *arg)
{
	(void)arg;
	while (!atomic_load(&go))
		sched_yield();
	usleep(2000);
	atomic_store(&flag, 1);
	return NULL;
}

/* Runnable from the start, never sleeping: set the flag as soon as this thread runs. */
static void *eager(void *arg)
{
	(void)arg;
	while (!atomic_load(&go))
		;
	atomic_store(&flag, 1);
	return NULL;
}

/* Burn the CPU until told to stop. */
static void *burner(void *arg)
{
	(void)arg;
	while (!atomic_load(&quit))
		;
	return NULL;
}

/* A poll of budget ns right after work, in mode. */
static void poll_ready(struct ring_poll *p, enum ring_poll_mode mode, uint64_t budget)
{
	ring_poll_init(p, mode, (unsigned int)(budget / 1000), budget);
	ring_poll_work(p, ring_poll_now(), false);
	p->budget_ns = budget;
}

static int hit(void)
{
	struct ring_poll p;
	pthread_t t;

	poll_ready(&p, RING_POLL_FIXED, 20000 * MS);
	T_CHECK(pthread_create(&t, NULL, producer, NULL) == 0, "thread");
	atomic_store(&go, 1);
	T_CHECK(ring_poll_spin(&p, flag_set, NULL, 0), "the producer's work was not seen");
	pthread_join(t, NULL);
	T_CHECK(p.misses == 0 && p.sleeps == 0, "a hit counted %llu misses, %llu sleeps",
		(unsigned long long)p.misses, (unsigned long long)p.sleeps);
	return 0;
}

static int miss(void)
{
	struct ring_poll p;
	uint64_t t0 = ring_poll_now();

	poll_ready(&p, RING_POLL_ADAPTIVE, 2 * MS);
	p.cap_ns = 2 * MS;
	T_CHECK(!ring_poll_spin(&p, never, NULL, 0), "nothing produced, yet a hit");
	T_CHECK(ring_poll_now() - t0 >= 2 * MS || p.contended, "the spin ended before its budget");
	T_CHECK(p.misses == 1 && p.sleeps == 1, "%llu misses, %llu sleeps (want 1, 1)",
		(unsigned long long)p.misses, (unsigned long long)p.sleeps);
	T_CHECK(!ring_poll_spin(&p, never, NULL, 0) && p.misses == 1 && p.sleeps == 2,
		"a spent budget did not sleep at once");
	return 0;
}

/* Pin the caller on the CPU it runs on, described in *one: 0 or -1 (errno set). */
static int pin_here(cpu_set_t *one)
{
	CPU_ZERO(one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), one);
	return sched_setaffinity(0, sizeof(*one), one);
}

/* Pin the caller and a burner on one CPU; spin against it in mode for budget ns. */
static int contended(enum ring_poll_mode mode, uint64_t budget, struct ring_poll *p, uint64_t *took)
{
	cpu_set_t one;
	pthread_t t;
	uint64_t t0;

	T_CHECK(pin_here(&one) == 0, "sched_setaffinity: %s", strerror(errno));
	atomic_store(&quit, 0);
	T_CHECK(pthread_create(&t, NULL, burner, NULL) == 0, "thread");
	T_CHECK(pthread_setaffinity_np(t, sizeof(one), &one) == 0, "pin the burner");
	usleep(1000); /* the burner runs */
	poll_ready(p, mode, budget);
	t0 = ring_poll_now();
	T_CHECK(!ring_poll_spin(p, never, NULL, 0), "nothing produced, yet a hit");
	*took = ring_poll_now() - t0;
	atomic_store(&quit, 1);
	pthread_join(t, NULL);
	return 0;
}

/*
 * The caller pinned on one CPU; a peer pinned there too, runnable, produces once it runs while
 * the caller spins adaptively: 1 when the spin was a hit on a shared CPU, 0 when the peer ran
 * unseen (preempted before the first yield), -1 on a failed check.
 */
static int shared_hit(void)
{
	struct ring_poll p;
	cpu_set_t one;
	pthread_t t;
	bool got;

	T_CHECK(pin_here(&one) == 0, "sched_setaffinity: %s", strerror(errno));
	atomic_store(&flag, 0);
	atomic_store(&go, 0);
	T_CHECK(pthread_create(&t, NULL, eager, NULL) == 0, "thread");
	T_CHECK(pthread_setaffinity_np(t, sizeof(one), &one) == 0, "pin the peer");
	poll_ready(&p, RING_POLL_ADAPTIVE, 2000 * MS);
	atomic_store(&go, 1);
	got = ring_poll_spin(&p, flag_set, NULL, 0);
	pthread_join(t, NULL);
	T_CHECK(got, "the peer's work was not seen");
	if (!p.contended)
		return 0;
	T_CHECK(p.misses == 0 && p.hold == 1, "shared hit: %llu misses, hold %u (want 0, 1)",
		(unsigned long long)p.misses, p.hold);
	ring_poll_work(&p, ring_poll_now(), true);
	T_CHECK(p.hold == 1 && ring_poll_deadline(&p, ring_poll_now()) <= ring_poll_now(),
		"the wait after a shared hit must sleep at once");
	return 1;
}

int main(void)
{
	struct ring_poll p;
	uint64_t took;
	int rc = 0;

	t_time_limit(60);
	if (hit() || miss())
		return T_FAIL;
	for (int i = 0; i < SHARED_TRIES && rc == 0; i++)
		rc = shared_hit();
	T_CHECK(rc == 1, "%d spins on a shared CPU, none seen as shared", SHARED_TRIES);
	T_CHECK(contended(RING_POLL_ADAPTIVE, 50 * MS, &p, &took) == 0, "adaptive");
	T_CHECK(took >= 50 * MS && p.misses == 1 && p.contended == 1 && p.budget_ns == 25 * MS &&
		    p.hold == 0,
		"adaptive: ran %llu us, %llu misses, %llu contended, budget %llu us, hold %u (want "
		"its whole budget, 1, 1, 25000, 0)",
		(unsigned long long)(took / 1000), (unsigned long long)p.misses,
		(unsigned long long)p.contended, (unsigned long long)(p.budget_ns / 1000), p.hold);
	T_CHECK(contended(RING_POLL_FIXED, 50 * MS, &p, &took) == 0, "fixed");
	T_CHECK(took >= 50 * MS && p.misses == 1 && p.contended == 1 && p.budget_ns == 50 * MS,
		"fixed: ran %llu us, %llu misses, %llu contended, budget %llu us (want its whole "
		"budget, 1, 1, 50000)",
		(unsigned long long)(took / 1000), (unsigned long long)p.misses,
		(unsigned long long)p.contended, (unsigned long long)(p.budget_ns / 1000));
	return T_PASS;
}
