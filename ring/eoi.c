/* SPDX-License-Identifier: MIT */
/* eoi.c - the late-EOI rule (eoi.h). */
#include "config.h"

#include <limits.h>

#include "ring/eoi.h"

uint64_t ring_eoi_rule(struct ring_eoi *e, uint64_t work, uint64_t now, uint64_t *spurious,
		       uint64_t *delayed)
{
	unsigned int shift;

	if (work != e->seen) {
		e->seen = work;
		e->run = 0;
		return 0;
	}
	(*spurious)++;
	if (e->run < UINT_MAX)
		e->run++;
	if (e->run <= RING_EOI_SPURIOUS_FREE)
		return 0;
	(*delayed)++;
	shift = e->run - RING_EOI_SPURIOUS_FREE - 1;
	/* 1 ms << 10 passes the ceiling already. */
	return now + (shift >= 10 ? RING_EOI_DELAY_MAX_MS : 1u << shift) * 1000000ull;
}
