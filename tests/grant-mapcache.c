/*
 * grant-mapcache: a back-end's cache of persistent grant maps.  Misses map
 * and hits do not; a full cache evicts in CLOCK order and never an entry in
 * use; with every entry in use a miss is refused with -EBUSY; hostile refs
 * (out of range, never granted, ended, granted to another domain, read-only
 * for a writable cache) fail with the hypervisor's errno and neither cache
 * nor evict anything; writes through a cached map reach the front-end, which
 * cannot end its grants until the cache is destroyed, and can right after.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "grant/mapcache.h"
#include "tests/hv-test.h"

#define NREFS	 16
#define CAPACITY 4

/* What the front-end tells the back-end. */
struct cache_msg {
	domid_t front;		 /* the granter */
	grant_ref_t refs[NREFS]; /* writable pages, page i filled with i + 1 */
	grant_ref_t ro;		 /* a read-only page, filled with RO_BYTE */
	grant_ref_t other;	 /* a page granted to dom0, not to the back-end */
	grant_ref_t stale;	 /* a ref whose grant has ended */
};

#define RO_BYTE	  0xee
#define MARK_BYTE 0xb1

static struct t_link pipes;
static domid_t back_domid;
static struct cache_msg msg;

static bool page_is(const void *page, uint8_t byte)
{
	const uint8_t *p = page;
	unsigned int i;

	for (i = 0; i < HV_PAGE_SIZE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* Get and put refs[i], expecting a hit or a miss, and check the page. */
static int expect(struct mapcache *c, unsigned int i, bool hit)
{
	struct mapcache_stats before, after;
	void *addr;

	mapcache_stats(c, &before);
	T_CHECK(mapcache_get(c, msg.refs[i], &addr) == 0, "get ref %u", i);
	mapcache_stats(c, &after);
	T_CHECK(after.hits == before.hits + hit && after.misses == before.misses + !hit,
		"ref %u: expected a %s", i, hit ? "hit" : "miss");
	T_CHECK(page_is(addr, (uint8_t)(i + 1)), "ref %u: wrong page", i);
	T_CHECK(mapcache_put(c, msg.refs[i]) == 0, "put ref %u", i);
	return 0;
}

#define EXPECT(c, i, hit) T_CHECK(expect((c), (i), (hit)) == 0, "step %s %u", #hit, (i))

/* The comments show the slots and their referenced bits after each step. */
static int check_clock(struct mapcache *c)
{
	struct mapcache_stats st;

	EXPECT(c, 0, false);
	EXPECT(c, 1, false);
	EXPECT(c, 2, false);
	EXPECT(c, 3, false);
	EXPECT(c, 1, true); /* [0* 1* 2* 3*], hand at 0 */
	mapcache_stats(c, &st);
	T_CHECK(st.entries == CAPACITY && st.evictions == 0 && st.in_use == 0, "filled");
	EXPECT(c, 4, false); /* a full turn clears every bit: [4* 1 2 3] */
	EXPECT(c, 1, true);  /* [4* 1* 2 3] */
	EXPECT(c, 5, false); /* 1 gets a second chance, 2 goes: [4* 1 5* 3] */
	EXPECT(c, 3, true);  /* 4, 1, 5 and 3 are the four cached */
	EXPECT(c, 4, true);
	EXPECT(c, 1, true);
	EXPECT(c, 5, true);
	EXPECT(c, 0, false); /* all set, hand at 3: a full turn, 3 goes: [4 1 5 0*] */
	EXPECT(c, 4, true);  /* [4* 1 5 0*], hand at 0 */
	EXPECT(c, 2, false); /* 4 gets a second chance, 1 goes: [4 2* 5 0*] */
	EXPECT(c, 0, true);
	EXPECT(c, 5, true);
	EXPECT(c, 2, true);
	EXPECT(c, 4, true);
	mapcache_stats(c, &st);
	T_CHECK(st.evictions == 4 && st.entries == CAPACITY, "evictions %lu",
		(unsigned long)st.evictions);
	return 0;
}

/* An entry in use survives any number of evictions around it. */
static int check_pinned(struct mapcache *c)
{
	struct mapcache_stats st;
	void *addr;
	unsigned int round, i;

	T_CHECK(mapcache_get(c, msg.refs[5], &addr) == 0, "pin 5");
	T_CHECK(mapcache_get(c, msg.refs[5], &addr) == 0, "pin 5 twice");
	for (round = 0; round < 3; round++)
		for (i = 6; i < NREFS; i++)
			EXPECT(c, i, false);
	mapcache_stats(c, &st);
	T_CHECK(st.in_use == 1 && st.entries == CAPACITY, "in use %u", st.in_use);
	EXPECT(c, 5, true);
	T_CHECK(page_is(addr, 6), "pinned page changed");
	T_CHECK(mapcache_put(c, msg.refs[5]) == 0, "first put");
	mapcache_stats(c, &st);
	T_CHECK(st.in_use == 1, "one put released both uses");
	T_CHECK(mapcache_put(c, msg.refs[5]) == 0, "second put");
	T_CHECK(mapcache_put(c, msg.refs[5]) == -EINVAL, "put with no use left");
	mapcache_stats(c, &st);
	T_CHECK(st.in_use == 0, "in use %u after puts", st.in_use);
	return 0;
}

/* Every entry in use: a miss is refused, a hit is not; one put makes room. */
static int check_all_busy(struct mapcache *c)
{
	struct mapcache_stats st;
	void *addr;
	unsigned int i;

	for (i = 0; i < CAPACITY; i++)
		T_CHECK(mapcache_get(c, msg.refs[i], &addr) == 0, "pin %u", i);
	T_CHECK(mapcache_get(c, msg.refs[4], &addr) == -EBUSY, "miss with all in use");
	T_CHECK(mapcache_get(c, msg.refs[1], &addr) == 0, "hit with all in use");
	T_CHECK(mapcache_put(c, msg.refs[1]) == 0, "put the extra use");
	mapcache_stats(c, &st);
	T_CHECK(st.full == 1 && st.in_use == CAPACITY && st.entries == CAPACITY, "full %lu",
		(unsigned long)st.full);
	T_CHECK(mapcache_put(c, msg.refs[2]) == 0, "release 2");
	T_CHECK(mapcache_get(c, msg.refs[4], &addr) == 0 && page_is(addr, 5), "4 replaces 2");
	T_CHECK(mapcache_get(c, msg.refs[2], &addr) == -EBUSY, "2 was evicted, all in use");
	for (i = 0; i <= 4; i++)
		T_CHECK(i == 2 || mapcache_put(c, msg.refs[i]) == 0, "put %u", i);
	return 0;
}

/* A hostile ref fails as the hypervisor says and changes nothing. */
static int check_hostile(struct mapcache *c)
{
	const grant_ref_t bad[] = { 0xffffffffu, HVSIM_GNT_ENTRIES - 1, msg.stale, msg.other,
				    msg.ro };
	struct mapcache_stats before, after;
	void *addr;
	unsigned int i;
	int ret;

	mapcache_stats(c, &before);
	T_CHECK(before.entries == CAPACITY && before.in_use == 0, "full and idle before");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = mapcache_get(c, bad[i], &addr);
		T_CHECK(ret < 0 && ret != -EBUSY, "hostile ref %#x: %d", bad[i], ret);
		T_CHECK(mapcache_put(c, bad[i]) == -ENOENT, "hostile ref %#x cached", bad[i]);
	}
	T_CHECK(mapcache_get(c, 0xffffffffu, &addr) == -EINVAL, "ref out of range");
	T_CHECK(mapcache_get(c, msg.other, &addr) == -EPERM, "ref granted to dom0");
	T_CHECK(mapcache_get(c, msg.ro, &addr) == -EACCES, "read-only ref, writable cache");
	mapcache_stats(c, &after);
	T_CHECK(after.entries == CAPACITY && after.evictions == before.evictions &&
		    after.hits == before.hits && after.misses == before.misses + 8,
		"hostile refs changed the cache");
	EXPECT(c, 4, true); /* still cached: nothing was evicted for a failed map */
	return 0;
}

static int check_read_only(struct hv *hv)
{
	struct mapcache *c;
	void *addr;

	T_CHECK(mapcache_create(&c, hv, msg.front, 2, false) == 0, "read-only cache");
	T_CHECK(mapcache_get(c, msg.ro, &addr) == 0 && page_is(addr, RO_BYTE), "read-only ref");
	T_CHECK(mapcache_put(c, msg.ro) == 0, "put read-only ref");
	T_CHECK(mapcache_get(c, msg.refs[7], &addr) == 0 && page_is(addr, 8), "rw ref, ro map");
	T_CHECK(mapcache_put(c, msg.refs[7]) == 0, "put rw ref");
	mapcache_destroy(c);
	return 0;
}

static int back(void *arg)
{
	struct mapcache *c;
	struct hv *hv;
	void *addr;
	char ch;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(pipes.ab[0], &msg, sizeof(msg)) == 0, "receive refs");
	T_CHECK(mapcache_create(&c, hv, msg.front, 0, true) == -EINVAL, "capacity 0");
	T_CHECK(mapcache_create(&c, hv, msg.front, CAPACITY, true) == 0, "create");
	T_CHECK(check_clock(c) == 0, "CLOCK order");
	T_CHECK(check_pinned(c) == 0, "pinned entries");
	T_CHECK(check_all_busy(c) == 0, "all in use");
	T_CHECK(check_hostile(c) == 0, "hostile refs");
	T_CHECK(check_read_only(hv) == 0, "read-only cache");
	T_CHECK(mapcache_get(c, msg.refs[4], &addr) == 0, "get 4 to write");
	memset(addr, MARK_BYTE, HV_PAGE_SIZE);
	T_CHECK(mapcache_put(c, msg.refs[4]) == 0, "put 4");
	T_CHECK(t_put(pipes.ba[1], "C", 1) == 0, "send C");
	T_CHECK(t_get(pipes.ab[0], &ch, 1) == 0 && ch == 'c', "front-end checked");
	mapcache_destroy(c);
	T_CHECK(t_put(pipes.ba[1], "D", 1) == 0, "send D");
	hv_close(hv);
	return 0;
}

/* Front: share the pages the back-end needs, each filled with its byte. */
static int front_share(struct hv *hv, uint8_t **pages, void **ro, void **other)
{
	void *stale;
	unsigned int i;

	T_CHECK(hv_grant_share(hv, back_domid, NREFS, true, (void **)pages, msg.refs) == 0,
		"share");
	for (i = 0; i < NREFS; i++)
		memset(*pages + (size_t)i * HV_PAGE_SIZE, i + 1, HV_PAGE_SIZE);
	T_CHECK(hv_grant_share(hv, back_domid, 1, false, ro, &msg.ro) == 0, "share ro");
	memset(*ro, RO_BYTE, HV_PAGE_SIZE);
	T_CHECK(hv_grant_share(hv, 0, 1, true, other, &msg.other) == 0, "share with dom0");
	/* Last, so that no later share takes its ref again. */
	T_CHECK(hv_grant_share(hv, back_domid, 1, true, &stale, &msg.stale) == 0, "share stale");
	T_CHECK(hv_grant_end(hv, stale, 1) == 0, "end stale");
	return 0;
}

static int front(void *arg)
{
	struct hv *hv;
	uint8_t *pages;
	void *ro, *other;
	char ch;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0 && hv_domid(hv, &msg.front) == 0, "front: hv_open");
	T_CHECK(front_share(hv, &pages, &ro, &other) == 0, "shares");
	T_CHECK(t_put(pipes.ab[1], &msg, sizeof(msg)) == 0, "send refs");
	T_CHECK(t_get(pipes.ba[0], &ch, 1) == 0 && ch == 'C', "back-end done");
	T_CHECK(page_is(pages + 4 * HV_PAGE_SIZE, MARK_BYTE), "write through the cache lost");
	T_CHECK(hv_grant_end(hv, pages, NREFS) == -EBUSY, "end while cached");
	T_CHECK(t_put(pipes.ab[1], "c", 1) == 0, "send c");
	T_CHECK(t_get(pipes.ba[0], &ch, 1) == 0 && ch == 'D', "cache destroyed");
	T_CHECK(hv_grant_end(hv, pages, NREFS) == 0, "end after destroy");
	T_CHECK(hv_grant_end(hv, ro, 1) == 0 && hv_grant_end(hv, other, 1) == 0, "end the rest");
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t fpid, bpid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_link_init(&pipes) == 0, "pipes");
	T_CHECK(t_domain_fork("back", back, NULL, &back_domid, &bpid) == 0, "fork back");
	T_CHECK(t_domain_fork("front", front, NULL, NULL, &fpid) == 0, "fork front");
	T_CHECK(t_wait(fpid) == 0, "front-end failed");
	T_CHECK(t_wait(bpid) == 0, "back-end failed");
	return T_PASS;
}
