/* SPDX-License-Identifier: MIT */
/*
 * mapcache.c - persistent grants: a bounded cache of single-page grant maps.
 *
 * Entries live in a fixed array of capacity slots that doubles as the CLOCK
 * ring.  Slots fill in order and, once full, a miss replaces a victim in
 * place, so slots 0 .. nr_entries - 1 are always the live ones.  Lookup is
 * a chained hash over the slots: a bucket array of slot indices, a next index
 * in each slot.  The hash is keyed with a per-cache random seed, because the
 * keys are the guest's: a front-end that could aim all its refs at one chain
 * would turn every lookup into a walk of the whole cache.
 *
 * CLOCK: each entry has a referenced bit, set by every get.  The hand skips
 * entries in use, clears the bit of the others it passes, and takes the first
 * one found clear; two turns of the ring always find one if any entry is
 * idle.  The hand stops on the victim until it is replaced, so a miss whose
 * map fails leaves the same victim for the next one.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "grant/mapcache.h"

#define MAPCACHE_NONE	      UINT32_MAX
#define MAPCACHE_CAPACITY_MAX (1u << 20)

/* One cached map. */
struct mapcache_entry {
	void *addr;	   /* the page, as hv_grant_map returned it */
	grant_ref_t ref;   /* the front-end's reference: the key */
	uint32_t next;	   /* next slot in this hash chain, or MAPCACHE_NONE */
	unsigned int uses; /* gets not yet put back; never evicted while > 0 */
	bool referenced;   /* CLOCK's bit: got since the hand last passed */
};

struct mapcache {
	struct hv *hv;		      /* the seam to map through */
	domid_t frontend;	      /* the granter of every ref */
	bool writable;		      /* map read-write rather than read-only */
	unsigned int capacity;	      /* slots */
	unsigned int nr_entries;      /* live slots: 0 .. nr_entries - 1 */
	unsigned int in_use;	      /* live entries with uses > 0 */
	unsigned int hand;	      /* CLOCK hand: the next slot to consider */
	uint32_t hash_mask;	      /* buckets - 1; buckets is a power of two */
	uint32_t seed;		      /* per-cache hash key, unknown to the guest */
	uint32_t *buckets;	      /* [hash_mask + 1]: first slot of each chain */
	struct mapcache_entry *slots; /* [capacity]: the entries and the CLOCK ring */
	uint32_t *record;	      /* [capacity]: ref + 1 of each slot's entry, or NULL */
	struct mapcache_stats st;     /* counters; entries and in_use filled on read */
};

/* murmur3's finaliser over the seeded ref: every input bit reaches every bucket bit. */
static uint32_t ref_bucket(const struct mapcache *c, grant_ref_t ref)
{
	uint32_t h = ref ^ c->seed;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & c->hash_mask;
}

static uint32_t seed_new(const struct mapcache *c)
{
	struct timespec ts;
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)c;
}

/* The cache with every bucket empty; nbuckets is a power of two. */
static struct mapcache *cache_alloc(unsigned int capacity, uint32_t nbuckets)
{
	struct mapcache *c = calloc(1, sizeof(*c));
	uint32_t i;

	if (!c)
		return NULL;
	c->buckets = malloc(nbuckets * sizeof(*c->buckets));
	c->slots = calloc(capacity, sizeof(*c->slots));
	if (!c->buckets || !c->slots) {
		free(c->buckets);
		free(c->slots);
		free(c);
		return NULL;
	}
	for (i = 0; i < nbuckets; i++)
		c->buckets[i] = MAPCACHE_NONE;
	c->hash_mask = nbuckets - 1;
	return c;
}

int mapcache_create(struct mapcache **cp, struct hv *hv, domid_t frontend, unsigned int capacity,
		    bool writable)
{
	struct mapcache *c;
	uint32_t nbuckets = 1;

	if (capacity == 0 || capacity > MAPCACHE_CAPACITY_MAX)
		return -EINVAL;
	/* At most one entry per bucket on average. */
	while (nbuckets < capacity)
		nbuckets <<= 1;
	c = cache_alloc(capacity, nbuckets);
	if (!c)
		return -ENOMEM;
	c->hv = hv;
	c->frontend = frontend;
	c->writable = writable;
	c->capacity = capacity;
	c->seed = seed_new(c);
	*cp = c;
	return 0;
}

static struct mapcache_entry *cache_find(const struct mapcache *c, grant_ref_t ref)
{
	uint32_t s;

	for (s = c->buckets[ref_bucket(c, ref)]; s != MAPCACHE_NONE; s = c->slots[s].next)
		if (c->slots[s].ref == ref)
			return &c->slots[s];
	return NULL;
}

static void entry_use(struct mapcache *c, struct mapcache_entry *e)
{
	if (e->uses++ == 0)
		c->in_use++;
	e->referenced = true;
}

/* Take slot out of its hash chain. */
static void entry_unlink(struct mapcache *c, uint32_t slot)
{
	uint32_t *link = &c->buckets[ref_bucket(c, c->slots[slot].ref)];

	while (*link != slot) {
		assert(*link != MAPCACHE_NONE);
		link = &c->slots[*link].next;
	}
	*link = c->slots[slot].next;
}

/* Fill slot with a fresh map of ref, in use once. */
static void entry_insert(struct mapcache *c, uint32_t slot, grant_ref_t ref, void *addr)
{
	struct mapcache_entry *e = &c->slots[slot];
	uint32_t b = ref_bucket(c, ref);

	e->addr = addr;
	e->ref = ref;
	e->uses = 0;
	/* ref + 1 wraps to 0 (nothing) for the one reference the record cannot hold. */
	if (c->record)
		__atomic_store_n(&c->record[slot], ref + 1, __ATOMIC_RELAXED);
	entry_use(c, e);
	e->next = c->buckets[b];
	c->buckets[b] = slot;
}

/* CLOCK: the first idle entry from the hand whose bit is clear. */
static int clock_victim(struct mapcache *c, uint32_t *slot)
{
	unsigned int n;

	if (c->in_use == c->nr_entries)
		return -EBUSY;
	for (n = 0; n < 2 * c->capacity; n++) {
		struct mapcache_entry *e = &c->slots[c->hand];

		if (e->uses == 0) {
			if (!e->referenced) {
				*slot = c->hand;
				return 0;
			}
			e->referenced = false;
		}
		c->hand = (c->hand + 1) % c->capacity;
	}
	assert(!"an idle entry survived two turns of the clock");
	return -EBUSY;
}

/* Unmap the victim in slot; it stays cached if the unmap fails. */
static int entry_evict(struct mapcache *c, uint32_t slot)
{
	int ret = hv_grant_unmap(c->hv, c->slots[slot].addr, 1);

	if (ret < 0)
		return ret;
	entry_unlink(c, slot);
	c->st.evictions++;
	return 0;
}

/* A miss: choose a slot first, so that a full cache refuses before mapping. */
static int cache_miss(struct mapcache *c, grant_ref_t ref, void **addr)
{
	uint32_t slot = c->nr_entries;
	void *map;
	int ret;

	if (c->nr_entries == c->capacity) {
		ret = clock_victim(c, &slot);
		if (ret < 0) {
			c->st.full++;
			return ret;
		}
	}
	ret = hv_grant_map(c->hv, c->frontend, 1, &ref, c->writable, &map);
	if (ret < 0)
		return ret;
	if (slot < c->nr_entries) {
		ret = entry_evict(c, slot);
		if (ret < 0) {
			hv_grant_unmap(c->hv, map, 1);
			return ret;
		}
		c->hand = (slot + 1) % c->capacity;
	} else {
		c->nr_entries++;
	}
	entry_insert(c, slot, ref, map);
	*addr = map;
	return 0;
}

void mapcache_record(struct mapcache *c, uint32_t *record)
{
	c->record = record;
	for (uint32_t i = 0; record && i < c->capacity; i++)
		record[i] = i < c->nr_entries ? c->slots[i].ref + 1 : 0;
}

int mapcache_prefetch(struct mapcache *c, grant_ref_t ref)
{
	void *addr;
	int ret;

	if (cache_find(c, ref))
		return 0;
	/* A hint never evicts: what is cached was used, the hint may not be. */
	if (c->nr_entries == c->capacity)
		return -EBUSY;
	ret = cache_miss(c, ref, &addr);
	return ret < 0 ? ret : mapcache_put(c, ref);
}

int mapcache_get(struct mapcache *c, grant_ref_t ref, void **addr)
{
	struct mapcache_entry *e = cache_find(c, ref);

	if (!e) {
		c->st.misses++;
		return cache_miss(c, ref, addr);
	}
	if (e->uses == UINT_MAX)
		return -EOVERFLOW;
	entry_use(c, e);
	c->st.hits++;
	*addr = e->addr;
	return 0;
}

int mapcache_put(struct mapcache *c, grant_ref_t ref)
{
	struct mapcache_entry *e = cache_find(c, ref);

	if (!e)
		return -ENOENT;
	if (e->uses == 0)
		return -EINVAL;
	if (--e->uses == 0)
		c->in_use--;
	return 0;
}

void mapcache_stats(const struct mapcache *c, struct mapcache_stats *st)
{
	*st = c->st;
	st->entries = c->nr_entries;
	st->in_use = c->in_use;
}

void mapcache_destroy(struct mapcache *c)
{
	unsigned int i;

	if (!c)
		return;
	/* Our caller's contract, not guest data: I/O drains before teardown. */
	assert(c->in_use == 0);
	/* Our own single-page maps: hv_grant_unmap can only fail on a bug in this file. */
	for (i = 0; i < c->nr_entries; i++)
		hv_grant_unmap(c->hv, c->slots[i].addr, 1);
	free(c->buckets);
	free(c->slots);
	free(c);
}
