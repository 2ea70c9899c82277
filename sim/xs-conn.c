/* SPDX-License-Identifier: MIT */
/*
 * xs-conn.c - pvio-xenstored's client connections: non-blocking framing of
 * xs_wire messages in and out, with a bounded output queue.
 *
 * A header announcing more than XENSTORE_PAYLOAD_MAX bytes kills the
 * connection, as Xen's xenstored does.  A client that leaves replies
 * unread stops being read (quota "outstanding"), and so does a domain
 * over its write rate (xs-wrl.c) until it has earned more; watch events for an
 * unprivileged client whose queue is over "output-queue" bytes are dropped.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim/peer.h"
#include "sim/xs-daemon.h"

/* Whether c's requests may be read: not with too many replies unread or writes too fast. */
static bool xs_conn_may_read(struct xs_daemon *d, struct xs_conn *c)
{
	return c->domid == 0 ||
	       (c->out_replies < d->quota.outstanding && xs_wrl_allows(d, c->domid));
}

/* Arm EPOLLIN while c may be read; EPOLLOUT while output waits. */
static void xs_conn_rearm(struct xs_daemon *d, struct xs_conn *c)
{
	struct epoll_event ev = { .data.ptr = &c->src };

	c->reading = xs_conn_may_read(d, c);
	ev.events = (c->reading ? EPOLLIN : 0) | (c->out ? EPOLLOUT : 0);
	if (ev.events != c->armed && epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->src.fd, &ev) == 0)
		c->armed = ev.events;
}

/* Out of descriptors: stop listening (level-triggered, it would spin) until a close. */
static void xs_listen_pause(struct xs_daemon *d, struct xs_domain *dom)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &dom->src };

	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, dom->src.fd, &ev) == 0)
		d->listen_paused = true;
}

/* A descriptor is free again: listen on every socket again. */
static void xs_listen_resume(struct xs_daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->main.src };
	struct xs_domain *dom;

	d->listen_paused = false;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->main.src.fd, &ev);
	for (dom = d->domains; dom; dom = dom->next) {
		ev.data.ptr = &dom->src;
		epoll_ctl(d->epfd, EPOLL_CTL_MOD, dom->src.fd, &ev);
	}
}

static unsigned int xs_conn_count(const struct xs_daemon *d, unsigned int domid)
{
	const struct xs_conn *c;
	unsigned int n = 0;

	for (c = d->conns; c; c = c->next)
		n += c->domid == domid && !c->dead;
	return n;
}

/*
 * Whether a domain's new connection may stay: within its "connections"
 * quota, and leaving "fd-reserve" descriptors to dom0 whatever all domains
 * hold together (19,994 connections of one domain once took every
 * descriptor, and dom0's xenstore-read hung).
 */
static bool xs_conn_admit(struct xs_daemon *d, struct xs_domain *dom)
{
	const char *why = NULL;

	if (xs_conn_count(d, dom->domid) >= d->quota.connections)
		why = "its \"connections\" quota";
	else if ((unsigned long)d->guest_conns + d->quota.fd_reserve >= d->nofile)
		why = "the descriptors outside dom0's reserve";
	if (why && !dom->at_conn_limit)
		fprintf(stderr, "pvio-xenstored: domain %u: connection refused: at %s\n",
			dom->domid, why);
	dom->at_conn_limit = why != NULL;
	return !why;
}

/* Whether the peer on fd, just accepted on dom's socket, may stay. */
static bool xs_conn_allowed(struct xs_daemon *d, struct xs_domain *dom, int fd)
{
	char why[160];

	if (dom != &d->main)
		return xs_conn_admit(d, dom);
	/* The main socket is dom0's: only dom0's own credentials pass (peer.c). */
	if (peer_is_dom0(fd, why, sizeof(why)) == 0)
		return true;
	fprintf(stderr, "pvio-xenstored: main socket: refused %s\n", why);
	return false;
}

int xs_conn_accept(struct xs_daemon *d, struct xs_domain *dom)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xs_conn *c;
	int fd = accept4(dom->src.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0 && (errno == EMFILE || errno == ENFILE))
		xs_listen_pause(d, dom);
	if (fd < 0)
		return -errno;
	if (!xs_conn_allowed(d, dom, fd)) {
		close(fd);
		return -EPERM;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->src.kind = XS_SRC_CONN;
	c->src.fd = fd;
	c->domid = dom->domid;
	c->out_tail = &c->out;
	c->reading = true;
	c->armed = EPOLLIN;
	ev.data.ptr = &c->src;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return -errno;
	}
	c->next = d->conns;
	d->conns = c;
	d->guest_conns += c->domid != 0;
	if (d->verbose)
		fprintf(stderr, "pvio-xenstored: connection from domain %u\n", c->domid);
	return 0;
}

static void xs_conn_txns_free(struct xs_conn *c)
{
	struct xs_conn_txn *t;

	while ((t = c->txns)) {
		c->txns = t->next;
		xs_txn_free(&t->tx);
		xs_event_free(t->events);
		free(t);
	}
	c->ntxns = 0;
}

void xs_conn_close(struct xs_daemon *d, struct xs_conn *c)
{
	struct xs_domain *dom;
	struct xs_conn **pp;
	struct xs_out *o;

	for (pp = &d->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->src.fd, NULL);
	close(c->src.fd);
	d->guest_conns -= c->domid != 0;
	if (c->domid && (dom = xs_domain_find(d, c->domid)))
		dom->at_conn_limit = false;
	if (d->listen_paused)
		xs_listen_resume(d);
	while ((o = c->out)) {
		c->out = o->next;
		free(o);
	}
	xs_watch_free_all(c);
	xs_conn_txns_free(c);
	free(c);
}

int xs_conn_send(struct xs_daemon *d, struct xs_conn *c, const struct xsd_sockmsg *hdr,
		 const void *body, unsigned int len)
{
	bool event = hdr->type == XS_WATCH_EVENT;
	struct xsd_sockmsg h = *hdr;
	struct xs_out *o;

	if (c->dead)
		return -EPIPE;
	if (event && c->domid != 0 && c->out_bytes > d->quota.out_max)
		return -ENOBUFS;
	o = malloc(sizeof(*o) + sizeof(*hdr) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = sizeof(*hdr) + len;
	o->off = 0;
	o->event = event;
	/* o->data need not be aligned for a header: copy one in whole. */
	h.len = len;
	memcpy(o->data, &h, sizeof(h));
	if (len)
		memcpy(o->data + sizeof(*hdr), body, len);
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += o->len;
	c->out_replies += !event;
	return 0;
}

int xs_reply(struct xs_daemon *d, struct xs_conn *c, const void *body, unsigned int len)
{
	return xs_conn_send(d, c, &c->hdr, body, len);
}

int xs_reply_ok(struct xs_daemon *d, struct xs_conn *c)
{
	return xs_reply(d, c, "OK", 3);
}

int xs_reply_err(struct xs_daemon *d, struct xs_conn *c, int err)
{
	struct xsd_sockmsg hdr = c->hdr;
	const char *name = "EINVAL";
	unsigned int i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++) {
		if (xsd_errors[i].errnum == err) {
			name = xsd_errors[i].errstring;
			break;
		}
	}
	hdr.type = XS_ERROR;
	return xs_conn_send(d, c, &hdr, name, (unsigned int)strlen(name) + 1);
}

/* Write what the socket takes; -errno on a dead peer. */
static int xs_conn_flush(struct xs_conn *c)
{
	struct xs_out *o;
	ssize_t n;

	while ((o = c->out)) {
		n = send(c->src.fd, o->data + o->off, o->len - o->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		o->off += (size_t)n;
		if (o->off < o->len)
			return 0;
		c->out = o->next;
		if (!c->out)
			c->out_tail = &c->out;
		c->out_bytes -= o->len;
		c->out_replies -= !o->event;
		free(o);
	}
	return 0;
}

/* One recv() into the header or, once it is whole, the payload: bytes read, 0 none, -errno. */
static ssize_t xs_conn_recv(struct xs_conn *c)
{
	size_t hl = sizeof(c->hdr);
	ssize_t n;

	if (c->inlen < hl)
		n = recv(c->src.fd, (char *)&c->hdr + c->inlen, hl - c->inlen, 0);
	else
		n = recv(c->src.fd, c->in + (c->inlen - hl), hl + c->hdr.len - c->inlen, 0);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	c->inlen += (size_t)n;
	return n;
}

/*
 * Read the header, then the payload, in the same call while the socket has them: 1 when a
 * message is whole, 0 for more, -errno.  (Stopping after the header made each request take
 * two loop turns, and hid tests/xs-conn-rr's starvation.)
 */
static int xs_conn_fill(struct xs_conn *c)
{
	size_t hl = sizeof(c->hdr);
	ssize_t n;

	while (c->inlen < hl || c->inlen < hl + c->hdr.len) {
		if (c->inlen == hl && c->hdr.len > XENSTORE_PAYLOAD_MAX)
			return -EMSGSIZE;
		n = xs_conn_recv(c);
		if (n <= 0)
			return (int)n;
	}
	return c->hdr.len <= XENSTORE_PAYLOAD_MAX ? 1 : -EMSGSIZE;
}

/*
 * Requests of one connection, and of all a domain's connections together,
 * handled in one loop turn: a domain with many connections gets no larger
 * share of the daemon than one with a single connection, and a guest gets one
 * request a turn, so dom0 waits behind at most one request of each flooding
 * domain (with 16, dom0's median read took 2.0-2.2x its baseline under
 * tests/flood-fair's flood).  What is left stays in the sockets and epoll
 * (level-triggered) reports it again next turn; of a domain's connections
 * reported together, the one served longest ago is read (xs_daemon_pick in
 * xs-daemon.c), so they take their turns in order.
 */
#define XS_CONN_TURN_REQS   64
#define XS_DOMAIN_TURN_REQS 1

/* How many more requests of c this turn may handle. */
static unsigned int xs_conn_budget(struct xs_daemon *d, struct xs_conn *c, struct xs_domain **domp)
{
	struct xs_domain *dom = c->domid ? xs_domain_find(d, c->domid) : NULL;
	unsigned int left;

	*domp = dom;
	if (!dom)
		return XS_CONN_TURN_REQS;
	if (dom->turn != d->turn) {
		dom->turn = d->turn;
		dom->turn_reqs = 0;
	}
	if (dom->pick_turn == d->turn && dom->pick != c)
		return 0;
	left = dom->turn_reqs < XS_DOMAIN_TURN_REQS ? XS_DOMAIN_TURN_REQS - dom->turn_reqs : 0;
	return left < XS_CONN_TURN_REQS ? left : XS_CONN_TURN_REQS;
}

/* Count a request of c read now, for CONTROL fairness. */
static void xs_conn_tally(struct xs_daemon *d, const struct xs_conn *c)
{
	uint64_t ahead = d->guest_reqs - d->guest_reqs_prev;

	if (c->domid) {
		d->guest_reqs++;
		return;
	}
	d->dom0_reqs++;
	if (ahead > d->dom0_ahead_max)
		d->dom0_ahead_max = ahead;
}

/* Handle whole requests while the client may send more: -errno ends it. */
static int xs_conn_read(struct xs_daemon *d, struct xs_conn *c)
{
	struct xs_domain *dom;
	unsigned int budget = xs_conn_budget(d, c, &dom);
	int ret;

	for (; budget > 0 && c->reading && !c->dead; budget--) {
		ret = xs_conn_fill(c);
		if (ret <= 0)
			return ret;
		c->served = d->turn;
		xs_conn_tally(d, c);
		xs_ops_dispatch(d, c);
		c->inlen = 0;
		c->reading = xs_conn_may_read(d, c);
		/* dispatch may release the domain: look it up again rather than keep dom. */
		if (dom && (dom = xs_domain_find(d, c->domid)))
			dom->turn_reqs++;
	}
	return 0;
}

void xs_conn_io(struct xs_daemon *d, struct xs_conn *c, uint32_t events)
{
	int ret = 0;

	if (events & EPOLLIN)
		ret = xs_conn_read(d, c);
	if (ret == -EMSGSIZE && d->verbose)
		fprintf(stderr, "pvio-xenstored: domain %u: oversized message, closing\n",
			c->domid);
	if (ret == 0 && !c->dead)
		ret = xs_conn_flush(c);
	if (ret == 0 && !c->dead && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		ret = -ECONNRESET;
	if (ret < 0 || c->dead) {
		xs_conn_close(d, c);
		return;
	}
	xs_conn_rearm(d, c);
}

void xs_conn_service(struct xs_daemon *d)
{
	struct xs_conn *c, *next;

	for (c = d->conns; c; c = next) {
		next = c->next;
		if (!c->dead && c->out && xs_conn_flush(c) < 0)
			c->dead = true;
		if (c->dead)
			xs_conn_close(d, c);
		else
			xs_conn_rearm(d, c);
	}
}
