/* SPDX-License-Identifier: MIT */
/*
 * netback-taphelper: pvio-netback's TAP helper (driverdomain/taphelper.h) trusts nothing it is
 * asked.  Started as the daemon starts it, in a network namespace of the test's own, it answers
 * -EINVAL, with no fd, to a message of the wrong size, an unknown op, a name without its NUL or
 * other than vif<domid>.<devid> exactly, a queue count of 0 or over 16, -ENODEV to a bridge that
 * does not exist, and keeps serving: then two queues of vif1.0 come back as TAP fds of that
 * interface, it comes up and goes on a bridge through netback_tap_*, and the helper ends with
 * status 0 when its socket is closed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/net/netback.h"
#include "driverdomain/taphelper.h"
#include "tests/helpers.h"
#include "tests/net-test.h"

/* Send len bytes of msg, receive the answer: its err (or 1 when malformed), fds into fds. */
static int ask(int sock, const void *msg, size_t len, int *fds, unsigned int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} u;
	struct th_rsp rsp;
	struct iovec iov = { &rsp, sizeof(rsp) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;

	*nfds = 0;
	T_CHECK(send(sock, msg, len, 0) == (ssize_t)len, "send: %s", strerror(errno));
	T_CHECK(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) == sizeof(rsp), "recvmsg: %s",
		strerror(errno));
	c = CMSG_FIRSTHDR(&mh);
	if (c) {
		*nfds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), sizeof(int) * *nfds);
	}
	T_CHECK(rsp.nfds == *nfds, "answer says %u fds, carries %u", rsp.nfds, *nfds);
	return rsp.err;
}

/* A request that must be refused with err and no fd: 0 or 1. */
static int refused(int sock, const struct th_req *rq, size_t len, int err, const char *what)
{
	unsigned int nfds;
	int fds[32];
	int got = ask(sock, rq, len, fds, &nfds);

	T_CHECK(got == err && nfds == 0, "%s: answer %d (%s) with %u fds, want %s", what, got,
		got < 0 ? strerror(-got) : "", nfds, strerror(-err));
	return 0;
}

static int refuses_names(int sock)
{
	static const char *const bad[] = { "eth0",    "vif01.0",	"vif1.0x",    "vif-1.0",
					   "vif+1.0", "vif1.-0",	"vif32752.0", "vif1.65536",
					   "vif 1.0", "vif1.0 ",	"",	      "vif1",
					   "vif1.",   "vif4294967297.0" };
	struct th_req rq = { .op = TH_OPEN, .nqueues = 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rq.name, sizeof(rq.name), "%s", bad[i]);
		T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, bad[i]) == 0, "name \"%s\"",
			bad[i]);
	}
	memset(rq.name, 'v', sizeof(rq.name)); /* no NUL */
	T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "no NUL") == 0, "name without NUL");
	rq.op = TH_UP;
	strcpy(rq.name, "lo");
	T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "up lo") == 0, "up lo");
	return 0;
}

static int refuses_shapes(int sock)
{
	static const uint32_t counts[] = { 0, 17, 0xffffffffu };
	struct th_req rq = { .op = TH_OPEN, .name = "vif1.0" };

	T_CHECK(refused(sock, &rq, 3, -EINVAL, "short") == 0, "a short message");
	T_CHECK(refused(sock, &rq, sizeof(rq) - 1, -EINVAL, "short") == 0, "a short message");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		rq.nqueues = counts[i];
		T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "nqueues") == 0, "%u queues",
			counts[i]);
	}
	rq.nqueues = 1;
	rq.op = 0;
	T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "op 0") == 0, "op 0");
	rq.op = 99;
	T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "op 99") == 0, "op 99");
	rq.op = TH_BRIDGE;
	strcpy(rq.bridge, "nosuchbr");
	T_CHECK(refused(sock, &rq, sizeof(rq), -EPERM, "no bridge") == 0, "no such bridge");
	memset(rq.bridge, 'b', sizeof(rq.bridge));
	T_CHECK(refused(sock, &rq, sizeof(rq), -EINVAL, "bridge") == 0, "bridge without NUL");
	return 0;
}

/* fd is a queue of TAP name: 0 or 1. */
static int is_queue_of(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	T_CHECK(ioctl(fd, TUNGETIFF, &ifr) == 0, "TUNGETIFF: %s", strerror(errno));
	T_CHECK(!strcmp(ifr.ifr_name, name) && (ifr.ifr_flags & IFF_MULTI_QUEUE) &&
		    (fcntl(fd, F_GETFL) & O_NONBLOCK),
		"fd %d: %s, flags %#x", fd, ifr.ifr_name, ifr.ifr_flags);
	return 0;
}

/*
 * A TAP the helper did not make (outside, made before it started): no queue of it, not up, not
 * on a bridge; nor vif1.0's ops on it once it is gone and made again by someone else.
 */
static int refuses_foreign(int sock)
{
	struct th_req rq = { .op = TH_OPEN, .nqueues = 1, .name = "vif7.0" };

	T_CHECK(refused(sock, &rq, sizeof(rq), -EPERM, "open vif7.0") == 0,
		"a queue of a TAP the helper did not make");
	rq.op = TH_UP;
	T_CHECK(refused(sock, &rq, sizeof(rq), -EPERM, "up vif7.0") == 0,
		"up on a TAP the helper did not make");
	rq.op = TH_BRIDGE;
	strcpy(rq.bridge, "tbr0");
	T_CHECK(refused(sock, &rq, sizeof(rq), -EPERM, "bridge vif7.0") == 0,
		"a TAP the helper did not make on a bridge");
	return 0;
}

/*
 * vif1.0, the helper's until its last queue closed, made again outside (by this process, not
 * through the helper): not the helper's any more, though its name is.
 */
static int refuses_remade(int sock)
{
	struct th_req rq = { .op = TH_UP, .name = "vif1.0" };
	int fd;

	netback_tap_set_ops(NULL);
	T_CHECK(netback_tap_open("vif1.0", 1, &fd) == 0, "vif1.0 made again outside");
	T_CHECK(refused(sock, &rq, sizeof(rq), -EPERM, "up vif1.0") == 0,
		"up on a TAP of the helper's name made by someone else");
	close(fd);
	return 0;
}

static int serves(int sock)
{
	struct th_req rq = { .op = TH_OPEN, .nqueues = 2, .name = "vif1.0" };
	struct ifreq ifr = { .ifr_name = "vif1.0" };
	int fds[32], fd, s;
	unsigned int nfds;

	T_CHECK(ask(sock, &rq, sizeof(rq), fds, &nfds) == 0 && nfds == 2, "open 2 queues");
	T_CHECK(is_queue_of(fds[0], "vif1.0") == 0 && is_queue_of(fds[1], "vif1.0") == 0, "queues");
	/* Through the calls netback makes, now routed to the helper. */
	T_CHECK(netback_tap_open("vif1.0", 1, &fd) == 0 && is_queue_of(fd, "vif1.0") == 0,
		"netback_tap_open");
	T_CHECK(netback_tap_up("vif1.0") == 0, "netback_tap_up");
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	T_CHECK(s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP), "up");
	T_CHECK(netback_tap_bridge("vif1.0", "tbr0") == 0, "netback_tap_bridge");
	/* Bridges outside the allowlist it was started with, existing or not, interfaces or not. */
	T_CHECK(netback_tap_bridge("vif1.0", "lo") == -EPERM, "lo taken as a bridge");
	T_CHECK(netback_tap_bridge("vif1.0", "tbr1") == -EPERM, "a bridge not allowed taken");
	T_CHECK(netback_tap_bridge("vif1.0", "tbr2") == -ENODEV, "an allowed bridge not there");
	close(s);
	close(fd);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

int main(void)
{
	static const char *const bridges[] = { "tbr0", "tbr2", NULL };
	struct dd_sandbox sb = { .prog = "netback-taphelper" };
	int rc, sock, status, outside;
	struct stat st;
	pid_t helper;

	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (!rc)
		rc = nt_bridge_add("tbr0");
	if (!rc)
		rc = nt_bridge_add("tbr1");
	if (rc)
		return rc;
	/* A TAP of someone else's, before the helper: made by this process itself. */
	T_CHECK(netback_tap_open("vif7.0", 1, &outside) == 0, "vif7.0 outside the helper");
	/* The helper's socket is the lowest free descriptor at the start (socketpair's first). */
	sock = open("/dev/null", O_RDONLY | O_CLOEXEC);
	T_CHECK(sock >= 0 && close(sock) == 0, "/dev/null");
	T_CHECK(dd_taphelper_start(&sb, bridges) == 0, "dd_taphelper_start");
	T_CHECK(fstat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "the helper's socket is not %d",
		sock);
	T_CHECK(refuses_shapes(sock) == 0, "malformed requests");
	T_CHECK(refuses_names(sock) == 0, "bad names");
	T_CHECK(refuses_foreign(sock) == 0, "a foreign TAP");
	T_CHECK(serves(sock) == 0, "good requests after bad ones");
	T_CHECK(refuses_remade(sock) == 0, "a TAP of the helper's name made again outside");
	close(outside);
	close(sock);
	helper = wait(&status); /* the helper is this process's only child */
	T_CHECK(helper > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the helper's end: %#x", status);
	return T_PASS;
}
