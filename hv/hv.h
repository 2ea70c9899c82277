/* SPDX-License-Identifier: MIT */
/*
 * hv.h - the hypervisor seam: grants, event channels and the caller's domain.
 *
 * One handle per process, opened once.  Every call returns 0 (or a value
 * documented as >= 0) on success and a negative errno on failure; nothing
 * here exits or prints except through the logger given at open.
 *
 * Two providers sit behind this API and are chosen at run time:
 *   "xen"  libxengntshr, libxengnttab, libxenevtchn, libxenctrl on a Xen host;
 *   "sim"  the embedded hypervisor, pvio-hv(8), over a Unix socket.
 * $PVIO_HV=xen|sim forces one; otherwise xen when /dev/xen/evtchn exists,
 * else sim.  pvio-embedded(7) lists where sim differs from Xen.
 */
#ifndef PVIO_HV_H
#define PVIO_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>

#include "hv/log.h"

#define HV_PAGE_SIZE  4096u
#define HV_PAGE_SHIFT 12

struct hv;

struct hv_open_opts {
	const char *provider;	/* "xen", "sim" or NULL: $PVIO_HV, then autodetect */
	const char *sim_socket; /* sim: NULL means $PVIO_HV_SOCKET, then the default */
	struct pvio_log *log;	/* NULL: messages go to stderr at PVIO_LOG_WARN */
};

/* Open the seam.  opts may be NULL. */
int hv_open(struct hv **hvp, const struct hv_open_opts *opts);
void hv_close(struct hv *hv);
/* "xen" or "sim". */
const char *hv_provider(const struct hv *hv);
/* The caller's own domain id. */
int hv_domid(struct hv *hv, domid_t *domid);
/*
 * 0 while the hypervisor answers; -ENOTCONN once it is gone (pvio-hv died: the session hung
 * up; never on Xen).  Its hang-up also makes hv_evtchn_fd poll readable, so that a waiter wakes
 * and sees it at its next hv_evtchn_pending.  Mapped grants and bound event channels may go on
 * working, but nothing else will: no grant ends, no peer's death is noticed.
 */
int hv_check(struct hv *hv);

/*
 * Granting side.  Share count fresh zeroed pages with domain peer; *addr
 * receives their local, virtually contiguous address and refs[0..count)
 * their grant references.
 */
int hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable, void **addr,
		   grant_ref_t *refs);
/*
 * End foreign access to a share made by hv_grant_share and release it.
 * -EBUSY while the peer still has any of its pages mapped, as Xen's
 * end-foreign-access refuses; the pages still mapped stay granted, and the
 * call may be repeated once the peer has unmapped them.
 */
int hv_grant_end(struct hv *hv, void *addr, unsigned int count);

/*
 * Mapping side.  Map count grants of domain granter at one virtually
 * contiguous address.  All or nothing: -EINVAL for a ref or frame out of
 * range, -EPERM for an entry that does not grant access to the caller,
 * -EACCES for a writable map of a read-only grant, -ESRCH for no such domain.
 * (On Xen, gntdev reports every refused grant as -EINVAL.)
 */
int hv_grant_map(struct hv *hv, domid_t granter, unsigned int count, const grant_ref_t *refs,
		 bool writable, void **addr);
/* Unmap what one hv_grant_map returned (same address and count). */
int hv_grant_unmap(struct hv *hv, void *addr, unsigned int count);
/*
 * Whether a map of one page costs no system call, so that a back-end may map a front-end's
 * buffers for each request and move data with the kernel's own copy (readv, writev) instead of
 * a grant copy into a buffer of its own.  True on the embedded hypervisor (unless
 * $PVIO_SIM_STRICT_MAP); false on Xen, where a map is a hypercall, a page-table update and, at
 * unmap, a TLB flush, and Linux's netback grant-copies for the same reason.
 */
bool hv_grant_map_cheap(struct hv *hv);

/*
 * Grant copy, laid out as xengnttab's segment.  flags is a mask of
 * GNTCOPY_source_gref and GNTCOPY_dest_gref; a side without its flag is a
 * local virtual address.  offset + len must not exceed HV_PAGE_SIZE on a
 * grant side.  Each segment gets a GNTST_* status; the call itself returns
 * 0 once every segment has been tried, or a negative errno if none could be.
 */
struct hv_copy_seg {
	union hv_copy_ptr {
		void *virt; /* local memory */
		struct {
			grant_ref_t ref; /* the granter's reference */
			uint16_t offset; /* byte offset in the granted page */
			domid_t domid;	 /* the granter */
		} foreign;
	} source, dest;
	uint16_t len;	/* bytes to copy */
	uint16_t flags; /* GNTCOPY_source_gref | GNTCOPY_dest_gref */
	int16_t status; /* out: GNTST_okay or a GNTST_* error */
};
int hv_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs);

/* Event channels, the model of libxenevtchn. */
int hv_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port);
int hv_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port);
/* Signal the remote end.  A port whose peer has gone drops the event. */
int hv_evtchn_notify(struct hv *hv, evtchn_port_t port);
/* A file descriptor that polls readable while an event is pending. */
int hv_evtchn_fd(struct hv *hv);
/* Take the next pending port; -EAGAIN when none is pending. */
int hv_evtchn_pending(struct hv *hv, evtchn_port_t *port);
/*
 * Wait up to timeout_ms (-1: no limit) for the next pending port and take it,
 * as libxenevtchn's blocking xenevtchn_pending does; -EAGAIN if none came.
 * Events coalesce: one pending port may stand for several notifications.
 */
int hv_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms);
/*
 * A port taken by hv_evtchn_pending or hv_evtchn_wait is masked, as libxenevtchn's are: its
 * further notifications stay pending and are not reported until this call, which then reports
 * the port once (one event for all of them) if any came.  Call it after each event taken: at
 * once to hear the next, or after the work (a late EOI) to bound what a notifying peer costs.
 */
int hv_evtchn_unmask(struct hv *hv, evtchn_port_t port);
int hv_evtchn_unbind(struct hv *hv, evtchn_port_t port);

enum hv_evtchn_state {
	HV_EVTCHN_CLOSED = 0,	 /* not a port of this handle */
	HV_EVTCHN_UNBOUND = 1,	 /* waiting for the remote domain to bind, or its end went */
	HV_EVTCHN_CONNECTED = 2, /* interdomain, both ends bound */
};
/*
 * The state of a local port: an hv_evtchn_state, or a negative errno.  On Xen
 * this is the domain's view of the port (it may belong to another handle).
 */
int hv_evtchn_state(struct hv *hv, evtchn_port_t port);
/*
 * Whether hv_evtchn_state is a cheap question any process may ask, fit to poll.  On Xen it is
 * EVTCHNOP_status through privcmd, which Linux refuses a domU: there a front-end learns that
 * its back-end went from the back-end's xenstore state, as Linux's front-ends do.
 */
bool hv_evtchn_state_observable(struct hv *hv);

/*
 * How many more pages this process may grant: 0 and *left (UINT_MAX when nothing but memory
 * limits it), or a negative errno when the limit cannot be read.  On Xen this is gntalloc's
 * `limit` less what this handle shares; that limit counts the grants of every process using
 * gntalloc, so the answer is an upper bound that another process can shrink.
 */
int hv_grant_left(struct hv *hv, unsigned int *left);

#endif
