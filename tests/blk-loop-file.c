/* SPDX-License-Identifier: MIT */
/*
 * blk-loop-file: blkback given a loop device in buffered mode over a file serves the file
 * itself (blkback_disk_open, disk.c loop_bypass), within the loop's window only: a loop with
 * an offset and a size limit; a write and read back, a read of the last sector, a read past the
 * end refused, a barrier's write, a discard; then the file holds the data at the loop's offset,
 * zeroes where the discard was, and its bytes outside the window are untouched.  A bounce asked
 * for is not used (the file is buffered).  A renamed file is still served (sysfs follows it); a
 * loop whose path names another file or a FIFO (bind-mounted over it: no hang), whose file is
 * deleted or cut shorter than its window, is served as the device; so is one in direct-I/O
 * mode, and a read-only one for writing.  Skips only where the host has no
 * loop devices (t_loop_usable).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/blk-test.h"

#define NDATA	     2
#define FILE_BYTES   (4u << 20)
#define LOOP_OFF     65536u
#define LOOP_BYTES   (2u << 20)
#define LOOP_SECTORS (LOOP_BYTES / 512u)
#define OUTSIDE	     0xaa /* every byte of the file before the test */

static struct {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back;	    /* the back-end's domain */
	char dev[64];	    /* the loop device */
} ctx;

static struct t_blk_front f;
static uint8_t *data;
static grant_ref_t refs[NDATA];

/* One request of one whole page (page 0..NDATA) at sector: its status. */
static int16_t one(uint8_t op, uint64_t sector, uint8_t page, uint8_t last)
{
	return t_blk_one(&f, refs, op, sector, page, 0, last);
}

static int guest(void *arg)
{
	(void)arg;
	T_CHECK(t_blk_front_open(&f, ctx.back, ctx.link.ab[1]) == 0, "front");
	T_CHECK(hv_grant_share(f.hv, ctx.back, NDATA, true, (void **)&data, refs) == 0, "data");
	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		data[i] = t_blk_pattern(8 + i / 512, i % 512);
	T_CHECK(one(BLKIF_OP_WRITE, 8, 0, 7) == BLKIF_RSP_OKAY, "write");
	T_CHECK(one(BLKIF_OP_READ, 8, 1, 7) == BLKIF_RSP_OKAY, "read");
	T_CHECK(memcmp(data, data + HV_PAGE_SIZE, HV_PAGE_SIZE) == 0, "read back");
	T_CHECK(one(BLKIF_OP_READ, LOOP_SECTORS - 1, 1, 0) == BLKIF_RSP_OKAY, "last sector");
	T_CHECK(data[HV_PAGE_SIZE] == OUTSIDE, "last sector's data");
	T_CHECK(one(BLKIF_OP_READ, LOOP_SECTORS, 1, 0) == BLKIF_RSP_ERROR, "past the end refused");
	/* A barrier's write is made apart from the aio path (io.c sync_write). */
	T_CHECK(one(BLKIF_OP_WRITE_BARRIER, 32, 0, 7) == BLKIF_RSP_OKAY, "barrier write");
	T_CHECK(t_blk_discard(&f, 16, 8, 0) == BLKIF_RSP_OKAY, "discard");
	T_CHECK(one(BLKIF_OP_READ, 16, 1, 7) == BLKIF_RSP_OKAY, "read of the discarded page");
	for (unsigned int i = 0; i < HV_PAGE_SIZE; i++)
		T_CHECK(data[HV_PAGE_SIZE + i] == 0, "discarded byte %u reads %u", i,
			data[HV_PAGE_SIZE + i]);
	return t_blk_guest_done(&f, &ctx.link, data, NDATA);
}

static int back(void *arg)
{
	struct blkback_ring_params p = { 0 };
	struct blkback_stats st;
	struct blkback_disk disk;
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(blkback_disk_open(&disk, ctx.dev, false) == 0, "disk");
	T_CHECK(disk.loop_held && disk.base == LOOP_OFF && !disk.direct,
		"the loop's file is not served (held %d, base %llu, direct %d)", disk.loop_held,
		(unsigned long long)disk.base, disk.direct);
	T_CHECK(disk.blockdev && disk.sectors == LOOP_SECTORS, "the loop's geometry");
	p.disk = &disk;
	p.name = "blk-loop-file";
	p.bounce = true;
	p.log = pvio_log_stderr(PVIO_LOG_ERROR); /* the read past the end is expected */
	T_CHECK(t_blk_back_disk(hv, ctx.link.ab[0], &p, &st) == 0, "serve");
	T_CHECK(st.bounced == 0, "%llu requests bounced on a buffered file",
		(unsigned long long)st.bounced);
	blkback_disk_close(&disk);
	T_CHECK(t_put(ctx.link.ba[1], "d", 1) == 0, "done");
	return 0;
}

/* Attach path at the window LOOP_OFF + LOOP_BYTES with extra options: 0 or T_FAIL. */
static int attach(const char *path, const char *opts)
{
	char o[128];

	snprintf(o, sizeof(o), "-o %u --sizelimit %u %s", LOOP_OFF, LOOP_BYTES, opts);
	return t_loop_attach_with(path, o, ctx.dev, sizeof(ctx.dev));
}

/* Whether blkback_disk_open of the loop device serves its file: 1, 0, or -1 on failure. */
static int served_from_file(bool readonly)
{
	struct blkback_disk d;
	int held;

	if (blkback_disk_open(&d, ctx.dev, readonly) != 0)
		return -1;
	held = d.loop_held;
	blkback_disk_close(&d);
	return held;
}

/* What to undo when the test ends, however it ends (in the test's own process only). */
static struct {
	pid_t pid;
	char path[32], other[40], mounted[40];
} undo;

static void cleanup(void)
{
	if (getpid() != undo.pid)
		return;
	if (undo.mounted[0])
		umount(undo.mounted);
	if (ctx.dev[0])
		t_loop_detach(ctx.dev);
	unlink(undo.path);
	unlink(undo.other);
}

/* Detach the loop device: 0 or T_FAIL. */
static int detach(void)
{
	int rc = t_loop_detach(ctx.dev);

	ctx.dev[0] = '\0';
	return rc;
}

/* Bind-mount what over on: 1, or 0 after a note where bind mounts are not to be had. */
static int bind_over(const char *what, const char *on)
{
	if (mount(what, on, NULL, MS_BIND, NULL) == 0) {
		snprintf(undo.mounted, sizeof(undo.mounted), "%s", on);
		return 1;
	}
	printf("note: no bind mount here (%s); that case not checked\n", strerror(errno));
	return 0;
}

static int unbind(void)
{
	T_CHECK(umount(undo.mounted) == 0, "umount %s", undo.mounted);
	undo.mounted[0] = '\0';
	return 0;
}

/* A file of FILE_BYTES of OUTSIDE at path: 0 or T_FAIL. */
static int fill(const char *path)
{
	static uint8_t buf[FILE_BYTES];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	memset(buf, OUTSIDE, sizeof(buf));
	T_CHECK(fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "fill %s", path);
	close(fd);
	return 0;
}

/* The file after the guest: data at the window's sector 8, zeroes at 16, OUTSIDE elsewhere. */
static int check_file(const char *path)
{
	static uint8_t buf[FILE_BYTES];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	T_CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "read %s", path);
	close(fd);
	for (size_t i = 0; i < sizeof(buf); i++) {
		size_t w = i - LOOP_OFF; /* the byte's place in the window (wraps below it) */
		uint8_t want = OUTSIDE;

		if (i >= LOOP_OFF && w >= 8 * 512 && w < 16 * 512)
			want = t_blk_pattern(w / 512, w % 512);
		else if (i >= LOOP_OFF && w >= 32 * 512 && w < 40 * 512) /* the barrier's */
			want = t_blk_pattern(w / 512 - 24, w % 512);
		else if (i >= LOOP_OFF && w >= 16 * 512 && w < 24 * 512)
			want = 0;
		T_CHECK(buf[i] == want, "file byte %zu is %u, not %u", i, buf[i], want);
	}
	return 0;
}

int main(void)
{
	char *path = undo.path, *other = undo.other, dio[128];
	pid_t pb, pg;
	int rc, rb, fd;
	FILE *fp;

	rc = t_loop_usable();
	if (rc != T_PASS)
		return rc;
	undo.pid = getpid();
	snprintf(path, sizeof(undo.path), "/tmp/pvio-blk-loop-XXXXXX");
	fd = mkstemp(path);
	T_CHECK(fd >= 0, "mkstemp");
	close(fd);
	snprintf(other, sizeof(undo.other), "%s.other", path);
	atexit(cleanup);
	T_CHECK(fill(path) == 0, "file");
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(attach(path, "") == 0, "loop device");
	T_CHECK(t_link_init(&ctx.link) == 0, "pipes");
	T_CHECK(t_domain_fork("blkback", back, NULL, &ctx.back, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	rc = t_wait(pg);
	rb = t_wait(pb);
	T_CHECK(rc == 0, "guest failed");
	T_CHECK(rb == 0, "back-end failed");
	T_CHECK(check_file(path) == 0, "the file");

	/* Renamed: sysfs names the file by its new path, and it is still served. */
	T_CHECK(rename(path, other) == 0, "rename");
	T_CHECK(served_from_file(false) == 1, "a renamed file is no longer served");
	/* The path names another file (one mounted over it): the device is served. */
	T_CHECK(fill(path) == 0, "another file");
	if (bind_over(path, other)) {
		rc = served_from_file(false);
		T_CHECK(unbind() == 0 && rc == 0, "a file that is not the loop's was served");
	}
	/* A FIFO there, opened for reading (which would wait for a writer): no hang, the device. */
	T_CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0, "mkfifo");
	if (bind_over(path, other)) {
		rc = served_from_file(true);
		T_CHECK(unbind() == 0 && rc == 0, "a FIFO in the file's place was served");
	}
	/* Deleted: the device. */
	T_CHECK(unlink(path) == 0 && unlink(other) == 0, "unlink");
	T_CHECK(served_from_file(false) == 0, "a deleted file was served");
	T_CHECK(detach() == 0, "losetup -d");

	/* A read-only loop: its file only for a read-only disk. */
	T_CHECK(fill(path) == 0, "file");
	T_CHECK(attach(path, "-r") == 0, "loop device, read-only");
	T_CHECK(served_from_file(false) != 1, "a read-only loop's file served for writing");
	T_CHECK(served_from_file(true) == 1, "a read-only loop's file not served read-only");
	T_CHECK(detach() == 0, "losetup -d");

	/* The file cut short under the loop (whose size stays): the device, not a shorter file. */
	T_CHECK(attach(path, "") == 0, "loop device");
	T_CHECK(truncate(path, LOOP_OFF + LOOP_BYTES / 2) == 0, "truncate");
	T_CHECK(served_from_file(false) == 0, "a file shorter than the loop's window was served");
	T_CHECK(detach() == 0, "losetup -d");

	/* Direct I/O mode (where the filesystem under /tmp takes it): the device is served. */
	T_CHECK(fill(path) == 0, "file");
	T_CHECK(attach(path, "--direct-io=on") == 0, "loop device, direct I/O");
	snprintf(dio, sizeof(dio), "/sys/block/%s/loop/dio", ctx.dev + 5);
	fp = fopen(dio, "re");
	rc = fp && fgetc(fp) == '1';
	if (fp)
		fclose(fp);
	if (rc)
		T_CHECK(served_from_file(false) == 0, "a loop in direct-I/O mode was bypassed");
	else
		printf("note: %s took no direct I/O here; that case not checked\n", ctx.dev);
	T_CHECK(detach() == 0, "losetup -d");
	return T_PASS;
}
