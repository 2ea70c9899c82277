/* SPDX-License-Identifier: MIT */
/*
 * req-fuzz.c - a libFuzzer target for pvio-blkback's request path (blkback.c, request.c, io.c
 * and the persistent-grant cache, through blkback_ring_process): a hostile front writes blkif
 * requests of every operation, indirect descriptor pages and lying ring indices, and changes
 * its grants, while the I/O completes in an order and with results the input chooses.  Built
 * and run by tests/blk-req-fuzz.sh, not by make.
 *
 * The seams are fakes of our own, so that every access can be checked:
 *   grants   hv_grant_map hands out a writable single page as the guest's page itself (as
 *            persistent grants see the front's later writes), anything else as a fresh heap
 *            copy of the granted pages (ASan guards the edges of both), copied back at unmap
 *            when writable and compared when read-only (a write through a read-only map aborts);
 * NPAGES guest pages, each not granted, read-only or writable, and references >= NPAGES never
 * granted.  The ring itself is aliased. libaio   io_setup/io_submit/io_getevents/io_destroy are
 * defined here (libaio is not linked): io_submit copies the iovec as the kernel does and queues the
 * iocb; the input completes queued iocbs in any order, in full, short or with -EIO, doing the
 *            preadv/pwritev on a memfd disk then, so the pages must still be mapped, and every
 *            buffer must lie inside a live map of the right access.  io_destroy runs what is
 *            left, as the kernel waits for it.
 *
 * Input: 8 header bytes (flags; disk size; persistent-cache size; indirect limit; 4 bytes of
 * grant modes, 2 bits a page), then commands (low 3 bits of a byte):
 *   0 a request: 112 bytes into the next ring slot (bit 3: references taken modulo NPAGES + 4)
 *   1 publish and process        2 complete one iocb (2 bytes: which, how), then process
 *   3 complete every iocb        4 write descriptors into a page (3 bytes + 8 per descriptor)
 *   5 a lying req_prod (4 bytes; bit 3 clear: the truth + a signed byte), then the end
 *   6 process without publishing  7 change a page's grant (1 byte: page, mode in the top bits)
 *
 * Cheap executions: the ring's tables come from tests/fuzz-pages.h's recycled pool (the link
 * wraps calloc and free), zeroed as a fresh attach has them, with a guard page after each, so
 * an execution costs ~0.1 ms of CPU instead of ~0.7 ms of page faults.  The harness's own
 * records (a map's references, a submitted iocb's iovec) are kept and reused, not allocated
 * each time, and its searches look at the newest maps first.
 *
 * Checked beyond the sanitizers: every response names a request published and not yet answered
 * (by a tag the harness puts in the id), echoes its operation (an indirect one's indirect_op)
 * with a status blkif.h defines; a request with a bad segment count or sector range, a write
 * on a read-only disk or a reference never granted is never answered OKAY; once the I/O is
 * done every request taken is answered; blkback_ring_process returns 0 only with a wake-up
 * armed for whatever is left (its contract); a ring only a lie broke is the only one called broken;
 * the disk never grows; at detach every map is gone and every table freed.
 */
#include "config.h"

#include <errno.h>
#include <libaio.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/blk/blkback-priv.h"
#include "tests/fuzz-pages.h"

#define NPAGES	    16u
#define RING_REF    1000u
#define RING_ORDERS 3u /* orders 0..2: up to 128 entries */
#define MAXMAPS	    1024u
#define MAXIO	    1024u
#define MAXREQ	    4096u
#define REQSIZE	    sizeof(struct blkif_request)
#define MAP_REFS_IN 16u /* references a map record holds without an allocation */

static uint8_t ring_mem[HV_PAGE_SIZE << (RING_ORDERS - 1)] __attribute__((aligned(HV_PAGE_SIZE)));
static uint8_t *pages[NPAGES];	   /* each its own allocation: ASan guards its edges */
static uint8_t grant_mode[NPAGES]; /* 0 not granted, 1 read-only, 2 writable */

/* ---- grants ---- */

struct map {
	uint8_t *addr;	    /* what hv_grant_map returned */
	unsigned int count; /* pages */
	bool writable;	    /* mapped writable */
	bool ring;	    /* the ring: aliased, not copied */
	bool alias;	    /* a writable single page: the guest's page itself */
	grant_ref_t *refs;  /* [count] the pages: refs_in, or allocated when longer */
	uint8_t *snapshot;  /* read-only maps: the contents at map time */
	grant_ref_t refs_in[MAP_REFS_IN];
};

static struct map maps[MAXMAPS];
static unsigned int nmaps;

FUZZ_NOCOV int hv_grant_map(struct hv *hv, domid_t granter, unsigned int count,
			    const grant_ref_t *refs, bool writable, void **addr)
{
	struct map *m;
	size_t bytes = (size_t)count * HV_PAGE_SIZE;

	(void)hv, (void)granter;
	if (count == 0)
		abort(); /* blkback never maps nothing */
	/* Out of map slots, as a driver domain runs out of Xen's maptrack entries or gntdev's
	 * limit: legal inputs reach it (128 requests of 256 indirect segments, each page mapped
	 * on its own past the persistent cache), and blkback must answer, not crash. */
	if (nmaps == MAXMAPS)
		return -ENOMEM;
	m = &maps[nmaps];
	memset(m, 0, sizeof(*m));
	if (refs[0] == RING_REF) {
		for (unsigned int i = 0; i < count; i++)
			if (refs[i] != RING_REF + i)
				return -EINVAL;
		m->addr = ring_mem, m->ring = true;
	} else {
		for (unsigned int i = 0; i < count; i++) {
			if (refs[i] >= NPAGES || !grant_mode[refs[i]])
				return -EPERM;
			if (writable && grant_mode[refs[i]] < 2)
				return -EACCES;
		}
		/* As the persistent cache maps: later writes of the front show through. */
		if (writable && count == 1) {
			m->addr = pages[refs[0]], m->alias = true;
			goto record;
		}
		m->addr = malloc(bytes);
		m->refs = count <= MAP_REFS_IN ? m->refs_in : malloc(count * sizeof(*refs));
		if (!m->addr || !m->refs)
			abort();
		memcpy(m->refs, refs, count * sizeof(*refs));
		for (unsigned int i = 0; i < count; i++)
			memcpy(m->addr + (size_t)i * HV_PAGE_SIZE, pages[refs[i]], HV_PAGE_SIZE);
		if (!writable) {
			if (!(m->snapshot = malloc(bytes)))
				abort();
			memcpy(m->snapshot, m->addr, bytes);
		}
	}
record:
	m->count = count;
	m->writable = writable;
	*addr = m->addr;
	nmaps++;
	return 0;
}

FUZZ_NOCOV int hv_grant_unmap(struct hv *hv, void *addr, unsigned int count)
{
	unsigned int i;

	(void)hv;
	/* The newest first: blkback unmaps a request's maps soon after making them. */
	for (i = nmaps; i > 0 && maps[i - 1].addr != addr; i--)
		;
	if (i-- == 0 || maps[i].count != count)
		abort(); /* not what a map returned */
	struct map *m = &maps[i];

	if (m->alias)
		goto forget;
	if (!m->ring && m->writable)
		for (unsigned int k = 0; k < count; k++)
			memcpy(pages[m->refs[k]], m->addr + (size_t)k * HV_PAGE_SIZE, HV_PAGE_SIZE);
	if (!m->ring && !m->writable && memcmp(m->snapshot, m->addr, (size_t)count * HV_PAGE_SIZE))
		abort(); /* written through a read-only map */
	if (!m->ring)
		free(m->addr);
	if (m->refs != m->refs_in)
		free(m->refs);
	free(m->snapshot);
forget:
	maps[i] = maps[--nmaps];
	if (m->refs == maps[nmaps].refs_in) /* moved: its references moved with it */
		m->refs = m->refs_in;
	return 0;
}

/* Whether [p, p + len) lies in map i, a writable one if write. */
FUZZ_NOCOV static bool in_map(unsigned int i, const uint8_t *b, size_t len, bool write)
{
	const struct map *m = &maps[i];

	return !m->ring && (!write || m->writable) && b >= m->addr &&
	       b + len <= m->addr + (size_t)m->count * HV_PAGE_SIZE;
}

/* Whether [p, p + len) lies in one live data map, a writable one if write. */
FUZZ_NOCOV static bool mapped(const void *p, size_t len, bool write)
{
	static unsigned int last; /* where the last answer was: an iovec's elements are close */

	if (last < nmaps && in_map(last, p, len, write))
		return true;
	for (unsigned int i = nmaps; i-- > 0;)
		if (in_map(i, p, len, write))
			return (last = i), true;
	return false;
}

int hv_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	(void)hv, (void)port;
	return 0;
}

/* ---- libaio ---- */

struct fake_io {
	struct iocb *iocb;    /* as submitted */
	int niov;	      /* elements of iov */
	unsigned int cls;     /* iov has room for 16 << cls elements */
	struct fake_io *next; /* on the free list of its class */
	struct iovec iov[];   /* its iovec, copied at submit as the kernel does */
};

/* Records given back, by class, kept between inputs: no allocation per submission. */
#define IO_CLASSES 10u
static struct fake_io *io_free[IO_CLASSES];

FUZZ_NOCOV static struct fake_io *io_get(int niov)
{
	unsigned int cls = 0;
	struct fake_io *f;

	while ((16 << cls) < niov)
		cls++;
	if (cls >= IO_CLASSES)
		abort();
	if ((f = io_free[cls]))
		io_free[cls] = f->next;
	else if (!(f = __real_calloc(1, sizeof(*f) + ((size_t)16 << cls) * sizeof(f->iov[0]))))
		abort();
	f->cls = cls;
	return f;
}

FUZZ_NOCOV static void io_put(struct fake_io *f)
{
	f->next = io_free[f->cls];
	io_free[f->cls] = f;
}

struct io_context {
	struct fake_io *q[MAXIO]; /* submitted, not completed */
	unsigned int nq;
	struct io_event ev[MAXIO]; /* completed, not reaped */
	unsigned int nev;
};

static int disk_fd = -1;
static bool aio_no_fsync; /* io_submit refuses IOCB_CMD_FDSYNC with -EINVAL, as before 4.18 */
static unsigned int submit_fail; /* io_submit refuses the next submission after this many */

/* One context at a time, kept between inputs: a fresh 40 KiB each time costs page faults. */
static struct io_context the_ctx;
static bool ctx_taken;

int io_setup(int maxevents, io_context_t *ctxp)
{
	if (maxevents <= 0 || maxevents > (int)MAXIO || ctx_taken)
		abort();
	ctx_taken = true;
	the_ctx.nq = the_ctx.nev = 0;
	*ctxp = &the_ctx;
	return 0;
}

FUZZ_NOCOV int io_submit(io_context_t ctx, long nr, struct iocb *ios[])
{
	long i;

	for (i = 0; i < nr; i++) {
		struct iocb *cb = ios[i];
		struct fake_io *f;

		if (cb->aio_fildes != disk_fd)
			abort();
		if (submit_fail && --submit_fail == 0)
			return i ? (int)i : -EAGAIN;
		if (cb->aio_lio_opcode == IO_CMD_FDSYNC && aio_no_fsync)
			return i ? (int)i : -EINVAL;
		bool rw =
		    cb->aio_lio_opcode == IO_CMD_PREADV || cb->aio_lio_opcode == IO_CMD_PWRITEV;
		int niov = rw ? cb->u.v.nr : 0;

		if ((!rw && cb->aio_lio_opcode != IO_CMD_FDSYNC) ||
		    (rw && (niov <= 0 || niov > (int)BLKBACK_INDIRECT_SEGMENTS_LIMIT)))
			abort();
		if (ctx->nq == MAXIO)
			abort();
		f = io_get(niov);
		f->iocb = cb;
		f->niov = niov;
		if (niov)
			memcpy(f->iov, cb->u.v.vec, (size_t)niov * sizeof(struct iovec));
		ctx->q[ctx->nq++] = f;
	}
	return (int)nr;
}

/* Run queued iocb k: in full (how 0), short (1..), or failing (255); queue its event. */
FUZZ_NOCOV static void io_complete(io_context_t ctx, unsigned int k, unsigned int how)
{
	struct fake_io *f = ctx->q[k];
	struct iocb *cb = f->iocb;
	bool read = cb->aio_lio_opcode == IO_CMD_PREADV;
	long res = 0;

	ctx->q[k] = ctx->q[--ctx->nq];
	if (how == 255) {
		res = -EIO;
	} else if (cb->aio_lio_opcode == IO_CMD_FDSYNC) {
		res = fdatasync(disk_fd) < 0 ? -errno : 0;
	} else {
		int n = f->niov;

		for (int i = 0; i < n; i++) /* a read writes guest pages: mapped writable */
			if (!mapped(f->iov[i].iov_base, f->iov[i].iov_len, read))
				abort();
		if (how && how < (unsigned int)n) /* short: the first how elements only */
			n = (int)how;
		res = read ? preadv(disk_fd, f->iov, n, cb->u.v.offset)
			   : pwritev(disk_fd, f->iov, n, cb->u.v.offset);
		if (res < 0)
			res = -errno;
	}
	if (ctx->nev == MAXIO)
		abort();
	ctx->ev[ctx->nev].data = cb->data;
	ctx->ev[ctx->nev].obj = cb;
	ctx->ev[ctx->nev].res = (unsigned long)res;
	ctx->ev[ctx->nev].res2 = 0;
	ctx->nev++;
	if (cb->u.c.flags & 1u) { /* IOCB_FLAG_RESFD */
		uint64_t one = 1;

		if (write((int)cb->u.c.resfd, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	io_put(f);
}

FUZZ_NOCOV int io_getevents(io_context_t ctx, long min_nr, long nr, struct io_event *events,
			    struct timespec *timeout)
{
	long n = 0;

	(void)min_nr, (void)timeout;
	while (n < nr && ctx->nev) {
		events[n++] = ctx->ev[0];
		memmove(&ctx->ev[0], &ctx->ev[1], --ctx->nev * sizeof(ctx->ev[0]));
	}
	return (int)n;
}

int io_destroy(io_context_t ctx)
{
	/* The kernel cannot cancel I/O into guest pages: it waits for it, so it runs now. */
	while (ctx->nq)
		io_complete(ctx, 0, 0);
	ctx_taken = false;
	return 0;
}

/* ---- the front ---- */

struct sent {
	uint8_t op; /* the operation a response must echo */
	bool open;  /* published and not yet answered */
	bool bad;   /* must not be answered OKAY */
};

static struct sent sent[MAXREQ];
static unsigned int nsent, nopen;
static struct ring_front rf;
static struct blkback_ring *ring;
static struct blkback_disk disk;
static io_context_t aio_ctx; /* the ring's context, for the completion commands */
static bool lied;

/* Whether segment descriptors s[0..n) are bad whatever the grants: sectors or references. */
static bool segs_bad(const struct blkif_request_segment *s, unsigned int n, uint64_t sector)
{
	unsigned int mask = disk.sector_size / 512u - 1u;
	uint64_t nsect = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (s[i].first_sect > s[i].last_sect || s[i].last_sect >= 8 || s[i].gref >= NPAGES)
			return true;
		if ((s[i].first_sect & mask) || ((s[i].last_sect - s[i].first_sect + 1u) & mask))
			return true;
		nsect += s[i].last_sect - s[i].first_sect + 1u;
	}
	return sector > disk.sectors || nsect > disk.sectors - sector || (sector & mask);
}

/* What a response to req must be: its echoed operation and whether OKAY is ruled out. */
static void expect(const struct blkif_request *req, struct sent *s)
{
	const struct blkif_request_indirect *ind = (const void *)req;
	const struct blkif_request_discard *d = (const void *)req;

	s->op = req->operation;
	s->bad = false;
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		s->bad = req->nr_segments == 0 || req->nr_segments > 11 ||
			 segs_bad(req->seg, req->nr_segments, req->sector_number) ||
			 (req->operation == BLKIF_OP_WRITE && disk.readonly);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
	case BLKIF_OP_WRITE_BARRIER:
		s->bad =
		    req->nr_segments > 11 ||
		    (req->nr_segments &&
		     (segs_bad(req->seg, req->nr_segments, req->sector_number) || disk.readonly));
		break;
	case BLKIF_OP_DISCARD:
		s->bad = d->nr_sectors > disk.sectors ||
			 d->sector_number > disk.sectors - d->nr_sectors || (disk.readonly) ||
			 (!disk.discard);
		break;
	case BLKIF_OP_INDIRECT:
		if (!ring->max_indirect) {
			s->bad = true;
			break;
		}
		s->op = ind->indirect_op;
		s->bad =
		    (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE) ||
		    ind->nr_segments == 0 || ind->nr_segments > ring->max_indirect ||
		    (ind->indirect_op == BLKIF_OP_WRITE && disk.readonly);
		for (unsigned int i = 0; !s->bad && i < (ind->nr_segments + 511u) / 512u; i++)
			s->bad = ind->indirect_grefs[i] >= NPAGES;
		break;
	default:
		s->bad = true;
	}
}

/* Put a request from the input into the next slot, tagged with its number in the low id bits. */
static void request(const uint8_t *in, bool mask)
{
	struct blkif_request *req = ring_front_req_slot(&rf);
	struct blkif_request_indirect *ind = (void *)req;

	if (!req || nsent == MAXREQ)
		return;
	memcpy(req, in, REQSIZE);
	req->id = (req->id & ~0xffffffffull) | nsent;
	if (mask && req->operation == BLKIF_OP_INDIRECT)
		for (unsigned int i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
			ind->indirect_grefs[i] %= NPAGES + 4;
	else if (mask && req->operation != BLKIF_OP_DISCARD) /* seg[] would be its range */
		for (unsigned int i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
			req->seg[i].gref %= NPAGES + 4;
	expect(req, &sent[nsent]);
	sent[nsent].open = true;
	nsent++;
	nopen++;
}

/* Take and check every response published. */
static void responses(void)
{
	struct blkif_response rsp[32];
	int n;

	while ((n = ring_front_consume(&rf, rsp, 32)) > 0) {
		for (int i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)rsp[i].id;

			if (lied) /* stale slots are answered too: only the count holds */
				continue;
			if (tag >= nsent || !sent[tag].open || rsp[i].operation != sent[tag].op)
				abort();
			if (rsp[i].status != BLKIF_RSP_OKAY && rsp[i].status != BLKIF_RSP_ERROR &&
			    rsp[i].status != BLKIF_RSP_EOPNOTSUPP)
				abort();
			if (sent[tag].bad && rsp[i].status == BLKIF_RSP_OKAY)
				abort();
			sent[tag].open = false;
			nopen--;
		}
	}
	if (n < 0 && !lied)
		abort(); /* more responses than requests */
}

/* Run the ring until it waits for an event: 0, or -EPROTO once it is broken. */
/*
 * blkback_ring_process's contract on returning 0: what is left has a wake-up armed.  Requests
 * still on the ring wait only behind a barrier whose drain is in flight, else req_event asks
 * for the next one; completions not yet reaped leave the io fd readable.
 */
static void check_armed(void)
{
	struct pollfd pfd = { .fd = blkback_ring_io_fd(ring), .events = POLLIN };
	const struct ring_shared *s = ring->rb.sring;

	if (blkback_ring_has_requests(ring) && !(ring->barrier && ring->aio_inflight))
		abort(); /* requests left with nothing to wake the loop for them */
	if (!ring->barrier && s->req_event != ring->rb.req_cons + 1)
		abort(); /* the next request would not fire the port */
	if (aio_ctx->nev && poll(&pfd, 1, 0) != 1)
		abort(); /* completions that would never be reaped */
}

static int serve(void)
{
	int rc = 1;

	for (unsigned int i = 0; i < 64 && rc == 1; i++)
		rc = blkback_ring_process(ring);
	if (rc < 0 && (rc != -EPROTO || !lied))
		abort();
	if (rc == 0 && !lied)
		check_armed();
	responses();
	return rc < 0 ? rc : 0;
}

/* Publish and complete everything: then every request is answered, unless a lie broke the ring. */
static void drain(void)
{
	if (!lied && ring_front_push(&rf) < 0)
		abort();
	for (unsigned int i = 0; i < 1024; i++) {
		while (aio_ctx->nq)
			io_complete(aio_ctx, 0, 0);
		if (serve() < 0)
			return;
		if (!aio_ctx->nq && !aio_ctx->nev && !blkback_ring_has_requests(ring))
			break;
	}
	if (!lied && (aio_ctx->nq || nopen))
		abort(); /* a request taken but never answered */
}

/* Descriptors into a guest page: page, first index / 2, count, then 8 bytes each. */
static size_t descriptors(const uint8_t *in, size_t left, bool mask)
{
	unsigned int p, first, n;

	if (left < 3)
		return left;
	p = in[0] % NPAGES, first = in[1] * 2u, n = in[2];
	in += 3, left -= 3;
	if (n > left / 8)
		n = (unsigned int)(left / 8);
	if (first + n > BLKBACK_SEGS_PER_INDIRECT_PAGE)
		n = (unsigned int)BLKBACK_SEGS_PER_INDIRECT_PAGE - first;
	for (unsigned int i = 0; i < n; i++) {
		struct blkif_request_segment s;

		memcpy(&s, in + 8 * i, 8);
		if (mask)
			s.gref %= NPAGES + 4;
		memcpy(pages[p] + (first + i) * 8u, &s, 8);
	}
	return 3 + (size_t)n * 8;
}

/* The commands; stops when the ring is broken. */
static void run(const uint8_t *d, size_t n)
{
	uint32_t prod;

	while (n > 0) {
		uint8_t c = *d++;
		size_t used = 0;

		n--;
		switch (c & 7) {
		case 0:
			if (n < REQSIZE)
				return;
			request(d, c & 8);
			used = REQSIZE;
			break;
		case 1:
			if (ring_front_push(&rf) < 0)
				abort();
			__attribute__((fallthrough));
		case 6:
			if (serve() < 0)
				return;
			break;
		case 2:
			if (n < 2)
				return;
			if (aio_ctx->nq)
				io_complete(aio_ctx, d[0] % aio_ctx->nq, d[1]);
			used = 2;
			if (serve() < 0)
				return;
			break;
		case 3:
			while (aio_ctx->nq)
				io_complete(aio_ctx, 0, 0);
			break;
		case 4:
			used = descriptors(d, n, c & 8);
			break;
		case 5:
			if (n < 4)
				return;
			memcpy(&prod, d, 4);
			/* Mostly near the truth, where the bounds are. */
			if (!(c & 8))
				prod = rf.req_prod_pub + (int8_t)d[0];
			__atomic_store_n(&rf.sring->req_prod, prod, __ATOMIC_RELEASE);
			lied = true;
			serve(); /* the front's view of its ring is a lie from here: stop */
			return;
		case 7:
			if (n < 1)
				return;
			grant_mode[d[0] % NPAGES] = (uint8_t)(d[0] >> 6 > 2 ? 2 : d[0] >> 6);
			used = 1;
			break;
		}
		d += used, n -= used;
	}
}

/* Warnings are the guest's doing; an error is ours (a grant release failed): stop. */
static void fuzz_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		      const char *fmt, va_list ap)
{
	(void)log, (void)prefix, (void)fmt, (void)ap;
	if (level == PVIO_LOG_ERROR)
		abort();
}

static struct pvio_log fuzz_log = { fuzz_vlog, PVIO_LOG_WARN };

static const unsigned int indirect_limits[4] = { BLKBACK_MAX_INDIRECT_SEGMENTS, 11, 512,
						 BLKBACK_INDIRECT_SEGMENTS_LIMIT };

/* The disk from header bytes: size, sector size, read-only, discard. */
static void disk_setup(const uint8_t *h)
{
	memset(&disk, 0, sizeof(disk));
	disk.fd = disk_fd;
	disk.readonly = h[0] & 4;
	disk.sector_size = h[0] & 8 ? 4096 : 512;
	disk.physical_sector_size = disk.sector_size;
	disk.sectors = 8u * (h[1] + 1u);
	disk.discard = h[0] & 0x40;
	disk.discard_granularity = disk.sector_size;
	if (ftruncate(disk_fd, 0) < 0 || ftruncate(disk_fd, (off_t)disk.sectors * 512) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grant_ref_t refs[1u << (RING_ORDERS - 1)];
	struct blkback_ring_params p = { .frontend = 1,
					 .refs = refs,
					 .port = 1,
					 .name = "fuzz",
					 .log = &fuzz_log,
					 .poll_mode = RING_POLL_OFF };
	struct stat st;

	if (size < 8)
		return 0;
	if (disk_fd < 0 && (disk_fd = memfd_create("blk-req-fuzz", MFD_CLOEXEC)) < 0)
		abort();
	for (unsigned int i = 0; i < NPAGES; i++)
		if (!pages[i] && !(pages[i] = __real_calloc(1, HV_PAGE_SIZE))) /* kept */
			abort();
	disk_setup(data);
	p.disk = &disk;
	p.persistent = data[0] & 1;
	p.max_persistent = data[2] % 32 + 1;
	p.max_indirect_segments = data[0] & 2 ? indirect_limits[data[3] & 3] : 0;
	p.order = (data[0] >> 4 & 3) % RING_ORDERS;
	/* Tables of nr_ents * max_segs entries: keep the big ones on a one-page ring (speed). */
	if (p.max_indirect_segments > BLKBACK_MAX_INDIRECT_SEGMENTS)
		p.order = 0;
	aio_no_fsync = data[0] & 0x80;
	submit_fail = data[3] >> 2; /* 0: never */
	for (unsigned int i = 0; i < NPAGES; i++)
		grant_mode[i] = (uint8_t)((data[4 + i / 4] >> (2 * (i % 4)) & 3) > 2
					      ? 2
					      : data[4 + i / 4] >> (2 * (i % 4)) & 3);
	for (unsigned int i = 0; i < 1u << p.order; i++)
		refs[i] = RING_REF + i;
	nsent = nopen = 0;
	lied = false;
	if (ring_blkif_front_init(&rf, ring_mem, p.order) ||
	    blkback_ring_attach(&ring, (struct hv *)&disk, &p))
		abort();
	aio_ctx = ring->aio;
	run(data + 8, size - 8);
	drain();
	blkback_ring_detach(ring);
	if (nmaps)
		abort(); /* a grant left mapped */
	if (fuzz_pages_out())
		abort(); /* a table never freed */
	if (fstat(disk_fd, &st) < 0 || (uint64_t)st.st_size != disk.sectors * 512)
		abort(); /* the disk grew */
	return 0;
}
