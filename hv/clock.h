/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the monotonic millisecond clock that deadlines and ticks are measured on, once for
 * every layer above hv/ (xenbus, the front-ends).
 */
#ifndef PVIO_HV_CLOCK_H
#define PVIO_HV_CLOCK_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
static inline long long hv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
