/* SPDX-License-Identifier: MIT */
/*
 * hv-grant-map: a guest grants pages to a back-end domain, which maps them;
 * every refusal path of a map (bad ref, wrong domid, read-only, no such
 * domain), and end-access refused while mapped, allowed after unmap.
 * Runs twice: with the pool views, and with PVIO_SIM_STRICT_MAP=1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/hv-test.h"

#define NPAGES 4

struct refs {
	domid_t guest;		/* the granter */
	grant_ref_t rw[NPAGES]; /* writable to the back-end */
	grant_ref_t ro;		/* read-only to the back-end */
	grant_ref_t other;	/* granted to a third domain */
};

struct ctx {
	struct t_link link; /* a = guest, b = back-end */
	domid_t back, other;
};

static struct ctx ctx;

static int back_refusals(struct hv *hv, const struct refs *r)
{
	grant_ref_t bad = 0xffffffffu, never = 9000;
	void *p;

	T_CHECK(hv_grant_map(hv, r->guest, 1, &r->ro, true, &p) == -EACCES, "rw map of ro");
	T_CHECK(hv_grant_map(hv, r->guest, 1, &r->other, false, &p) == -EPERM, "other's grant");
	T_CHECK(hv_grant_map(hv, r->guest, 1, &bad, false, &p) == -EINVAL, "ref 0xffffffff");
	T_CHECK(hv_grant_map(hv, r->guest, 1, &never, false, &p) == -EPERM, "ungranted ref");
	T_CHECK(hv_grant_map(hv, 0x7000, 1, &r->ro, false, &p) == -ESRCH, "no such domain");
	/* All or nothing: one bad ref in a batch fails the batch and pins nothing. */
	grant_ref_t mixed[2] = { r->rw[0], never };
	T_CHECK(hv_grant_map(hv, r->guest, 2, mixed, true, &p) == -EPERM, "mixed batch");
	return 0;
}

static int back(void *arg)
{
	struct hv *hv;
	struct refs r;
	uint8_t *rw, *ro;
	char go;
	int i;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(ctx.link.ab[0], &r, sizeof(r)) == 0, "back: refs");
	T_CHECK(hv_grant_map(hv, r.guest, NPAGES, r.rw, true, (void **)&rw) == 0, "map rw");
	for (i = 0; i < NPAGES; i++)
		T_CHECK(rw[i * HV_PAGE_SIZE] == 0xa0 + i, "page %d pattern", i);
	memset(rw, 0x5b, NPAGES * HV_PAGE_SIZE);
	T_CHECK(hv_grant_map(hv, r.guest, 1, &r.ro, false, (void **)&ro) == 0, "map ro");
	T_CHECK(ro[17] == 0x17, "ro page content");
	T_CHECK(back_refusals(hv, &r) == 0, "refusals");
	T_CHECK(t_put(ctx.link.ba[1], "m", 1) == 0, "back: mapped");
	T_CHECK(t_get(ctx.link.ab[0], &go, 1) == 0, "back: wait unmap");
	T_CHECK(hv_grant_unmap(hv, rw, NPAGES) == 0, "unmap rw");
	T_CHECK(hv_grant_unmap(hv, rw, NPAGES) == -EINVAL, "double unmap");
	T_CHECK(t_put(ctx.link.ba[1], "u", 1) == 0, "back: unmapped");
	T_CHECK(t_get(ctx.link.ab[0], &go, 1) == 0, "back: wait end");
	hv_close(hv); /* leaves ro mapped: close drops the pin */
	return 0;
}

static int guest_share(struct hv *hv, struct refs *r, uint8_t **rw, uint8_t **ro, uint8_t **oth)
{
	int i;

	memset(r, 0, sizeof(*r)); /* it goes down a pipe: no stray padding */
	T_CHECK(hv_domid(hv, &r->guest) == 0, "domid");
	T_CHECK(hv_grant_share(hv, ctx.back, NPAGES, true, (void **)rw, r->rw) == 0, "share rw");
	for (i = 0; i < NPAGES; i++)
		T_CHECK((*rw)[i * HV_PAGE_SIZE + 9] == 0, "shared pages come zeroed");
	for (i = 0; i < NPAGES; i++)
		(*rw)[i * HV_PAGE_SIZE] = (uint8_t)(0xa0 + i);
	T_CHECK(hv_grant_share(hv, ctx.back, 1, false, (void **)ro, &r->ro) == 0, "share ro");
	(*ro)[17] = 0x17;
	T_CHECK(hv_grant_share(hv, ctx.other, 1, true, (void **)oth, &r->other) == 0, "share 3rd");
	return 0;
}

static int guest(void *arg)
{
	struct hv *hv;
	struct refs r;
	uint8_t *rw, *ro, *oth;
	char ack;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "guest: hv_open");
	T_CHECK(guest_share(hv, &r, &rw, &ro, &oth) == 0, "guest: share");
	T_CHECK(t_put(ctx.link.ab[1], &r, sizeof(r)) == 0, "guest: send refs");
	T_CHECK(t_get(ctx.link.ba[0], &ack, 1) == 0 && ack == 'm', "guest: mapped");
	T_CHECK(rw[5] == 0x5b && rw[NPAGES * HV_PAGE_SIZE - 1] == 0x5b, "back-end's writes");
	T_CHECK(hv_grant_end(hv, rw, NPAGES) == -EBUSY, "end while mapped");
	T_CHECK(hv_grant_end(hv, ro, 1) == -EBUSY, "end ro while mapped");
	T_CHECK(hv_grant_end(hv, oth, 1) == 0, "end unmapped");
	T_CHECK(t_put(ctx.link.ab[1], "x", 1) == 0, "guest: unmap please");
	T_CHECK(t_get(ctx.link.ba[0], &ack, 1) == 0 && ack == 'u', "guest: unmapped");
	T_CHECK(hv_grant_end(hv, rw, NPAGES) == 0, "end after unmap");
	T_CHECK(hv_grant_end(hv, rw, NPAGES) == -ENOENT, "end twice");
	T_CHECK(t_put(ctx.link.ab[1], "x", 1) == 0, "guest: close please");
	/* The back-end's exit drops its last pin (hv_close, then the process goes). */
	for (int i = 0; i < 200 && hv_grant_end(hv, ro, 1) == -EBUSY; i++)
		t_msleep(10);
	T_CHECK(hv_grant_end(hv, ro, 1) == -ENOENT, "ro ended after the back-end closed");
	hv_close(hv);
	return 0;
}

static int run(void)
{
	pid_t pb, pg, po;

	T_CHECK(t_link_init(&ctx.link) == 0, "pipes");
	T_CHECK(t_domain_fork("other", t_idle, NULL, &ctx.other, &po) == 0, "fork other");
	T_CHECK(t_domain_fork("back", back, NULL, &ctx.back, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	T_CHECK(t_wait(pg) == 0, "guest failed");
	T_CHECK(t_wait(pb) == 0, "back-end failed");
	kill(po, SIGTERM);
	t_wait(po);
	return 0;
}

int main(void)
{
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(run() == 0, "with pool views");
	setenv("PVIO_SIM_STRICT_MAP", "1", 1);
	T_CHECK(run() == 0, "with PVIO_SIM_STRICT_MAP=1");
	return T_PASS;
}
