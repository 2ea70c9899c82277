/* SPDX-License-Identifier: MIT */
/*
 * blk-sector-size: blkback on a block device with 4096-byte logical blocks (a loop device;
 * skips only where the host has none, see t_loop_usable).  Aligned reads and writes are
 * served, O_DIRECT into the guest's pages; a request whose start, segment offset or segment
 * length is not a multiple of 4096 bytes gets BLKIF_RSP_ERROR; an aligned discard (BLKDISCARD)
 * succeeds and a secure one is refused with EOPNOTSUPP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/blk-test.h"

#define NDATA 4

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
	char dev[64];	    /* the loop device */
} ctx;

static struct t_blk_front f;
static uint8_t *data;
static grant_ref_t refs[NDATA];

/* One direct request of one segment on page 0..: its status. */
static int16_t one(uint8_t op, uint64_t sector, uint8_t page, uint8_t first, uint8_t last)
{
	return t_blk_one(&f, refs, op, sector, page, first, last);
}

static int guest(void *arg)
{
	(void)arg;
	T_CHECK(t_blk_front_open(&f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(f.hv, ctx.back, NDATA, true, (void **)&data, refs) == 0, "data");
	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		data[i] = (uint8_t)(i * 13 + 7);
	T_CHECK(one(BLKIF_OP_WRITE, 16, 0, 0, 7) == BLKIF_RSP_OKAY, "aligned write");
	T_CHECK(one(BLKIF_OP_READ, 16, 1, 0, 7) == BLKIF_RSP_OKAY, "aligned read");
	T_CHECK(memcmp(data, data + HV_PAGE_SIZE, HV_PAGE_SIZE) == 0, "read back");
	T_CHECK(one(BLKIF_OP_READ, 17, 1, 0, 7) == BLKIF_RSP_ERROR, "misaligned start");
	T_CHECK(one(BLKIF_OP_READ, 16, 1, 1, 7) == BLKIF_RSP_ERROR, "misaligned offset");
	T_CHECK(one(BLKIF_OP_WRITE, 16, 0, 0, 3) == BLKIF_RSP_ERROR, "short segment");
	T_CHECK(t_blk_discard(&f, 64, 64, 0) == BLKIF_RSP_OKAY, "discard");
	T_CHECK(t_blk_discard(&f, 64, 8, BLKIF_DISCARD_SECURE) == BLKIF_RSP_EOPNOTSUPP,
		"secure discard");
	return t_blk_guest_done(&f, &ctx.link, data, NDATA);
}

static int back(void *arg)
{
	struct blkback_ring_params p = { 0 };
	struct blkback_disk disk;
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(blkback_disk_open(&disk, ctx.dev, false) == 0, "disk");
	T_CHECK(disk.blockdev && disk.sector_size == 4096 && disk.discard, "geometry");
	p.disk = &disk;
	p.name = "blk-sector-size";
	p.log = pvio_log_stderr(PVIO_LOG_ERROR); /* the guest's mistakes are expected here */
	T_CHECK(t_blk_back_disk(hv, ctx.link.ab[0], &p, NULL) == 0, "serve");
	blkback_disk_close(&disk);
	T_CHECK(t_put(ctx.link.ba[1], "d", 1) == 0, "done");
	return 0;
}

int main(void)
{
	char path[32];
	pid_t pb, pg;
	int rc, rb;

	rc = t_loop_usable();
	if (rc != T_PASS)
		return rc;
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_blk_disk_make(path, 4 << 20) == 0, "file");
	rc = t_loop_attach(path, 4096, ctx.dev, sizeof(ctx.dev));
	unlink(path);
	T_CHECK(rc == 0, "loop device");
	T_CHECK(t_link_init(&ctx.link) == 0, "pipes");
	T_CHECK(t_domain_fork("blkback", back, NULL, &ctx.back, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	rc = t_wait(pg);
	rb = t_wait(pb);
	T_CHECK(t_loop_detach(ctx.dev) == 0, "losetup -d");
	T_CHECK(rc == 0, "guest failed");
	T_CHECK(rb == 0, "back-end failed");
	return T_PASS;
}
