/* SPDX-License-Identifier: MIT */
/*
 * adaptive.c - the self-tuning poll budget (the policy is in adaptive.h).
 */
#include "config.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

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
	if (p->mode == RING_POLL_OFF || !p->last_ns || p->spent || p->hold)
		return 0;
	if (p->until_ns)
		return p->until_ns;
	/* Only soon after work: an idle consumer, woken by anything else, sleeps at once. */
	if (!p->budget_ns || now < p->last_ns || now - p->last_ns > p->cap_ns)
		return 0;
	return now + p->budget_ns;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* What the gap g between the start of the wait and the work teaches the adaptive budget. */
static void learn(struct ring_poll *p, uint64_t g, bool polled)
{
	/* Four gaps: under load the next gap often comes out twice as long as this one. */
	uint64_t want = min_u64(p->cap_ns, max_u64(4 * g, RING_POLL_MIN_NS));

	if (polled)
		p->budget_ns = max_u64(p->budget_ns, want); /* that poll paid: keep it */
	else if (g <= p->cap_ns)
		/* Slept, but a longer poll would have caught it. */
		p->budget_ns = min_u64(p->cap_ns, max_u64(2 * p->budget_ns, want));
	/* A gap past the cap teaches nothing: the spin that ran out counted its miss. */
}

void ring_poll_kick(struct ring_poll *p, uint64_t now)
{
	p->last_ns = now;
	p->until_ns = p->wait_ns = 0;
	p->spent = false;
}

void ring_poll_shared(struct ring_poll *p)
{
	p->contended++;
	if (p->mode != RING_POLL_ADAPTIVE)
		return;
	p->hold = p->hold_next ? p->hold_next : 1;
	p->hold_next = p->hold >= RING_POLL_HOLD_MAX / 2 ? RING_POLL_HOLD_MAX : 2 * p->hold;
}

void ring_poll_work(struct ring_poll *p, uint64_t now, bool polled)
{
	uint64_t from = p->wait_ns ? p->wait_ns : p->last_ns;

	if (polled)
		p->hits++;
	if (polled && !p->hold)
		p->hold_next = 0; /* a spin that had its CPU to itself paid: the back-off is over */
	if (p->mode == RING_POLL_ADAPTIVE && from && now >= from)
		learn(p, now - from, polled);
	ring_poll_kick(p, now);
}

void ring_poll_miss(struct ring_poll *p, uint64_t now, bool contended)
{
	(void)now;
	p->misses++;
	p->sleeps++;
	p->until_ns = 0;
	p->spent = true; /* no more polling until work comes */
	if (contended)
		p->contended++;
	if (p->mode != RING_POLL_ADAPTIVE)
		return;
	p->budget_ns -= contended ? p->budget_ns / 2 : p->budget_ns / 4;
	if (p->budget_ns < RING_POLL_MIN_NS)
		p->budget_ns = 0;
}

static uint64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ring_poll_begin(struct ring_poll *p, uint64_t now)
{
	uint64_t end = ring_poll_deadline(p, now);

	if (!p->wait_ns)
		p->wait_ns = now;
	if (end <= now) {
		p->sleeps++;
		if (p->hold)
			p->hold--; /* one wait of the hold slept */
		return 0;
	}
	p->until_ns = end; /* a wait spun in slices keeps one deadline */
	return end;
}

/* A pause between looks: the sibling hyperthread and the bus get the time, not our loads. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * sched_yield, and for how long another task had our CPU meanwhile: the yield's wall time past
 * its CPU time (two reads of the thread's CPU clock, system calls, once per RING_POLL_YIELD_NS).
 * *cpu and *wall: both clocks after the yield (the spin's mark, if it has none yet).
 */
static uint64_t yield_away(uint64_t *cpu, uint64_t *wall)
{
	uint64_t w0 = ring_poll_now(), c0 = cpu_now();

	sched_yield();
	*cpu = cpu_now();
	*wall = ring_poll_now();
	return *wall - w0 > *cpu - c0 ? (*wall - w0) - (*cpu - c0) : 0;
}

bool ring_poll_spin(struct ring_poll *p, bool (*ready)(void *arg), void *arg, uint64_t slice_ns)
{
	uint64_t start = ring_poll_clock(p), now = start, end = ring_poll_begin(p, now), stop;
	uint64_t next_yield = start + RING_POLL_YIELD_NS, next_cpu = start + RING_POLL_CPU_NS;
	uint64_t cpu_mark = 0, wall_mark = 0;
	bool contended = false;

	if (!end)
		return false;
	stop = slice_ns && start + slice_ns < end ? start + slice_ns : end;
	for (;;) {
		if (ready(arg))
			return true; /* the hit is counted when the caller reports the work */
		spin_pause();
		now = ring_poll_now();
		if (now >= stop)
			break;
		/*
		 * Now and then, not per look: a contended CPU goes to the peer we wait for.  If the
		 * work came while the yield had given the CPU away briefly, our spinning was what
		 * kept the peer from running: a shared hit (adaptive).
		 */
		if (now >= next_yield) {
			if (p->mode != RING_POLL_ADAPTIVE) {
				sched_yield();
			} else {
				uint64_t cpu, wall, away = yield_away(&cpu, &wall);

				if (away > RING_POLL_RAN_NS && away <= p->cap_ns && ready(arg)) {
					ring_poll_shared(p); /* the caller reports the work */
					return true;
				}
				if (!wall_mark &&
				    now >= next_cpu) { /* no third read for the mark */
					cpu_mark = cpu;
					wall_mark = now = wall;
				}
			}
			next_yield = now + RING_POLL_YIELD_NS;
		}
		/*
		 * The thread's CPU clock is a system call: read once, when a spin has gone on for a
		 * while (a hit within RING_POLL_CPU_NS makes no system call), and at its end.
		 */
		if (!wall_mark && now >= next_cpu) {
			cpu_mark = cpu_now();
			wall_mark = now = ring_poll_now();
		}
	}
	if (now < end)
		return false; /* the slice ended, the budget did not */
	/*
	 * The spin ran out.  Under 3/4 of the CPU since the mark: we were preempted, or the yields
	 * let another task run: the adaptive budget backs off faster.  The spin itself runs on: a
	 * guest's CPU clock leaves out the time its hypervisor gave to other vCPUs, so a mid-spin
	 * stop on that reading could end most polls there.
	 */
	if (wall_mark) {
		uint64_t cpu = cpu_now();

		now = ring_poll_now();
		contended = (cpu - cpu_mark) * 4 < (now - wall_mark) * 3;
	}
	ring_poll_miss(p, now, contended);
	return false;
}

/* 16 reads averaging over this are a system call each (ring_clock_slow). */
#define CLOCK_SLOW_NS 2000u

bool ring_clock_slow(void)
{
	static int slow = -1; /* -1: not known yet */
	int v = __atomic_load_n(&slow, __ATOMIC_RELAXED), unknown = -1;

	if (v < 0) {
		const char *env = getenv("PVIO_CLOCK_SLOW");
		uint64_t t0, t1;

		if (env && (!strcmp(env, "0") || !strcmp(env, "1"))) {
			v = env[0] == '1';
		} else {
			/* The fastest of three tries: a preemption in one is not the clock's. */
			v = 1;
			for (unsigned int try = 0; try < 3 && v; try++) {
				t0 = ring_poll_now();
				for (unsigned int i = 0; i < 15; i++)
					(void)ring_poll_now();
				t1 = ring_poll_now();
				v = t1 - t0 > 16u * CLOCK_SLOW_NS;
			}
		}
		/* Racing first calls: the first verdict stored is everyone's (one clock). */
		if (!__atomic_compare_exchange_n(&slow, &unknown, v, false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			v = unknown;
	}
	return v;
}

uint64_t ring_poll_clock(const struct ring_poll *p)
{
	return p->mode == RING_POLL_OFF ? ring_stat_now() : ring_poll_now();
}

uint64_t ring_stat_now(void)
{
	struct timespec ts;

	if (!ring_clock_slow())
		return ring_poll_now();
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
