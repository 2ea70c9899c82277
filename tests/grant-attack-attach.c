/* SPDX-License-Identifier: MIT */
/*
 * grant-attack-attach: a guest attaches the grant table and pools of a domain that never
 * shared anything with it (the back-end) and gets EPERM, by the raw protocol and through
 * hv_grant_map; the victim and its back-end keep working.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"

static int attack(struct ga_ctx *c)
{
	grant_ref_t ref = GNTTAB_NR_RESERVED_ENTRIES;
	struct hv *hv;
	uint32_t pages;
	void *addr;
	int sock, fds[5], ret;

	ret = ga_attach(&sock, c->r.back, fds, &pages);
	T_CHECK(ret == -EPERM, "attach to the back-end, which shared nothing with us: %d, want %d",
		ret, -EPERM);
	close(sock);
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	ret = hv_grant_map(hv, c->r.back, 1, &ref, false, &addr);
	T_CHECK(ret == -EPERM, "map from the back-end: %d, want %d", ret, -EPERM);
	hv_close(hv);
	return 0;
}

int main(void)
{
	return ga_run(attack);
}
