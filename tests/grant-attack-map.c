/* SPDX-License-Identifier: MIT */
/*
 * grant-attack-map: a guest maps grants not granted to it (the victim's grants to its
 * back-end, an ended grant, a ref never filled, a ref out of the table) and gets EPERM or
 * EINVAL, by map and by copy; and what its attachment to the victim hands over (table,
 * pools) holds none of the pages the victim shares with its back-end.  The victim and its
 * back-end keep working.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"

static int map_refused(struct hv *hv, domid_t granter, grant_ref_t ref, int want, const char *what)
{
	void *addr;
	int ret = hv_grant_map(hv, granter, 1, &ref, false, &addr);

	T_CHECK(ret == want, "map %s (ref %u): %d, want %d", what, ref, ret, want);
	return 0;
}

static int copy_refused(struct hv *hv, domid_t granter, grant_ref_t ref)
{
	char buf[64];
	struct hv_copy_seg seg = { .flags = GNTCOPY_source_gref, .len = sizeof(buf) };

	seg.source.foreign.domid = granter;
	seg.source.foreign.ref = ref;
	seg.dest.virt = buf;
	T_CHECK(hv_grant_copy(hv, 1, &seg) == 0 && seg.status == GNTST_permission_denied,
		"copy from the back-end's grant: status %d", seg.status);
	return 0;
}

/* Nothing any fd of the attachment maps holds the victim's secret. */
static int no_secret(int fd)
{
	struct stat st;
	size_t len;
	bool found;
	void *m;

	T_CHECK(fstat(fd, &st) == 0 && st.st_size > 0, "fstat");
	len = (size_t)st.st_size;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 0;
	found = memmem(m, len, GA_SECRET, strlen(GA_SECRET)) != NULL;
	munmap(m, len);
	T_CHECK(!found, "the victim's page for its back-end is readable through an attach fd");
	return 0;
}

static int attack(struct ga_ctx *c)
{
	const struct ga_refs *r = &c->r;
	uint32_t pages;
	struct hv *hv;
	char *page;
	int sock, fds[5];

	(void)pages;
	T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
	T_CHECK(!map_refused(hv, r->victim, r->back_rw, -EPERM, "a grant to the back-end") &&
		    !map_refused(hv, r->victim, r->back_ro, -EPERM, "a grant to the back-end") &&
		    !map_refused(hv, r->victim, r->att_ended, -EPERM, "an ended grant") &&
		    !map_refused(hv, r->victim, r->unused, -EPERM, "a ref never filled") &&
		    !map_refused(hv, r->victim, HVSIM_GNT_ENTRIES, -EINVAL, "a ref past the table"),
		"maps");
	T_CHECK(copy_refused(hv, r->victim, r->back_rw) == 0, "copy");
	T_CHECK(hv_grant_map(hv, r->victim, 1, &r->att_ro, false, (void **)&page) == 0 &&
		    !strcmp(page, GA_RO_TEXT) && hv_grant_unmap(hv, page, 1) == 0,
		"our own grant maps");
	hv_close(hv);
	T_CHECK(ga_attach(&sock, r->victim, fds, &pages) == 0, "attach to the victim");
	for (int i = 0; i < 5; i++) {
		if (fds[i] >= 0)
			T_CHECK(no_secret(fds[i]) == 0, "fd %d", i);
	}
	close(sock);
	return 0;
}

int main(void)
{
	return ga_run(attack);
}
