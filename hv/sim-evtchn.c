/* SPDX-License-Identifier: MIT */
/*
 * sim-evtchn.c - event channels on the embedded hypervisor.
 *
 * Each port is an eventfd.  Ours sit in one epoll set (hv_evtchn_fd); to
 * notify, we write to the peer's eventfd, fetched from pvio-hv once per
 * connection.  The daemon publishes each port's state and connection
 * generation in a status array we map read-only, so the hot path checks the
 * peer is still there with one load, and never talks to the daemon.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

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
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, recv_fd, &ev) < 0)
		return -errno;
	s->ports[port].recv_fd = recv_fd;
	return 0;
}

static void port_forget(struct sim *s, evtchn_port_t port)
{
	struct sim_port *p = &s->ports[port];

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->recv_fd, NULL);
	close(p->recv_fd);
	if (p->send_fd >= 0)
		close(p->send_fd);
	p->recv_fd = p->send_fd = -1;
	p->gen = 0;
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

/*
 * One epoll_wait and nothing else: ports are edge-triggered, so taking the
 * event is what makes it no longer pending, and the eventfd's counter is
 * never read (it would take 2^64 notifications to fill it).
 */
int sim_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms)
{
	struct sim *s = sim_of(hv);
	struct epoll_event ev;
	int n;

	for (;;) {
		do {
			n = epoll_wait(s->epfd, &ev, 1, timeout_ms);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN;
		if (ev.data.u32 != SIM_SESSION_TAG)
			break;
		/* The session hung up (once: edge-triggered); look for a port at once. */
		s->gone = true;
		timeout_ms = 0;
	}
	*port = ev.data.u32;
	return 0;
}

int sim_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	return port_ours(sim_of(hv), port) ? 0 : -EINVAL;
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
