/* SPDX-License-Identifier: MIT */
/*
 * gntpool.h - front-end side: a pool of pages granted to one back-end up front.
 *
 * A front-end that uses persistent grants (blkfront's feature-persistent,
 * netfront's rx/tx buffers) grants a fixed set of pages once, when the ring
 * is set up, and then only hands out and takes back references: allocation
 * and release are a pop and a push on a free stack, with no hypervisor call
 * and no memory allocation.  The data to send is copied into the page, as
 * blkfront does with its persistent grants.
 *
 * A page handed out again keeps whatever was last written to it: the pool
 * belongs to one back-end, which has already seen that data.
 *
 * The pool ends foreign access only at gntpool_destroy.  A back-end is not
 * trusted to have unmapped (XSA-396): while it still maps a page, destroy
 * returns -EBUSY, leaves that memory granted and untouched, and may be
 * called again later; the pool is freed only once every grant has ended.
 *
 * Not thread-safe: one pool per ring, serialised by its owner.
 */
#ifndef PVIO_GRANT_GNTPOOL_H
#define PVIO_GRANT_GNTPOOL_H

#include <stdbool.h>

#include "hv/hv.h"

/* Pages granted per hv_grant_share while the pool is created. */
#define GNTPOOL_BATCH 256u

struct gntpool;

/* One page taken from the pool. */
struct gntpool_page {
	grant_ref_t ref;    /* the reference to put in a request */
	void *addr;	    /* the page, HV_PAGE_SIZE bytes, in our memory */
	unsigned int index; /* what gntpool_put takes back, 0 .. npages - 1 */
};

/*
 * Grant npages pages to domain backend, read-write or read-only for it.
 * -EINVAL for npages == 0; the hypervisor's errno if a share fails.
 */
int gntpool_create(struct gntpool **pp, struct hv *hv, domid_t backend, unsigned int npages,
		   bool writable);

/* Take a free page: O(1).  -ENOSPC when none is free, -ESHUTDOWN once destroy has begun. */
int gntpool_get(struct gntpool *p, struct gntpool_page *out);

/* Give a page back: O(1).  -EINVAL for an index out of range or a page already free. */
int gntpool_put(struct gntpool *p, unsigned int index);

/* Pages free to get. */
unsigned int gntpool_free_count(const struct gntpool *p);
/* Pages in the pool. */
unsigned int gntpool_size(const struct gntpool *p);

/* The reference and the address of page index (< gntpool_size); O(1). */
grant_ref_t gntpool_ref_of(const struct gntpool *p, unsigned int index);
void *gntpool_addr_of(const struct gntpool *p, unsigned int index);

/*
 * End the back-end's access to every page and free the pool.  -EBUSY while
 * the back-end still maps any page: the pool then stays allocated (get
 * refuses, nothing is reused) and destroy should be called again later.
 * Any other error is the hypervisor's and is also retried by a later call.
 * NULL is accepted.
 */
int gntpool_destroy(struct gntpool *p);

#endif
