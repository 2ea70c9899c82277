/* SPDX-License-Identifier: MIT */
/*
 * session.c - sessions: one per process and domain, opened by HELLO.  A
 * session owns event-channel ports, grant shares and attachments to
 * granters; its close releases them the way closing /dev/xen/evtchn,
 * gntdev and gntalloc does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "sim/hvd.h"
#include "sim/peer.h"

#define STATUS_BYTES ((size_t)HVSIM_MAX_PORTS * sizeof(uint16_t))
/* Descriptors a session holds: its socket, its status memfd, its pidfd. */
#define SESSION_FDS 3

bool hvd_guest_fds_ok(const struct hvd *hvd, unsigned int n)
{
	return (unsigned long)hvd->guest_fds + n + hvd->limits.fd_reserve <= hvd->nofile;
}

int hvd_fds_take(struct hvd *hvd, struct hvd_domain *dom, unsigned int n, const char *what)
{
	int err = 0;

	if (!dom->domid)
		return 0;
	if ((unsigned long)dom->fds + n > hvd->limits.domain_fds)
		err = -EMFILE;
	else if (!hvd_guest_fds_ok(hvd, n))
		err = -ENFILE;
	if (!err) {
		dom->fds += n;
		hvd->guest_fds += n;
		return 0;
	}
	/* One line per episode: a guest retrying in a loop must not flood the log. */
	if (!dom->fds_refused)
		fprintf(stderr, "pvio-hv: domain %u: %s refused: %s\n", dom->domid, what,
			err == -EMFILE ? "at its budget of descriptors (--max-domain-fds)"
				       : "guests hold every descriptor outside dom0's reserve");
	dom->fds_refused = true;
	return err;
}

void hvd_fds_put(struct hvd *hvd, struct hvd_domain *dom, unsigned int n)
{
	if (!dom->domid)
		return;
	dom->fds -= n;
	hvd->guest_fds -= n;
	/* Well below its budget again: a later refusal is news. */
	if (dom->fds <= hvd->limits.domain_fds / 2)
		dom->fds_refused = false;
}

/*
 * Whether dom may open one more session: its own limit, and for a guest its
 * descriptor budget and the descriptors left outside dom0's reserve (6,656
 * sessions on one token once took every descriptor, and dom0 could create no
 * domain).  Charged on success.
 */
static int session_limit(struct hvd *hvd, struct hvd_domain *dom)
{
	unsigned int max = dom->domid ? hvd->limits.sessions : hvd->limits.dom0_sessions;

	if (dom->nr_sessions >= max) {
		hvd_log(hvd, "domain %u: at its limit of %u sessions", dom->domid, max);
		return -EMFILE;
	}
	return hvd_fds_take(hvd, dom, SESSION_FDS, "session");
}

static bool sid_live(const struct hvd *hvd, uint32_t sid)
{
	const struct hvd_list *pos;

	for (pos = hvd->conns.next; pos != &hvd->conns; pos = pos->next) {
		if (hvd_container_of(pos, struct hvd_conn, all)->sid == sid)
			return true;
	}
	return false;
}

/* Non-zero, never the daemon's own lock value, and unique even after wrapping. */
static uint32_t sid_alloc(struct hvd *hvd)
{
	uint32_t sid;

	do {
		sid = hvd->next_sid++;
	} while (sid == 0 || sid == HVD_SID_DAEMON || sid_live(hvd, sid));
	return sid;
}

/*
 * A pidfd of the session's process, whom a destroy of dom will kill.  The
 * process is the far end of the socket attached to HELLO, which the sender
 * chose: it could be a stranger's socket, whose owner would then die with
 * the sender's domain.  So every session's process must live in the user
 * namespace of the domain's first session (its launcher gives a domain a
 * user namespace of its own) or one nested in it, and a process elsewhere
 * is refused.  The pidfd (pidfd_in, from peer_pidfd: taken, or -errno)
 * names the socket's maker itself where the kernel has SO_PEERPIDFD, so a
 * maker that exited is refused (-ESRCH, or the error the kernel gave for
 * its pidfd) rather than its pid's next owner taken for it.  Without pidfds
 * (Linux < 5.3: -ENOSYS) there is no check, and a destroy only disconnects.
 */
static int session_pidfd(struct hvd_domain *dom, pid_t pid, int pidfd_in, int *pidfd)
{
	int ret;

	*pidfd = -1;
	if (pid <= 0 || pidfd_in == -ENOSYS) {
		if (pidfd_in >= 0)
			close(pidfd_in);
		return 0;
	}
	if (pidfd_in < 0)
		return pidfd_in;
	*pidfd = pidfd_in;
	if (!dom->userns_ino) {
		ret = peer_ns_id(pid, *pidfd, "user", &dom->userns_dev, &dom->userns_ino);
	} else {
		ret = peer_userns_within(pid, *pidfd, dom->userns_dev, dom->userns_ino);
		if (ret == 0) {
			fprintf(stderr,
				"pvio-hv: domain %u: refused a session for pid %d, outside the "
				"domain's user namespace\n",
				dom->domid, (int)pid);
			ret = -EPERM;
		}
	}
	if (ret < 0) {
		close(*pidfd);
		*pidfd = -1;
	}
	return ret < 0 ? ret : 0;
}

/*
 * Open a session on connection c for process pid (0 for dom0, which is never
 * destroyed and needs no pidfd), pidfd its pidfd or -1 (taken either way).
 * Fills the HELLO reply.
 */
int hvd_session_open(struct hvd *hvd, struct hvd_conn *c, pid_t pid, int pidfd,
		     struct hvd_reply *rep)
{
	struct hvd_domain *dom = c->dom;
	void *status;
	int fd;

	fd = dom->dying ? -ESRCH : session_limit(hvd, dom);
	if (fd < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return fd;
	}
	fd = session_pidfd(dom, pid, pidfd, &c->pidfd);
	if (fd == 0)
		fd = hvd_shm_create("pvio-hv-evtchn-status", STATUS_BYTES, &status, true);
	if (fd < 0) {
		if (c->pidfd >= 0)
			close(c->pidfd);
		c->pidfd = -1;
		hvd_fds_put(hvd, dom, SESSION_FDS);
		return fd;
	}
	c->status_fd = fd;
	c->status = status;
	c->sid = sid_alloc(hvd);
	c->state = HVD_CONN_SESSION;
	hvd_list_add(&dom->sessions, &c->link);
	dom->nr_sessions++;
	rep->msg.arg[0] = dom->domid;
	rep->msg.arg[1] = c->sid;
	rep->msg.arg[2] = HVSIM_GNT_ENTRIES;
	rep->msg.arg[3] = dom->pool_pages;
	rep->msg.arg[4] = HVSIM_MAX_PORTS;
	rep->fds[0] = dom->table_fd;
	rep->fds[1] = dom->table_ro_fd;
	rep->fds[2] = c->status_fd;
	rep->nfds = 3;
	hvd_log(hvd, "domain %u: session %u opened (pid %d)", dom->domid, c->sid, (int)pid);
	return 0;
}

/* Release what the session holds; the caller closes the socket and checks the domain. */
void hvd_session_close(struct hvd *hvd, struct hvd_conn *c)
{
	struct hvd_domain *dom = c->dom;

	hvd_evtchn_session_close(hvd, c);
	hvd_grant_session_close(hvd, c);
	hvd_shm_destroy(c->status_fd, c->status, STATUS_BYTES);
	c->status_fd = -1;
	c->status = NULL;
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
	hvd_list_del(&c->link);
	dom->nr_sessions--;
	hvd_fds_put(hvd, dom, SESSION_FDS);
	c->state = HVD_CONN_NEW;
	hvd_log(hvd, "domain %u: session %u closed", dom->domid, c->sid);
}
