/* SPDX-License-Identifier: MIT */
/*
 * fuse-ops.h - pvio-blkfront(8)'s file system: one directory holding one regular file, "disk",
 * whose bytes are the guest's virtual disk, served through libpvio-blkfront.
 *
 * The operations run on the FUSE loop's single thread, each submitting one operation to the
 * blkfront handle and polling it to completion; nothing here is thread-safe (see fuse.c for why
 * the loop is single-threaded).
 */
#ifndef PVIO_FRONTEND_BLK_FUSE_OPS_H
#define PVIO_FRONTEND_BLK_FUSE_OPS_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "frontend/blk/blkfront.h"

/* The name of the one file in the mount. */
#define BFUSE_FILE "disk"

/* The file system's state: FUSE's private_data. */
struct bfuse {
	struct blkfront *bf;	   /* the device; NULL once an operation had to give it up */
	struct blkfront_info info; /* what was negotiated at open */
	uint64_t size;		   /* the disk in bytes: info.sectors * 512 */
	unsigned int unit;	   /* read-modify-write unit: the logical sector size */
	void *bounce;		   /* buffer for unaligned reads and writes, grown on demand */
	size_t bounce_len;	   /* its size in bytes */
	void *zero;		   /* unit bytes of zeros for the edges of a punched hole */
	struct timespec start;	   /* mount time, reported as every time stamp */
	uid_t uid;		   /* owner reported for the files (the mounting user) */
	gid_t gid;		   /* group reported for the files */
};

/* Fill in the derived fields of b from b->bf: 0, or -ENOMEM. */
int bfuse_init(struct bfuse *b);

/* Free what bfuse_init allocated (not b->bf). */
void bfuse_fini(struct bfuse *b);

/* The operations; private_data must point to an initialised struct bfuse. */
extern const struct fuse_operations bfuse_ops;

#endif
