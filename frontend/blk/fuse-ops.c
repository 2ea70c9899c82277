/* SPDX-License-Identifier: MIT */
/*
 * fuse-ops.c - the FUSE operations of pvio-blkfront(8): the root directory (inode 1) holds one
 * regular file, "disk" (inode 2), whose size is the disk's and whose reads and writes are the
 * disk's.
 *
 * Reads, aligned writes and flushes are asynchronous: each becomes one blkfront operation (the
 * library cuts it into ring requests) whose completion callback replies, so the kernel's
 * requests are all in flight together.  Every request is answered exactly once: by its
 * callback, or at once when the submission fails; blkfront_close completes what is left with
 * -ECANCELED, answered -EIO, before the session goes.
 *
 * libpvio-blkfront takes offsets and lengths in multiples of 512 bytes, while a file is written
 * at any byte.  An unaligned read reads the whole sectors around it and replies with the part
 * asked for.  An unaligned write reads the edge sectors it only partly covers, merges and
 * writes the whole span back; that read-modify-write first waits until nothing else is in
 * flight and then runs synchronously, so that no other write can touch the same sector between
 * its read and its write.  Aligned requests (what the loop driver, mkfs and O_DIRECT users
 * send) never take that path.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/blk/fuse-ops.h"

#define BFUSE_ROOT_INO 1 /* FUSE_ROOT_ID */
#define BFUSE_DISK_INO 2
/* The attributes never change while mounted: the kernel may keep them this long (seconds). */
#define BFUSE_ATTR_TIMEOUT 3600.0
/* Longest wait for a completion before looking whether the loop was asked to stop. */
#define BFUSE_TICK_MS 100

/*
 * An asynchronous request: the FUSE request it answers and the memory it owns.  Finished ones
 * wait in b->pool for the next request of their span's size class, so that the fast path
 * allocates nothing: a span of 128 KiB or more comes from mmap, and giving it back costs an
 * munmap whose TLB shoot-down interrupts every CPU, then a page fault per page when the next
 * one is touched (3-5 ms of CPU for a 1 MiB read, measured).
 */
struct bfuse_io {
	struct bfuse *b;  /* whose pool it returns to */
	fuse_req_t req;	  /* the request it answers */
	char *span;	  /* whole units read or written */
	size_t skip;	  /* where the bytes asked for start in span (reads) */
	size_t len;	  /* how many bytes were asked for */
	unsigned int cls; /* span holds BFUSE_POOL_MIN << cls bytes; BFUSE_POOL_CLASSES: none */
	struct bfuse_io *next; /* the next in its pool list */
};

static struct bfuse *bfuse_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int bfuse_init(struct bfuse *b)
{
	unsigned int ss = b->info.sector_size;

	b->size = b->info.sectors * 512;
	/* The logical sector size when it is a power-of-two multiple of 512 dividing the disk. */
	b->unit = 512;
	if (ss > 512 && ss <= 65536 && !(ss & (ss - 1)) && b->size % ss == 0)
		b->unit = ss;
	b->zero = calloc(1, b->unit);
	if (!b->zero)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &b->start);
	b->uid = getuid();
	b->gid = getgid();
	return 0;
}

void bfuse_fini(struct bfuse *b)
{
	unsigned int c;

	for (c = 0; c < BFUSE_POOL_CLASSES; c++) {
		while (b->pool[c]) {
			struct bfuse_io *io = b->pool[c];

			b->pool[c] = io->next;
			free(io->span);
			free(io);
		}
	}
	b->pooled = 0;
	free(b->zero);
	b->zero = NULL;
}

/* What a failed operation answers: a closed handle's -ECANCELED is an I/O error to the kernel. */
static int bfuse_errno(int r)
{
	return r == -ECANCELED ? EIO : -r;
}

/*
 * blkfront_submit, waiting for room while queue_depth operations are out (their completions,
 * which reply, run meanwhile).  0 once queued; else the error, and done will not run.  The wait
 * ends when the loop is asked to stop (SIGTERM): a vanished back-end keeps the queue full.
 */
static int bfuse_submit(struct bfuse *b, enum blkfront_op op, void *buf, uint64_t off, size_t len,
			blkfront_done_fn *done, void *arg)
{
	int r;

	if (!b->bf)
		return -ENODEV;
	while ((r = blkfront_submit(b->bf, op, buf, off, len, done, arg)) == -EAGAIN) {
		r = blkfront_poll(b->bf, BFUSE_TICK_MS);
		if (r < 0)
			return r;
		if (fuse_session_exited(b->se))
			return -EIO;
	}
	return r;
}

/* One synchronous operation's completion, for bfuse_sync_op. */
struct bfuse_wait {
	bool done;  /* the callback ran */
	int result; /* its result */
};

static void bfuse_wait_done(void *arg, int result)
{
	struct bfuse_wait *w = arg;

	w->done = true;
	w->result = result;
}

/*
 * Give the device up while operations are pending: blkfront_close completes them (ours and the
 * asynchronous ones, which reply) with -ECANCELED before returning.
 */
static void bfuse_abandon(struct bfuse *b)
{
	blkfront_close(b->bf);
	b->bf = NULL;
}

/*
 * Poll until *done or nothing is in flight (done == NULL).  On a stop request or a poll error
 * with operations pending, the handle is given up (bfuse_abandon), which ends them all.
 */
static void bfuse_poll_until(struct bfuse *b, const bool *done)
{
	while (b->bf && (done ? !*done : blkfront_in_flight(b->bf) > 0)) {
		if (fuse_session_exited(b->se) || (blkfront_poll(b->bf, BFUSE_TICK_MS) < 0 &&
						   (done ? !*done : blkfront_in_flight(b->bf) > 0)))
			bfuse_abandon(b);
	}
}

/* Run one operation to its end, other completions running meanwhile; its result. */
static int bfuse_sync_op(struct bfuse *b, enum blkfront_op op, void *buf, uint64_t off, size_t len)
{
	struct bfuse_wait w = { false, 0 };
	int r = bfuse_submit(b, op, buf, off, len, bfuse_wait_done, &w);

	if (r < 0)
		return r;
	bfuse_poll_until(b, &w.done);
	if (!w.done || w.result == -ECANCELED)
		return -EIO;
	return w.result;
}

/* The size class of a span of len bytes, or BFUSE_POOL_CLASSES if none holds it. */
static unsigned int bfuse_pool_class(size_t len)
{
	unsigned int c = 0;

	while (c < BFUSE_POOL_CLASSES && (size_t)BFUSE_POOL_MIN << c < len)
		c++;
	return c;
}

static struct bfuse_io *bfuse_io_new(struct bfuse *b, fuse_req_t req, size_t span_len, size_t skip,
				     size_t len)
{
	unsigned int c = span_len ? bfuse_pool_class(span_len) : BFUSE_POOL_CLASSES;
	struct bfuse_io *io = c < BFUSE_POOL_CLASSES ? b->pool[c] : NULL;

	if (io) {
		b->pool[c] = io->next;
		b->pooled -= (size_t)BFUSE_POOL_MIN << c;
	} else {
		io = calloc(1, sizeof(*io));
		if (!io)
			return NULL;
		io->cls = c;
		if (span_len && posix_memalign((void **)&io->span, 4096,
					       c < BFUSE_POOL_CLASSES ? (size_t)BFUSE_POOL_MIN << c
								      : span_len)) {
			free(io);
			return NULL;
		}
	}
	io->b = b;
	io->req = req;
	io->skip = skip;
	io->len = len;
	return io;
}

/* Back to its pool while the pool holds less than BFUSE_POOL_BYTES, else freed. */
static void bfuse_io_free(struct bfuse_io *io)
{
	struct bfuse *b = io->b;
	size_t bytes = (size_t)BFUSE_POOL_MIN << (io->cls % BFUSE_POOL_CLASSES);

	if (io->cls < BFUSE_POOL_CLASSES && b->pooled + bytes <= BFUSE_POOL_BYTES) {
		io->next = b->pool[io->cls];
		b->pool[io->cls] = io;
		b->pooled += bytes;
		return;
	}
	free(io->span);
	free(io);
}

static void bfuse_read_done(void *arg, int result)
{
	struct bfuse_io *io = arg;

	if (result < 0)
		fuse_reply_err(io->req, bfuse_errno(result));
	else
		fuse_reply_buf(io->req, io->span + io->skip, io->len);
	bfuse_io_free(io);
}

static void bfuse_write_done(void *arg, int result)
{
	struct bfuse_io *io = arg;

	if (result < 0)
		fuse_reply_err(io->req, bfuse_errno(result));
	else
		fuse_reply_write(io->req, io->len);
	bfuse_io_free(io);
}

static void bfuse_status_done(void *arg, int result)
{
	struct bfuse_io *io = arg;

	fuse_reply_err(io->req, result < 0 ? bfuse_errno(result) : 0);
	bfuse_io_free(io);
}

/* Submit io's span as op; on failure answer the request at once. */
static void bfuse_io_submit(struct bfuse *b, struct bfuse_io *io, enum blkfront_op op, uint64_t off,
			    size_t len, blkfront_done_fn *done)
{
	int r = bfuse_submit(b, op, io->span, off, len, done, io);

	if (r < 0) {
		fuse_reply_err(io->req, bfuse_errno(r));
		bfuse_io_free(io);
	}
}

/* len, cut so that [off, off + len) stays inside the disk (off is inside). */
static size_t bfuse_clamp(const struct bfuse *b, uint64_t off, size_t len)
{
	return len > b->size - off ? (size_t)(b->size - off) : len;
}

static void bfuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_of(req);
	uint64_t start, end;
	struct bfuse_io *io;

	(void)ino;
	(void)fi;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= b->size || !size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size = bfuse_clamp(b, (uint64_t)off, size);
	start = (uint64_t)off / b->unit * b->unit;
	end = ((uint64_t)off + size + b->unit - 1) / b->unit * b->unit;
	io = bfuse_io_new(b, req, end - start, (uint64_t)off - start, size);
	if (!io) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	bfuse_io_submit(b, io, BLKFRONT_READ, start, end - start, bfuse_read_done);
}

/*
 * Write len bytes at off, both anywhere inside the disk, synchronously: read-modify-write of
 * partial edges once nothing else is in flight.  0 or -errno.
 */
static int bfuse_write_rmw(struct bfuse *b, const void *buf, uint64_t off, size_t len)
{
	uint64_t start = off / b->unit * b->unit;
	uint64_t end = (off + len + b->unit - 1) / b->unit * b->unit;
	uint64_t span_len = end - start;
	bool head = off != start, tail = off + len != end;
	char *span;
	int r = 0;

	bfuse_poll_until(b, NULL);
	span = malloc(span_len);
	if (!span)
		return -ENOMEM;
	if (head)
		r = bfuse_sync_op(b, BLKFRONT_READ, span, start, b->unit);
	if (!r && tail && (!head || span_len > b->unit))
		r = bfuse_sync_op(b, BLKFRONT_READ, span + span_len - b->unit, end - b->unit,
				  b->unit);
	if (!r) {
		memcpy(span + (off - start), buf, len);
		r = bfuse_sync_op(b, BLKFRONT_WRITE, span, start, span_len);
	}
	free(span);
	return r;
}

static void bfuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_of(req);
	struct bfuse_io *io;
	int r;

	(void)ino;
	(void)fi;
	if (b->info.readonly || off < 0) {
		fuse_reply_err(req, b->info.readonly ? EROFS : EINVAL);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	/* A disk does not grow: a write at its end fails as on a block device. */
	if ((uint64_t)off >= b->size) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	size = bfuse_clamp(b, (uint64_t)off, size);
	if ((uint64_t)off % b->unit || size % b->unit) {
		r = bfuse_write_rmw(b, buf, (uint64_t)off, size);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	/* The data must outlive the loop's receive buffer, which the next request reuses. */
	io = bfuse_io_new(b, req, size, 0, size);
	if (!io) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(io->span, buf, size);
	bfuse_io_submit(b, io, BLKFRONT_WRITE, (uint64_t)off, size, bfuse_write_done);
}

/* Make acknowledged writes durable, then answer; nothing to do on a read-only disk. */
static void bfuse_sync(fuse_req_t req)
{
	struct bfuse *b = bfuse_of(req);
	struct bfuse_io *io;

	if (b->info.readonly) {
		fuse_reply_err(req, 0);
		return;
	}
	io = bfuse_io_new(b, req, 0, 0, 0);
	if (!io) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	bfuse_io_submit(b, io, BLKFRONT_FLUSH, 0, 0, bfuse_status_done);
}

static void bfuse_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		fuse_reply_err(req, 0);
	else
		bfuse_sync(req);
}

static void bfuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	bfuse_sync(req);
}

/*
 * Punch [off, end): discard the whole units inside the range and write zeros over the partial
 * ones at its edges, synchronously.  Whether the discarded units then read back as zeros is
 * the back-end's affair (pvio-blkback punches a hole in a file image: zeros).
 */
static int bfuse_punch(struct bfuse *b, uint64_t off, uint64_t end)
{
	uint64_t in_start = (off + b->unit - 1) / b->unit * b->unit;
	uint64_t in_end = end / b->unit * b->unit;
	int r = 0;

	if (in_start >= in_end)
		return bfuse_write_rmw(b, b->zero, off, end - off);
	if (in_start > off)
		r = bfuse_write_rmw(b, b->zero, off, in_start - off);
	if (!r && end > in_end)
		r = bfuse_write_rmw(b, b->zero, in_end, end - in_end);
	if (!r)
		r = bfuse_sync_op(b, BLKFRONT_DISCARD, NULL, in_start, in_end - in_start);
	return r;
}

/* fallocate(PUNCH_HOLE | KEEP_SIZE) only. */
static void bfuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			    struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_of(req);
	uint64_t end;
	int r;

	(void)ino;
	(void)fi;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		r = -EOPNOTSUPP;
	else if (b->info.readonly)
		r = -EROFS;
	else if (off < 0 || len <= 0)
		r = -EINVAL;
	else if (!b->info.discard)
		r = -EOPNOTSUPP;
	else if ((uint64_t)off >= b->size)
		r = 0;
	else {
		end = (uint64_t)off + bfuse_clamp(b, (uint64_t)off, (size_t)len);
		r = bfuse_punch(b, (uint64_t)off, end);
	}
	fuse_reply_err(req, bfuse_errno(r));
}

/* The attributes of inode ino: 0, or -ENOENT. */
static int bfuse_stat(const struct bfuse *b, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = b->uid;
	st->st_gid = b->gid;
	st->st_atim = st->st_mtim = st->st_ctim = b->start;
	if (ino == BFUSE_ROOT_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (ino != BFUSE_DISK_INO)
		return -ENOENT;
	st->st_mode = S_IFREG | (b->info.readonly ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)b->size;
	st->st_blksize = b->info.sector_size ? b->info.sector_size : 512;
	st->st_blocks = (blkcnt_t)(b->size / 512);
	return 0;
}

static void bfuse_reply_attr(fuse_req_t req, fuse_ino_t ino)
{
	struct stat st;

	if (bfuse_stat(bfuse_of(req), ino, &st))
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, BFUSE_ATTR_TIMEOUT);
}

static void bfuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .ino = BFUSE_DISK_INO };

	if (parent != BFUSE_ROOT_INO || strcmp(name, BFUSE_FILE)) {
		/* ino 0: the kernel may remember that the name does not exist. */
		e.ino = 0;
		e.entry_timeout = BFUSE_ATTR_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	bfuse_stat(bfuse_of(req), BFUSE_DISK_INO, &e.attr);
	e.attr_timeout = e.entry_timeout = BFUSE_ATTR_TIMEOUT;
	fuse_reply_entry(req, &e);
}

static void bfuse_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	bfuse_reply_attr(req, ino);
}

/*
 * A disk's size is fixed: only a "truncate" to its own size succeeds (the times that come with
 * it are not kept); nothing else is set.
 */
static void bfuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_of(req);

	(void)fi;
	if (!(to_set & FUSE_SET_ATTR_SIZE) ||
	    (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		fuse_reply_err(req, ENOSYS);
	else if (ino != BFUSE_DISK_INO)
		fuse_reply_err(req, EISDIR);
	else if (attr->st_size < 0)
		fuse_reply_err(req, EINVAL);
	else if ((uint64_t)attr->st_size != b->size)
		fuse_reply_err(req, EPERM);
	else
		bfuse_reply_attr(req, ino);
}

/* The root's entries from index off on, as many as fit in size bytes. */
static void bfuse_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	static const char *const names[] = { ".", "..", BFUSE_FILE };
	static const fuse_ino_t inos[] = { BFUSE_ROOT_INO, BFUSE_ROOT_INO, BFUSE_DISK_INO };
	char buf[512];
	size_t used = 0, n;
	off_t i;

	(void)fi;
	if (ino != BFUSE_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (i = off < 0 ? 0 : off; i < 3; i++) {
		struct stat st = { .st_ino = inos[i], .st_mode = S_IFDIR };

		if (inos[i] == BFUSE_DISK_INO)
			st.st_mode = S_IFREG;
		n = fuse_add_direntry(req, buf + used, sizeof(buf) - used, names[i], &st, i + 1);
		if (used + n > size || n > sizeof(buf) - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void bfuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_of(req);

	if (ino == BFUSE_ROOT_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* EROFS (not EACCES) so that losetup retries read-only. */
	if (b->info.readonly && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/*
	 * direct_io: every read and write reaches us as the caller issued it, with no page cache
	 * of this file in the guest.  A loop device on top has its own page cache (or none with
	 * --direct-io=on, which this allows); a second cache under it would only double the memory
	 * and, for O_DIRECT callers like fio --direct=1, hide whether data reached the back-end.
	 * FUSE splits a request into max_read/max_write pieces (1 MiB with libfuse 3 on a kernel
	 * that negotiates max_pages, else 128 KiB), which the library takes in any size.  The cost
	 * is no mmap of the file, which loop, mkfs and fio do not need.  O_TRUNC is ignored, as on
	 * a block device (atomic_o_trunc passes it to open, and nothing here truncates).
	 */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

/*
 * Let the kernel keep as many requests outstanding as the handle takes: FUSE holds asynchronous
 * (background) requests, which is what loop and libaio's direct I/O send, to max_background,
 * 12 by default.
 */
static void bfuse_fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct bfuse *b = userdata;
	unsigned int depth = b->info.ring_entries * (b->info.queues ? b->info.queues : 1);

	if (depth < 16)
		depth = 16;
	if (depth > 1024)
		depth = 1024;
	conn->max_background = depth;
	conn->congestion_threshold = depth * 3 / 4;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
}

const struct fuse_lowlevel_ops bfuse_ops = {
	.init = bfuse_fs_init,
	.lookup = bfuse_lookup,
	.getattr = bfuse_getattr,
	.setattr = bfuse_setattr,
	.readdir = bfuse_readdir,
	.open = bfuse_open,
	.read = bfuse_read,
	.write = bfuse_write,
	.flush = bfuse_flush,
	.fsync = bfuse_fsync,
	.fallocate = bfuse_fallocate,
};
