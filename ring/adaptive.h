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
 *   - a wait polls only soon after work (within the cap since the last work or kick): a
 *     consumer woken with nothing done recently (a timer, xenstore) sleeps at once, so an idle
 *     ring costs no CPU and no timer wakes anything;
 *   - the budget runs from the start of the wait, not from the last work: the work done in
 *     between (submitting I/O, callbacks) does not eat the window;
 *   - a hit (work came while polling): the budget never shrinks and covers four times the gap
 *     (the headroom that keeps a loaded machine's longer gaps from missing);
 *   - a near miss (the consumer slept, and work came after g ns, g <= cap): polling a little
 *     longer would have caught it, so the budget grows to max(2 budget, 4 g);
 *   - a miss (the whole budget went by without work): the budget loses a quarter, a half when
 *     the spin did not even get 3/4 of the CPU (preempted), and drops to 0 below
 *     RING_POLL_MIN_NS, so polling that does not pay stops, and a near miss restarts it;
 *   - a shared hit (the work came while a spin's sched_yield had given the CPU away for less
 *     than the cap: the peer we wait for ran on our CPU, and our spinning was what kept it
 *     from running): the next waits sleep at once, 1, then 2, 4 ... up to RING_POLL_HOLD_MAX
 *     waits for each further shared hit in a row; a hit with the CPU to itself ends the
 *     back-off.  Measured on this 2-CPU kind of machine with both ends pinned on one CPU,
 *     polling without it made iodepth 1 four to six times slower than not polling at all
 *     (results/diskbench.txt).  A yield that gave the CPU away for longer (a task with a time
 *     slice of its own ran) teaches nothing: the spin goes on;
 *   - the budget never exceeds the cap.
 * Linux's hybrid mode sleeps half the mean completion time before polling; not here: a sleep
 * that short needs a high-resolution timer and a system call of its own, and on a machine
 * whose few CPUs are shared, the peer we wait for needs the CPU more than our timer does.
 *
 * The policy (ring_poll_deadline/work/miss/kick) is pure logic over a caller-supplied clock
 * (nanoseconds, monotonic): no threads, no system calls, one owner, testable with a fake
 * clock.  ring_poll_spin is the one spin loop built on it that both ends use.  RING_POLL_FIXED
 * keeps --poll-us's fixed budget (no learning, no backoff); RING_POLL_OFF never polls.
 * The counters (hits, misses, sleeps) say what polling did whatever the machine's load:
 * waits that ended in work caught spinning, budgets that ran out, and waits that slept.
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
/*
 * ring_poll_spin's own rhythm: a CPU pause between looks, a sched_yield at most this often (a
 * yield per look cost a system call each), the thread's CPU clock (a system call too) read first
 * after RING_POLL_CPU_NS of spinning and again when a spin runs out (adaptive: also around each
 * yield, whose reading after it serves as the first): so a spin that hits within 10 us makes no
 * system call at all.
 */
#define RING_POLL_YIELD_NS 10000u
#define RING_POLL_CPU_NS   10000u
/* A yield whose wall time passes its CPU time by more than this let another task run. */
#define RING_POLL_RAN_NS 2000u
/* The longest run of waits that sleep at once after shared hits in a row. */
#define RING_POLL_HOLD_MAX 8u

enum ring_poll_mode {
	RING_POLL_ADAPTIVE = 0, /* the default: the self-tuning budget */
	RING_POLL_FIXED,	/* always the fixed budget (--poll-us N) */
	RING_POLL_OFF,		/* never poll: sleep at once (--poll-us 0) */
};

struct ring_poll {
	enum ring_poll_mode mode;
	uint64_t budget_ns; /* how long to poll after work */
	uint64_t cap_ns;    /* the budget's ceiling (the fixed budget in RING_POLL_FIXED) */
	uint64_t last_ns;   /* when work was last seen or started; 0: never */
	uint64_t until_ns;  /* the current wait's deadline, once its spin began; 0: none */
	uint64_t wait_ns;   /* when the current wait began (ring_poll_begin); 0: none */
	bool spent;	    /* this wait's budget ran out: no polling until work comes */
	uint64_t hits;	    /* work reported as found while spinning (ring_poll_work) */
	uint64_t misses;    /* spins whose whole budget went by without work */
	uint64_t sleeps;    /* waits that went to sleep (after a miss, or with no budget) */
	uint64_t contended; /* misses whose spin got under 3/4 of the CPU, and shared hits */
	uint32_t hold;	    /* adaptive: waits left that sleep at once (after a shared hit) */
	uint32_t hold_next; /* the hold the next shared hit in a row sets; 0: 1 */
};

/* The clock callers pass in: CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call). */
static inline uint64_t ring_poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Whether reading CLOCK_MONOTONIC costs a system call in this process, measured once (16 reads
 * averaging over 2 us): in a Xen PV domain under QEMU/TCG the vDSO cannot read Xen's clock and
 * each read is a trip through Xen, 18 us (results/xen-blk.txt); natively a read is 20-50 ns.
 * There a spin, which reads the clock at every look, is no spin, and timing statistics cost
 * more than what they time: consumers poll off unless told a fixed budget, and time statistics
 * with ring_stat_now.  PVIO_CLOCK_SLOW=1 or 0 in the environment decides instead (tests).
 */
bool ring_clock_slow(void);
/*
 * A timestamp for statistics that sum intervals: ring_poll_now, or where the clock is slow
 * CLOCK_MONOTONIC_COARSE (the vDSO's copy of the last tick, no read of the clock).  A coarse
 * interval is 0 or a tick, but over many the sum is right on average.
 */
uint64_t ring_stat_now(void);

struct ring_poll;
/*
 * The clock to hand p's calls: ring_poll_now, or for a consumer that never polls (mode
 * RING_POLL_OFF, as where the clock is slow) ring_stat_now, since nothing then needs better.
 */
uint64_t ring_poll_clock(const struct ring_poll *p);

/*
 * Set p up.  mode RING_POLL_FIXED polls fixed_us after each piece of work; cap_ns 0 means
 * RING_POLL_CAP_NS for the adaptive budget.
 */
void ring_poll_init(struct ring_poll *p, enum ring_poll_mode mode, unsigned int fixed_us,
		    uint64_t cap_ns);

/*
 * Until when the consumer may poll, now that it is about to sleep: an absolute time, <= now
 * when it must sleep at once (no budget, no work within the cap, or this wait's budget ran
 * out).  A wait's deadline is fixed by its first spin (ring_poll_spin) until work comes.
 */
uint64_t ring_poll_deadline(const struct ring_poll *p, uint64_t now);

/*
 * Work was found at now; polled: while polling (else after a sleep, or on the first call).  The
 * budget learns from the time since the wait began (else since the last work).
 */
void ring_poll_work(struct ring_poll *p, uint64_t now, bool polled);

/* The consumer started work of its own at now (submitted requests): open the window, learn nothing.
 */
void ring_poll_kick(struct ring_poll *p, uint64_t now);

/*
 * The consumer is about to wait at now: the deadline of its poll, fixed for the wait (the first
 * call of a wait notes its start), or 0 when it must sleep at once (counted as a sleep).
 */
uint64_t ring_poll_begin(struct ring_poll *p, uint64_t now);

/*
 * Spin while the budget allows, for at most slice_ns (0: no limit), until ready(arg) is true,
 * pausing between looks and yielding the CPU now and then: true if it became ready (a hit,
 * learned when the caller reports the work with polled true), false when the budget ran out (a
 * miss, learned here), there was none, or the slice ended first (then ring_poll_deadline says
 * budget is left).  A miss is contended when the spin got under 3/4 of the CPU from its first
 * RING_POLL_CPU_NS to its end (its CPU clock, read then and at the end); the spin never stops
 * early on that reading.  Adaptive only: a hit right after a yield whose wall time passed its
 * CPU time by more than RING_POLL_RAN_NS and at most the cap is a shared hit
 * (ring_poll_shared).  Counts the miss (with its contention) and the sleep; the hit is counted
 * when the caller reports the work.  ready must not block: it looks at shared memory only.
 */
bool ring_poll_spin(struct ring_poll *p, bool (*ready)(void *arg), void *arg, uint64_t slice_ns);

/*
 * A poll ran to its deadline at now and found nothing: the consumer goes to sleep.  contended:
 * the spin got under 3/4 of the CPU it ran for (the budget backs off faster).
 */
void ring_poll_miss(struct ring_poll *p, uint64_t now, bool contended);

/*
 * The hit a spin is about to report came while another task had its CPU for a while short of
 * the cap (see the policy): the adaptive mode holds polling off for the next waits.
 */
void ring_poll_shared(struct ring_poll *p);

#endif
