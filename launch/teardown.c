/* SPDX-License-Identifier: MIT */
/*
 * teardown.c - removing a destroyed or dead domain's devices, as libxl does (see teardown.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hv/clock.h"
#include "hv/simctl.h" /* hvctl_death_read */
#include "launch/cgroup.h"
#include "launch/sandbox.h"
#include "launch/teardown.h"
#include "xenbus/toolstack.h"

#define PREFIX "teardown"

/* One device of the domain, found under some back-end domain's backend/<bkind>/<domid>. */
struct td_dev {
	struct xenbus_device_spec spec; /* points into the names below once collected */
	char kind[40];			/* front-end kind: vbd for vbd and qdisk back-ends */
	char bkind[40];			/* back-end kind */
	bool late;			/* did not reach Closed in time: removed by force */
};

/* The devices found, growing. */
struct td_list {
	struct td_dev *v; /* the devices */
	size_t n, cap;	  /* used and allocated entries */
};

static int td_add(struct td_list *l, domid_t be, const char *bkind, domid_t fe, uint32_t devid)
{
	struct td_dev *d;

	if (strlen(bkind) >= sizeof(d->bkind))
		return 0; /* not a kind the toolstack writes */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;

		d = reallocarray(l->v, cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
		l->v = d;
		l->cap = cap;
	}
	d = &l->v[l->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->bkind, sizeof(d->bkind), "%s", bkind);
	snprintf(d->kind, sizeof(d->kind), "%s", !strcmp(bkind, "qdisk") ? "vbd" : bkind);
	d->spec.devid = devid;
	d->spec.frontend_id = fe;
	d->spec.backend_id = be;
	return 0;
}

/* The devices of fe served by back-end domain be, every kind. */
static int td_collect_backend(struct xs_handle *xs, domid_t be, domid_t fe, struct td_list *l)
{
	char path[128];
	unsigned int nk = 0, nd = 0;
	char **kinds, **devs;
	uint32_t devid;
	int ret = 0;

	snprintf(path, sizeof(path), "/local/domain/%u/backend", (unsigned int)be);
	kinds = xs_directory(xs, XBT_NULL, path, &nk);
	for (unsigned int k = 0; kinds && k < nk && ret == 0; k++) {
		snprintf(path, sizeof(path), "/local/domain/%u/backend/%.40s/%u", (unsigned int)be,
			 kinds[k], (unsigned int)fe);
		devs = xs_directory(xs, XBT_NULL, path, &nd);
		for (unsigned int i = 0; devs && i < nd && ret == 0; i++) {
			if (xenbus_parse_u32(devs[i], UINT32_MAX, &devid) == 0)
				ret = td_add(l, be, kinds[k], fe, devid);
		}
		free(devs);
	}
	free(kinds);
	return ret;
}

/* Every device whose front-end is fe, whichever domain serves it. */
static int td_collect(struct xs_handle *xs, domid_t fe, struct td_list *l)
{
	unsigned int n = 0;
	char **doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	uint32_t be;
	int ret = 0;

	if (!doms)
		return errno == ENOENT ? 0 : errno ? -errno : -EIO;
	for (unsigned int i = 0; i < n && ret == 0; i++) {
		if (xenbus_parse_u32(doms[i], DOMID_FIRST_RESERVED - 1, &be) == 0)
			ret = td_collect_backend(xs, (domid_t)be, fe, l);
	}
	free(doms);
	for (size_t i = 0; i < l->n; i++) {
		l->v[i].spec.kind = l->v[i].kind;
		l->v[i].spec.backend_kind = l->v[i].bkind;
	}
	return ret;
}

/*
 * The front-end directory goes first (the domain cannot answer any more, as libxl's forced
 * remove), so that a back-end that sees the Closing sees no active front-end either; then
 * online=0 and Closing on every device, and a wait for them all within one deadline.
 */
static void td_close_all(struct xs_handle *xs, struct td_list *l, int timeout_ms)
{
	long long deadline = hv_now_ms() + timeout_ms;
	char front[256];

	for (size_t i = 0; i < l->n; i++) {
		if (xenbus_frontend_path(&l->v[i].spec, front, sizeof(front)) == 0)
			xs_rm(xs, XBT_NULL, front);
		xenbus_device_detach(xs, &l->v[i].spec);
	}
	for (size_t i = 0; i < l->n; i++) {
		long long left = deadline - hv_now_ms();

		l->v[i].late =
		    xenbus_device_wait_closed(xs, &l->v[i].spec, left > 0 ? (int)left : 0) != 0;
	}
}

static int td_rm_home(struct xs_handle *xs, domid_t domid)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", (unsigned int)domid);
	if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		return errno ? -errno : -EIO;
	return 0;
}

int teardown_devices(struct xs_handle *xs, domid_t domid, int timeout_ms, struct pvio_log *log)
{
	struct td_list l = { 0 };
	int late = 0, ret;

	if (domid == 0 || domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	ret = td_collect(xs, domid, &l);
	if (ret == 0)
		td_close_all(xs, &l, timeout_ms);
	for (size_t i = 0; ret == 0 && i < l.n; i++) {
		struct td_dev *d = &l.v[i];
		int r = xenbus_device_remove(xs, &d->spec, d->late ? XENBUS_REMOVE_FORCE : 0);

		if (r == -EBUSY) /* it left Closed after the wait: removed all the same */
			r = xenbus_device_remove(xs, &d->spec, XENBUS_REMOVE_FORCE);
		if (r < 0)
			ret = r;
		if (d->late)
			pvio_log(
			    log, PVIO_LOG_WARN, PREFIX,
			    "domain %u: the %s back-end of device %u (domain %u) did not close "
			    "within %d s; removed anyway",
			    (unsigned int)domid, d->bkind, d->spec.devid,
			    (unsigned int)d->spec.backend_id, timeout_ms / 1000);
		late += d->late;
	}
	free(l.v);
	if (ret == 0)
		ret = td_rm_home(xs, domid);
	return ret < 0 ? ret : late;
}

/* A signalfd for SIGTERM and SIGINT, which are blocked from now on. */
static int td_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int teardown_leftovers(const char *rundir, domid_t domid)
{
	char path[PATH_MAX], name[64];
	int ret = 0;

	sandbox_tun_path(rundir, domid, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		ret = -errno;
	/* Its processes are gone or going: the kernel frees the cgroups as they are reaped. */
	if (cgroup_name(rundir, domid, name, sizeof(name)) == 0) {
		int r = cgroup_remove(name);

		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

int teardown_reap(int death_fd, struct xs_handle *xs, const char *rundir, struct pvio_log *log)
{
	struct pollfd pfd[2] = { { .fd = death_fd, .events = POLLIN } };
	domid_t domid;
	int ret;

	pfd[1].fd = td_signals();
	if (pfd[1].fd < 0)
		return pfd[1].fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (pfd[1].revents) {
			ret = 0;
			break;
		}
		if (!pfd[0].revents)
			continue;
		ret = hvctl_death_read(death_fd, &domid);
		if (ret == -ECONNRESET) { /* pvio-hv exited: no domain is left */
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		ret = teardown_devices(xs, domid, TEARDOWN_TIMEOUT_MS, log);
		if (ret < 0)
			pvio_log(log, PVIO_LOG_ERROR, PREFIX, "domain %u: %s", (unsigned int)domid,
				 strerror(-ret));
		ret = teardown_leftovers(rundir, domid);
		if (ret < 0)
			pvio_log(log, PVIO_LOG_WARN, PREFIX,
				 "domain %u: its TAP node or cgroups: %s", (unsigned int)domid,
				 strerror(-ret));
	}
	close(pfd[1].fd);
	return ret;
}
