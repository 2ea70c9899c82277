/* SPDX-License-Identifier: MIT */
/*
 * xs-daemon.c - one turn of pvio-xenstored's event loop: hand each epoll
 * event to the module that owns its source, then tidy up.  Shared by the
 * loop in xs-main.c and the fuzz target in xs-fuzz.c, so both run the same
 * code.
 */
#include "config.h"

#include <sys/epoll.h>

#include "sim/xs-daemon.h"

/* Whether evs[i] is a connection of dom0's. */
static bool xs_event_is_dom0(const struct epoll_event *ev)
{
	const struct xs_src *src = ev->data.ptr;

	return src->kind == XS_SRC_CONN && ((const struct xs_conn *)src)->domid == 0;
}

/*
 * For each guest domain with connections readable this turn, the one to read: the one
 * served longest ago.  epoll puts a level-triggered source back on its ready list in the
 * order it reported them, so a connection that always has a request waiting would
 * otherwise come first in every turn and take its domain's one request (XS_DOMAIN_TURN_REQS
 * in xs-conn.c), starving the domain's other connections (tests/xs-conn-rr).
 */
static void xs_daemon_pick(struct xs_daemon *d, const struct epoll_event *evs, int n)
{
	struct xs_domain *dom;
	struct xs_conn *c;
	int i;

	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->src.kind != XS_SRC_CONN || !c->domid || !(evs[i].events & EPOLLIN))
			continue;
		dom = xs_domain_find(d, c->domid);
		if (!dom)
			continue;
		if (dom->pick_turn != d->turn || c->served < dom->pick->served) {
			dom->pick = c;
			dom->pick_turn = d->turn;
		}
	}
}

bool xs_daemon_handle(struct xs_daemon *d, const struct epoll_event *evs, int n)
{
	uint64_t first = 0; /* the events handled in the first pass */
	struct xs_src *src;
	int i;

	/* A new turn: every domain's request budget is whole again (xs-conn.c). */
	d->turn++;
	d->guest_reqs_prev = d->guest_reqs_turn;
	d->guest_reqs_turn = d->guest_reqs;
	xs_daemon_pick(d, evs, n);
	/*
	 * dom0's connections first: its requests wait for no guest's request of this turn (a
	 * flooding guest's come before them in epoll's order about half the time).  The second
	 * pass skips them by index, not by looking again: xs_conn_io may have freed one.
	 */
	for (i = 0; i < n && i < 64; i++) {
		if (!xs_event_is_dom0(&evs[i]))
			continue;
		first |= UINT64_C(1) << i;
		xs_conn_io(d, (struct xs_conn *)evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < n; i++) {
		src = evs[i].data.ptr;
		if (i < 64 && (first & (UINT64_C(1) << i)))
			continue;
		if (src->kind == XS_SRC_SIGNAL)
			return false;
		if (src->kind == XS_SRC_LISTEN && src->fd >= 0)
			xs_conn_accept(d, (struct xs_domain *)src);
		else if (src->kind == XS_SRC_CONN)
			xs_conn_io(d, (struct xs_conn *)src, evs[i].events);
		else if (src->kind == XS_SRC_HV && src->fd >= 0)
			xs_hv_read(d);
	}
	xs_conn_service(d);
	xs_domain_bury(d);
	return true;
}
