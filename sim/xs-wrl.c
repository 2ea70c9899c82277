/* SPDX-License-Identifier: MIT */
/*
 * xs-wrl.c - the per-domain write-rate limit (XSA-206), a token bucket
 * like cxenstored's: a domain refills "write-rate" writes a second up to
 * "write-burst" saved, and each successful write outside a transaction,
 * and each transaction end, costs one.  A domain whose credit goes below
 * zero is not read from (its requests wait in its sockets, nothing fails)
 * until time has refilled it; the epoll loop sleeps no longer than that.
 * dom0 is exempt.  Unlike cxenstored there is no global reserve shared
 * between domains: each domain starts with a full burst.
 */
#include "config.h"

#include <stdint.h>

#include "hv/clock.h"
#include "sim/xs-daemon.h"

#define XS_WRL_COST 1000 /* credit one write costs */

/* Add the credit earned since the last refill, up to the burst. */
static void xs_wrl_refill(const struct xs_quota *q, struct xs_wrl *w, uint64_t now)
{
	int64_t max = (int64_t)q->wrl_burst * XS_WRL_COST;
	uint64_t ms = now - w->stamp;

	/* rate writes/s = rate * XS_WRL_COST / 1000 credit per millisecond */
	if (ms > 1000000)
		ms = 1000000;
	w->credit += (int64_t)ms * q->wrl_rate;
	if (w->credit > max)
		w->credit = max;
	w->stamp = now;
}

void xs_wrl_init(struct xs_daemon *d, struct xs_domain *dom)
{
	dom->wrl.credit = (int64_t)d->quota.wrl_burst * XS_WRL_COST;
	dom->wrl.stamp = (uint64_t)hv_now_ms();
	dom->wrl.throttled = 0;
}

void xs_wrl_debit(struct xs_daemon *d, unsigned int domid)
{
	struct xs_domain *dom = domid ? xs_domain_find(d, domid) : NULL;

	if (!dom)
		return;
	xs_wrl_refill(&d->quota, &dom->wrl, (uint64_t)hv_now_ms());
	dom->wrl.credit -= XS_WRL_COST;
	if (dom->wrl.credit < 0)
		dom->wrl.throttled++;
}

bool xs_wrl_allows(struct xs_daemon *d, unsigned int domid)
{
	struct xs_domain *dom = domid ? xs_domain_find(d, domid) : NULL;

	if (!dom || dom->wrl.credit >= 0)
		return true;
	xs_wrl_refill(&d->quota, &dom->wrl, (uint64_t)hv_now_ms());
	return dom->wrl.credit >= 0;
}

int xs_wrl_timeout(struct xs_daemon *d)
{
	const struct xs_domain *dom;
	int64_t ms, best = -1;

	for (dom = d->domains; dom; dom = dom->next) {
		if (dom->wrl.credit >= 0)
			continue;
		ms = (-dom->wrl.credit + d->quota.wrl_rate - 1) / d->quota.wrl_rate;
		if (best < 0 || ms < best)
			best = ms;
	}
	return best > 1000 ? 1000 : (int)best;
}
