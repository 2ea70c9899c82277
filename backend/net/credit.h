/* SPDX-License-Identifier: MIT */
/*
 * credit.h - the TX credit scheduler behind a vif's `rate` ("<bytes>,<usec>", as libxl writes
 * it and Linux netback reads it): a queue may send credit bytes per window of usec
 * microseconds.  A frame larger than the credit left waits until the window it would fit in;
 * unused credit carries over up to max(bytes, 128 KiB), so a frame of up to 64 KiB always
 * passes eventually, however small the rate.  Windows follow each other back to back: each
 * one's credit is due at its start even to a queue that looks only later (unlike Linux, which
 * starts a new window at the first look after an idle spell and so loses the idle ones').
 *
 * Pure arithmetic on a caller-given clock (nanoseconds, monotonic): the caller turns the
 * deadline into a timer it sleeps on.  Not thread-safe.
 */
#ifndef PVIO_BACKEND_NET_CREDIT_H
#define PVIO_BACKEND_NET_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

/* The carry-over ceiling below a rate's own window size: room for the largest frame. */
#define NETBACK_CREDIT_BURST_MIN 131072u

struct netback_credit {
	uint64_t bytes;	       /* credit per window; 0: no limit */
	uint64_t period_ns;    /* the window */
	uint64_t remaining;    /* credit left */
	uint64_t window_start; /* when the current window began */
	uint64_t deadline;     /* when the waiting frame may be tried again, if waiting */
	bool waiting;	       /* a frame waits for deadline */
};

/*
 * Parse a `rate` value, "<bytes>,<usec>": 0 with *bytes and *usec, or -EINVAL (the caller then
 * applies no limit, as Linux netback does with a value it cannot read).
 */
int netback_rate_parse(const char *s, uint64_t *bytes, uint64_t *usec);

/*
 * Set the rate at time now; bytes or usec 0: no limit.  A first rate, or one that finds a
 * frame waiting, starts a window now with its credit (the frame tries it at once, as Linux
 * fires its credit timer); otherwise credit left over beyond the new window is cut to it.
 */
void netback_credit_set(struct netback_credit *c, uint64_t bytes, uint64_t usec, uint64_t now);

/*
 * May a frame of size bytes go at time now?  true: its credit is taken.  false: it must wait;
 * c->deadline says until when (nothing changes before it).
 */
bool netback_credit_take(struct netback_credit *c, uint32_t size, uint64_t now);

#endif
