/* SPDX-License-Identifier: MIT */
/*
 * xs-identity: pvio-xenstored admits a peer on its main (dom0) socket only
 * from dom0's own credentials.  A process in a user namespace of its own
 * (root inside, mapped to the daemon's uid or another), or in a pid
 * namespace of its own, connects and is hung up on before it can read
 * anything; dom0 itself still reads afterwards.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/ns-helpers.h"
#include "tests/xs-helpers.h"

/* One raw read of "/": the reply's length, or -1 if there was none. */
static int read_root(void)
{
	uint32_t type;
	char body[4096];
	int fd = t_xs_raw_connect(), ret;

	if (fd < 0)
		return -1;
	ret = t_xs_raw_request(fd, XS_DIRECTORY, "/", 2, &type, body, sizeof(body));
	close(fd);
	return ret >= 0 && type == XS_DIRECTORY ? ret : -1;
}

/* In the child: a request on the main socket must get no answer. */
static int try_dom0(void *what)
{
	/* The daemon hangs up: a write to its end must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (read_root() >= 0) {
		fprintf(stderr, "FAIL: %s: served as dom0\n", (const char *)what);
		return T_FAIL;
	}
	return T_PASS;
}

int main(void)
{
	int ret;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK(t_socket_open_to_all(t_xs_socket()) == 0, "chmod failed");
	ret = t_ns_not_dom0(try_dom0);
	if (ret != T_PASS)
		return ret;
	T_CHECK(read_root() > 0, "dom0 itself was not served");
	T_CHECK(t_xs_alive(), "pvio-xenstored died");
	return T_PASS;
}
