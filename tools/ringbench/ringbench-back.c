/* SPDX-License-Identifier: MIT */
/*
 * ringbench-back.c - the back domain of pvio-ringbench: maps the front's
 * ring, binds its event channel and answers requests in batches of up to
 * RB_BATCH, moving each data page into private memory by mapping it (one
 * hv_grant_map per request) or by grant copy (one hv_grant_copy per batch).
 *
 * The front is hostile as far as this file knows: the connection record is
 * bounded before use, requests are private copies (ring_back_consume), an
 * unknown op is answered -EINVAL, and a gref is only ever passed to the
 * hypervisor, which checks it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ringbench/ringbench.h"

struct back {
	struct hv *hv;			   /* our session, as the back domain */
	domid_t front;			   /* the front's domain */
	int xs;				   /* socketpair to the front, standing in for xenstore */
	struct rb_connect conn;		   /* as the front sent it: checked before use */
	struct ring_back ring;		   /* our end of the ring */
	void *sring;			   /* the ring pages, mapped writable */
	evtchn_port_t port;		   /* our end of the event channel */
	bool bound;			   /* port is bound */
	bool quit;			   /* the front asked to disconnect */
	uint8_t *buf;			   /* RB_BATCH private pages the data moves into */
	unsigned int nr_segs;		   /* grant-copy segments gathered for this batch */
	struct hv_copy_seg segs[RB_BATCH]; /* them */
	unsigned int seg_slot[RB_BATCH];   /* the batch slot each segment answers */
	int32_t status[RB_BATCH];	   /* each request's answer */
};

/* Map the ring and bind the event channel the front advertised. */
static int back_attach(struct back *b)
{
	unsigned int order = b->conn.order;
	int ret;

	if (order > RING_ORDER_MAX)
		return rb_err("ring-page-order from the front", -EINVAL);
	ret = hv_grant_map(b->hv, b->front, 1u << order, b->conn.ring_refs, true, &b->sring);
	if (ret < 0) {
		b->sring = NULL;
		return rb_err("map the ring", ret);
	}
	ret = ring_back_attach(&b->ring, b->sring, order, sizeof(struct rb_req),
			       sizeof(struct rb_rsp));
	if (ret < 0)
		return rb_err("attach to the ring", ret);
	ret = hv_evtchn_bind(b->hv, b->front, b->conn.port, &b->port);
	if (ret < 0)
		return rb_err("bind the event channel", ret);
	b->bound = true;
	return 0;
}

static int back_connect(struct back *b)
{
	int32_t state = RB_STATE_CONNECTED;
	int ret;

	b->buf = calloc(RB_BATCH, HV_PAGE_SIZE);
	if (!b->buf)
		return rb_err("allocate the copy buffer", -ENOMEM);
	ret = rb_msg_recv(b->xs, &b->conn, sizeof(b->conn));
	if (ret < 0)
		return rb_err("hear from the front", ret);
	ret = back_attach(b);
	if (ret < 0)
		return ret;
	ret = rb_msg_send(b->xs, &state, sizeof(state));
	return ret < 0 ? rb_err("tell the front", ret) : 0;
}

/* Move one page by mapping it: the whole map, copy, unmap cycle per request. */
static int32_t back_map_one(struct back *b, grant_ref_t gref, unsigned int slot)
{
	void *page;
	int ret;

	ret = hv_grant_map(b->hv, b->front, 1, &gref, false, &page);
	if (ret < 0)
		return ret;
	memcpy(b->buf + (size_t)slot * HV_PAGE_SIZE, page, HV_PAGE_SIZE);
	return hv_grant_unmap(b->hv, page, 1);
}

/* Gather one page for this batch's grant copy. */
static void back_copy_add(struct back *b, grant_ref_t gref, unsigned int slot)
{
	struct hv_copy_seg *seg = &b->segs[b->nr_segs];

	memset(seg, 0, sizeof(*seg));
	seg->source.foreign.ref = gref;
	seg->source.foreign.domid = b->front;
	seg->dest.virt = b->buf + (size_t)slot * HV_PAGE_SIZE;
	seg->len = HV_PAGE_SIZE;
	seg->flags = GNTCOPY_source_gref;
	b->seg_slot[b->nr_segs++] = slot;
}

static int32_t gntst_errno(int16_t status)
{
	switch (status) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_gntref:
		return -EINVAL;
	case GNTST_permission_denied:
		return -EPERM;
	case GNTST_bad_domain:
		return -ESRCH;
	default:
		return -EIO;
	}
}

/* One grant copy for every page the batch gathered. */
static void back_copy_flush(struct back *b)
{
	unsigned int i;
	int ret;

	if (!b->nr_segs)
		return;
	ret = hv_grant_copy(b->hv, b->nr_segs, b->segs);
	for (i = 0; i < b->nr_segs; i++)
		b->status[b->seg_slot[i]] = ret < 0 ? ret : gntst_errno(b->segs[i].status);
	b->nr_segs = 0;
}

/* Handle one request now, or gather it for the batch's copy. */
static int32_t back_handle(struct back *b, const struct rb_req *req, unsigned int slot)
{
	switch (req->op) {
	case RB_OP_PING:
		return 0;
	case RB_OP_MAP:
		return back_map_one(b, req->gref, slot);
	case RB_OP_COPY:
		back_copy_add(b, req->gref, slot);
		return 0;
	case RB_OP_QUIT:
		b->quit = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Answer a batch in order, publish it, and notify once if the front asked. */
static int back_batch(struct back *b, const struct rb_req *reqs, unsigned int n)
{
	struct rb_rsp *rsp;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++)
		b->status[i] = back_handle(b, &reqs[i], i);
	back_copy_flush(b);
	for (i = 0; i < n; i++) {
		rsp = ring_back_rsp_slot(&b->ring);
		if (!rsp)
			return -EPROTO;
		rsp->id = reqs[i].id;
		rsp->status = b->status[i];
	}
	ret = ring_back_push(&b->ring);
	if (ret > 0)
		ret = hv_evtchn_notify(b->hv, b->port);
	return ret;
}

/* Nothing to do: arm the event index, look once more, then sleep. */
static int back_idle(struct back *b)
{
	int ret = ring_back_final_check(&b->ring);

	if (ret == 0)
		ret = rb_evtchn_wait(b->hv, b->port);
	return ret;
}

static int back_serve(struct back *b)
{
	struct rb_req reqs[RB_BATCH];
	int n;

	while (!b->quit) {
		n = ring_back_consume(&b->ring, reqs, RB_BATCH);
		if (n > 0)
			n = back_batch(b, reqs, (unsigned int)n);
		else if (n == 0)
			n = back_idle(b);
		if (n < 0)
			return rb_err("serve the ring", n);
	}
	return 0;
}

/* Undo back_connect; after a clean disconnect, tell the front nothing is mapped. */
static int back_close(struct back *b, bool clean)
{
	int32_t state = RB_STATE_CLOSED;
	int ret = 0, r;

	if (b->bound && (r = hv_evtchn_unbind(b->hv, b->port)) < 0)
		ret = rb_err("close the event channel", r);
	if (b->sring && (r = hv_grant_unmap(b->hv, b->sring, 1u << b->conn.order)) < 0)
		ret = rb_err("unmap the ring", r);
	free(b->buf);
	if (clean && ret == 0 && (r = rb_msg_send(b->xs, &state, sizeof(state))) < 0)
		ret = rb_err("tell the front", r);
	return ret;
}

int rb_back_run(struct hv *hv, domid_t front, int xs_fd)
{
	struct back *b = calloc(1, sizeof(*b));
	int ret, r;

	if (!b)
		return rb_err("allocate", -ENOMEM);
	b->hv = hv;
	b->front = front;
	b->xs = xs_fd;
	ret = back_connect(b);
	if (ret == 0)
		ret = back_serve(b);
	r = back_close(b, ret == 0);
	free(b);
	return ret < 0 ? ret : r;
}
