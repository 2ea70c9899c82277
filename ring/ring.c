/*
 * ring: Xen's shared I/O ring, generic over element sizes, with the other side treated as hostile.
 *
 * Index protocol (as xen/io/ring.h): the producer fills slots, issues wmb, then stores its
 * producer index; the consumer loads the producer index once, issues rmb, then reads slots.
 * Event suppression: after publishing, the producer issues mb and notifies only if the new
 * index passed the consumer's event index; a consumer going idle stores cons + 1 there, issues
 * mb and looks at the producer index once more (the final check), so no wake-up is lost.
 *
 * Shared indices are read and written with relaxed atomics: each is one untorn 32-bit access
 * that the compiler may neither repeat nor split (the "read once" that XSA-155 asks for).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ring/barrier.h"
#include "ring/ring.h"

_Static_assert(offsetof(struct ring_shared, entries) == RING_HDR_SIZE, "ring header is 64 bytes");

/* One untorn load of an index the other side may be changing. */
static inline uint32_t ring_load(const uint32_t *idx)
{
	return __atomic_load_n(idx, __ATOMIC_RELAXED);
}

/* One untorn store of an index the other side reads. */
static inline void ring_store(uint32_t *idx, uint32_t val)
{
	__atomic_store_n(idx, val, __ATOMIC_RELAXED);
}

/* The slot an index refers to: indices run freely and are masked here, and only here. */
static inline uint8_t *ring_entry(struct ring_shared *s, uint32_t nr_ents, uint32_t entry_size,
				  uint32_t idx)
{
	return s->entries + (size_t)(idx & (nr_ents - 1)) * entry_size;
}

size_t ring_bytes(unsigned int order)
{
	if (order > RING_ORDER_MAX)
		return 0;
	return (size_t)RING_PAGE_SIZE << order;
}

int ring_nr_ents(unsigned int order, size_t entry_size)
{
	size_t n;

	if (order > RING_ORDER_MAX || entry_size == 0)
		return -EINVAL;
	n = (ring_bytes(order) - RING_HDR_SIZE) / entry_size;
	if (n == 0)
		return -EINVAL;
	/* Round down to a power of two so that masking wraps the index (__RD32). */
	return 1 << (31 - __builtin_clz((unsigned int)n));
}

/* Check the arguments shared by attach and init; the entry count, or -EINVAL. */
static int ring_geometry(const void *sring, unsigned int order, size_t req_size, size_t rsp_size)
{
	/* Entries hold 64-bit fields and the header 32-bit atomics: demand natural alignment. */
	if (!sring || ((uintptr_t)sring & 7) || req_size == 0 || rsp_size == 0)
		return -EINVAL;
	return ring_nr_ents(order, req_size > rsp_size ? req_size : rsp_size);
}

/* Copy n entries starting at index first out of the ring into dst, size bytes apart. */
static void ring_copy_out(struct ring_shared *s, uint32_t nr_ents, uint32_t entry_size,
			  uint32_t first, uint32_t n, void *dst, size_t size)
{
	uint8_t *out = dst;
	uint32_t i;

	for (i = 0; i < n; i++)
		memcpy(out + (size_t)i * size, ring_entry(s, nr_ents, entry_size, first + i), size);
	/* Callers validate the copies only: make sure the compiler never reads the ring instead. */
	ring_barrier();
}

/* Zero a slot before handing it out: XSA-216, nothing of ours may leak through padding. */
static void *ring_slot_zero(struct ring_shared *s, uint32_t nr_ents, uint32_t entry_size,
			    uint32_t idx)
{
	uint8_t *slot = ring_entry(s, nr_ents, entry_size, idx);

	memset(slot, 0, entry_size);
	/* Keep the memset even if the caller then overwrites every byte it can see. */
	ring_barrier();
	return slot;
}

/* Publish a producer index moving from old to new; whether the other side wants an event. */
static int ring_publish(uint32_t *prod, const uint32_t *event, uint32_t old, uint32_t new)
{
	uint32_t ev;

	ring_wmb(); /* slots before the index */
	ring_store(prod, new);
	ring_mb(); /* the index before reading the event, pairing with ring_final_check's mb */
	ev = ring_load(event);
	/* Notify if the event index lies in (old, new]: (new - ev) < (new - old), wrap-safe. */
	return (uint32_t)(new - ev) < (uint32_t)(new - old);
}

/* RING_FINAL_CHECK_FOR_*: 1 if prod moved past cons, else arm the event index and look again. */
static int ring_final_check(const uint32_t *prod, uint32_t *event, uint32_t cons)
{
	if (ring_load(prod) != cons)
		return 1;
	ring_store(event, cons + 1);
	ring_mb(); /* the event index before the re-read, pairing with ring_publish's mb */
	return ring_load(prod) != cons;
}

/*
 * Ask for no notification (the consumer polls): the event index at cons, which the producer's
 * next push cannot pass from below, since it publishes from at least cons.  A notification
 * already on its way is only spurious; the final check before sleeping arms it again.
 */
static void ring_quiet(uint32_t *event, uint32_t cons)
{
	ring_store(event, cons);
}

int ring_back_attach(struct ring_back *rb, void *sring, unsigned int order, size_t req_size,
		     size_t rsp_size)
{
	struct ring_shared *s = sring;
	uint32_t req_prod, rsp_prod;
	int n = ring_geometry(sring, order, req_size, rsp_size);

	if (n < 0)
		return n;
	memset(rb, 0, sizeof(*rb));
	rb->sring = s;
	rb->nr_ents = (uint32_t)n;
	rb->entry_size = (uint32_t)(req_size > rsp_size ? req_size : rsp_size);
	rb->req_size = (uint32_t)req_size;
	/* Carry on where the last back-end stopped: requests past rsp_prod are still unanswered. */
	rsp_prod = ring_load(&s->rsp_prod);
	req_prod = ring_load(&s->req_prod);
	rb->req_cons = rb->rsp_prod_pvt = rb->rsp_prod_pub = rsp_prod;
	if (req_prod - rsp_prod > rb->nr_ents) {
		rb->broken = true;
		return -EPROTO;
	}
	return 0;
}

int ring_back_consume(struct ring_back *rb, void *reqs, unsigned int max)
{
	uint32_t prod, n;

	if (rb->broken)
		return -EPROTO;
	if (max && !reqs)
		return -EINVAL;
	prod = ring_load(&rb->sring->req_prod);
	ring_rmb(); /* the index before the slots it covers */
	/*
	 * An honest front never has more than a ring of requests unanswered, and it sees only the
	 * answers we published: req_prod is at most nr_ents past rsp_prod_pub (answers written but
	 * not published still hold their slots) and, a fortiori, past our consumer.  Checking both
	 * also catches an index moved backwards.
	 */
	if (prod - rb->req_cons > rb->nr_ents || prod - rb->rsp_prod_pub > rb->nr_ents) {
		rb->broken = true;
		return -EPROTO;
	}
	n = prod - rb->req_cons;
	if (n > max)
		n = max;
	ring_copy_out(rb->sring, rb->nr_ents, rb->entry_size, rb->req_cons, n, reqs, rb->req_size);
	rb->req_cons += n;
	return (int)n;
}

void *ring_back_rsp_slot(struct ring_back *rb)
{
	void *slot;

	/* One response per consumed request: more would overwrite requests not yet read. */
	if (rb->broken || rb->rsp_prod_pvt == rb->req_cons)
		return NULL;
	slot = ring_slot_zero(rb->sring, rb->nr_ents, rb->entry_size, rb->rsp_prod_pvt);
	rb->rsp_prod_pvt++;
	return slot;
}

int ring_back_push(struct ring_back *rb)
{
	int notify;

	if (rb->broken)
		return -EPROTO;
	/* Our own invariant (the fields are visible to callers): never publish unasked answers. */
	if (rb->req_cons - rb->rsp_prod_pvt > rb->nr_ents ||
	    rb->rsp_prod_pvt - rb->rsp_prod_pub > rb->nr_ents)
		return -EINVAL;
	if (rb->rsp_prod_pvt == rb->rsp_prod_pub)
		return 0;
	notify = ring_publish(&rb->sring->rsp_prod, &rb->sring->rsp_event, rb->rsp_prod_pub,
			      rb->rsp_prod_pvt);
	rb->rsp_prod_pub = rb->rsp_prod_pvt;
	return notify;
}

void ring_back_indices(const struct ring_back *rb, struct ring_indices *v)
{
	const struct ring_shared *s = rb->sring;

	v->req_prod = ring_load(&s->req_prod);
	v->req_event = ring_load(&s->req_event);
	v->rsp_prod = ring_load(&s->rsp_prod);
	v->rsp_event = ring_load(&s->rsp_event);
}

int ring_back_final_check(struct ring_back *rb)
{
	if (rb->broken)
		return -EPROTO;
	return ring_final_check(&rb->sring->req_prod, &rb->sring->req_event, rb->req_cons);
}

/* Fill in a front's private view at index idx, once ring_geometry returned n. */
static void ring_front_setup(struct ring_front *rf, void *sring, int n, size_t req_size,
			     size_t rsp_size, uint32_t idx)
{
	memset(rf, 0, sizeof(*rf));
	rf->sring = sring;
	rf->nr_ents = (uint32_t)n;
	rf->entry_size = (uint32_t)(req_size > rsp_size ? req_size : rsp_size);
	rf->rsp_size = (uint32_t)rsp_size;
	rf->req_prod_pvt = rf->req_prod_pub = rf->rsp_cons = idx;
}

int ring_front_init(struct ring_front *rf, void *sring, unsigned int order, size_t req_size,
		    size_t rsp_size)
{
	struct ring_shared *s = sring;
	int n = ring_geometry(sring, order, req_size, rsp_size);

	if (n < 0)
		return n;
	/* SHARED_RING_INIT, plus the entries: a fresh ring holds nothing from before. */
	memset(s, 0, ring_bytes(order));
	ring_store(&s->req_event, 1);
	ring_store(&s->rsp_event, 1);
	ring_front_setup(rf, sring, n, req_size, rsp_size, 0);
	return 0;
}

int ring_front_attach(struct ring_front *rf, void *sring, unsigned int order, size_t req_size,
		      size_t rsp_size)
{
	struct ring_shared *s = sring;
	uint32_t req_prod, rsp_prod;
	int n = ring_geometry(sring, order, req_size, rsp_size);

	if (n < 0)
		return n;
	req_prod = ring_load(&s->req_prod);
	rsp_prod = ring_load(&s->rsp_prod);
	ring_front_setup(rf, sring, n, req_size, rsp_size, rsp_prod);
	/* A front keeps no record of requests in flight, so it may only take over an idle ring. */
	if (req_prod != rsp_prod) {
		rf->broken = true;
		return -EPROTO;
	}
	return 0;
}

unsigned int ring_front_free(const struct ring_front *rf)
{
	uint32_t used = rf->req_prod_pvt - rf->rsp_cons;

	if (rf->broken || used > rf->nr_ents)
		return 0;
	return rf->nr_ents - used;
}

void *ring_front_req_slot(struct ring_front *rf)
{
	void *slot;

	if (ring_front_free(rf) == 0)
		return NULL;
	slot = ring_slot_zero(rf->sring, rf->nr_ents, rf->entry_size, rf->req_prod_pvt);
	rf->req_prod_pvt++;
	return slot;
}

int ring_front_push(struct ring_front *rf)
{
	int notify;

	if (rf->broken)
		return -EPROTO;
	/* Our own invariant: never more than a ring of requests outstanding. */
	if (rf->req_prod_pvt - rf->rsp_cons > rf->nr_ents ||
	    rf->req_prod_pvt - rf->req_prod_pub > rf->nr_ents)
		return -EINVAL;
	if (rf->req_prod_pvt == rf->req_prod_pub)
		return 0;
	notify = ring_publish(&rf->sring->req_prod, &rf->sring->req_event, rf->req_prod_pub,
			      rf->req_prod_pvt);
	rf->req_prod_pub = rf->req_prod_pvt;
	return notify;
}

int ring_front_consume(struct ring_front *rf, void *rsps, unsigned int max)
{
	uint32_t prod, n;

	if (rf->broken)
		return -EPROTO;
	if (max && !rsps)
		return -EINVAL;
	prod = ring_load(&rf->sring->rsp_prod);
	ring_rmb(); /* the index before the slots it covers */
	/* The back can answer only requests it has seen: those we published and it has not. */
	if (prod - rf->rsp_cons > rf->req_prod_pub - rf->rsp_cons) {
		rf->broken = true;
		return -EPROTO;
	}
	n = prod - rf->rsp_cons;
	if (n > max)
		n = max;
	ring_copy_out(rf->sring, rf->nr_ents, rf->entry_size, rf->rsp_cons, n, rsps, rf->rsp_size);
	rf->rsp_cons += n;
	return (int)n;
}

void ring_back_quiet(struct ring_back *rb)
{
	if (!rb->broken)
		ring_quiet(&rb->sring->req_event, rb->req_cons);
}

void ring_front_quiet(struct ring_front *rf)
{
	if (!rf->broken)
		ring_quiet(&rf->sring->rsp_event, rf->rsp_cons);
}

int ring_front_final_check(struct ring_front *rf)
{
	if (rf->broken)
		return -EPROTO;
	return ring_final_check(&rf->sring->rsp_prod, &rf->sring->rsp_event, rf->rsp_cons);
}

/* The mark's two words: the last 8 bytes of pad, 4-byte aligned (offset 56 of the page). */
static uint32_t *mark_words(const struct ring_back *rb)
{
	return (uint32_t *)(void *)&rb->sring->pad[sizeof(rb->sring->pad) - 8];
}

void ring_back_mark_set(struct ring_back *rb, uint64_t mark)
{
	uint32_t *w = mark_words(rb);

	__atomic_store_n(&w[0], (uint32_t)mark, __ATOMIC_RELAXED);
	__atomic_store_n(&w[1], (uint32_t)(mark >> 32), __ATOMIC_RELAXED);
}

uint64_t ring_back_mark(const struct ring_back *rb)
{
	const uint32_t *w = mark_words(rb);

	return __atomic_load_n(&w[0], __ATOMIC_RELAXED) |
	       (uint64_t)__atomic_load_n(&w[1], __ATOMIC_RELAXED) << 32;
}
