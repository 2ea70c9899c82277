/* SPDX-License-Identifier: MIT */
/*
 * adaptive.h - how long a ring's consumer polls before it sleeps: a small self-tuning budget.
 *
 * A consumer that has just done work (taken requests, answered them, taken responses) polls
 * its ring for up to a budget before it re-arms the event and sleeps; an event that comes
 * within the budget is then taken without the cost of a wake-up (an eventfd, an epoll_wait
 * and a scheduler round trip: 15-30 us here, more than the work itself at iodepth 1).
 *
 * The policy is NAPI's idea (keep polling while polling pays, fall back to interrupts when it
 * does not) with the budget sized from the observed gap between one piece of work and the
 * next, as Linux's hybrid block polling sizes its sleep from the mean completion time:
 *   - a hit (work came after g ns, within the budget): the budget grows to cover 2 g, never
 *     shrinks (that poll paid);
 *   - a near miss (the consumer slept, and work came after g ns, g <= cap): polling a little
 *     longer would have caught it, so the budget grows to max(2 budget, 2 g);
 *   - a miss (the budget ran out and nothing came within the cap, or a sleep longer than the
 *     cap): the budget halves, and drops to 0 below RING_POLL_MIN_NS;
 *   - the budget never exceeds the cap, and it runs from the last work: a consumer woken with
 *     no work done recently (a timer, xenstore) sleeps at once, so an idle ring costs no CPU.
 * Linux's hybrid mode sleeps half the mean completion time before polling; not here: a sleep
 * that short needs a high-resolution timer and a system call of its own, and on a machine
 * whose few CPUs are shared, the peer we wait for needs the CPU more than our timer does.
 *
 *   - contention: a spin during which this thread got less than 3/4 of the CPU (preempted,
 *     or its sched_yield let another task run) means the CPU is wanted elsewhere, by the very
 *     peer we wait for on a machine with few CPUs: spinning then delays the event it waits
 *     for.  The budget drops to 0 and polling stays off for RING_POLL_BACKOFF_NS.
 *
 * The policy (ring_poll_deadline/work/miss/kick/contended) is pure logic over a caller-supplied
 * clock (nanoseconds, monotonic): no threads, no system calls, one owner, testable with a fake
 * clock.  ring_poll_spin is the one spin loop built on it that both ends use.  RING_POLL_FIXED
 * keeps --poll-us's fixed budget (no learning, no backoff); RING_POLL_OFF never polls.
 */
#ifndef PVIO_RING_ADAPTIVE_H
#define PVIO_RING_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The adaptive budget's ceiling: beyond it a wake-up costs less than the spinning. */
#define RING_POLL_CAP_NS 50000u
/* A budget below this is not worth a poll: it becomes 0. */
#define RING_POLL_MIN_NS 1000u
/* How long polling stays off after a spin found the CPU contended. */
#define RING_POLL_BACKOFF_NS 20000000u

enum ring_poll_mode {
	RING_POLL_ADAPTIVE = 0, /* the default: the self-tuning budget */
	RING_POLL_FIXED,	/* always the fixed budget (--poll-us N) */
	RING_POLL_OFF,		/* never poll: sleep at once (--poll-us 0) */
};

struct ring_poll {
	enum ring_poll_mode mode;
	uint64_t budget_ns;	/* how long to poll after work */
	uint64_t cap_ns;	/* the budget's ceiling (the fixed budget in RING_POLL_FIXED) */
	uint64_t last_ns;	/* when work was last seen; 0: never */
	uint64_t backoff_until; /* no polling before this (contention) */
	uint64_t hits, misses, contended; /* counters, for tests and statistics */
};

/* The clock callers pass in: CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call). */
static inline uint64_t ring_poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Set p up.  mode RING_POLL_FIXED polls fixed_us after each piece of work; cap_ns 0 means
 * RING_POLL_CAP_NS for the adaptive budget.
 */
void ring_poll_init(struct ring_poll *p, enum ring_poll_mode mode, unsigned int fixed_us,
		    uint64_t cap_ns);

/*
 * Until when the consumer may poll, now that it is about to sleep: an absolute time, <= now
 * when it must sleep at once (no budget, or the budget since the last work ran out).
 */
uint64_t ring_poll_deadline(const struct ring_poll *p, uint64_t now);

/* Work was found at now; polled: while polling (else after a sleep, or on the first call). */
void ring_poll_work(struct ring_poll *p, uint64_t now, bool polled);

/* The consumer started work of its own at now (submitted requests): open the window, learn nothing.
 */
void ring_poll_kick(struct ring_poll *p, uint64_t now);

/* A spin of wall_ns at now got only cpu_ns of CPU: back off when that is under 3/4. */
void ring_poll_contended(struct ring_poll *p, uint64_t now, uint64_t wall_ns, uint64_t cpu_ns);

/*
 * Spin while the budget allows, for at most slice_ns (0: no limit), until ready(arg) is true,
 * yielding the CPU between looks: true if it became ready (a hit, learned when the caller
 * reports the work with polled true), false when the budget ran out (a miss, learned here),
 * there was none, or the slice ended first (then ring_poll_deadline says budget is left).
 * Accounts contention.  ready must not block: it looks at shared memory only.
 */
bool ring_poll_spin(struct ring_poll *p, bool (*ready)(void *arg), void *arg, uint64_t slice_ns);

/* A poll ran to its deadline at now and found nothing: the consumer goes to sleep. */
void ring_poll_miss(struct ring_poll *p, uint64_t now);

#endif
