/* SPDX-License-Identifier: MIT */
/*
 * grant-attack-shrink: a guest shares a page with the back-end, which maps it, and then tries
 * to shrink or grow its pool under the back-end (a SIGBUS there), and every other memfd
 * pvio-hv gave it: its own table, its status array, the victim's writable pool for it, an
 * active table and pin records.  Every
 * ftruncate fails with EPERM (the memfds are sealed), no seal can be added or taken away, and
 * the back-end reads the whole page and survives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"

#define TABLE_BYTES ((size_t)HVSIM_GNT_ENTRIES * sizeof(grant_entry_v1_t))

static int unresizable(int fd, const char *what)
{
	T_CHECK(ftruncate(fd, 0) < 0 && errno == EPERM, "ftruncate %s to 0: %s", what,
		strerror(errno));
	T_CHECK(ftruncate(fd, 1 << 30) < 0 && errno == EPERM, "ftruncate %s to 1 GiB: %s", what,
		strerror(errno));
	T_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM, "add a seal to %s",
		what);
	return 0;
}

/* Share one read-only page with the back-end by the raw protocol; the pool's fd. */
static int share(int sock, grant_entry_v1_t *table, domid_t back, grant_ref_t *ref, int *pool)
{
	uint32_t args[4] = { 1, back, 0, 0 };
	struct hvsim_msg rep;
	unsigned int n = 0;
	char *page;

	T_CHECK(t_rpc(sock, HVSIM_GRANT_ALLOC, args, 4, &rep, pool, 1, &n) == 0 && n == 1,
		"alloc: the pool's fd (%u fds)", n);
	page = mmap(NULL, HV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *pool,
		    (off_t)rep.arg[1] * HV_PAGE_SIZE);
	T_CHECK(page != MAP_FAILED, "map the page");
	memset(page, 0x5a, HV_PAGE_SIZE);
	munmap(page, HV_PAGE_SIZE);
	hvsim_grant_entry(&table[rep.arg[0]], back, rep.arg[1], false);
	*ref = rep.arg[0];
	return 0;
}

static int attack(struct ga_ctx *c)
{
	struct hvsim_msg hello, rep;
	grant_entry_v1_t *table;
	int sock, asock, hfds[3], afds[5], pool;
	uint32_t pages;
	grant_ref_t ref;

	T_CHECK(t_session_open(&sock, &hello, hfds) == 0, "session");
	table = mmap(NULL, TABLE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, hfds[0], 0);
	T_CHECK(table != MAP_FAILED, "map our table");
	T_CHECK(share(sock, table, c->r.back, &ref, &pool) == 0, "share");
	T_CHECK(ga_back_hold(c, c->r.attacker, ref) == 0, "the back-end maps our page");
	T_CHECK(unresizable(pool, "our pool") == 0, "pool");
	T_CHECK(unresizable(hfds[0], "our table") == 0, "table");
	T_CHECK(unresizable(hfds[2], "our status array") == 0, "status");
	T_CHECK(ga_attach(&asock, c->r.victim, afds, &pages) == 0, "attach to the victim");
	T_CHECK(unresizable(afds[2], "the victim's writable pool for us") == 0, "peer's pool");
	T_CHECK(unresizable(afds[3], "an active table") == 0, "active");
	T_CHECK(unresizable(afds[4], "pin records") == 0, "pin records");
	T_CHECK(ga_back_read(c) == 0, "the back-end read our page");
	T_CHECK(t_rpc(sock, HVSIM_GRANT_FREE, (uint32_t[]){ ref, 1 }, 2, &rep, NULL, 0, NULL) == 0,
		"end the share");
	close(asock);
	close(sock);
	return 0;
}

int main(void)
{
	return ga_run(attack);
}
