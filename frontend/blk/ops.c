/* SPDX-License-Identifier: MIT */
/*
 * ops.c - libpvio-blkfront's operations: submit and split into parts, the pending FIFO and
 * its dispatch over the queues, completion (first error wins), blkfront_poll and the
 * synchronous calls.
 *
 * queue_depth bounds the operations outstanding; ring and pool space are not the caller's
 * concern: parts that do not fit wait in the FIFO, in submission order, and go out as
 * responses free space.  Dispatch is strictly in order (a part that fits nowhere stops it),
 * so every part on a ring was submitted before every part in the FIFO: that keeps re-issue
 * after a reconnect in submission order.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "frontend/blk/blkfront-priv.h"

static struct bf_part *part_new(struct bf_op *op, uint8_t operation, uint64_t sector, size_t op_off,
				size_t len, unsigned int nseg, uint64_t seq)
{
	struct bf_part *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pages = calloc(nseg + BF_MAX_INDIRECT_PAGES, sizeof(*p->pages));
	if (!p->pages) {
		free(p);
		return NULL;
	}
	p->op = op;
	p->operation = operation;
	p->sector = sector;
	p->op_off = op_off;
	p->len = len;
	p->nseg = nseg;
	p->seq = seq;
	return p;
}

static void part_free(struct bf_part *p)
{
	free(p->pages);
	free(p);
}

static void parts_free(struct bf_part *list)
{
	struct bf_part *p;

	while ((p = list)) {
		list = p->next;
		part_free(p);
	}
}

static void fifo_append(struct blkfront *bf, struct bf_part *p)
{
	p->next = NULL;
	if (bf->fifo_tail)
		bf->fifo_tail->next = p;
	else
		bf->fifo_head = p;
	bf->fifo_tail = p;
}

static struct bf_part *fifo_pop(struct blkfront *bf)
{
	struct bf_part *p = bf->fifo_head;

	if (p) {
		bf->fifo_head = p->next;
		if (!bf->fifo_head)
			bf->fifo_tail = NULL;
		p->next = NULL;
	}
	return p;
}

static void done_append(struct blkfront *bf, struct bf_op *op)
{
	op->next = NULL;
	if (bf->done_tail)
		bf->done_tail->next = op;
	else
		bf->done_head = op;
	bf->done_tail = op;
}

void bf_part_complete(struct blkfront *bf, struct bf_part *p, int result)
{
	struct bf_op *op = p->op;

	if (result && !op->result)
		op->result = result;
	part_free(p);
	if (--op->parts == 0)
		done_append(bf, op);
}

/* Run the callbacks of completed operations: how many ran. */
int bf_run_done(struct blkfront *bf)
{
	struct bf_op *op;
	int n = 0;

	while ((op = bf->done_head)) {
		bf->done_head = op->next;
		if (!bf->done_head)
			bf->done_tail = NULL;
		bf->stats.completed++;
		bf->stats.in_flight--;
		if (op->result)
			bf->stats.errors++;
		if (op->done)
			op->done(op->arg, op->result);
		free(op);
		n++;
	}
	return n;
}

/* Complete every part in the FIFO with err (the rings must be torn down already). */
void bf_fail_all(struct blkfront *bf, int err)
{
	struct bf_part *p;

	while ((p = fifo_pop(bf)))
		bf_part_complete(bf, p, err);
}

static unsigned int pages_of(size_t len)
{
	return (unsigned int)((len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE);
}

/*
 * Cut a read/write part that has more segments than this connection allows.  The new parts are
 * all allocated before p changes: on -ENOMEM p is as it was.
 */
static int part_resplit(struct blkfront *bf, struct bf_part *p)
{
	size_t max = (size_t)bf->part_segs * HV_PAGE_SIZE, off;
	struct bf_part *list = NULL, **tail = &list, *t = p;
	unsigned int n = 0;

	if (p->nseg <= bf->part_segs)
		return 0;
	for (off = max; off < p->len; off += max) {
		size_t len = p->len - off < max ? p->len - off : max;

		t = part_new(p->op, p->operation, p->sector + off / BF_SECTOR, p->op_off + off, len,
			     pages_of(len), p->seq);
		if (!t) {
			parts_free(list);
			return -ENOMEM;
		}
		*tail = t;
		tail = &t->next;
		n++;
	}
	*tail = p->next;
	if (bf->fifo_tail == p)
		bf->fifo_tail = t;
	p->next = list;
	p->len = max;
	p->nseg = bf->part_segs;
	p->op->parts += n;
	return 0;
}

/*
 * Fix the part at the FIFO's head for what this connection offers: true if it is ready to go,
 * false if it was completed here (a flush with nothing to flush, a discard no longer offered,
 * no memory to cut it into requests).
 */
static bool head_prepare(struct blkfront *bf, struct bf_part *p)
{
	int result;

	switch (p->op->op) {
	case BLKFRONT_FLUSH:
		if (bf->info.flush)
			p->operation = BLKIF_OP_FLUSH_DISKCACHE;
		else if (bf->info.barrier)
			p->operation = BLKIF_OP_WRITE_BARRIER;
		else
			break;
		return true;
	case BLKFRONT_DISCARD:
	case BLKFRONT_SECURE_DISCARD:
		if (!bf->info.discard || (p->secure && !bf->info.secure_discard))
			break;
		return true;
	default:
		/* The operation was accepted: it fails through its callback, like any other. */
		result = part_resplit(bf, p);
		if (result == 0)
			return true;
		fifo_pop(bf);
		bf_part_complete(bf, p, result);
		return false;
	}
	fifo_pop(bf);
	bf_part_complete(bf, p, p->op->op == BLKFRONT_FLUSH ? 0 : -EOPNOTSUPP);
	return false;
}

/*
 * The queue where p fits with the fewest requests on it, the last one used (bf->rr) on a tie, or
 * NULL.  Staying on one ring while the others are no emptier keeps a shallow workload on one
 * back-end thread, which then finds its next request while it still polls; round robin at
 * iodepth 1 made each thread sleep between its requests (2 queues: +22 us per I/O, quiet).
 */
static struct bf_queue *pick_queue(struct blkfront *bf, const struct bf_part *p)
{
	struct bf_queue *best = NULL;
	unsigned int k;

	for (k = 0; k < bf->nqueues; k++) {
		struct bf_queue *q = &bf->queues[(bf->rr + k) % bf->nqueues];

		if ((!best || q->busy < best->busy) && bf_queue_fits(bf, q, p))
			best = q;
	}
	return best;
}

/*
 * Move parts from the FIFO onto the rings while they fit; publish and notify once per ring.
 * What does not go out now stays queued for the next call: nothing here fails an operation
 * back to its submitter.
 */
void bf_dispatch(struct blkfront *bf)
{
	unsigned int touched = 0, i;
	struct bf_part *p;
	bool broken = false;

	if (bf->status != BF_CONNECTED)
		return;
	while ((p = bf->fifo_head)) {
		struct bf_queue *q;
		int ret;

		if (!head_prepare(bf, p))
			continue;
		q = pick_queue(bf, p);
		if (!q)
			break;
		ret = bf_queue_issue(bf, q, p);
		broken = ret == -EPROTO;
		if (ret < 0)
			break;
		fifo_pop(bf);
		touched |= 1u << q->index;
		bf->rr = q->index;
	}
	for (i = 0; i < bf->nqueues; i++)
		if ((touched & (1u << i)) && bf_queue_push(bf, &bf->queues[i]) < 0)
			broken = true;
	if (broken)
		bf_lost(bf, "ring broken while queueing");
}

static int check_args(const struct blkfront *bf, enum blkfront_op op, uint64_t offset, size_t len)
{
	uint64_t size = bf->info.sectors * BF_SECTOR;

	if (bf->status == BF_GONE)
		return bf->gone_err ? bf->gone_err : -ENODEV;
	if (op == BLKFRONT_FLUSH)
		return 0;
	if (op > BLKFRONT_SECURE_DISCARD || len == 0 || offset % BF_SECTOR || len % BF_SECTOR ||
	    offset > size || len > size - offset)
		return -EINVAL;
	if (op != BLKFRONT_READ && bf->info.readonly)
		return -EROFS;
	if (op == BLKFRONT_DISCARD && !bf->info.discard)
		return -EOPNOTSUPP;
	if (op == BLKFRONT_SECURE_DISCARD && !bf->info.secure_discard)
		return -EOPNOTSUPP;
	if (bf->stats.in_flight >= bf->depth)
		return -EAGAIN;
	return 0;
}

/* Cut a read or write into parts of part_segs pages at most, onto list. */
static int split_rw(struct blkfront *bf, struct bf_op *op, struct bf_part **list)
{
	size_t max = (size_t)bf->part_segs * HV_PAGE_SIZE, off;
	uint8_t operation = op->op == BLKFRONT_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE;
	struct bf_part **tail = list;

	for (off = 0; off < op->len; off += max) {
		size_t len = op->len - off < max ? op->len - off : max;
		struct bf_part *p = part_new(op, operation, (op->offset + off) / BF_SECTOR, off,
					     len, pages_of(len), bf->seq++);

		if (!p)
			return -ENOMEM;
		*tail = p;
		tail = &p->next;
		op->parts++;
	}
	return 0;
}

static int split(struct blkfront *bf, struct bf_op *op, struct bf_part **list)
{
	struct bf_part *p;

	if (op->op == BLKFRONT_READ || op->op == BLKFRONT_WRITE)
		return split_rw(bf, op, list);
	p = part_new(op, op->op == BLKFRONT_FLUSH ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_DISCARD,
		     op->offset / BF_SECTOR, 0, op->len, 0, bf->seq++);
	if (!p)
		return -ENOMEM;
	p->secure = op->op == BLKFRONT_SECURE_DISCARD;
	op->parts = 1;
	*list = p;
	return 0;
}

/*
 * Queue an operation: 0 with every part in the FIFO and *out set, or an error with nothing
 * queued.  From here on the operation completes through its callback exactly once (or is
 * cancelled by op_cancel before any of it went out).
 */
static int op_queue(struct blkfront *bf, const struct bf_op *args, struct bf_op **out)
{
	struct bf_part *list = NULL, *p;
	struct bf_op *o;
	int ret = check_args(bf, args->op, args->offset, args->len);

	if (ret < 0)
		return ret;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*o = *args;
	ret = split(bf, o, &list);
	if (ret < 0) {
		parts_free(list);
		free(o);
		return ret;
	}
	while ((p = list)) {
		list = p->next;
		fifo_append(bf, p);
	}
	bf->stats.submitted++;
	bf->stats.in_flight++;
	*out = o;
	return 0;
}

int blkfront_submit(struct blkfront *bf, enum blkfront_op op, void *buf, uint64_t offset,
		    size_t len, blkfront_done_fn *done, void *arg)
{
	struct bf_op args = { .op = op,
			      .buf = buf,
			      .offset = offset,
			      .len = len,
			      .done = done,
			      .arg = arg },
		     *o;
	int ret = op_queue(bf, &args, &o);

	if (ret == 0)
		bf_dispatch(bf);
	return ret;
}

/*
 * Forget an operation none of whose parts went out (all still in the FIFO): its callback never
 * runs and nothing touches its buffer again.  -EBUSY while a ring holds a part of it, or once it
 * has completed (its callback is about to run).
 */
static int op_cancel(struct blkfront *bf, struct bf_op *op)
{
	struct bf_part **pp = &bf->fifo_head, *p;

	if (op->on_ring || op->parts == 0)
		return -EBUSY;
	bf->fifo_tail = NULL;
	while ((p = *pp)) {
		if (p->op == op) {
			*pp = p->next;
			part_free(p);
		} else {
			bf->fifo_tail = p;
			pp = &p->next;
		}
	}
	bf->stats.in_flight--;
	free(op);
	return 0;
}

/* Take the responses on every ring: how many. */
static int take_responses(struct blkfront *bf)
{
	unsigned int i;
	int ret, taken = 0;

	for (i = 0; i < bf->nqueues && bf->status == BF_CONNECTED; i++) {
		ret = bf_queue_responses(bf, &bf->queues[i]);
		if (ret < 0)
			bf_lost(bf, "protocol error in a response");
		else
			taken += ret;
	}
	/* What the spin's budget learns from: were these caught spinning or after a sleep? */
	if (taken)
		ring_poll_work(&bf->poll, ring_poll_clock(&bf->poll), bf->spun);
	bf->spun = false;
	return taken;
}

/*
 * Take events and responses, follow the back-end's state, dispatch: 0 or a negative errno.
 * Responses come first: whatever happens to xenstore, what the back-end answered is delivered.
 */
static int work(struct blkfront *bf)
{
	evtchn_port_t port;
	unsigned int pending;
	int ret, taken = 0;

	/*
	 * After a spin that found a response the rings were quiet: the back-end sent no event,
	 * so looking for one (a system call) is skipped.  One it sent before the spin quieted the
	 * rings stays readable on the event fd, and the next look or wait takes it.
	 */
	for (pending = 0; !bf->spun && pending < 1024 && hv_evtchn_pending(bf->hv, &port) == 0;
	     pending++)
		hv_evtchn_unmask(bf->hv, port);
	bf->stats.events += pending;
	if (bf->status == BF_GONE)
		return 0; /* nothing left to drive: the directories may be gone too */
	if (bf->status == BF_CONNECTED)
		taken = take_responses(bf);
	bf_check_hv(bf);
	ret = bf_follow_xenstore(bf);
	/*
	 * A port's state costs a hypercall on Xen: look when an event brought no response (the
	 * wake-up of a peer closing its end) and once a tick, not on every poll.
	 */
	if (bf->status == BF_CONNECTED &&
	    ((pending && !taken) || hv_now_ms() - bf->chan_checked_ms >= BF_TICK_MS)) {
		bf->chan_checked_ms = hv_now_ms();
		bf_check_channels(bf);
	}
	if (bf->zombies)
		bf_zombies_retry(bf);
	bf_dispatch(bf);
	return ret;
}

/* Whether a response waits on any ring (ring_poll_spin's look). */
static bool any_response(void *arg)
{
	struct blkfront *bf = arg;

	for (unsigned int i = 0; i < bf->nqueues; i++)
		if (bf_queue_has_responses(&bf->queues[i]))
			return true;
	return false;
}

/* Quiet (no notifications wanted) or arm every ring's rsp_event: arming says if one waits. */
static bool rings_event(struct blkfront *bf, bool arm)
{
	bool waiting = false;

	for (unsigned int i = 0; i < bf->nqueues; i++) {
		struct bf_queue *q = &bf->queues[i];

		if (!q->sring)
			continue;
		if (!arm)
			ring_front_quiet(&q->rf);
		else if (ring_front_final_check(&q->rf) != 0)
			waiting = true; /* a response, or a broken ring for work() to report */
	}
	return waiting;
}

/*
 * Spin for a response on any ring while the poll budget allows (bf->poll: adaptive by default,
 * opts.poll_us fixed, none with opts.no_poll): true if one is there.  Only while requests are
 * in flight: with nothing due, a wait sleeps at once.  While it spins, the back-end need not
 * notify us (rsp_event quiet: its hypercall saved); a spin that ends without a response arms
 * rsp_event again and looks once more before the wait sleeps, so spinning loses no event.  The
 * responses are taken by work(), which arms rsp_event too, as after any wake-up.
 */
static bool spin(struct blkfront *bf)
{
	uint64_t now;

	if (bf->status != BF_CONNECTED || !bf->stats.in_flight)
		return false;
	now = ring_poll_clock(&bf->poll);
	if (ring_poll_deadline(&bf->poll, now) > now)
		rings_event(bf, false);
	bf->spun = ring_poll_spin(&bf->poll, any_response, bf, 0);
	return bf->spun || rings_event(bf, true);
}

int blkfront_poll(struct blkfront *bf, int timeout_ms)
{
	long long deadline = hv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int n = 0, ret;

	for (;;) {
		struct epoll_event ev;
		long long left;

		ret = work(bf);
		n += bf_run_done(bf);
		if (n > 0)
			break;
		if (bf->report) {
			ret = bf->report;
			bf->report = 0;
			return ret;
		}
		if (ret < 0)
			return ret;
		if (bf->status == BF_GONE && bf->stats.in_flight == 0)
			return bf->gone_err ? bf->gone_err : -ENODEV;
		if (timeout_ms == 0)
			break;
		/* Before the spin too: a back-end that keeps rsp_prod moving with no answer
		 * behind it would otherwise keep a timed call spinning past its deadline. */
		left = timeout_ms < 0 ? BF_TICK_MS : deadline - hv_now_ms();
		if (left <= 0)
			break;
		if (spin(bf))
			continue;
		if (left > BF_TICK_MS)
			left = BF_TICK_MS;
		epoll_wait(bf->epfd, &ev, 1, (int)left);
	}
	return n;
}

int blkfront_fd(const struct blkfront *bf)
{
	return bf->epfd;
}

unsigned int blkfront_in_flight(const struct blkfront *bf)
{
	return bf->stats.in_flight;
}

/* A synchronous call's completion. */
struct bf_sync {
	bool done;  /* the operation completed */
	int result; /* its result */
};

static void sync_done(void *arg, int result)
{
	struct bf_sync *s = arg;

	s->done = true;
	s->result = result;
}

/*
 * Submit, then poll until the operation completed: s lives in this frame and buf is the
 * caller's, so it returns early only after cancelling the operation, and it cannot cancel what
 * the back-end holds (that completes, or fails when the device cannot continue).
 */
static int sync_op(struct blkfront *bf, enum blkfront_op op, void *buf, uint64_t offset, size_t len)
{
	struct bf_sync s = { false, 0 };
	struct bf_op args = { .op = op,
			      .buf = buf,
			      .offset = offset,
			      .len = len,
			      .done = sync_done,
			      .arg = &s },
		     *o;
	int ret;

	while ((ret = op_queue(bf, &args, &o)) == -EAGAIN) {
		ret = blkfront_poll(bf, -1);
		if (ret < 0)
			return ret;
	}
	if (ret < 0)
		return ret;
	bf_dispatch(bf);
	while (!s.done) {
		ret = blkfront_poll(bf, -1);
		if (ret < 0 && !s.done && op_cancel(bf, o) == 0)
			return ret;
	}
	return s.result;
}

int blkfront_read(struct blkfront *bf, void *buf, uint64_t offset, size_t len)
{
	return sync_op(bf, BLKFRONT_READ, buf, offset, len);
}

int blkfront_write(struct blkfront *bf, const void *buf, uint64_t offset, size_t len)
{
	return sync_op(bf, BLKFRONT_WRITE, (void *)buf, offset, len);
}

int blkfront_flush(struct blkfront *bf)
{
	return sync_op(bf, BLKFRONT_FLUSH, NULL, 0, 0);
}

int blkfront_discard(struct blkfront *bf, uint64_t offset, size_t len, bool secure)
{
	return sync_op(bf, secure ? BLKFRONT_SECURE_DISCARD : BLKFRONT_DISCARD, NULL, offset, len);
}
