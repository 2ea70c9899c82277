/* SPDX-License-Identifier: MIT */
/*
 * hv-daemon-evtchn: pvio-hv's side of event channels over the raw protocol.
 * A domain allocates an unbound port for dom0, dom0 binds it, each notifies
 * the other with one write on the peer's eventfd; the status words follow
 * (state and generation); closing one end reverts the other to unbound and
 * kicks it; loopback works; a domain's death does the same to its peers.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/hv.h"
#include "tests/helpers.h"

static int to_guest[2], to_dom0[2];

static int put(int fd, uint32_t v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static int get(int fd, uint32_t *v)
{
	if (!t_readable(fd, 20000))
		return -1;
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

/* A session with its status array mapped. */
struct sess {
	int sock;		/* the session socket */
	const uint16_t *status; /* per port: state and generation */
	domid_t domid;		/* whose session */
};

static int sess_open(struct sess *s)
{
	struct hvsim_msg hello;
	int fds[3];
	void *p;

	T_CHECK(t_session_open(&s->sock, &hello, fds) == 0, "session");
	p = mmap(NULL, HVSIM_MAX_PORTS * sizeof(uint16_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		 fds[2], 0);
	T_CHECK(p == MAP_FAILED, "status words writable by a client");
	p = mmap(NULL, HVSIM_MAX_PORTS * sizeof(uint16_t), PROT_READ, MAP_SHARED, fds[2], 0);
	T_CHECK(p != MAP_FAILED, "map status");
	s->status = p;
	s->domid = (domid_t)hello.arg[0];
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	return 0;
}

static unsigned int state(const struct sess *s, uint32_t port)
{
	return HVSIM_PORT_STATE(__atomic_load_n(&s->status[port], __ATOMIC_ACQUIRE));
}

static unsigned int gen(const struct sess *s, uint32_t port)
{
	return HVSIM_PORT_GEN(__atomic_load_n(&s->status[port], __ATOMIC_ACQUIRE));
}

/* Consume one wakeup of an eventfd, waiting up to 5 s for it. */
static bool kicked(int efd)
{
	uint64_t v;

	return t_readable(efd, 5000) && read(efd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

static int notify(int efd)
{
	uint64_t one = 1;

	return write(efd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

static int alloc_unbound(struct sess *s, domid_t remote, uint32_t *port, int *efd)
{
	struct hvsim_msg rep;
	unsigned int n;
	int ret;

	ret = t_rpc(s->sock, HVSIM_EVTCHN_ALLOC, (uint32_t[]){ remote }, 1, &rep, efd, 1, &n);
	if (ret < 0)
		return ret;
	*port = rep.arg[0];
	return n == 1 ? 0 : -EPROTO;
}

static int bind_port(struct sess *s, domid_t remote, uint32_t rport, uint32_t *port, int fds[2])
{
	struct hvsim_msg rep;
	unsigned int n;
	int ret;

	ret = t_rpc(s->sock, HVSIM_EVTCHN_BIND, (uint32_t[]){ remote, rport }, 2, &rep, fds, 2, &n);
	if (ret < 0)
		return ret;
	*port = rep.arg[0];
	return n == 2 ? 0 : -EPROTO;
}

static int port_op(struct sess *s, uint32_t op, uint32_t port, int *fd)
{
	struct hvsim_msg rep;

	return t_rpc(s->sock, op, &port, 1, &rep, fd, fd ? 1 : 0, NULL);
}

/* Loopback inside one domain: alloc for ourselves, bind to it, close one end. */
static int loopback(struct sess *s)
{
	uint32_t q, r;
	int qefd, fds[2];

	T_CHECK(alloc_unbound(s, DOMID_SELF, &q, &qefd) == 0, "loopback alloc");
	T_CHECK(bind_port(s, s->domid, q, &r, fds) == 0, "loopback bind");
	T_CHECK(state(s, q) == HV_EVTCHN_CONNECTED && state(s, r) == HV_EVTCHN_CONNECTED, "state");
	T_CHECK(kicked(fds[0]), "bind raises the local port");
	T_CHECK(notify(fds[1]) == 0 && kicked(qefd), "loopback notify");
	T_CHECK(port_op(s, HVSIM_EVTCHN_CLOSE, r, NULL) == 0, "close one end");
	T_CHECK(state(s, q) == HV_EVTCHN_UNBOUND && state(s, r) == HV_EVTCHN_CLOSED, "states");
	T_CHECK(kicked(qefd), "the other end not kicked");
	T_CHECK(port_op(s, HVSIM_EVTCHN_PEER, q, NULL) == -ENOTCONN, "peer of unbound");
	T_CHECK(port_op(s, HVSIM_EVTCHN_CLOSE, q, NULL) == 0, "close the other end");
	close(qefd);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

static int guest(void *arg)
{
	struct sess s;
	uint32_t p, p2, v;
	int efd, efd2, peer;
	unsigned int g0;

	(void)arg;
	close(to_guest[1]);
	close(to_dom0[0]);
	T_CHECK(sess_open(&s) == 0, "guest session");
	T_CHECK(alloc_unbound(&s, 0, &p, &efd) == 0, "alloc for dom0");
	T_CHECK(p >= 1 && state(&s, p) == HV_EVTCHN_UNBOUND, "unbound port %u", p);
	g0 = gen(&s, p);
	T_CHECK(port_op(&s, HVSIM_EVTCHN_PEER, p, &peer) == -ENOTCONN, "peer before bind");
	T_CHECK(put(to_dom0[1], p) == 0 && get(to_guest[0], &v) == 0, "wait for the bind");
	T_CHECK(state(&s, p) == HV_EVTCHN_CONNECTED && gen(&s, p) == g0 + 1, "connected, new gen");
	T_CHECK(kicked(efd), "dom0's notify");
	T_CHECK(port_op(&s, HVSIM_EVTCHN_PEER, p, &peer) == 0, "peer");
	T_CHECK(notify(peer) == 0, "notify dom0");
	close(peer);
	T_CHECK(loopback(&s) == 0, "loopback");
	T_CHECK(put(to_dom0[1], 0) == 0 && get(to_guest[0], &v) == 0, "wait for dom0's close");
	T_CHECK(kicked(efd) && state(&s, p) == HV_EVTCHN_UNBOUND, "unbound after dom0's close");
	T_CHECK(alloc_unbound(&s, 0, &p2, &efd2) == 0, "alloc a second port");
	T_CHECK(put(to_dom0[1], p2) == 0 && get(to_guest[0], &v) == 0, "wait for the bind");
	/* Exit with the ports open: the domain's death closes them. */
	return 0;
}

static int dom0_first(struct sess *s, domid_t id, uint32_t p)
{
	uint32_t lp, dummy;
	int fds[2], other[2], peer;

	T_CHECK(bind_port(s, id, p, &lp, fds) == 0, "bind");
	T_CHECK(state(s, lp) == HV_EVTCHN_CONNECTED, "bound port's state");
	T_CHECK(kicked(fds[0]), "bind raises the local port");
	T_CHECK(bind_port(s, id, p, &dummy, other) == -EINVAL, "bind a connected port");
	T_CHECK(notify(fds[1]) == 0, "notify the guest");
	T_CHECK(put(to_guest[1], 1) == 0, "tell the guest");
	T_CHECK(kicked(fds[0]), "the guest's notify");
	T_CHECK(get(to_dom0[0], &dummy) == 0, "guest's loopback");
	T_CHECK(port_op(s, HVSIM_EVTCHN_PEER, lp, &peer) == 0, "peer");
	close(peer);
	T_CHECK(port_op(s, HVSIM_EVTCHN_CLOSE, lp, NULL) == 0, "close");
	T_CHECK(state(s, lp) == HV_EVTCHN_CLOSED, "closed state");
	T_CHECK(port_op(s, HVSIM_EVTCHN_PEER, lp, &peer) == -EINVAL, "peer of a closed port");
	T_CHECK(port_op(s, HVSIM_EVTCHN_CLOSE, lp, NULL) == -EINVAL, "close twice");
	T_CHECK(put(to_guest[1], 1) == 0, "tell the guest");
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* The guest exits with a connected port: ours reverts to unbound and is kicked. */
static int dom0_death(struct sess *s, domid_t id, pid_t pid)
{
	struct sess other;
	uint32_t p2, lp2;
	int fds[2], peer;

	T_CHECK(get(to_dom0[0], &p2) == 0, "second port");
	T_CHECK(bind_port(s, id, p2, &lp2, fds) == 0 && kicked(fds[0]), "bind the second port");
	T_CHECK(sess_open(&other) == 0, "second dom0 session");
	T_CHECK(port_op(&other, HVSIM_EVTCHN_CLOSE, lp2, NULL) == -EINVAL, "close another's port");
	T_CHECK(put(to_guest[1], 1) == 0, "let the guest exit");
	T_CHECK(t_wait(pid) == 0, "the guest's checks failed");
	T_CHECK(kicked(fds[0]), "no kick on the peer's death");
	T_CHECK(state(s, lp2) == HV_EVTCHN_UNBOUND, "unbound after the peer's death");
	T_CHECK(port_op(s, HVSIM_EVTCHN_PEER, lp2, &peer) == -ENOTCONN, "peer of a dead domain");
	T_CHECK(alloc_unbound(s, id, &p2, &peer) == -ESRCH, "alloc for a dead domain");
	T_CHECK(port_op(s, HVSIM_EVTCHN_CLOSE, lp2, NULL) == 0, "close");
	close(fds[0]);
	close(fds[1]);
	close(other.sock);
	return 0;
}

int main(void)
{
	struct sess s;
	uint32_t p;
	domid_t id;
	pid_t pid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(pipe(to_guest) == 0 && pipe(to_dom0) == 0, "pipes");
	T_CHECK(t_domain_fork("evtchn", guest, NULL, &id, &pid) == 0, "fork");
	close(to_guest[0]);
	close(to_dom0[1]);
	T_CHECK(sess_open(&s) == 0, "dom0 session");
	T_CHECK(loopback(&s) == 0, "dom0 loopback");
	T_CHECK(get(to_dom0[0], &p) == 0, "port from the guest");
	T_CHECK(dom0_first(&s, id, p) == 0, "first channel");
	T_CHECK(dom0_death(&s, id, pid) == 0, "death");
	close(s.sock);
	return T_PASS;
}
