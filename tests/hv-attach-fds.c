/* SPDX-License-Identifier: MIT */
/*
 * hv-attach-fds: the descriptors pvio-hv makes for GRANT_ATTACH count in what guests may hold
 * (issue 9, "Fair shares").  pvio-hv runs with a small descriptor limit (NOFILE below: a quarter
 * is dom0's reserve).  Domain A shares a page with domain B; B opens sessions in a loop and
 * attaches A's grants in each (every attachment is a pin-record memfd in pvio-hv), until pvio-hv
 * refuses with ENFILE or EMFILE, said clearly.  While B holds all it got, dom0 still creates a
 * domain, opens a session and allocates an event channel.  Uncounted, B's attachments ate dom0's
 * reserve and pvio-hv could not accept dom0 ("main socket: refused pid ...: Too many open
 * files").  (The guests' share is one pool: here B fills it, and a new guest would be refused.)
 */
#include "config.h"

#include <stdio.h>
#include <sys/resource.h>

#include "hv/simctl.h"
#include "tests/hv-test.h"

#define NOFILE	  512u
#define MAX_LOOPS 1000u

static int to_a[2], a_to_b[2], b_out[2], to_b[2]; /* pipes: [1] written, [0] read */
static domid_t a_id;

static int granter(void *arg)
{
	domid_t b_id;
	grant_ref_t ref;
	struct hv *hv;
	void *page;
	char c;

	(void)arg;
	T_CHECK(t_get(to_a[0], &b_id, sizeof(b_id)) == 0, "A: B's id");
	T_CHECK(hv_open(&hv, NULL) == 0 && hv_grant_share(hv, b_id, 1, true, &page, &ref) == 0,
		"A: share with B");
	T_CHECK(t_put(a_to_b[1], "s", 1) == 0, "A: shared");
	T_CHECK(t_get(to_a[0], &c, 1) == 0, "A: done");
	return 0;
}

/* B: sessions that attach A until refused; the refusal's errno goes to the parent. */
static int attacher(void *arg)
{
	int err = 0;
	char c;

	(void)arg;
	T_CHECK(t_get(a_to_b[0], &c, 1) == 0, "B: A shared");
	for (unsigned int i = 0; i < MAX_LOOPS && !err; i++) {
		struct hvsim_msg hello, rep;
		unsigned int n = 0;
		int sock, fds[5];

		err = t_session_open(&sock, &hello, NULL);
		if (err)
			break;
		err = t_rpc(sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ a_id }, 1, &rep, fds, 5, &n);
		while (n)
			close(fds[--n]);
	}
	printf("B: refused with %d (%s)\n", err, strerror(-err));
	T_CHECK(t_put(b_out[1], &err, sizeof(err)) == 0, "B: report");
	/* Hold every session until dom0 is done. */
	T_CHECK(t_get(to_b[0], &c, 1) == 0, "B: done");
	return 0;
}

/* dom0 while B holds everything: it creates a domain, opens a session, allocates a port. */
static int dom0_works(void)
{
	evtchn_port_t port;
	struct hvctl *ctl;
	struct hv *hv;
	domid_t id;
	int token;

	T_CHECK(hvctl_open(&ctl, NULL) == 0, "dom0: control connection");
	T_CHECK(hvctl_domain_create(ctl, "new", 0, &id, &token) == 0, "dom0: create a domain");
	close(token);
	hvctl_close(ctl);
	T_CHECK(hv_open(&hv, NULL) == 0, "dom0: hv_open");
	T_CHECK(hv_evtchn_alloc_unbound(hv, 0, &port) == 0, "dom0: event channel");
	hv_close(hv);
	return 0;
}

int main(void)
{
	struct rlimit rl = { NOFILE, NOFILE };
	domid_t b_id;
	pid_t pa, pb;
	int err;

	/* pvio-hv inherits it (it raises its soft limit to the hard one). */
	T_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(pipe(to_a) == 0 && pipe(a_to_b) == 0 && pipe(b_out) == 0 && pipe(to_b) == 0,
		"pipes");
	T_CHECK(t_domain_fork("A", granter, NULL, &a_id, &pa) == 0, "fork A");
	T_CHECK(t_domain_fork("B", attacher, NULL, &b_id, &pb) == 0, "fork B");
	T_CHECK(t_put(to_a[1], &b_id, sizeof(b_id)) == 0, "B's id to A");
	T_CHECK(t_get(b_out[0], &err, sizeof(err)) == 0, "B's report");
	T_CHECK(err == -ENFILE || err == -EMFILE, "B's attachments refused with %d, not ENFILE",
		err);
	/* dom0 keeps working while B holds everything it got. */
	T_CHECK(dom0_works() == 0, "dom0 with B's attachments held");
	T_CHECK(t_put(to_a[1], "d", 1) == 0 && t_put(to_b[1], "d", 1) == 0, "done");
	T_CHECK(t_wait(pa) == 0 && t_wait(pb) == 0, "A and B");
	return T_PASS;
}
