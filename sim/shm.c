/* SPDX-License-Identifier: MIT */
/*
 * shm.c - the shared-memory objects pvio-hv hands out: memfds of a fixed
 * size.  Every one is sealed against resizing because clients get them
 * read-write: a process that could shrink a grant table would make every
 * other mapper of it, and the daemon, fault with SIGBUS.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/hvd.h"

/*
 * A zero-filled memfd of size bytes (sparse: pages exist once touched),
 * sealed at that size; mapped shared into *map unless map is NULL.  With
 * daemon_only, only the daemon's mapping (made first) can ever write it: a
 * client can map it read-only and nothing more.  The fd or -errno.
 */
int hvd_shm_create(const char *name, size_t size, void **map, bool daemon_only)
{
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	void *p = NULL;
	int fd, ret;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	if (map) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			p = NULL;
			goto fail_errno;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, seals | (daemon_only ? F_SEAL_FUTURE_WRITE : 0)) < 0)
		goto fail_errno;
	if (map)
		*map = p;
	return fd;

fail_errno:
	ret = -errno;
	hvd_shm_destroy(fd, p, size);
	return ret;
}

/* Undo hvd_shm_create; either part may be absent (fd < 0, map NULL). */
void hvd_shm_destroy(int fd, void *map, size_t size)
{
	if (map)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
}
