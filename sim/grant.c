/* SPDX-License-Identifier: MIT */
/*
 * grant.c - grant tables: per domain, its table, its pools (one read-only
 * and one writable per peer it shares with) and the allocators of grant refs
 * and pool pages (shares); per mapper, the active tables and pin records
 * through which it maps a granter's entries without asking the daemon
 * (simproto.h's pin protocol).  The daemon comes in to hand those objects
 * out, only to the domains they are meant for, to end entries (it alone
 * reads the mappers' pins) and to drop a dead session's pins.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim/hvd.h"

#define TABLE_BYTES  ((size_t)HVSIM_GNT_ENTRIES * sizeof(grant_entry_v1_t))
#define ACTIVE_BYTES ((size_t)HVSIM_GNT_ENTRIES * sizeof(struct hvsim_active))
#define REC_BYTES    ((size_t)HVSIM_GNT_ENTRIES * sizeof(struct hvsim_pinrec))
/* Descriptors of one granter's pools for one peer: read-write pools 0 and 1, pool 0 read-only. */
#define POOL_FDS 3

/* The table, whose O_RDONLY fd mappers get, and the allocators. */
int hvd_grant_init(struct hvd_domain *dom)
{
	void *table = NULL;
	int fd;

	dom->table_fd = dom->table_ro_fd = -1;
	hvd_list_init(&dom->pools);
	fd = hvd_shm_create_ro("pvio-hv-grant-table", TABLE_BYTES, &table, &dom->table_ro_fd);
	if (fd < 0)
		return fd;
	dom->table_fd = fd;
	dom->table = table;
	dom->ref_map = hvd_bitmap_alloc(HVSIM_GNT_ENTRIES);
	dom->shares = calloc(HVSIM_GNT_ENTRIES, sizeof(*dom->shares));
	if (!dom->ref_map || !dom->shares)
		return -ENOMEM;
	/* Xen keeps refs 0..7 for the toolstack (xenstore and console rings). */
	hvd_bitmap_set(dom->ref_map, 0, GNTTAB_NR_RESERVED_ENTRIES);
	return 0;
}

static void pool_free(struct hvd *hvd, struct hvd_domain *dom, struct hvd_pool *pool)
{
	size_t len = (size_t)dom->pool_pages * HV_PAGE_SIZE;

	hvd_fds_put(hvd, dom, POOL_FDS);
	hvd_list_del(&pool->link);
	for (int i = 0; i < 2; i++) {
		hvd_shm_destroy(pool->fd[i], NULL, len);
		free(pool->page_map[i]);
	}
	if (pool->ro_fd >= 0)
		close(pool->ro_fd);
	free(pool);
}

/* The pools of dom for peer, made on first use; NULL if peer has none and !make. */
static struct hvd_pool *pool_get(struct hvd *hvd, struct hvd_domain *dom, domid_t peer, bool make)
{
	size_t len = (size_t)dom->pool_pages * HV_PAGE_SIZE;
	struct hvd_pool *pool;
	struct hvd_list *pos;

	for (pos = dom->pools.next; pos != &dom->pools; pos = pos->next) {
		pool = hvd_container_of(pos, struct hvd_pool, link);
		if (pool->peer == peer && !pool->retired)
			return pool;
	}
	/* The caller charged POOL_FDS to dom (share_new); pool_free gives them back. */
	if (!make || !(pool = calloc(1, sizeof(*pool)))) {
		if (make)
			hvd_fds_put(hvd, dom, POOL_FDS);
		return NULL;
	}
	pool->peer = peer;
	pool->fd[0] = pool->fd[1] = pool->ro_fd = -1;
	hvd_list_add(&dom->pools, &pool->link);
	pool->fd[0] = hvd_shm_create_ro("pvio-hv-pool-ro", len, NULL, &pool->ro_fd);
	pool->fd[1] = hvd_shm_create("pvio-hv-pool-rw", len, NULL, false);
	pool->page_map[0] = hvd_bitmap_alloc(dom->pool_pages);
	pool->page_map[1] = hvd_bitmap_alloc(dom->pool_pages);
	if (pool->fd[0] < 0 || pool->fd[1] < 0 || !pool->page_map[0] || !pool->page_map[1]) {
		pool_free(hvd, dom, pool);
		return NULL;
	}
	if (++hvd->next_pool_serial == 0)
		hvd->next_pool_serial = 1;
	pool->serial = hvd->next_pool_serial;
	return pool;
}

/* Free mapper's active table tab. */
static void active_free(struct hvd *hvd, struct hvd_domain *mapper, struct hvd_active_tab *tab)
{
	hvd_list_del(&tab->link);
	hvd_list_del(&tab->shadow);
	hvd_shm_destroy(tab->fd, tab->map, ACTIVE_BYTES);
	hvd_fds_put(hvd, mapper, 1);
	free(tab);
}

/* Free an attachment of one of dom's sessions. */
static void attach_free(struct hvd *hvd, struct hvd_domain *dom, struct hvd_attach *att)
{
	hvd_list_del(&att->link);
	hvd_shm_destroy(att->rec_fd, att->rec, REC_BYTES);
	hvd_fds_put(hvd, dom, 1);
	free(att);
}

/* Local state only: the domain's sessions are closed by now. */
void hvd_grant_fini(struct hvd *hvd, struct hvd_domain *dom)
{
	unsigned int ref;

	/* Mappers' tables of our grants outlive us only at daemon exit: unhook them. */
	while (!hvd_list_empty(&dom->shadows))
		hvd_list_del(dom->shadows.next);
	while (!hvd_list_empty(&dom->actives))
		active_free(hvd, dom,
			    hvd_container_of(dom->actives.next, struct hvd_active_tab, link));
	while (dom->pools.next && !hvd_list_empty(&dom->pools))
		pool_free(hvd, dom, hvd_container_of(dom->pools.next, struct hvd_pool, link));
	for (ref = 0; dom->shares && ref < HVSIM_GNT_ENTRIES; ref++)
		free(dom->shares[ref]);
	free(dom->shares);
	free(dom->ref_map);
	hvd_shm_destroy(dom->table_fd, dom->table, TABLE_BYTES);
	if (dom->table_ro_fd >= 0)
		close(dom->table_ro_fd);
}

/* Give the share's memory back; its pages read as zeroes before their next share. */
static void share_punch(const struct hvd_share *share)
{
	fallocate(share->pool->fd[share->writable], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)share->page * HV_PAGE_SIZE, (off_t)share->count * HV_PAGE_SIZE);
}

static void entries_clear(struct hvd_domain *dom, uint32_t ref, uint32_t count)
{
	uint32_t i;

	for (i = ref; i < ref + count; i++) {
		__atomic_store_n(&dom->table[i].flags, 0, __ATOMIC_RELEASE);
		dom->table[i].domid = 0;
		dom->table[i].frame = 0;
	}
}

/* A share of count pages for peer, writable or not, from dom's pools for peer. */
static int share_new(struct hvd *hvd, struct hvd_domain *dom, uint32_t count, domid_t peer,
		     bool writable, struct hvd_share **sharep)
{
	struct hvd_share *share;
	struct hvd_pool *pool;
	long page;

	/* All pools together hold no more than the domain's one pool used to. */
	if (count > dom->pool_pages - dom->pool_used)
		return -ENOMEM;
	pool = pool_get(hvd, dom, peer, false);
	if (!pool) {
		/* Pools for a new peer are descriptors in the granter's budget. */
		int ret = hvd_fds_take(hvd, dom, POOL_FDS, "grant pool");

		if (ret < 0)
			return ret;
		pool = pool_get(hvd, dom, peer, true);
	}
	if (!pool)
		return -ENOMEM;
	page = hvd_bitmap_find(pool->page_map[writable], dom->pool_pages, 0, count);
	if (page < 0)
		return -ENOMEM;
	share = malloc(sizeof(*share));
	if (!share)
		return -ENOMEM;
	*share = (struct hvd_share){
		.pool = pool, .writable = writable, .page = (uint32_t)page, .count = count
	};
	hvd_bitmap_set(pool->page_map[writable], (unsigned long)page, count);
	dom->pool_used += count;
	*sharep = share;
	return 0;
}

/*
 * GRANT_ALLOC: arg[0] count, arg[1] peer, arg[2] writable, arg[3] the pool
 * serial the caller has.  Reply arg[0] first ref, arg[1] first frame, arg[2]
 * the pool serial; fds: [0] the pool if the caller's is stale.
 */
int hvd_op_grant_alloc(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		       struct hvd_reply *rep)
{
	struct hvd_domain *dom = c->dom, *peer;
	uint32_t count = req->arg[0];
	bool writable = req->arg[2] != 0;
	struct hvd_share *share;
	long ref;
	int ret;

	if (count == 0 || count > HVSIM_BATCH_MAX || req->arg[2] > 1)
		return -EINVAL;
	/* Pools are made for live peers only: a dead one could never attach them. */
	peer = hvd_domain_get(hvd, dom, req->arg[1]);
	if (!peer)
		return -ESRCH;
	ref = hvd_bitmap_find(dom->ref_map, HVSIM_GNT_ENTRIES, 0, count);
	if (ref < 0)
		return -ENOSPC;
	ret = share_new(hvd, dom, count, peer->domid, writable, &share);
	if (ret < 0)
		return ret;
	share->owner_sid = c->sid;
	hvd_bitmap_set(dom->ref_map, (unsigned long)ref, count);
	dom->shares[ref] = share;
	/* The domain's own processes can write anywhere in their table and pools. */
	entries_clear(dom, (uint32_t)ref, count);
	share_punch(share);
	rep->msg.arg[0] = (uint32_t)ref;
	rep->msg.arg[1] = share->page + (writable ? dom->pool_pages : 0);
	rep->msg.arg[2] = share->pool->serial;
	if (req->arg[3] != share->pool->serial) {
		rep->fds[0] = share->pool->fd[writable];
		rep->nfds = 1;
	}
	return 0;
}

/* The active table of mapper for granter's entries, if mapper ever attached. */
static struct hvd_active_tab *active_find(const struct hvd_domain *granter, domid_t mapper)
{
	const struct hvd_list *pos;

	for (pos = granter->shadows.next; pos != &granter->shadows; pos = pos->next) {
		struct hvd_active_tab *tab = hvd_container_of(pos, struct hvd_active_tab, shadow);

		if (tab->mapper == mapper)
			return tab;
	}
	return NULL;
}

/*
 * End foreign access to one entry, as Xen's end-foreign-access: clear it,
 * then (after a full barrier) read the pins of the one domain it names; if
 * that domain pins it, put the entry back and say -EBUSY.  A mapper pins
 * first and then reads the entry, so one of us sees the other.
 */
static int entry_end(struct hvd_domain *dom, uint32_t ref)
{
	uint32_t *word = HVSIM_ENTRY_WORD(&dom->table[ref]);
	uint32_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE), ended;
	struct hvd_active_tab *tab;
	int tries = 0;

	/* The granter's own processes may keep rewriting it: don't spin on them for ever. */
	do {
		if ((HVSIM_WORD_FLAGS(w) & GTF_type_mask) != GTF_permit_access)
			return 0;
		if (++tries > 64)
			return -EBUSY;
		ended = w & ~(uint32_t)0xffffu;
	} while (!__atomic_compare_exchange_n(word, &w, ended, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_ACQUIRE));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	tab = active_find(dom, HVSIM_WORD_DOMID(w));
	if (!tab || __atomic_load_n(&tab->map[ref].pins, __ATOMIC_SEQ_CST) == 0)
		return 0;
	/* Unless the granter rewrote it meanwhile: then its new entry stands. */
	__atomic_compare_exchange_n(word, &ended, w, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	return -EBUSY;
}

/* Set or clear the orphan mark of refs [ref, ref + count) in every active table of granter. */
static void marks_set(struct hvd_domain *granter, uint32_t ref, uint32_t count, bool on)
{
	struct hvd_list *pos;

	for (pos = granter->shadows.next; pos != &granter->shadows; pos = pos->next) {
		struct hvd_active_tab *tab = hvd_container_of(pos, struct hvd_active_tab, shadow);

		for (uint32_t i = ref; i < ref + count; i++)
			__atomic_store_n(&tab->map[i].flags, on ? HVSIM_ACTIVE_ORPHAN : 0,
					 __ATOMIC_RELAXED);
	}
}

/*
 * End access to every idle entry of a share, so that nobody maps it anew, and
 * free the share once all are ended; -EBUSY while a mapper still holds one.
 */
static int share_release(struct hvd_domain *dom, uint32_t ref)
{
	struct hvd_share *share = dom->shares[ref];
	uint32_t i, busy = 0;

	for (i = ref; i < ref + share->count; i++)
		busy += entry_end(dom, i) < 0;
	if (busy)
		return -EBUSY;
	if (share->owner_sid == 0)
		marks_set(dom, ref, share->count, false);
	entries_clear(dom, ref, share->count);
	share_punch(share);
	hvd_bitmap_clear(dom->ref_map, ref, share->count);
	hvd_bitmap_clear(share->pool->page_map[share->writable], share->page, share->count);
	dom->pool_used -= share->count;
	dom->shares[ref] = NULL;
	free(share);
	return 0;
}

/*
 * The share's session has gone: free it now if nobody maps it, else mark its
 * entries so that the mapper dropping the last pin tells us (GRANT_RELEASE).
 * The mark goes first, then a full barrier, then the attempt to end each
 * entry: a mapper drops its pin before it reads the mark, so either we see
 * the entry idle or it sees the mark.
 */
static void share_orphan(struct hvd_domain *dom, uint32_t ref)
{
	dom->shares[ref]->owner_sid = 0;
	marks_set(dom, ref, dom->shares[ref]->count, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	share_release(dom, ref);
}

/* GRANT_FREE: arg[0] first ref, arg[1] count, exactly as allocated in this domain. */
int hvd_op_grant_free(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		      struct hvd_reply *rep)
{
	struct hvd_domain *dom = c->dom;
	uint32_t ref = req->arg[0];

	(void)hvd;
	(void)rep;
	if (ref >= HVSIM_GNT_ENTRIES || !dom->shares[ref] || dom->shares[ref]->count != req->arg[1])
		return -EINVAL;
	return share_release(dom, ref);
}

/* Free the shares whose session has gone and that nobody maps any more. */
static void shares_reap(struct hvd_domain *dom)
{
	uint32_t ref;

	for (ref = 0; ref < HVSIM_GNT_ENTRIES; ref++) {
		if (dom->shares[ref] && dom->shares[ref]->owner_sid == 0)
			share_release(dom, ref);
	}
}

/* The first ref of the share holding ref, or -1: shares are at most HVSIM_BATCH_MAX long. */
static long share_find(const struct hvd_domain *dom, uint32_t ref)
{
	uint32_t first = ref >= HVSIM_BATCH_MAX ? ref - HVSIM_BATCH_MAX + 1 : 0;

	for (uint32_t r = ref + 1; r-- > first;) {
		if (dom->shares[r])
			return r + dom->shares[r]->count > ref ? (long)r : -1;
	}
	return -1;
}

/* GRANT_RELEASE: arg[0] granter, arg[1] a ref whose last pin the caller's domain dropped. */
int hvd_op_grant_release(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			 struct hvd_reply *rep)
{
	struct hvd_domain *granter = hvd_domain_get(hvd, c->dom, req->arg[0]);
	long first;

	(void)rep;
	if (!granter)
		return -ESRCH;
	if (req->arg[1] >= HVSIM_GNT_ENTRIES)
		return -EINVAL;
	first = share_find(granter, req->arg[1]);
	/* A live owner's share is its own to end; a busy orphan waits for its next release. */
	if (first >= 0 && granter->shares[first]->owner_sid == 0)
		share_release(granter, (uint32_t)first);
	return 0;
}

/* Drop every pin the closing session holds on one granter, as gntdev's release does. */
static void attach_unpin(struct hvd *hvd, struct hvd_conn *c, struct hvd_attach *att)
{
	struct hvd_domain *granter = hvd->domains[att->granter];
	struct hvsim_gnt_view view = {
		.table = granter->table,
		.active = att->active->map,
		.rec = att->rec,
		.nr_entries = HVSIM_GNT_ENTRIES,
		.nr_pages = granter->pool_pages,
		.mapper = c->dom->domid,
	};

	(void)c;
	hvsim_unpin_all(&view);
	shares_reap(granter);
}

/*
 * A session closes: its maps go first (they may be of its own domain's
 * grants), then its shares.  A share still mapped by someone stays granted,
 * orphaned, until its last mapper unmaps it (GRANT_RELEASE), that mapper's
 * session closes or the domain dies: as gntalloc defers freeing a page until
 * its last map is gone.
 */
void hvd_grant_session_close(struct hvd *hvd, struct hvd_conn *c)
{
	struct hvd_domain *dom = c->dom;
	uint32_t ref;

	while (!hvd_list_empty(&c->attaches)) {
		struct hvd_attach *att =
		    hvd_container_of(c->attaches.next, struct hvd_attach, link);

		attach_unpin(hvd, c, att);
		attach_free(hvd, dom, att);
	}
	for (ref = 0; ref < HVSIM_GNT_ENTRIES; ref++) {
		if (dom->shares[ref] && dom->shares[ref]->owner_sid == c->sid)
			share_orphan(dom, ref);
	}
}

/* A new active table of the mapping domain for granter's entries. */
static struct hvd_active_tab *active_new(struct hvd_domain *dom, struct hvd_domain *granter)
{
	struct hvd_active_tab *tab = calloc(1, sizeof(*tab));
	void *map;

	if (!tab)
		return NULL;
	tab->fd = hvd_shm_create("pvio-hv-grant-active", ACTIVE_BYTES, &map, false);
	if (tab->fd < 0) {
		free(tab);
		return NULL;
	}
	tab->map = map;
	tab->granter = granter->domid;
	tab->mapper = dom->domid;
	hvd_list_add(&dom->actives, &tab->link);
	hvd_list_add(&granter->shadows, &tab->shadow);
	return tab;
}

/* Session c's attachment to granter, or NULL. */
static struct hvd_attach *attach_find(struct hvd_conn *c, domid_t granter)
{
	struct hvd_list *pos;

	for (pos = c->attaches.next; pos != &c->attaches; pos = pos->next) {
		struct hvd_attach *att = hvd_container_of(pos, struct hvd_attach, link);

		if (att->granter == granter)
			return att;
	}
	return NULL;
}

/* The session's attachment to granter, made on first use: 0 or a negative errno. */
static int attach_get(struct hvd *hvd, struct hvd_conn *c, struct hvd_domain *granter,
		      struct hvd_attach **attp)
{
	struct hvd_active_tab *tab;
	struct hvd_attach *att;
	void *map;
	int ret;

	if ((*attp = attach_find(c, granter->domid)))
		return 0;
	/*
	 * Each attachment is a descriptor here (its pin records), and the domain's first of
	 * granter another (its active table): they count in the domain's budget as sessions and
	 * ports do, so that a guest attaching in a loop cannot take others' share or dom0's.
	 */
	tab = active_find(granter, c->dom->domid);
	if (!tab) {
		if ((ret = hvd_fds_take(hvd, c->dom, 1, "grant attach")) < 0)
			return ret;
		tab = active_new(c->dom, granter);
		if (!tab) {
			hvd_fds_put(hvd, c->dom, 1);
			return -ENOMEM;
		}
	}
	if ((ret = hvd_fds_take(hvd, c->dom, 1, "grant attach")) < 0)
		return ret;
	att = calloc(1, sizeof(*att));
	if (att)
		att->rec_fd = hvd_shm_create("pvio-hv-grant-pins", REC_BYTES, &map, false);
	if (!att || att->rec_fd < 0) {
		free(att);
		hvd_fds_put(hvd, c->dom, 1);
		return -ENOMEM;
	}
	att->rec = map;
	att->granter = granter->domid;
	att->active = tab;
	hvd_list_add(&c->attaches, &att->link);
	*attp = att;
	return 0;
}

/*
 * GRANT_ATTACH: arg[0] granter.  fds: table (read-only), the granter's pools
 * for the caller's domain (read-only, writable), active table, pin records.
 * Only to a domain the granter shared something with: nobody else has any
 * business reading even its table.
 */
int hvd_op_grant_attach(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			struct hvd_reply *rep)
{
	struct hvd_domain *granter = hvd_domain_get(hvd, c->dom, req->arg[0]);
	struct hvd_attach *att;
	struct hvd_pool *pool;
	int ret;

	if (!granter)
		return -ESRCH;
	pool = pool_get(hvd, granter, c->dom->domid, false);
	if (!pool)
		return -EPERM;
	ret = attach_get(hvd, c, granter, &att);
	if (ret)
		return ret;
	rep->msg.arg[0] = HVSIM_GNT_ENTRIES;
	rep->msg.arg[1] = granter->pool_pages;
	rep->fds[0] = granter->table_ro_fd;
	rep->fds[1] = pool->ro_fd;
	rep->fds[2] = pool->fd[1];
	rep->fds[3] = att->active->fd;
	rep->fds[4] = att->rec_fd;
	rep->nfds = 5;
	return 0;
}

/* Drop session c's attachment to granter, if any. */
static void session_forget(struct hvd *hvd, struct hvd_conn *c, domid_t granter)
{
	struct hvd_list *pos;

	for (pos = c->attaches.next; pos != &c->attaches; pos = pos->next) {
		struct hvd_attach *att = hvd_container_of(pos, struct hvd_attach, link);

		if (att->granter == granter) {
			attach_free(hvd, c->dom, att);
			return;
		}
	}
}

/* Drop mapper dom's active table of granter and its sessions' pin records. */
static void mapper_forget(struct hvd *hvd, struct hvd_domain *dom, domid_t granter)
{
	struct hvd_list *pos;

	for (pos = dom->sessions.next; pos != &dom->sessions; pos = pos->next)
		session_forget(hvd, hvd_container_of(pos, struct hvd_conn, link), granter);
	for (pos = dom->actives.next; pos != &dom->actives; pos = pos->next) {
		struct hvd_active_tab *tab = hvd_container_of(pos, struct hvd_active_tab, link);

		if (tab->granter == granter) {
			/* Its mappers release their last pins to us: they then learn it died. */
			for (uint32_t ref = 0; ref < HVSIM_GNT_ENTRIES; ref++)
				__atomic_store_n(&tab->map[ref].flags, HVSIM_ACTIVE_ORPHAN,
						 __ATOMIC_RELAXED);
			active_free(hvd, dom, tab);
			return;
		}
	}
}

/*
 * A domain dies.  As a granter: every active table and pin record shadowing
 * it goes; the mappers keep their own mappings of its table and pools, which
 * stay valid memory; nothing is left to unpin since the entries die with it.
 * As a peer: the pools others made for it are retired.
 */
void hvd_grant_forget(struct hvd *hvd, const struct hvd_domain *granter)
{
	unsigned int id;

	for (id = 0; id < HVD_NR_DOMIDS; id++) {
		struct hvd_domain *dom = hvd->domains[id];
		struct hvd_pool *pool;

		if (!dom || dom == granter)
			continue;
		mapper_forget(hvd, dom, granter->domid);
		/* A later domain with the same id gets pools of its own, not these. */
		pool = pool_get(hvd, dom, granter->domid, false);
		if (pool)
			pool->retired = true;
	}
}
