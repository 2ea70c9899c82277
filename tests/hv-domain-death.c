/* SPDX-License-Identifier: MIT */
/*
 * hv-domain-death: a back-end domain that maps a guest's grant and binds its
 * event channel dies without cleaning up, once by exiting and once by
 * SIGKILL.  The guest's port turns unbound and wakes it, the grant can be
 * ended (the dead domain's pins are gone), dom0's subscription reports the
 * death, and neither the guest nor pvio-hv is left with extra fds.
 */
#include "config.h"

#include <stdio.h>
#include <sys/wait.h>

#include "hv/simctl.h"
#include "tests/hv-test.h"

struct offer {
	domid_t guest;	    /* granter and port owner */
	grant_ref_t ref;    /* one writable page */
	evtchn_port_t port; /* unbound, for the back-end */
};

static struct t_link link_; /* a = guest, b = back */
static int ready[2];	    /* the back-end tells dom0 it holds its map and port */
static domid_t back_id;
static bool by_kill; /* the back-end waits to be killed instead of exiting */

static int back(void *arg)
{
	struct offer o;
	struct hv *hv;
	evtchn_port_t port;
	uint8_t *page;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(link_.ab[0], &o, sizeof(o)) == 0, "back: offer");
	T_CHECK(hv_grant_map(hv, o.guest, 1, &o.ref, true, (void **)&page) == 0, "map");
	T_CHECK(hv_evtchn_bind(hv, o.guest, o.port, &port) == 0, "bind");
	page[0] = 0x77;
	T_CHECK(t_put(link_.ba[1], "r", 1) == 0, "back: ready");
	T_CHECK(t_put(ready[1], "r", 1) == 0, "back: ready for dom0");
	if (by_kill)
		for (;;)
			pause();
	_exit(0); /* no unmap, no unbind, no hv_close */
}

/* Fd-neutral churn: loopback channels and self-grants, opened and closed. */
static int churn(struct hv *hv, domid_t self)
{
	evtchn_port_t a, b, got;
	grant_ref_t ref;
	void *page, *map;
	int i;

	for (i = 0; i < 50; i++) {
		T_CHECK(hv_evtchn_alloc_unbound(hv, self, &a) == 0, "loop alloc");
		T_CHECK(hv_evtchn_bind(hv, self, a, &b) == 0, "loop bind");
		T_CHECK(hv_evtchn_notify(hv, b) == 0, "loop notify");
		T_CHECK(t_event_wait(hv, a, 2000), "loop event");
		T_CHECK(hv_evtchn_unbind(hv, b) == 0 && hv_evtchn_unbind(hv, a) == 0,
			"loop unbind");
		while (hv_evtchn_pending(hv, &got) == 0)
			;
		T_CHECK(hv_grant_share(hv, self, 1, true, &page, &ref) == 0, "self share");
		T_CHECK(hv_grant_map(hv, self, 1, &ref, true, &map) == 0, "self map");
		T_CHECK(hv_grant_unmap(hv, map, 1) == 0, "self unmap");
		T_CHECK(hv_grant_end(hv, page, 1) == 0, "self end");
	}
	return 0;
}

static int guest(void *arg)
{
	struct offer o;
	struct hv *hv;
	uint8_t *page;
	int fds, i;
	char c;

	(void)arg;
	memset(&o, 0, sizeof(o)); /* it goes down a pipe: no stray padding */
	T_CHECK(hv_open(&hv, NULL) == 0, "guest: hv_open");
	T_CHECK(hv_domid(hv, &o.guest) == 0, "domid");
	T_CHECK(churn(hv, o.guest) == 0, "warm-up churn");
	fds = t_fd_count(getpid());
	T_CHECK(churn(hv, o.guest) == 0, "churn");
	T_CHECK(t_fd_count(getpid()) == fds, "fds leaked: %d -> %d", fds, t_fd_count(getpid()));
	T_CHECK(hv_grant_share(hv, back_id, 1, true, (void **)&page, &o.ref) == 0, "share");
	T_CHECK(hv_evtchn_alloc_unbound(hv, back_id, &o.port) == 0, "alloc");
	T_CHECK(t_put(link_.ab[1], &o, sizeof(o)) == 0, "guest: offer");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0, "guest: back ready");
	T_CHECK(page[0] == 0x77, "back-end wrote the page");
	T_CHECK(t_event_wait(hv, o.port, 10000), "wake-up on the back-end's death");
	T_CHECK(hv_evtchn_state(hv, o.port) == HV_EVTCHN_UNBOUND, "port unbound");
	for (i = 0; i < 500 && hv_grant_end(hv, page, 1) == -EBUSY; i++)
		t_msleep(10);
	T_CHECK(i < 500, "grant still mapped by a dead domain");
	T_CHECK(hv_evtchn_unbind(hv, o.port) == 0, "unbind");
	hv_close(hv);
	return 0;
}

static int run(int sub)
{
	domid_t dead;
	pid_t pb, pg;
	char c;

	T_CHECK(t_domain_fork("back", back, NULL, &back_id, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("guest", guest, NULL, NULL, &pg) == 0, "fork guest");
	T_CHECK(t_get(ready[0], &c, 1) == 0, "back-end never got ready");
	if (by_kill)
		kill(pb, SIGKILL);
	T_CHECK(t_wait(pg) == 0, "guest failed");
	T_CHECK(t_wait(pb) == (by_kill ? 128 + SIGKILL : 0), "back-end status");
	/* The guest's death, and a previous run's, may come first, in any order. */
	for (int i = 0; i < 4; i++) {
		T_CHECK(t_readable(sub, 5000) && hvctl_death_read(sub, &dead) == 0, "death notice");
		if (dead == back_id)
			break;
	}
	T_CHECK(dead == back_id, "back's death");
	return 0;
}

int main(void)
{
	int sub, daemon_fds;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(hvctl_subscribe(NULL, &sub) == 0, "subscribe");
	T_CHECK(t_link_init(&link_) == 0 && pipe(ready) == 0, "pipes");
	daemon_fds = t_fd_count(t_hv_pid());
	T_CHECK(run(sub) == 0, "back-end exits");
	by_kill = true;
	T_CHECK(run(sub) == 0, "back-end killed");
	for (int i = 0; i < 100 && t_fd_count(t_hv_pid()) != daemon_fds; i++)
		t_msleep(10);
	T_CHECK(t_fd_count(t_hv_pid()) == daemon_fds, "pvio-hv fds: %d -> %d", daemon_fds,
		t_fd_count(t_hv_pid()));
	return T_PASS;
}
