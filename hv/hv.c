/* SPDX-License-Identifier: MIT */
/*
 * hv.c - choose a provider at open and dispatch every call through its hooks.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/provider.h"

static const struct hv_ops *provider_by_name(const char *name)
{
	if (!strcmp(name, "sim"))
		return &hv_sim_ops;
#ifdef HAVE_XEN
	if (!strcmp(name, "xen"))
		return &hv_xen_ops;
#endif
	return NULL;
}

/* $PVIO_HV wins; otherwise Xen when its event channel device is there. */
static const char *provider_default(void)
{
	const char *env = getenv("PVIO_HV");

	if (env && *env)
		return env;
	if (access("/dev/xen/evtchn", R_OK | W_OK) == 0)
		return "xen";
	return "sim";
}

int hv_open(struct hv **hvp, const struct hv_open_opts *opts)
{
	static const struct hv_open_opts none;
	const char *name;
	struct hv *hv;
	int ret;

	if (!opts)
		opts = &none;
	name = opts->provider ? opts->provider : provider_default();
	hv = calloc(1, sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	hv->log = opts->log ? opts->log : pvio_log_stderr(PVIO_LOG_WARN);
	hv->ops = provider_by_name(name);
	if (!hv->ops) {
		hv_err(hv, "provider %s: not built into this pvio", name);
		free(hv);
		return -ENOSYS;
	}
	ret = hv->ops->open(hv, opts);
	if (ret < 0) {
		free(hv);
		return ret;
	}
	*hvp = hv;
	return 0;
}

void hv_close(struct hv *hv)
{
	if (!hv)
		return;
	hv->ops->close(hv);
	free(hv);
}

const char *hv_provider(const struct hv *hv)
{
	return hv->ops->name;
}

int hv_domid(struct hv *hv, domid_t *domid)
{
	return hv->ops->domid(hv, domid);
}

int hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable, void **addr,
		   grant_ref_t *refs)
{
	if (count == 0)
		return -EINVAL;
	return hv->ops->grant_share(hv, peer, count, writable, addr, refs);
}

int hv_grant_end(struct hv *hv, void *addr, unsigned int count)
{
	if (!addr || count == 0)
		return -EINVAL;
	return hv->ops->grant_end(hv, addr, count);
}

int hv_grant_map(struct hv *hv, domid_t granter, unsigned int count, const grant_ref_t *refs,
		 bool writable, void **addr)
{
	if (count == 0)
		return -EINVAL;
	return hv->ops->grant_map(hv, granter, count, refs, writable, addr);
}

int hv_grant_unmap(struct hv *hv, void *addr, unsigned int count)
{
	if (!addr || count == 0)
		return -EINVAL;
	return hv->ops->grant_unmap(hv, addr, count);
}

int hv_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs)
{
	if (count == 0)
		return 0;
	return hv->ops->grant_copy(hv, count, segs);
}

int hv_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port)
{
	return hv->ops->evtchn_alloc_unbound(hv, remote, port);
}

int hv_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port)
{
	return hv->ops->evtchn_bind(hv, remote, remote_port, port);
}

int hv_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	return hv->ops->evtchn_notify(hv, port);
}

int hv_evtchn_fd(struct hv *hv)
{
	return hv->ops->evtchn_fd(hv);
}

int hv_evtchn_pending(struct hv *hv, evtchn_port_t *port)
{
	return hv->ops->evtchn_wait(hv, port, 0);
}

int hv_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms)
{
	return hv->ops->evtchn_wait(hv, port, timeout_ms < 0 ? -1 : timeout_ms);
}

int hv_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	return hv->ops->evtchn_unmask(hv, port);
}

int hv_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	return hv->ops->evtchn_unbind(hv, port);
}

int hv_evtchn_state(struct hv *hv, evtchn_port_t port)
{
	return hv->ops->evtchn_state(hv, port);
}

bool hv_grant_map_cheap(struct hv *hv)
{
	return hv->ops->grant_map_cheap && hv->ops->grant_map_cheap(hv);
}

bool hv_evtchn_state_observable(struct hv *hv)
{
	return !hv->ops->evtchn_state_privileged;
}

int hv_grant_left(struct hv *hv, unsigned int *left)
{
	if (!hv->ops->grant_left) {
		*left = UINT_MAX;
		return 0;
	}
	return hv->ops->grant_left(hv, left);
}

int hv_check(struct hv *hv)
{
	return hv->ops->check ? hv->ops->check(hv) : 0;
}
