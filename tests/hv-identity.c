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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/ns-helpers.h"

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

int main(void)
{
	struct hvsim_msg hello;
	int sock, ret;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_socket_open_to_all(t_hv_socket()) == 0, "chmod failed");
	ret = t_ns_not_dom0(try_dom0);
	if (ret != T_PASS)
		return ret;
	ret = t_session_open(&sock, &hello, NULL);
	T_CHECK(ret == 0 && hello.arg[0] == 0, "dom0 itself refused: %s", strerror(-ret));
	close(sock);
	return T_PASS;
}
