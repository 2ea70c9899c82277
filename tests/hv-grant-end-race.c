/* SPDX-License-Identifier: MIT */
/*
 * hv-grant-end-race: the pin protocol under contention.  A back-end maps and unmaps a grant as
 * fast as it can while its granter tries to end it; round after round, hv_grant_end succeeds
 * only while the back-end holds no map (it never sees the end while it holds one), and once it
 * succeeded every map of the ended entry fails with EPERM.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>

#include "tests/hv-test.h"

#define ROUNDS 300

/* Shared between the two domains' processes (an anonymous shared mapping made before fork). */
struct race {
	uint32_t round;	     /* the granter's round: ref is this round's grant */
	grant_ref_t ref;     /* written before round */
	uint32_t ended;	     /* the last round whose grant hv_grant_end ended */
	uint32_t ack;	     /* the last round the back-end saw ended */
	uint32_t busy, maps; /* -EBUSY ends and successful maps, for the log */
	domid_t granter;     /* written before the first round */
};

static struct race *sh;
static domid_t back_id;

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/* Map and unmap round r's grant until it is ended; never may the end land while we hold it. */
static int back_round(struct hv *hv, uint32_t r)
{
	grant_ref_t ref = sh->ref;
	void *p;
	int ret;

	while (load(&sh->ended) != r) {
		if (hv_grant_map(hv, sh->granter, 1, &ref, true, &p) < 0)
			continue;
		sh->maps++;
		T_CHECK(load(&sh->ended) != r, "round %u: ended while mapped", r);
		*(volatile char *)p = (char)r;
		sched_yield();
		T_CHECK(load(&sh->ended) != r, "round %u: ended while mapped", r);
		T_CHECK(hv_grant_unmap(hv, p, 1) == 0, "unmap");
	}
	ret = hv_grant_map(hv, sh->granter, 1, &ref, true, &p);
	T_CHECK(ret == -EPERM, "round %u: map after the end: %d", r, ret);
	store(&sh->ack, r);
	return 0;
}

static int back(void *arg)
{
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	for (uint32_t r = 1; r <= ROUNDS; r++) {
		while (load(&sh->round) < r)
			sched_yield();
		T_CHECK(back_round(hv, r) == 0, "back: round %u", r);
	}
	hv_close(hv);
	return 0;
}

static int granter(void *arg)
{
	struct hv *hv;
	void *page;
	int ret;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0 && hv_domid(hv, &sh->granter) == 0, "granter: hv_open");
	for (uint32_t r = 1; r <= ROUNDS; r++) {
		T_CHECK(hv_grant_share(hv, back_id, 1, true, &page, &sh->ref) == 0, "share");
		store(&sh->round, r);
		/* Give the back-end a chance to map before the first try. */
		sched_yield();
		while ((ret = hv_grant_end(hv, page, 1)) == -EBUSY) {
			sh->busy++;
			sched_yield();
		}
		T_CHECK(ret == 0, "round %u: end: %d", r, ret);
		store(&sh->ended, r);
		while (load(&sh->ack) != r)
			sched_yield();
	}
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t pb, pg;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_CHECK(sh != MAP_FAILED, "shared state");
	T_CHECK(t_domain_fork("back", back, NULL, &back_id, &pb) == 0, "fork back-end");
	T_CHECK(t_domain_fork("granter", granter, NULL, NULL, &pg) == 0, "fork granter");
	T_CHECK(t_wait(pg) == 0, "granter failed");
	T_CHECK(t_wait(pb) == 0, "back-end failed");
	printf("%u rounds: %u maps, %u ends refused while mapped\n", ROUNDS, sh->maps, sh->busy);
	return T_PASS;
}
