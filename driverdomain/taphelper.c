/* SPDX-License-Identifier: MIT */
/*
 * taphelper.c - the TAP helper of a sandboxed network back end (taphelper.h).
 *
 * One request, one answer, on a SOCK_SEQPACKET socketpair (the wire format is in taphelper.h).
 * Only the daemon's control thread asks, one request at a time, so no request needs an id.
 */
#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/net/netback.h"
#include "backend/net/xenbus.h"
#include "driverdomain/taphelper.h"

/* Room for the most queue fds one answer carries. */
union th_cmsg {
	char buf[CMSG_SPACE(sizeof(int) * NETBACK_DEV_QUEUES_MAX)];
	struct cmsghdr align;
};

/* ---- the helper ---- */

/* A string of field's size that ends within it: its length, or -1. */
static int field_len(const char *field)
{
	const char *nul = memchr(field, '\0', IFNAMSIZ);

	return nul ? (int)(nul - field) : -1;
}

/* Exactly vif<domid>.<devid> as netback names it (no sign, no leading zero, nothing after). */
static bool vif_name_ok(const char *name)
{
	unsigned int domid, devid;
	char canon[IFNAMSIZ];
	int n = 0;

	if (field_len(name) <= 0 || sscanf(name, "vif%u.%u%n", &domid, &devid, &n) != 2 ||
	    name[n] || domid >= DOMID_FIRST_RESERVED || devid > 0xffff)
		return false;
	snprintf(canon, sizeof(canon), "vif%u.%u", domid, devid);
	return !strcmp(canon, name);
}

/*
 * What the helper may act on, set before it serves: the bridges it was started with, and the
 * TAPs it made itself.  A TAP is known by name and ifindex: the kernel destroys a TAP with its
 * last queue, and one made again under the same name by anyone else gets another ifindex.
 */
static struct {
	char bridges[TH_BRIDGES_MAX][IFNAMSIZ]; /* the allowlist (dd_taphelper_start) */
	unsigned int n_bridges;			/* how many */
	struct {
		char name[IFNAMSIZ]; /* vif<domid>.<devid> */
		unsigned int index;  /* its ifindex when the helper made it */
	} taps[TH_TAPS_MAX];	     /* the TAPs the helper made, some perhaps gone since */
	unsigned int n_taps;	     /* how many entries are in use */
} th;

/* The entry of name in th.taps, or -1. */
static int th_tap_find(const char *name)
{
	for (unsigned int i = 0; i < th.n_taps; i++) {
		if (!strcmp(th.taps[i].name, name))
			return (int)i;
	}
	return -1;
}

/* name is a TAP the helper made and still the same interface: 0, or -EPERM. */
static int th_tap_mine(const char *name)
{
	int i = th_tap_find(name);
	unsigned int index = if_nametoindex(name);

	return i >= 0 && index && th.taps[i].index == index ? 0 : -EPERM;
}

/* Remember the TAP name just made (its entry reused, or a gone one's): 0 or -ENOSPC. */
static int th_tap_add(const char *name)
{
	unsigned int index = if_nametoindex(name);
	int i = th_tap_find(name);

	for (unsigned int j = 0; i < 0 && j < th.n_taps; j++) {
		if (if_nametoindex(th.taps[j].name) != th.taps[j].index)
			i = (int)j;
	}
	if (i < 0 && th.n_taps < TH_TAPS_MAX)
		i = (int)th.n_taps++;
	if (i < 0 || !index)
		return i < 0 ? -ENOSPC : -ENODEV;
	snprintf(th.taps[i].name, IFNAMSIZ, "%s", name);
	th.taps[i].index = index;
	return 0;
}

/*
 * Queues of name: of the helper's own TAP, or of a new one it makes (a name taken by an
 * interface it did not make is refused).  Between the look and the making only a process with
 * CAP_NET_ADMIN over the namespace could take the name: not the daemon, the helper's client.
 */
static int th_open(const char *name, unsigned int nqueues, int *fds)
{
	bool fresh = !if_nametoindex(name);
	int ret;

	if (!fresh && th_tap_mine(name))
		return -EPERM;
	ret = netback_tap_open(name, nqueues, fds);
	if (ret || !fresh)
		return ret;
	ret = th_tap_add(name);
	if (ret) {
		for (unsigned int i = 0; i < nqueues; i++)
			close(fds[i]);
	}
	return ret;
}

/* bridge is one of those the helper was started with. */
static bool th_bridge_allowed(const char *bridge)
{
	for (unsigned int i = 0; i < th.n_bridges; i++) {
		if (!strcmp(th.bridges[i], bridge))
			return true;
	}
	return false;
}

/* Carry out rq, whose every field is untrusted: 0 or a negative errno; fds for TH_OPEN. */
static int th_do(const struct th_req *rq, int *fds, unsigned int *nfds)
{
	int blen;

	if (!vif_name_ok(rq->name))
		return -EINVAL;
	switch (rq->op) {
	case TH_OPEN:
		if (rq->nqueues < 1 || rq->nqueues > NETBACK_DEV_QUEUES_MAX)
			return -EINVAL;
		*nfds = rq->nqueues;
		return th_open(rq->name, rq->nqueues, fds);
	case TH_UP:
		return th_tap_mine(rq->name) ?: netback_tap_up(rq->name);
	case TH_BRIDGE:
		/* The kernel refuses SIOCBRADDIF on what is not a bridge. */
		blen = field_len(rq->bridge);
		if (blen <= 0)
			return -EINVAL;
		if (!th_bridge_allowed(rq->bridge) || th_tap_mine(rq->name))
			return -EPERM;
		if (!if_nametoindex(rq->bridge))
			return -ENODEV;
		return netback_tap_bridge(rq->name, rq->bridge);
	}
	return -EINVAL;
}

/* Send rsp with fds[0..rsp->nfds) attached: 0 or a negative errno. */
static int th_send(int sock, const struct th_rsp *rsp, const int *fds)
{
	union th_cmsg u;
	struct iovec iov = { (void *)rsp, sizeof(*rsp) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (rsp->nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * rsp->nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * rsp->nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * rsp->nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Answer requests until the daemon closes its end. */
static void th_serve(int sock)
{
	for (;;) {
		int fds[NETBACK_DEV_QUEUES_MAX];
		struct th_rsp rsp = { 0 };
		struct th_req rq;
		unsigned int nfds = 0;
		ssize_t n = recv(sock, &rq, sizeof(rq), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		rsp.err = n == sizeof(rq) ? th_do(&rq, fds, &nfds) : -EINVAL;
		rsp.nfds = rsp.err ? 0 : nfds;
		if (th_send(sock, &rsp, fds))
			return;
		for (unsigned int i = 0; i < rsp.nfds; i++)
			close(fds[i]);
	}
}

/* clang-format off */
/*
 * Every call the helper makes once sandboxed (strace -f over the net tests: recv, TAP opens and
 * ioctls, throw-away sockets for SIOC*, answers), and what an error message may need.
 */
static const char *const helper_calls[] = {
	"recvfrom", "sendmsg", "openat", "socket", "close",
	"write", "brk", "mmap", "munmap", "rt_sigreturn", "restart_syscall", "exit", "exit_group",
};
/* clang-format on */
/* Its ioctls: TAP queues, and the throw-away socket's (if_nametoindex, up, the bridge's MTU,
 * bridge). */
static const unsigned int helper_ioctls[] = {
	TUNSETIFF,    TUNSETVNETHDRSZ, SIOCGIFINDEX, SIOCGIFFLAGS,
	SIOCSIFFLAGS, SIOCGIFMTU,      SIOCSIFMTU,   SIOCBRADDIF,
};

static const struct dd_sandbox_filter helper_filter = {
	.calls = helper_calls,
	.nr_calls = sizeof(helper_calls) / sizeof(helper_calls[0]),
	.ioctls = helper_ioctls,
	.nr_ioctls = sizeof(helper_ioctls) / sizeof(helper_ioctls[0]),
};

/* What the serving daemon adds to dd_sandbox_common: TUNSETOFFLOAD, and stdio's isatty. */
static const unsigned int daemon_ioctls[] = { TUNSETOFFLOAD, TCGETS };

static const struct dd_sandbox_filter daemon_filter = {
	.ioctls = daemon_ioctls,
	.nr_ioctls = sizeof(daemon_ioctls) / sizeof(daemon_ioctls[0]),
};

/*
 * The helper's process: keep sock alone of the daemon's descriptors (and stdio), die with the
 * daemon, keep CAP_NET_ADMIN alone, say ready, serve.  Never returns.
 */
static void th_main(const struct dd_sandbox *daemon, int sock, pid_t parent)
{
	struct dd_sandbox s = *daemon;
	struct th_rsp ready = { 0 };
	char prog[64];
	sigset_t all;

	snprintf(prog, sizeof(prog), "%s (TAP helper)", daemon->prog);
	s.prog = prog;
	s.filter = &helper_filter;
	s.extra = NULL;
	s.keep_caps = 1ull << CAP_NET_ADMIN;
	/* /dev/net/tun is often root's alone (0600): the helper keeps the uid it started with. */
	s.user = NULL;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent)
		_exit(1);
	/* The hypervisor handle, xenstore, the loop's fds: none of them is the helper's. */
	if ((sock > 3 && close_range(3, (unsigned int)sock - 1, 0)) ||
	    close_range((unsigned int)sock + 1, ~0u, 0))
		_exit(1);
	/* Not the daemon's --user (above), so not its refusal of root on Xen either. */
	if (dd_sandbox_enter(&s, false) || th_send(sock, &ready, NULL))
		_exit(1);
	th_serve(sock);
	_exit(0);
}

/* ---- the daemon's end ---- */

/* Close the fds of a received SCM_RIGHTS message. */
static void cmsg_close(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fd;

		for (size_t i = 0;
		     c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

/*
 * Receive the helper's answer: its error, or 0 with exactly nfds fds into fds.  An answer of
 * any other shape is -EPROTO, its fds closed.
 */
static int th_recv(int sock, int *fds, unsigned int nfds)
{
	union th_cmsg u;
	struct th_rsp rsp;
	struct iovec iov = { &rsp, sizeof(rsp) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	c = CMSG_FIRSTHDR(&mh);
	if (n == sizeof(rsp) && !(mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) && rsp.err == 0 &&
	    rsp.nfds == nfds &&
	    (nfds ? c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			c->cmsg_len == CMSG_LEN(sizeof(int) * nfds) && !CMSG_NXTHDR(&mh, c)
		  : !c)) {
		if (nfds)
			memcpy(fds, CMSG_DATA(c), sizeof(int) * nfds);
		return 0;
	}
	cmsg_close(&mh);
	if (n == sizeof(rsp) && rsp.err < 0 && rsp.err > -4096)
		return rsp.err;
	return -EPROTO;
}

/* Ask the helper for op on name (and bridge), receiving nfds fds into fds. */
static int th_call(void *arg, enum th_op op, const char *name, const char *bridge,
		   unsigned int nfds, int *fds)
{
	struct th_req rq = { .op = op, .nqueues = nfds };
	int sock = (int)(intptr_t)arg;

	if (strlen(name) >= IFNAMSIZ || (bridge && strlen(bridge) >= IFNAMSIZ) ||
	    nfds > NETBACK_DEV_QUEUES_MAX)
		return -EINVAL;
	strcpy(rq.name, name);
	if (bridge)
		strcpy(rq.bridge, bridge);
	if (send(sock, &rq, sizeof(rq), MSG_NOSIGNAL) != (ssize_t)sizeof(rq))
		return -errno;
	return th_recv(sock, fds, nfds);
}

static int th_ask_open(void *arg, const char *name, unsigned int nqueues, int *fds)
{
	return th_call(arg, TH_OPEN, name, NULL, nqueues, fds);
}

static int th_up(void *arg, const char *name)
{
	return th_call(arg, TH_UP, name, NULL, 0, NULL);
}

static int th_bridge(void *arg, const char *name, const char *bridge)
{
	return th_call(arg, TH_BRIDGE, name, bridge, 0, NULL);
}

/* Fork the helper and wait for it to say it is sandboxed: 0, or -1 with the reason printed. */
static int th_start(const struct dd_sandbox *s)
{
	static struct netback_tap_ops ops = { th_ask_open, th_up, th_bridge, NULL };
	pid_t parent = getpid(), pid;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		fprintf(stderr, "%s: TAP helper: socketpair: %s\n", s->prog, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		th_main(s, sv[1], parent);
	}
	close(sv[1]);
	ret = pid < 0 ? -errno : th_recv(sv[0], NULL, 0);
	if (ret) {
		fprintf(stderr, "%s: TAP helper: %s\n", s->prog, strerror(-ret));
		close(sv[0]);
		return -1;
	}
	ops.arg = (void *)(intptr_t)sv[0];
	netback_tap_set_ops(&ops);
	return 0;
}

int dd_taphelper_start(struct dd_sandbox *s, const char *const *bridges)
{
	for (th.n_bridges = 0; bridges && bridges[th.n_bridges]; th.n_bridges++) {
		const char *b = bridges[th.n_bridges];

		if (th.n_bridges == TH_BRIDGES_MAX || !b[0] || strlen(b) >= IFNAMSIZ) {
			fprintf(stderr, "%s: --bridge %s: at most %u names of 1 to %u characters\n",
				s->prog, b, TH_BRIDGES_MAX, IFNAMSIZ - 1);
			return -1;
		}
		strcpy(th.bridges[th.n_bridges], b);
	}
	if (s->off)
		return 0;
	if (th_start(s))
		return -1;
	/* Nothing a disk needs: the common list and two ioctls. */
	s->filter = &dd_sandbox_common;
	s->extra = &daemon_filter;
	return 0;
}
