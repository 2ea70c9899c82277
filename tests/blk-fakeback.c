/* SPDX-License-Identifier: MIT */
/*
 * blk-fakeback.c - a scripted blkif back-end and the two-domain set-up of the blkfront tests
 * (see blk-fakeback.h).  Simple on purpose: each segment is mapped, copied and unmapped per
 * request; the tests' front-end is what is under test.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv.h"
#include <xen/io/blkif.h>

#include "ring/ring.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define FB_MAXQ	 16
#define FB_BATCH 32

struct fb_env fb_env;

static int go_pipe[2][2];  /* parent -> back [0], parent -> front [1] */
static int detach_pipe[2]; /* front -> parent: detach now */
static struct xenbus_device_spec spec = { .kind = "vbd", .devid = FB_DEVID };

/* One served ring. */
struct fbq {
	void *sring;	     /* mapped ring pages */
	unsigned int pages;  /* how many */
	struct ring_back rb; /* our view */
	evtchn_port_t port;  /* bound port */
};

/* One connection. */
struct fb {
	const struct fb_opts *o; /* behaviour */
	struct hv *hv;		 /* our session */
	struct xenbus_dev dev;	 /* back-end side of the device */
	struct fbq q[FB_MAXQ];	 /* rings */
	unsigned int nq;	 /* how many */
	unsigned int served;	 /* requests answered */
	bool misbehaved;	 /* done its one wrong thing */
	bool stalled;		 /* stopped answering */
	enum fb_misbehave kind;	 /* the misbehaviour of this connection */
	unsigned int round;	 /* connections so far */
};

static void fb_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int write_features(struct fb *f)
{
	const struct fb_opts *o = f->o;
	struct xenbus_dev *d = &f->dev;
	int ret = 0;

	/* Written even when 0: a previous back-end process may have left other values. */
	ret |= xenbus_printf(d, XBT_NULL, "multi-queue-max-queues", "%u", o->max_queues);
	ret |= xenbus_printf(d, XBT_NULL, "max-ring-page-order", "%u", o->max_order);
	ret |= xenbus_printf(d, XBT_NULL, "feature-max-indirect-segments", "%u", o->max_indirect);
	if (!o->persistent_late)
		ret |=
		    xenbus_printf(d, XBT_NULL, "feature-persistent", "%u", o->persistent ? 1u : 0u);
	return ret ? -EIO : 0;
}

static int write_props(struct fb *f)
{
	const struct fb_opts *o = f->o;
	struct xenbus_dev *d = &f->dev;
	int ret = 0;

	ret |= xenbus_printf(d, XBT_NULL, "sectors", "%zu", fb_env.disk_bytes / 512);
	ret |= xenbus_printf(d, XBT_NULL, "info", "%u", o->readonly ? VDISK_READONLY : 0u);
	ret |= xenbus_printf(d, XBT_NULL, "sector-size", "%u", 512u);
	ret |= xenbus_printf(d, XBT_NULL, "physical-sector-size", "%u", 4096u);
	ret |= xenbus_printf(d, XBT_NULL, "feature-flush-cache", "%u", o->flush ? 1u : 0u);
	ret |= xenbus_printf(d, XBT_NULL, "feature-barrier", "%u", o->barrier ? 1u : 0u);
	ret |= xenbus_printf(d, XBT_NULL, "feature-discard", "%u", o->discard ? 1u : 0u);
	ret |= xenbus_printf(d, XBT_NULL, "discard-granularity", "%u", 4096u);
	ret |= xenbus_printf(d, XBT_NULL, "discard-alignment", "%u", 0u);
	ret |= xenbus_printf(d, XBT_NULL, "discard-secure", "%u", o->discard ? 1u : 0u);
	if (o->persistent_late)
		ret |=
		    xenbus_printf(d, XBT_NULL, "feature-persistent", "%u", o->persistent ? 1u : 0u);
	return ret ? -EIO : 0;
}

/* Map ring q from <front>/<dir>ring-ref[N] and bind <dir>event-channel. */
static int map_queue(struct fb *f, struct fbq *q, const char *dir, unsigned int order)
{
	grant_ref_t refs[1u << RING_ORDER_MAX];
	uint32_t v;
	char key[64];
	unsigned int i;
	int ret;

	q->pages = 1u << order;
	for (i = 0; i < q->pages; i++) {
		if (order)
			snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
		else
			snprintf(key, sizeof(key), "%sring-ref", dir);
		ret = xenbus_otherend_read_u32(&f->dev, XBT_NULL, key, &v);
		if (ret)
			return ret;
		refs[i] = v;
	}
	ret = hv_grant_map(f->hv, f->dev.otherend_id, q->pages, refs, true, &q->sring);
	if (ret)
		return ret;
	ret = ring_blkif_back_attach(&q->rb, q->sring, order);
	if (ret)
		return ret;
	snprintf(key, sizeof(key), "%sevent-channel", dir);
	ret = xenbus_otherend_read_u32(&f->dev, XBT_NULL, key, &v);
	if (ret == 0)
		ret = hv_evtchn_bind(f->hv, f->dev.otherend_id, v, &q->port);
	return ret;
}

static void unmap_all(struct fb *f)
{
	unsigned int i;

	for (i = 0; i < f->nq; i++) {
		if (f->q[i].port)
			hv_evtchn_unbind(f->hv, f->q[i].port);
		if (f->q[i].sring)
			hv_grant_unmap(f->hv, f->q[i].sring, f->q[i].pages);
	}
	memset(f->q, 0, sizeof(f->q));
	f->nq = 0;
}

static int connect_rings(struct fb *f)
{
	uint32_t nq = 1, order = 0;
	char dir[32];
	unsigned int i;
	int ret;

	if (xenbus_otherend_read_u32(&f->dev, XBT_NULL, "multi-queue-num-queues", &nq) == 0 &&
	    (nq == 0 || nq > (f->o->max_queues ? f->o->max_queues : 1) || nq > FB_MAXQ))
		return -EINVAL;
	if (xenbus_otherend_read_u32(&f->dev, XBT_NULL, "ring-page-order", &order) == 0 &&
	    order > f->o->max_order)
		return -EINVAL;
	for (i = 0; i < nq; i++) {
		if (nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", i);
		else
			dir[0] = 0;
		f->nq = i + 1;
		ret = map_queue(f, &f->q[i], dir, order);
		if (ret)
			return ret;
	}
	return 0;
}

/* Copy between the disk and count segments of a request: a BLKIF_RSP_*. */
static int do_segs(struct fb *f, bool write, uint64_t sector, const struct blkif_request_segment *s,
		   unsigned int count)
{
	uint64_t pos = sector * 512;
	unsigned int i;

	for (i = 0; i < count; i++) {
		size_t off = s[i].first_sect * 512u, len;
		void *page;

		if (s[i].first_sect > s[i].last_sect || s[i].last_sect > 7)
			return BLKIF_RSP_ERROR;
		len = (s[i].last_sect - s[i].first_sect + 1u) * 512u;
		if (pos > fb_env.disk_bytes || len > fb_env.disk_bytes - pos)
			return BLKIF_RSP_ERROR;
		if (hv_grant_map(f->hv, f->dev.otherend_id, 1, &s[i].gref, !write, &page))
			return BLKIF_RSP_ERROR;
		if (write)
			memcpy(fb_env.disk + pos, (uint8_t *)page + off, len);
		else
			memcpy((uint8_t *)page + off, fb_env.disk + pos, len);
		hv_grant_unmap(f->hv, page, 1);
		pos += len;
	}
	return BLKIF_RSP_OKAY;
}

static int do_indirect(struct fb *f, const struct blkif_request_indirect *r)
{
	static struct blkif_request_segment segs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * 512];
	unsigned int n = r->nr_segments, pages = (n + 511) / 512, i;
	void *ind;

	if (n == 0 || n > f->o->max_indirect || pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST ||
	    (r->indirect_op != BLKIF_OP_READ && r->indirect_op != BLKIF_OP_WRITE))
		return BLKIF_RSP_ERROR;
	for (i = 0; i < pages; i++) {
		unsigned int k = n - i * 512 < 512 ? n - i * 512 : 512;

		if (hv_grant_map(f->hv, f->dev.otherend_id, 1, &r->indirect_grefs[i], false, &ind))
			return BLKIF_RSP_ERROR;
		memcpy(&segs[i * 512], ind, k * sizeof(segs[0]));
		hv_grant_unmap(f->hv, ind, 1);
	}
	return do_segs(f, r->indirect_op == BLKIF_OP_WRITE, r->sector_number, segs, n);
}

static int do_discard(const struct blkif_request_discard *r)
{
	uint64_t pos = r->sector_number * 512, len = r->nr_sectors * 512;

	if (r->nr_sectors > fb_env.disk_bytes / 512 || pos > fb_env.disk_bytes ||
	    len > fb_env.disk_bytes - pos)
		return BLKIF_RSP_ERROR;
	memset(fb_env.disk + pos, 0, len);
	return BLKIF_RSP_OKAY;
}

/* One request (a private copy): its response status and operation. */
static int handle(struct fb *f, const struct blkif_request *r, uint8_t *op)
{
	*op = r->operation;
	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (r->nr_segments == 0 || r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		return do_segs(f, r->operation == BLKIF_OP_WRITE, r->sector_number, r->seg,
			       r->nr_segments);
	case BLKIF_OP_INDIRECT:
		*op = ((const struct blkif_request_indirect *)r)->indirect_op;
		return f->o->max_indirect ? do_indirect(f, (const void *)r) : BLKIF_RSP_ERROR;
	case BLKIF_OP_FLUSH_DISKCACHE:
		return f->o->flush ? BLKIF_RSP_OKAY : BLKIF_RSP_EOPNOTSUPP;
	case BLKIF_OP_WRITE_BARRIER:
		return f->o->barrier ? BLKIF_RSP_OKAY : BLKIF_RSP_EOPNOTSUPP;
	case BLKIF_OP_DISCARD:
		return f->o->discard ? do_discard((const void *)r) : BLKIF_RSP_EOPNOTSUPP;
	default:
		return BLKIF_RSP_ERROR;
	}
}

/* Write one raw response past what ring_back allows (for FB_DUP). */
static void raw_response(struct fbq *q, uint64_t id, uint8_t op)
{
	uint32_t prod = q->rb.sring->rsp_prod;
	struct blkif_response *rsp =
	    (void *)(q->rb.sring->entries +
		     (size_t)(prod & (q->rb.nr_ents - 1)) * q->rb.entry_size);

	rsp->id = id;
	rsp->operation = op;
	rsp->status = BLKIF_RSP_OKAY;
	__atomic_store_n(&q->rb.sring->rsp_prod, prod + 1, __ATOMIC_RELEASE);
}

static void respond(struct fb *f, struct fbq *q, uint64_t id, uint8_t op, int status)
{
	enum fb_misbehave m = f->misbehaved || f->served < f->o->after ? FB_NONE : f->kind;
	struct blkif_response *rsp = ring_back_rsp_slot(&q->rb);

	if (!rsp)
		return;
	rsp->id = m == FB_BAD_ID ? id + 100000 : id;
	rsp->operation = m == FB_BAD_OP ? (uint8_t)(op ^ 1) : op;
	rsp->status = (int16_t)status;
	f->served++;
	if (m == FB_NONE || m == FB_STALL || m == FB_CLOSE)
		return;
	f->misbehaved = true;
	if (m == FB_DUP) {
		ring_back_push(&q->rb);
		raw_response(q, id, op);
	} else if (m == FB_OVERRUN) {
		ring_back_push(&q->rb);
		__atomic_store_n(&q->rb.sring->rsp_prod, q->rb.sring->rsp_prod + 3 * q->rb.nr_ents,
				 __ATOMIC_RELEASE);
	}
}

/* Serve ring q until it is idle: -1 if it broke. */
static int serve_queue(struct fb *f, struct fbq *q)
{
	static struct blkif_request reqs[FB_BATCH];
	int n = 0, i, ret;

	do {
		while (!(f->stalled |= *fb_env.stall != 0) && !*fb_env.hold &&
		       (n = ring_back_consume(&q->rb, reqs, FB_BATCH)) > 0) {
			for (i = 0; i < n; i++) {
				uint8_t op;
				int st = handle(f, &reqs[i], &op);

				respond(f, q, reqs[i].id, op, st);
			}
			if (ring_back_push(&q->rb) != 0 || f->misbehaved)
				hv_evtchn_notify(f->hv, q->port);
			if (!f->misbehaved && f->served >= f->o->after &&
			    (f->kind == FB_STALL || f->kind == FB_CLOSE))
				f->stalled = true;
		}
		if (*fb_env.hold && q == &f->q[0])
			*fb_env.held =
			    (int)(__atomic_load_n(&q->rb.sring->req_prod, __ATOMIC_ACQUIRE) -
				  q->rb.req_cons);
		if (f->stalled || *fb_env.hold)
			return 0;
		if (n < 0)
			return -1;
		ret = ring_back_final_check(&q->rb);
	} while (ret > 0);
	return ret < 0 ? -1 : 0;
}

/* Wait for the front-end's state to be in mask; 1 if online went 0 first, -1 on timeout. */
static int await_front(struct fb *f, unsigned int mask, enum xenbus_state *st)
{
	int i;

	for (i = 0; i < 3000; i++) {
		uint32_t online = 1;

		if (xenbus_read_otherend_state(&f->dev, st) == 0 && (mask & XENBUS_STATE_BIT(*st)))
			return 0;
		if (xenbus_read_u32(&f->dev, XBT_NULL, "online", &online) != 0 || online == 0)
			return 1;
		fb_msleep(10);
	}
	return -1;
}

/* Serve a connected device until the front-end leaves: 1 for FB_CLOSE, 0 otherwise. */
static int serve(struct fb *f)
{
	unsigned int i, idle = 0;
	enum xenbus_state st;
	uint32_t online;
	int ret;

	for (;;) {
		evtchn_port_t port;

		if (hv_evtchn_wait(f->hv, &port, 10) == 0)
			hv_evtchn_unmask(f->hv, port);
		for (i = 0; i < f->nq; i++)
			if (serve_queue(f, &f->q[i]) < 0)
				return 0;
		if (f->stalled && f->kind == FB_CLOSE && ++idle > 30)
			return 1;
		if (*fb_env.quit || (f->o->survive_xs && f->nq &&
				     hv_evtchn_state(f->hv, f->q[0].port) != HV_EVTCHN_CONNECTED))
			return 0;
		if (xenbus_read_otherend_state(&f->dev, &st) == 0 && st != XenbusStateConnected &&
		    st != XenbusStateInitialised)
			return 0;
		ret = xenbus_read_u32(&f->dev, XBT_NULL, "online", &online);
		if ((ret != 0 && !f->o->survive_xs) || (ret == 0 && online == 0))
			return 0;
	}
}

static int fb_serve_loop(struct fb *f)
{
	enum xenbus_state st;
	int ret;

	for (;;) {
		if (write_features(f) || xenbus_switch_state(&f->dev, XenbusStateInitWait))
			return -1;
		ret = await_front(f,
				  XENBUS_STATE_BIT(XenbusStateInitialised) |
				      XENBUS_STATE_BIT(XenbusStateConnected),
				  &st);
		if (ret)
			return ret > 0 ? 0 : -1;
		ret = connect_rings(f);
		if (ret == 0)
			ret = write_props(f);
		if (ret == 0)
			ret = xenbus_switch_state(&f->dev, XenbusStateConnected);
		if (ret < 0) {
			unsigned int n, k;
			char **e = xs_directory(f->dev.xs, XBT_NULL, fb_env.front, &n);

			fprintf(stderr, "fakeback: connect: %s:", strerror(-ret));
			for (k = 0; e && k < n; k++)
				fprintf(stderr, " %s", e[k]);
			fprintf(stderr, "\n");
			free(e);
		}
		if (ret == 0)
			ret = serve(f);
		unmap_all(f);
		if (*fb_env.quit || (f->o->survive_xs && xenbus_read_otherend_state(&f->dev, &st)))
			return 0; /* told to go, or no xenstore to start over with */
		xenbus_switch_state(&f->dev, XenbusStateClosing);
		xenbus_switch_state(&f->dev, XenbusStateClosed);
		if (ret == 1)
			return 0;
		f->stalled = false;
		if (f->o->cycle) {
			/* The next misbehaviour of the list, once each, then none. */
			static const enum fb_misbehave list[] = { FB_BAD_ID, FB_DUP, FB_OVERRUN,
								  FB_BAD_OP, FB_NONE };

			f->round++;
			f->kind = list[f->round < 4 ? f->round : 4];
			f->misbehaved = false;
			f->served = 0;
		}
		/* Wait for the front-end to start over, or the toolstack to remove us. */
		ret = await_front(f, XENBUS_STATE_BIT(XenbusStateInitialising), &st);
		if (ret)
			return ret > 0 ? 0 : -1;
	}
}

int fb_serve(const struct fb_opts *o)
{
	struct fb f = { .o = o, .kind = o->cycle ? FB_BAD_ID : o->misbehave };
	struct xs_handle *xs = xs_open(0);
	int ret = -1;

	if (!xs || hv_open(&f.hv, NULL))
		return -1;
	if (xenbus_dev_init(&f.dev, xs, XENBUS_BACKEND, fb_env.back, fb_env.front, fb_env.fe) == 0)
		ret = fb_serve_loop(&f);
	xenbus_dev_close(&f.dev);
	hv_close(f.hv);
	xs_close(xs);
	return ret;
}

int fb_serve_instance(const struct fb_opts *o)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fb_serve(o) == 0 ? 0 : T_FAIL);
	return pid > 0 ? t_wait(pid) : -1;
}

/* fb_run's back-ends. */
static const struct fb_opts *run_opts;
static unsigned int run_n;

static int serve_body(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < run_n; i++)
		T_CHECK(fb_serve_instance(&run_opts[i]) == 0, "back-end %u", i);
	return 0;
}

int fb_run(const struct fb_opts *o, unsigned int n, int (*front)(void *))
{
	run_opts = o;
	run_n = n;
	if (fb_env_start(serve_body, front, NULL))
		return -1;
	return fb_env_wait();
}

/* What a domain body needs before it runs. */
struct fb_body {
	int (*fn)(void *); /* the body */
	int which;	   /* 0 back, 1 front */
};

static int trampoline(void *arg)
{
	struct fb_body *b = arg;
	char sock[256];
	domid_t ids[2];

	close(go_pipe[b->which][1]);
	close(go_pipe[!b->which][0]);
	close(go_pipe[!b->which][1]);
	close(detach_pipe[0]);
	if (read(go_pipe[b->which][0], ids, sizeof(ids)) != sizeof(ids))
		return T_FAIL;
	fb_env.be = ids[0];
	fb_env.fe = ids[1];
	spec.backend_id = fb_env.be;
	spec.frontend_id = fb_env.fe;
	if (xenbus_frontend_path(&spec, fb_env.front, sizeof(fb_env.front)) ||
	    xenbus_backend_path(&spec, fb_env.back, sizeof(fb_env.back)))
		return T_FAIL;
	t_xs_domain_socket(b->which ? fb_env.fe : fb_env.be, sock, sizeof(sock));
	setenv("XENSTORED_PATH", sock, 1);
	return b->fn(fb_env.arg);
}

int fb_env_start(int (*back)(void *), int (*front)(void *), void *arg)
{
	static struct fb_body bb, fbody;
	const char *extra[3] = { "--hv-socket", NULL, NULL };
	struct xs_handle *h;
	domid_t ids[2];

	fb_env.arg = arg;
	fb_env.disk_bytes = FB_DISK_BYTES;
	fb_env.disk = mmap(NULL, fb_env.disk_bytes + 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_CHECK(fb_env.disk != MAP_FAILED, "mmap disk");
	fb_env.stall = (volatile int *)(fb_env.disk + fb_env.disk_bytes);
	fb_env.hold = fb_env.stall + 1;
	fb_env.quit = fb_env.stall + 2;
	fb_env.held = fb_env.stall + 3;
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	extra[1] = t_hv_socket();
	T_CHECK(t_xs_start(extra) == 0, "pvio-xenstored did not start");
	T_CHECK(pipe(go_pipe[0]) == 0 && pipe(go_pipe[1]) == 0 && pipe(detach_pipe) == 0, "pipe");
	bb = (struct fb_body){ back, 0 };
	fbody = (struct fb_body){ front, 1 };
	T_CHECK(t_domain_fork("blkback", trampoline, &bb, &fb_env.be, &fb_env.be_pid) == 0,
		"fork back");
	T_CHECK(t_domain_fork("blkfront", trampoline, &fbody, &fb_env.fe, &fb_env.fe_pid) == 0,
		"fork front");
	close(go_pipe[0][0]);
	close(go_pipe[1][0]);
	close(detach_pipe[1]);
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, fb_env.be, 0, 0) && xs_introduce_domain(h, fb_env.fe, 0, 0),
		"INTRODUCE");
	spec.backend_id = fb_env.be;
	spec.frontend_id = fb_env.fe;
	T_CHECK(xenbus_device_add(h, &spec) == 0, "xenbus_device_add");
	xs_close(h);
	ids[0] = fb_env.be;
	ids[1] = fb_env.fe;
	T_CHECK(write(go_pipe[0][1], ids, sizeof(ids)) == sizeof(ids) &&
		    write(go_pipe[1][1], ids, sizeof(ids)) == sizeof(ids),
		"go");
	return 0;
}

void fb_env_device(const struct xenbus_device_spec *s)
{
	spec = *s;
}

int fb_await_front_state(struct xenbus_dev *d, unsigned int mask)
{
	enum xenbus_state st = XenbusStateUnknown;

	for (int t = 0; t < 1000; t++) {
		if (xenbus_read_otherend_state(d, &st) == 0 && (mask & XENBUS_STATE_BIT(st)))
			return 0;
		t_msleep(10);
	}
	T_CHECK(false, "front in state %s", xenbus_state_name(st));
}

int fb_env_run_vif(const char *mac, int (*back)(void *), int (*front)(void *))
{
	const struct xenbus_kv kv[] = { { "mac", mac } };
	struct xenbus_device_spec s = { .kind = "vif",
					.devid = 0,
					.front_extra = kv,
					.n_front_extra = 1,
					.back_extra = kv,
					.n_back_extra = 1 };

	t_time_limit(T_TIME_LIMIT_S);
	fb_env_device(&s);
	if (fb_env_start(back, front, NULL))
		return T_FAIL;
	return fb_env_wait() ? T_FAIL : T_PASS;
}

int fb_env_request_detach(void)
{
	char c = 'd';

	return write(detach_pipe[1], &c, 1) == 1 ? 0 : -1;
}

static int detach(void);

/* Ask the main process for c ('x': kill pvio-xenstored, 'h': pvio-hv); wait until pid is gone. */
static int kill_request(char c, pid_t pid)
{
	int i;

	if (write(detach_pipe[1], &c, 1) != 1)
		return -1;
	for (i = 0; i < 1000; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		fb_msleep(10);
	}
	return -1;
}

int fb_env_kill_xenstored(void)
{
	return kill_request('x', t_xs_pid());
}

int fb_env_kill_hv(void)
{
	return kill_request('h', t_hv_pid());
}

/* A domain's request: 'd' detach the device (true if done), 'x' or 'h' kill a daemon. */
static bool request(char c)
{
	if (c == 'x')
		t_xs_kill();
	else if (c == 'h')
		t_hv_kill();
	return c == 'd' && detach() == 0;
}

static int detach(void)
{
	struct xs_handle *h = t_xs_open();
	int ret;

	if (!h)
		return -1;
	ret = xenbus_device_detach(h, &spec);
	xs_close(h);
	return ret;
}

int fb_env_wait(void)
{
	bool detached = false;
	int fe_rc = -1, be_rc, status;

	for (;;) {
		pid_t r = waitpid(fb_env.fe_pid, &status, WNOHANG);

		if (r == fb_env.fe_pid) {
			fe_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		if (t_readable(detach_pipe[0], 20)) {
			char c;

			if (read(detach_pipe[0], &c, 1) == 1)
				detached |= request(c);
			else
				t_msleep(20); /* both domains closed the pipe */
		}
	}
	if (!detached)
		detach();
	be_rc = t_wait(fb_env.be_pid);
	T_CHECK(fe_rc == 0 && be_rc == 0, "front %d, back %d", fe_rc, be_rc);
	return 0;
}
