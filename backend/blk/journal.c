/* SPDX-License-Identifier: MIT */
/*
 * journal.c - the in-flight journal of one blkback ring.
 *
 * Why: the ring alone cannot tell a new back-end which requests the old one took and did not
 * answer.  Responses go out of order, and a response overwrites the ring slot of whatever
 * request came first, so the unanswered requests' contents may be gone from the ring.
 *
 * Where: a file of the driver domain (mode 0600, in the directory pvio-blkback(8) is given with
 * --journal-dir), mapped MAP_SHARED.  Every store lands in the page cache at once, so it
 * survives a kill -9 of the process (not a crash of the domain's kernel, which the front-end
 * would not survive either).  A file rather than a memfd: nothing has to keep it open across
 * the restart.  The guest never sees it, so it widens nothing a domain can reach.
 *
 * Format: a header (magic, version, the ring's identity: front-end, order, entries, ring refs;
 * then req_cons and rsp_prod_pvt as the old process had them; the indirect segments the ring
 * was offered, which a successor must keep accepting whatever its own --max-indirect, since
 * the front-end was told so at connect), nr_ents + 1 slots, each
 * { state, req_idx, answered, answered_at, a copy of the request as taken off the ring }, and
 * a tail: the mark the back-end wrote into the ring's padding when it connected (ring.h
 * ring_back_mark).  A front that sets its ring up anew (SHARED_RING_INIT zeroes the padding)
 * while no back-end serves it, with the same grant references, would otherwise have the
 * requests of its old ring executed into the new one; with the mark gone, the load says
 * -ESTALE and the back-end connects to the new ring afresh.
 * Slot i follows entry i of the ring's table of requests in flight; slot nr_ents holds the one
 * request being answered on the spot (refused, discard, no entry).
 *
 * Order of the stores (each a release store of an aligned 32-bit word, so that a kill at any
 * point leaves some prefix of them):
 *   take:   slot.req, slot.req_idx = idx, slot.answered = 0, slot.state = TAKEN; req_cons = idx+1
 *   answer: (response written into ring slot rsp) slot.answered_at = rsp, slot.answered = 1;
 *           rsp_prod_pvt = rsp + 1; slot.state = FREE
 *   push:   only after the answer's stores, the ring's rsp_prod moves (so rsp_prod <= rsp_prod_pvt
 *           recorded here, always).
 * Recovery: req_cons and rsp_prod_pvt are taken from the journal; the responses in
 * [ring rsp_prod, rsp_prod_pvt) are in the ring already and only need pushing.  A slot TAKEN
 *   - with req_idx >= req_cons was not recorded as consumed: the ring still holds it at req_idx
 *     (no response is written between a take and its req_cons store), it is consumed again;
 *   - answered with answered_at < rsp_prod_pvt was answered and counted: dropped;
 *   - otherwise it is executed again; a response written but not counted (kill before the
 *     rsp_prod_pvt store) sits at index rsp_prod_pvt, never pushed, and the new answer
 *     overwrites it.
 * So each request is answered exactly once.  Consistency check: the slots executed again must be
 * exactly req_cons - rsp_prod_pvt, else the journal is refused.  Reads and writes are idempotent
 * to execute again (the front-end has no other I/O to the same blocks in flight); so is a flush
 * (one more fdatasync), a barrier (drain, sync, write, sync) and a discard (the range was to be
 * discarded and nothing overlapping was answered since).  The old process's aio is finished
 * before it is gone: the kernel waits for it at exit.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/blk/blkback-priv.h"
#include "backend/blk/journal.h"
#include "ring/ring.h"

struct blkback_journal {
	struct journal_head *h;
	size_t size;
	uint32_t max_indirect; /* as recorded, or the loader's for a version 1 journal */
};

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The file's size for a version: versions 1 and 2 have no tail. */
static size_t journal_size(uint32_t nr_ents, uint32_t version)
{
	return sizeof(struct journal_head) + (size_t)(nr_ents + 1) * sizeof(struct journal_slot) +
	       (version >= 3 ? sizeof(struct journal_tail) : 0);
}

static struct journal_tail *journal_tail(const struct journal_head *h)
{
	return (struct journal_tail *)(void *)((char *)h + journal_size(h->nr_ents, 2));
}

/* Whether a journal of version 3 or later recorded mark (read once per word: see peek). */
static bool mark_is(const struct journal_head *h, uint64_t mark)
{
	const struct journal_tail *t = journal_tail(h);

	return __atomic_load_n(&t->mark_lo, __ATOMIC_RELAXED) == (uint32_t)mark &&
	       __atomic_load_n(&t->mark_hi, __ATOMIC_RELAXED) == (uint32_t)(mark >> 32);
}

/* Whether a comes before b in the ring's modular index space. */
static bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Whether slot s is to be executed again (see the top of the file). */
static bool slot_pending(const struct journal_head *h, const struct journal_slot *s)
{
	if (s->state != SLOT_TAKEN || !before(s->req_idx, h->req_cons))
		return false;
	return !(s->answered == 1 && before(s->answered_at, h->rsp_prod_pvt));
}

/* Whether the header, of a file of size bytes, is a journal of ours, of the ring id. */
static bool header_ok(const struct journal_head *h, size_t size,
		      const struct blkback_journal_id *id)
{
	if (size < sizeof(*h) || h->magic != JOURNAL_MAGIC || h->version < 1 ||
	    h->version > JOURNAL_VERSION || size != journal_size(id->nr_ents, h->version) ||
	    (h->version > 1 && h->max_indirect > BLKBACK_INDIRECT_SEGMENTS_LIMIT) ||
	    h->frontend != id->frontend || h->order != id->order || h->nr_ents != id->nr_ents)
		return false;
	for (uint32_t i = 0; i < 1u << id->order; i++)
		if (h->refs[i] != id->refs[i])
			return false;
	return true;
}

/* The checks a loaded journal must pass: the file is ours, but treat it as hostile anyway. */
static int journal_check(const struct journal_head *h, size_t size,
			 const struct blkback_journal_id *id)
{
	uint32_t pending = 0, i;

	if (!header_ok(h, size, id))
		return -EBADMSG;
	if (before(h->req_cons, h->rsp_prod_pvt) || h->req_cons - h->rsp_prod_pvt > h->nr_ents)
		return -EBADMSG;
	for (i = 0; i <= h->nr_ents; i++) {
		const struct journal_slot *s = &h->slots[i];

		if (s->state > SLOT_TAKEN || s->answered > 1)
			return -EBADMSG;
		pending += slot_pending(h, s);
	}
	if (pending != h->req_cons - h->rsp_prod_pvt)
		return -EBADMSG;
	if (h->version >= 3 && !mark_is(h, id->mark))
		return -ESTALE;
	return 0;
}

static void journal_init(struct journal_head *h, const struct blkback_journal_id *id,
			 uint32_t start)
{
	memset(h, 0, journal_size(id->nr_ents, JOURNAL_VERSION));
	h->version = JOURNAL_VERSION;
	h->frontend = id->frontend;
	h->order = id->order;
	h->nr_ents = id->nr_ents;
	for (uint32_t i = 0; i < 1u << id->order; i++)
		h->refs[i] = id->refs[i];
	h->req_cons = h->rsp_prod_pvt = start;
	h->max_indirect = id->max_indirect;
	journal_tail(h)->mark_lo = (uint32_t)id->mark;
	journal_tail(h)->mark_hi = (uint32_t)(id->mark >> 32);
	store(&h->magic, JOURNAL_MAGIC); /* last: a half-written journal is not one */
}

/*
 * Open name beneath dirfd as our own regular file of the right size: *size for a fresh one,
 * which replaces whatever was there (O_EXCL: never through a link someone left); for one to
 * load, *size or alt (an older version's), the one it has into *size.
 */
static int journal_fd_sized(int dirfd, const char *name, bool fresh, size_t *size, size_t alt)
{
	int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (fresh ? O_CREAT | O_EXCL : 0), fd, ret = 0;
	struct stat st;

	if (fresh && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, name, flags, 0600);
	if (fd < 0)
		return fresh ? -errno : -EBADMSG;
	if (fstat(fd, &st) < 0)
		ret = fresh ? -errno : -EBADMSG; /* a load's -ESTALE says one thing only */
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		ret = -EBADMSG;
	else if (fresh && fallocate(fd, 0, 0, (off_t)*size) < 0)
		ret = -errno;
	else if (!fresh && (size_t)st.st_size != *size && (size_t)st.st_size != alt)
		ret = -EBADMSG;
	if (ret) {
		close(fd);
		return ret;
	}
	if (!fresh)
		*size = (size_t)st.st_size;
	return fd;
}

static int journal_fd(int dirfd, const char *name, bool fresh, size_t size)
{
	return journal_fd_sized(dirfd, name, fresh, &size, size);
}

int blkback_journal_open(struct blkback_journal **jp, int dirfd, const char *name,
			 const struct blkback_journal_id *id, bool fresh, uint32_t start)
{
	size_t size = journal_size(id->nr_ents, JOURNAL_VERSION);
	struct blkback_journal *j;
	void *map;
	int fd, ret;

	if (id->order > RING_ORDER_MAX || !id->nr_ents || strchr(name, '/'))
		return -EINVAL;
	fd = journal_fd_sized(dirfd, name, fresh, &size, journal_size(id->nr_ents, 2));
	if (fd < 0)
		return fd;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = map == MAP_FAILED ? (fresh ? -errno : -EBADMSG) : 0;
	close(fd);
	if (ret)
		return ret;
	if (fresh)
		journal_init(map, id, start);
	else if ((ret = journal_check(map, size, id)) != 0)
		goto unmap;
	j = malloc(sizeof(*j));
	if (!j) {
		ret = -ENOMEM;
		goto unmap;
	}
	j->h = map;
	j->size = size;
	j->max_indirect = j->h->version > 1 ? j->h->max_indirect : id->max_indirect;
	*jp = j;
	return 0;

unmap:
	munmap(map, size);
	return ret;
}

/*
 * Map name beneath dirfd read-only, if it is our own regular file of mode 0600 and of size
 * (or, with size 0, of any size up to max: *size gets it).  -EBADMSG otherwise.
 */
static int map_ro(int dirfd, const char *name, size_t *size, size_t max, const void **map)
{
	struct stat st;
	void *m = MAP_FAILED;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -EBADMSG;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & 077) && st.st_size > 0 &&
	    (*size ? (size_t)st.st_size == *size : (size_t)st.st_size <= max)) {
		*size = (size_t)st.st_size;
		m = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
	}
	close(fd);
	if (m == MAP_FAILED)
		return -EBADMSG;
	*map = m;
	return 0;
}

int blkback_journal_peek(int dirfd, const char *name, const struct blkback_journal_id *id,
			 uint32_t *max_indirect)
{
	size_t size = 0;
	const struct journal_head *h;
	const void *map;
	int ret;

	if (id->order > RING_ORDER_MAX || !id->nr_ents || strchr(name, '/'))
		return -EINVAL;
	ret = map_ro(dirfd, name, &size, journal_size(id->nr_ents, JOURNAL_VERSION), &map);
	if (ret)
		return ret;
	h = map;
	ret = header_ok(h, size, id) ? 0 : -EBADMSG;
	if (ret == 0) {
		/* Read once: a predecessor connecting afresh may rewrite it meanwhile. */
		*max_indirect = h->version > 1 ? __atomic_load_n(&h->max_indirect, __ATOMIC_RELAXED)
					       : id->max_indirect;
		if (*max_indirect > BLKBACK_INDIRECT_SEGMENTS_LIMIT)
			ret = -EBADMSG;
	}
	/* The ring set up anew since (see the top): its offer stands, its grants do not. */
	if (ret == 0 && h->version >= 3 && !mark_is(h, id->mark))
		ret = -ESTALE;
	munmap((void *)map, size);
	return ret;
}

/* ---- the persistent-grant record: <journal name>.grants ---- */

#define GRANTS_MAGIC 0x4742504bu /* "KPBG" */
#define GRANTS_MAX   (1u << 20)	 /* mapcache's capacity bound */

struct grants_head {
	uint32_t magic, frontend, capacity, pad;
	uint32_t refs[]; /* [capacity]: ref + 1 per cache slot, 0 for none */
};

static int grants_name(const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.grants", name);

	return n < 0 || (size_t)n >= len || strchr(name, '/') ? -EINVAL : 0;
}

int blkback_grants_open(int dirfd, const char *name, uint32_t frontend, unsigned int capacity,
			uint32_t **record, size_t *size)
{
	struct grants_head *h;
	char gname[256];
	void *map;
	int fd, ret = grants_name(name, gname, sizeof(gname));

	if (ret || !capacity || capacity > GRANTS_MAX)
		return ret ? ret : -EINVAL;
	*size = sizeof(*h) + (size_t)capacity * sizeof(uint32_t);
	fd = journal_fd(dirfd, gname, true, *size);
	if (fd < 0)
		return fd;
	map = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	h = map;
	h->frontend = frontend;
	h->capacity = capacity;
	store(&h->magic, GRANTS_MAGIC);
	*record = h->refs;
	return 0;
}

void blkback_grants_close(uint32_t *record, size_t size)
{
	if (record)
		munmap((char *)record - offsetof(struct grants_head, refs), size);
}

void blkback_grants_remove(int dirfd, const char *name)
{
	char gname[256];

	if (!grants_name(name, gname, sizeof(gname)))
		unlinkat(dirfd, gname, 0);
}

int blkback_grants_peek(int dirfd, const char *name, uint32_t frontend, grant_ref_t *refs,
			unsigned int max, unsigned int *n)
{
	const struct grants_head *h;
	size_t size = 0;
	char gname[256];
	const void *map;
	uint32_t cap;
	int ret = grants_name(name, gname, sizeof(gname));

	*n = 0;
	if (!ret)
		ret = map_ro(dirfd, gname, &size, sizeof(*h) + GRANTS_MAX * sizeof(uint32_t), &map);
	if (ret)
		return ret;
	h = map;
	cap = size < sizeof(*h) ? 0 : h->capacity;
	if (size < sizeof(*h) || h->magic != GRANTS_MAGIC || h->frontend != frontend ||
	    size != sizeof(*h) + (size_t)cap * sizeof(uint32_t))
		ret = -EBADMSG;
	for (uint32_t i = 0; !ret && i < cap && *n < max; i++) {
		uint32_t v = __atomic_load_n(&h->refs[i], __ATOMIC_RELAXED);

		if (v)
			refs[(*n)++] = v - 1;
	}
	munmap((void *)map, size);
	return ret;
}

void blkback_journal_close(struct blkback_journal *j)
{
	if (!j)
		return;
	munmap(j->h, j->size);
	free(j);
}

uint32_t blkback_journal_max_indirect(const struct blkback_journal *j)
{
	return j->max_indirect;
}

void blkback_journal_take(struct blkback_journal *j, uint32_t slot, uint32_t idx,
			  const struct blkif_request *req)
{
	struct journal_slot *s = &j->h->slots[slot];

	memcpy(&s->req, req, sizeof(s->req));
	store(&s->req_idx, idx);
	store(&s->answered, 0);
	store(&s->state, SLOT_TAKEN);
	/* Executing a journal's request again does not move req_cons back. */
	if (before(j->h->req_cons, idx + 1))
		store(&j->h->req_cons, idx + 1);
}

void blkback_journal_answer(struct blkback_journal *j, uint32_t slot, uint32_t rsp)
{
	struct journal_slot *s = &j->h->slots[slot];

	store(&s->answered_at, rsp);
	store(&s->answered, 1);
	store(&j->h->rsp_prod_pvt, rsp + 1);
	store(&s->state, SLOT_FREE);
}

void blkback_journal_indices(const struct blkback_journal *j, uint32_t *req_cons,
			     uint32_t *rsp_prod_pvt)
{
	*req_cons = j->h->req_cons;
	*rsp_prod_pvt = j->h->rsp_prod_pvt;
}

bool blkback_journal_next(const struct blkback_journal *j, uint32_t *slot, uint32_t *idx,
			  struct blkif_request *req)
{
	for (; *slot <= j->h->nr_ents; (*slot)++) {
		const struct journal_slot *s = &j->h->slots[*slot];

		if (slot_pending(j->h, s)) {
			memcpy(req, &s->req, sizeof(*req));
			*idx = s->req_idx;
			(*slot)++;
			return true;
		}
	}
	return false;
}
