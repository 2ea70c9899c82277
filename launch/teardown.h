/* SPDX-License-Identifier: MIT */
/*
 * teardown.h - what the toolstack does when a domain is destroyed or dies, as libxl's domain
 * destroy does: every device whose front-end is the domain gets online=0 and Closing on its
 * back-end side (unless already Closed), the back-ends get a bounded time to reach Closed, both
 * directories are removed (forced after the wait), and so is /local/domain/<domid>.
 *
 * In the embedded mode nothing else plays xl's part of watching for domain deaths: the reaper
 * (teardown_reap), which launch/embed.c runs beside pvio-xenstored, does it for a domain whose
 * processes all exited or were killed.
 *
 * Every call returns a count or 0, or a negative errno; messages go to the log given.
 */
#ifndef PVIO_LAUNCH_TEARDOWN_H
#define PVIO_LAUNCH_TEARDOWN_H

#include <xen/xen.h>
#include <xenstore.h>

#include "hv/log.h"

/* libxl's LIBXL_DESTROY_TIMEOUT: how long back-ends get to reach Closed. */
#define TEARDOWN_TIMEOUT_MS 10000

/*
 * Remove every device whose front-end is domid, and its xenstore home.  The number of back-ends
 * that did not reach Closed within timeout_ms (all devices share it) and were removed anyway,
 * or a negative errno.
 */
int teardown_devices(struct xs_handle *xs, domid_t domid, int timeout_ms, struct pvio_log *log);

/*
 * What the launcher made on the host for domain domid of the runtime directory rundir and that
 * outlives its processes: its /dev/net/tun node and its cgroups (launch/sandbox.h, cgroup.h).
 * Removed once the domain is dead; 0 or the first negative errno (what is absent is fine).
 */
int teardown_leftovers(const char *rundir, domid_t domid);

/*
 * The reaper: read pvio-hv's death stream death_fd and tear every dead domain's devices down and
 * its leftovers in rundir (teardown_leftovers), until the stream ends (pvio-hv exited) or SIGTERM
 * or SIGINT arrives.  0, or a negative errno.
 */
int teardown_reap(int death_fd, struct xs_handle *xs, const char *rundir, struct pvio_log *log);

#endif
