/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the embedded provider: a session with pvio-hv(8).
 *
 * Where the embedded mode differs from Xen (pvio-embedded(7) says the same
 * for users):
 *  - Isolation.  A granted page lives in one of its granter's pools, memfds
 *    kept per (peer, access): a read-only pool and a writable pool for each
 *    peer.  A mapping domain receives, at its first map, the granter's grant
 *    table read-only and its two pools for that domain, the read-only one as
 *    a read-only fd.  So a back-end can see every page its front-end shares
 *    with it, mapped or not, ended or not yet granted, and write every page
 *    shared with it writable; never a page shared with another domain, nor
 *    the front-end's table, nor its private memory.  Xen's hypervisor
 *    enforces each grant in the page tables, page by page.
 *  - Only pool pages can be granted: hv_grant_share hands out fresh pool
 *    pages, it cannot grant arbitrary memory of the caller.
 *  - A map of one page, or of pages whose frames are consecutive in one pool,
 *    returns an address inside a standing read-only or read-write view of the
 *    pool: no system call per map.  Such an address stays readable after unmap, where
 *    Xen would fault; $PVIO_SIM_STRICT_MAP=1 gives every map its own mmap and
 *    munmap, so that a use after unmap faults as it would on Xen.
 *  - Pins (GTF_reading/GTF_writing's role) are kept in an active table shared
 *    by the mapping domain's processes and pvio-hv, not in the granter's
 *    entries; a hostile mapper can corrupt its own domain's pin counts, not
 *    another domain's.  The granter's entries never show GTF_reading or
 *    GTF_writing.
 *  - hv_grant_end returns -EBUSY while mapped, as end-foreign-access does;
 *    pvio-hv ends the entries (it alone reads the mappers' pins).
 *    Shares left by an exiting process stay granted while still mapped;
 *    their entries and pages are freed at the last unmap, which the mapper
 *    reports (HVSIM_GRANT_RELEASE), as gntalloc frees a closed file's
 *    grants once no longer mapped.  A mapper drops its view of a dead
 *    granter's pool at its last unmap of it.
 *  - Event channels are eventfds.  Taking a port masks it, as Xen's evtchn
 *    device does, until hv_evtchn_unmask; events meanwhile stay pending and
 *    raise nothing (hv/sim-evtchn.c: the first of them wakes the epoll set
 *    once and takes the port's eventfd out of it).  When a peer closes its end, the local port
 *    reverts to unbound (as on Xen) and also receives one event, so that a
 *    poller notices; Xen sends none.
 *  - pvio-hv can die under its clients (Xen cannot): the session's hang-up wakes
 *    hv_evtchn_fd and hv_check then says -ENOTCONN; mapped grants and bound
 *    event channels go on working, nothing else does.
 *  - hv_evtchn_state is a question to pvio-hv that any client may ask, so
 *    hv_evtchn_state_observable says true and front-ends poll it to notice a
 *    peer that died without a word; on Xen it is a privileged hypercall and
 *    they rely on xenstore alone.
 *  - No grant limit: hv_grant_left says UINT_MAX; the domain's pool is the
 *    bound.  Xen's gntalloc limits the grants of all its users (`limit`).
 *  - Domains are processes: a domain lives while any process holds its token
 *    ($PVIO_HV_FD) or a session; pvio-hv has no vCPUs, memory or devices.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv/sim-priv.h"

int sim_call(struct sim *s, struct hvsim_msg *req, struct hvsim_msg *rep, int *fds,
	     unsigned int max, unsigned int *nfds)
{
	return hvsim_call(s->sock, req, NULL, 0, rep, fds, max, nfds);
}

/* dom0: connect to the main socket. */
static int connect_main(struct hv *hv, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		hv_err(hv, "sim: %s: %s (is pvio-hv running?)", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* A domain process: open a private session through the inherited token. */
static int connect_token(struct hv *hv, const char *env)
{
	struct hvsim_msg hello = { .op = HVSIM_HELLO };
	char *end;
	long token = strtol(env, &end, 10);
	int sv[2], ret;

	if (*env == '\0' || *end != '\0' || token < 0 || token > 65535) {
		hv_err(hv, "sim: %s=%s: not a file descriptor", HVSIM_FD_ENV, env);
		return -EINVAL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = hvsim_send((int)token, &hello, &sv[1], 1);
	close(sv[1]);
	if (ret < 0) {
		hv_err(hv, "sim: domain token fd %ld: %s", token, strerror(-ret));
		close(sv[0]);
		return ret;
	}
	return sv[0];
}

static int session_connect(struct hv *hv, const struct hv_open_opts *opts)
{
	const char *token = getenv(HVSIM_FD_ENV);
	char path[256];
	int ret;

	if (token && *token)
		return connect_token(hv, token);
	if (opts->sim_socket) {
		if (strlen(opts->sim_socket) >= sizeof(path))
			return -ENAMETOOLONG;
		strcpy(path, opts->sim_socket);
	} else {
		ret = hvsim_socket_path(path, sizeof(path));
		if (ret < 0)
			return ret;
	}
	return connect_main(hv, path);
}

static int map_fd(int fd, size_t len, int prot, void **out)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

/* Map what HELLO handed over: our table, our port status words (fds[1] is of no use). */
static int session_map(struct sim *s, const int *fds)
{
	int ret;

	ret = map_fd(fds[0], (size_t)s->nr_entries * sizeof(grant_entry_v1_t),
		     PROT_READ | PROT_WRITE, (void **)&s->table);
	if (ret < 0)
		return ret;
	return map_fd(fds[2], HVSIM_MAX_PORTS * sizeof(uint16_t), PROT_READ, (void **)&s->status);
}

static int session_hello(struct hv *hv, struct sim *s, bool dom0)
{
	struct hvsim_msg req = { .op = HVSIM_HELLO }, rep;
	unsigned int n = 0, i;
	int fds[HVSIM_MAX_FDS];
	int ret;

	/* A domain's HELLO went out on its token; only the reply comes here. */
	ret = dom0 ? hvsim_call(s->sock, &req, NULL, 0, &rep, fds, HVSIM_MAX_FDS, &n)
		   : hvsim_recv(s->sock, &rep, fds, HVSIM_MAX_FDS, &n);
	if (ret == 0 && (rep.op != (HVSIM_HELLO | HVSIM_OP_FROM_HV) || rep.err < 0))
		ret = rep.err < 0 ? rep.err : -EPROTO;
	if (ret == 0 && (n != 3 || rep.arg[2] != HVSIM_GNT_ENTRIES || rep.arg[3] == 0 ||
			 rep.arg[3] > HVSIM_POOL_PAGES_MAX || rep.arg[4] != HVSIM_MAX_PORTS))
		ret = -EPROTO;
	if (ret == 0) {
		s->domid = (domid_t)rep.arg[0];
		s->sid = rep.arg[1];
		s->nr_entries = rep.arg[2];
		s->nr_pages = rep.arg[3];
		ret = session_map(s, fds);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (ret < 0)
		hv_err(hv, "sim: session with pvio-hv: %s", strerror(-ret));
	return ret;
}

static void sim_free(struct sim *s)
{
	if (s->table)
		munmap(s->table, (size_t)s->nr_entries * sizeof(grant_entry_v1_t));
	if (s->status)
		munmap(s->status, HVSIM_MAX_PORTS * sizeof(uint16_t));
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->sock >= 0)
		close(s->sock);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->mask_lock);
	free(s);
}

/*
 * Watch the session socket in the event channels' epoll set: pvio-hv's death then wakes a
 * waiter on hv_evtchn_fd, and hv_check reports it.
 */
static int session_watch(struct sim *s)
{
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET, .data.u32 = SIM_SESSION_TAG };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sock, &ev) < 0 ? -errno : 0;
}

static int sim_check(struct hv *hv)
{
	return sim_of(hv)->gone ? -ENOTCONN : 0;
}

static int sim_open(struct hv *hv, const struct hv_open_opts *opts)
{
	const char *strict = getenv("PVIO_SIM_STRICT_MAP");
	struct sim *s = calloc(1, sizeof(*s));
	unsigned int i;
	int ret;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->mask_lock, NULL);
	s->strict_map = strict && strcmp(strict, "0") != 0 && *strict;
	for (i = 0; i < HVSIM_MAX_PORTS; i++)
		s->ports[i].recv_fd = s->ports[i].send_fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->sock = -1;
	if (s->epfd < 0) {
		ret = -errno;
		goto fail;
	}
	s->sock = session_connect(hv, opts);
	if (s->sock < 0) {
		ret = s->sock;
		goto fail;
	}
	ret = session_hello(hv, s, !getenv(HVSIM_FD_ENV) || !*getenv(HVSIM_FD_ENV));
	if (ret < 0)
		goto fail;
	ret = session_watch(s);
	if (ret < 0)
		goto fail;
	hv->priv = s;
	return 0;
fail:
	sim_free(s);
	return ret;
}

static void sim_close(struct hv *hv)
{
	struct sim *s = sim_of(hv);

	sim_evtchn_cleanup(s);
	sim_grant_cleanup(s);
	sim_free(s);
	hv->priv = NULL;
}

/* A map is a pin and an address in a standing view, unless every map is to be its own mmap. */
static bool sim_grant_map_cheap(struct hv *hv)
{
	return !sim_of(hv)->strict_map;
}

static int sim_domid(struct hv *hv, domid_t *domid)
{
	*domid = sim_of(hv)->domid;
	return 0;
}

const struct hv_ops hv_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.domid = sim_domid,
	.check = sim_check,
	.grant_share = sim_grant_share,
	.grant_end = sim_grant_end,
	.grant_map = sim_grant_map,
	.grant_unmap = sim_grant_unmap,
	.grant_copy = sim_grant_copy,
	.grant_map_cheap = sim_grant_map_cheap,
	.evtchn_alloc_unbound = sim_evtchn_alloc_unbound,
	.evtchn_bind = sim_evtchn_bind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_fd = sim_evtchn_fd,
	.evtchn_wait = sim_evtchn_wait,
	.evtchn_unmask = sim_evtchn_unmask,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_state = sim_evtchn_state,
};
