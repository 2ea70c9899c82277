/* SPDX-License-Identifier: MIT */
/*
 * gntpool.c - a pool of pre-granted pages with O(1) get and put.
 *
 * The pages are granted in shares of up to GNTPOOL_BATCH pages, so that a
 * large pool costs a few hypervisor calls, not one per page; page i lives in
 * share i / GNTPOOL_BATCH.  Free pages are a stack of indices, and a byte per
 * page tells whether it is on the stack, so that a double put is refused
 * rather than handing one page to two requests.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "grant/gntpool.h"

/* One hv_grant_share of the pool. */
struct gntpool_share {
	uint8_t *addr;	    /* its first page, from hv_grant_share */
	unsigned int count; /* its pages: GNTPOOL_BATCH, or fewer for the last */
	bool granted;	    /* shared and not yet ended: the back-end may map it */
};

struct gntpool {
	struct hv *hv;		      /* the seam the shares were made through */
	domid_t backend;	      /* the domain every page is granted to */
	bool writable;		      /* granted read-write rather than read-only */
	bool dying;		      /* destroy has begun: no page is handed out again */
	unsigned int npages;	      /* pages in the pool */
	unsigned int nfree;	      /* indices on free_stack */
	unsigned int nshares;	      /* entries of shares[] */
	grant_ref_t *refs;	      /* [npages]: each page's grant reference */
	unsigned int *free_stack;     /* [npages]: free page indices, top at nfree - 1 */
	uint8_t *is_free;	      /* [npages]: 1 while the page is on free_stack */
	struct gntpool_share *shares; /* [nshares]: the shares, in page order */
};

static void pool_free(struct gntpool *p)
{
	free(p->refs);
	free(p->free_stack);
	free(p->is_free);
	free(p->shares);
	free(p);
}

static int pool_alloc(struct gntpool **pp, unsigned int npages)
{
	struct gntpool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->npages = npages;
	p->nshares = npages / GNTPOOL_BATCH + (npages % GNTPOOL_BATCH != 0);
	p->refs = calloc(npages, sizeof(*p->refs));
	p->free_stack = calloc(npages, sizeof(*p->free_stack));
	p->is_free = calloc(npages, sizeof(*p->is_free));
	p->shares = calloc(p->nshares, sizeof(*p->shares));
	if (!p->refs || !p->free_stack || !p->is_free || !p->shares) {
		pool_free(p);
		return -ENOMEM;
	}
	*pp = p;
	return 0;
}

/* Grant every page, one share per GNTPOOL_BATCH pages. */
static int pool_share_all(struct gntpool *p)
{
	unsigned int i, first;
	void *addr;
	int ret;

	for (i = 0; i < p->nshares; i++) {
		struct gntpool_share *sh = &p->shares[i];

		first = i * GNTPOOL_BATCH;
		sh->count = p->npages - first < GNTPOOL_BATCH ? p->npages - first : GNTPOOL_BATCH;
		ret = hv_grant_share(p->hv, p->backend, sh->count, p->writable, &addr,
				     &p->refs[first]);
		if (ret < 0)
			return ret;
		sh->addr = addr;
		sh->granted = true;
	}
	return 0;
}

/*
 * End every share still granted.  A share the back-end still maps stays
 * granted and its memory untouched; -EBUSY if any did, else the first other
 * error, else 0.
 */
static int pool_end_all(struct gntpool *p)
{
	unsigned int i;
	int ret, busy = 0, err = 0;

	for (i = 0; i < p->nshares; i++) {
		struct gntpool_share *sh = &p->shares[i];

		if (!sh->granted)
			continue;
		ret = hv_grant_end(p->hv, sh->addr, sh->count);
		if (ret == 0)
			sh->granted = false;
		else if (ret == -EBUSY)
			busy = ret;
		else if (!err)
			err = ret;
	}
	return busy ? busy : err;
}

/* All pages free, index 0 on top so that pages come out in order. */
static void pool_fill_stack(struct gntpool *p)
{
	unsigned int i;

	for (i = 0; i < p->npages; i++) {
		p->free_stack[i] = p->npages - 1 - i;
		p->is_free[i] = 1;
	}
	p->nfree = p->npages;
}

int gntpool_create(struct gntpool **pp, struct hv *hv, domid_t backend, unsigned int npages,
		   bool writable)
{
	struct gntpool *p;
	int ret;

	if (npages == 0)
		return -EINVAL;
	ret = pool_alloc(&p, npages);
	if (ret < 0)
		return ret;
	p->hv = hv;
	p->backend = backend;
	p->writable = writable;
	ret = pool_share_all(p);
	if (ret < 0) {
		/*
		 * The refs were never published, but a back-end may guess them:
		 * what cannot be ended now stays granted and is never reused.
		 */
		pool_end_all(p);
		pool_free(p);
		return ret;
	}
	pool_fill_stack(p);
	*pp = p;
	return 0;
}

int gntpool_get(struct gntpool *p, struct gntpool_page *out)
{
	unsigned int index;

	if (p->dying)
		return -ESHUTDOWN;
	if (p->nfree == 0)
		return -ENOSPC;
	index = p->free_stack[--p->nfree];
	p->is_free[index] = 0;
	out->index = index;
	out->ref = p->refs[index];
	out->addr = gntpool_addr_of(p, index);
	return 0;
}

int gntpool_put(struct gntpool *p, unsigned int index)
{
	if (index >= p->npages || p->is_free[index])
		return -EINVAL;
	p->is_free[index] = 1;
	p->free_stack[p->nfree++] = index;
	return 0;
}

unsigned int gntpool_free_count(const struct gntpool *p)
{
	return p->nfree;
}

unsigned int gntpool_size(const struct gntpool *p)
{
	return p->npages;
}

grant_ref_t gntpool_ref_of(const struct gntpool *p, unsigned int index)
{
	return p->refs[index];
}

void *gntpool_addr_of(const struct gntpool *p, unsigned int index)
{
	const struct gntpool_share *sh = &p->shares[index / GNTPOOL_BATCH];

	return sh->addr + (size_t)(index % GNTPOOL_BATCH) * HV_PAGE_SIZE;
}

int gntpool_destroy(struct gntpool *p)
{
	int ret;

	if (!p)
		return 0;
	p->dying = true;
	ret = pool_end_all(p);
	if (ret < 0)
		return ret;
	pool_free(p);
	return 0;
}
