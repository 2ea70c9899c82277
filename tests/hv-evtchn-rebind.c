/* SPDX-License-Identifier: MIT */
/*
 * hv-evtchn-rebind: as on Xen (evtchn_close of an ECS_INTERDOMAIN port), when the process
 * holding one end of an interdomain channel dies, the other end reverts to unbound toward the
 * same domain, and a new process of that domain can bind it again.  The back domain binds the
 * front's port from a child process, which is then killed with SIGKILL; the front sees its port
 * unbound; a third domain cannot bind it; a new process of the back domain binds it, and events
 * flow both ways.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "tests/hv-test.h"

struct hello {
	domid_t front;	    /* the domain that allocated the port */
	evtchn_port_t port; /* unbound, for the back domain */
};

static struct t_link link_;	 /* a = front, b = back */
static struct t_link third_link; /* a = front, b = third */
static domid_t back_id;

/* One event each way over port, this side first when first. */
static int both_ways(struct hv *hv, evtchn_port_t port, bool first)
{
	if (first)
		T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify");
	T_CHECK(t_event_wait(hv, port, 5000), "event");
	if (!first)
		T_CHECK(hv_evtchn_notify(hv, port) == 0, "notify back");
	return 0;
}

/* A process of the back domain: bind the front's port and say so, then wait (to be killed). */
static void binder(const struct hello *h)
{
	evtchn_port_t port;
	struct hv *hv;

	if (hv_open(&hv, NULL) || hv_evtchn_bind(hv, h->front, h->port, &port))
		_exit(1);
	if (t_put(link_.ba[1], "b", 1))
		_exit(1);
	for (;;)
		pause();
}

static int back(void *arg)
{
	evtchn_port_t port;
	struct hello h;
	struct hv *hv;
	pid_t pid;
	char c;
	int st;

	(void)arg;
	T_CHECK(t_get(link_.ab[0], &h, sizeof(h)) == 0, "back: hello");
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0)
		binder(&h);
	T_CHECK(t_get(link_.ab[0], &c, 1) == 0 && c == 'k', "back: kill please");
	T_CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, &st, 0) == pid, "kill the binder");
	T_CHECK(t_put(link_.ba[1], "k", 1) == 0, "back: killed");
	T_CHECK(t_get(link_.ab[0], &c, 1) == 0 && c == 'r', "back: rebind please");
	/* A new process of the same domain (this one had no session yet). */
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port, &port) == 0, "rebind from a new process");
	T_CHECK(t_event_wait(hv, port, 5000), "event on rebind");
	T_CHECK(t_put(link_.ba[1], "b", 1) == 0, "back: rebound");
	/* Strict ping-pong: two notifies in a row would coalesce into one event. */
	T_CHECK(both_ways(hv, port, false) == 0, "back: events");
	T_CHECK(both_ways(hv, port, false) == 0, "back: events again");
	hv_close(hv);
	return 0;
}

static int third(void *arg)
{
	evtchn_port_t port;
	struct hello h;
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "third: hv_open");
	T_CHECK(t_get(third_link.ab[0], &h, sizeof(h)) == 0, "third: hello");
	T_CHECK(hv_evtchn_bind(hv, h.front, h.port, &port) == -EINVAL,
		"a third domain bound the unbound port");
	T_CHECK(t_put(third_link.ba[1], "n", 1) == 0, "third: done");
	hv_close(hv);
	return 0;
}

static int front(void *arg)
{
	struct hello h;
	struct hv *hv;
	char c;

	(void)arg;
	memset(&h, 0, sizeof(h)); /* it goes down a pipe: no stray padding */
	T_CHECK(hv_open(&hv, NULL) == 0, "front: hv_open");
	T_CHECK(hv_domid(hv, &h.front) == 0, "domid");
	T_CHECK(hv_evtchn_alloc_unbound(hv, back_id, &h.port) == 0, "alloc");
	T_CHECK(t_put(link_.ab[1], &h, sizeof(h)) == 0, "front: hello");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0 && c == 'b', "front: bound");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_CONNECTED, "connected");
	T_CHECK(t_put(link_.ab[1], "k", 1) == 0, "front: kill please");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0 && c == 'k', "front: killed");
	T_CHECK(t_event_wait(hv, h.port, 5000), "wake-up when the binder died");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_UNBOUND, "unbound after the kill");
	T_CHECK(t_put(third_link.ab[1], &h, sizeof(h)) == 0, "front: hello third");
	T_CHECK(t_get(third_link.ba[0], &c, 1) == 0 && c == 'n', "third refused");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_UNBOUND, "still unbound");
	T_CHECK(t_put(link_.ab[1], "r", 1) == 0, "front: rebind please");
	T_CHECK(t_get(link_.ba[0], &c, 1) == 0 && c == 'b', "front: rebound");
	T_CHECK(hv_evtchn_state(hv, h.port) == HV_EVTCHN_CONNECTED, "connected again");
	T_CHECK(both_ways(hv, h.port, true) == 0, "front: events");
	T_CHECK(both_ways(hv, h.port, true) == 0, "front: events again");
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t pf, pb, pt;

	t_time_limit(60);
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_link_init(&link_) == 0 && t_link_init(&third_link) == 0, "pipes");
	T_CHECK(t_domain_fork("third", third, NULL, NULL, &pt) == 0, "fork third");
	T_CHECK(t_domain_fork("back", back, NULL, &back_id, &pb) == 0, "fork back");
	T_CHECK(t_domain_fork("front", front, NULL, NULL, &pf) == 0, "fork front");
	T_CHECK(t_wait(pf) == 0, "front failed");
	T_CHECK(t_wait(pb) == 0, "back failed");
	T_CHECK(t_wait(pt) == 0, "third failed");
	return T_PASS;
}
