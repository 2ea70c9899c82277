/* SPDX-License-Identifier: MIT */
/*
 * net-credit.c - the TX credit scheduler behind a vif's `rate` (backend/net/credit.h), on a
 * clock of the test's own: a frame over the credit waits exactly until the window that has
 * credit for it begins, not a nanosecond less, and goes at once then; the credit of windows
 * nobody looked at is kept, up to the burst ceiling; a rate change frees a waiting frame at once;
 * `rate` values parse as libxl writes them.
 */
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "backend/net/credit.h"
#include "tests/helpers.h"

#define MS 1000000ull /* ns */

static int window(void)
{
	struct netback_credit c = { 0 };

	/* 10000 bytes per 10 ms, from t = 1 s. */
	netback_credit_set(&c, 10000, 10000, 1000 * MS);
	T_CHECK(netback_credit_take(&c, 6000, 1000 * MS), "first frame");
	T_CHECK(netback_credit_take(&c, 4000, 1001 * MS), "the window's last bytes");
	T_CHECK(!netback_credit_take(&c, 1, 1002 * MS), "over the credit");
	T_CHECK(c.waiting && c.deadline == 1010 * MS, "deadline %llu, not the window's end",
		(unsigned long long)c.deadline);
	T_CHECK(!netback_credit_take(&c, 1, 1010 * MS - 1), "went before the deadline");
	T_CHECK(netback_credit_take(&c, 1500, 1010 * MS), "held at the deadline");
	/* The next window starts where the waited-for one did, not when the thread woke. */
	T_CHECK(netback_credit_take(&c, 8500, 1015 * MS), "the rest of that window");
	T_CHECK(!netback_credit_take(&c, 1, 1016 * MS) && c.deadline == 1020 * MS,
		"second deadline %llu", (unsigned long long)c.deadline);
	return 0;
}

static int big_frame(void)
{
	struct netback_credit c = { 0 };
	uint64_t t = 0;
	unsigned int waits = 0;

	/* 1000 bytes per ms: a 64 KiB frame needs 65 windows of carried-over credit. */
	netback_credit_set(&c, 1000, 1000, t);
	while (!netback_credit_take(&c, 65535, t)) {
		T_CHECK(c.deadline > t, "deadline not ahead");
		t = c.deadline;
		waits++;
	}
	T_CHECK(waits == 65 && t == 65 * MS, "64 KiB went after %u windows at %llu", waits,
		(unsigned long long)t);
	/* Idle windows' credit is kept, up to the burst ceiling. */
	T_CHECK(netback_credit_take(&c, 0, 70 * MS + 5) && c.remaining == 465 + 5 * 1000,
		"five windows later: %llu", (unsigned long long)c.remaining);
	T_CHECK(c.window_start == 70 * MS, "windows moved: %llu",
		(unsigned long long)c.window_start);
	T_CHECK(netback_credit_take(&c, 0, 10000 * MS) && c.remaining == NETBACK_CREDIT_BURST_MIN,
		"ceiling: %llu", (unsigned long long)c.remaining);
	return 0;
}

static int change(void)
{
	struct netback_credit c = { 0 };

	netback_credit_set(&c, 1000, 1000000, 0); /* 1000 bytes a second */
	T_CHECK(netback_credit_take(&c, 1000, 0) && !netback_credit_take(&c, 500, 1), "exhausted");
	T_CHECK(c.deadline == 1000 * MS, "deadline");
	netback_credit_set(&c, 100000, 1000, 2); /* 100 MB/s: the held frame goes now */
	T_CHECK(c.deadline == 2 && netback_credit_take(&c, 500, 2), "freed by the change");
	netback_credit_set(&c, 0, 0, 3);
	T_CHECK(netback_credit_take(&c, 65535, 3) && netback_credit_take(&c, 65535, 3), "no limit");
	return 0;
}

static int parse(void)
{
	uint64_t b, u;

	T_CHECK(netback_rate_parse("2000000,1000000", &b, &u) == 0 && b == 2000000 && u == 1000000,
		"parse");
	T_CHECK(netback_rate_parse("1,", &b, &u) < 0 && netback_rate_parse("x", &b, &u) < 0 &&
		    netback_rate_parse("5,6x", &b, &u) < 0 &&
		    netback_rate_parse("-5,6", &b, &u) < 0 &&
		    netback_rate_parse("5,99999999999", &b, &u) < 0,
		"bad values refused");
	return 0;
}

int main(void)
{
	alarm(T_TIME_LIMIT_S);
	T_CHECK(window() == 0, "window");
	T_CHECK(big_frame() == 0, "big frame");
	T_CHECK(change() == 0, "change");
	T_CHECK(parse() == 0, "parse");
	return T_PASS;
}
