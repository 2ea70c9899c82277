/* SPDX-License-Identifier: MIT */
/*
 * mapcache.h - back-end side: a bounded cache of mapped grants, for
 * persistent grants.
 *
 * A front-end that negotiated persistent grants reuses the same references
 * request after request; the back-end maps each one once and keeps it mapped.
 * Linux blkback keeps such grants in a tree per ring, bounded by
 * max_persistent_grants, and purges the least recently used ones that no
 * request is using.  This cache does the same with a hash keyed by reference
 * (O(1) on average, nothing allocated after create) and evicts with CLOCK.
 *
 * Every reference comes from the guest and may be anything: it is only ever
 * a hash key, and a reference that does not map is returned as the
 * hypervisor's error and leaves the cache as it was.
 *
 * An entry handed out by mapcache_get is in use until the matching
 * mapcache_put; an entry in use is never evicted.  When every entry is in
 * use and a new reference misses, mapcache_get returns -EBUSY and the
 * caller maps that grant for one request only (or uses grant copy).
 *
 * Not thread-safe: one cache per ring, serialised by its owner.
 */
#ifndef PVIO_GRANT_MAPCACHE_H
#define PVIO_GRANT_MAPCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"

struct mapcache;

struct mapcache_stats {
	uint64_t hits;	      /* gets answered from the cache */
	uint64_t misses;      /* gets that mapped, successfully or not */
	uint64_t evictions;   /* entries unmapped to make room */
	uint64_t full;	      /* misses refused with -EBUSY: every entry was in use */
	unsigned int entries; /* grants mapped now */
	unsigned int in_use;  /* of those, entries with at least one use */
};

/*
 * A cache of up to capacity single-page maps of grants from domain frontend,
 * mapped read-write or read-only.  -EINVAL for capacity 0 or above 2^20.
 */
int mapcache_create(struct mapcache **cp, struct hv *hv, domid_t frontend, unsigned int capacity,
		    bool writable);

/*
 * The address of ref's page, mapping it on a miss, and one more use of it.
 * A miss when the cache is full evicts an entry not in use, chosen by CLOCK;
 * -EBUSY when there is none.  A map that fails returns the hypervisor's
 * errno (-EINVAL, -EPERM, -EACCES, -ESRCH) and caches nothing.
 * -EOVERFLOW if ref already has UINT_MAX uses.
 */
int mapcache_get(struct mapcache *c, grant_ref_t ref, void **addr);

/*
 * Keep record[slot] (capacity entries, e.g. a shared file's) up to date with the reference
 * cached in each slot, plus one (0: none), from now on: what a successor maps ahead with
 * mapcache_prefetch.  NULL stops it.
 */
void mapcache_record(struct mapcache *c, uint32_t *record);

/*
 * Map ref ahead of its first use, with no use taken and no miss counted (a successor's hint,
 * blkback_ring_prepare): 0 if it is cached now, -EBUSY when the cache is full (a hint evicts
 * nothing), or the hypervisor's errno as mapcache_get.
 */
int mapcache_prefetch(struct mapcache *c, grant_ref_t ref);

/* Release one use of ref.  -ENOENT if ref is not cached, -EINVAL if it has no use. */
int mapcache_put(struct mapcache *c, grant_ref_t ref);

void mapcache_stats(const struct mapcache *c, struct mapcache_stats *st);

/*
 * Unmap every entry and free the cache.  Every use must have been put back
 * first: drain in-flight I/O before tearing the ring down.  NULL is accepted.
 */
void mapcache_destroy(struct mapcache *c);

#endif
