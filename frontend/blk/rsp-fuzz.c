/* SPDX-License-Identifier: MIT */
/*
 * rsp-fuzz.c - a libFuzzer target for libpvio-blkfront's response path (queue.c's responses,
 * ops.c's completion and dispatch, reconnect.c's loss, re-issue and zombies, through
 * blkfront_submit and blkfront_poll) as a hostile back-end drives it: responses with unknown,
 * repeated or stale ids, wrong operations, any status, a response producer past what was
 * asked, back-end state changes that make the library reconnect and re-issue, and grants the
 * back-end keeps mapped.  Built and run by tests/blkfront-rsp-fuzz.sh, not by make.
 *
 * The seams are fakes of our own: hv_grant_share/end (anonymous pages, refs the back-end can look
 * up; an end refused with -EBUSY while the input says the back-end still maps), event channels
 * that do nothing, xenstore reduced to the back-end's state and `online`, and the handshake of
 * blkfront.c reduced to setting the rings up with the header's geometry and features.
 *
 * Cheap executions: the shared pages, the operations' buffers and the library's tables (the
 * link wraps calloc and free) come from tests/fuzz-pages.h's recycled pool of zeroed, guarded
 * pages, not from a fresh mapping each time.
 *
 * Input: 4 header bytes (queues, ring order, segments per request, pool size, no_reconnect;
 * features; queue depth; -EBUSY ends), then commands (low 3 bits of a byte):
 *   0 submit (3 bytes: operation (bit 7: into blkfront_buf_alloc memory), offset, length):
 *     operation k's range lies in its own 256 sectors, so the back-end can tell whose part a
 *     request is
 *   1 answer (1 byte: count, top bit: a lying rsp_prod of 4 bytes follows the responses), then
 *     3 bytes a response: which request (a real one or, bit 7, a raw id), operation (bit 7: the
 *     raw byte instead of the right one), status; then poll
 *   2 the back-end's state (1 byte; bit 4: online = 0; bits 5-7: the next connection's
 *     segments per request and queues differ), then poll
 *   3 poll                              4 the hypervisor is gone, then poll
 *
 * Checked beyond the sanitizers: each operation's callback runs at most once, and exactly once
 * once the device is closed; an operation succeeds only if every byte of it was answered OKAY
 * and none of its requests was answered with an error; a back-end that sent only valid
 * responses keeps the device connected, one that sent an invalid one (first in line) loses it;
 * every grant ends.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frontend/blk/blkfront-priv.h"
#include "tests/fuzz-pages.h"

#define MAXOPS	  64u
#define REGION	  256u /* sectors of each operation's range */
#define MAXSHARES 256u /* 64 operations' regions, 2 pools of 16, rings, zombies */
#define FIRST_REF 8u

/* ---- the hypervisor ---- */

struct share {
	uint8_t *addr;	    /* the pages */
	unsigned int count; /* how many */
	grant_ref_t ref;    /* the first one's reference; the others follow */
	bool mapped;	    /* its own mapping (the recycled pool was full) */
};

static struct share shares[MAXSHARES];
static unsigned int nshares, busy_ends;
static grant_ref_t next_ref;
static bool hv_dead;

FUZZ_NOCOV int hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			      void **addr, grant_ref_t *refs)
{
	struct share *s;

	(void)hv, (void)peer, (void)writable;
	if (nshares == MAXSHARES)
		abort();
	s = &shares[nshares];
	/*
	 * Zeroed pages recycled between inputs, cleared only where the last input touched them:
	 * a pool of 1024 pages the input barely uses costs little, and no map or unmap (whose
	 * TLB shoot-downs cost more than the rest of an execution).
	 */
	s->addr = fuzz_pages_get((size_t)count * HV_PAGE_SIZE);
	s->mapped = !s->addr;
	if (s->mapped)
		s->addr = mmap(NULL, (size_t)count * HV_PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->addr == MAP_FAILED)
		abort();
	s->count = count;
	s->ref = next_ref;
	for (unsigned int i = 0; i < count; i++)
		refs[i] = next_ref++;
	nshares++;
	*addr = s->addr;
	return 0;
}

FUZZ_NOCOV int hv_grant_end(struct hv *hv, void *addr, unsigned int count)
{
	unsigned int i;

	(void)hv;
	for (i = 0; i < nshares && shares[i].addr != addr; i++)
		;
	if (i == nshares || shares[i].count != count)
		abort(); /* not a share */
	if (busy_ends) {
		busy_ends--;
		return -EBUSY; /* the back-end still maps a page */
	}
	if (shares[i].mapped)
		munmap(shares[i].addr, (size_t)count * HV_PAGE_SIZE);
	else if (!fuzz_pages_put(shares[i].addr))
		abort();
	shares[i] = shares[--nshares];
	return 0;
}

/* The page a reference grants, as the back-end maps it, or NULL. */
FUZZ_NOCOV static uint8_t *grant_page(grant_ref_t ref)
{
	for (unsigned int i = 0; i < nshares; i++)
		if (ref >= shares[i].ref && ref - shares[i].ref < shares[i].count)
			return shares[i].addr + (size_t)(ref - shares[i].ref) * HV_PAGE_SIZE;
	return NULL;
}

static evtchn_port_t next_port;

int hv_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port)
{
	(void)hv, (void)remote;
	*port = ++next_port;
	return 0;
}

int hv_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return 0;
}

int hv_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return 0;
}

int hv_evtchn_pending(struct hv *hv, evtchn_port_t *port)
{
	(void)hv, (void)port;
	return -EAGAIN;
}

int hv_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return 0;
}

int hv_check(struct hv *hv)
{
	(void)hv;
	return hv_dead ? -ENOTCONN : 0;
}

bool hv_evtchn_state_observable(struct hv *hv)
{
	(void)hv;
	return false;
}

int hv_evtchn_state(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return HV_EVTCHN_CONNECTED;
}

/* ---- xenstore: the back-end's state and `online` ---- */

static int be_state = -1; /* a state change not yet seen, or -1 */
static bool be_offline;

int xenbus_otherend_changed(struct xenbus_dev *dev, enum xenbus_state *state)
{
	(void)dev;
	if (be_state < 0)
		return 0;
	*state = (enum xenbus_state)be_state;
	be_state = -1;
	return 1;
}

int xenbus_switch_state(struct xenbus_dev *dev, enum xenbus_state state)
{
	(void)dev, (void)state;
	return 0;
}

int xenbus_read_u32(struct xenbus_dev *dev, xs_transaction_t t, const char *key, uint32_t *val)
{
	(void)dev, (void)t, (void)key;
	*val = 1;
	return 0;
}

const char *xenbus_state_name(enum xenbus_state state)
{
	(void)state;
	return "state";
}

int xs_fileno(struct xs_handle *h)
{
	(void)h;
	return -1;
}

/* ---- blkfront.c's handshake, reduced to what the header says ---- */

static uint8_t hdr[4];
static uint8_t reconf; /* what a reconnect changes: bits 0-1 segments, bit 2 queues */

int bf_backend_online(struct blkfront *bf)
{
	(void)bf;
	return !be_offline;
}

int bf_talk_to_backend(struct blkfront *bf)
{
	static const unsigned int segs[4] = { BLKIF_MAX_SEGMENTS_PER_REQUEST, 1, 64, 600 };
	static const unsigned int pools[4] = { 12, 64, 700, 1024 };
	unsigned int i;
	int ret = 0;

	bf->info.queues = ((hdr[0] ^ reconf >> 2) & 1) + 1;
	bf->info.ring_order = hdr[0] >> 1 & 1;
	bf->pool_pages = pools[hdr[0] >> 4 & 3];
	bf->part_segs = segs[(hdr[0] >> 2 ^ reconf) & 3];
	/* As choose_segs: a part's data and descriptor pages fit an empty pool. */
	while (bf->part_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST &&
	       bf->part_segs + (bf->part_segs + BF_SEGS_PER_PAGE - 1) / BF_SEGS_PER_PAGE >
		   bf->pool_pages)
		bf->part_segs--;
	bf->info.max_segments = bf->part_segs;
	for (i = 0; ret == 0 && i < bf->info.queues; i++) {
		ret = bf_queue_setup(bf, &bf->queues[i], i);
		bf->nqueues = i + 1;
	}
	if (ret < 0)
		abort();
	bf->info.ring_entries = bf->queues[0].rf.nr_ents;
	return 0;
}

int bf_read_connect_info(struct blkfront *bf)
{
	struct blkfront_info *in = &bf->info;

	in->sectors = (uint64_t)MAXOPS * REGION;
	in->sector_size = in->physical_sector_size = BF_SECTOR;
	in->flush = hdr[1] & 1;
	in->barrier = hdr[1] & 2;
	in->discard = hdr[1] & 4;
	in->secure_discard = in->discard && (hdr[1] & 8);
	in->readonly = hdr[1] & 16;
	bf->depth = hdr[2] % MAXOPS ? hdr[2] % MAXOPS : in->queues * in->ring_entries;
	return 0;
}

/* ---- the operations ---- */

struct op {
	bool live;    /* submitted, callback not yet run */
	bool done;    /* its callback ran */
	bool failed;  /* a valid response to one of its requests was not OKAY */
	uint8_t kind; /* enum blkfront_op */
	uint64_t len; /* bytes */
	uint64_t ok;  /* bytes answered OKAY */
	uint8_t *buf; /* its buffer, freed by the callback */
	bool region;  /* buf is from blkfront_buf_alloc */
	bool pooled;  /* buf is from the recycled pool (buf_get), not malloc */
};

static struct op ops[MAXOPS];
static struct blkfront *bf;

/*
 * An operation's own buffer: the tail of a recycled block of the largest size (a fresh
 * malloc a time cost page faults), the rest of it poisoned, so that ASan still reports an
 * access before or after it, or after the operation completed.
 */
#define BUF_MAX ((REGION / 2) * BF_SECTOR)

static uint8_t *buf_get(struct op *o)
{
	uint8_t *block = fuzz_pages_get(BUF_MAX);

	if (o->len > BUF_MAX)
		abort();
	o->pooled = block != NULL;
	if (!block) /* the pool is full: a heap buffer, which ASan guards as well */
		return malloc(o->len);
	ASAN_POISON_MEMORY_REGION(block, BUF_MAX - o->len);
	return block + BUF_MAX - o->len;
}

static void buf_put(struct op *o)
{
	if (!o->pooled)
		free(o->buf);
	else if (!fuzz_pages_put(o->buf + o->len - BUF_MAX))
		abort(); /* not a buffer of ours */
}

static void op_done(void *arg, int result)
{
	struct op *o = arg;

	if (o->done || !o->live)
		abort(); /* completed twice */
	o->done = true;
	o->live = false;
	/* Success only for what was answered OKAY, in full, without an error on the way. */
	if (result == 0 && o->kind != BLKFRONT_FLUSH && (o->failed || o->ok < o->len))
		abort();
	if (o->region)
		blkfront_buf_free(bf, o->buf);
	else if (o->buf)
		buf_put(o);
	o->buf = NULL;
}

/* Free what submit allocated for an operation refused. */
static void op_forget(struct op *o)
{
	if (o->region)
		blkfront_buf_free(bf, o->buf);
	else if (o->buf)
		buf_put(o);
	memset(o, 0, sizeof(*o));
}

static void submit(const uint8_t *in)
{
	unsigned int k, off = in[1] % (REGION / 2), nsect = in[2] % (REGION / 2) + 1;
	enum blkfront_op kind = (enum blkfront_op)(in[0] % 5);
	bool region = in[0] & 0x80; /* granted memory: no copy through the pool */
	struct op *o;

	for (k = 0; k < MAXOPS && (ops[k].live || ops[k].done); k++)
		;
	if (k == MAXOPS)
		return;
	o = &ops[k];
	memset(o, 0, sizeof(*o));
	o->kind = (uint8_t)kind;
	o->len = (uint64_t)nsect * BF_SECTOR;
	if (kind == BLKFRONT_READ || kind == BLKFRONT_WRITE) {
		o->region = region;
		if (region ? blkfront_buf_alloc(bf, o->len, (void **)&o->buf) < 0
			   : !(o->buf = buf_get(o)))
			abort();
		memset(o->buf, (int)k, o->len);
	}
	o->live = true;
	if (blkfront_submit(bf, kind, o->buf, ((uint64_t)k * REGION + off) * BF_SECTOR,
			    kind == BLKFRONT_FLUSH ? 0 : o->len, op_done, o) < 0)
		op_forget(o);
}

/* ---- the back-end ---- */

/* A request the back-end has read and not answered. */
struct seen {
	uint64_t id;	/* as the front wrote it */
	uint8_t op;	/* the operation a response must echo */
	struct op *o;	/* whose, by its sector (NULL: a flush) */
	uint64_t bytes; /* what an OKAY answers */
};

struct back {
	grant_ref_t ring_ref;  /* the ring this state is for (a ring address may come back) */
	uint32_t req_cons;     /* next request to read */
	uint32_t rsp_prod;     /* next response to write */
	struct seen seen[512]; /* requests read, not answered */
	unsigned int nseen;
};

static struct back backs[BF_MAX_QUEUES];

static uint8_t *slot(const struct bf_queue *q, uint32_t idx)
{
	return q->rf.sring->entries + (size_t)(idx & (q->rf.nr_ents - 1)) * sizeof(blkif_request_t);
}

/* Bytes an indirect request's descriptors cover, read as the back-end would. */
static uint64_t indirect_bytes(const struct blkif_request_indirect *r)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < r->nr_segments; i++) {
		const uint8_t *pg = grant_page(r->indirect_grefs[i / BF_SEGS_PER_PAGE]);
		struct blkif_request_segment s;

		if (!pg)
			abort(); /* the front named a page it did not grant */
		memcpy(&s, pg + (i % BF_SEGS_PER_PAGE) * sizeof(s), sizeof(s));
		bytes += (uint64_t)(s.last_sect - s.first_sect + 1u) * BF_SECTOR;
	}
	return bytes;
}

/* Read the requests the front published on q. */
static void back_read(struct back *b, const struct bf_queue *q)
{
	uint32_t prod = __atomic_load_n(&q->rf.sring->req_prod, __ATOMIC_ACQUIRE);

	for (; b->req_cons != prod; b->req_cons++) {
		blkif_request_t r;
		const struct blkif_request_indirect *ind = (const void *)&r;
		const struct blkif_request_discard *d = (const void *)&r;
		struct seen *s = &b->seen[b->nseen++];

		if (b->nseen > 512)
			abort(); /* more requests than a ring holds */
		memcpy(&r, slot(q, b->req_cons), sizeof(r));
		s->id = r.id;
		s->op = r.operation;
		if (r.sector_number / REGION >= MAXOPS)
			abort(); /* outside every operation's range */
		s->o =
		    r.operation == BLKIF_OP_FLUSH_DISKCACHE || r.operation == BLKIF_OP_WRITE_BARRIER
			? NULL
			: &ops[r.sector_number / REGION];
		if (r.operation == BLKIF_OP_INDIRECT) {
			s->op = ind->indirect_op;
			s->bytes = indirect_bytes(ind);
		} else if (r.operation == BLKIF_OP_DISCARD) {
			s->bytes = d->nr_sectors * BF_SECTOR;
		} else {
			s->bytes = 0;
			for (unsigned int i = 0; i < r.nr_segments; i++)
				s->bytes +=
				    (uint64_t)(r.seg[i].last_sect - r.seg[i].first_sect + 1u) *
				    BF_SECTOR;
		}
		if (s->o && !s->o->live)
			abort(); /* a request for an operation that completed */
	}
}

/* The request read and not answered that id names, or NULL. */
static struct seen *seen_find(struct back *b, uint64_t id)
{
	for (unsigned int i = 0; i < b->nseen; i++)
		if (b->seen[i].id == id)
			return &b->seen[i];
	return NULL;
}

/*
 * A response from 3 input bytes into the next slot; deliver: the front will take it (no bad
 * response before it, no lying index).  Clears *deliver if the response is not a valid one.
 */
static void back_answer(struct back *b, const struct bf_queue *q, const uint8_t *in, bool *deliver)
{
	struct blkif_response *rsp = (void *)slot(q, b->rsp_prod++);
	struct seen *s = b->nseen ? &b->seen[in[0] % b->nseen] : NULL;
	uint64_t id = (in[0] & 0x80) || !s ? in[0] & 0x7fu : s->id;
	uint8_t op = (in[1] & 0x80) || !s ? in[1] & 0x7fu : s->op;

	memset(rsp, 0, sizeof(*rsp));
	rsp->id = id;
	rsp->operation = op;
	rsp->status = (int8_t)in[2];
	s = seen_find(b, id); /* a raw id may name another request */
	if (!s || op != s->op) {
		*deliver = false;
		return;
	}
	if (!*deliver)
		return;
	if (s->o && rsp->status == BLKIF_RSP_OKAY)
		s->o->ok += s->bytes;
	else if (s->o)
		s->o->failed = true;
	*s = b->seen[--b->nseen];
}

/* Answer on one queue, publish (honestly or not) and poll; check what the front made of it. */
static size_t answer(const uint8_t *in, size_t left)
{
	struct bf_queue *q = &bf->queues[in[0] % bf->nqueues];
	struct back *b = &backs[q->index];
	unsigned int k = in[0] >> 1 & 15;
	bool lie = (in[0] & 0x80) && left >= 1 + 3u * k + 1;
	bool deliver;
	size_t used = 1;
	uint32_t prod;

	if (b->ring_ref != q->refs[0]) { /* seen[] is read below nseen only */
		b->nseen = 0;
		b->ring_ref = q->refs[0];
		b->req_cons = b->rsp_prod = q->rf.rsp_cons;
	}
	back_read(b, q);
	if (k > (left - 1) / 3)
		k = (unsigned int)((left - 1) / 3);
	/* A lie, or more responses than requests, and the front must take none of them. */
	deliver = !lie && b->rsp_prod + k - q->rf.rsp_cons <= q->rf.req_prod_pub - q->rf.rsp_cons;
	for (unsigned int i = 0; i < k; i++, used += 3)
		back_answer(b, q, in + used, &deliver);
	prod = b->rsp_prod;
	if (lie) /* past every request published */
		prod = q->rf.req_prod_pub + 1u + in[used++];
	__atomic_store_n(&q->rf.sring->rsp_prod, prod, __ATOMIC_RELEASE);
	blkfront_poll(bf, 0);
	if (deliver != (bf->status == BF_CONNECTED))
		abort(); /* dropped a good back-end, or kept a bad one */
	return used;
}

/* The commands; stop once the device is gone or disconnected and no longer driven. */
static void run(const uint8_t *d, size_t n)
{
	while (n > 0 && bf->status != BF_GONE) {
		uint8_t c = *d++;
		size_t used = 0;

		n--;
		switch (c & 7) {
		case 0:
			if (n < 3)
				return;
			submit(d);
			used = 3;
			break;
		case 1:
			if (n < 1 || bf->status != BF_CONNECTED)
				return;
			used = answer(d, n);
			break;
		case 2:
			if (n < 1)
				return;
			be_state = d[0] & 15;
			be_offline = d[0] & 16;
			reconf = d[0] >> 5;
			used = 1;
			blkfront_poll(bf, 0);
			break;
		case 4:
			hv_dead = true;
			__attribute__((fallthrough));
		default:
			blkfront_poll(bf, 0);
			break;
		}
		d += used, n -= used;
	}
}

/* blkfront_close without xenstore: everything still pending fails, every grant ends. */
static void close_dev(void)
{
	bf_gone(bf, -ECANCELED);
	bf_run_done(bf);
	bf_regions_release(bf);
	busy_ends = 0;
	bf_zombies_retry(bf);
	if (bf->zombies || nshares)
		abort(); /* a grant never ended */
	for (unsigned int k = 0; k < MAXOPS; k++)
		if (ops[k].live)
			abort(); /* an operation never completed */
}

static void quiet_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		       const char *fmt, va_list ap)
{
	(void)log, (void)level, (void)prefix, (void)fmt, (void)ap;
}

static struct pvio_log quiet = { quiet_vlog, PVIO_LOG_WARN };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < sizeof(hdr))
		return 0;
	memcpy(hdr, data, sizeof(hdr));
	memset(ops, 0, sizeof(ops));
	for (unsigned int i = 0; i < BF_MAX_QUEUES; i++)
		backs[i].ring_ref = 0; /* no ring: answer() starts it afresh (refs >= FIRST_REF) */
	nshares = 0, next_ref = FIRST_REF, next_port = 0;
	be_state = -1, be_offline = hv_dead = false;
	reconf = 0;
	bf = calloc(1, sizeof(*bf)); /* from the pool (tests/fuzz-pages.h) */
	if (!bf)
		abort();
	bf->log = &quiet;
	bf->epfd = -1;
	bf->opts.no_reconnect = hdr[0] & 0x40;
	bf->opts.no_poll = true;
	ring_poll_init(&bf->poll, RING_POLL_OFF, 0, 0);
	if (bf_talk_to_backend(bf) || bf_read_connect_info(bf))
		abort();
	bf->status = BF_CONNECTED;
	bf->was_connected = true;
	busy_ends = hdr[3] & 7;
	run(data + sizeof(hdr), size - sizeof(hdr));
	close_dev();
	free(bf);
	if (fuzz_pages_out())
		abort(); /* a buffer, a share or a table not given back */
	return 0;
}
