/*
 * ring: Xen's shared I/O ring (xen/io/ring.h), generic over element sizes and hardened.
 *
 * One implementation serves every protocol: a ring is described by its page order and the sizes
 * of its request and response structures, and the layout is bit-for-bit what DEFINE_RING_TYPES
 * produces (a 64-byte header, then a power-of-two array of max(req, rsp)-byte entries; Xen's
 * entry union is larger only if one struct were aligned beyond the other's size, which
 * ring-blkif.c rules out for blkif and netif).  The shared memory is ring_bytes(order) bytes,
 * virtually contiguous and at least 8-byte aligned (the mapped grant pages, in practice).
 *
 * Everything the other side writes is hostile.  Producer indices are read once and bounded before
 * use; a violation marks the ring broken and every later call fails with -EPROTO.  Requests and
 * responses are copied out of the ring into private memory before the caller sees them, and the
 * slots we hand out for writing are zeroed first so nothing private leaks into the ring.
 *
 * Not thread-safe: each end is driven by one thread at a time (the two ends may run concurrently).
 */
#ifndef PVIO_RING_RING_H
#define PVIO_RING_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rings are sized in Xen pages whatever the host page size is. */
#define RING_PAGE_SHIFT 12
#define RING_PAGE_SIZE	(1u << RING_PAGE_SHIFT)
/* Largest ring-page-order accepted: 16 pages, as Linux blkback's XENBUS_MAX_RING_GRANT_ORDER. */
#define RING_ORDER_MAX 4
/* Bytes before the first entry: the four indices and padding, as in struct __name##_sring. */
#define RING_HDR_SIZE 64

/* The shared ring's header as laid out by DEFINE_RING_TYPES; the entries follow it. */
struct ring_shared {
	uint32_t req_prod;  /* requests published by the front */
	uint32_t req_event; /* the back wants a notification when req_prod passes this */
	uint32_t rsp_prod;  /* responses published by the back */
	uint32_t rsp_event; /* the front wants a notification when rsp_prod passes this */
	uint8_t pvt[4];	    /* Xen's pvt union (netif smartpoll, tapif): zeroed, unused */
	uint8_t pad[44];    /* Xen's __pad: zeroed; its last 8 bytes, the back's mark (below) */
	uint8_t entries[];  /* nr_ents entries of entry_size bytes each */
};

/* The back-end's private view of a ring: it consumes requests and produces responses. */
struct ring_back {
	struct ring_shared *sring; /* the shared pages (contiguous), also written by the front */
	uint32_t nr_ents;	   /* entries in the ring: a power of two */
	uint32_t entry_size;	   /* bytes per entry: max(req_size, rsp_size) */
	uint32_t req_size;	   /* bytes copied out per request */
	uint32_t req_cons;	   /* next request to copy out */
	uint32_t rsp_prod_pvt;	   /* responses handed out so far, published or not */
	uint32_t rsp_prod_pub;	   /* responses published: our own copy of sring->rsp_prod */
	bool broken;		   /* the front broke the protocol: every call fails -EPROTO */
};

/* The front-end's private view of a ring: it produces requests and consumes responses. */
struct ring_front {
	struct ring_shared *sring; /* the shared pages (contiguous), also written by the back */
	uint32_t nr_ents;	   /* entries in the ring: a power of two */
	uint32_t entry_size;	   /* bytes per entry: max(req_size, rsp_size) */
	uint32_t rsp_size;	   /* bytes copied out per response */
	uint32_t req_prod_pvt;	   /* requests handed out so far, published or not */
	uint32_t req_prod_pub;	   /* requests published: our own copy of sring->req_prod */
	uint32_t rsp_cons;	   /* next response to copy out */
	bool broken;		   /* the back broke the protocol: every call fails -EPROTO */
};

/* Bytes of shared memory for a ring of this page order: RING_PAGE_SIZE << order. */
size_t ring_bytes(unsigned int order);
/* Entries in a ring of this order and entry size (__CONST_RING_SIZE), or -EINVAL. */
int ring_nr_ents(unsigned int order, size_t entry_size);

/*
 * Every call below returns a negative errno on failure: -EINVAL for bad arguments (or a caller
 * that corrupted the private fields), -EPROTO once the other side broke the protocol.
 *
 * Back end.  A typical loop (bound the rounds per event so a busy front cannot starve others):
 *
 *	do {
 *		while ((n = ring_back_consume(rb, reqs, max)) > 0)
 *			for each of the n private copies: validate, handle, then
 *				rsp = ring_back_rsp_slot(rb); fill *rsp;
 *		if (n < 0)
 *			disconnect;
 *		if (ring_back_push(rb) > 0)
 *			notify the front;
 *	} while (ring_back_final_check(rb) > 0);
 */
/*
 * Attach to a ring the front initialised, continuing from its indices (BACK_RING_ATTACH at the
 * shared rsp_prod, as blkback does on reconnect); -EPROTO if req_prod is more than a ring ahead.
 */
int ring_back_attach(struct ring_back *rb, void *sring, unsigned int order, size_t req_size,
		     size_t rsp_size);
/* Copy up to max requests into reqs (max * req_size bytes): the count, or -EPROTO. */
int ring_back_consume(struct ring_back *rb, void *reqs, unsigned int max);
/*
 * The next response slot, zeroed over the whole entry, or NULL if no consumed request awaits a
 * response (or the ring is broken).
 * Write it field by field and never read it back: a struct assignment from a local would copy
 * the local's padding into the ring (XSA-216), and the front may be scribbling on the slot.
 */
void *ring_back_rsp_slot(struct ring_back *rb);
/* Publish the filled slots: 1 if the front asked to be notified, 0 if not, or -EPROTO. */
int ring_back_push(struct ring_back *rb);
/* Arm req_event and look again: 1 if requests are waiting, 0 if idle, or -EPROTO. */
int ring_back_final_check(struct ring_back *rb);
/*
 * While the back polls for requests: the front's pushes need not notify (req_event no longer
 * armed).  ring_back_final_check arms it again before the back sleeps.
 */
void ring_back_quiet(struct ring_back *rb);

/*
 * The back end's mark: 8 bytes at the end of the shared header's padding (Xen's __pad, which
 * SHARED_RING_INIT zeroes and no front end reads or writes otherwise).  A back end writes a
 * nonzero mark when it connects afresh; one that takes the ring over later (pvio-blkback's
 * journal) finds it there only if the front has not set the ring up anew since.  The front can
 * write it too, so it tells nothing against a hostile front: only that an honest one started
 * over.
 */
void ring_back_mark_set(struct ring_back *rb, uint64_t mark);
uint64_t ring_back_mark(const struct ring_back *rb);

/* The shared indices as read now (statistics, diagnostics): any thread may ask while mapped. */
struct ring_indices {
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
};
void ring_back_indices(const struct ring_back *rb, struct ring_indices *v);

/* Front end: the mirror image. */
/* Initialise the shared ring (SHARED_RING_INIT, entries zeroed) and attach to it at index 0. */
int ring_front_init(struct ring_front *rf, void *sring, unsigned int order, size_t req_size,
		    size_t rsp_size);
/* Attach to an initialised, idle ring (req_prod == rsp_prod) at its indices, or -EPROTO. */
int ring_front_attach(struct ring_front *rf, void *sring, unsigned int order, size_t req_size,
		      size_t rsp_size);
/* Requests that can be handed out before the ring is full (RING_FREE_REQUESTS). */
unsigned int ring_front_free(const struct ring_front *rf);
/* A zeroed request slot to fill as above, or NULL if the ring is full or broken. */
void *ring_front_req_slot(struct ring_front *rf);
/* Publish the filled slots: 1 if the back asked to be notified, 0 if not, or -EPROTO. */
int ring_front_push(struct ring_front *rf);
/* Copy up to max responses into rsps (max * rsp_size bytes): the count, or -EPROTO. */
int ring_front_consume(struct ring_front *rf, void *rsps, unsigned int max);
/* Arm rsp_event and look again: 1 if responses are waiting, 0 if idle, or -EPROTO. */
int ring_front_final_check(struct ring_front *rf);
/* While the front polls for responses: ring_back_quiet's mirror image. */
void ring_front_quiet(struct ring_front *rf);

/* blkif in the native ABI (struct blkif_request / blkif_response), checked in ring-blkif.c. */
int ring_blkif_back_attach(struct ring_back *rb, void *sring, unsigned int order);
int ring_blkif_front_init(struct ring_front *rf, void *sring, unsigned int order);

#endif /* PVIO_RING_RING_H */
