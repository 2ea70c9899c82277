/* SPDX-License-Identifier: MIT */
/* blkback-front.c - the scripted blkif front end (see blkback-front.h). */
#include "config.h"

#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "tests/blkback-front.h"
#include "tests/hv-test.h"
#include "tests/xs-helpers.h"

int tf_open(struct tfront *f, struct hv *hv, struct xs_handle *xs, const char *front_path)
{
	memset(f, 0, sizeof(*f));
	f->hv = hv;
	T_CHECK(xenbus_dev_open(&f->xd, xs, XENBUS_FRONTEND, front_path) == 0, "open %s",
		front_path);
	return 0;
}

int tf_share(struct tfront *f, unsigned int nq, unsigned int order)
{
	void *data;

	T_CHECK(nq <= TF_QUEUES_MAX, "too many queues");
	for (unsigned int i = 0; i < nq; i++) {
		struct tf_queue *q = &f->q[i];

		T_CHECK(hv_grant_share(f->hv, f->xd.otherend_id, 1u << order, true, &q->sring,
				       q->refs) == 0,
			"grant ring %u", i);
		T_CHECK(ring_blkif_front_init(&q->rf, q->sring, order) == 0, "ring init");
		T_CHECK(hv_evtchn_alloc_unbound(f->hv, f->xd.otherend_id, &q->port) == 0,
			"alloc port");
		f->nq = i + 1;
	}
	f->order = order;
	T_CHECK(hv_grant_share(f->hv, f->xd.otherend_id, 2, true, &data, f->dref) == 0,
		"grant data");
	f->data = data;
	return 0;
}

static int queue_keys(struct tfront *f, xs_transaction_t t, unsigned int i)
{
	char key[64], pre[24] = "";

	if (f->nq > 1)
		snprintf(pre, sizeof(pre), "queue-%u/", i);
	for (unsigned int r = 0; r < (1u << f->order); r++) {
		if (f->order)
			snprintf(key, sizeof(key), "%sring-ref%u", pre, r);
		else
			snprintf(key, sizeof(key), "%sring-ref", pre);
		if (xenbus_printf(&f->xd, t, key, "%u", f->q[i].refs[r]))
			return -1;
	}
	snprintf(key, sizeof(key), "%sevent-channel", pre);
	return xenbus_printf(&f->xd, t, key, "%u", f->q[i].port);
}

static int publish_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	const struct tf_keys *k = ((void **)arg)[1];
	struct tfront *f = ((void **)arg)[0];
	int ret = 0;

	for (unsigned int i = 0; i < f->nq && !ret; i++)
		ret = queue_keys(f, t, i);
	if (!ret && f->order)
		ret = xenbus_printf(xd, t, "ring-page-order", "%u", f->order);
	if (!ret && k->nq_key)
		ret = xenbus_printf(xd, t, "multi-queue-num-queues", "%u", k->nq_key);
	if (!ret && k->protocol)
		ret = xenbus_printf(xd, t, "protocol", "%s", k->protocol);
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-persistent", "%d", k->persistent);
	if (!ret)
		ret = xenbus_printf(xd, t, "state", "%d",
				    k->skip_initialised ? XenbusStateConnected
							: XenbusStateInitialised);
	return ret;
}

int tf_publish(struct tfront *f, const struct tf_keys *k)
{
	void *arg[2] = { f, (void *)k };

	T_CHECK(xenbus_transaction(&f->xd, publish_fn, arg) == 0, "front keys");
	f->xd.state = k->skip_initialised ? XenbusStateConnected : XenbusStateInitialised;
	return 0;
}

int tf_wait(struct tfront *f, unsigned int mask, enum xenbus_state *state)
{
	enum xenbus_state s = XenbusStateUnknown;
	int ret = xenbus_wait_otherend(&f->xd, mask, TF_WAIT_MS, &s);

	if (state)
		*state = s;
	T_CHECK(ret == 0, "%s: waiting for back-end states 0x%x: %s (state %s)", f->xd.nodename,
		mask, strerror(-ret), xenbus_state_name(s));
	return 0;
}

int tf_expect(struct tfront *f, const char *key, uint32_t want)
{
	uint32_t v = 0;
	int ret = xenbus_otherend_read_u32(&f->xd, XBT_NULL, key, &v);

	T_CHECK(ret == 0 && v == want, "%s/%s: %s %u, want %u", f->xd.otherend, key,
		ret ? strerror(-ret) : "", v, want);
	return 0;
}

int tf_io(struct tfront *f, unsigned int q, uint8_t op, uint64_t sector, unsigned int page,
	  int16_t *status)
{
	struct tf_queue *tq = &f->q[q];
	struct blkif_request *req = ring_front_req_slot(&tq->rf);
	struct blkif_response rsp;
	uint64_t id = f->next_id++;
	int n;

	T_CHECK(req, "ring full");
	req->operation = op;
	req->nr_segments = 1;
	req->id = id;
	req->sector_number = sector;
	req->seg[0].gref = f->dref[page];
	req->seg[0].first_sect = 0;
	req->seg[0].last_sect = 7;
	if (ring_front_push(&tq->rf) > 0)
		T_CHECK(hv_evtchn_notify(f->hv, tq->port) == 0, "notify");
	/* 10 s in all: one wake-up that does not come within 1 s is load, not a failure. */
	for (int waited = 0;;) {
		n = ring_front_consume(&tq->rf, &rsp, 1);
		T_CHECK(n >= 0, "front ring broken");
		if (n == 1)
			break;
		if (ring_front_final_check(&tq->rf) == 0) {
			T_CHECK(waited++ < 10, "no response from queue %u in 10 s", q);
			t_event_wait(f->hv, tq->port, 1000);
		}
	}
	T_CHECK(rsp.id == id && rsp.operation == op, "response id/op");
	*status = rsp.status;
	return 0;
}

int tf_round_trip(struct tfront *f, unsigned int q, uint64_t sector, bool check_only)
{
	int16_t st;

	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		f->data[i] = (uint8_t)(i * 7 + sector + q);
	memset(f->data + HV_PAGE_SIZE, 0, HV_PAGE_SIZE);
	if (!check_only)
		T_CHECK(tf_io(f, q, BLKIF_OP_WRITE, sector, 0, &st) == 0 && st == BLKIF_RSP_OKAY,
			"write: status %d", st);
	T_CHECK(tf_io(f, q, BLKIF_OP_READ, sector, 1, &st) == 0 && st == BLKIF_RSP_OKAY,
		"read: status %d", st);
	T_CHECK(!memcmp(f->data, f->data + HV_PAGE_SIZE, HV_PAGE_SIZE), "read back differs");
	return 0;
}

int tf_close(struct tfront *f)
{
	const unsigned int closing =
	    XENBUS_STATE_BIT(XenbusStateClosing) | XENBUS_STATE_BIT(XenbusStateClosed);

	T_CHECK(xenbus_switch_state(&f->xd, XenbusStateClosing) == 0, "-> Closing");
	T_CHECK(tf_wait(f, closing, NULL) == 0, "back-end Closing");
	T_CHECK(xenbus_switch_state(&f->xd, XenbusStateClosed) == 0, "-> Closed");
	T_CHECK(tf_wait(f, XENBUS_STATE_BIT(XenbusStateClosed), NULL) == 0, "back-end Closed");
	tf_release(f);
	return 0;
}

void tf_release(struct tfront *f)
{
	for (unsigned int i = 0; i < f->nq; i++) {
		hv_grant_end(f->hv, f->q[i].sring, 1u << f->order);
		hv_evtchn_unbind(f->hv, f->q[i].port);
	}
	if (f->data)
		hv_grant_end(f->hv, f->data, 2);
	f->nq = 0;
	f->data = NULL;
}

int tf_guest(int fd, domid_t *fe, domid_t *dd, int (*run)(struct hv *hv, struct xs_handle *xs))
{
	struct xs_handle *xs;
	struct hv *hv;
	domid_t ids[2];
	int ret;

	T_CHECK(read(fd, ids, sizeof(ids)) == sizeof(ids), "read domids");
	*fe = ids[0];
	*dd = ids[1];
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	T_CHECK((xs = t_xs_open_domain(*fe)), "guest xs_open");
	ret = run(hv, xs);
	xs_close(xs);
	hv_close(hv);
	return ret;
}

/* Queue n one-page writes of data page 0 at sectors base, base+8, ... without notifying. */
int tf_queue_writes(struct tfront *f, uint64_t base, unsigned int n, uint64_t *first_id)
{
	struct tf_queue *tq = &f->q[0];

	*first_id = f->next_id;
	for (unsigned int i = 0; i < n; i++) {
		struct blkif_request *req = ring_front_req_slot(&tq->rf);

		T_CHECK(req, "ring full");
		req->operation = BLKIF_OP_WRITE;
		req->nr_segments = 1;
		req->id = f->next_id++;
		req->sector_number = base + 8 * i;
		req->seg[0].gref = f->dref[0];
		req->seg[0].first_sect = 0;
		req->seg[0].last_sect = 7;
	}
	ring_front_push(&tq->rf); /* no notify: the old daemon must not see them */
	return 0;
}

/*
 * Collect n responses, each id of [first, first + n) exactly once and OKAY.  The first comes
 * only once the new daemon is up and has re-attached, which under load takes seconds: the
 * bound is on the whole wait (limit_s), not on one wake-up.
 */
int tf_collect(struct tfront *f, unsigned int n, uint64_t first, int limit_s)
{
	struct tf_queue *tq = &f->q[0];
	unsigned int got = 0, seen = 0;
	struct blkif_response rsp;

	for (int waited = 0; got < n;) {
		int r = ring_front_consume(&tq->rf, &rsp, 1);

		T_CHECK(r >= 0, "front ring broken");
		if (r == 1) {
			T_CHECK(rsp.id >= first && rsp.id < first + n &&
				    !(seen & 1u << (rsp.id - first)),
				"unexpected or repeated response id %llu",
				(unsigned long long)rsp.id);
			T_CHECK(rsp.status == BLKIF_RSP_OKAY, "status %d", rsp.status);
			seen |= 1u << (rsp.id - first);
			got++;
		} else if (ring_front_final_check(&tq->rf) == 0) {
			T_CHECK(waited++ < limit_s, "%u of %u responses in %d s", got, n, limit_s);
			t_event_wait(f->hv, tq->port, 1000);
		}
	}
	return 0;
}
