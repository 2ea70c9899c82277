/* SPDX-License-Identifier: MIT */
/*
 * blk-disk-open: blkback_disk_open on files and on a loop block device (where the host has
 * none, the file part runs and the test skips: t_loop_usable).  A missing path gives -ENOENT,
 * a file whose size is not a multiple of 512 -EINVAL, a directory -EINVAL; a file gets
 * 512-byte sectors, punch-hole discard and no secure discard; a loop device gets its size and
 * logical block size from the ioctls (4096 when set so); close is safe on a zeroed, a failed
 * and an already closed disk.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/blk/blkback.h"
#include "tests/helpers.h"

static int make_file(char *path, off_t size)
{
	int fd;

	snprintf(path, 32, "/tmp/pvio-disk-XXXXXX");
	fd = mkstemp(path);
	T_CHECK(fd >= 0, "mkstemp");
	T_CHECK(ftruncate(fd, size) == 0, "ftruncate");
	close(fd);
	return 0;
}

static int files(void)
{
	struct blkback_disk d;
	char path[32];

	memset(&d, 0, sizeof(d));
	T_CHECK(dup2(2, 0) == 0, "an fd 0 to lose");
	blkback_disk_close(&d); /* zeroed: must not close fd 0 */
	T_CHECK(fcntl(0, F_GETFD) >= 0, "closing a zeroed disk closed fd 0");
	T_CHECK(blkback_disk_open(&d, "/nonexistent/pvio", false) == -ENOENT, "ENOENT");
	blkback_disk_close(&d);
	T_CHECK(blkback_disk_open(&d, "/tmp", true) == -EINVAL, "a directory");
	T_CHECK(make_file(path, 1000) == 0, "odd file");
	T_CHECK(blkback_disk_open(&d, path, false) == -EINVAL, "size not a multiple of 512");
	unlink(path);
	T_CHECK(make_file(path, 1 << 20) == 0, "file");
	T_CHECK(blkback_disk_open(&d, path, true) == 0, "open file");
	unlink(path);
	T_CHECK(d.fd > 2 && !d.blockdev && d.readonly && d.sectors == 2048, "file geometry");
	T_CHECK(d.sector_size == 512 && d.physical_sector_size >= 512 &&
		    d.physical_sector_size <= 4096,
		"file sector sizes");
	T_CHECK(d.discard && !d.secure_discard && d.discard_granularity >= 512, "file discard");
	printf("file: direct=%d physical=%u granularity=%u\n", d.direct, d.physical_sector_size,
	       d.discard_granularity);
	blkback_disk_close(&d);
	T_CHECK(d.fd == -1, "closed");
	blkback_disk_close(&d);
	return 0;
}

static int loop(unsigned int bs)
{
	struct blkback_disk d;
	char path[32], dev[64];
	int rc;

	T_CHECK(make_file(path, 4 << 20) == 0, "loop file");
	rc = t_loop_attach(path, bs, dev, sizeof(dev));
	unlink(path);
	T_CHECK(rc == 0, "loop device (%u-byte sectors)", bs);
	rc = blkback_disk_open(&d, dev, false);
	if (rc == 0) {
		printf("%s: direct=%d sector=%u physical=%u discard=%d granularity=%u\n", dev,
		       d.direct, d.sector_size, d.physical_sector_size, d.discard,
		       d.discard_granularity);
		rc = d.blockdev && d.sectors == 8192 && d.sector_size == bs &&
			     d.physical_sector_size >= bs && !d.secure_discard
			 ? 0
			 : -EINVAL;
		blkback_disk_close(&d);
	}
	T_CHECK(t_loop_detach(dev) == 0, "detach %s", dev);
	T_CHECK(rc == 0, "loop device (%u-byte sectors): %d", bs, rc);
	return 0;
}

int main(void)
{
	int rc;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(files() == 0, "files");
	/* Without loop devices half of the test did not run: a skip, not a pass. */
	rc = t_loop_usable();
	if (rc != T_PASS)
		return rc;
	for (unsigned int bs = 512; bs <= 4096; bs *= 8)
		T_CHECK(loop(bs) == 0, "loop %u", bs);
	return T_PASS;
}
