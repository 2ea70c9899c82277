/* SPDX-License-Identifier: MIT */
/*
 * hv-daemon-hostile: pvio-hv survives what a broken or hostile client sends -
 * short, oversized and garbage messages, unknown ops, ops out of order or
 * out of range, dom0 ops from a domain, malformed HELLOs on a token, fds it
 * never asked for, a client that never reads its replies - answering with
 * an error or closing that one connection, and keeps serving the others
 * without leaking a file descriptor.  A domain that keeps its copy of a
 * session's socket and writes on after the daemon closed that session cannot
 * reach the freed session (the daemon takes the socket out of its epoll set
 * first); one that hands the daemon both ends of one socketpair as two
 * sessions cannot make them answer each other: the daemon stays idle and the
 * domain dies once its processes are gone.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "tests/helpers.h"

/* True once the daemon has hung up on sock (or answers with an error). */
static bool refused(int sock)
{
	struct hvsim_msg rep;
	ssize_t n;

	if (!t_readable(sock, 5000))
		return false;
	n = recv(sock, &rep, sizeof(rep), 0);
	return n == 0 || (n < 0 && errno == ECONNRESET) || (n == sizeof(rep) && rep.err < 0);
}

/* Send raw bytes with nfds fresh eventfds attached (more than hvsim_send allows). */
static int send_raw(int sock, const void *buf, size_t len, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[16];
	unsigned int i;
	ssize_t n;

	for (i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return n == (ssize_t)len ? 0 : -1;
}

static int check_garbage(void)
{
	struct hvsim_msg msg, rep;
	char big[sizeof(msg) + 16];
	int sock;

	T_CHECK(t_connect(&sock) == 0, "connect");
	T_CHECK(send_raw(sock, "abc", 3, 0) == 0 && refused(sock), "short message accepted");
	close(sock);
	T_CHECK(t_connect(&sock) == 0, "connect");
	memset(big, 0x5a, sizeof(big));
	T_CHECK(send_raw(sock, big, sizeof(big), 0) == 0 && refused(sock), "long message accepted");
	close(sock);
	T_CHECK(t_connect(&sock) == 0, "connect");
	memset(&msg, 0xff, sizeof(msg));
	T_CHECK(send_raw(sock, &msg, sizeof(msg), 0) == 0 && refused(sock), "garbage accepted");
	T_CHECK(t_rpc(sock, 0, NULL, 0, &rep, NULL, 0, NULL) == -ENOSYS, "op 0");
	T_CHECK(t_rpc(sock, 999, NULL, 0, &rep, NULL, 0, NULL) == -ENOSYS, "op 999");
	T_CHECK(t_rpc(sock, HVSIM_DEATH, NULL, 0, &rep, NULL, 0, NULL) == -ENOSYS, "op DEATH");
	T_CHECK(t_rpc(sock, HVSIM_GRANT_ALLOC, (uint32_t[]){ 1 }, 1, &rep, NULL, 0, NULL) ==
		    -EPROTO,
		"grant op before HELLO");
	T_CHECK(t_rpc(sock, HVSIM_DOMAIN_INFO, NULL, 0, &rep, NULL, 0, NULL) == -ENOENT,
		"the connection still works");
	close(sock);
	return 0;
}

/* Out-of-range arguments from a dom0 session. */
static int check_ranges(void)
{
	struct hvsim_msg hello, rep;
	int sock;

	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "dom0 session");
	T_CHECK(t_rpc(sock, HVSIM_HELLO, NULL, 0, &rep, NULL, 0, NULL) == -EISCONN, "HELLO twice");
	T_CHECK(t_rpc(sock, HVSIM_SUBSCRIBE, NULL, 0, &rep, NULL, 0, NULL) == -EBUSY,
		"a session subscribed");
#define RPC(op, ...)                                                                               \
	t_rpc(sock, op, (uint32_t[]){ __VA_ARGS__ }, sizeof((uint32_t[]){ __VA_ARGS__ }) / 4,      \
	      &rep, NULL, 0, NULL)
	T_CHECK(RPC(HVSIM_GRANT_ALLOC, 0) == -EINVAL, "alloc 0 pages");
	T_CHECK(RPC(HVSIM_GRANT_ALLOC, HVSIM_BATCH_MAX + 1) == -EINVAL, "alloc too many");
	T_CHECK(RPC(HVSIM_GRANT_FREE, 8, 1) == -EINVAL, "free unallocated");
	T_CHECK(RPC(HVSIM_GRANT_FREE, 0xffffffffu, 1) == -EINVAL, "free ref out of range");
	T_CHECK(RPC(HVSIM_GRANT_ATTACH, 4321) == -ESRCH, "attach to nobody");
	T_CHECK(RPC(HVSIM_GRANT_ATTACH, 0xffffffffu) == -ESRCH, "attach out of range");
	T_CHECK(RPC(HVSIM_EVTCHN_ALLOC, 4321) == -ESRCH, "port for nobody");
	T_CHECK(RPC(HVSIM_EVTCHN_BIND, 0, 0) == -EINVAL, "bind port 0");
	T_CHECK(RPC(HVSIM_EVTCHN_BIND, 0, 0xffffffffu) == -EINVAL, "bind port out of range");
	T_CHECK(RPC(HVSIM_EVTCHN_BIND, 4321, 1) == -ESRCH, "bind to nobody");
	T_CHECK(RPC(HVSIM_EVTCHN_PEER, HVSIM_MAX_PORTS) == -EINVAL, "peer out of range");
	T_CHECK(RPC(HVSIM_EVTCHN_CLOSE, 0) == -EINVAL, "close port 0");
	T_CHECK(RPC(HVSIM_EVTCHN_CLOSE, 5) == -EINVAL, "close a free port");
#undef RPC
	close(sock);
	return 0;
}

/* Malformed HELLOs on the token: dropped, the token keeps working. */
static int token_abuse(int token)
{
	struct hvsim_msg hello = { .op = HVSIM_HELLO };
	int sv[2], efd = eventfd(0, EFD_CLOEXEC);

	T_CHECK(send_raw(token, "xyz", 3, 1) == 0, "short message on the token");
	T_CHECK(hvsim_send(token, &hello, NULL, 0) == 0, "HELLO without a socket");
	T_CHECK(send_raw(token, &hello, sizeof(hello), 2) == 0, "HELLO with two fds");
	T_CHECK(send_raw(token, &hello, sizeof(hello), 10) == 0, "HELLO with ten fds");
	T_CHECK(hvsim_send(token, &hello, &efd, 1) == 0, "HELLO with an eventfd");
	/* The token's own end: the daemon must not end up talking to itself. */
	T_CHECK(hvsim_send(token, &hello, &token, 1) == 0, "HELLO with the token");
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	T_CHECK(hvsim_send(token, &hello, &sv[1], 1) == 0, "HELLO with a stream socket");
	T_CHECK(!t_readable(sv[0], 200), "a reply on a stream socket");
	hello.op = HVSIM_GRANT_ALLOC;
	T_CHECK(hvsim_send(token, &hello, &sv[1], 1) == 0, "another op on the token");
	T_CHECK(!t_readable(token, 200), "the daemon wrote on the token");
	close(sv[0]);
	close(sv[1]);
	close(efd);
	return 0;
}

/* HELLO on the token with socket end `end` (kept): the reply, read from `other`. */
static int hello_on(int token, int end, int other)
{
	struct hvsim_msg hello = { .op = HVSIM_HELLO }, rep;
	unsigned int n = 0;
	int fds[HVSIM_MAX_FDS];

	T_CHECK(hvsim_send(token, &hello, &end, 1) == 0, "HELLO");
	T_CHECK(t_readable(other, 5000), "no HELLO reply");
	T_CHECK(hvsim_recv(other, &rep, fds, HVSIM_MAX_FDS, &n) == 0 &&
		    rep.op == (HVSIM_HELLO | HVSIM_OP_FROM_HV) && rep.err == 0,
		"HELLO reply: op %#x err %d", rep.op, rep.err);
	while (n)
		close(fds[--n]);
	return 0;
}

/*
 * Sessions on sockets the domain keeps a copy of: the daemon closes one on a short message
 * and the domain writes on; then both ends of one socketpair as two sessions.
 */
static int session_abuse(int token)
{
	int sv[2];

	T_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	T_CHECK(hello_on(token, sv[1], sv[0]) == 0, "session on a kept socket");
	/* The daemon closes its copy; ours keeps the socket, and its epoll entry, alive. */
	T_CHECK(send_raw(sv[0], "q", 1, 0) == 0, "short message");
	t_msleep(100);
	for (int i = 0; i < 64; i++)
		send(sv[0], "after the close", 15, MSG_DONTWAIT | MSG_NOSIGNAL);
	t_msleep(100);
	close(sv[0]);
	close(sv[1]);
	T_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	T_CHECK(hello_on(token, sv[1], sv[0]) == 0, "the first end as a session");
	/* The daemon's reply goes to the first end, which the daemon itself reads. */
	T_CHECK(hvsim_send(token, &(struct hvsim_msg){ .op = HVSIM_HELLO }, &sv[0], 1) == 0,
		"the second end as a session");
	t_msleep(200);
	return 0; /* sv kept open until the process exits */
}

/* A domain's process: token abuse, then a real session refused every dom0 op. */
static int guest(void *arg)
{
	struct hvsim_msg hello, rep;
	int sock;

	(void)arg;
	T_CHECK(token_abuse(atoi(getenv(HVSIM_FD_ENV))) == 0, "token abuse");
	T_CHECK(session_abuse(atoi(getenv(HVSIM_FD_ENV))) == 0, "session abuse");
	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "session after abuse");
	T_CHECK(t_rpc(sock, HVSIM_DOMAIN_CREATE, NULL, 0, &rep, NULL, 0, NULL) == -EPERM, "create");
	T_CHECK(t_rpc(sock, HVSIM_DOMAIN_DESTROY, (uint32_t[]){ hello.arg[0] }, 1, &rep, NULL, 0,
		      NULL) == -EPERM,
		"destroy");
	T_CHECK(t_rpc(sock, HVSIM_DOMAIN_INFO, NULL, 0, &rep, NULL, 0, NULL) == -EPERM, "info");
	T_CHECK(t_rpc(sock, HVSIM_SUBSCRIBE, NULL, 0, &rep, NULL, 0, NULL) == -EPERM, "subscribe");
	T_CHECK(t_rpc(sock, HVSIM_HELLO, NULL, 0, &rep, NULL, 0, NULL) == -EISCONN, "HELLO again");
	T_CHECK(t_rpc(sock, 77, NULL, 0, &rep, NULL, 0, NULL) == -ENOSYS, "unknown op");
	T_CHECK(send_raw(sock, "q", 1, 0) == 0 && refused(sock), "short message in a session");
	close(sock);
	return 0;
}

/* fds sent where no op takes any are closed: the daemon's fd count comes back. */
static int check_fd_leak(void)
{
	struct hvsim_msg msg = { .op = HVSIM_DOMAIN_INFO }, rep;
	int sock, before, after = -1, i;

	T_CHECK(t_connect(&sock) == 0, "connect");
	T_CHECK(t_rpc(sock, HVSIM_DOMAIN_INFO, NULL, 0, &rep, NULL, 0, NULL) == -ENOENT, "info");
	before = t_fd_count(t_hv_pid());
	T_CHECK(before > 0, "cannot count pvio-hv's fds");
	for (i = 0; i < 3; i++) {
		T_CHECK(send_raw(sock, &msg, sizeof(msg), 3) == 0, "send with 3 fds");
		T_CHECK(hvsim_recv(sock, &rep, NULL, 0, NULL) == 0 && rep.err == -ENOENT, "reply");
	}
	T_CHECK(send_raw(sock, &msg, sizeof(msg), 10) == 0, "send with 10 fds");
	T_CHECK(refused(sock) || rep.err == -ENOENT, "reply to 10 fds");
	for (i = 0; i < 200 && (after = t_fd_count(t_hv_pid())) > before; i++)
		t_msleep(10);
	T_CHECK(after <= before, "pvio-hv kept fds: %d before, %d after", before, after);
	close(sock);
	return 0;
}

/* A client that never reads its replies cannot stall the daemon. */
static int check_flood(void)
{
	struct hvsim_msg msg = { .op = HVSIM_DOMAIN_INFO };
	struct hvctl *ctl;
	struct hvctl_domain_info info;
	int sock, i;

	T_CHECK(t_connect(&sock) == 0, "connect");
	for (i = 0; i < 100000; i++) {
		if (send(sock, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
	}
	T_CHECK(hvctl_open(&ctl, NULL) == 0, "connect after a flood");
	T_CHECK(hvctl_domain_list(ctl, &info, 1) >= 0, "list after a flood");
	hvctl_close(ctl);
	close(sock);
	return 0;
}

/*
 * The hostile domain gone (its processes exited): pvio-hv idle - under 200 ms of CPU over a
 * second - and the domain no longer listed within 5 s.
 */
static int check_idle_after(void)
{
	struct hvctl_domain_info info;
	struct hvctl *ctl;
	uint64_t a, b;
	int n = -1;

	a = t_proc_cpu_ms(t_hv_pid());
	t_msleep(1000);
	b = t_proc_cpu_ms(t_hv_pid());
	T_CHECK(b - a < 200, "pvio-hv used %llu ms in an idle second", (unsigned long long)(b - a));
	T_CHECK(hvctl_open(&ctl, NULL) == 0, "connect");
	for (int i = 0; i < 500 && (n = hvctl_domain_list(ctl, &info, 1)) > 0; i++)
		t_msleep(10);
	hvctl_close(ctl);
	T_CHECK(n == 0, "the hostile domain is still listed (%d)", n);
	return 0;
}

int main(void)
{
	domid_t domid;
	pid_t pid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(check_garbage() == 0, "garbage");
	T_CHECK(check_ranges() == 0, "ranges");
	T_CHECK(t_domain_fork("hostile", guest, NULL, &domid, &pid) == 0, "fork");
	T_CHECK(t_wait(pid) == 0, "the hostile domain's checks failed");
	T_CHECK(check_idle_after() == 0, "after the hostile domain");
	T_CHECK(check_fd_leak() == 0, "fd leak");
	T_CHECK(check_flood() == 0, "flood");
	return T_PASS;
}
