/* SPDX-License-Identifier: MIT */
/*
 * ringbench-front.c - the front domain of pvio-ringbench: shares the ring and
 * the data pages with the back, connects, and runs and times every pvio test
 * (ping-pong, then streaming by mapping, then by grant copy).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ringbench/ringbench.h"

struct front {
	struct hv *hv;		/* our session, as the front domain */
	domid_t back;		/* the back's domain */
	int xs;			/* socketpair to the back, standing in for xenstore */
	struct rb_connect conn; /* what the back is told */
	struct ring_front ring; /* our end of the ring */
	void *sring;		/* the ring pages, shared writable with the back */
	void *data;		/* RB_DATA_PAGES pages, shared read-only with the back */
	grant_ref_t data_refs[RB_DATA_PAGES]; /* their grant refs */
	bool bound;			      /* conn.port is allocated */
};

/* A stream test in flight: requests cycle through the data pages. */
struct stream {
	uint32_t op;	 /* RB_OP_MAP or RB_OP_COPY */
	uint64_t total;	 /* requests to complete */
	uint64_t issued; /* requests handed out */
	uint64_t done;	 /* responses taken */
};

static int front_share(struct front *f, unsigned int order)
{
	unsigned int i;
	int ret;

	ret = hv_grant_share(f->hv, f->back, 1u << order, true, &f->sring, f->conn.ring_refs);
	if (ret < 0)
		return rb_err("share the ring", ret);
	ret = ring_front_init(&f->ring, f->sring, order, sizeof(struct rb_req),
			      sizeof(struct rb_rsp));
	if (ret < 0)
		return rb_err("initialise the ring", ret);
	ret = hv_grant_share(f->hv, f->back, RB_DATA_PAGES, false, &f->data, f->data_refs);
	if (ret < 0)
		return rb_err("share the data pages", ret);
	/* Written once, so that every page is backed before the clock starts. */
	for (i = 0; i < RB_DATA_PAGES; i++)
		memset((uint8_t *)f->data + (size_t)i * HV_PAGE_SIZE, (int)i, HV_PAGE_SIZE);
	f->conn.order = order;
	return 0;
}

/* Advertise the ring and wait until the back says it is connected. */
static int front_connect(struct front *f)
{
	int32_t state;
	int ret;

	ret = hv_evtchn_alloc_unbound(f->hv, f->back, &f->conn.port);
	if (ret < 0)
		return rb_err("allocate an event channel", ret);
	f->bound = true;
	ret = rb_msg_send(f->xs, &f->conn, sizeof(f->conn));
	if (ret == 0)
		ret = rb_msg_recv(f->xs, &state, sizeof(state));
	if (ret == 0 && state != RB_STATE_CONNECTED)
		ret = -EPROTO;
	return ret < 0 ? rb_err("connect to the back", ret) : 0;
}

/* Publish what is filled and notify if the back asked. */
static int front_push(struct front *f)
{
	int ret = ring_front_push(&f->ring);

	if (ret > 0)
		ret = hv_evtchn_notify(f->hv, f->conn.port);
	return ret;
}

/* Take up to max responses, waiting for the first: how many, or a negative errno. */
static int front_take(struct front *f, struct rb_rsp *rsps, unsigned int max)
{
	int n;

	/* Each round waits at most RB_WAIT_MS for an event or fails. */
	for (;;) {
		n = ring_front_consume(&f->ring, rsps, max);
		if (n != 0)
			return n;
		n = ring_front_final_check(&f->ring);
		if (n == 0)
			n = rb_evtchn_wait(f->hv, f->conn.port);
		if (n < 0)
			return n;
	}
}

/* One request, one response: the round trip the ping-pong times. */
static int front_call(struct front *f, uint32_t op, uint64_t id)
{
	struct rb_req *req = ring_front_req_slot(&f->ring);
	struct rb_rsp rsp;
	int ret;

	if (!req)
		return -EPROTO;
	req->id = id;
	req->op = op;
	ret = front_push(f);
	if (ret >= 0)
		ret = front_take(f, &rsp, 1);
	if (ret < 0)
		return ret;
	if (rsp.id != id || rsp.status > 0)
		return -EPROTO;
	return rsp.status;
}

static int front_pingpong(struct front *f, const struct rb_params *p, struct rb_lat *lat)
{
	uint64_t *ns = malloc(p->iterations * sizeof(*ns)), i, t0;
	int ret = ns ? 0 : -ENOMEM;

	for (i = 0; ret == 0 && i < p->warmup + p->iterations; i++) {
		t0 = rb_now_ns();
		ret = front_call(f, RB_OP_PING, i);
		if (i >= p->warmup)
			ns[i - p->warmup] = rb_now_ns() - t0;
	}
	if (ret == 0)
		ret = rb_lat_summarise(ns, p->iterations, lat);
	free(ns);
	return ret < 0 ? rb_err("ping-pong", ret) : 0;
}

/* Keep the ring full: hand out requests until it is, or the test has issued them all. */
static int front_fill(struct front *f, struct stream *s)
{
	struct rb_req *req;

	while (s->issued < s->total && (req = ring_front_req_slot(&f->ring))) {
		req->id = s->issued;
		req->gref = f->data_refs[s->issued % RB_DATA_PAGES];
		req->op = s->op;
		s->issued++;
	}
	return front_push(f);
}

static int rsps_check(const struct rb_rsp *rsps, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (rsps[i].status)
			return rsps[i].status < 0 ? rsps[i].status : -EPROTO;
	return 0;
}

/* Move pages 4 KiB pages through the back; *ns gets the time it took. */
static int front_stream(struct front *f, uint32_t op, uint64_t pages, uint64_t *ns)
{
	struct stream s = { .op = op, .total = pages };
	struct rb_rsp rsps[RB_BATCH];
	uint64_t t0 = rb_now_ns();
	int n, ret;

	ret = front_fill(f, &s);
	while (ret >= 0 && s.done < s.total) {
		n = front_take(f, rsps, RB_BATCH);
		ret = n < 0 ? n : rsps_check(rsps, n);
		if (ret < 0)
			break;
		s.done += (unsigned int)n;
		ret = front_fill(f, &s);
	}
	*ns = rb_now_ns() - t0;
	return ret < 0 ? ret : 0;
}

static int front_measure(struct front *f, const struct rb_params *p, struct rb_front_result *r)
{
	uint64_t pages = p->bytes / HV_PAGE_SIZE;
	int ret;

	r->nr_ents = f->ring.nr_ents;
	r->stream_bytes = pages * HV_PAGE_SIZE;
	ret = front_pingpong(f, p, &r->ping);
	if (ret < 0)
		return ret;
	ret = front_stream(f, RB_OP_MAP, pages, &r->map_ns);
	if (ret < 0)
		return rb_err("stream by mapping", ret);
	ret = front_stream(f, RB_OP_COPY, pages, &r->copy_ns);
	if (ret < 0)
		return rb_err("stream by grant copy", ret);
	ret = front_call(f, RB_OP_QUIT, 0);
	return ret < 0 ? rb_err("disconnect", ret) : 0;
}

/*
 * Take everything back.  After a clean disconnect the back has said it is
 * closed, so nothing is still mapped; after a failure the ends may still be
 * busy, and the domain's death reclaims them.
 */
static int front_release(struct front *f)
{
	int ret = 0, r;

	if (f->bound && (r = hv_evtchn_unbind(f->hv, f->conn.port)) < 0)
		ret = rb_err("close the event channel", r);
	if (f->sring && (r = hv_grant_end(f->hv, f->sring, 1u << f->conn.order)) < 0)
		ret = rb_err("end access to the ring", r);
	if (f->data && (r = hv_grant_end(f->hv, f->data, RB_DATA_PAGES)) < 0)
		ret = rb_err("end access to the data pages", r);
	return ret;
}

static int front_wait_closed(struct front *f)
{
	int32_t state;
	int ret = rb_msg_recv(f->xs, &state, sizeof(state));

	if (ret == 0 && state != RB_STATE_CLOSED)
		ret = -EPROTO;
	return ret < 0 ? rb_err("wait for the back to close", ret) : 0;
}

int rb_front_run(struct hv *hv, const struct rb_params *p, domid_t back, int xs_fd,
		 struct rb_front_result *out)
{
	struct front f = { .hv = hv, .back = back, .xs = xs_fd };
	int ret, r;

	snprintf(out->provider, sizeof(out->provider), "%s", hv_provider(hv));
	ret = front_share(&f, p->order);
	if (ret == 0)
		ret = front_connect(&f);
	if (ret == 0)
		ret = front_measure(&f, p, out);
	if (ret == 0)
		ret = front_wait_closed(&f);
	r = front_release(&f);
	return ret < 0 ? ret : r;
}
