/* SPDX-License-Identifier: MIT */
/*
 * xs-write-limit.c - the per-domain write-rate limit (XSA-206): a domain
 * writing faster than "write-rate" past its "write-burst" is delayed, not
 * failed (every write succeeds), and CONTROL quota DOMID counts how often
 * it was throttled; dom0 writing as fast is never throttled.  Times are
 * not asserted: the counter says what happened.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/*
 * 300 writes at 100 a second past a burst of 10: throttled unless a write takes more than 9 ms
 * (a loaded machine makes 1 ms and more), and about 3 s long when it is.
 */
#define WRITES 300

/* The "write-throttled" count of CONTROL quota domid, or -1. */
static long throttled(struct xs_handle *h, unsigned int domid)
{
	char arg[16], *r, *p;
	long n = -1;

	snprintf(arg, sizeof(arg), "%u", domid);
	r = xs_control_command(h, "quota", arg, (unsigned int)strlen(arg) + 1);
	p = r ? strstr(r, "write-throttled  :") : NULL;
	if (p)
		n = strtol(p + 18, NULL, 10);
	free(r);
	return n;
}

/* WRITES writes through h below dir: 0, or 1 at the first failure. */
static int write_many(struct xs_handle *h, const char *dir)
{
	char path[64];
	int i;

	for (i = 0; i < WRITES; i++) {
		snprintf(path, sizeof(path), "%s/k%d", dir, i % 50);
		T_CHECK(xs_write(h, XBT_NULL, path, "v", 1), "write %d of %s", i, dir);
	}
	return 0;
}

int main(void)
{
	static const char *const extra[] = { "-Q", "write-rate=100", "-Q", "write-burst=10", NULL };
	struct xs_handle *h, *g;

	T_CHECK(t_xs_start((const char *const *)extra) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, 5, 0, 0), "INTRODUCE 5");
	T_CHECK(throttled(h, 5) == 0, "not throttled before writing");
	T_CHECK((g = t_xs_open_domain(5)), "domain xs_open");
	if (write_many(g, "/local/domain/5/d") || write_many(h, "/local/domain/0/d"))
		return T_FAIL;
	T_CHECK(throttled(h, 5) > 0, "the domain was throttled: %ld", throttled(h, 5));
	T_CHECK(throttled(h, 0) == 0, "dom0 never is");
	xs_close(g);
	xs_close(h);
	return T_PASS;
}
