/* SPDX-License-Identifier: MIT */
/*
 * hv-grant-copy: a back-end copies to and from a guest's granted pages with
 * hv_grant_copy, and every bad segment gets its GNTST_* status while the
 * good segments of the same batch still go through.
 */
#include "config.h"

#include <stdio.h>

#include "tests/hv-test.h"

struct refs {
	domid_t guest;	   /* the granter */
	grant_ref_t rw[2]; /* writable to the back-end */
	grant_ref_t ro;	   /* read-only to the back-end */
};

static struct t_link link_; /* a = guest, b = back-end */
static domid_t back_id;

static void seg_from(struct hv_copy_seg *s, domid_t d, grant_ref_t ref, uint16_t off, void *to,
		     uint16_t len)
{
	memset(s, 0, sizeof(*s));
	s->source.foreign.domid = d;
	s->source.foreign.ref = ref;
	s->source.foreign.offset = off;
	s->dest.virt = to;
	s->len = len;
	s->flags = GNTCOPY_source_gref;
}

static void seg_to(struct hv_copy_seg *s, void *from, domid_t d, grant_ref_t ref, uint16_t off,
		   uint16_t len)
{
	memset(s, 0, sizeof(*s));
	s->source.virt = from;
	s->dest.foreign.domid = d;
	s->dest.foreign.ref = ref;
	s->dest.foreign.offset = off;
	s->len = len;
	s->flags = GNTCOPY_dest_gref;
}

static int back(void *arg)
{
	uint8_t page[HV_PAGE_SIZE], out[64];
	struct hv_copy_seg seg[8];
	struct refs r;
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(link_.ab[0], &r, sizeof(r)) == 0, "back: refs");
	memset(page, 0, sizeof(page));
	memset(out, 0xc3, sizeof(out));
	seg_from(&seg[0], r.guest, r.rw[0], 0, page, HV_PAGE_SIZE); /* whole page in */
	seg_to(&seg[1], out, r.guest, r.rw[1], 100, sizeof(out));   /* 64 bytes out */
	seg_to(&seg[2], out, r.guest, r.ro, 0, 8);		    /* write to ro */
	seg_from(&seg[3], r.guest, r.rw[0], 4000, page, 200);	    /* past the page */
	seg_from(&seg[4], r.guest, 0xfffffff0u, 0, page, 8);	    /* bad ref */
	seg_from(&seg[5], 0x7001, r.rw[0], 0, page, 8);		    /* no such domain */
	seg_from(&seg[6], r.guest, r.ro, 0, out, 16);		    /* read ro: fine */
	seg_to(&seg[7], out, r.guest, 9000, 0, 8);		    /* ungranted ref */
	T_CHECK(hv_grant_copy(hv, 8, seg) == 0, "grant copy call");
	T_CHECK(seg[0].status == GNTST_okay && page[0] == 0x11 && page[4095] == 0x11, "copy in");
	T_CHECK(seg[1].status == GNTST_okay, "copy out: %d", seg[1].status);
	T_CHECK(seg[2].status == GNTST_permission_denied, "ro dest: %d", seg[2].status);
	T_CHECK(seg[3].status == GNTST_bad_copy_arg, "past page: %d", seg[3].status);
	T_CHECK(seg[4].status == GNTST_bad_gntref, "bad ref: %d", seg[4].status);
	T_CHECK(seg[5].status == GNTST_bad_domain, "bad domain: %d", seg[5].status);
	T_CHECK(seg[6].status == GNTST_okay && out[0] == 0x22, "ro source: %d", seg[6].status);
	T_CHECK(seg[7].status == GNTST_permission_denied, "ungranted: %d", seg[7].status);
	T_CHECK(t_put(link_.ba[1], "c", 1) == 0, "back: copied");
	hv_close(hv);
	return 0;
}

static int guest(void *arg)
{
	uint8_t *rw, *ro;
	struct refs r;
	struct hv *hv;
	char ack;
	int i;

	(void)arg;
	memset(&r, 0, sizeof(r)); /* it goes down a pipe: no stray padding */
	T_CHECK(hv_open(&hv, NULL) == 0, "guest: hv_open");
	T_CHECK(hv_domid(hv, &r.guest) == 0, "domid");
	T_CHECK(hv_grant_share(hv, back_id, 2, true, (void **)&rw, r.rw) == 0, "share rw");
	T_CHECK(hv_grant_share(hv, back_id, 1, false, (void **)&ro, &r.ro) == 0, "share ro");
	memset(rw, 0x11, HV_PAGE_SIZE);
	memset(ro, 0x22, HV_PAGE_SIZE);
	T_CHECK(t_put(link_.ab[1], &r, sizeof(r)) == 0, "guest: send refs");
	T_CHECK(t_get(link_.ba[0], &ack, 1) == 0, "guest: copied");
	for (i = 0; i < 64; i++)
		T_CHECK(rw[HV_PAGE_SIZE + 100 + i] == 0xc3, "copied out byte %d", i);
	T_CHECK(rw[HV_PAGE_SIZE + 99] == 0 && rw[HV_PAGE_SIZE + 164] == 0, "copy stayed in range");
	T_CHECK(ro[0] == 0x22, "read-only page untouched");
	/* Copies pin only while they run: access ends at once. */
	T_CHECK(hv_grant_end(hv, rw, 2) == 0 && hv_grant_end(hv, ro, 1) == 0, "end after copy");
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t pb, pg;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_link_init(&link_) == 0, "pipes");
	T_CHECK(t_domain_fork("back", back, NULL, &back_id, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	T_CHECK(t_wait(pg) == 0, "guest failed");
	T_CHECK(t_wait(pb) == 0, "back-end failed");
	return T_PASS;
}
