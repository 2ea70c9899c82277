/* SPDX-License-Identifier: MIT */
/*
 * sim-grant.c - grants on the embedded hypervisor.
 *
 * Sharing and ending go through pvio-hv (they allocate refs and pool pages,
 * and only pvio-hv reads the mappers' pins); map, unmap and copy run entirely
 * in the caller: after the first attach to a granter, a map is a pin per ref
 * (an atomic increment in our domain's active table, then a check of the
 * granter's read-only entry) and, usually, an address in a standing view of
 * the granter's pool for us.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/sim-priv.h"

/* Shares */

/* Our newest pool for (peer, writable), or NULL. */
static struct sim_pool *pool_find(struct sim *s, domid_t peer, bool writable)
{
	struct sim_pool *p;

	for (p = s->pools; p; p = p->next)
		if (p->peer == peer && p->writable == writable)
			return p;
	return NULL;
}

/* Take the pool GRANT_ALLOC passed (fd, serial) as the newest for (peer, writable). */
static int pool_add(struct sim *s, domid_t peer, bool writable, uint32_t serial, int fd)
{
	struct sim_pool *p = calloc(1, sizeof(*p));
	void *map;

	if (!p)
		return -ENOMEM;
	map = mmap(NULL, (size_t)s->nr_pages * HV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (map == MAP_FAILED) {
		free(p);
		return -errno;
	}
	*p = (struct sim_pool){
		.next = s->pools, .peer = peer, .writable = writable, .serial = serial, .map = map
	};
	s->pools = p;
	return 0;
}

/* The pool the reply to GRANT_ALLOC names, mapping it if it came with it. */
static int pool_of_reply(struct sim *s, domid_t peer, bool writable, const struct hvsim_msg *rep,
			 int fd, struct sim_pool **pp)
{
	int ret;

	if (fd >= 0) {
		ret = pool_add(s, peer, writable, rep->arg[2], fd);
		if (ret < 0)
			return ret;
	}
	*pp = pool_find(s, peer, writable);
	return *pp && (*pp)->serial == rep->arg[2] ? 0 : -EPROTO;
}

/* Check the reply's first ref and frame; the page index of that frame in its pool. */
static int share_check(const struct sim *s, const struct hvsim_msg *rep, unsigned int count,
		       bool writable, uint32_t *page)
{
	uint32_t first_ref = rep->arg[0], base = writable ? s->nr_pages : 0;

	if (first_ref >= s->nr_entries || count > s->nr_entries - first_ref || rep->arg[1] < base ||
	    rep->arg[1] - base >= s->nr_pages || count > s->nr_pages - (rep->arg[1] - base))
		return -EPROTO;
	*page = rep->arg[1] - base;
	return 0;
}

int sim_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable, void **addr,
		    grant_ref_t *refs)
{
	struct sim *s = sim_of(hv);
	struct hvsim_msg req = { .op = HVSIM_GRANT_ALLOC, .arg = { count, peer, writable } }, rep;
	struct sim_share *sh;
	struct sim_pool *pool;
	uint32_t page, i;
	unsigned int n = 0;
	int fd = -1, ret;

	if (count > HVSIM_BATCH_MAX)
		return -E2BIG;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	pool = pool_find(s, peer, writable);
	req.arg[3] = pool ? pool->serial : 0;
	ret = sim_call(s, &req, &rep, &fd, 1, &n);
	if (ret < 0)
		goto out;
	ret = pool_of_reply(s, peer, writable, &rep, n ? fd : -1, &pool);
	if (ret == 0)
		ret = share_check(s, &rep, count, writable, &page);
	if (ret < 0)
		goto out;
	for (i = 0; i < count; i++) {
		hvsim_grant_entry(&s->table[rep.arg[0] + i], peer, rep.arg[1] + i, writable);
		refs[i] = rep.arg[0] + i;
	}
	sh->addr = pool->map + (size_t)page * HV_PAGE_SIZE;
	sh->first_ref = rep.arg[0];
	sh->count = count;
	sh->next = s->shares;
	s->shares = sh;
	*addr = sh->addr;
	sh = NULL;
out:
	pthread_mutex_unlock(&s->lock);
	if (n)
		close(fd);
	free(sh);
	return ret;
}

static struct sim_share **share_find(struct sim *s, void *addr, unsigned int count)
{
	struct sim_share **pp;

	for (pp = &s->shares; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr && (*pp)->count == count)
			return pp;
	return NULL;
}

int sim_grant_end(struct hv *hv, void *addr, unsigned int count)
{
	struct sim *s = sim_of(hv);
	struct hvsim_msg req = { .op = HVSIM_GRANT_FREE }, rep;
	struct sim_share **pp, *sh;
	int ret;

	pthread_mutex_lock(&s->lock);
	pp = share_find(s, addr, count);
	if (!pp) {
		ret = -ENOENT;
		goto out;
	}
	sh = *pp;
	/* pvio-hv ends the entries: it alone can read the mappers' pins. */
	req.arg[0] = sh->first_ref;
	req.arg[1] = sh->count;
	ret = sim_call(s, &req, &rep, NULL, 0, NULL);
	if (ret < 0)
		goto out;
	*pp = sh->next;
	free(sh);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Granters */

static void granter_free(struct sim_granter *g)
{
	size_t pool_len = (size_t)g->view.nr_pages * HV_PAGE_SIZE;
	size_t n = g->view.nr_entries;

	if (g->view.table)
		munmap((void *)g->view.table, n * sizeof(grant_entry_v1_t));
	if (g->view.active)
		munmap(g->view.active, n * sizeof(struct hvsim_active));
	if (g->view.rec)
		munmap(g->view.rec, n * sizeof(struct hvsim_pinrec));
	if (g->pool_ro)
		munmap(g->pool_ro, pool_len);
	if (g->pool_rw_ro)
		munmap(g->pool_rw_ro, pool_len);
	if (g->pool_rw)
		munmap(g->pool_rw, pool_len);
	for (int i = 0; i < 2; i++)
		if (g->pool_fd[i] >= 0)
			close(g->pool_fd[i]);
	free(g);
}

static int map_shared(int fd, size_t len, int prot, void *out)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	memcpy(out, &p, sizeof(p));
	return 0;
}

/*
 * Map the five objects GRANT_ATTACH passed: table (read-only), read-only
 * pool (read-only), writable pool, active table, pin records.
 */
static int granter_map(struct sim_granter *g, const int *fds)
{
	size_t n = g->view.nr_entries, pool_len = (size_t)g->view.nr_pages * HV_PAGE_SIZE;
	int ret;

	ret = map_shared(fds[0], n * sizeof(grant_entry_v1_t), PROT_READ, &g->view.table);
	if (!ret)
		ret = map_shared(fds[1], pool_len, PROT_READ, &g->pool_ro);
	if (!ret)
		ret = map_shared(fds[2], pool_len, PROT_READ, &g->pool_rw_ro);
	if (!ret)
		ret = map_shared(fds[2], pool_len, PROT_READ | PROT_WRITE, &g->pool_rw);
	if (!ret)
		ret = map_shared(fds[3], n * sizeof(struct hvsim_active), PROT_READ | PROT_WRITE,
				 &g->view.active);
	if (!ret)
		ret = map_shared(fds[4], n * sizeof(struct hvsim_pinrec), PROT_READ | PROT_WRITE,
				 &g->view.rec);
	return ret;
}

static int granter_attach(struct sim *s, domid_t domid, struct sim_granter **gp)
{
	struct hvsim_msg req = { .op = HVSIM_GRANT_ATTACH, .arg = { domid } }, rep;
	struct sim_granter *g;
	unsigned int n = 0, i;
	int fds[HVSIM_MAX_FDS];
	int ret;

	ret = sim_call(s, &req, &rep, fds, HVSIM_MAX_FDS, &n);
	if (ret < 0)
		return ret;
	g = calloc(1, sizeof(*g));
	if (!g || n != 5 || rep.arg[0] != HVSIM_GNT_ENTRIES || rep.arg[1] == 0 ||
	    rep.arg[1] > HVSIM_POOL_PAGES_MAX) {
		ret = g ? -EPROTO : -ENOMEM;
		goto out;
	}
	g->domid = domid;
	g->pool_fd[0] = g->pool_fd[1] = -1;
	g->view.nr_entries = rep.arg[0];
	g->view.nr_pages = rep.arg[1];
	g->view.mapper = s->domid;
	ret = granter_map(g, fds);
	if (ret < 0)
		goto out;
	g->pool_fd[0] = fds[1];
	g->pool_fd[1] = fds[2];
	fds[1] = fds[2] = -1;
	g->next = s->granters;
	s->granters = g;
	*gp = g;
	g = NULL;
out:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (g)
		granter_free(g);
	return ret;
}

int sim_granter_get(struct hv *hv, domid_t domid, struct sim_granter **gp)
{
	struct sim *s = sim_of(hv);
	struct sim_granter *g;

	for (g = s->granters; g; g = g->next) {
		if (g->domid == domid) {
			*gp = g;
			return g->dead ? -ESRCH : 0;
		}
	}
	return granter_attach(s, domid, gp);
}

/* Maps */

static unsigned int map_bucket(const void *addr)
{
	return (unsigned int)(((uintptr_t)addr >> HV_PAGE_SHIFT) % SIM_MAP_BUCKETS);
}

static struct sim_map *map_record_get(struct sim *s, unsigned int count)
{
	struct sim_map *m = s->free_maps;

	if (m)
		s->free_maps = m->next;
	else
		m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	m->refs = m->inline_refs;
	if (count > SIM_MAP_INLINE) {
		m->refs = malloc(count * sizeof(grant_ref_t));
		if (!m->refs) {
			m->next = s->free_maps;
			s->free_maps = m;
			return NULL;
		}
	}
	return m;
}

static void map_record_put(struct sim *s, struct sim_map *m)
{
	if (m->refs != m->inline_refs)
		free(m->refs);
	m->next = s->free_maps;
	s->free_maps = m;
}

/*
 * Tell pvio-hv that we dropped our domain's last pin on ref, an entry whose share lost its owner
 * (or whose granter died), so that it can free the share now; learn that the granter died.
 */
static void release_tell(struct sim *s, struct sim_granter *g, grant_ref_t ref)
{
	struct hvsim_msg req = { .op = HVSIM_GRANT_RELEASE, .arg = { g->domid, ref } }, rep;

	if (!g->dead && sim_call(s, &req, &rep, NULL, 0, NULL) == -ESRCH)
		g->dead = true;
}

static void unpin_one(struct sim *s, struct sim_granter *g, grant_ref_t ref)
{
	if (hvsim_unpin(&g->view, ref))
		release_tell(s, g, ref);
}

static void unpin_refs(struct sim *s, struct sim_granter *g, const grant_ref_t *refs,
		       unsigned int n)
{
	while (n--)
		unpin_one(s, g, refs[n]);
}

/* Pin one ref; a failed pin may still owe pvio-hv a release. */
static int pin_one(struct sim *s, struct sim_granter *g, grant_ref_t ref, bool write,
		   uint32_t *frame)
{
	int ret = hvsim_pin(&g->view, ref, write, frame);

	if (ret < 0 && *frame == HVSIM_FRAME_RELEASE)
		release_tell(s, g, ref);
	return ret;
}

/* Where frame is in our views of g's pools: frames past nr_pages are in the writable one. */
static uint8_t *frame_addr(const struct sim_granter *g, uint32_t frame, bool write)
{
	uint32_t n = g->view.nr_pages;

	if (frame < n)
		return g->pool_ro + (size_t)frame * HV_PAGE_SIZE;
	return (write ? g->pool_rw : g->pool_rw_ro) + (size_t)(frame - n) * HV_PAGE_SIZE;
}

/* Forget a dead granter once nothing of it is mapped: its pool goes with our views of it. */
static void granter_put(struct sim *s, struct sim_granter *g)
{
	struct sim_granter **pp;

	if (!g->dead || g->nr_maps)
		return;
	for (pp = &s->granters; *pp != g; pp = &(*pp)->next)
		;
	*pp = g->next;
	granter_free(g);
}

/* A contiguous address for scattered frames: one private mmap per run. */
static int map_scattered(struct sim_granter *g, const uint32_t *frames, unsigned int count,
			 bool writable, void **addr)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	uint8_t *base;
	unsigned int i, run;

	base =
	    mmap(NULL, (size_t)count * HV_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (i = 0; i < count; i += run) {
		bool rw = frames[i] >= g->view.nr_pages;
		uint32_t page = frames[i] - (rw ? g->view.nr_pages : 0);

		for (run = 1; i + run < count && frames[i + run] == frames[i] + run &&
			      page + run < g->view.nr_pages;
		     run++)
			;
		if (mmap(base + (size_t)i * HV_PAGE_SIZE, (size_t)run * HV_PAGE_SIZE, prot,
			 MAP_SHARED | MAP_FIXED, g->pool_fd[rw],
			 (off_t)page * HV_PAGE_SIZE) == MAP_FAILED) {
			int err = -errno;

			munmap(base, (size_t)count * HV_PAGE_SIZE);
			return err;
		}
	}
	*addr = base;
	return 0;
}

/* Consecutive frames of one pool: one address range in our view of it. */
static bool frames_consecutive(const uint32_t *frames, unsigned int count, uint32_t nr_pages)
{
	unsigned int i;

	for (i = 1; i < count; i++)
		if (frames[i] != frames[0] + i)
			return false;
	return frames[0] >= nr_pages || frames[0] + count <= nr_pages;
}

/* Pin every ref, then find an address for the frames; all or nothing. */
static int map_pinned(struct sim *s, struct sim_granter *g, struct sim_map *m, uint32_t *frames)
{
	unsigned int i;
	int ret;

	for (i = 0; i < m->count; i++) {
		ret = pin_one(s, g, m->refs[i], m->writable, &frames[i]);
		if (ret < 0)
			goto unpin;
	}
	m->mmapped = s->strict_map || !frames_consecutive(frames, m->count, g->view.nr_pages);
	if (!m->mmapped) {
		m->addr = frame_addr(g, frames[0], m->writable);
		return 0;
	}
	ret = map_scattered(g, frames, m->count, m->writable, &m->addr);
	if (ret == 0)
		return 0;
unpin:
	unpin_refs(s, g, m->refs, i);
	return ret;
}

int sim_grant_map(struct hv *hv, domid_t granter, unsigned int count, const grant_ref_t *refs,
		  bool writable, void **addr)
{
	struct sim *s = sim_of(hv);
	uint32_t frames_small[SIM_MAP_INLINE], *frames = frames_small;
	struct sim_granter *g;
	struct sim_map *m = NULL;
	int ret;

	if (count > HVSIM_BATCH_MAX)
		return -E2BIG;
	if (count > SIM_MAP_INLINE && !(frames = malloc(count * sizeof(*frames))))
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	ret = sim_granter_get(hv, granter, &g);
	if (ret == 0 && !(m = map_record_get(s, count)))
		ret = -ENOMEM;
	if (ret < 0)
		goto out;
	memcpy(m->refs, refs, count * sizeof(*refs));
	m->g = g;
	m->count = count;
	m->writable = writable;
	ret = map_pinned(s, g, m, frames);
	if (ret < 0) {
		map_record_put(s, m);
		granter_put(s, g);
		goto out;
	}
	g->nr_maps++;
	m->next = s->maps[map_bucket(m->addr)];
	s->maps[map_bucket(m->addr)] = m;
	*addr = m->addr;
out:
	pthread_mutex_unlock(&s->lock);
	if (frames != frames_small)
		free(frames);
	return ret;
}

static void map_release(struct sim *s, struct sim_map *m)
{
	struct sim_granter *g = m->g;

	if (m->mmapped)
		munmap(m->addr, (size_t)m->count * HV_PAGE_SIZE);
	unpin_refs(s, g, m->refs, m->count);
	map_record_put(s, m);
	g->nr_maps--;
	granter_put(s, g);
}

int sim_grant_unmap(struct hv *hv, void *addr, unsigned int count)
{
	struct sim *s = sim_of(hv);
	struct sim_map **pp, *m;
	int ret = -EINVAL;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->maps[map_bucket(addr)]; (m = *pp); pp = &m->next) {
		if (m->addr == addr && m->count == count) {
			*pp = m->next;
			map_release(s, m);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Copy */

static int16_t gntst_of(int err)
{
	switch (err) {
	case -EINVAL:
		return GNTST_bad_gntref;
	case -EPERM:
	case -EACCES:
		return GNTST_permission_denied;
	case -ESRCH:
		return GNTST_bad_domain;
	default:
		return GNTST_general_error;
	}
}

/* Resolve one side of a copy: a local pointer, or a pinned granted page. */
static int copy_side(struct hv *hv, union hv_copy_ptr *p, bool gref, bool write, uint16_t len,
		     struct sim_granter **gp, uint8_t **ptr)
{
	struct sim_granter *g;
	uint32_t frame;
	int ret;

	*gp = NULL;
	if (!gref) {
		*ptr = p->virt;
		return 0;
	}
	if ((unsigned int)p->foreign.offset + len > HV_PAGE_SIZE)
		return -E2BIG;
	ret = sim_granter_get(hv, p->foreign.domid, &g);
	if (ret == 0)
		ret = pin_one(sim_of(hv), g, p->foreign.ref, write, &frame);
	if (ret < 0)
		return ret;
	/* Set only once pinned: the caller unpins what it gets back. */
	*gp = g;
	*ptr = frame_addr(g, frame, write) + p->foreign.offset;
	return 0;
}

static int16_t copy_one(struct hv *hv, struct hv_copy_seg *seg)
{
	struct sim_granter *gs, *gd;
	uint8_t *src, *dst;
	int ret;

	ret = copy_side(hv, &seg->source, seg->flags & GNTCOPY_source_gref, false, seg->len, &gs,
			&src);
	if (ret < 0)
		return ret == -E2BIG ? GNTST_bad_copy_arg : gntst_of(ret);
	ret = copy_side(hv, &seg->dest, seg->flags & GNTCOPY_dest_gref, true, seg->len, &gd, &dst);
	if (ret == 0)
		memmove(dst, src, seg->len);
	if (gd)
		unpin_one(sim_of(hv), gd, seg->dest.foreign.ref);
	if (gs)
		unpin_one(sim_of(hv), gs, seg->source.foreign.ref);
	/* Both sides may be the same granter: forget it (if dead) once. */
	if (gd)
		granter_put(sim_of(hv), gd);
	if (gs && gs != gd)
		granter_put(sim_of(hv), gs);
	if (ret < 0)
		return ret == -E2BIG ? GNTST_bad_copy_arg : gntst_of(ret);
	return GNTST_okay;
}

int sim_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs)
{
	struct sim *s = sim_of(hv);
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < count; i++)
		segs[i].status = copy_one(hv, &segs[i]);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Teardown: drop our pins as gntdev does when its handle closes. */
void sim_grant_cleanup(struct sim *s)
{
	unsigned int b;

	for (b = 0; b < SIM_MAP_BUCKETS; b++) {
		while (s->maps[b]) {
			struct sim_map *m = s->maps[b];

			s->maps[b] = m->next;
			map_release(s, m);
		}
	}
	while (s->free_maps) {
		struct sim_map *m = s->free_maps;

		s->free_maps = m->next;
		free(m);
	}
	while (s->granters) {
		struct sim_granter *g = s->granters;

		s->granters = g->next;
		granter_free(g);
	}
	while (s->shares) {
		struct sim_share *sh = s->shares;

		s->shares = sh->next;
		free(sh);
	}
	while (s->pools) {
		struct sim_pool *p = s->pools;

		s->pools = p->next;
		munmap(p->map, (size_t)s->nr_pages * HV_PAGE_SIZE);
		free(p);
	}
}
