/* SPDX-License-Identifier: MIT */
/*
 * domain.c - domains: creation with their token, grant table and pool; the
 * death of a domain (every copy of its token closed and no session left, or
 * a destroy from dom0) and the teardown that follows it; the listing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim/hvd.h"

/* Descriptors of a domain's grant table: the read-write memfd and the read-only one. */
#define TABLE_FDS 2

/* Free what the domain holds itself; nothing else may refer to it any more. */
static void domain_free(struct hvd *hvd, struct hvd_domain *dom)
{
	hvd_evtchn_fini(dom);
	hvd_grant_fini(hvd, dom);
	if (dom->token >= 0)
		close(dom->token);
	free(dom);
}

/* A domain with its table, pool, allocators and ports, not yet registered. */
static int domain_new(struct hvd *hvd, domid_t domid, const char *name, uint32_t pool_pages,
		      struct hvd_domain **domp)
{
	struct hvd_domain *dom = calloc(1, sizeof(*dom));
	int ret;

	if (!dom)
		return -ENOMEM;
	dom->domid = domid;
	snprintf(dom->name, sizeof(dom->name), "%s", name);
	dom->token = -1;
	dom->pool_pages = pool_pages;
	dom->watch.ready = hvd_token_ready;
	hvd_list_init(&dom->sessions);
	hvd_list_init(&dom->actives);
	hvd_list_init(&dom->shadows);
	ret = hvd_grant_init(dom);
	if (ret >= 0)
		ret = hvd_evtchn_init(dom);
	if (ret < 0) {
		domain_free(hvd, dom);
		return ret;
	}
	*domp = dom;
	return 0;
}

/* dom0 exists from the start and never dies; its sessions are main-socket connections. */
int hvd_domains_init(struct hvd *hvd)
{
	int ret = domain_new(hvd, 0, "Domain-0", hvd->pool_pages, &hvd->domains[0]);

	hvd->next_domid = 1;
	return ret;
}

/* At exit: every connection is closed already, so only the domains remain. */
void hvd_domains_fini(struct hvd *hvd)
{
	unsigned int id;

	for (id = 0; id < HVD_NR_DOMIDS; id++) {
		if (hvd->domains[id]) {
			hvd->domains[id]->dying = true;
			domain_free(hvd, hvd->domains[id]);
			hvd->domains[id] = NULL;
		}
	}
}

/* A live domain by id, DOMID_SELF meaning self; NULL if none (or being torn down). */
struct hvd_domain *hvd_domain_get(struct hvd *hvd, const struct hvd_domain *self, uint32_t id)
{
	struct hvd_domain *dom;

	if (id == DOMID_SELF && self)
		id = self->domid;
	if (id >= HVD_NR_DOMIDS)
		return NULL;
	dom = hvd->domains[id];
	return dom && !dom->dying ? dom : NULL;
}

/* Kill the domain: its sessions, ports and grants go, subscribers hear of it. */
static void domain_die(struct hvd *hvd, struct hvd_domain *dom)
{
	dom->dying = true;
	while (!hvd_list_empty(&dom->sessions))
		hvd_conn_close(hvd, hvd_container_of(dom->sessions.next, struct hvd_conn, link));
	hvd_grant_forget(hvd, dom);
	hvd_log(hvd, "domain %u (%s) died", dom->domid, dom->name);
	hvd_send_death(hvd, dom);
	hvd->domains[dom->domid] = NULL;
	hvd_fds_put(hvd, dom, TABLE_FDS);
	domain_free(hvd, dom);
}

/* Called whenever a token hangs up or a session closes. */
void hvd_domain_check(struct hvd *hvd, struct hvd_domain *dom)
{
	if (dom->domid != 0 && !dom->dying && dom->token < 0 && dom->nr_sessions == 0)
		domain_die(hvd, dom);
}

static bool name_valid(const char *name)
{
	const char *p;

	if (!*name)
		return false;
	for (p = name; *p; p++) {
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
			    *p))
			return false;
	}
	return true;
}

static bool name_taken(const struct hvd *hvd, const char *name)
{
	unsigned int id;

	for (id = 0; id < HVD_NR_DOMIDS; id++) {
		if (hvd->domains[id] && !strcmp(hvd->domains[id]->name, name))
			return true;
	}
	return false;
}

/*
 * The next free id at or after the cursor, wrapping below DOMID_FIRST_RESERVED:
 * a dead domain's id comes back only after the others have been used, so a
 * stale reference to it (an unbound port, a xenstore path) rarely meets a
 * new domain.
 */
static int domid_alloc(struct hvd *hvd)
{
	unsigned int i, id;

	for (i = 0; i < HVD_NR_DOMIDS - 1; i++) {
		id = hvd->next_domid + i;
		if (id >= HVD_NR_DOMIDS)
			id -= HVD_NR_DOMIDS - 1;
		if (!hvd->domains[id]) {
			hvd->next_domid = id + 1 < HVD_NR_DOMIDS ? id + 1 : 1;
			return (int)id;
		}
	}
	return -ENOSPC;
}

/* The token: the daemon keeps sv[0] in its epoll set, sv[1] goes to dom0. */
static int token_create(struct hvd *hvd, struct hvd_domain *dom, int *theirs)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dom->watch };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* Only the daemon's end: the domain's processes send HELLO blocking. */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    epoll_ctl(hvd->epfd, EPOLL_CTL_ADD, sv[0], &ev) < 0) {
		int ret = -errno;

		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	dom->token = sv[0];
	*theirs = sv[1];
	return 0;
}

/* DOMAIN_CREATE: name; arg[0] pool pages or 0.  Reply arg[0] domid, fds[0] token. */
int hvd_op_domain_create(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			 struct hvd_reply *rep)
{
	uint32_t pages = req->arg[0] ? req->arg[0] : hvd->pool_pages;
	struct hvd_domain *dom;
	int id, ret, theirs = -1;

	(void)c;
	if (!name_valid(req->name) || pages > HVSIM_POOL_PAGES_MAX)
		return -EINVAL;
	if (name_taken(hvd, req->name))
		return -EEXIST;
	id = domid_alloc(hvd);
	if (id < 0)
		return id;
	ret = domain_new(hvd, (domid_t)id, req->name, pages, &dom);
	if (ret < 0)
		return ret;
	ret = token_create(hvd, dom, &theirs);
	if (ret < 0) {
		domain_free(hvd, dom);
		return ret;
	}
	hvd->domains[id] = dom;
	/* dom0 asked for them: counted in the domain's budget, never refused. */
	dom->fds = TABLE_FDS;
	hvd->guest_fds += TABLE_FDS;
	rep->msg.arg[0] = (uint32_t)id;
	rep->fds[rep->nfds++] = theirs;
	rep->close_fd = theirs;
	hvd_log(hvd, "domain %d (%s) created, %u pool pages", id, dom->name, pages);
	return 0;
}

/* pidfd_send_signal: the pidfd was taken when the session opened, so no pid reuse. */
static void session_kill(const struct hvd_conn *c)
{
	if (c->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

/*
 * DOMAIN_DESTROY: arg[0] domid.  Kill every session's process, then tear the
 * domain down at once: nothing waits for the processes to exit, and once
 * their sessions are gone they can reach nothing of the daemon's.
 */
int hvd_op_domain_destroy(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
			  struct hvd_reply *rep)
{
	struct hvd_domain *dom;
	struct hvd_list *pos;

	(void)c;
	(void)rep;
	if (req->arg[0] == 0)
		return -EPERM;
	dom = hvd_domain_get(hvd, NULL, req->arg[0]);
	if (!dom)
		return -ESRCH;
	for (pos = dom->sessions.next; pos != &dom->sessions; pos = pos->next)
		session_kill(hvd_container_of(pos, struct hvd_conn, link));
	hvd_log(hvd, "domain %u (%s) destroyed", dom->domid, dom->name);
	domain_die(hvd, dom);
	return 0;
}

/* DOMAIN_INFO: arg[0] index among live domains other than dom0, in id order. */
int hvd_op_domain_info(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		       struct hvd_reply *rep)
{
	uint32_t index = req->arg[0];
	unsigned int id;

	(void)c;
	for (id = 1; id < HVD_NR_DOMIDS; id++) {
		const struct hvd_domain *dom = hvd_domain_get(hvd, NULL, id);

		if (!dom || index-- > 0)
			continue;
		rep->msg.arg[0] = dom->domid;
		rep->msg.arg[1] = dom->nr_sessions;
		rep->msg.arg[2] = dom->pool_pages;
		rep->msg.arg[3] = dom->pool_used;
		snprintf(rep->msg.name, sizeof(rep->msg.name), "%s", dom->name);
		return 0;
	}
	return -ENOENT;
}
