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

bool xs_daemon_handle(struct xs_daemon *d, const struct epoll_event *evs, int n)
{
	struct xs_src *src;
	int i;

	/* A new turn: every domain's request budget is whole again (xs-conn.c). */
	d->turn++;
	for (i = 0; i < n; i++) {
		src = evs[i].data.ptr;
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
