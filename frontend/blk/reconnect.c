/* SPDX-License-Identifier: MIT */
/*
 * reconnect.c - losing the back-end and connecting again (Linux xen-blkfront's
 * blkback_changed, blkfront_resume and blkif_recover).
 *
 * The back-end is gone when its state moves to Closing, Closed or Unknown, when the remote end
 * of one of our event channels closes (where port states are observable: not on Xen, where
 * asking is a hypercall a domU may not make), or when it breaks a ring.  Then every request it has
 * not answered goes back to the front of the pending FIFO in submission order (the operations keep
 * their buffers: a write is acknowledged only by a response), the rings and pools are torn down
 * (grants it still maps become zombies, ended later and never reused), and we switch to Closed.
 * Once the back-end reads Closed or InitWait and its `online` is not 0 we switch to
 * Initialising; at its InitWait we hand-shake again, and at Connected re-issue.  online=0, or
 * the back-end's directory gone, completes everything with -ENODEV.
 *
 * With opts.no_reconnect (the model of an unmodified Linux front-end) none of this happens: a
 * back-end process that dies leaves the rings as they are, for its successor to take over
 * (pvio-blkback(8), RESTART AND UPGRADE); losing the back-end ends the device with -ENOTCONN.
 *
 * Without xenstore (pvio-xenstored died) no handshake is possible: the connected rings serve
 * on, and losing the back-end then ends the device with -ENOTCONN.  Without the hypervisor
 * (pvio-hv died) no grant can end and no peer's death is seen: the device ends at once with
 * -ENOTCONN.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "frontend/blk/blkfront-priv.h"

static int cmp_seq(const void *a, const void *b)
{
	const struct bf_part *x = *(struct bf_part *const *)a, *y = *(struct bf_part *const *)b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->op_off < y->op_off ? -1 : x->op_off > y->op_off;
}

/* Put the parts of list back at the FIFO's front, in submission order. */
static void requeue(struct blkfront *bf, struct bf_part *list)
{
	struct bf_part **v, *p;
	size_t n = 0, i;

	for (p = list; p; p = p->next)
		n++;
	if (!n)
		return;
	v = malloc(n * sizeof(*v));
	if (v) {
		for (i = 0, p = list; p; p = p->next)
			v[i++] = p;
		qsort(v, n, sizeof(*v), cmp_seq);
		for (i = n; i-- > 0;) {
			v[i]->next = bf->fifo_head;
			bf->fifo_head = v[i];
			if (!bf->fifo_tail)
				bf->fifo_tail = v[i];
		}
		free(v);
	} else {
		/* No memory to sort: fail them rather than lose track of them. */
		while ((p = list)) {
			list = p->next;
			bf_part_complete(bf, p, -EIO);
		}
		return;
	}
	bf->stats.reissued += n;
}

static void teardown_all(struct blkfront *bf)
{
	struct bf_part *list = NULL;
	unsigned int i;

	for (i = 0; i < bf->nqueues; i++)
		bf_queue_teardown(bf, &bf->queues[i], &list);
	bf->nqueues = 0;
	requeue(bf, list);
}

void bf_lost(struct blkfront *bf, const char *why)
{
	if (bf->status == BF_GONE || bf->status == BF_DISCONNECTED)
		return;
	pvio_log(bf->log, PVIO_LOG_WARN, "blkfront", "vbd %u: back-end lost (%s)", bf->info.devid,
		 why);
	if (bf->xs_lost || bf->opts.no_reconnect) {
		/* No xenstore to hand-shake through again, or the caller wants no reconnect. */
		bf_gone(bf, -ENOTCONN);
		return;
	}
	teardown_all(bf);
	bf->status = BF_DISCONNECTED;
	xenbus_switch_state(&bf->dev, XenbusStateClosed);
}

void bf_gone(struct blkfront *bf, int err)
{
	teardown_all(bf);
	bf->status = BF_GONE;
	bf->gone_err = err;
	bf_fail_all(bf, err);
	if (!bf->xs_lost)
		xenbus_switch_state(&bf->dev, XenbusStateClosed);
}

/* Whether xenstore still answers: our own state key can be read (or is legitimately absent). */
static bool xs_alive(struct blkfront *bf)
{
	uint32_t v;
	int ret = xenbus_read_u32(&bf->dev, XBT_NULL, "state", &v);

	return ret == 0 || ret == -ENOENT || ret == -EACCES;
}

/*
 * xenstore is gone (pvio-xenstored died, or the connection broke): say so once, and serve on
 * with the rings that are connected; without them the device cannot continue.
 */
static void xs_lost(struct blkfront *bf, int err)
{
	pvio_log(bf->log, PVIO_LOG_WARN, "blkfront",
		 "vbd %u: xenstore connection lost (%s): no reconnect possible", bf->info.devid,
		 strerror(-err));
	bf->xs_lost = true;
	bf->report = -ENOTCONN;
	/* A dead connection's fd may poll readable for good. */
	epoll_ctl(bf->epfd, EPOLL_CTL_DEL, xs_fileno(bf->xs), NULL);
	if (bf->status != BF_CONNECTED && bf->status != BF_GONE)
		bf_gone(bf, -ENOTCONN);
}

void bf_check_hv(struct blkfront *bf)
{
	if (bf->status == BF_GONE || hv_check(bf->hv) == 0)
		return;
	pvio_log(bf->log, PVIO_LOG_WARN, "blkfront",
		 "vbd %u: hypervisor connection lost: the device cannot continue", bf->info.devid);
	bf_gone(bf, -ENOTCONN);
}

int bf_follow_xenstore(struct blkfront *bf)
{
	int ret;

	if (bf->xs_lost || bf->status == BF_GONE)
		return 0;
	ret = bf_state_step(bf);
	if (ret < 0 && !xs_alive(bf)) {
		xs_lost(bf, ret);
		return 0;
	}
	return ret;
}

int bf_check_channels(struct blkfront *bf)
{
	unsigned int i;
	int st;

	/* no_reconnect: a port gone unbound is a back-end restarting, to wait for. */
	if (!hv_evtchn_state_observable(bf->hv) || bf->opts.no_reconnect)
		return 0;
	for (i = 0; i < bf->nqueues && bf->status == BF_CONNECTED; i++) {
		st = hv_evtchn_state(bf->hv, bf->queues[i].port);
		/* An error (-EPERM...) says we cannot ask, not that the channel closed. */
		if (st == HV_EVTCHN_CLOSED || st == HV_EVTCHN_UNBOUND)
			bf_lost(bf, "event channel closed");
	}
	return 0;
}

/* Disconnected, the back-end at st: start over, give up, or wait. */
static int on_disconnected(struct blkfront *bf, enum xenbus_state st)
{
	int online;

	if (st != XenbusStateClosed && st != XenbusStateInitWait && st != XenbusStateUnknown &&
	    st != XenbusStateInitialising && st != XenbusStateClosing)
		return 0;
	online = bf_backend_online(bf);
	if (online <= 0 || st == XenbusStateUnknown) {
		/* Removed: online=0 with Closing is enough, the back-end may be dead. */
		bf_gone(bf, -ENODEV);
		return 0;
	}
	if (st == XenbusStateInitialising || st == XenbusStateClosing)
		return 0;
	bf->status = BF_INITIALISING;
	return xenbus_switch_state(&bf->dev, XenbusStateInitialising);
}

/* Connected: read the properties, switch Connected and re-issue. */
static int on_connected(struct blkfront *bf)
{
	int ret = bf_read_connect_info(bf);

	if (ret < 0) {
		bf_lost(bf, "bad device properties");
		return 0;
	}
	ret = xenbus_switch_state(&bf->dev, XenbusStateConnected);
	if (ret < 0)
		return ret;
	bf->status = BF_CONNECTED;
	if (bf->was_connected)
		bf->stats.reconnects++;
	bf->was_connected = true;
	return 0;
}

/* One step of the state machine for back-end state st: 1 if our status changed. */
static int act_once(struct blkfront *bf, enum xenbus_state st)
{
	enum bf_status before = bf->status;
	int ret = 0;

	switch (bf->status) {
	case BF_CONNECTED:
	case BF_CONNECTING:
		if (st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown)
			bf_lost(bf, xenbus_state_name(st));
		else if (bf->status == BF_CONNECTING && st == XenbusStateConnected)
			ret = on_connected(bf);
		break;
	case BF_DISCONNECTED:
		ret = on_disconnected(bf, st);
		break;
	case BF_INITIALISING:
		if (st == XenbusStateInitWait || st == XenbusStateConnected) {
			ret = bf_talk_to_backend(bf);
			if (ret == 0)
				bf->status = BF_CONNECTING;
		} else if (st == XenbusStateClosed || st == XenbusStateUnknown ||
			   st == XenbusStateClosing) {
			bf->status = BF_DISCONNECTED;
		}
		break;
	case BF_GONE:
		break;
	}
	if (ret < 0)
		return ret;
	return bf->status != before;
}

/* Drive the state machine with st until it settles. */
int bf_state_act(struct blkfront *bf, enum xenbus_state st)
{
	int i, ret = 0;

	bf->be_state = st;
	for (i = 0; i < 8 && (ret = act_once(bf, st)) > 0; i++)
		;
	return ret < 0 ? ret : 0;
}

int bf_state_step(struct blkfront *bf)
{
	enum xenbus_state st;
	int ret = xenbus_otherend_changed(&bf->dev, &st);

	if (ret < 0)
		return ret;
	if (ret == 0)
		return 0;
	ret = bf_state_act(bf, st);
	if (ret < 0 && bf->status == BF_CONNECTING) {
		/* The handshake failed half-way: tear down and wait for the back-end. */
		bf_lost(bf, "handshake failed");
	}
	return bf->status == BF_GONE ? 0 : ret;
}
