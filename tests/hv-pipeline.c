/* SPDX-License-Identifier: MIT */
/*
 * hv-pipeline: a session that pipelines requests without reading its replies is held back, not
 * disconnected (issue 9, "Fair shares": pending requests).  A guest sends requests on its session
 * without reading until its own socket refuses more (pvio-hv stopped reading it) or MAX_SENT
 * went; meanwhile dom0 opens a session and allocates a port.  Then the guest reads: every request
 * sent has its reply, in order, and the session still answers.  pvio-hv buffers at most half the
 * session socket's send buffer of replies and reads nothing more of that session until they drain,
 * so the guest cannot grow what pvio-hv holds.  Before, pvio-hv closed the session when a reply
 * did not fit: an honest client that pipelined lost its session and everything in it.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>

#include "hv/simctl.h"
#include "tests/hv-test.h"

#define MAX_SENT 20000u

static int report[2], go_on[2]; /* pipes: [1] written, [0] read */

/* Requests without reading until the socket is full; how many went, or -1. */
static long pipeline(int sock)
{
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_PEER, .arg = { 0 } };
	long sent;

	for (sent = 0; sent < MAX_SENT; sent++) {
		req.arg[1] = (uint32_t)sent; /* ignored by the daemon: tells replies apart here */
		if (hvsim_send_nowait(sock, &req, NULL, 0) == -EAGAIN)
			break;
	}
	return sent;
}

static int guest(void *arg)
{
	struct hvsim_msg hello, rep;
	long sent, got;
	int sock;
	char c;

	(void)arg;
	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "guest: session");
	sent = pipeline(sock);
	printf("guest: %ld requests sent without reading\n", sent);
	fflush(stdout);
	T_CHECK(t_put(report[1], &sent, sizeof(sent)) == 0, "guest: report");
	T_CHECK(t_get(go_on[0], &c, 1) == 0, "guest: go on");
	for (got = 0; got < sent; got++) {
		int ret;

		T_CHECK(t_readable(sock, 20000), "guest: reply %ld of %ld", got, sent);
		ret = hvsim_recv(sock, &rep, NULL, 0, NULL);
		T_CHECK(ret == 0, "guest: reply %ld of %ld: %s (the session was closed)", got, sent,
			strerror(-ret));
		T_CHECK(rep.op == (HVSIM_EVTCHN_PEER | HVSIM_OP_FROM_HV) && rep.err == -EINVAL,
			"guest: reply %ld: op %u err %d", got, rep.op, rep.err);
	}
	T_CHECK(t_rpc(sock, HVSIM_EVTCHN_PEER, (uint32_t[]){ 0 }, 1, &rep, NULL, 0, NULL) ==
		    -EINVAL,
		"guest: the session answers after the pipeline");
	return 0;
}

int main(void)
{
	evtchn_port_t port;
	struct hv *hv;
	domid_t id;
	long sent;
	pid_t pid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(pipe(report) == 0 && pipe(go_on) == 0, "pipes");
	T_CHECK(t_domain_fork("G", guest, NULL, &id, &pid) == 0, "fork the guest");
	T_CHECK(t_get(report[0], &sent, sizeof(sent)) == 0, "the guest's report");
	/* The guest's session holds replies it does not read: dom0 is served all the same. */
	T_CHECK(hv_open(&hv, NULL) == 0, "dom0: hv_open");
	T_CHECK(hv_evtchn_alloc_unbound(hv, id, &port) == 0, "dom0: event channel");
	hv_close(hv);
	T_CHECK(t_put(go_on[1], "g", 1) == 0, "go on");
	T_CHECK(t_wait(pid) == 0, "the guest got every reply");
	return T_PASS;
}
