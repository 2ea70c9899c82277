/* SPDX-License-Identifier: MIT */
/*
 * grant-attack-table: a guest tries to rewrite the grant entries of a victim that shared a
 * page with it (to take over the victim's grant to its back-end): the table fd its attachment
 * hands over is read-only, so mmap PROT_WRITE, mprotect, write(2), pwrite(2) and a read-write
 * reopen as another uid all fail, and the victim's entry still names the back-end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"

#define TABLE_BYTES ((size_t)HVSIM_GNT_ENTRIES * sizeof(grant_entry_v1_t))

static int attack(struct ga_ctx *c)
{
	grant_entry_v1_t *t;
	uint32_t pages;
	int sock, fds[5], ret;

	T_CHECK(ga_attach(&sock, c->r.victim, fds, &pages) == 0, "attach to the victim");
	ret = ga_mmap_errno(fds[0], TABLE_BYTES, PROT_READ | PROT_WRITE);
	T_CHECK(ret == -EACCES, "mmap PROT_WRITE of the victim's table: %d, want %d", ret, -EACCES);
	t = mmap(NULL, TABLE_BYTES, PROT_READ, MAP_SHARED, fds[0], 0);
	T_CHECK(t != MAP_FAILED, "mmap the table read-only");
	T_CHECK(mprotect(t, TABLE_BYTES, PROT_READ | PROT_WRITE) < 0 && errno == EACCES,
		"mprotect the table writable");
	T_CHECK(pwrite(fds[0], &c->r.attacker, sizeof(domid_t),
		       (off_t)(c->r.back_rw * sizeof(*t) + 2)) < 0 &&
		    errno == EBADF,
		"pwrite into the table");
	T_CHECK(write(fds[0], "x", 1) < 0 && errno == EBADF, "write(2) into the table");
	ret = ga_reopen_as_other(fds[0], O_RDWR);
	T_CHECK(ret == -EACCES, "reopen the table read-write as another uid: %d, want %d", ret,
		-EACCES);
	T_CHECK(t[c->r.back_rw].domid == c->r.back, "the victim's entry names %u",
		t[c->r.back_rw].domid);
	munmap(t, TABLE_BYTES);
	close(sock);
	return 0;
}

int main(void)
{
	return ga_run(attack);
}
