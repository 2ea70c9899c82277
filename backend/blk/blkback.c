/* SPDX-License-Identifier: MIT */
/*
 * blkback.c - one ring of blkback: attach, detach, and the loop that reaps completions, takes
 * requests off the ring and answers them.
 *
 * ring/ reads the producer index once, bounds it and copies each request into private memory
 * (XSA-155), so everything here works on copies.  Each copy is planned and validated in
 * request.c before anything is mapped, then started in io.c; it is answered when its I/O
 * completes, or at once when it is refused or served synchronously (discard).  Responses go
 * into slots ring/ has zeroed, field by field (XSA-216), and are pushed with one notification
 * per batch.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/blk/blkback-priv.h"

/* Batches served per call, so one busy front cannot starve the other rings of a thread. */
#define MAX_BATCHES 2
/* Messages a guest can trigger are logged this many times per ring, then suppressed. */
#define LOG_BUDGET 8
/* blkback_ring_poll_wait spins at most this long per call (a fixed budget may be longer). */
#define POLL_SLICE_NS 100000u

void blkback_warn(struct blkback_ring *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (r->log_budget == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log_budget--;
	pvio_log(r->log, PVIO_LOG_WARN, "blkback", "%s: %s%s", r->name, line,
		 r->log_budget ? "" : " (further messages suppressed)");
}

void blkback_respond(struct blkback_ring *r, uint32_t slot, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response *rsp = ring_back_rsp_slot(&r->rb);

	if (!rsp)
		return; /* cannot happen: one slot per consumed request */
	rsp->id = id;
	rsp->operation = op;
	rsp->status = status;
	/* Recorded before any push can publish it (journal.c). */
	if (r->journal)
		blkback_journal_answer(r->journal, slot, r->rb.rsp_prod_pvt - 1);
}

static struct blkback_req *req_alloc(struct blkback_ring *r)
{
	struct blkback_req *e;

	if (r->nfree == 0)
		return NULL;
	e = &r->reqs[r->free[--r->nfree]];
	e->busy = true;
	e->write = false;
	e->kind = BLKBACK_KIND_RW;
	e->offset = e->bytes = e->done = 0;
	e->nseg = e->retries = e->nbatch = 0;
	e->batch = NULL;
	r->stats.in_flight++;
	return e;
}

/* Entry slot in particular (a journal's request executed again), or NULL if it is taken. */
static struct blkback_req *req_alloc_at(struct blkback_ring *r, uint32_t slot)
{
	for (unsigned int i = 0; i < r->nfree; i++) {
		if (r->free[i] != slot)
			continue;
		r->free[i] = r->free[r->nfree - 1];
		r->free[r->nfree - 1] = slot;
		return req_alloc(r);
	}
	return NULL;
}

void blkback_finish(struct blkback_ring *r, struct blkback_req *e, int16_t status)
{
	blkback_segs_release(r, e);
	e->bounced = false;
	if (status == BLKIF_RSP_OKAY && e->write)
		r->stats.bytes_written += e->bytes;
	else if (status == BLKIF_RSP_OKAY)
		r->stats.bytes_read += e->bytes;
	else if (status == BLKIF_RSP_ERROR)
		r->stats.errors++;
	blkback_respond(r, (uint32_t)(e - r->reqs), e->id, e->rsp_op, status);
	e->busy = false;
	r->free[r->nfree++] = (uint32_t)(e - r->reqs);
	r->stats.in_flight--;
}

/* An operation we do not serve. */
static void refuse(struct blkback_ring *r, uint32_t slot, const struct blkif_request *req)
{
	r->stats.unsupported++;
	blkback_warn(r, "unsupported operation %u", req->operation);
	blkback_respond(r, slot, req->id, req->operation, BLKIF_RSP_EOPNOTSUPP);
}

static void take_discard(struct blkback_ring *r, uint32_t slot, const struct blkif_request *req)
{
	struct blkif_request_discard d;
	int16_t status;

	memcpy(&d, req, sizeof(d)); /* a view of our private copy, not of the ring */
	r->stats.discards++;
	status = blkback_discard(r, &d);
	if (status == BLKIF_RSP_ERROR)
		r->stats.errors++;
	else if (status == BLKIF_RSP_EOPNOTSUPP)
		r->stats.unsupported++;
	blkback_respond(r, slot, d.id, d.operation, status);
}

/* Plan a read, write, flush, barrier or indirect request into e: 0 or -EINVAL. */
static int take_planned(struct blkback_ring *r, const struct blkif_request *req,
			struct blkback_req *e)
{
	struct blkif_request_indirect ind;

	e->id = req->id;
	e->rsp_op = req->operation;
	if (req->operation != BLKIF_OP_INDIRECT)
		return blkback_plan_direct(r, req, e);
	memcpy(&ind, req, sizeof(ind));
	/* As Linux, the response echoes the operation carried out. */
	e->rsp_op = ind.indirect_op;
	if (ind.indirect_op == BLKIF_OP_READ || ind.indirect_op == BLKIF_OP_WRITE) {
		r->stats.indirect++;
		if (ind.indirect_op == BLKIF_OP_READ)
			r->stats.reads++;
		else
			r->stats.writes++;
	}
	return blkback_plan_indirect(r, &ind, e);
}

/* Record the request in journal slot (if journalling) as taken off the ring at idx. */
static void journal_take(struct blkback_ring *r, uint32_t slot, uint32_t idx,
			 const struct blkif_request *req)
{
	if (r->journal)
		blkback_journal_take(r->journal, slot, idx, req);
}

/*
 * One private copy off the ring, taken at index idx: answer it now or start its I/O.  slot:
 * the journal slot (and table entry) it must use when executed again from a journal, else -1.
 */
static void take(struct blkback_ring *r, const struct blkif_request *req, uint32_t idx, int slot)
{
	uint32_t now = slot < 0 ? r->rb.nr_ents : (uint32_t)slot; /* the slot of an answer now */
	struct blkback_req *e;

	switch (req->operation) {
	case BLKIF_OP_READ:
		r->stats.reads++;
		break;
	case BLKIF_OP_WRITE:
		r->stats.writes++;
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		r->stats.flushes++;
		break;
	case BLKIF_OP_WRITE_BARRIER:
		r->stats.barriers++;
		break;
	case BLKIF_OP_DISCARD:
		journal_take(r, now, idx, req);
		take_discard(r, now, req);
		return;
	case BLKIF_OP_INDIRECT:
		if (r->max_indirect)
			break;
		__attribute__((fallthrough)); /* not advertised */
	default:
		journal_take(r, now, idx, req);
		refuse(r, now, req);
		return;
	}
	e = slot < 0 ? req_alloc(r) : req_alloc_at(r, now);
	if (!e) { /* cannot happen: the ring bounds what is unanswered to nr_ents */
		r->stats.errors++;
		journal_take(r, now, idx, req);
		blkback_respond(r, now, req->id, req->operation, BLKIF_RSP_ERROR);
		return;
	}
	journal_take(r, (uint32_t)(e - r->reqs), idx, req);
	if (take_planned(r, req, e) < 0)
		blkback_finish(r, e, BLKIF_RSP_ERROR);
	else
		blkback_start(r, e);
}

/*
 * Execute again, in ring order, what a journal left unanswered, stopping at a barrier that
 * waits for the drain (it waits for what came before it; what came after waits for it).
 */
static void redo_take(struct blkback_ring *r)
{
	while (r->redo_next < r->nredo && !r->barrier) {
		const struct blkback_redo *d = &r->redo[r->redo_next++];

		take(r, &d->req, d->idx, (int)d->slot);
	}
}

/* Take up to a ring of requests, stopping at a barrier that waits for the drain. */
static int take_batch(struct blkback_ring *r)
{
	struct blkif_request req;
	unsigned int n;
	int rc;

	/* Reads and writes of one batch go to the kernel in one io_submit (as a blk_plug). */
	r->plugging = true;
	redo_take(r);
	rc = 0;
	/* New requests only once the journal's are all started: they come after them. */
	for (n = 0; n < r->rb.nr_ents && !r->barrier && r->redo_next == r->nredo; n++) {
		rc = ring_back_consume(&r->rb, &req, 1);
		if (rc <= 0)
			break;
		take(r, &req, r->rb.req_cons - 1, -1);
	}
	r->plugging = false;
	blkback_unplug(r);
	return rc < 0 ? rc : 0;
}

/* The ring's clock: no system call where the ring never polls (ring_poll_clock). */
static uint64_t ring_now(const struct blkback_ring *r)
{
	return ring_poll_clock(&r->poll);
}

static int push_notify(struct blkback_ring *r)
{
	int rc = ring_back_push(&r->rb);

	if (rc > 0) {
		uint64_t t0 = ring_stat_now();

		r->stats.notifies++;
		rc = hv_evtchn_notify(r->hv, r->port);
		r->stats.notify_ns += ring_stat_now() - t0;
	}
	return rc;
}

/* One batch: reap, run a drained barrier, take new requests, answer. */
static int batch_run(struct blkback_ring *r)
{
	int rc;

	rc = blkback_reap(r);
	if (rc < 0)
		return rc;
	blkback_barrier_run(r);
	rc = take_batch(r);
	if (rc < 0)
		return rc;
	/*
	 * I/O that io_submit finished on the spot (the page cache, tmpfs) is answered in this same
	 * pass, with the one notify below, rather than after the io fd wakes the loop again.
	 */
	if (r->aio_inflight) {
		rc = blkback_reap(r);
		if (rc < 0)
			return rc;
	}
	/*
	 * A barrier taken behind that I/O waits for a drain that may just have ended here (or
	 * that io_submit refused): no completion is left to wake the loop for it, so run it now.
	 * If it still waits, I/O is in flight and its completion will make the io fd readable.
	 */
	blkback_barrier_run(r);
	return push_notify(r);
}

/* Requests taken or responses given since *mark (then moved on): what the poll budget learns. */
static bool worked(struct blkback_ring *r, uint64_t *mark)
{
	uint64_t now = (uint64_t)r->rb.req_cons << 32 | r->rb.rsp_prod_pvt;
	bool moved = now != *mark;

	*mark = now;
	return moved;
}

static int process(struct blkback_ring *r)
{
	int batch, rc;

	for (batch = 0; batch < MAX_BATCHES; batch++) {
		rc = batch_run(r);
		if (rc < 0)
			return rc;
		if (r->barrier)
			return 0; /* I/O in flight: its completion makes the io fd readable */
		rc = ring_back_final_check(&r->rb);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

int blkback_ring_process(struct blkback_ring *r)
{
	uint64_t mark = 0, t0, now;
	int rc;

	if (r->rb.broken)
		return -EPROTO;
	t0 = ring_now(r);
	worked(r, &mark);
	/*
	 * Clear the io fd, then reap: a completion after this makes it readable again.  Not after a
	 * spin that found work: its completions are in the aio ring, reaped below, and the clear
	 * waits until the ring is about to sleep (blkback_ring_poll_wait, or the next call that
	 * does not follow a spin): one system call less per I/O while polling pays.  Until then the
	 * fd may poll readable with nothing to reap, which costs a call, never a lost wake-up.
	 */
	if (r->spun) {
		r->io_stale = true;
	} else {
		rc = blkback_io_clear(r);
		if (rc < 0)
			return rc;
	}
	rc = process(r);
	now = ring_now(r);
	r->stats.busy_ns += now - t0;
	if (worked(r, &mark))
		ring_poll_work(&r->poll, now, r->spun);
	r->spun = false;
	if (rc >= 0)
		return rc;
	if (rc == -EPROTO)
		pvio_log(r->log, PVIO_LOG_WARN, "blkback", "%s: ring protocol error", r->name);
	return rc;
}

int blkback_ring_quiesce(struct blkback_ring *r)
{
	struct pollfd pfd = { .fd = r->efd, .events = POLLIN };
	int rc = 0;

	if (r->rb.broken)
		return -EPROTO;
	/* Each completion makes the io fd readable: no timeout is needed to see the last. */
	while (rc >= 0 && r->aio_inflight) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
		rc = blkback_io_clear(r);
		if (rc == 0)
			rc = blkback_reap(r);
	}
	if (rc >= 0) {
		blkback_barrier_run(r); /* its drain is over: it runs synchronously */
		rc = push_notify(r);
	}
	return rc < 0 ? rc : 0;
}

bool blkback_ring_has_requests(const struct blkback_ring *r)
{
	return __atomic_load_n(&r->rb.sring->req_prod, __ATOMIC_RELAXED) != r->rb.req_cons;
}

/*
 * Whether completions wait in the kernel's completion ring, which io_setup maps into our memory
 * (blkback_reap takes them from it): false when its header is not the one we know.
 */
static bool aio_has_events(const struct blkback_ring *r)
{
	const struct bb_aio_ring *a = bb_aio_ring_of(r->aio);

	if (!r->aio_inflight || !a)
		return false;
	return __atomic_load_n(&a->head, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&a->tail, __ATOMIC_RELAXED);
}

/* Whether the front published requests or our I/O completed (ring_poll_spin's look). */
static bool ring_has_work(void *arg)
{
	struct blkback_ring *r = arg;

	return blkback_ring_has_requests(r) || aio_has_events(r);
}

/*
 * The ring is about to sleep: clear the io fd a spin's hit left counting (blkback_ring_process),
 * then look again.  True when completions may wait unreaped (then process the ring now).
 */
static bool io_settle(struct blkback_ring *r)
{
	if (!r->io_stale)
		return false;
	if (blkback_io_clear(r) < 0)
		return true; /* the process call reads it again and reports the error */
	if (!r->aio_inflight)
		return false;
	/* A ring we cannot look at without a system call: let the process call reap it. */
	return !bb_aio_ring_of(r->aio) || aio_has_events(r);
}

bool blkback_ring_poll_wait(struct blkback_ring *r)
{
	uint64_t now;

	if (r->rb.broken)
		return false;
	now = ring_now(r);
	if (ring_poll_deadline(&r->poll, now) <= now) {
		ring_poll_begin(&r->poll, now); /* a sleep: process left req_event armed */
		return io_settle(r);
	}
	/* While we poll, the front's pushes need not notify us: that saves its hypercall. */
	ring_back_quiet(&r->rb);
	r->spun = ring_poll_spin(&r->poll, ring_has_work, r, POLL_SLICE_NS);
	if (r->spun)
		return true;
	/* A long fixed budget goes in slices: the caller's other work gets its turn between. */
	now = ring_poll_now();
	if (ring_poll_deadline(&r->poll, now) > now)
		return true;
	/* About to sleep: arm req_event again, and look once more (the dd-thread contract). */
	return ring_back_final_check(&r->rb) != 0 || io_settle(r);
}

int blkback_ring_io_fd(const struct blkback_ring *r)
{
	return r->efd;
}

void blkback_ring_stats(const struct blkback_ring *r, struct blkback_stats *st)
{
	struct mapcache_stats cs;

	*st = r->stats;
	st->poll_hits = r->poll.hits;
	st->poll_misses = r->poll.misses;
	st->poll_sleeps = r->poll.sleeps;
	if (r->cache) {
		mapcache_stats(r->cache, &cs);
		st->pgrant_hits = cs.hits;
		st->pgrant_misses = cs.misses;
	}
}

void blkback_stats_add(struct blkback_stats *sum, const struct blkback_stats *st)
{
	sum->reads += st->reads;
	sum->writes += st->writes;
	sum->flushes += st->flushes;
	sum->barriers += st->barriers;
	sum->discards += st->discards;
	sum->indirect += st->indirect;
	sum->unsupported += st->unsupported;
	sum->errors += st->errors;
	sum->bytes_read += st->bytes_read;
	sum->bytes_written += st->bytes_written;
	sum->bytes_discarded += st->bytes_discarded;
	sum->pgrant_hits += st->pgrant_hits;
	sum->pgrant_misses += st->pgrant_misses;
	sum->in_flight += st->in_flight;
	sum->ev_spurious += st->ev_spurious;
	sum->ev_delayed += st->ev_delayed;
	sum->poll_hits += st->poll_hits;
	sum->poll_misses += st->poll_misses;
	sum->poll_sleeps += st->poll_sleeps;
	sum->notifies += st->notifies;
	sum->busy_ns += st->busy_ns;
	sum->submit_ns += st->submit_ns;
	sum->notify_ns += st->notify_ns;
	sum->bounced += st->bounced;
}

uint64_t blkback_ring_eoi(struct blkback_ring *r, uint64_t now)
{
	/* Both indices only move forward: their sum changes whenever the ring did any work. */
	uint64_t work = (uint64_t)r->rb.req_cons + r->rb.rsp_prod_pvt;

	return ring_eoi_rule(&r->eoi, work, now, &r->stats.ev_spurious, &r->stats.ev_delayed);
}

/* The table of requests and the scratch arrays, sized at attach. */
static int tables_alloc(struct blkback_ring *r)
{
	unsigned int n = r->rb.nr_ents, i;

	r->reqs = calloc(n, sizeof(*r->reqs));
	r->segs = calloc((size_t)n * r->max_segs, sizeof(*r->segs));
	r->free = calloc(n, sizeof(*r->free));
	r->iov = calloc((size_t)n * r->max_segs, sizeof(*r->iov));
	r->plug = calloc(n, sizeof(*r->plug));
	r->refs = calloc(r->max_segs, sizeof(*r->refs));
	/* Every pointer is set, so that sizing the tables again after tables_free is safe. */
	r->idesc = r->max_indirect ? calloc(r->max_indirect, sizeof(*r->idesc)) : NULL;
	if (!r->reqs || !r->segs || !r->free || !r->iov || !r->plug || !r->refs ||
	    (r->max_indirect && !r->idesc))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r->reqs[i].segs = &r->segs[(size_t)i * r->max_segs];
		r->reqs[i].iov = &r->iov[(size_t)i * r->max_segs];
		r->free[i] = n - 1 - i;
	}
	r->nfree = n;
	return 0;
}

static void tables_free(struct blkback_ring *r)
{
	for (unsigned int i = 0; r->reqs && i < r->rb.nr_ents; i++) {
		free(r->reqs[i].bbuf);
		r->reqs[i].bbuf = NULL;
		r->reqs[i].bbuf_len = 0;
	}
	r->bounce_total = 0;
	free(r->reqs);
	free(r->segs);
	free(r->free);
	free(r->iov);
	free(r->plug);
	free(r->refs);
	free(r->idesc);
}

static bool params_ok(const struct blkback_ring_params *p)
{
	return p->refs && p->order <= RING_ORDER_MAX && p->disk && p->disk->fd >= 0 &&
	       p->disk->sector_size >= 512 &&
	       p->max_indirect_segments <= BLKBACK_INDIRECT_SEGMENTS_LIMIT;
}

/* The indirect segments the ring accepts, and so the segments of each table entry. */
static void set_max_indirect(struct blkback_ring *r, uint32_t mi)
{
	r->max_indirect = mi;
	r->max_segs = mi > BLKIF_MAX_SEGMENTS_PER_REQUEST ? mi : BLKIF_MAX_SEGMENTS_PER_REQUEST;
}

static void ring_init(struct blkback_ring *r, struct hv *hv, const struct blkback_ring_params *p)
{
	r->hv = hv;
	r->log = p->log ? p->log : pvio_log_stderr(PVIO_LOG_WARN);
	if (p->name)
		snprintf(r->name, sizeof(r->name), "%s", p->name);
	else
		snprintf(r->name, sizeof(r->name), "dom%u", p->frontend);
	r->frontend = p->frontend;
	r->port = p->port;
	r->disk = p->disk;
	r->ring_pages = 1u << p->order;
	set_max_indirect(r, p->max_indirect_segments);
	r->log_budget = LOG_BUDGET;
	r->efd = -1;
	/* Where the clock is a system call a spin is none (ring_clock_slow): off, unless fixed. */
	ring_poll_init(&r->poll,
		       p->poll_mode == RING_POLL_ADAPTIVE && ring_clock_slow() ? RING_POLL_OFF
									       : p->poll_mode,
		       p->poll_us, 0);
	r->bounce = p->bounce;
}

/* The persistent-grant cache, where persistent grants were negotiated. */
static int io_cache(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	if (!p->persistent)
		return 0;
	return mapcache_create(
	    &r->cache, r->hv, r->frontend,
	    p->max_persistent ? p->max_persistent : BLKBACK_MAX_PERSISTENT_DEFAULT, true);
}

/* The eventfd, the aio context and the persistent-grant cache. */
static int io_init(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	int rc;

	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		return -errno;
	rc = io_setup((int)r->rb.nr_ents, &r->aio);
	if (rc < 0)
		return rc;
	return io_cache(r, p);
}

static int redo_cmp(const void *a, const void *b, void *arg)
{
	const struct blkback_redo *x = a, *y = b;
	uint32_t base = *(const uint32_t *)arg;

	return (x->idx - base > y->idx - base) - (x->idx - base < y->idx - base);
}

/*
 * Carry on from a loaded journal: its indices, then execute again what it left unanswered, in
 * the order the front queued it (the journal's slots follow our table, not the ring).
 */
static int journal_resume(struct blkback_ring *r)
{
	uint32_t req_cons, rsp, idx, slot = 0;
	struct blkif_request req;

	blkback_journal_indices(r->journal, &req_cons, &rsp);
	/* What the ring published cannot be ahead of what was recorded (journal.c). */
	if ((int32_t)(rsp - r->rb.rsp_prod_pub) < 0 || rsp - r->rb.rsp_prod_pub > r->rb.nr_ents)
		return -EBADMSG;
	r->rb.req_cons = req_cons;
	r->rb.rsp_prod_pvt = rsp;
	r->redo = calloc(r->rb.nr_ents + 1, sizeof(*r->redo));
	if (!r->redo)
		return -ENOMEM;
	while (r->nredo <= r->rb.nr_ents && blkback_journal_next(r->journal, &slot, &idx, &req)) {
		struct blkback_redo *d = &r->redo[r->nredo++];

		d->slot = slot - 1;
		d->idx = idx;
		d->req = req;
	}
	/* Oldest first: every pending index lies in [rsp, req_cons) (journal_check). */
	qsort_r(r->redo, r->nredo, sizeof(*r->redo), redo_cmp, &rsp);
	redo_take(r);
	return 0;
}

/* What identifies the ring's journal. */
static struct blkback_journal_id journal_id(const struct blkback_ring *r,
					    const struct blkback_ring_params *p)
{
	return (struct blkback_journal_id){ .frontend = p->frontend,
					    .order = p->order,
					    .nr_ents = r->rb.nr_ents,
					    .refs = p->refs,
					    .max_indirect = r->max_indirect,
					    .mark = ring_back_mark(&r->rb) };
}

/* A new mark for a ring connected afresh: nonzero (a ring set up anew has 0) and not the last. */
static uint64_t new_mark(uint64_t old)
{
	struct timespec ts;
	uint64_t m;

	clock_gettime(CLOCK_REALTIME, &ts);
	m = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
	return m == old || m == 0 ? old + 1 + !(old + 1) : m;
}

/* Journal afresh: the ring gets a new mark first, which the journal records. */
static int journal_fresh(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	struct blkback_journal_id id = journal_id(r, p);

	id.mark = new_mark(id.mark); /* ours, not read back from the front's memory */
	ring_back_mark_set(&r->rb, id.mark);
	return blkback_journal_open(&r->journal, p->journal_dirfd, p->journal_name, &id, true,
				    r->rb.req_cons);
}

/*
 * Open the ring's journal: a fresh one, or for a resume the predecessor's, whose ring keeps
 * the indirect segments it was offered (the front was told so at connect, whatever our own
 * option says now).  Before the tables, which are sized by it.
 */
static int journal_attach(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	struct blkback_journal_id id = journal_id(r, p);
	uint32_t mi;
	int rc;

	if (!p->journal_name)
		return p->resume ? -EBADMSG : 0;
	if (!p->resume)
		return journal_fresh(r, p);
	rc = blkback_journal_open(&r->journal, p->journal_dirfd, p->journal_name, &id, false, 0);
	if (rc == -ESTALE) {
		/*
		 * The front set this ring up anew (same references) while no back end served it:
		 * nothing of the journal is of it.  Serve it as a new connection from its start,
		 * keeping the offer the front read (journal_peek took it from the same journal).
		 */
		pvio_log(r->log, PVIO_LOG_WARN, "blkback",
			 "%s: the front set its ring up anew while no daemon served it: served "
			 "afresh, the old journal's requests dropped (they are not of this ring)",
			 r->name);
		r->renewed = true;
		if (r->cache && r->cache_prefetched) {
			/* What journal_peek mapped was the old connection's: none of it stays. */
			mapcache_destroy(r->cache);
			r->cache = NULL;
			rc = io_cache(r, p);
			if (rc)
				return rc;
		}
		return journal_fresh(r, p);
	}
	if (rc)
		return rc;
	mi = blkback_journal_max_indirect(r->journal);
	if (mi != r->max_indirect)
		pvio_log(r->log, PVIO_LOG_INFO, "blkback",
			 "%s: keeps the %u indirect segments it was offered (not %u) until it "
			 "connects afresh",
			 r->name, mi, r->max_indirect);
	set_max_indirect(r, mi);
	return 0;
}

/*
 * Map into the persistent-grant cache the grants the predecessor's cache held (its record,
 * blkback_grants_peek): the first requests after a hand-over then find them mapped.  Only
 * hints: a reference that does not map is skipped, one the front no longer uses is evicted
 * like any other, and none evicts what is cached.
 */
static void cache_prefetch(struct blkback_ring *r, const grant_ref_t *refs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (mapcache_prefetch(r->cache, refs[i]) == -EBUSY)
			break;
}

/*
 * Before a resume, while the predecessor still serves: its journal's offer of indirect
 * segments (the tables are sized by it) and, with persistent grants, the grants its cache
 * held, mapped now.  Nothing is taken from the journal here: journal_attach loads it later.
 */
static void journal_peek(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	struct blkback_journal_id id = journal_id(r, p);
	grant_ref_t *refs;
	unsigned int n;
	uint32_t mi;
	int rc;

	if (!p->resume || !p->journal_name)
		return;
	rc = blkback_journal_peek(p->journal_dirfd, p->journal_name, &id, &mi);
	if (rc == 0 || rc == -ESTALE)
		set_max_indirect(r, mi);
	if (rc)
		return;
	r->cache_prefetched = true;
	refs = r->cache ? calloc(BLKBACK_PREFETCH_MAX, sizeof(*refs)) : NULL;
	if (refs && !blkback_grants_peek(p->journal_dirfd, p->journal_name, p->frontend, refs,
					 BLKBACK_PREFETCH_MAX, &n))
		cache_prefetch(r, refs, n);
	free(refs);
}

/* With a journal and persistent grants: keep the record of our cache for a successor. */
static int grants_record(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	unsigned int cap = p->max_persistent ? p->max_persistent : BLKBACK_MAX_PERSISTENT_DEFAULT;
	int rc;

	if (!r->cache || !p->journal_name)
		return 0;
	rc = blkback_grants_open(p->journal_dirfd, p->journal_name, p->frontend, cap, &r->grec,
				 &r->grec_size);
	if (rc == 0)
		mapcache_record(r->cache, r->grec);
	return rc;
}

/* Everything of a ring blkback_ring_prepare builds, whatever it got to; NULL is fine. */
static void ring_free(struct blkback_ring *r)
{
	if (!r)
		return;
	/* io_destroy waits for what the kernel cannot cancel: the I/O into guest pages. */
	if (r->aio)
		io_destroy(r->aio);
	for (unsigned int i = 0; r->reqs && i < r->rb.nr_ents; i++)
		if (r->reqs[i].busy)
			blkback_segs_release(r, &r->reqs[i]);
	mapcache_destroy(r->cache);
	blkback_grants_close(r->grec, r->grec_size);
	blkback_journal_close(r->journal);
	if (r->efd >= 0)
		close(r->efd);
	if (r->sring)
		hv_grant_unmap(r->hv, r->sring, r->ring_pages);
	tables_free(r);
	free(r->redo);
	free(r);
}

int blkback_ring_prepare(struct blkback_ring **rp, struct hv *hv,
			 const struct blkback_ring_params *p)
{
	struct blkback_ring *r;
	void *sring;
	int rc;

	if (!rp || !hv || !p || !params_ok(p))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ring_init(r, hv, p);
	rc = hv_grant_map(hv, p->frontend, r->ring_pages, p->refs, true, &sring);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->sring = sring;
	/* Only its geometry for now: blkback_ring_start reads the indices again. */
	rc = ring_blkif_back_attach(&r->rb, r->sring, p->order);
	if (rc == 0)
		rc = io_init(r, p);
	if (rc == 0)
		journal_peek(r, p);
	if (rc == 0)
		rc = tables_alloc(r);
	if (rc < 0) {
		ring_free(r);
		return rc;
	}
	*rp = r;
	return 0;
}

int blkback_ring_start(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	unsigned int mi = r->max_indirect;
	int rc;

	r->port = p->port;
	rc = ring_blkif_back_attach(&r->rb, r->sring, p->order);
	if (rc == 0)
		rc = journal_attach(r, p);
	if (rc == 0)
		rc = grants_record(r, p);
	/* The journal's offer differs from what the tables were sized for: size them again. */
	if (rc == 0 && r->max_indirect != mi) {
		tables_free(r);
		rc = tables_alloc(r);
	}
	/* journal_resume fails before it starts anything. */
	if (rc == 0 && p->resume && !r->renewed)
		rc = journal_resume(r);
	if (rc < 0)
		ring_free(r);
	return rc;
}

int blkback_ring_attach(struct blkback_ring **rp, struct hv *hv,
			const struct blkback_ring_params *p)
{
	struct blkback_ring *r;
	int rc = blkback_ring_prepare(&r, hv, p);

	if (rc == 0)
		rc = blkback_ring_start(r, p);
	if (rc == 0)
		*rp = r;
	return rc;
}

void blkback_ring_detach(struct blkback_ring *r)
{
	ring_free(r);
}
