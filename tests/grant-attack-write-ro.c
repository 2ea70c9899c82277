/* SPDX-License-Identifier: MIT */
/*
 * grant-attack-write-ro: a guest holding a read-only grant tries to write the page by every
 * route: a writable map, a grant copy into it, and on the read-only pool fd its attachment
 * hands over, mmap PROT_WRITE, mprotect of a read-only mapping, write(2), pwrite(2),
 * fallocate, ftruncate and a reopen of /proc/self/fd/N read-write as another uid.  Every one
 * fails, and the victim finds its page unchanged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"

static int by_hv(const struct ga_refs *r)
{
	struct hv_copy_seg seg = { .flags = GNTCOPY_dest_gref, .len = 8 };
	struct hv *hv;
	void *addr;
	int ret;

	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	ret = hv_grant_map(hv, r->victim, 1, &r->att_ro, true, &addr);
	T_CHECK(ret == -EACCES, "writable map of a read-only grant: %d, want %d", ret, -EACCES);
	seg.source.virt = "scribble";
	seg.dest.foreign.domid = r->victim;
	seg.dest.foreign.ref = r->att_ro;
	T_CHECK(hv_grant_copy(hv, 1, &seg) == 0 && seg.status == GNTST_permission_denied,
		"copy into a read-only grant: status %d", seg.status);
	hv_close(hv);
	return 0;
}

/* Every way to write through fd, a read-only fd of a pool of len bytes. */
static int by_fd(int fd, size_t len)
{
	void *m;
	int ret;

	ret = ga_mmap_errno(fd, len, PROT_READ | PROT_WRITE);
	T_CHECK(ret == -EACCES, "mmap PROT_WRITE of the read-only pool: %d, want %d", ret, -EACCES);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	T_CHECK(m != MAP_FAILED, "mmap PROT_READ");
	T_CHECK(mprotect(m, len, PROT_READ | PROT_WRITE) < 0 && errno == EACCES,
		"mprotect PROT_WRITE of the read-only pool");
	munmap(m, len);
	T_CHECK(write(fd, "x", 1) < 0 && errno == EBADF, "write(2) on the read-only pool");
	T_CHECK(pwrite(fd, "x", 1, 0) < 0 && errno == EBADF, "pwrite on the read-only pool");
	T_CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)len) < 0,
		"fallocate on the read-only pool");
	T_CHECK(ftruncate(fd, 0) < 0, "ftruncate of the read-only pool");
	ret = ga_reopen_as_other(fd, O_RDWR);
	T_CHECK(ret == -EACCES, "reopen read-write as another uid: %d, want %d", ret, -EACCES);
	return 0;
}

static int attack(struct ga_ctx *c)
{
	uint32_t pages;
	int sock, fds[5];

	T_CHECK(by_hv(&c->r) == 0, "through hv");
	T_CHECK(ga_attach(&sock, c->r.victim, fds, &pages) == 0, "attach to the victim");
	T_CHECK(by_fd(fds[1], (size_t)pages * HV_PAGE_SIZE) == 0, "through the pool fd");
	close(sock);
	return 0;
}

int main(void)
{
	return ga_run(attack);
}
