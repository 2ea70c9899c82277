/* SPDX-License-Identifier: MIT */
/*
 * provider.h - private: the hooks each hypervisor provider fills.  Every
 * public hv_* call goes through one of these (the shape of Xen's
 * tools/libs core.c with its per-OS hooks); nothing provider-specific
 * leaks into hv.h.
 */
#ifndef PVIO_HV_PROVIDER_H
#define PVIO_HV_PROVIDER_H

#include "hv/hv.h"

struct hv_ops {
	const char *name;
	/* Fill hv->priv; return 0 or a negative errno. */
	int (*open)(struct hv *hv, const struct hv_open_opts *opts);
	void (*close)(struct hv *hv);
	int (*domid)(struct hv *hv, domid_t *domid);
	/* NULL: the hypervisor cannot go away under us. */
	int (*check)(struct hv *hv);
	int (*grant_share)(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			   void **addr, grant_ref_t *refs);
	int (*grant_end)(struct hv *hv, void *addr, unsigned int count);
	int (*grant_map)(struct hv *hv, domid_t granter, unsigned int count,
			 const grant_ref_t *refs, bool writable, void **addr);
	int (*grant_unmap)(struct hv *hv, void *addr, unsigned int count);
	int (*grant_copy)(struct hv *hv, unsigned int count, struct hv_copy_seg *segs);
	/* NULL: a map is a system call or worse (hv_grant_map_cheap says false). */
	bool (*grant_map_cheap)(struct hv *hv);
	int (*evtchn_alloc_unbound)(struct hv *hv, domid_t remote, evtchn_port_t *port);
	int (*evtchn_bind)(struct hv *hv, domid_t remote, evtchn_port_t remote_port,
			   evtchn_port_t *port);
	int (*evtchn_notify)(struct hv *hv, evtchn_port_t port);
	int (*evtchn_fd)(struct hv *hv);
	int (*evtchn_wait)(struct hv *hv, evtchn_port_t *port, int timeout_ms);
	int (*evtchn_unmask)(struct hv *hv, evtchn_port_t port);
	int (*evtchn_unbind)(struct hv *hv, evtchn_port_t port);
	int (*evtchn_state)(struct hv *hv, evtchn_port_t port);
	/* NULL: no limit on the pages this process may grant but the memory behind them. */
	int (*grant_left)(struct hv *hv, unsigned int *left);
	/* hv_evtchn_state is a hypercall a deprivileged domain may be refused: do not poll it. */
	bool evtchn_state_privileged;
};

struct hv {
	const struct hv_ops *ops; /* the provider chosen at open */
	struct pvio_log *log;	  /* never NULL after open */
	void *priv;		  /* the provider's state */
};

extern const struct hv_ops hv_sim_ops;
#ifdef HAVE_XEN
extern const struct hv_ops hv_xen_ops;
#endif

#define hv_err(hv, ...)	  pvio_log((hv)->log, PVIO_LOG_ERROR, "hv", __VA_ARGS__)
#define hv_warn(hv, ...)  pvio_log((hv)->log, PVIO_LOG_WARN, "hv", __VA_ARGS__)
#define hv_debug(hv, ...) pvio_log((hv)->log, PVIO_LOG_DEBUG, "hv", __VA_ARGS__)

#endif
