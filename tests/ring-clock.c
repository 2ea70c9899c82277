/*
 * ring-clock: ring_clock_slow and ring_stat_now (ring/adaptive.h).  PVIO_CLOCK_SLOW=1 makes the
 * clock slow, and then ring_stat_now is CLOCK_MONOTONIC_COARSE (it moves a tick at a time, never
 * ahead of CLOCK_MONOTONIC); PVIO_CLOCK_SLOW=0 makes it fast, and ring_stat_now is
 * CLOCK_MONOTONIC.  Unset, the measurement decides: natively it finds the clock fast (a slow
 * verdict here is printed, not failed: a preempted machine may give one).  Each case runs in a
 * child of its own, since the verdict is taken once per process.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring/adaptive.h"
#include "tests/helpers.h"

static uint64_t coarse_res_ns(void)
{
	struct timespec ts;

	clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* In a child: the verdict for env (NULL: unset) must be want (-1: any); 0 or 1. */
static int child(const char *env, int want)
{
	uint64_t a, b, fine, res = coarse_res_ns();
	bool slow;

	t_time_limit(T_TIME_LIMIT_S); /* alarm() is not inherited across fork */
	if (env)
		setenv("PVIO_CLOCK_SLOW", env, 1);
	else
		unsetenv("PVIO_CLOCK_SLOW");
	slow = ring_clock_slow();
	if (want >= 0)
		T_CHECK(slow == (bool)want, "PVIO_CLOCK_SLOW=%s: slow %d", env ? env : "(unset)",
			slow);
	else if (slow)
		printf("note: the clock measured slow here (a loaded machine?)\n");
	T_CHECK(ring_clock_slow() == slow, "the verdict changed");
	fine = ring_poll_now();
	a = ring_stat_now();
	b = ring_stat_now();
	T_CHECK(a <= b, "ring_stat_now went back: %llu %llu", (unsigned long long)a,
		(unsigned long long)b);
	if (slow) {
		/* The coarse clock: never ahead, at most a tick (and a little) behind; by ticks. */
		T_CHECK(a <= ring_poll_now(), "the coarse clock ahead of the fine one");
		T_CHECK(a + 2 * res + 1000000 >= fine, "coarse %llu ns behind (tick %llu)",
			(unsigned long long)(fine - a), (unsigned long long)res);
		a = ring_stat_now();
		while ((b = ring_stat_now()) == a)
			;
		T_CHECK(b - a >= res / 2, "a coarse step of %llu ns (tick %llu)",
			(unsigned long long)(b - a), (unsigned long long)res);
	} else {
		T_CHECK(b - a < 1000000000u, "a fine step of %llu ns", (unsigned long long)(b - a));
	}
	return 0;
}

static int run(const char *env, int want)
{
	pid_t pid = fork();
	int st;

	T_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(child(env, want));
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"PVIO_CLOCK_SLOW=%s failed", env ? env : "(unset)");
	return 0;
}

int main(void)
{
	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(run("1", 1) == 0 && run("0", 0) == 0 && run(NULL, -1) == 0, "cases");
	return 0;
}
