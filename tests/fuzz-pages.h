/* SPDX-License-Identifier: MIT */
/*
 * fuzz-pages.h - zeroed memory the libFuzzer targets recycle between inputs (included by
 * backend/blk/req-fuzz.c and frontend/blk/rsp-fuzz.c only; static functions, one pool per
 * target).
 *
 * Why: a fresh mapping per input (ASan's large allocator maps every big calloc afresh, the
 * fake grants mapped their pages) spent most of an execution in page faults, TLB shoot-downs
 * and memset.  A region given back is kept and handed out again, of the same length, in the
 * state a fresh one has: its pages zero.  Only the pages an input touched are resident, so
 * those alone are cleared (mincore tells which); once many are, the kernel drops them all.
 *
 * What a fresh allocation checks is kept: the block ends against a PROT_NONE guard page (one
 * precedes the region too), ASan poisons the rest of its first page, and a region given back
 * stays poisoned until handed out again (a use after free reports use-after-poison).  A
 * region still out at the end of an input is the target's leak check (fuzz_pages_out).
 *
 * The code under test gets the pool through the link: the scripts link with
 * -Wl,--wrap=calloc,--wrap=free, and the wrappers below send every calloc of a KiB or more
 * (the tables sized at attach or connect) to it.  Memory a target keeps across inputs comes
 * from __real_calloc.
 */
#ifndef PVIO_TESTS_FUZZ_PAGES_H
#define PVIO_TESTS_FUZZ_PAGES_H

#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_PAGE	    4096u
#define FUZZ_PAGES_MAX	    256u
#define FUZZ_PAGES_CLEAR_AT 32u /* resident pages memset below this; dropped above */
#define FUZZ_PAGES_SMALL    4u	/* regions memset whole */

/*
 * For the targets' own code (this pool, their fake grant tables and aio): no coverage tracing.
 * Their loops over tables of up to a thousand entries ran libFuzzer's comparison hooks on every
 * step, half of an execution's CPU on a grown corpus; they are the harness, not the code under
 * test, and their branches are no guide to the fuzzer.
 */
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage")))

struct fuzz_region {
	uint8_t *map;	    /* the mapping: a guard page, pages, a guard page */
	size_t pages;	    /* usable pages between the guards */
	size_t len;	    /* the block's length: it ends where the usable pages end */
	bool out;	    /* handed out */
	unsigned char *vec; /* [pages] mincore's answer */
};

static struct fuzz_region fuzz_regions[FUZZ_PAGES_MAX];
static unsigned int fuzz_nregions;
static uintptr_t fuzz_lo = UINTPTR_MAX, fuzz_hi; /* every region lies in [lo, hi) */

FUZZ_NOCOV static uint8_t *fuzz_block(const struct fuzz_region *r)
{
	return r->map + FUZZ_PAGE + r->pages * FUZZ_PAGE - r->len;
}

/* Zero what the last user touched: the resident pages, by hand if few, else by the kernel. */
FUZZ_NOCOV static void fuzz_region_clear(struct fuzz_region *r)
{
	uint8_t *base = r->map + FUZZ_PAGE;
	size_t resident = 0;

	if (r->pages <= FUZZ_PAGES_SMALL) { /* cheaper than asking the kernel */
		memset(base, 0, r->pages * FUZZ_PAGE);
		return;
	}
	if (mincore(base, r->pages * FUZZ_PAGE, r->vec) < 0)
		abort();
	for (size_t i = 0; i < r->pages; i++)
		resident += r->vec[i] & 1;
	if (resident > FUZZ_PAGES_CLEAR_AT) {
		if (madvise(base, r->pages * FUZZ_PAGE, MADV_DONTNEED) < 0)
			abort();
		return;
	}
	for (size_t i = 0; i < r->pages; i++)
		if (r->vec[i] & 1)
			memset(base + i * FUZZ_PAGE, 0, FUZZ_PAGE);
}

/* A slot for a new region: a free one, or that of an idle region of another length. */
FUZZ_NOCOV static struct fuzz_region *fuzz_region_slot(void)
{
	for (unsigned int i = 0; fuzz_nregions == FUZZ_PAGES_MAX && i < fuzz_nregions; i++) {
		struct fuzz_region *r = &fuzz_regions[i];

		if (r->out)
			continue;
		ASAN_UNPOISON_MEMORY_REGION(r->map + FUZZ_PAGE, r->pages * FUZZ_PAGE);
		munmap(r->map, (r->pages + 2) * FUZZ_PAGE);
		free(r->vec);
		*r = fuzz_regions[--fuzz_nregions];
	}
	return fuzz_nregions == FUZZ_PAGES_MAX ? NULL : &fuzz_regions[fuzz_nregions];
}

FUZZ_NOCOV static struct fuzz_region *fuzz_region_new(size_t len)
{
	struct fuzz_region *r = fuzz_region_slot();
	size_t pages = (len + FUZZ_PAGE - 1) / FUZZ_PAGE;

	if (!r)
		return NULL;
	r->map = mmap(NULL, (pages + 2) * FUZZ_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->vec = malloc(pages);
	if (r->map == MAP_FAILED || !r->vec || mprotect(r->map, FUZZ_PAGE, PROT_NONE) < 0 ||
	    mprotect(r->map + (pages + 1) * FUZZ_PAGE, FUZZ_PAGE, PROT_NONE) < 0)
		abort();
	r->pages = pages;
	r->len = len;
	fuzz_nregions++;
	if ((uintptr_t)r->map < fuzz_lo)
		fuzz_lo = (uintptr_t)r->map;
	if ((uintptr_t)r->map + (pages + 2) * FUZZ_PAGE > fuzz_hi)
		fuzz_hi = (uintptr_t)r->map + (pages + 2) * FUZZ_PAGE;
	return r;
}

/* A zeroed block of len bytes, or NULL when the pool is full (then allocate another way). */
FUZZ_NOCOV static void *fuzz_pages_get(size_t len)
{
	struct fuzz_region *r = NULL;

	for (unsigned int i = 0; i < fuzz_nregions && !r; i++)
		if (!fuzz_regions[i].out && fuzz_regions[i].len == len)
			r = &fuzz_regions[i];
	if (r) {
		ASAN_UNPOISON_MEMORY_REGION(r->map + FUZZ_PAGE, r->pages * FUZZ_PAGE);
		fuzz_region_clear(r);
	} else if (!(r = fuzz_region_new(len))) {
		return NULL;
	}
	/* The head of the first page is not the block's: poisoned, as a redzone. */
	ASAN_POISON_MEMORY_REGION(r->map + FUZZ_PAGE, (size_t)(fuzz_block(r) - r->map) - FUZZ_PAGE);
	r->out = true;
	return fuzz_block(r);
}

/* Give back a block fuzz_pages_get returned: true, or false if p is none of them. */
FUZZ_NOCOV static bool fuzz_pages_put(const void *p)
{
	if ((uintptr_t)p < fuzz_lo || (uintptr_t)p >= fuzz_hi)
		return false; /* the common case: any other free */
	for (unsigned int i = 0; i < fuzz_nregions; i++) {
		struct fuzz_region *r = &fuzz_regions[i];

		if (fuzz_block(r) != p)
			continue;
		if (!r->out)
			abort(); /* freed twice */
		r->out = false;
		ASAN_POISON_MEMORY_REGION(r->map + FUZZ_PAGE, r->pages * FUZZ_PAGE);
		return true;
	}
	return false;
}

/* How many blocks are handed out. */
FUZZ_NOCOV static unsigned int fuzz_pages_out(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < fuzz_nregions; i++)
		n += fuzz_regions[i].out;
	return n;
}

#define FUZZ_POOLED_MIN 1024u

void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

FUZZ_NOCOV void *__wrap_calloc(size_t n, size_t size)
{
	size_t len;
	void *p;

	if (__builtin_mul_overflow(n, size, &len) || len < FUZZ_POOLED_MIN ||
	    !(p = fuzz_pages_get(len)))
		return __real_calloc(n, size);
	return p;
}

FUZZ_NOCOV void __wrap_free(void *p)
{
	if (!fuzz_pages_put(p))
		__real_free(p);
}

#endif
