/* SPDX-License-Identifier: MIT */
/*
 * fuse-ops.h - pvio-blkfront(8)'s file system: one directory holding one regular file, "disk",
 * whose bytes are the guest's virtual disk, served through libpvio-blkfront.
 *
 * The operations use libfuse's low-level API and run on one thread, the event loop of fuse.c,
 * which owns the blkfront handle (a handle is not thread-safe).  A read, write or flush is
 * submitted and left in flight: its completion callback, run by blkfront_poll from that same
 * loop, sends the reply.  So as many operations are in flight as the kernel sends, up to the
 * handle's queue depth.
 */
#ifndef PVIO_FRONTEND_BLK_FUSE_OPS_H
#define PVIO_FRONTEND_BLK_FUSE_OPS_H

#define FUSE_USE_VERSION 34

#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "frontend/blk/blkfront.h"

/* The name of the one file in the mount. */
#define BFUSE_FILE "disk"

/* Finished requests' buffers kept for reuse: classes of 4 KiB << 0..9, at most 16 MiB. */
#define BFUSE_POOL_MIN	   4096u
#define BFUSE_POOL_CLASSES 10u
#define BFUSE_POOL_BYTES   (16u << 20)

struct bfuse_io;

/* The file system's state: the session's userdata. */
struct bfuse {
	struct blkfront *bf;	   /* the device; NULL once an operation had to give it up */
	struct fuse_session *se;   /* the FUSE session, to see that the loop is ending */
	struct blkfront_info info; /* what was negotiated at open */
	uint64_t size;		   /* the disk in bytes: info.sectors * 512 */
	unsigned int unit;	   /* read-modify-write unit: the logical sector size */
	void *zero;		   /* unit bytes of zeros for the edges of a punched hole */
	struct timespec start;	   /* mount time, reported as every time stamp */
	uid_t uid;		   /* owner reported for the files (the mounting user) */
	gid_t gid;		   /* group reported for the files */
	struct bfuse_io *pool[BFUSE_POOL_CLASSES]; /* finished requests, by span size class */
	size_t pooled;				   /* bytes of spans in the pool */
};

/* Fill in the derived fields of b from b->bf: 0, or -ENOMEM. */
int bfuse_init(struct bfuse *b);

/* Free what bfuse_init allocated (not b->bf). */
void bfuse_fini(struct bfuse *b);

/* The operations; the session's userdata must point to an initialised struct bfuse. */
extern const struct fuse_lowlevel_ops bfuse_ops;

#endif
