/* SPDX-License-Identifier: MIT */
/*
 * hv-fd-budget: every descriptor pvio-hv holds for a guest counts in that guest's budget
 * (--max-domain-fds, issue 9 "Fair shares").  pvio-hv runs with a budget of BUDGET and session
 * and port limits far above it, so that only the budget can stop a guest.  One guest per route
 * takes descriptors until refused: sessions (3 each), event channels (an eventfd each), grant
 * attachments (pin records and an active table), pools (shares with many peers: 3 memfds per
 * peer).  Each must be refused with EMFILE (ENOSPC for ports, as Xen's port limit) having held
 * no more than its budget.  While all of them hold what they got, dom0 creates a domain and a
 * new guest maps a grant and writes through it.  Before the budget, a guest held sessions and
 * ports up to their own limits and pools without any, all from the pool every guest shares.
 */
#include "config.h"

#include <stdio.h>

#include "hv/simctl.h"
#include "tests/hv-test.h"

/* The attachment route ends with 3 left: a session fits, its attachment does not. */
#define BUDGET	   50u
#define BUDGET_OPT "50" /* BUDGET for the command line */
#define NR_PEERS   24u	/* more than BUDGET / 3: the pool route must hit the budget */
#define MAX_LOOPS  600u

enum route {
	R_SESSIONS,
	R_PORTS,
	R_ATTACH,
	R_POOLS,
	NR_ROUTES
};

static const char *const route_name[NR_ROUTES] = { "sessions", "ports", "attachments", "pools" };

/* Descriptors one unit of each route costs, past the route's first session. */
static const unsigned int route_cost[NR_ROUTES] = { 3, 1, 4, 3 };

struct result {
	int err;	    /* the refusal */
	unsigned int count; /* units held when refused */
	bool at_session;    /* refused at the unit's session, not at the unit itself */
};

static int go[NR_ROUTES][2], out[NR_ROUTES][2], done[2]; /* pipes: [1] written, [0] read */
static int to_a[2], a_refs[2], d_ref[2];
static domid_t a_id, peers[NR_PEERS];

/* A: shares one writable page with each domain id it is sent; answers with the ref. */
static int granter(void *arg)
{
	struct hv *hv;
	domid_t peer;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "A: hv_open");
	while (t_get(to_a[0], &peer, sizeof(peer)) == 0 && peer != DOMID_INVALID) {
		grant_ref_t ref;
		void *page;

		T_CHECK(hv_grant_share(hv, peer, 1, true, &page, &ref) == 0, "A: share with %u",
			peer);
		T_CHECK(t_put(a_refs[1], &ref, sizeof(ref)) == 0, "A: ref");
	}
	return 0;
}

static int take_sessions(struct result *r)
{
	struct hvsim_msg hello;
	int sock;

	while (r->count < MAX_LOOPS && !(r->err = t_session_open(&sock, &hello, NULL)))
		r->count++;
	return 0;
}

static int take_ports(struct hv *hv, struct result *r)
{
	evtchn_port_t port;

	while (r->count < MAX_LOOPS && !(r->err = hv_evtchn_alloc_unbound(hv, 0, &port)))
		r->count++;
	return 0;
}

/* Sessions that each attach A: a session and its pin records per unit. */
static int take_attachments(struct result *r)
{
	while (r->count < MAX_LOOPS) {
		struct hvsim_msg hello, rep;
		unsigned int n = 0;
		int sock, fds[5];

		r->err = t_session_open(&sock, &hello, NULL);
		r->at_session = r->err != 0;
		if (!r->err)
			r->err = t_rpc(sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ a_id }, 1, &rep, fds,
				       5, &n);
		while (n)
			close(fds[--n]);
		if (r->err)
			break;
		r->count++;
	}
	return 0;
}

static int take_pools(struct hv *hv, struct result *r)
{
	while (r->count < NR_PEERS) {
		grant_ref_t ref;
		void *page;

		r->err = hv_grant_share(hv, peers[r->count], 1, false, &page, &ref);
		if (r->err)
			break;
		r->count++;
	}
	return 0;
}

/* A guest that takes descriptors by one route until refused, then holds them. */
static int taker(void *arg)
{
	enum route route = (enum route)(long)arg;
	struct result r = { 0, 0, false };
	struct hv *hv = NULL;
	char c;

	T_CHECK(t_get(go[route][0], &c, 1) == 0, "%s: go", route_name[route]);
	if (route == R_PORTS || route == R_POOLS)
		T_CHECK(hv_open(&hv, NULL) == 0, "%s: hv_open", route_name[route]);
	if (route == R_SESSIONS)
		take_sessions(&r);
	else if (route == R_PORTS)
		take_ports(hv, &r);
	else if (route == R_ATTACH)
		take_attachments(&r);
	else
		take_pools(hv, &r);
	printf("%s: %u held, then %d (%s)\n", route_name[route], r.count, r.err, strerror(-r.err));
	fflush(stdout);
	T_CHECK(t_put(out[route][1], &r, sizeof(r)) == 0, "%s: report", route_name[route]);
	T_CHECK(t_get(done[0], &c, 1) == 0, "%s: done", route_name[route]);
	return 0;
}

/* The new guest: maps A's grant and writes through it. */
static int mapper(void *arg)
{
	grant_ref_t ref;
	struct hv *hv;
	void *addr;

	(void)arg;
	T_CHECK(t_get(d_ref[0], &ref, sizeof(ref)) == 0, "D: A's ref");
	T_CHECK(hv_open(&hv, NULL) == 0, "D: hv_open");
	T_CHECK(hv_grant_map(hv, a_id, 1, &ref, true, &addr) == 0, "D: map A's grant %u", ref);
	memset(addr, 0x5a, HV_PAGE_SIZE);
	T_CHECK(hv_grant_unmap(hv, addr, 1) == 0, "D: unmap");
	hv_close(hv);
	return 0;
}

/* A's share for peer: its ref in *ref. */
static int share_from_a(domid_t peer, grant_ref_t *ref)
{
	T_CHECK(t_put(to_a[1], &peer, sizeof(peer)) == 0 &&
		    t_get(a_refs[0], ref, sizeof(*ref)) == 0,
		"A's share with %u", peer);
	return 0;
}

static int route_check(enum route route, pid_t *pid)
{
	/* Its grant table (2) counts from its creation; ports and pools need a session first. */
	unsigned int base = 2 + (route == R_PORTS || route == R_POOLS ? 3 : 0);
	unsigned int max = (BUDGET - base - (route == R_ATTACH)) / route_cost[route];
	int want = route == R_PORTS ? -ENOSPC : -EMFILE;
	struct result r;
	domid_t id;

	T_CHECK(t_domain_fork(route_name[route], taker, (void *)(long)route, &id, pid) == 0,
		"fork %s", route_name[route]);
	if (route == R_ATTACH)
		T_CHECK(share_from_a(id, &(grant_ref_t){ 0 }) == 0, "A's share");
	T_CHECK(t_put(go[route][1], "g", 1) == 0 && t_get(out[route][0], &r, sizeof(r)) == 0,
		"%s's report", route_name[route]);
	T_CHECK(r.err == want, "%s refused with %d (%s), not %s", route_name[route], r.err,
		strerror(-r.err), strerror(-want));
	T_CHECK(route != R_ATTACH || !r.at_session, "attachments: refused at a session, not at "
						    "an attachment");
	T_CHECK(r.count <= max && r.count + 1 >= max, "%s: %u held, the budget allows %u",
		route_name[route], r.count, max);
	return 0;
}

int main(void)
{
	static const char *const opts[] = { "--max-domain-fds",
					    BUDGET_OPT,
					    "--max-sessions",
					    "1000",
					    "--max-ports",
					    "1000",
					    NULL };
	int tokens[NR_PEERS], token;
	pid_t pa, pd, pids[NR_ROUTES];
	struct hvctl *ctl;
	grant_ref_t ref;
	domid_t d_id;

	T_CHECK(t_hv_start_opts(opts) == 0, "pvio-hv did not start");
	for (int i = 0; i < NR_ROUTES; i++)
		T_CHECK(pipe(go[i]) == 0 && pipe(out[i]) == 0, "pipes");
	T_CHECK(pipe(done) == 0 && pipe(to_a) == 0 && pipe(a_refs) == 0 && pipe(d_ref) == 0,
		"pipes");
	T_CHECK(hvctl_open(&ctl, NULL) == 0, "dom0: control connection");
	for (unsigned int i = 0; i < NR_PEERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "peer%u", i);
		T_CHECK(hvctl_domain_create(ctl, name, 0, &peers[i], &tokens[i]) == 0, "create %s",
			name);
	}
	T_CHECK(t_domain_fork("A", granter, NULL, &a_id, &pa) == 0, "fork A");
	for (int i = 0; i < NR_ROUTES; i++)
		T_CHECK(route_check((enum route)i, &pids[i]) == 0, "route %d", i);
	/* Everyone holds what they got: dom0 creates a domain, a new guest maps a grant. */
	T_CHECK(hvctl_domain_create(ctl, "C", 0, &d_id, &token) == 0,
		"dom0: create a domain with every budget spent");
	close(token);
	T_CHECK(t_domain_fork("D", mapper, NULL, &d_id, &pd) == 0, "fork D");
	T_CHECK(share_from_a(d_id, &ref) == 0, "A's share with D");
	T_CHECK(t_put(d_ref[1], &ref, sizeof(ref)) == 0, "A's ref to D");
	T_CHECK(t_wait(pd) == 0, "D mapped A's grant");
	T_CHECK(t_put(to_a[1], &(domid_t){ DOMID_INVALID }, sizeof(domid_t)) == 0, "A: end");
	for (int i = 0; i < NR_ROUTES; i++)
		T_CHECK(t_put(done[1], "d", 1) == 0, "done");
	for (int i = 0; i < NR_ROUTES; i++)
		T_CHECK(t_wait(pids[i]) == 0, "%s", route_name[i]);
	T_CHECK(t_wait(pa) == 0, "A");
	hvctl_close(ctl);
	return T_PASS;
}
