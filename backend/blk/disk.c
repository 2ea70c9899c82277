/* SPDX-License-Identifier: MIT */
/*
 * disk.c - the backing store of a virtual disk: a regular file or a block device.
 *
 * O_DIRECT is used where the target allows it.  Whether it does is decided by probe reads,
 * not by the open alone: some filesystems accept O_DIRECT at open and refuse the I/O with
 * EINVAL (and some refuse 512-byte alignment, which we advertise for files).  A file's
 * geometry comes from fstat; a block device's from its ioctls and, for discard, from sysfs.
 * A loop device in buffered mode is served from its backing file (loop_bypass).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/major.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/blk/blkback.h"

/* The probe's buffer and largest transfer: one page, aligned for any logical block size. */
#define PROBE_SIZE 4096u

/* Whether O_DIRECT reads work on fd: an aligned page at 0, and for a file a 512-byte read. */
static bool direct_works(int fd, bool blockdev)
{
	void *buf;
	bool ok = true;

	if (posix_memalign(&buf, PROBE_SIZE, 2 * PROBE_SIZE))
		return false;
	if (pread(fd, buf, PROBE_SIZE, 0) < 0 && errno == EINVAL)
		ok = false;
	/* Files are advertised with 512-byte sectors: the filesystem must take that too. */
	if (ok && !blockdev && pread(fd, (char *)buf + 512, 512, 0) < 0 && errno == EINVAL)
		ok = false;
	free(buf);
	return ok;
}

/*
 * How a path beneath a storage directory is resolved: never above the directory (`..` past it,
 * an absolute path or an absolute symlink: EXDEV), never through a /proc magic link (ELOOP).
 * Relative symlinks that stay beneath are followed: images are often linked within a pool.
 */
#define BENEATH_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

/*
 * Without openat2 (Linux before 5.6, or valgrind, which does not know it): walk rel one
 * component at a time with O_NOFOLLOW, stricter than BENEATH_RESOLVE: no `..` (EXDEV) and no
 * symlink at all (ELOOP, or ENOTDIR for a directory's), so nothing can lead out of dirfd.
 */
static int open_walk(int dirfd, const char *rel, int flags)
{
	char buf[PATH_MAX], *comp, *next;
	int fd = dirfd, nfd;

	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	for (comp = buf; comp; comp = next) {
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		if (!strcmp(comp, ".."))
			nfd = -EXDEV;
		else if (next)
			nfd = openat(fd, *comp ? comp : ".",
				     O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		else
			nfd = openat(fd, comp, flags | O_NOFOLLOW);
		if (nfd < 0 && nfd != -EXDEV)
			nfd = -errno;
		if (fd != dirfd)
			close(fd);
		if (nfd < 0)
			return nfd;
		fd = nfd;
	}
	return fd;
}

/* Open path (dirfd < 0) or rel beneath dirfd (BENEATH_RESOLVE): the fd or a negative errno. */
static int open_at(int dirfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags, .resolve = BENEATH_RESOLVE };
	long fd;

	if (dirfd < 0)
		fd = open(path, flags);
	else
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS && dirfd >= 0)
		return open_walk(dirfd, path, flags);
	return fd < 0 ? -errno : (int)fd;
}

/* Open path (see open_at), O_DIRECT if the probe allows: the fd or a negative errno. */
static int open_probed(int dirfd, const char *path, bool readonly, bool *direct)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	int fd;

	fd = open_at(dirfd, path, flags | O_DIRECT);
	if (fd >= 0 && fstat(fd, &st) == 0 && direct_works(fd, S_ISBLK(st.st_mode))) {
		*direct = true;
		return fd;
	}
	if (fd < 0 && fd != -EINVAL)
		return fd;
	if (fd >= 0)
		close(fd);
	*direct = false;
	return open_at(dirfd, path, flags);
}

/* Read an unsigned number from sysfs: 0 or a negative errno. */
static int sysfs_read(const char *path, uint64_t *val)
{
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%" SCNu64, val) != 1)
		rc = -EINVAL;
	fclose(f);
	return rc;
}

/* A queue attribute of the device, or of the disk it is a partition of. */
static int queue_attr(dev_t dev, const char *attr, uint64_t *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s", major(dev), minor(dev), attr);
	if (sysfs_read(path, val) == 0)
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/%s", major(dev), minor(dev),
		 attr);
	return sysfs_read(path, val);
}

/* Discard of a block device, from its queue limits in sysfs. */
static void blockdev_discard(struct blkback_disk *d, dev_t dev)
{
	char path[128];
	uint64_t v;

	d->discard = queue_attr(dev, "discard_max_bytes", &v) == 0 && v > 0;
	if (!d->discard)
		return;
	d->discard_granularity = d->sector_size;
	if (queue_attr(dev, "discard_granularity", &v) == 0 && v >= 512 && v <= UINT32_MAX)
		d->discard_granularity = (unsigned int)v;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/discard_alignment", major(dev),
		 minor(dev));
	if (sysfs_read(path, &v) == 0 && v <= UINT32_MAX)
		d->discard_alignment = (unsigned int)v;
	/*
	 * Secure erase cannot be asked about cheaply (no sysfs attribute; an ioctl probe would
	 * have to erase something), so BLKIF_DISCARD_SECURE is not offered.
	 */
	d->secure_discard = false;
}

static int blockdev_geometry(struct blkback_disk *d, dev_t dev)
{
	uint64_t bytes;
	unsigned int pbs;
	int lbs;

	if (ioctl(d->fd, BLKGETSIZE64, &bytes) < 0 || ioctl(d->fd, BLKSSZGET, &lbs) < 0)
		return -errno;
	if (lbs < 512 || lbs > 65536 || (lbs & (lbs - 1)))
		return -EINVAL;
	d->sector_size = (unsigned int)lbs;
	d->physical_sector_size = d->sector_size;
	if (ioctl(d->fd, BLKPBSZGET, &pbs) == 0 && pbs >= d->sector_size)
		d->physical_sector_size = pbs;
	d->sectors = bytes >> BLKBACK_SECTOR_SHIFT;
	blockdev_discard(d, dev);
	return 0;
}

static int file_geometry(struct blkback_disk *d, const struct stat *st)
{
	unsigned int blksize = st->st_blksize > 0 ? (unsigned int)st->st_blksize : 512;

	if (st->st_size % 512)
		return -EINVAL;
	d->sectors = (uint64_t)st->st_size >> BLKBACK_SECTOR_SHIFT;
	d->sector_size = 512;
	d->physical_sector_size = blksize < 512 ? 512 : blksize > 4096 ? 4096 : blksize;
	d->discard = true; /* punch hole; a filesystem without it answers EOPNOTSUPP */
	d->discard_granularity = blksize < 512 ? 512 : blksize;
	d->discard_alignment = 0;
	d->secure_discard = false;
	return 0;
}

/* The backing file's path of whole loop device dev, from sysfs: 0 or a negative errno. */
static int loop_backing_path(dev_t dev, char *buf, size_t len)
{
	char path[96];
	ssize_t n;
	int fd;

	/* A partition of a loop device has no loop/ directory: only whole devices answer. */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(dev),
		 minor(dev));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	if (n == 0 || (size_t)n == len || buf[0] != '/')
		return -EINVAL;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* Open path with no symbolic link anywhere in it (sysfs names the file's own path). */
static int open_nolinks(const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = open(path, flags | O_NOFOLLOW);
	return fd < 0 ? -errno : (int)fd;
}

/* The loop's status: 0, or -1 where it has none or is not one to bypass (blkback.h). */
static int loop_status(const struct blkback_disk *d, struct loop_info64 *info)
{
	memset(info, 0, sizeof(*info));
	if (ioctl(d->fd, LOOP_GET_STATUS64, info) < 0 || info->lo_encrypt_type != LO_CRYPT_NONE ||
	    (info->lo_flags & LO_FLAGS_DIRECT_IO) ||
	    ((info->lo_flags & LO_FLAGS_READ_ONLY) && !d->readonly) ||
	    info->lo_offset > (uint64_t)INT64_MAX)
		return -1;
	return 0;
}

/*
 * d is a block device just opened: if it is a whole loop device in buffered mode over a
 * regular file we may open the same way, serve the file (blkback.h, blkback_disk_open).
 * Anything else, or any failure, leaves d as it is: the device is then served itself.
 */
static void loop_bypass(struct blkback_disk *d, dev_t dev)
{
	struct loop_info64 info, again;
	char path[PATH_MAX + 1];
	uint64_t bytes = d->sectors << BLKBACK_SECTOR_SHIFT, now;
	struct stat st;
	int fd;

	if (major(dev) != LOOP_MAJOR || loop_backing_path(dev, path, sizeof(path)) < 0 ||
	    loop_status(d, &info) < 0)
		return;
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the open. */
	fd = open_nolinks(path,
			  (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return;
	/*
	 * The file must be the loop's, and the window [offset, offset + the size the geometry
	 * read) one the loop has: the same status before and after the size is read again (a
	 * LOOP_SET_STATUS64 meanwhile would otherwise pair a new offset with the old size), within
	 * the size limit and the file.
	 */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != info.lo_device ||
	    (uint64_t)st.st_ino != info.lo_inode || ioctl(d->fd, BLKGETSIZE64, &now) < 0 ||
	    now >> BLKBACK_SECTOR_SHIFT != d->sectors || loop_status(d, &again) < 0 ||
	    again.lo_device != info.lo_device || again.lo_inode != info.lo_inode ||
	    again.lo_offset != info.lo_offset || again.lo_sizelimit != info.lo_sizelimit ||
	    (info.lo_sizelimit && bytes > info.lo_sizelimit) || st.st_size < 0 ||
	    info.lo_offset > (uint64_t)st.st_size ||
	    bytes > (uint64_t)st.st_size - info.lo_offset || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return;
	}
	d->loop_fd = d->fd;
	d->loop_held = true;
	d->fd = fd;
	d->base = info.lo_offset;
	d->direct = false;
}

static int disk_open_at(struct blkback_disk *d, int dirfd, const char *path, bool readonly)
{
	struct stat st;
	int rc;

	memset(d, 0, sizeof(*d));
	d->loop_fd = -1;
	d->fd = open_probed(dirfd, path, readonly, &d->direct);
	if (d->fd < 0) {
		rc = d->fd;
		goto fail;
	}
	d->readonly = readonly;
	if (fstat(d->fd, &st) < 0) {
		rc = -errno;
		goto close_fd;
	}
	d->blockdev = S_ISBLK(st.st_mode);
	if (d->blockdev) {
		rc = blockdev_geometry(d, st.st_rdev);
		if (rc == 0)
			loop_bypass(d, st.st_rdev);
	} else if (S_ISREG(st.st_mode))
		rc = file_geometry(d, &st);
	else
		rc = -EINVAL;
	if (rc < 0)
		goto close_fd;
	return 0;

close_fd:
	close(d->fd);
fail:
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->loop_fd = -1;
	return rc;
}

int blkback_disk_open(struct blkback_disk *d, const char *path, bool readonly)
{
	if (!d || !path)
		return -EINVAL;
	return disk_open_at(d, -1, path, readonly);
}

/* The storage directory whose path is the longest prefix of path, ending at a '/'; or NULL. */
static const struct blkback_storage_dir *storage_find(const struct blkback_storage *s,
						      const char *path)
{
	const struct blkback_storage_dir *best = NULL;
	size_t best_len = 0;

	for (unsigned int i = 0; s && i < s->nr; i++) {
		size_t len = strlen(s->dirs[i].path);

		while (len > 1 && s->dirs[i].path[len - 1] == '/')
			len--;
		if (len > best_len && !strncmp(path, s->dirs[i].path, len) &&
		    (path[len] == '/' || s->dirs[i].path[len - 1] == '/')) {
			best = &s->dirs[i];
			best_len = len;
		}
	}
	return best;
}

int blkback_disk_open_beneath(struct blkback_disk *d, const struct blkback_storage *s,
			      const char *path, bool readonly)
{
	const struct blkback_storage_dir *dir;
	const char *rel;

	if (!d || !path)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->loop_fd = -1;
	dir = path[0] == '/' ? storage_find(s, path) : NULL;
	if (!dir)
		return -EXDEV;
	for (rel = path + strlen(dir->path); *rel == '/'; rel++)
		;
	if (!*rel) /* the directory itself */
		return -EINVAL;
	return disk_open_at(d, dir->fd, rel, readonly);
}

void blkback_disk_close(struct blkback_disk *d)
{
	/* A zeroed disk has fd 0 but no sector size: it was never opened. */
	if (!d || d->fd < 0 || d->sector_size == 0)
		return;
	close(d->fd);
	if (d->loop_held)
		close(d->loop_fd);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->loop_fd = -1;
}
