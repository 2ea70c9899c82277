/* SPDX-License-Identifier: MIT */
/*
 * blk-test.c - the raw blkif front and the blkback serving loop the blk-* tests share.
 */
#include "config.h"

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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int t_blk_serve(struct hv *hv, struct blkback_ring *r, int ctl)
{
	long deadline = now_ms() + 60000;

	while (now_ms() < deadline) {
		struct pollfd pfd[3] = {
			{ .fd = hv_evtchn_fd(hv), .events = POLLIN },
			{ .fd = blkback_ring_io_fd(r), .events = POLLIN },
			{ .fd = ctl, .events = POLLIN },
		};
		evtchn_port_t port;
		int rc = blkback_ring_process(r);
		char c;

		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (poll(pfd, 3, 1000) < 0)
			return -errno;
		if ((pfd[2].revents & POLLIN) && read(ctl, &c, 1) == 1 && c == 'q')
			return 0;
		while (hv_evtchn_pending(hv, &port) == 0)
			hv_evtchn_unmask(hv, port);
	}
	return -ETIMEDOUT;
}

void t_blk_back_close(struct hv *hv, struct blkback_ring *r, evtchn_port_t port)
{
	blkback_ring_detach(r);
	hv_evtchn_unbind(hv, port);
	hv_close(hv);
}

int t_blk_back_file(int rx, int tx, uint64_t bytes, struct blkback_ring_params *p)
{
	struct blkback_disk disk;
	struct blkback_ring *r;
	struct blkback_stats st;
	struct hv *hv;
	char path[32];

	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_blk_disk_make(path, bytes) == 0, "disk file");
	T_CHECK(blkback_disk_open(&disk, path, false) == 0, "disk");
	unlink(path);
	p->disk = &disk;
	T_CHECK(t_blk_back_attach(hv, rx, p, &r) == 0, "attach");
	T_CHECK(t_blk_serve(hv, r, rx) == 0, "serve");
	blkback_ring_stats(r, &st);
	t_blk_back_close(hv, r, p->port);
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
