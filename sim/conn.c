/* SPDX-License-Identifier: MIT */
/*
 * conn.c - the sockets: main-socket connections from dom0, the domain tokens
 * on which sessions are opened, the sessions' private sockets, and the death
 * streams.  Reads one request, checks who may ask for it, runs it, replies.
 *
 * Nothing a client sends may block or crash the daemon: every socket the
 * daemon reads or writes is non-blocking, a malformed message closes that
 * one connection (or is ignored on a token, which many processes share), and
 * passed fds that no op expects are closed by hvsim_recv.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim/hvd.h"
#include "sim/peer.h"

/* Messages handled per event before going back to epoll: fairness between clients. */
#define HVD_BURST 16

enum {
	OP_DOM0 = 1,	/* only dom0 may ask */
	OP_SESSION = 2, /* needs HELLO first */
};

static hvd_op_fn op_hello, op_subscribe, op_fairness;

static const struct {
	hvd_op_fn *fn;	   /* the handler */
	unsigned int need; /* OP_* the caller must satisfy */
} ops[] = {
	[HVSIM_HELLO] = { op_hello, 0 },
	[HVSIM_DOMAIN_CREATE] = { hvd_op_domain_create, OP_DOM0 },
	[HVSIM_DOMAIN_DESTROY] = { hvd_op_domain_destroy, OP_DOM0 },
	[HVSIM_DOMAIN_INFO] = { hvd_op_domain_info, OP_DOM0 },
	[HVSIM_SUBSCRIBE] = { op_subscribe, OP_DOM0 },
	[HVSIM_GRANT_ALLOC] = { hvd_op_grant_alloc, OP_SESSION },
	[HVSIM_GRANT_FREE] = { hvd_op_grant_free, OP_SESSION },
	[HVSIM_GRANT_ATTACH] = { hvd_op_grant_attach, OP_SESSION },
	[HVSIM_EVTCHN_ALLOC] = { hvd_op_evtchn_alloc, OP_SESSION },
	[HVSIM_EVTCHN_BIND] = { hvd_op_evtchn_bind, OP_SESSION },
	[HVSIM_EVTCHN_PEER] = { hvd_op_evtchn_peer, OP_SESSION },
	[HVSIM_EVTCHN_CLOSE] = { hvd_op_evtchn_close, OP_SESSION },
	[HVSIM_GRANT_RELEASE] = { hvd_op_grant_release, OP_SESSION },
	[HVSIM_FAIRNESS] = { op_fairness, OP_DOM0 },
};

static void conn_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events);

/* The epoll set of c: dom0's own, which the loop looks at first, or everyone else's. */
static int conn_epfd(const struct hvd *hvd, const struct hvd_conn *c)
{
	return c->dom->domid ? hvd->epfd : hvd->dom0_epfd;
}

static struct hvd_conn *conn_new(struct hvd *hvd, int fd, struct hvd_domain *dom)
{
	struct hvd_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len = sizeof(int);
	int sndbuf = 0;

	if (!c)
		return NULL;
	/* Half: a reply always fits past it, and EPOLLOUT comes back at a quarter. */
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0 || sndbuf <= 0)
		sndbuf = 4096;
	c->outq_max = (unsigned int)sndbuf / 2;
	c->watch.ready = conn_ready;
	ev.data.ptr = &c->watch;
	c->fd = fd;
	c->state = HVD_CONN_NEW;
	c->dom = dom;
	c->pidfd = c->status_fd = -1;
	hvd_list_init(&c->attaches);
	hvd_list_init(&c->link);
	hvd_list_init(&c->parked);
	if (epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	hvd_list_add(&hvd->conns, &c->all);
	return c;
}

/* Close one connection; a session's close may be its domain's death. */
void hvd_conn_close(struct hvd *hvd, struct hvd_conn *c)
{
	struct hvd_domain *dom = c->dom;
	bool session = c->state == HVD_CONN_SESSION;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &hvd->listen_watch };

	if (session)
		hvd_session_close(hvd, c);
	if (c->state == HVD_CONN_SUBSCRIBER)
		hvd->nr_subscribers--;
	hvd_list_del(&c->link);
	hvd_list_del(&c->all);
	hvd_list_del(&c->parked);
	/*
	 * Out of the epoll set before the close: a session's socket was passed in by a domain,
	 * which may keep its own copy open, and epoll forgets an fd only when every copy of it is
	 * closed; left in, its next event would reach c after the free.
	 */
	epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	/* An fd is free again: resume accepting if we ran out. */
	if (hvd->listen_paused && epoll_ctl(hvd->epfd, EPOLL_CTL_MOD, hvd->listen_fd, &ev) == 0)
		hvd->listen_paused = false;
	if (session)
		hvd_domain_check(hvd, dom);
}

/*
 * A new main-socket connection.  Only dom0's own credentials (peer.c) may
 * act as dom0; anyone else is hung up on at once.
 */
int hvd_conn_accept(struct hvd *hvd)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &hvd->listen_watch };
	char why[160];
	int fd, err;

	fd = accept4(hvd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = fd < 0 ? errno : 0;
	if (err == EMFILE || err == ENFILE) {
		/* Level-triggered: stop listening rather than spin until an fd frees. */
		if (epoll_ctl(hvd->epfd, EPOLL_CTL_MOD, hvd->listen_fd, &ev) == 0)
			hvd->listen_paused = true;
		return -err;
	}
	if (fd < 0)
		return err == EAGAIN || err == ECONNABORTED || err == EINTR ? 0 : -err;
	if (peer_is_dom0(fd, why, sizeof(why)) < 0) {
		fprintf(stderr, "pvio-hv: main socket: refused %s\n", why);
		close(fd);
		return 0;
	}
	if (!conn_new(hvd, fd, hvd->domains[0])) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

/* HELLO on a main-socket connection: open a dom0 session. */
static int op_hello(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		    struct hvd_reply *rep)
{
	(void)req;
	if (c->state != HVD_CONN_NEW)
		return -EISCONN;
	return hvd_session_open(hvd, c, 0, -1, rep);
}

/* SUBSCRIBE: only on a connection of its own, never on a session's. */
static int op_subscribe(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			struct hvd_reply *rep)
{
	(void)req;
	if (c->state != HVD_CONN_NEW)
		return -EBUSY;
	if (hvd->nr_subscribers >= hvd->limits.subscribers)
		return -EMFILE;
	rep->subscribe = true;
	return 0;
}

/* FAIRNESS: the counts of hvd_tally. */
static int op_fairness(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		       struct hvd_reply *rep)
{
	(void)c;
	(void)req;
	rep->msg.arg[0] = (uint32_t)hvd->dom0_reqs;
	rep->msg.arg[1] = (uint32_t)(hvd->dom0_reqs >> 32);
	rep->msg.arg[2] = hvd->dom0_ahead_max;
	return 0;
}

/*
 * Count a request of dom read now: for dom0's, the guest requests read since its connections
 * were last seen idle (pvio-hv.c's loop) are the most that can have been read while it waited.
 */
static void hvd_tally(struct hvd *hvd, const struct hvd_domain *dom)
{
	uint64_t ahead = hvd->guest_reqs - hvd->guest_reqs_mark;

	if (dom->domid) {
		hvd->guest_reqs++;
		return;
	}
	hvd->dom0_reqs++;
	if (ahead > hvd->dom0_ahead_max)
		hvd->dom0_ahead_max = ahead > UINT32_MAX ? UINT32_MAX : (unsigned int)ahead;
}

static int op_run(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		  struct hvd_reply *rep)
{
	unsigned int need;

	if (req->op >= sizeof(ops) / sizeof(ops[0]) || !ops[req->op].fn)
		return -ENOSYS;
	need = ops[req->op].need;
	if ((need & OP_DOM0) && c->dom->domid != 0)
		return -EPERM;
	if ((need & OP_SESSION) && c->state != HVD_CONN_SESSION)
		return -EPROTO;
	return ops[req->op].fn(hvd, c, req, rep);
}

/* Send a reply built by a handler; negative if the connection must close. */
static int conn_reply(struct hvd *hvd, struct hvd_conn *c, struct hvd_reply *rep)
{
	int ret;

	/* Handlers fill fds only on success: an error reply never carries any. */
	if (rep->msg.err < 0)
		rep->nfds = 0;
	rep->msg.op |= HVSIM_OP_FROM_HV;
	ret = hvsim_send_nowait(c->fd, &rep->msg, rep->fds, rep->nfds);
	if (rep->close_fd >= 0)
		close(rep->close_fd);
	if (ret < 0)
		return ret;
	if (rep->subscribe) {
		c->state = HVD_CONN_SUBSCRIBER;
		hvd->nr_subscribers++;
		hvd_list_add(&hvd->subscribers, &c->link);
	}
	return 0;
}

static int conn_request(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req)
{
	struct hvd_reply rep = { .msg.op = req->op, .close_fd = -1 };

	rep.msg.err = op_run(hvd, c, req, &rep);
	return conn_reply(hvd, c, &rep);
}

/*
 * Fair service: in one round, all the sessions of one domain other than dom0
 * together have at most HVD_DOMAIN_SHARE requests served, so that a domain buys
 * no larger share with more sessions.  A session whose domain's share is spent
 * leaves the epoll set (parked) until the round ends, which is when nothing
 * unparked is ready (the loop in pvio-hv.c): everyone who waited has then been
 * served once, and the parked sessions are armed again before the loop sleeps.
 */
#define HVD_DOMAIN_SHARE 16

static bool share_left(const struct hvd *hvd, struct hvd_domain *dom)
{
	if (dom->domid == 0)
		return true;
	if (dom->round != hvd->round) {
		dom->round = hvd->round;
		dom->credit = HVD_DOMAIN_SHARE;
	}
	return dom->credit > 0;
}

/* Out of the epoll set until the next round; if that fails it stays armed. */
static void conn_park(struct hvd *hvd, struct hvd_conn *c)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &c->watch };

	if (hvd_list_empty(&c->parked) &&
	    epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_MOD, c->fd, &ev) == 0)
		hvd_list_add(&hvd->parked, &c->parked);
}

/* A new round: every domain's share is whole again, every parked session armed. */
void hvd_round_next(struct hvd *hvd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct hvd_conn *c;

	hvd->round++;
	while (!hvd_list_empty(&hvd->parked)) {
		c = hvd_container_of(hvd->parked.next, struct hvd_conn, parked);
		hvd_list_del(&c->parked);
		ev.data.ptr = &c->watch;
		/* A session we cannot arm again would never be served: drop it. */
		if (epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_MOD, c->fd, &ev) < 0)
			hvd_conn_close(hvd, c);
	}
}

/*
 * Pending requests: a client that sends requests and does not read the replies could fill its
 * socket, and a reply that does not fit would cost it the session.  So once the unread replies
 * pass half the socket's send buffer, the connection is read no more until they drain (EPOLLOUT):
 * what the daemon holds for it stays bounded, and its further requests wait in its own socket.
 */
static bool conn_hold(struct hvd *hvd, struct hvd_conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->watch };
	int queued;

	if (ioctl(c->fd, SIOCOUTQ, &queued) < 0 || queued < 0 ||
	    (unsigned int)queued <= c->outq_max)
		return false;
	if (epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return false;
	c->held = true;
	return true;
}

/* The replies drained: read the connection again; false if it cannot be armed (it then closes). */
static bool conn_unhold(struct hvd *hvd, struct hvd_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->watch };

	c->held = false;
	return epoll_ctl(conn_epfd(hvd, c), EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static void conn_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events)
{
	struct hvd_conn *c = hvd_container_of(w, struct hvd_conn, watch);
	struct hvsim_msg req;
	int i, ret;

	/*
	 * A hang-up or an error is reported even to a parked session (epoll always
	 * reports them): its last requests are then served regardless of the
	 * share, until the end of file closes it, or else the loop would spin on it.
	 */
	bool gone = events & (EPOLLHUP | EPOLLERR);

	if (c->held && !gone && !conn_unhold(hvd, c)) {
		hvd_conn_close(hvd, c);
		return;
	}
	for (i = 0; i < HVD_BURST; i++) {
		if (!gone && !share_left(hvd, c->dom)) {
			conn_park(hvd, c);
			return;
		}
		if (!gone && conn_hold(hvd, c))
			return;
		ret = hvsim_recv(c->fd, &req, NULL, 0, NULL);
		if (ret == -EAGAIN)
			return;
		if (ret == 0)
			hvd_tally(hvd, c->dom);
		if (c->dom->domid != 0 && c->dom->credit)
			c->dom->credit--;
		/*
		 * One of our own messages on a domain's session: its far end is another of
		 * our connections (a socket a domain handed us), so an answer would answer
		 * itself for ever.  (dom0's connections come from our listening socket.)
		 */
		if (ret == 0 && (req.op & HVSIM_OP_FROM_HV) && c->dom->domid != 0)
			ret = -EPROTO;
		/* A subscriber has nothing to say: what it sends is dropped. */
		if (ret == 0 && c->state != HVD_CONN_SUBSCRIBER)
			ret = conn_request(hvd, c, &req);
		if (ret < 0) {
			hvd_conn_close(hvd, c);
			return;
		}
	}
}

/*
 * The socket a domain process attached to HELLO: a SOCK_SEQPACKET Unix socket
 * whose far end is not the daemon itself (else the daemon would answer its
 * own replies forever).  The pid that made it, or a negative errno.
 */
static pid_t session_socket_check(int fd)
{
	struct ucred cred;
	socklen_t len;
	int val;

	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len) < 0 || val != AF_UNIX)
		return -ENOTSOCK;
	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len) < 0 || val != SOCK_SEQPACKET)
		return -EPROTOTYPE;
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0 ||
	    cred.pid == getpid())
		return -EPERM;
	/* The process may keep a copy of this end: only O_NONBLOCK keeps us from blocking. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return cred.pid;
}

/* A domain process's HELLO: its session lives on the socket it attached. */
static void token_hello(struct hvd *hvd, struct hvd_domain *dom, int fd)
{
	struct hvd_reply rep = { .msg.op = HVSIM_HELLO, .close_fd = -1 };
	struct hvd_conn *c;
	pid_t pid;

	pid = session_socket_check(fd);
	if (pid < 0) {
		close(fd);
		return;
	}
	c = conn_new(hvd, fd, dom);
	if (!c) {
		close(fd);
		return;
	}
	/* The socket's maker itself (SO_PEERPIDFD), not whoever has its pid now. */
	rep.msg.err = hvd_session_open(hvd, c, pid, peer_pidfd(fd, pid), &rep);
	/* Without a session the connection has no use once the error is told. */
	if (conn_reply(hvd, c, &rep) < 0 || rep.msg.err < 0)
		hvd_conn_close(hvd, c);
}

/* Every copy of the domain's end is closed: it dies once its sessions have. */
static void token_hangup(struct hvd *hvd, struct hvd_domain *dom)
{
	epoll_ctl(hvd->epfd, EPOLL_CTL_DEL, dom->token, NULL);
	close(dom->token);
	dom->token = -1;
	hvd_domain_check(hvd, dom);
}

/*
 * The token is shared by every process of the domain, so nothing is ever
 * written back on it: a message that is not a HELLO with exactly one fd is
 * dropped (its fds closed), and the reply goes on the attached socket.
 */
void hvd_token_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events)
{
	struct hvd_domain *dom = hvd_container_of(w, struct hvd_domain, watch);
	struct hvsim_msg req;
	unsigned int i, nfds;
	int fds[2], ret;

	(void)events;
	for (i = 0; i < HVD_BURST; i++) {
		ret = hvsim_recv(dom->token, &req, fds, 2, &nfds);
		if (ret == -EAGAIN)
			return;
		if (ret == -EPROTO)
			continue;
		if (ret < 0) {
			token_hangup(hvd, dom);
			return;
		}
		hvd_tally(hvd, dom);
		if (req.op == HVSIM_HELLO && nfds == 1) {
			token_hello(hvd, dom, fds[0]);
			continue;
		}
		while (nfds)
			close(fds[--nfds]);
	}
}

/* Tell every subscriber; one whose socket is full is dropped, never waited for. */
void hvd_send_death(struct hvd *hvd, const struct hvd_domain *dom)
{
	struct hvsim_msg msg = { .op = HVSIM_DEATH | HVSIM_OP_FROM_HV, .arg[0] = dom->domid };
	struct hvd_list *pos, *next;

	snprintf(msg.name, sizeof(msg.name), "%s", dom->name);
	for (pos = hvd->subscribers.next; pos != &hvd->subscribers; pos = next) {
		struct hvd_conn *c = hvd_container_of(pos, struct hvd_conn, link);

		next = pos->next;
		if (hvsim_send_nowait(c->fd, &msg, NULL, 0) < 0) {
			hvd_log(hvd, "dropping a death subscriber that does not read");
			hvd_conn_close(hvd, c);
		}
	}
}
