/* SPDX-License-Identifier: MIT */
/*
 * ctrl.c - a vif's control ring (feature-ctrl-ring, see hash.h): requests in, responses out,
 * in ring order, each request served by netback_hash_ctrl.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "backend/net/hash.h"
#include "backend/net/netback.h"
#include "ring/eoi.h"
#include "ring/ring.h"

/* Requests served per call before other rings get their turn. */
#define CTRL_BUDGET 32u

struct netback_ctrl {
	struct hv *hv;
	domid_t fe;
	evtchn_port_t port;
	void *sring;
	struct ring_back rb;
	struct netback_hash *h;
	uint64_t served;
	struct ring_eoi eoi;
	uint64_t spurious, delayed;
};

int netback_ctrl_attach(struct netback_ctrl **cp, struct hv *hv, domid_t fe, grant_ref_t ref,
			evtchn_port_t port, struct netback_hash *h)
{
	struct netback_ctrl *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	*c = (struct netback_ctrl){ .hv = hv, .fe = fe, .port = port, .h = h };
	ret = hv_grant_map(hv, fe, 1, &ref, true, &c->sring);
	if (ret) {
		free(c);
		return ret;
	}
	ret = ring_back_attach(&c->rb, c->sring, 0, sizeof(struct xen_netif_ctrl_request),
			       sizeof(struct xen_netif_ctrl_response));
	if (ret) {
		hv_grant_unmap(hv, c->sring, 1);
		free(c);
		return ret;
	}
	*cp = c;
	return 0;
}

static void respond(struct netback_ctrl *c, const struct xen_netif_ctrl_request *req)
{
	struct xen_netif_ctrl_response *rsp = ring_back_rsp_slot(&c->rb);
	uint32_t data, status = netback_hash_ctrl(c->h, c->hv, c->fe, req, &data);

	c->served++;
	if (!rsp)
		return;
	rsp->id = req->id;
	rsp->type = req->type;
	rsp->status = status;
	rsp->data = data;
}

int netback_ctrl_process(struct netback_ctrl *c)
{
	struct xen_netif_ctrl_request req[CTRL_BUDGET];
	int n = ring_back_consume(&c->rb, req, CTRL_BUDGET);
	int ret;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		respond(c, &req[i]);
	ret = ring_back_push(&c->rb);
	if (ret > 0)
		ret = hv_evtchn_notify(c->hv, c->port);
	if (ret < 0)
		return ret;
	if (n == (int)CTRL_BUDGET)
		return 1;
	return ring_back_final_check(&c->rb);
}

uint64_t netback_ctrl_served(const struct netback_ctrl *c)
{
	return c->served;
}

void netback_ctrl_stats(const struct netback_ctrl *c, struct netback_stats *st)
{
	*st = (struct netback_stats){ .ev_spurious = c->spurious, .ev_delayed = c->delayed };
}

uint64_t netback_ctrl_eoi(struct netback_ctrl *c, uint64_t now)
{
	return ring_eoi_rule(&c->eoi, c->served, now, &c->spurious, &c->delayed);
}

void netback_ctrl_detach(struct netback_ctrl *c)
{
	if (!c)
		return;
	hv_grant_unmap(c->hv, c->sring, 1);
	free(c);
}
