/* SPDX-License-Identifier: MIT */
/*
 * eoi.h - the late-EOI rule against event storms (XSA-332, as Linux's xen_irq_lateeoi), shared
 * by every back-end's rings (pvio-netback's queues and control ring, pvio-blkback's rings).
 *
 * Why here: the rule looks at nothing but a ring's request count and the clock, which every
 * ring of every back-end has; ring/ is the lowest layer both back-ends import (the driver
 * domain's loop, which acts on the answer, sits above them).
 *
 * The loop leaves a ring's port masked from its event until the ring has been processed, then
 * asks here when to unmask it.  An event after which no request came off the ring is spurious;
 * after RING_EOI_SPURIOUS_FREE of them in a row, each further one keeps the port masked longer,
 * doubling from 1 ms to at most RING_EOI_DELAY_MAX_MS, so that a guest notifying in a loop costs
 * a bounded number of wake-ups a second.  One real request ends the run, so a guest doing I/O is
 * never held.  Nothing is lost meanwhile: a masked port keeps its pending bit, and the unmask
 * delivers it.
 */
#ifndef PVIO_RING_EOI_H
#define PVIO_RING_EOI_H

#include <stdint.h>

#define RING_EOI_SPURIOUS_FREE 4u
#define RING_EOI_DELAY_MAX_MS  1000u

/* One ring's state; zero it to start. */
struct ring_eoi {
	uint64_t seen;	  /* work at the last EOI */
	unsigned int run; /* EOIs in a row that found no request */
};

/*
 * An EOI: work counts the ring's requests ever taken (any monotonic count), now is
 * CLOCK_MONOTONIC in ns.  Counts a spurious event in *spurious and a delayed unmask in
 * *delayed.  Returns 0: unmask now; else the time (ns) to unmask at.
 */
uint64_t ring_eoi_rule(struct ring_eoi *e, uint64_t work, uint64_t now, uint64_t *spurious,
		       uint64_t *delayed);

#endif
