/* SPDX-License-Identifier: MIT */
/*
 * blk-hostile-front: one pvio-blkback serves two disks of one guest.  A process of the guest
 * uses xvdb through libpvio-blkfront and verifies every read the whole time; another drives
 * xvda by hand, with its own xenbus handshake and a raw ring, and attacks the back-end:
 *  - malformed requests (bad operation, 0 and 12 segments, first_sect > last_sect, last_sect 8,
 *    an ungranted reference, a read into a page granted read-only, sectors past the end and
 *    overflowing, indirect requests with bad counts, a bad inner operation, bad segments and
 *    ungranted indirect pages, discards past the end), one at a time and as one batch: each is
 *    answered BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP with its own id, and good requests in
 *    between are still served; the daemon's error counters match;
 *  - reconnects with bad keys (ring-page-order 9, multi-queue-num-queues 0, protocol
 *    x86_32-abi): the back-end writes its error node and goes Closing;
 *  - a corrupt ring (req_prod far ahead): the back-end disconnects xvda (Closing, error node).
 * xvdb keeps serving verified I/O meanwhile.  Once xvda is removed the guest ends every grant
 * it gave (the back-end leaked no mapping) and the daemon holds as many fds as before xvda.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xenstore.h>

#include "frontend/blk/blkfront.h"
#include "grant/gntpool.h"
#include "ring/ring.h"
#include "tests/blk-env.h"
#include "xenbus/xenbus.h"

#define DISK_BYTES  (4u << 20)
#define SECTORS	    (DISK_BYTES / BLK_SECTOR)
#define NPOOL	    8u		/* data pages of the raw front */
#define BAD_REF	    0x7ffffff0u /* a reference beyond any grant table */
#define ID_BASE	    0xb10c000000000000ull
#define NIND	    16u	  /* indirect pages: a batch needs one set per kind */
#define STATE_WAIT  15000 /* ms for the back-end to change state (a loaded CI machine) */
#define HEALTHY_OPS 4u	  /* '.' to the test every this many verified rounds */

/* Messages of the hostile process to the test; the test answers 'k' (fine) or 'f'. */
struct hmsg {
	char type;	      /* 'E' check the error node, 'S' the counters, 'D' remove xvda */
	uint32_t errors;      /* 'S': BLKIF_RSP_ERROR answers so far */
	uint32_t unsupported; /* 'S': BLKIF_RSP_EOPNOTSUPP answers so far */
};

/* The raw front-end of xvda. */
struct raw {
	struct t_link *link;	    /* to the test (a = this process) */
	struct hv *hv;		    /* our hypervisor handle */
	struct xs_handle *xs;	    /* our xenstore connection */
	struct xenbus_dev dev;	    /* device/vbd/51712 */
	domid_t be;		    /* the driver domain */
	void *sring;		    /* the one-page ring, granted to the back-end */
	grant_ref_t ring_ref;	    /* its reference */
	struct ring_front rf;	    /* our end of it */
	evtchn_port_t port;	    /* the event channel of the current connection */
	struct gntpool *pool;	    /* NPOOL writable data pages */
	void *ro_page;		    /* a page granted read-only */
	grant_ref_t ro_ref;	    /* its reference */
	uint8_t *ind;		    /* indirect descriptor pages, two per malformed kind */
	grant_ref_t ind_refs[NIND]; /* their references */
	grant_ref_t revoked;	    /* a reference granted once, then ended */
	uint64_t sectors;	    /* the disk's size */
	uint32_t max_indirect;	    /* feature-max-indirect-segments, 0 if none */
	uint32_t gen;		    /* last write generation */
	uint64_t next_id;	    /* id of the next request */
	uint32_t n_error, n_unsupp; /* answers received so far */
};

static struct t_link hostile_link, healthy_link;

/* ---- the healthy process: xvdb through libpvio-blkfront ---- */

static int healthy_round(struct blkfront *bf, uint8_t *wbuf, uint8_t *rbuf, uint32_t *shadow,
			 uint64_t *rng, uint32_t gen)
{
	uint32_t nsect = 1 + (uint32_t)(blk_rand(rng) % 128);
	uint64_t sector = blk_rand(rng) % (SECTORS - nsect + 1);
	uint64_t check = blk_rand(rng) % (SECTORS - 128 + 1);

	for (uint32_t i = 0; i < nsect; i++)
		blk_tag_fill(wbuf + i * BLK_SECTOR, sector + i, gen);
	T_CHECK(blkfront_write(bf, wbuf, sector * BLK_SECTOR, nsect * BLK_SECTOR) == 0, "write");
	for (uint32_t i = 0; i < nsect; i++)
		shadow[sector + i] = gen;
	T_CHECK(blkfront_read(bf, rbuf, check * BLK_SECTOR, 128 * BLK_SECTOR) == 0, "read");
	for (uint32_t i = 0; i < 128; i++) {
		uint32_t got;

		T_CHECK(blk_tag_check(rbuf + i * BLK_SECTOR, check + i, &got) == 0 &&
			    got == shadow[check + i],
			"xvdb sector %llu: generation %u, want %u", (unsigned long long)(check + i),
			got, shadow[check + i]);
	}
	return 0;
}

static int healthy(void *arg)
{
	struct t_link *l = arg;
	/* timeout_ms -1: under valgrind connecting can take more than the default 10 s. */
	struct blkfront_opts o = { .devid = BLK_XVDB, .timeout_ms = -1 };
	struct blkfront_stats st;
	static uint8_t wbuf[128 * BLK_SECTOR], rbuf[128 * BLK_SECTOR];
	uint32_t *shadow = calloc(SECTORS, sizeof(*shadow));
	uint64_t rng = 0x4ea1;
	struct blkfront *bf;
	char c = 0;

	T_CHECK(shadow, "malloc");
	T_CHECK(blkfront_open(&bf, &o) == 0, "blkfront_open xvdb");
	fcntl(l->ba[1], F_SETFL, O_NONBLOCK);
	for (uint32_t gen = 1; !(t_readable(l->ab[0], 0) && read(l->ab[0], &c, 1) == 1); gen++) {
		T_CHECK(healthy_round(bf, wbuf, rbuf, shadow, &rng, gen) == 0, "xvdb round %u",
			gen);
		if (gen % HEALTHY_OPS == 0 && write(l->ba[1], ".", 1) < 0 && errno != EAGAIN)
			return T_FAIL;
	}
	blkfront_get_stats(bf, &st);
	T_CHECK(st.errors == 0 && st.reconnects == 0, "xvdb: %llu errors, %llu reconnects",
		(unsigned long long)st.errors, (unsigned long long)st.reconnects);
	blkfront_close(bf);
	free(shadow);
	return c == 'q' ? 0 : T_FAIL;
}

/* ---- the hostile process: xvda by hand ---- */

static int ask(struct raw *r, const struct hmsg *m)
{
	char c;

	T_CHECK(t_put(r->link->ab[1], m, sizeof(*m)) == 0, "to the test");
	T_CHECK(t_get(r->link->ba[0], &c, 1) == 0 && c == 'k', "the test says no ('%c')", m->type);
	return 0;
}

/* Wait for the back-end's state to be in mask; the state. */
static int be_wait(struct raw *r, unsigned int mask, const char *what)
{
	enum xenbus_state st = XenbusStateUnknown;
	int rc = xenbus_wait_otherend(&r->dev, mask, STATE_WAIT, &st);

	if (rc < 0) {
		t_fail(__FILE__, __LINE__, "back-end did not reach %s: %d, state %s", what, rc,
		       xenbus_state_name(st));
		return -1;
	}
	return (int)st;
}

#define BIT(s) XENBUS_STATE_BIT(XenbusState##s)

static int raw_open(struct raw *r)
{
	char node[128];
	domid_t self;

	T_CHECK(hv_open(&r->hv, NULL) == 0, "hv_open");
	T_CHECK(hv_domid(r->hv, &self) == 0, "domid");
	r->xs = xs_open(0);
	T_CHECK(r->xs, "xs_open");
	snprintf(node, sizeof(node), "/local/domain/%u/device/vbd/%u", self, BLK_XVDA);
	T_CHECK(xenbus_dev_open(&r->dev, r->xs, XENBUS_FRONTEND, node) == 0, "xenbus_dev_open");
	r->be = r->dev.otherend_id;
	T_CHECK(hv_grant_share(r->hv, r->be, 1, true, &r->sring, &r->ring_ref) == 0, "ring");
	T_CHECK(gntpool_create(&r->pool, r->hv, r->be, NPOOL, true) == 0, "pool");
	T_CHECK(hv_grant_share(r->hv, r->be, 1, false, &r->ro_page, &r->ro_ref) == 0, "ro page");
	T_CHECK(hv_grant_share(r->hv, r->be, NIND, true, (void **)&r->ind, r->ind_refs) == 0,
		"indirect");
	r->next_id = ID_BASE;
	return 0;
}

/* Remove the keys a connection attempt writes. */
static void raw_clear_keys(struct raw *r)
{
	static const char *const keys[] = { "ring-ref",	       "ring-ref0",
					    "ring-page-order", "multi-queue-num-queues",
					    "queue-0",	       "event-channel",
					    "protocol",	       "feature-persistent" };
	char path[256];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", r->dev.nodename, keys[i]);
		xs_rm(r->xs, XBT_NULL, path);
	}
}

/* What a connection attempt writes. */
enum attempt {
	GOOD,	      /* a correct single-ring, single-page connection */
	BAD_ORDER,    /* ring-page-order 9 */
	BAD_QUEUES,   /* multi-queue-num-queues 0 */
	BAD_PROTOCOL, /* protocol x86_32-abi */
};

static int raw_write_keys(struct raw *r, enum attempt a)
{
	const char *proto = a == BAD_PROTOCOL ? XEN_IO_PROTO_ABI_X86_32 : XEN_IO_PROTO_ABI_NATIVE;
	int rc = 0;

	raw_clear_keys(r);
	if (r->port)
		hv_evtchn_unbind(r->hv, r->port);
	T_CHECK(hv_evtchn_alloc_unbound(r->hv, r->be, &r->port) == 0, "alloc unbound");
	T_CHECK(ring_blkif_front_init(&r->rf, r->sring, 0) == 0, "ring init");
	if (a == BAD_ORDER) {
		rc |= xenbus_printf(&r->dev, XBT_NULL, "ring-page-order", "9");
		rc |= xenbus_printf(&r->dev, XBT_NULL, "ring-ref0", "%u", r->ring_ref);
	}
	if (a == BAD_QUEUES) {
		rc |= xenbus_printf(&r->dev, XBT_NULL, "multi-queue-num-queues", "0");
		rc |= xenbus_printf(&r->dev, XBT_NULL, "queue-0/ring-ref", "%u", r->ring_ref);
		rc |= xenbus_printf(&r->dev, XBT_NULL, "queue-0/event-channel", "%u", r->port);
	}
	rc |= xenbus_printf(&r->dev, XBT_NULL, "ring-ref", "%u", r->ring_ref);
	rc |= xenbus_printf(&r->dev, XBT_NULL, "event-channel", "%u", r->port);
	rc |= xenbus_printf(&r->dev, XBT_NULL, "protocol", "%s", proto);
	rc |= xenbus_printf(&r->dev, XBT_NULL, "feature-persistent", "1");
	T_CHECK(rc == 0, "write the front's keys");
	return 0;
}

/* Read the disk's size and the back-end's features (written when it connects). */
static int raw_read_backend(struct raw *r)
{
	char *s;

	T_CHECK(xenbus_otherend_read_str(&r->dev, XBT_NULL, "sectors", &s) == 0, "sectors");
	r->sectors = strtoull(s, NULL, 10);
	free(s);
	T_CHECK(r->sectors == SECTORS, "sectors %llu", (unsigned long long)r->sectors);
	if (xenbus_otherend_read_u32(&r->dev, XBT_NULL, "feature-max-indirect-segments",
				     &r->max_indirect) < 0)
		r->max_indirect = 0;
	return 0;
}

/* One connection attempt from InitWait: a good one ends Connected, a bad one Closing. */
static int raw_connect(struct raw *r, enum attempt a)
{
	int st;

	T_CHECK(be_wait(r, BIT(InitWait), "InitWait") >= 0, "wait for InitWait");
	T_CHECK(raw_write_keys(r, a) == 0, "keys");
	T_CHECK(xenbus_switch_state(&r->dev, XenbusStateInitialised) == 0, "Initialised");
	if (a == GOOD) {
		st = be_wait(r, BIT(Connected) | BIT(Closing) | BIT(Closed), "Connected");
		T_CHECK(st == XenbusStateConnected, "good connection refused");
		return raw_read_backend(r);
	}
	st = be_wait(r, BIT(Connected) | BIT(Closing) | BIT(Closed), "Closing");
	T_CHECK(st == XenbusStateClosing || st == XenbusStateClosed,
		"attempt %d: back-end went %s instead of Closing", a, xenbus_state_name(st));
	T_CHECK(ask(r, &(struct hmsg){ .type = 'E' }) == 0, "error node of attempt %d", a);
	return 0;
}

/* Close the connection (ours or one the back-end closed) and go back to Initialising. */
static int raw_reset(struct raw *r)
{
	T_CHECK(xenbus_switch_state(&r->dev, XenbusStateClosing) == 0, "Closing");
	T_CHECK(be_wait(r, BIT(Closing) | BIT(Closed) | BIT(InitWait), "Closing") >= 0, "closing");
	T_CHECK(xenbus_switch_state(&r->dev, XenbusStateClosed) == 0, "Closed");
	T_CHECK(be_wait(r, BIT(Closed) | BIT(InitWait), "Closed") >= 0, "closed");
	T_CHECK(xenbus_switch_state(&r->dev, XenbusStateInitialising) == 0, "Initialising");
	return 0;
}

/* Publish what was queued and wait for n responses, into rsp[]. */
static int raw_exchange(struct raw *r, struct blkif_response *rsp, unsigned int n)
{
	unsigned int got = 0;

	if (ring_front_push(&r->rf) > 0)
		T_CHECK(hv_evtchn_notify(r->hv, r->port) == 0, "notify");
	while (got < n) {
		int k = ring_front_consume(&r->rf, rsp + got, n - got);

		T_CHECK(k >= 0, "the back-end broke the ring: %d", k);
		got += (unsigned int)k;
		if (k == 0 && ring_front_final_check(&r->rf) == 0)
			T_CHECK(t_event_wait(r->hv, r->port, 5000), "no response (%u of %u)", got,
				n);
	}
	return 0;
}

/* A segment of pool page i. */
static void seg_set(struct blkif_request_segment *s, grant_ref_t ref, uint8_t first, uint8_t last)
{
	s->gref = ref;
	s->first_sect = first;
	s->last_sect = last;
}

/* A well-formed write or read of 8 sectors at sector with pool page page. */
static void good_fill(struct raw *r, struct blkif_request *q, uint8_t op, uint64_t sector,
		      unsigned int page)
{
	q->operation = op;
	q->nr_segments = 1;
	q->id = r->next_id++;
	q->sector_number = sector;
	seg_set(&q->seg[0], gntpool_ref_of(r->pool, page), 0, 7);
}

/* Write 8 tagged sectors, read them back into another page, verify. */
static int raw_good(struct raw *r)
{
	uint64_t sector = (r->gen * 8u) % (SECTORS - 8);
	struct blkif_response rsp[2];
	uint8_t *w = gntpool_addr_of(r->pool, 0), *rd = gntpool_addr_of(r->pool, 1);
	uint32_t gen = ++r->gen;

	for (unsigned int i = 0; i < 8; i++)
		blk_tag_fill(w + i * BLK_SECTOR, sector + i, gen);
	memset(rd, 0, HV_PAGE_SIZE);
	good_fill(r, ring_front_req_slot(&r->rf), BLKIF_OP_WRITE, sector, 0);
	T_CHECK(raw_exchange(r, rsp, 1) == 0 && rsp[0].status == BLKIF_RSP_OKAY, "good write");
	good_fill(r, ring_front_req_slot(&r->rf), BLKIF_OP_READ, sector, 1);
	T_CHECK(raw_exchange(r, rsp, 1) == 0 && rsp[0].status == BLKIF_RSP_OKAY, "good read");
	for (unsigned int i = 0; i < 8; i++) {
		uint32_t got;

		T_CHECK(blk_tag_check(rd + i * BLK_SECTOR, sector + i, &got) == 0 && got == gen,
			"good read-back, sector %u", i);
	}
	return 0;
}

/* The malformed requests. */
enum bad {
	BAD_OP,
	SEG0,
	SEG12,
	FIRST_GT_LAST,
	LAST8,
	UNGRANTED,
	REVOKED,
	RO_FOR_READ,
	PAST_END,
	OVERFLOW,
	IND_SEG0,
	IND_TOO_MANY,
	IND_PAGE_UNGRANTED,
	IND_INNER_OP,
	IND_BAD_SEG,
	IND_SEG_UNGRANTED,
	IND_PAST_END,
	DISCARD_PAST_END,
	DISCARD_OVERFLOW,
	NBAD
};

static const char *const bad_name[NBAD] = {
	"bad operation",     "0 segments",	     "12 segments",	 "first_sect > last_sect",
	"last_sect 8",	     "ungranted gref",	     "revoked gref",	 "read into a r/o grant",
	"past the end",	     "sector overflow",	     "indirect 0 segs",	 "indirect too many",
	"indirect page bad", "indirect inner op",    "indirect bad seg", "indirect seg gref",
	"indirect past end", "discard past the end", "discard overflow",
};

/*
 * An indirect read of 4 segments, each a whole pool page, spoilt as kind says.  Each kind has
 * its own two descriptor pages: in a batch the back-end reads them all after we wrote them.
 */
static void ind_fill(struct raw *r, enum bad kind, struct blkif_request_indirect *q)
{
	unsigned int page = 2 * (kind - IND_SEG0) % NIND, nseg = 4;
	struct blkif_request_segment *segs = (void *)(r->ind + page * HV_PAGE_SIZE);

	memset(segs, 0, 2 * HV_PAGE_SIZE);
	if (kind == IND_SEG0)
		nseg = 0;
	if (kind == IND_TOO_MANY)
		nseg = r->max_indirect ? r->max_indirect + 1 : 1024;
	for (unsigned int i = 0; i < 4; i++)
		seg_set(&segs[i], gntpool_ref_of(r->pool, 2 + i), 0, 7);
	if (kind == IND_BAD_SEG)
		seg_set(&segs[2], gntpool_ref_of(r->pool, 4), 6, 2);
	if (kind == IND_SEG_UNGRANTED)
		segs[1].gref = BAD_REF;
	q->operation = BLKIF_OP_INDIRECT;
	q->indirect_op = kind == IND_INNER_OP ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_READ;
	q->nr_segments = (uint16_t)nseg;
	q->sector_number = kind == IND_PAST_END ? r->sectors - 16 : 0;
	q->indirect_grefs[0] = kind == IND_PAGE_UNGRANTED ? r->revoked : r->ind_refs[page];
	q->indirect_grefs[1] = r->ind_refs[page + 1];
}

/* Fill a ring slot with the malformed request kind; its id. */
static uint64_t bad_fill(struct raw *r, enum bad kind, void *slot)
{
	struct blkif_request *q = slot;
	struct blkif_request_discard *d = slot;
	uint64_t id = r->next_id++;

	good_fill(r, q, BLKIF_OP_READ, 16, 2);
	switch (kind) {
	case BAD_OP:
		q->operation = 99;
		break;
	case SEG0:
		q->nr_segments = 0;
		break;
	case SEG12:
		q->operation = BLKIF_OP_WRITE;
		q->nr_segments = 12;
		break;
	case FIRST_GT_LAST:
		seg_set(&q->seg[0], q->seg[0].gref, 5, 4);
		break;
	case LAST8:
		q->seg[0].last_sect = 8;
		break;
	case UNGRANTED:
		q->seg[0].gref = BAD_REF;
		break;
	case REVOKED:
		q->seg[0].gref = r->revoked;
		break;
	case RO_FOR_READ:
		q->seg[0].gref = r->ro_ref;
		break;
	case PAST_END:
		q->sector_number = r->sectors - 1;
		break;
	case OVERFLOW:
		q->sector_number = UINT64_MAX - 3;
		break;
	case DISCARD_PAST_END:
	case DISCARD_OVERFLOW:
		memset(d, 0, sizeof(*q));
		d->operation = BLKIF_OP_DISCARD;
		d->sector_number = kind == DISCARD_OVERFLOW ? UINT64_MAX - 7 : r->sectors - 4;
		d->nr_sectors = kind == DISCARD_OVERFLOW ? 16 : 8;
		break;
	default:
		memset(q, 0, sizeof(*q));
		ind_fill(r, kind, slot);
		break;
	}
	q->id = id; /* the same offset in all three layouts */
	return id;
}

/* Count an answer to a malformed request: it must be an error. */
static int bad_answer(struct raw *r, const struct blkif_response *rsp, enum bad kind)
{
	T_CHECK(rsp->status == BLKIF_RSP_ERROR || rsp->status == BLKIF_RSP_EOPNOTSUPP,
		"%s: status %d", bad_name[kind], rsp->status);
	r->n_error += rsp->status == BLKIF_RSP_ERROR;
	r->n_unsupp += rsp->status == BLKIF_RSP_EOPNOTSUPP;
	return 0;
}

/* Each malformed request alone, each followed by a good write and read. */
static int bad_one_by_one(struct raw *r)
{
	for (int k = 0; k < NBAD; k++) {
		struct blkif_response rsp;
		uint64_t id = bad_fill(r, k, ring_front_req_slot(&r->rf));

		T_CHECK(raw_exchange(r, &rsp, 1) == 0, "%s", bad_name[k]);
		T_CHECK(rsp.id == id, "%s: id %#llx, want %#llx", bad_name[k],
			(unsigned long long)rsp.id, (unsigned long long)id);
		T_CHECK(bad_answer(r, &rsp, k) == 0, "answer");
		T_CHECK(raw_good(r) == 0, "good I/O after %s", bad_name[k]);
	}
	return 0;
}

/* All malformed requests in one batch: every id answered once, each with an error. */
static int bad_batch(struct raw *r)
{
	struct blkif_response rsp[NBAD];
	uint64_t ids[NBAD];
	bool seen[NBAD] = { false };

	for (int k = 0; k < NBAD; k++)
		ids[k] = bad_fill(r, k, ring_front_req_slot(&r->rf));
	T_CHECK(raw_exchange(r, rsp, NBAD) == 0, "batch");
	for (int i = 0; i < NBAD; i++) {
		int k = 0;

		while (k < NBAD && ids[k] != rsp[i].id)
			k++;
		T_CHECK(k < NBAD && !seen[k], "batch: unexpected id %#llx",
			(unsigned long long)rsp[i].id);
		seen[k] = true;
		T_CHECK(bad_answer(r, &rsp[i], k) == 0, "answer");
	}
	return raw_good(r);
}

/* Publish a req_prod far beyond the ring: the back-end must drop the device. */
static int raw_corrupt(struct raw *r)
{
	struct ring_shared *s = r->sring;
	int st;

	__atomic_store_n(&s->req_prod, r->rf.req_prod_pub + 1000, __ATOMIC_RELEASE);
	T_CHECK(hv_evtchn_notify(r->hv, r->port) == 0, "notify");
	st = be_wait(r, BIT(Closing) | BIT(Closed), "Closing");
	T_CHECK(st >= 0, "the back-end ignored a corrupt ring");
	T_CHECK(ask(r, &(struct hmsg){ .type = 'E' }) == 0, "error node after the corrupt ring");
	return 0;
}

/* End every grant: the back-end must have unmapped them all (a short grace for teardown). */
static int raw_end_grants(struct raw *r)
{
	int rc = -EBUSY;

	for (int i = 0; i < 100 && rc == -EBUSY; i++) {
		rc = hv_grant_end(r->hv, r->sring, 1);
		if (rc == -EBUSY)
			t_msleep(20);
	}
	T_CHECK(rc == 0, "ring grant: %d", rc);
	T_CHECK(gntpool_destroy(r->pool) == 0, "data pages still mapped by the back-end");
	T_CHECK(hv_grant_end(r->hv, r->ro_page, 1) == 0, "read-only page still mapped");
	T_CHECK(hv_grant_end(r->hv, r->ind, NIND) == 0, "indirect pages still mapped");
	return 0;
}

static int hostile(void *arg)
{
	struct raw r = { .link = arg };
	void *page;

	T_CHECK(raw_open(&r) == 0, "raw front");
	T_CHECK(hv_grant_share(r.hv, r.be, 1, true, &page, &r.revoked) == 0, "grant");
	T_CHECK(hv_grant_end(r.hv, page, 1) == 0, "revoke");
	T_CHECK(raw_connect(&r, GOOD) == 0, "first connection");
	T_CHECK(raw_good(&r) == 0, "good I/O");
	T_CHECK(bad_one_by_one(&r) == 0, "malformed requests");
	T_CHECK(bad_batch(&r) == 0, "a batch of malformed requests");
	T_CHECK(
	    ask(&r,
		&(struct hmsg){ .type = 'S', .errors = r.n_error, .unsupported = r.n_unsupp }) == 0,
	    "counters");
	for (enum attempt a = BAD_ORDER; a <= BAD_PROTOCOL; a++) {
		T_CHECK(raw_reset(&r) == 0, "reset before attempt %d", a);
		T_CHECK(raw_connect(&r, a) == 0, "bad attempt %d", a);
	}
	T_CHECK(raw_reset(&r) == 0, "reset");
	T_CHECK(raw_connect(&r, GOOD) == 0, "good connection after the bad ones");
	T_CHECK(raw_good(&r) == 0, "good I/O on the new connection");
	T_CHECK(raw_corrupt(&r) == 0, "corrupt ring");
	T_CHECK(xenbus_switch_state(&r.dev, XenbusStateClosed) == 0, "Closed");
	T_CHECK(ask(&r, &(struct hmsg){ .type = 'D' }) == 0, "remove xvda");
	T_CHECK(raw_end_grants(&r) == 0, "grants");
	hv_evtchn_unbind(r.hv, r.port);
	xenbus_dev_close(&r.dev);
	xs_close(r.xs);
	hv_close(r.hv);
	return 0;
}

/* ---- the test ---- */

/* Count the '.'s the healthy process sent so far (without blocking). */
static unsigned int healthy_progress(void)
{
	static unsigned int dots;
	char buf[256];
	ssize_t n;

	while (t_readable(healthy_link.ba[0], 0) && (n = read(healthy_link.ba[0], buf, 256)) > 0)
		dots += (unsigned int)n;
	return dots;
}

/* Wait for the healthy process to verify a few more rounds. */
static int healthy_advances(void)
{
	unsigned int start = healthy_progress();

	for (int waited = 0; healthy_progress() < start + 2; waited += 10) {
		/* 60 s: a round under valgrind on a loaded machine can take seconds. */
		T_CHECK(waited < 60000, "xvdb made no progress");
		t_msleep(10);
	}
	return 0;
}

static int check_counters(struct blk_env *env, const struct hmsg *m)
{
	uint64_t errors = 0, unsupp = 0;
	int rc;

	if (blk_env_stat_wait(env, BLK_XVDA, "errors", m->errors, 3000, &errors) < 0 ||
	    errors != m->errors) {
		blk_env_stat_dump(env, BLK_XVDA);
		T_CHECK(false, "errors counted %llu, answered %u", (unsigned long long)errors,
			m->errors);
	}
	fprintf(stderr, "xvda: %u requests answered BLKIF_RSP_ERROR, %u EOPNOTSUPP\n", m->errors,
		m->unsupported);
	rc = blk_env_stat(env, BLK_XVDA, "unsupported", &unsupp);
	T_CHECK(rc == 0, "stats file: unsupported: %s", strerror(-rc));
	T_CHECK(unsupp == m->unsupported, "unsupported counted %llu, answered %u",
		(unsigned long long)unsupp, m->unsupported);
	return 0;
}

/* Answer the hostile process. */
static int serve(struct blk_env *env, const struct hmsg *m)
{
	char text[256];
	int rc;

	switch (m->type) {
	case 'E':
		rc = blk_env_error_node(env, BLK_XVDA, 3000, text, sizeof(text));
		T_CHECK(rc == 0, "no error node for xvda");
		fprintf(stderr, "xvda error node: %s\n", text);
		return healthy_advances();
	case 'S':
		return check_counters(env, m);
	case 'D':
		rc = blk_env_detach(env, BLK_XVDA, STATE_WAIT);
		T_CHECK(rc == 0, "detach xvda: %d", rc);
		blk_env_note("xvda detached");
		return healthy_advances();
	}
	T_CHECK(false, "message '%c'", m->type);
}

/* The daemon's fd count once it is steady (two equal readings). */
static int steady_fds(pid_t pid)
{
	int last = -1;

	for (int i = 0; i < 200; i++) {
		int n = t_fd_count(pid);

		if (n >= 0 && n == last)
			return n;
		last = n;
		t_msleep(25);
	}
	return -1;
}

static int run_hostile(struct blk_env *env, int fds_before)
{
	struct hmsg m;
	pid_t pid;
	int rc, n = -1;

	/* Made now so that the healthy process holds no end of it. */
	T_CHECK(blk_env_link(&hostile_link) == 0, "pipes");
	T_CHECK(blk_env_guest(env, hostile, &hostile_link, &pid) == 0, "fork hostile");
	close(hostile_link.ab[1]);
	close(hostile_link.ba[0]);
	while (t_get(hostile_link.ab[0], &m, sizeof(m)) == 0) {
		rc = serve(env, &m);
		T_CHECK(t_put(hostile_link.ba[1], rc == 0 ? "k" : "f", 1) == 0, "reply");
	}
	rc = blk_env_wait(pid, 30000);
	T_CHECK(rc == 0, "hostile front failed: %d", rc);
	blk_env_note("hostile front done");
	for (int waited = 0; waited < 3000 && n != fds_before; waited += 50) {
		t_msleep(50);
		n = t_fd_count(env->daemon);
	}
	T_CHECK(n == fds_before, "pvio-blkback holds %d fds, %d before xvda", n, fds_before);
	blk_env_note("fd count back to %d", n);
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char a[PATH_MAX], b[PATH_MAX];
	pid_t hpid;
	int fds, rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&healthy_link) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, a, sizeof(a)) == 0, "disk a");
	T_CHECK(blk_env_disk(&env, "b", DISK_BYTES, b, sizeof(b)) == 0, "disk b");
	T_CHECK(blk_env_attach(&env, BLK_XVDB, b, false) == 0, "attach xvdb");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, healthy, &healthy_link, &hpid) == 0, "fork healthy");
	T_CHECK(healthy_advances() == 0, "xvdb serves");
	fds = steady_fds(env.daemon);
	T_CHECK(fds > 0, "fd count of pvio-blkback");
	blk_env_note("pvio-blkback holds %d fds", fds);
	T_CHECK(blk_env_attach(&env, BLK_XVDA, a, false) == 0, "attach xvda");
	T_CHECK(run_hostile(&env, fds) == 0, "hostile front");
	T_CHECK(healthy_advances() == 0, "xvdb still serves");
	T_CHECK(t_put(healthy_link.ab[1], "q", 1) == 0, "stop healthy");
	rc = blk_env_wait(hpid, 10000);
	T_CHECK(rc == 0, "healthy front failed: %d", rc);
	blk_env_note("healthy front done");
	return blk_env_stop(&env);
}
