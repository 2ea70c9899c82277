/* SPDX-License-Identifier: MIT */
/*
 * blk-journal-barriers: requests a journal leaves unanswered are executed again in the order
 * the front queued them, barriers included.  The guest queues WRITE, WRITE_BARRIER, WRITE,
 * WRITE_BARRIER (ids 0..3) without notifying; the back-end writes the journal a killed
 * pvio-blkback would have left after taking all four (each in the table entry of the reverse
 * order, as a busy table hands them out) and answering none, then re-attaches from it.  Every
 * request must be answered once, and in ring order: a write before a barrier completes before
 * the barrier, a write after it starts after it.  Two unanswered barriers at once are the edge:
 * executed in table order, the later barrier ran first and the earlier one was lost behind it.
 * On an O_DIRECT image (the writes complete after io_submit) and a buffered one.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/blk/journal.h"
#include "tests/blk-test.h"

#define NDATA	8    /* data pages */
#define SECTORS 2048 /* 1 MiB disk */
#define NREQ	4

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
} ctx;

static int guest(void *arg)
{
	static const uint8_t ops[NREQ] = { BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_WRITE,
					   BLKIF_OP_WRITE_BARRIER };
	struct blkif_response rsp[NREQ];
	struct t_blk_front f;
	grant_ref_t refs[NDATA];
	uint8_t *data;
	char c;

	(void)arg;
	T_CHECK(t_blk_front_open(&f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(f.hv, ctx.back, NDATA, true, (void **)&data, refs) == 0, "data");
	for (unsigned int i = 0; i < NREQ; i++) {
		uint8_t seg[1][3] = { { (uint8_t)i, 0, 7 } };

		memset(data + (size_t)i * HV_PAGE_SIZE, 0x10 + i, HV_PAGE_SIZE);
		t_blk_req(t_blk_front_slot(&f), ops[i], i, 8 * i, 1, refs,
			  (const uint8_t(*)[3])seg);
	}
	ring_front_push(&f.rf); /* no notify: the "old daemon" took them, the ring says */
	T_CHECK(t_put(ctx.link.ab[1], "Q", 1) == 0, "queued");
	T_CHECK(t_blk_front_run(&f, rsp, NREQ) == 0, "answers");
	for (unsigned int i = 0; i < NREQ; i++) {
		T_CHECK(rsp[i].status == BLKIF_RSP_OKAY, "request %llu: status %d",
			(unsigned long long)rsp[i].id, rsp[i].status);
		T_CHECK(rsp[i].id == i, "answer %u is request %llu: not in ring order", i,
			(unsigned long long)rsp[i].id);
	}
	T_CHECK(t_put(ctx.link.ab[1], "q", 1) == 0, "quit");
	T_CHECK(t_get(ctx.link.ba[0], &c, 1) == 0, "the back-end detached");
	T_CHECK(hv_grant_end(f.hv, data, NDATA) == 0, "data pages still mapped");
	return t_blk_front_close(&f);
}

/* The journal of a daemon killed after taking the four requests, answering none. */
static int journal_write(struct hv *hv, int dfd, const struct t_blk_hello *hi)
{
	struct blkif_request reqs[NREQ];
	struct blkback_journal *j;
	struct blkback_journal_id id = { .frontend = hi->guest, .order = 0, .refs = &hi->ring };
	struct ring_back rb;
	void *sring;

	T_CHECK(hv_grant_map(hv, hi->guest, 1, &hi->ring, false, &sring) == 0, "map");
	T_CHECK(ring_blkif_back_attach(&rb, sring, 0) == 0, "ring");
	T_CHECK(ring_back_consume(&rb, reqs, NREQ) == NREQ, "the queued requests");
	id.nr_ents = rb.nr_ents;
	hv_grant_unmap(hv, sring, 1);
	T_CHECK(blkback_journal_open(&j, dfd, "j", &id, true, 0) == 0, "journal");
	for (unsigned int i = 0; i < NREQ; i++)
		blkback_journal_take(j, NREQ - 1 - i, i, &reqs[i]);
	blkback_journal_close(j);
	return 0;
}

static int back(void *arg)
{
	struct blkback_ring_params p = { .name = "blk-journal-barriers", .journal_name = "j" };
	char dir[] = "/tmp/pvio-jb-XXXXXX", path[32], c;
	struct t_blk_hello hi;
	struct blkback_disk disk;
	struct blkback_ring *r;
	struct hv *hv;
	int rx = ctx.link.ab[0];

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_blk_disk_make(path, SECTORS * 512ull) == 0, "disk file");
	T_CHECK(t_blk_disk_open(&disk, path, false) == 0, "disk");
	unlink(path);
	T_CHECK(mkdtemp(dir), "mkdtemp");
	p.journal_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	T_CHECK(t_get(rx, &hi, sizeof(hi)) == 0 && t_get(rx, &c, 1) == 0 && c == 'Q', "hello");
	T_CHECK(journal_write(hv, p.journal_dirfd, &hi) == 0, "journal");
	p.frontend = hi.guest;
	p.refs = &hi.ring;
	p.disk = &disk;
	p.resume = true;
	T_CHECK(hv_evtchn_bind(hv, hi.guest, hi.port, &p.port) == 0, "bind");
	T_CHECK(blkback_ring_attach(&r, hv, &p) == 0, "re-attach from the journal");
	T_CHECK(t_blk_serve(hv, r, rx) == 0, "serve");
	t_blk_back_close(hv, r, p.port);
	T_CHECK(t_put(ctx.link.ba[1], "d", 1) == 0, "detached");
	blkback_disk_close(&disk);
	unlinkat(p.journal_dirfd, "j", 0);
	close(p.journal_dirfd);
	rmdir(dir);
	return 0;
}

static int phases(void)
{
	return t_blk_pair(&ctx.link, &ctx.back, back, guest);
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	return t_blk_each_image(phases);
}
