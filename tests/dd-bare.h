/* SPDX-License-Identifier: MIT */
/*
 * dd-bare.h - a bare driver-domain core for the queue-thread tests: one queue thread, no
 * xenstore nor control plane (dd_core_init wants both), and a loopback event channel of
 * dom0's whose far end is bound on the thread's own handle, as a back-end ring's port is.
 */
#ifndef PVIO_TESTS_DD_BARE_H
#define PVIO_TESTS_DD_BARE_H

#include "driverdomain/dd-core.h"
#include "tests/helpers.h"

/* Set up c with its one thread t (not started); *local: the port to notify, *remote: the
 * ring's.  0 or a negative errno. */
static inline int t_dd_bare(struct dd_core *c, struct dd_thread *t, struct hv *hv,
			    evtchn_port_t *local, evtchn_port_t *remote)
{
	int ret;

	pthread_mutex_init(&c->lock, NULL);
	TAILQ_INIT(&c->failed);
	c->failfd = -1;
	c->threads = t;
	c->nthreads = 1;
	t->c = c;
	if ((ret = dd_thread_open(t, NULL)) || (ret = hv_evtchn_alloc_unbound(hv, 0, local)))
		return ret;
	return hv_evtchn_bind(dd_core_thread_hv(c, 0), 0, *local, remote);
}

/* Wait (at most 10 s) for r's process calls to reach n: true if they did. */
static inline bool t_dd_calls_reach(struct dd_ring *r, unsigned long long n)
{
	for (int i = 0; i < 1000 && atomic_load(&r->calls) < n; i++)
		t_msleep(10);
	return atomic_load(&r->calls) >= n;
}

#endif
