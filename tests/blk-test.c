/* SPDX-License-Identifier: MIT */
/*
 * blk-test.c - the raw blkif front and the blkback serving loop the blk-* tests share.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/blk-test.h"

int t_blk_front_open(struct t_blk_front *f, domid_t back, int tx)
{
	uint8_t msg[sizeof(f->hi)];

	memset(f, 0, sizeof(*f));
	f->back = back;
	T_CHECK(hv_open(&f->hv, NULL) == 0, "guest: hv_open");
	T_CHECK(hv_domid(f->hv, &f->hi.guest) == 0, "domid");
	T_CHECK(hv_grant_share(f->hv, back, 1, true, &f->sring, &f->hi.ring) == 0, "ring");
	T_CHECK(ring_blkif_front_init(&f->rf, f->sring, 0) == 0, "ring init");
	T_CHECK(hv_evtchn_alloc_unbound(f->hv, back, &f->port) == 0, "alloc unbound");
	f->hi.port = f->port;
	memcpy(msg, &f->hi, sizeof(msg));
	T_CHECK(t_put(tx, msg, sizeof(msg)) == 0, "send hello");
	return 0;
}

struct blkif_request *t_blk_front_slot(struct t_blk_front *f)
{
	return ring_front_req_slot(&f->rf);
}

int t_blk_front_run(struct t_blk_front *f, struct blkif_response *rsp, unsigned int n)
{
	unsigned int got = 0;

	if (ring_front_push(&f->rf) > 0)
		T_CHECK(hv_evtchn_notify(f->hv, f->port) == 0, "notify");
	while (got < n) {
		int k = ring_front_consume(&f->rf, rsp + got, n - got);

		T_CHECK(k >= 0, "front consume");
		got += (unsigned int)k;
		if (k == 0 && ring_front_final_check(&f->rf) == 0)
			T_CHECK(t_event_wait(f->hv, f->port, 10000), "no response (%u of %u)", got,
				n);
	}
	return 0;
}

int16_t t_blk_status(const struct blkif_response *rsp, unsigned int n, uint64_t id)
{
	for (unsigned int i = 0; i < n; i++)
		if (rsp[i].id == id)
			return rsp[i].status;
	return INT16_MIN;
}

int t_blk_front_close(struct t_blk_front *f)
{
	T_CHECK(hv_grant_end(f->hv, f->sring, 1) == 0, "ring still mapped by the back-end");
	hv_close(f->hv);
	return 0;
}

void t_blk_req(struct blkif_request *req, uint8_t op, uint64_t id, uint64_t sector,
	       unsigned int nseg, const grant_ref_t *refs, const uint8_t (*seg)[3])
{
	req->operation = op;
	req->nr_segments = (uint8_t)nseg;
	req->id = id;
	req->sector_number = sector;
	for (unsigned int i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		req->seg[i].gref = refs[seg[i][0]];
		req->seg[i].first_sect = seg[i][1];
		req->seg[i].last_sect = seg[i][2];
	}
}

int t_blk_back_attach(struct hv *hv, int rx, struct blkback_ring_params *p, struct blkback_ring **r)
{
	static struct t_blk_hello hi; /* p->refs points here */

	T_CHECK(t_get(rx, &hi, sizeof(hi)) == 0, "back: hello");
	p->frontend = hi.guest;
	p->refs = &hi.ring;
	p->order = 0;
	T_CHECK(hv_evtchn_bind(hv, hi.guest, hi.port, &p->port) == 0, "bind");
	T_CHECK(blkback_ring_attach(r, hv, p) == 0, "attach");
	return 0;
}

/* Nothing woke us for T_BLK_STALL_MS: a failure if the ring holds work it will never finish. */
static int serve_idle(const struct blkback_ring *r)
{
	struct blkback_stats st;
	bool waiting = blkback_ring_has_requests(r);

	blkback_ring_stats(r, &st);
	if (st.in_flight == 0 && !waiting)
		return 0;
	fprintf(stderr,
		"FAIL: blkback ring stalled: %u request(s) unanswered, %s on the ring, and no "
		"wake-up for %d ms\n",
		st.in_flight, waiting ? "requests waiting" : "none waiting", T_BLK_STALL_MS);
	return -ETIMEDOUT;
}

/* Wait for the port, the io fd or ctl: 1 to process, 0 for 'q', or a negative errno. */
static int serve_wait(struct hv *hv, const struct blkback_ring *r, int ctl, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = hv_evtchn_fd(hv), .events = POLLIN },
			{ .fd = blkback_ring_io_fd(r), .events = POLLIN },
			{ .fd = ctl, .events = POLLIN },
		};
		evtchn_port_t port;
		bool woken = false;
		int n = poll(pfd, 3, T_BLK_STALL_MS);
		char c;

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0 && serve_idle(r) < 0)
			return -ETIMEDOUT;
		if (t_now_ms() >= deadline)
			return -ETIMEDOUT;
		if ((pfd[2].revents & POLLIN) && read(ctl, &c, 1) == 1 && c == 'q')
			return 0;
		while (hv_evtchn_pending(hv, &port) == 0) {
			hv_evtchn_unmask(hv, port);
			woken = true;
		}
		if (woken || (pfd[1].revents & POLLIN))
			return 1;
	}
}

int t_blk_serve(struct hv *hv, struct blkback_ring *r, int ctl)
{
	uint64_t deadline = t_now_ms() + 60000;

	for (;;) {
		int rc = blkback_ring_process(r);

		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		rc = serve_wait(hv, r, ctl, deadline);
		if (rc <= 0)
			return rc;
	}
}

void t_blk_back_close(struct hv *hv, struct blkback_ring *r, evtchn_port_t port)
{
	blkback_ring_detach(r);
	hv_evtchn_unbind(hv, port);
	hv_close(hv);
}

int t_blk_back_disk(struct hv *hv, int rx, struct blkback_ring_params *p, struct blkback_stats *st)
{
	struct blkback_ring *r;

	T_CHECK(t_blk_back_attach(hv, rx, p, &r) == 0, "attach");
	T_CHECK(t_blk_serve(hv, r, rx) == 0, "serve");
	if (st)
		blkback_ring_stats(r, st);
	t_blk_back_close(hv, r, p->port);
	return 0;
}

int t_blk_guest_done(struct t_blk_front *f, const struct t_link *link, void *data,
		     unsigned int pages)
{
	char c;

	T_CHECK(t_put(link->ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(link->ba[0], &c, 1) == 0, "back-end done");
	T_CHECK(hv_grant_end(f->hv, data, pages) == 0, "data still mapped");
	return t_blk_front_close(f);
}

int t_blk_back_file(int rx, int tx, uint64_t bytes, struct blkback_ring_params *p)
{
	struct blkback_disk disk;
	struct blkback_stats st;
	struct hv *hv;
	char path[32];

	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_blk_disk_make(path, bytes) == 0, "disk file");
	T_CHECK(t_blk_disk_open(&disk, path, false) == 0, "disk");
	unlink(path);
	p->disk = &disk;
	T_CHECK(t_blk_back_disk(hv, rx, p, &st) == 0, "serve");
	blkback_disk_close(&disk);
	T_CHECK(t_put(tx, &st, sizeof(st)) == 0, "send stats");
	return 0;
}

int t_blk_pair(struct t_link *link, domid_t *back_id, int (*back)(void *), int (*guest)(void *))
{
	pid_t pb, pg;
	int rc;

	T_CHECK(t_link_init(link) == 0, "pipes");
	T_CHECK(t_domain_fork("blkback", back, NULL, back_id, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	rc = t_wait(pg);
	T_CHECK(rc == 0 || rc == T_SKIP, "guest failed");
	T_CHECK(t_wait(pb) == 0, "back-end failed");
	for (int i = 0; i < 2; i++) {
		close(link->ab[i]);
		close(link->ba[i]);
	}
	return rc;
}

int t_blk_disk_make(char *path, uint64_t bytes)
{
	uint8_t sector[512];
	int fd;

	snprintf(path, 32, "/tmp/pvio-blk-XXXXXX");
	fd = mkstemp(path);
	T_CHECK(fd >= 0, "mkstemp");
	for (uint64_t s = 0; s < bytes / 512; s++) {
		for (unsigned int o = 0; o < 512; o++)
			sector[o] = t_blk_pattern(s, o);
		T_CHECK(pwrite(fd, sector, 512, (off_t)(s * 512)) == 512, "pwrite");
	}
	T_CHECK(fsync(fd) == 0, "fsync");
	close(fd);
	return 0;
}

enum t_blk_image t_blk_image = T_BLK_DIRECT;

int t_blk_disk_open(struct blkback_disk *d, const char *path, bool readonly)
{
	int flags;

	T_CHECK(blkback_disk_open(d, path, readonly) == 0, "blkback_disk_open %s", path);
	if (t_blk_image != T_BLK_BUFFERED || !d->direct)
		return 0;
	flags = fcntl(d->fd, F_GETFL);
	T_CHECK(flags >= 0 && fcntl(d->fd, F_SETFL, flags & ~O_DIRECT) == 0, "drop O_DIRECT");
	d->direct = false;
	return 0;
}

/* Whether blkback opens an image in /tmp (where t_blk_disk_make puts them) O_DIRECT. */
static bool direct_available(void)
{
	struct blkback_disk d;
	char path[32];
	bool direct;

	if (t_blk_disk_make(path, 4096) != 0)
		return false;
	direct = blkback_disk_open(&d, path, true) == 0 && d.direct;
	blkback_disk_close(&d);
	unlink(path);
	return direct;
}

int t_blk_each_image(int (*phases)(void))
{
	bool skipped;
	int rc;

	t_blk_image = T_BLK_BUFFERED;
	fprintf(stderr, "-- a buffered image\n");
	rc = phases();
	T_CHECK(rc == T_PASS || rc == T_SKIP, "on a buffered image");
	skipped = rc == T_SKIP;
	if (!direct_available()) {
		fprintf(stderr, "SKIP: /tmp takes no O_DIRECT: the O_DIRECT image is not tested\n");
		return T_SKIP;
	}
	t_blk_image = T_BLK_DIRECT;
	fprintf(stderr, "-- an O_DIRECT image\n");
	rc = phases();
	T_CHECK(rc == T_PASS || rc == T_SKIP, "on an O_DIRECT image");
	return skipped || rc == T_SKIP ? T_SKIP : T_PASS;
}

int16_t t_blk_one(struct t_blk_front *f, const grant_ref_t *refs, uint8_t op, uint64_t sector,
		  uint8_t page, uint8_t first, uint8_t last)
{
	const uint8_t seg[1][3] = { { page, first, last } };
	struct blkif_response rsp;

	t_blk_req(t_blk_front_slot(f), op, 1, sector, 1, refs, seg);
	if (t_blk_front_run(f, &rsp, 1))
		return INT16_MIN;
	return rsp.status;
}

int16_t t_blk_discard(struct t_blk_front *f, uint64_t sector, uint64_t n, uint8_t flag)
{
	struct blkif_request_discard *d = (void *)t_blk_front_slot(f);
	struct blkif_response rsp;

	d->operation = BLKIF_OP_DISCARD;
	d->flag = flag;
	d->id = 2;
	d->sector_number = sector;
	d->nr_sectors = n;
	if (t_blk_front_run(f, &rsp, 1))
		return INT16_MIN;
	return rsp.status;
}
