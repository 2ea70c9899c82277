/* SPDX-License-Identifier: MIT */
/*
 * evtchn.c - event channels: per domain ports 1..HVSIM_MAX_PORTS-1, each an
 * eventfd the daemon brokers.  A notify is the client's own write() on its
 * peer's eventfd; the daemon only connects and disconnects, and publishes
 * every port's state and generation in its owning session's status array.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sim/hvd.h"

int hvd_evtchn_init(struct hvd_domain *dom)
{
	unsigned int port;

	dom->ports = calloc(HVSIM_MAX_PORTS, sizeof(*dom->ports));
	if (!dom->ports)
		return -ENOMEM;
	for (port = 0; port < HVSIM_MAX_PORTS; port++)
		dom->ports[port].efd = -1;
	return 0;
}

/* Every port has gone with its session by now; close what would be left. */
void hvd_evtchn_fini(struct hvd_domain *dom)
{
	unsigned int port;

	for (port = 0; dom->ports && port < HVSIM_MAX_PORTS; port++) {
		if (dom->ports[port].efd >= 0)
			close(dom->ports[port].efd);
	}
	free(dom->ports);
}

/* An allocated port of dom, or NULL; port 0 is never one, as in Xen. */
static struct hvd_port *port_get(struct hvd_domain *dom, uint32_t port)
{
	if (port == 0 || port >= HVSIM_MAX_PORTS || dom->ports[port].state == HV_EVTCHN_CLOSED)
		return NULL;
	return &dom->ports[port];
}

/* An allocated port owned by session c, or NULL. */
static struct hvd_port *port_of_session(struct hvd_conn *c, uint32_t port)
{
	struct hvd_port *p = port_get(c->dom, port);

	return p && p->owner == c ? p : NULL;
}

/* Publish the port's state and generation to the session that owns it. */
static void port_publish(struct hvd_port *p, evtchn_port_t port, unsigned int state)
{
	p->state = (uint8_t)state;
	__atomic_store_n(&p->owner->status[port], HVSIM_PORT_WORD(state, p->gen), __ATOMIC_RELEASE);
}

/*
 * Whether dom may take one more port: a guest within its limit, its
 * descriptor budget and the descriptors outside dom0's reserve (each port is
 * an eventfd), ENOSPC whichever stops it, as Xen's per-domain port limit
 * answers.  The descriptor is charged on success.
 */
static bool port_allowed(struct hvd *hvd, struct hvd_domain *dom)
{
	if (!dom->domid)
		return true;
	if (dom->nr_ports >= hvd->limits.ports) {
		hvd_log(hvd, "domain %u: at its limit of %u ports", dom->domid, hvd->limits.ports);
		return false;
	}
	return hvd_fds_take(hvd, dom, 1, "event channel") == 0;
}

/* A free port of dom with a fresh eventfd, owned by c; 0 if none is left. */
static evtchn_port_t port_alloc(struct hvd *hvd, struct hvd_domain *dom, struct hvd_conn *c,
				int *err)
{
	evtchn_port_t port;

	*err = -ENOSPC;
	if (!port_allowed(hvd, dom))
		return 0;
	for (port = 1; port < HVSIM_MAX_PORTS; port++) {
		struct hvd_port *p = &dom->ports[port];

		if (p->state != HV_EVTCHN_CLOSED)
			continue;
		p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->efd < 0) {
			*err = -errno;
			break;
		}
		p->owner = c;
		dom->nr_ports++;
		return port;
	}
	hvd_fds_put(hvd, dom, 1);
	return 0;
}

/* The next generation: it must fit the status word's 14 bits. */
static uint16_t gen_next(uint16_t gen)
{
	return (uint16_t)HVSIM_PORT_GEN(HVSIM_PORT_WORD(0, gen + 1u));
}

/* Wake whoever polls the port's eventfd; a full counter is already awake. */
static void port_kick(const struct hvd_port *p)
{
	uint64_t one = 1;

	if (write(p->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wakeup is pending anyway. */
	}
}

/* EVTCHN_ALLOC: arg[0] remote domid.  Reply arg[0] port; fds[0] its eventfd. */
int hvd_op_evtchn_alloc(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			struct hvd_reply *rep)
{
	struct hvd_domain *remote = hvd_domain_get(hvd, c->dom, req->arg[0]);
	evtchn_port_t port;
	struct hvd_port *p;
	int err;

	if (!remote)
		return -ESRCH;
	port = port_alloc(hvd, c->dom, c, &err);
	if (!port)
		return err;
	p = &c->dom->ports[port];
	p->remote_dom = remote->domid;
	p->remote_port = 0;
	port_publish(p, port, HV_EVTCHN_UNBOUND);
	rep->msg.arg[0] = port;
	rep->fds[rep->nfds++] = p->efd;
	return 0;
}

/*
 * EVTCHN_BIND: arg[0] remote domid, arg[1] its unbound port naming us.
 * Reply arg[0] local port, arg[1] generation; fds: local, remote eventfd.
 */
int hvd_op_evtchn_bind(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		       struct hvd_reply *rep)
{
	struct hvd_domain *remote = hvd_domain_get(hvd, c->dom, req->arg[0]);
	struct hvd_port *lp, *rp;
	evtchn_port_t lport, rport = req->arg[1];
	int err;

	if (!remote)
		return -ESRCH;
	rp = port_get(remote, rport);
	if (!rp || rp->state != HV_EVTCHN_UNBOUND || rp->remote_dom != c->dom->domid)
		return -EINVAL;
	lport = port_alloc(hvd, c->dom, c, &err);
	if (!lport)
		return err;
	lp = &c->dom->ports[lport];
	lp->gen = gen_next(lp->gen);
	lp->remote_dom = remote->domid;
	lp->remote_port = rport;
	rp->remote_port = lport;
	rp->gen = gen_next(rp->gen);
	port_publish(lp, lport, HV_EVTCHN_CONNECTED);
	port_publish(rp, rport, HV_EVTCHN_CONNECTED);
	/* As Xen: an event sent to the unbound port was lost, so raise one locally. */
	port_kick(lp);
	rep->msg.arg[0] = lport;
	rep->msg.arg[1] = lp->gen;
	rep->fds[0] = lp->efd;
	rep->fds[1] = rp->efd;
	rep->nfds = 2;
	return 0;
}

/* The peer of a connected port (its domain may be dying: loopback), or NULL. */
static struct hvd_port *port_peer(struct hvd *hvd, const struct hvd_domain *dom, evtchn_port_t port)
{
	const struct hvd_port *p = &dom->ports[port];
	struct hvd_domain *rdom = hvd->domains[p->remote_dom];
	struct hvd_port *peer;

	if (p->state != HV_EVTCHN_CONNECTED || !rdom)
		return NULL;
	peer = port_get(rdom, p->remote_port);
	/* Both ends always change together; check anyway rather than corrupt a stranger. */
	if (!peer || peer->state != HV_EVTCHN_CONNECTED || peer->remote_dom != dom->domid ||
	    peer->remote_port != port)
		return NULL;
	return peer;
}

/* EVTCHN_PEER: arg[0] a port of this session.  Reply arg[0] gen; fds[0] peer eventfd. */
int hvd_op_evtchn_peer(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		       struct hvd_reply *rep)
{
	struct hvd_port *p = port_of_session(c, req->arg[0]), *peer;

	if (!p)
		return -EINVAL;
	peer = port_peer(hvd, c->dom, req->arg[0]);
	if (!peer)
		return -ENOTCONN;
	rep->msg.arg[0] = p->gen;
	rep->fds[rep->nfds++] = peer->efd;
	return 0;
}

/*
 * Close a port.  A connected peer reverts to unbound, still naming our
 * domain as Xen leaves it, and is kicked once so that a poller reads its new
 * state.  The generation stays with the slot, so a client's cached (port,
 * gen) of an earlier use cannot match a reused port until gen wraps.
 */
static void port_close(struct hvd *hvd, struct hvd_conn *c, evtchn_port_t port)
{
	struct hvd_port *p = &c->dom->ports[port], *peer = port_peer(hvd, c->dom, port);

	if (peer) {
		peer->remote_port = 0;
		port_publish(peer, p->remote_port, HV_EVTCHN_UNBOUND);
		port_kick(peer);
	}
	port_publish(p, port, HV_EVTCHN_CLOSED);
	close(p->efd);
	p->efd = -1;
	p->owner = NULL;
	c->dom->nr_ports--;
	hvd_fds_put(hvd, c->dom, 1);
	p->remote_dom = 0;
	p->remote_port = 0;
}

/* EVTCHN_CLOSE: arg[0] a port of this session. */
int hvd_op_evtchn_close(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			struct hvd_reply *rep)
{
	(void)rep;
	if (!port_of_session(c, req->arg[0]))
		return -EINVAL;
	port_close(hvd, c, req->arg[0]);
	return 0;
}

/* A session closes: all its ports close as if it had closed each. */
void hvd_evtchn_session_close(struct hvd *hvd, struct hvd_conn *c)
{
	evtchn_port_t port;

	for (port = 1; port < HVSIM_MAX_PORTS; port++) {
		if (c->dom->ports[port].owner == c)
			port_close(hvd, c, port);
	}
}
