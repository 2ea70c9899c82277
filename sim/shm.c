/* SPDX-License-Identifier: MIT */
/*
 * shm.c - the shared-memory objects pvio-hv hands out: memfds of a fixed
 * size.  Every one is sealed against resizing because clients get them
 * read-write: a process that could shrink a grant table or a pool would make
 * every other mapper of it, and the daemon, fault with SIGBUS.  Every one is
 * also mode 0 once made: a process that holds a read-only fd of it cannot
 * reopen it read-write through /proc/PID/fd/N unless it has the daemon's uid
 * or CAP_DAC_OVERRIDE, which no domain process has.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/hvd.h"

/* An O_RDONLY file description of the memfd fd: what a peer may only read gets this. */
static int reopen_ro(int fd)
{
	char path[64];
	int ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	return ro < 0 ? -errno : ro;
}

/*
 * A zero-filled memfd of size bytes (sparse: pages exist once touched),
 * sealed at that size; mapped shared into *map unless map is NULL; with
 * ro_fd, a read-only fd of it made before its mode drops to 0.  The fd or
 * -errno.
 */
static int shm_make(const char *name, size_t size, void **map, int seals, int *ro_fd)
{
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
	if (fcntl(fd, F_ADD_SEALS, seals) < 0)
		goto fail_errno;
	if (ro_fd) {
		ret = reopen_ro(fd);
		if (ret < 0)
			goto fail;
		*ro_fd = ret;
	}
	if (fchmod(fd, 0) < 0) {
		ret = -errno;
		if (ro_fd)
			close(*ro_fd);
		goto fail;
	}
	if (map)
		*map = p;
	return fd;

fail_errno:
	ret = -errno;
fail:
	hvd_shm_destroy(fd, p, size);
	return ret;
}

/* With daemon_only, only the daemon's mapping (made first) can ever write it. */
int hvd_shm_create(const char *name, size_t size, void **map, bool daemon_only)
{
	return shm_make(name, size, map,
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL |
			    (daemon_only ? F_SEAL_FUTURE_WRITE : 0),
			NULL);
}

/* The same, writable by whoever gets fd, and *ro_fd: an O_RDONLY fd of it. */
int hvd_shm_create_ro(const char *name, size_t size, void **map, int *ro_fd)
{
	return shm_make(name, size, map, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, ro_fd);
}

/* Undo hvd_shm_create; either part may be absent (fd < 0, map NULL). */
void hvd_shm_destroy(int fd, void *map, size_t size)
{
	if (map)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
}
