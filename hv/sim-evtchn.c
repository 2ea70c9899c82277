/* SPDX-License-Identifier: MIT */
/*
 * sim-evtchn.c - event channels on the embedded hypervisor.
 *
 * Each port is an eventfd.  Ours sit in one epoll set (hv_evtchn_fd); to
 * notify, we write to the peer's eventfd, fetched from pvio-hv once per
 * connection.  The daemon publishes each port's state and connection
 * generation in a status array we map read-only, so the hot path checks the
 * peer is still there with one load, and never talks to the daemon.
 *
 * Masking, as Xen's: the mask belongs to the receiver, and taking a port from
 * hv_evtchn_wait masks it (as Linux's evtchn device does) until
 * hv_evtchn_unmask.  A masked port's events stay pending and are not reported;
 * unmasking a port with an event pending reports it once.  The sender cannot
 * help or hinder this: it writes our eventfd directly, so the bound is kept on
 * our side, lazily, to keep both fast paths free of system calls:
 *  - taking a port moves it UNMASKED -> MASKED with one atomic operation; its
 *    eventfd stays in the epoll set (edge-triggered);
 *  - unmasking a MASKED port moves it back with one atomic operation: an
 *    event that came in between raised an edge that epoll still holds, so the
 *    next wait reports it;
 *  - the first event on a MASKED port wakes the epoll set once: the wait does
 *    not report it, but takes the eventfd out of the set (EPOLL_CTL_DEL) and
 *    moves the port to MASKED_OFF.  A storm on a masked port thus
 *    costs the receiver one wake-up per mask, whatever the sender does;
 *  - unmasking a MASKED_OFF port puts the eventfd back (EPOLL_CTL_ADD): an
 *    event did come while masked, and its counter, never read, still makes
 *    the eventfd readable, so epoll reports the port at once: the pending
 *    event raises one upcall and none is lost.
 * The moves to and from MASKED_OFF happen under mask_lock, after the port's
 * state has changed by compare-and-swap, so that an unmask racing with the
 * wait that masks the fd off cannot leave an unmasked port out of the set.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "hv/clock.h"
#include "hv/sim-priv.h"

static uint16_t port_word(struct sim *s, evtchn_port_t port)
{
	return __atomic_load_n(&s->status[port], __ATOMIC_ACQUIRE);
}

static bool port_ours(struct sim *s, evtchn_port_t port)
{
	return port < HVSIM_MAX_PORTS && s->ports[port].recv_fd >= 0;
}

/* Adopt a port the daemon gave us: watch its eventfd. */
static int port_add(struct sim *s, evtchn_port_t port, int recv_fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = port };

	if (port == 0 || port >= HVSIM_MAX_PORTS || s->ports[port].recv_fd >= 0)
		return -EPROTO;
	/*
	 * Ours before it is watched: another thread may take its first event (bind raises one) at
	 * once, and its unmask must find the port.
	 */
	__atomic_store_n(&s->ports[port].mask, SIM_UNMASKED, __ATOMIC_RELEASE);
	__atomic_store_n(&s->ports[port].recv_fd, recv_fd, __ATOMIC_RELEASE);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, recv_fd, &ev) < 0) {
		s->ports[port].recv_fd = -1;
		return -errno;
	}
	return 0;
}

/*
 * Put a port's eventfd back in the epoll set, or take it out.  Out is a removal, not a
 * registration with no events: a registration left on the set's ready list while disarmed
 * would not wake a poller of hv_evtchn_fd (a nested epoll) when armed again, and a new one
 * always does when its eventfd is readable.
 */
static int port_arm(struct sim *s, evtchn_port_t port, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = port };

	return epoll_ctl(s->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->ports[port].recv_fd, &ev)
		   ? -errno
		   : 0;
}

static bool mask_move(struct sim_port *p, uint8_t from, uint8_t to)
{
	return __atomic_compare_exchange_n(&p->mask, &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/*
 * An event on port came out of the epoll set: true to report it (the port is now masked),
 * false when the port was masked already (its eventfd is now out of the set).
 */
static bool port_take(struct sim *s, evtchn_port_t port)
{
	struct sim_port *p = &s->ports[port];
	bool report;

	if (mask_move(p, SIM_UNMASKED, SIM_MASKED))
		return true;
	pthread_mutex_lock(&s->mask_lock);
	if (mask_move(p, SIM_MASKED, SIM_MASKED_OFF)) {
		/* A DEL cannot fail for a registered fd: at worst the port wakes us again. */
		(void)port_arm(s, port, false);
		report = false;
	} else {
		/* Unmasked since (report it), or already off (a stale edge: drop it). */
		report = mask_move(p, SIM_UNMASKED, SIM_MASKED);
	}
	pthread_mutex_unlock(&s->mask_lock);
	return report;
}

static void port_forget(struct sim *s, evtchn_port_t port)
{
	struct sim_port *p = &s->ports[port];

	/* Under mask_lock: an unmask must not put back an eventfd closed here. */
	pthread_mutex_lock(&s->mask_lock);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->recv_fd, NULL);
	close(p->recv_fd);
	if (p->send_fd >= 0)
		close(p->send_fd);
	p->recv_fd = p->send_fd = -1;
	p->gen = 0;
	__atomic_store_n(&p->mask, SIM_UNMASKED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->mask_lock);
}

static void close_fds(int *fds, unsigned int n)
{
	while (n--)
		close(fds[n]);
}

int sim_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port)
{
	struct sim *s = sim_of(hv);
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_ALLOC, .arg = { remote } }, rep;
	unsigned int n = 0;
	int fds[HVSIM_MAX_FDS];
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = sim_call(s, &req, &rep, fds, HVSIM_MAX_FDS, &n);
	if (ret == 0 && n != 1)
		ret = -EPROTO;
	if (ret == 0)
		ret = port_add(s, rep.arg[0], fds[0]);
	if (ret == 0)
		*port = rep.arg[0];
	else
		close_fds(fds, n);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int sim_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port)
{
	struct sim *s = sim_of(hv);
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_BIND, .arg = { remote, remote_port } }, rep;
	unsigned int n = 0;
	int fds[HVSIM_MAX_FDS];
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = sim_call(s, &req, &rep, fds, HVSIM_MAX_FDS, &n);
	if (ret == 0 && n != 2)
		ret = -EPROTO;
	if (ret == 0)
		ret = port_add(s, rep.arg[0], fds[0]);
	if (ret == 0) {
		s->ports[rep.arg[0]].send_fd = fds[1];
		s->ports[rep.arg[0]].gen = rep.arg[1];
		*port = rep.arg[0];
	} else {
		close_fds(fds, n);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Slow path of notify: the first event of a connection fetches the peer fd. */
static int peer_fetch(struct sim *s, evtchn_port_t port)
{
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_PEER, .arg = { port } }, rep;
	struct sim_port *p = &s->ports[port];
	unsigned int n = 0;
	int fds[HVSIM_MAX_FDS];
	int ret;

	ret = sim_call(s, &req, &rep, fds, HVSIM_MAX_FDS, &n);
	if (ret == 0 && n != 1) {
		close_fds(fds, n);
		ret = -EPROTO;
	}
	if (ret < 0)
		return ret;
	if (p->send_fd >= 0)
		close(p->send_fd);
	p->send_fd = fds[0];
	p->gen = rep.arg[0];
	return 0;
}

int sim_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	struct sim *s = sim_of(hv);
	static const uint64_t one = 1;
	struct sim_port *p;
	uint16_t w;
	int ret = 0;

	if (!port_ours(s, port))
		return -EINVAL;
	p = &s->ports[port];
	w = port_word(s, port);
	/* Xen drops an event sent on a port whose peer has gone. */
	if (HVSIM_PORT_STATE(w) != HV_EVTCHN_CONNECTED)
		return 0;
	if (p->send_fd < 0 || p->gen != HVSIM_PORT_GEN(w)) {
		pthread_mutex_lock(&s->lock);
		ret = peer_fetch(s, port);
		pthread_mutex_unlock(&s->lock);
		if (ret == -ENOTCONN)
			return 0;
		if (ret < 0)
			return ret;
	}
	if (write(p->send_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int sim_evtchn_fd(struct hv *hv)
{
	return sim_of(hv)->epfd;
}

/* What is left of timeout_ms (-1: no limit) that began at start. */
static int time_left(int timeout_ms, long long start)
{
	long long left;

	if (timeout_ms <= 0)
		return timeout_ms;
	left = start + timeout_ms - hv_now_ms();
	return left > 0 ? (int)left : 0;
}

/*
 * Mostly one epoll_wait and nothing else: ports are edge-triggered, so taking
 * the event is what makes it no longer pending, and the eventfd's counter is
 * never read (it would take 2^64 notifications to fill it).  An event on a
 * masked port is not reported (port_take) and the wait goes on.
 */
int sim_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms)
{
	long long start = timeout_ms > 0 ? hv_now_ms() : 0;
	struct sim *s = sim_of(hv);
	struct epoll_event ev;
	int n;

	for (;;) {
		do {
			n = epoll_wait(s->epfd, &ev, 1, time_left(timeout_ms, start));
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN;
		if (ev.data.u32 == SIM_SESSION_TAG) {
			/* The session hung up (once: edge-triggered); look for a port at once. */
			s->gone = true;
			timeout_ms = 0;
			continue;
		}
		if (ev.data.u32 < HVSIM_MAX_PORTS && port_take(s, ev.data.u32))
			break;
	}
	*port = ev.data.u32;
	return 0;
}

int sim_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	struct sim *s = sim_of(hv);
	struct sim_port *p;
	int ret = 0;

	if (!port_ours(s, port))
		return -EINVAL;
	p = &s->ports[port];
	if (mask_move(p, SIM_MASKED, SIM_UNMASKED))
		return 0;
	pthread_mutex_lock(&s->mask_lock);
	/* Unmasked before the fd goes back: its pending event is then reported, not dropped. */
	if (p->recv_fd >= 0 && mask_move(p, SIM_MASKED_OFF, SIM_UNMASKED)) {
		ret = port_arm(s, port, true);
		/* ENOMEM: still masked, as the caller is told; a later unmask may succeed. */
		if (ret)
			__atomic_store_n(&p->mask, SIM_MASKED_OFF, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&s->mask_lock);
	return ret;
}

int sim_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	struct sim *s = sim_of(hv);
	struct hvsim_msg req = { .op = HVSIM_EVTCHN_CLOSE, .arg = { port } }, rep;
	int ret;

	pthread_mutex_lock(&s->lock);
	if (!port_ours(s, port)) {
		ret = -EINVAL;
		goto out;
	}
	ret = sim_call(s, &req, &rep, NULL, 0, NULL);
	port_forget(s, port);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int sim_evtchn_state(struct hv *hv, evtchn_port_t port)
{
	struct sim *s = sim_of(hv);

	if (!port_ours(s, port))
		return HV_EVTCHN_CLOSED;
	return (int)HVSIM_PORT_STATE(port_word(s, port));
}

void sim_evtchn_cleanup(struct sim *s)
{
	evtchn_port_t port;

	for (port = 0; port < HVSIM_MAX_PORTS; port++)
		if (s->ports[port].recv_fd >= 0)
			port_forget(s, port);
}
