/* SPDX-License-Identifier: MIT */
/*
 * credit.c - the TX credit scheduler (see credit.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "backend/net/credit.h"

/* The longest window taken: beyond it usec * 1000 could overflow. */
#define CREDIT_USEC_MAX 0xFFFFFFFFu

int netback_rate_parse(const char *s, uint64_t *bytes, uint64_t *usec)
{
	uint64_t b, u;
	int n = -1;

	if (!s || sscanf(s, "%" SCNu64 ",%" SCNu64 "%n", &b, &u, &n) != 2 || s[n] || s[0] == '-' ||
	    u > CREDIT_USEC_MAX)
		return -EINVAL;
	*bytes = b;
	*usec = u;
	return 0;
}

static void credit_add(struct netback_credit *c)
{
	uint64_t cap = c->bytes > NETBACK_CREDIT_BURST_MIN ? c->bytes : NETBACK_CREDIT_BURST_MIN;

	/* cap >= bytes: no overflow either way. */
	c->remaining = c->remaining > cap - c->bytes ? cap : c->remaining + c->bytes;
}

void netback_credit_set(struct netback_credit *c, uint64_t bytes, uint64_t usec, uint64_t now)
{
	bool was_limited = c->bytes != 0;

	if (!bytes || !usec || usec > CREDIT_USEC_MAX) {
		*c = (struct netback_credit){ 0 };
		return;
	}
	c->bytes = bytes;
	c->period_ns = usec * 1000u;
	if (!was_limited) {
		c->remaining = bytes;
		c->window_start = now;
		c->waiting = false;
	} else if (c->waiting) {
		c->deadline = now;
	} else if (c->remaining > bytes) {
		c->remaining = bytes;
	}
}

bool netback_credit_take(struct netback_credit *c, uint32_t size, uint64_t now)
{
	if (!c->bytes)
		return true;
	if (c->waiting) {
		if (now < c->deadline)
			return false;
		/* The window the frame waited for has begun: its credit is due. */
		c->window_start = c->deadline;
		c->waiting = false;
		credit_add(c);
	} else if (now - c->window_start >= c->period_ns) {
		c->window_start = now;
		credit_add(c);
	}
	if (size > c->remaining) {
		c->deadline = c->window_start + c->period_ns;
		c->waiting = true;
		return false;
	}
	c->remaining -= size;
	return true;
}
