/* SPDX-License-Identifier: MIT */
/*
 * hv-session-steal: a domain cannot make pvio-hv take another domain's
 * process for one of its own.  A session's process is the far end of the
 * socket attached to HELLO, and a destroy of the domain kills it; a guest
 * (in a user namespace of its own, as a domain's processes are) that
 * connects to a stranger's listening socket (a process in another user
 * namespace, as another domain's are) and attaches that socket to a HELLO on
 * its own token must be refused, and destroying the guest must leave the
 * stranger alive.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "tests/helpers.h"
#include "tests/hv-test.h"
#include "tests/ns-helpers.h"

static int ready[2], done[2];
static struct sockaddr_un addr = { .sun_family = AF_UNIX };

/* The stranger: listens on an abstract socket, says so, and waits to be killed. */
static int stranger(void *arg)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	char c = 1;

	(void)arg;
	T_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
		    listen(fd, 8) == 0,
		"stranger: listen: %s", strerror(errno));
	T_CHECK(write(ready[1], &c, 1) == 1, "stranger: ready");
	for (;;)
		pause();
}

/* The guest's body: a session of its own, a HELLO with the stranger's socket, another. */
static int guest_body(void *arg)
{
	struct hvsim_msg hello = { .op = HVSIM_HELLO };
	int token = atoi(getenv(HVSIM_FD_ENV)), own, own2, fd;
	char c = 1;

	(void)arg;
	T_CHECK(t_session_open(&own, &hello, NULL) == 0, "guest: first session");
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	T_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0,
		"guest: connect to the stranger: %s", strerror(errno));
	T_CHECK(hvsim_send(token, &hello, &fd, 1) == 0, "guest: HELLO with the stranger's socket");
	/* The token is read in order: once this one is answered, the other was handled. */
	T_CHECK(t_session_open(&own2, &hello, NULL) == 0, "guest: second session");
	T_CHECK(write(done[1], &c, 1) == 1, "guest: done");
	for (;;)
		pause();
}

/*
 * The guest, in a user namespace of its own as a domain's processes are:
 * destroying the domain kills its body, which is all it waits for.
 */
static int guest(void *arg)
{
	pid_t pid;

	T_CHECK(t_die_with_parent() == 0, "guest: the test is gone");
	T_CHECK(t_ns_fork(CLONE_NEWUSER, T_NS_OTHER_ID + 1, T_NS_OTHER_ID + 1, guest_body, arg,
			  &pid) == 0,
		"guest: no user namespace");
	return t_wait(pid) == 128 + SIGKILL ? T_PASS : T_FAIL;
}

static int sessions_of(domid_t domid, unsigned int *n)
{
	struct hvctl_domain_info info[16];
	struct hvctl *ctl;
	int i, count;

	T_CHECK(hvctl_open(&ctl, NULL) == 0, "hvctl_open");
	count = hvctl_domain_list(ctl, info, 16);
	hvctl_close(ctl);
	for (i = 0; i < count; i++) {
		if (info[i].domid == domid) {
			*n = info[i].sessions;
			return T_PASS;
		}
	}
	T_CHECK(0, "domain %u not listed", domid);
}

int main(void)
{
	struct pollfd pfd = { .events = POLLIN };
	struct hvctl *ctl;
	unsigned int n;
	pid_t spid, gpid;
	domid_t id;
	char c;

	if (geteuid() != 0) {
		printf("SKIP: needs root to map another host uid\n");
		return T_SKIP;
	}
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "pvio-steal-%d", (int)getpid());
	T_CHECK(pipe(ready) == 0 && pipe(done) == 0, "pipe");
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_ns_fork(CLONE_NEWUSER, T_NS_OTHER_ID, T_NS_OTHER_ID, stranger, NULL, &spid) == 0,
		"stranger");
	T_CHECK(t_get(ready[0], &c, 1) == 0, "the stranger did not listen");
	T_CHECK(t_domain_fork("guest", guest, NULL, &id, &gpid) == 0, "guest");
	T_CHECK(t_get(done[0], &c, 1) == 0, "the guest failed");
	T_CHECK(sessions_of(id, &n) == T_PASS, "list");
	T_CHECK(n == 2, "the guest has %u sessions: one is the stranger's", n);
	T_CHECK(hvctl_open(&ctl, NULL) == 0 && hvctl_domain_destroy(ctl, id) == 0, "destroy");
	hvctl_close(ctl);
	T_CHECK(t_wait(gpid) == T_PASS, "the guest was not killed");
	/* SIGKILL was sent before the destroy returned: a victim would be dying already. */
	pfd.fd = (int)syscall(SYS_pidfd_open, spid, 0);
	T_CHECK(pfd.fd >= 0, "pidfd_open: %s", strerror(errno));
	T_CHECK(poll(&pfd, 1, 1000) == 0, "the stranger died with the guest's domain");
	kill(spid, SIGKILL);
	t_wait(spid);
	return T_PASS;
}
