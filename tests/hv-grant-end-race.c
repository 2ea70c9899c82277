/* SPDX-License-Identifier: MIT */
/*
 * hv-grant-end-race: the pin protocol under contention.  A back-end maps and unmaps a grant as
 * fast as it can while its granter tries to end it; round after round, hv_grant_end succeeds
 * only while the back-end holds no map (it never sees the end while it holds one), and once it
 * succeeded every map of the ended entry fails with EPERM.
 *
 * Bounded under any load: after END_TRIES refusals in a round the granter asks the back-end to
 * stop mapping, so every round ends; the two wait for each other's rounds on futexes, not by
 * spinning; both die with the test (its time limit included), leaving no CPU burner behind.
 */
#include "config.h"

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/hv-test.h"

#define ROUNDS	  300
#define END_TRIES 100 /* refusals in a round before the granter asks the back-end to stop */

/* Shared between the two domains' processes (an anonymous shared mapping made before fork). */
struct race {
	uint32_t round;	     /* the granter's round: ref is this round's grant */
	grant_ref_t ref;     /* written before round */
	uint32_t ended;	     /* the last round whose grant hv_grant_end ended */
	uint32_t ack;	     /* the last round the back-end saw ended */
	uint32_t stop;	     /* the last round whose grant the back-end must stop mapping */
	uint32_t busy, maps; /* -EBUSY ends and successful maps, for the log */
	domid_t granter;     /* written before the first round */
};

static struct race *sh;
static domid_t back_id;
static pid_t test_pid;

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/* Store v and wake the other process if it waits for *p. */
static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, p, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Sleep until *p == v (the other side's store wakes us). */
static void wait_for(uint32_t *p, uint32_t v)
{
	uint32_t now;

	while ((now = load(p)) != v)
		syscall(SYS_futex, p, FUTEX_WAIT, now, NULL, NULL, 0);
}

/* A domain process dies with the test, however that ends (its alarm's _exit included). */
static int die_with_test(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != test_pid)
		return -1;
	return 0;
}

/* Map and unmap round r's grant until it is ended; never may the end land while we hold it. */
static int back_round(struct hv *hv, uint32_t r)
{
	grant_ref_t ref = sh->ref;
	void *p;
	int ret;

	while (load(&sh->ended) != r && load(&sh->stop) != r) {
		ret = hv_grant_map(hv, sh->granter, 1, &ref, true, &p);
		if (ret == -EPERM) /* ended: sh->ended follows */
			continue;
		T_CHECK(ret == 0, "round %u: map: %d", r, ret);
		sh->maps++;
		T_CHECK(load(&sh->ended) != r, "round %u: ended while mapped", r);
		*(volatile char *)p = (char)r;
		sched_yield();
		T_CHECK(load(&sh->ended) != r, "round %u: ended while mapped", r);
		T_CHECK(hv_grant_unmap(hv, p, 1) == 0, "unmap");
	}
	wait_for(&sh->ended, r);
	ret = hv_grant_map(hv, sh->granter, 1, &ref, true, &p);
	T_CHECK(ret == -EPERM, "round %u: map after the end: %d", r, ret);
	store(&sh->ack, r);
	return 0;
}

static int back(void *arg)
{
	struct hv *hv;

	(void)arg;
	T_CHECK(die_with_test() == 0, "back: the test is gone");
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	for (uint32_t r = 1; r <= ROUNDS; r++) {
		wait_for(&sh->round, r);
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
	T_CHECK(die_with_test() == 0, "granter: the test is gone");
	T_CHECK(hv_open(&hv, NULL) == 0 && hv_domid(hv, &sh->granter) == 0, "granter: hv_open");
	for (uint32_t r = 1; r <= ROUNDS; r++) {
		T_CHECK(hv_grant_share(hv, back_id, 1, true, &page, &sh->ref) == 0, "share");
		store(&sh->round, r);
		/* Give the back-end a chance to map before the first try. */
		sched_yield();
		for (unsigned int tries = 1; (ret = hv_grant_end(hv, page, 1)) == -EBUSY; tries++) {
			sh->busy++;
			if (tries == END_TRIES) /* its maps are over once its last unmap is */
				store(&sh->stop, r);
			sched_yield();
		}
		T_CHECK(ret == 0, "round %u: end: %d", r, ret);
		store(&sh->ended, r);
		wait_for(&sh->ack, r);
	}
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t pb, pg;

	test_pid = getpid();
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
