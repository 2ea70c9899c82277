/* SPDX-License-Identifier: MIT */
/*
 * latency.h - latency samples for the flood tests: a victim measures the
 * same operation before and during a flood, and the flood may cost at most
 * twice the baseline median plus a small absolute floor.  The floor is not
 * a performance target: it keeps scheduling noise on a loaded 2-core CI
 * machine (a 1 ms tick, other tests running) from failing a test whose
 * question is only "does the victim keep its service?"; a starved victim
 * (one that waits behind the flooder's backlog or gets no descriptors) is
 * off by orders of magnitude, or fails outright.
 */
#ifndef PVIO_TESTS_LATENCY_H
#define PVIO_TESTS_LATENCY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Samples per measurement. */
#define T_LAT_SAMPLES 200
/* The absolute floor on top of twice the baseline median, in microseconds. */
#define T_LAT_FLOOR_US 2000

/* Microseconds on CLOCK_MONOTONIC. */
static inline uint64_t t_lat_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline int t_lat_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of n samples (sorts them). */
static inline uint64_t t_lat_median(uint64_t *us, size_t n)
{
	qsort(us, n, sizeof(*us), t_lat_cmp);
	return us[n / 2];
}

/*
 * A floor for medians of many samples taken in one run (flood-fair): a median
 * needs no allowance for a loaded machine's occasional long stall, only for
 * the resolution of what is measured: whole microseconds at each end of a
 * sample, and one wake-up of a client that a busy daemon no longer preempts
 * (about 20 us here; a 2-core VM under load: see flood-fair.c).
 */
#define T_LAT_MEDIAN_FLOOR_US 20

/* Whether a median under flood keeps within 2x the baseline median plus floor_us. */
static inline bool t_lat_fair_floor(uint64_t base_us, uint64_t flood_us, uint64_t floor_us)
{
	return flood_us <= 2 * base_us + floor_us;
}

/* Whether a median under flood keeps within 2x the baseline median plus the floor. */
static inline bool t_lat_fair(uint64_t base_us, uint64_t flood_us)
{
	return t_lat_fair_floor(base_us, flood_us, T_LAT_FLOOR_US);
}

#endif
