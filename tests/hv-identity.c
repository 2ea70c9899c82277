/* SPDX-License-Identifier: MIT */
/*
 * hv-identity: pvio-hv admits a main-socket peer as dom0 only from dom0's
 * own credentials.  A process standing where a domain's will (a user
 * namespace of its own, root inside) connects to the main socket and is
 * refused, whether its root maps to the daemon's own uid or to another host
 * uid, and so is a process of the daemon's uid in a pid namespace of its
 * own; dom0 itself still gets in afterwards.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/ns-helpers.h"

/* A host uid and gid no one else uses. */
#define OTHER_ID 0x7e5700

/* In the child: a session on the main socket must be refused. */
static int try_dom0(void *arg)
{
	struct hvsim_msg hello;
	int sock, ret;

	ret = t_session_open(&sock, &hello, NULL);
	if (ret == 0) {
		fprintf(stderr, "FAIL: %s: admitted as dom0 (domid %u)\n", (const char *)arg,
			hello.arg[0]);
		close(sock);
		return T_FAIL;
	}
	return T_PASS;
}

/* Run try_dom0 as described by what, in namespaces flags as host uid: the child's status. */
static int attempt(int flags, uid_t uid, const char *what)
{
	return t_ns_run(flags, uid, try_dom0, (void *)what);
}

int main(void)
{
	struct hvsim_msg hello;
	int sock, ret;

	if (geteuid() != 0) {
		printf("SKIP: needs root to map another host uid\n");
		return T_SKIP;
	}
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_socket_open_to_all(t_hv_socket()) == 0, "chmod: %s", strerror(errno));
	ret = attempt(CLONE_NEWUSER, geteuid(), "root of a user namespace mapped to our uid");
	if (ret == T_SKIP)
		return T_SKIP;
	T_CHECK(ret == T_PASS, "same uid, other user namespace");
	T_CHECK(attempt(CLONE_NEWUSER, OTHER_ID, "root of a user namespace as another uid") ==
		    T_PASS,
		"other uid, other user namespace");
	T_CHECK(attempt(CLONE_NEWUSER | CLONE_NEWPID, geteuid(), "user and pid namespaces") ==
		    T_PASS,
		"other user and pid namespaces");
	T_CHECK(attempt(CLONE_NEWPID, 0, "a pid namespace of its own") == T_PASS,
		"other pid namespace");
	ret = t_session_open(&sock, &hello, NULL);
	T_CHECK(ret == 0 && hello.arg[0] == 0, "dom0 itself refused: %s", strerror(-ret));
	close(sock);
	return T_PASS;
}
