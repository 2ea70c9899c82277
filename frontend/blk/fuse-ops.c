/* SPDX-License-Identifier: MIT */
/*
 * fuse-ops.c - the FUSE operations of pvio-blkfront(8): "/" holds one regular file, "disk",
 * whose size is the disk's and whose reads and writes are the disk's.
 *
 * libpvio-blkfront takes offsets and lengths in multiples of 512 bytes, while a file is written
 * at any byte.  An unaligned read reads the whole sectors around it into a bounce buffer; an
 * unaligned write reads the edge sectors it only partly covers, merges, and writes the whole
 * span back.  That read-modify-write is safe because the loop is single-threaded: no other
 * request can touch the same sector between the read and the write.  Aligned requests (what the
 * loop driver, mkfs and O_DIRECT users send) go straight from FUSE's buffer to the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/blk/fuse-ops.h"

#include <fuse_lowlevel.h>

#define BFUSE_PATH "/" BFUSE_FILE

static struct bfuse *bfuse_get(void)
{
	return fuse_get_context()->private_data;
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
	free(b->bounce);
	b->bounce = NULL;
	b->bounce_len = 0;
	free(b->zero);
	b->zero = NULL;
}

/* A bounce buffer of at least len bytes, or NULL. */
static void *bfuse_bounce(struct bfuse *b, size_t len)
{
	void *p;

	if (len <= b->bounce_len)
		return b->bounce;
	p = realloc(b->bounce, len);
	if (!p)
		return NULL;
	b->bounce = p;
	b->bounce_len = len;
	return p;
}

/* Longest wait for a completion before looking whether the loop was asked to stop. */
#define BFUSE_TICK_MS 100

/* One operation's completion, for bfuse_op. */
struct bfuse_wait {
	bool done;  /* the callback ran */
	int result; /* its result */
};

static void bfuse_done(void *arg, int result)
{
	struct bfuse_wait *w = arg;

	w->done = true;
	w->result = result;
}

/*
 * Give the device up while an operation of ours is pending: blkfront_close completes it with
 * -ECANCELED before returning, so its buffer and completion are no longer used afterwards.
 */
static void bfuse_abandon(struct bfuse *b)
{
	blkfront_close(b->bf);
	b->bf = NULL;
}

/*
 * Run one operation to its end, like the library's synchronous calls, but stop waiting when the
 * FUSE loop is asked to stop (SIGTERM): the library waits for a vanished back-end to come back
 * with the operation still pending, and the program must still exit then.  On such an exit, or
 * a poll error with the operation pending, the handle is closed and the operation fails -EIO.
 */
static int bfuse_op(struct bfuse *b, enum blkfront_op op, void *buf, uint64_t off, size_t len)
{
	struct fuse_session *se = fuse_get_session(fuse_get_context()->fuse);
	struct bfuse_wait w = { false, 0 };
	int r;

	if (!b->bf)
		return -ENODEV;
	while ((r = blkfront_submit(b->bf, op, buf, off, len, bfuse_done, &w)) == -EAGAIN) {
		r = blkfront_poll(b->bf, BFUSE_TICK_MS);
		if (r < 0)
			return r;
		if (fuse_session_exited(se))
			return -EIO;
	}
	if (r < 0)
		return r;
	while (!w.done) {
		if (fuse_session_exited(se)) {
			bfuse_abandon(b);
			break;
		}
		r = blkfront_poll(b->bf, BFUSE_TICK_MS);
		if (r < 0 && !w.done) {
			bfuse_abandon(b);
			break;
		}
	}
	if (!w.done || w.result == -ECANCELED)
		return -EIO;
	return w.result;
}

static int bfuse_read_io(struct bfuse *b, void *buf, uint64_t off, size_t len)
{
	return bfuse_op(b, BLKFRONT_READ, buf, off, len);
}

static int bfuse_write_io(struct bfuse *b, const void *buf, uint64_t off, size_t len)
{
	return bfuse_op(b, BLKFRONT_WRITE, (void *)buf, off, len);
}

/* Read len bytes at off, both anywhere inside the disk. */
static int bfuse_read_bytes(struct bfuse *b, void *buf, uint64_t off, size_t len)
{
	uint64_t start = off / b->unit * b->unit;
	uint64_t end = (off + len + b->unit - 1) / b->unit * b->unit;
	char *span;
	int r;

	if (start == off && end == off + len)
		return bfuse_read_io(b, buf, off, len);
	span = bfuse_bounce(b, end - start);
	if (!span)
		return -ENOMEM;
	r = bfuse_read_io(b, span, start, end - start);
	if (r < 0)
		return r;
	memcpy(buf, span + (off - start), len);
	return 0;
}

/* Write len bytes at off, both anywhere inside the disk: read-modify-write of partial edges. */
static int bfuse_write_bytes(struct bfuse *b, const void *buf, uint64_t off, size_t len)
{
	uint64_t start = off / b->unit * b->unit;
	uint64_t end = (off + len + b->unit - 1) / b->unit * b->unit;
	uint64_t span_len = end - start;
	bool head = off != start, tail = off + len != end;
	char *span;
	int r;

	if (!head && !tail)
		return bfuse_write_io(b, buf, off, len);
	span = bfuse_bounce(b, span_len);
	if (!span)
		return -ENOMEM;
	if (span_len == b->unit) {
		r = bfuse_read_io(b, span, start, b->unit);
	} else {
		r = head ? bfuse_read_io(b, span, start, b->unit) : 0;
		if (!r && tail)
			r = bfuse_read_io(b, span + span_len - b->unit, end - b->unit, b->unit);
	}
	if (r < 0)
		return r;
	memcpy(span + (off - start), buf, len);
	return bfuse_write_io(b, span, start, span_len);
}

static int bfuse_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();

	(void)fi;
	memset(st, 0, sizeof(*st));
	st->st_uid = b->uid;
	st->st_gid = b->gid;
	st->st_atim = st->st_mtim = st->st_ctim = b->start;
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, BFUSE_PATH))
		return -ENOENT;
	st->st_mode = S_IFREG | (b->info.readonly ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)b->size;
	st->st_blksize = b->info.sector_size ? b->info.sector_size : 512;
	st->st_blocks = (blkcnt_t)(b->size / 512);
	return 0;
}

static int bfuse_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
			 struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, BFUSE_FILE, NULL, 0, 0);
	return 0;
}

static int bfuse_open(const char *path, struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();

	if (!strcmp(path, "/"))
		return -EISDIR;
	if (strcmp(path, BFUSE_PATH))
		return -ENOENT;
	/* EROFS (not EACCES) so that losetup retries read-only. */
	if (b->info.readonly && (fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	/*
	 * direct_io: every read and write reaches us as the caller issued it, with no page cache
	 * of this file in the guest.  A loop device on top has its own page cache (or none with
	 * --direct-io=on, which this allows); a second cache under it would only double the memory
	 * and, for O_DIRECT callers like fio --direct=1, hide whether data reached the back-end.
	 * FUSE still splits a request into max_read/max_write pieces (1 MiB with libfuse 3 on a
	 * kernel that negotiates max_pages, else 128 KiB), which the library takes in any size.
	 * The cost is no mmap of the file, which loop, mkfs and fio do not need.  Without
	 * direct_io, losetup, mkfs and fio work too (FUSE's page cache is write-through), but
	 * every block is cached twice.  O_TRUNC is ignored, as on a block device (libfuse passes
	 * it to open with atomic_o_trunc, and nothing here truncates).
	 */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int bfuse_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();
	int r;

	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= b->size)
		return 0;
	if (size > b->size - (uint64_t)off)
		size = b->size - (uint64_t)off;
	if (size > INT_MAX / 2)
		size = INT_MAX / 2 / b->unit * b->unit;
	if (!size)
		return 0;
	r = bfuse_read_bytes(b, buf, (uint64_t)off, size);
	return r < 0 ? r : (int)size;
}

static int bfuse_write(const char *path, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();
	int r;

	(void)path;
	(void)fi;
	if (b->info.readonly)
		return -EROFS;
	if (off < 0)
		return -EINVAL;
	if (!size)
		return 0;
	/* A disk does not grow: a write at its end fails as on a block device. */
	if ((uint64_t)off >= b->size)
		return -ENOSPC;
	if (size > b->size - (uint64_t)off)
		size = b->size - (uint64_t)off;
	if (size > INT_MAX / 2)
		size = INT_MAX / 2 / b->unit * b->unit;
	r = bfuse_write_bytes(b, buf, (uint64_t)off, size);
	return r < 0 ? r : (int)size;
}

/* Make acknowledged writes durable; nothing to do on a read-only disk. */
static int bfuse_sync(struct bfuse *b)
{
	return b->info.readonly ? 0 : bfuse_op(b, BLKFRONT_FLUSH, NULL, 0, 0);
}

static int bfuse_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		return 0;
	return bfuse_sync(bfuse_get());
}

static int bfuse_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return bfuse_sync(bfuse_get());
}

/*
 * fallocate(PUNCH_HOLE | KEEP_SIZE) discards the whole units inside the range and writes zeros
 * over the partial ones at its edges.  Whether the discarded units then read back as zeros is
 * the back-end's affair (pvio-blkback punches a hole in a file image: zeros).
 */
static int bfuse_fallocate(const char *path, int mode, off_t off, off_t len,
			   struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();
	uint64_t end, in_start, in_end;
	int r = 0;

	(void)path;
	(void)fi;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (b->info.readonly)
		return -EROFS;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (!b->info.discard)
		return -EOPNOTSUPP;
	if ((uint64_t)off >= b->size)
		return 0;
	end = (uint64_t)len > b->size - (uint64_t)off ? b->size : (uint64_t)off + (uint64_t)len;
	in_start = ((uint64_t)off + b->unit - 1) / b->unit * b->unit;
	in_end = end / b->unit * b->unit;
	if (in_start >= in_end)
		return bfuse_write_bytes(b, b->zero, (uint64_t)off, end - (uint64_t)off);
	if (in_start > (uint64_t)off)
		r = bfuse_write_bytes(b, b->zero, (uint64_t)off, in_start - (uint64_t)off);
	if (!r && end > in_end)
		r = bfuse_write_bytes(b, b->zero, in_end, end - in_end);
	if (!r)
		r = bfuse_op(b, BLKFRONT_DISCARD, NULL, in_start, in_end - in_start);
	return r;
}

/* A disk's size is fixed: only a "truncate" to its own size succeeds. */
static int bfuse_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct bfuse *b = bfuse_get();

	(void)fi;
	if (strcmp(path, BFUSE_PATH))
		return -EISDIR;
	if (size < 0)
		return -EINVAL;
	return (uint64_t)size == b->size ? 0 : -EPERM;
}

static void *bfuse_fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* Paths are looked up per request; the attributes never change while mounted. */
	cfg->attr_timeout = 3600;
	cfg->entry_timeout = 3600;
	cfg->negative_timeout = 3600;
	cfg->direct_io = 1;
	return bfuse_get();
}

const struct fuse_operations bfuse_ops = {
	.init = bfuse_fs_init,
	.getattr = bfuse_getattr,
	.readdir = bfuse_readdir,
	.open = bfuse_open,
	.read = bfuse_read,
	.write = bfuse_write,
	.flush = bfuse_flush,
	.fsync = bfuse_fsync,
	.fallocate = bfuse_fallocate,
	.truncate = bfuse_truncate,
};
