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

/* Add n windows' credit, up to the ceiling. */
static void credit_add(struct netback_credit *c, uint64_t n)
{
	uint64_t cap = c->bytes > NETBACK_CREDIT_BURST_MIN ? c->bytes : NETBACK_CREDIT_BURST_MIN;
	uint64_t add = n > cap / c->bytes ? cap : n * c->bytes;

	c->remaining = c->remaining > cap - add ? cap : c->remaining + add;
}

/*
 * Credit for every window begun since the current one: a queue woken late, or idle, loses none
 * of it (up to the ceiling), and the windows stay where they were.
 */
static void credit_catch_up(struct netback_credit *c, uint64_t now)
{
	uint64_t n = (now - c->window_start) / c->period_ns;

	if (!n)
		return;
	c->window_start += n * c->period_ns;
	credit_add(c, n);
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
	if (!was_limited || c->waiting) {
		/* A new window now, with its credit (a waiting frame tries it at once). */
		c->remaining = was_limited ? c->remaining : 0;
		c->window_start = now;
		c->deadline = now;
		credit_add(c, 1);
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
		c->waiting = false;
	}
	credit_catch_up(c, now);
	if (size > c->remaining) {
		c->deadline = c->window_start + c->period_ns;
		c->waiting = true;
		return false;
	}
	c->remaining -= size;
	return true;
}
