/* SPDX-License-Identifier: MIT */
/*
 * dd-core.c - the driver-domain core's control plane (dd-core.h).
 *
 * One thread, one epoll set over: the xenstore fd (watch events), a signalfd (SIGTERM, SIGINT),
 * an eventfd on which queue threads report a failed ring or a hung-up hypervisor handle, and,
 * when the daemon asks for it, a timerfd.  That is all it sleeps on; epoll waits with no
 * timeout.  The timerfd only rewrites statistics files once a second and touches no ring: no
 * ring's progress depends on it (the rings' contract is at the top of dd-thread.c).
 *
 * The control plane attaches and detaches rings (dd_ring_attach, dd_ring_detach) and acts on
 * the failures the threads report, always on this thread; so devices are created, connected,
 * disconnected and destroyed in one place and need no lock among themselves.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "driverdomain/dd-core.h"
#include "driverdomain/handover.h"

enum {
	TAG_XS = 1,
	TAG_SIGNAL,
	TAG_TIMER,
	TAG_FAIL,
	TAG_HO_LISTEN,
	TAG_HO_CONN,
};

unsigned int dd_core_threads(unsigned int cap)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (cap && (long)cap < n)
		n = cap;
	return (unsigned int)n;
}

static int add_fd(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int open_fds(struct dd_core *c)
{
	sigset_t set;
	int ret;

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (c->handover_signal)
		sigaddset(&set, SIGUSR2);
	/* Blocked before any thread starts, so every thread inherits it. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) ||
	    (c->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return -errno;
	c->failfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->failfd < 0)
		return -errno;
	if (c->timer) {
		struct itimerspec its = { { 1, 0 }, { 1, 0 } };

		c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (c->timerfd < 0 || timerfd_settime(c->timerfd, 0, &its, NULL))
			return -errno;
		if ((ret = add_fd(c->epfd, c->timerfd, TAG_TIMER)))
			return ret;
	}
	if ((ret = add_fd(c->epfd, c->sigfd, TAG_SIGNAL)) ||
	    (ret = add_fd(c->epfd, c->failfd, TAG_FAIL)) ||
	    (ret = add_fd(c->epfd, xs_fileno(c->xs), TAG_XS)))
		return ret;
	return 0;
}

int dd_core_init(struct dd_core *c, unsigned int nthreads, const struct hv_open_opts *hvo)
{
	int ret;

	c->epfd = c->sigfd = c->timerfd = c->failfd = -1;
	c->ho_listen = c->ho_conn = -1;
	c->ho_valid = true;
	TAILQ_INIT(&c->failed);
	pthread_mutex_init(&c->lock, NULL);
	c->threads = calloc(nthreads ? nthreads : 1, sizeof(*c->threads));
	if (!c->threads)
		return -ENOMEM;
	for (unsigned int i = 0; i < nthreads; i++)
		c->threads[i].epfd = c->threads[i].ctlfd = -1;
	ret = open_fds(c);
	for (unsigned int i = 0; i < nthreads && !ret; i++) {
		c->threads[i].c = c;
		c->threads[i].idx = i;
		c->nthreads = i + 1;
		ret = dd_thread_open(&c->threads[i], hvo);
	}
	return ret;
}

struct hv *dd_core_thread_hv(struct dd_core *c, unsigned int idx)
{
	return c->threads[idx % c->nthreads].hv;
}

static void on_signal(struct dd_core *c)
{
	struct signalfd_siginfo si;

	while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
		pvio_log(c->log, PVIO_LOG_INFO, c->prog, "signal %u: exiting%s", si.ssi_signo,
			 si.ssi_signo == SIGUSR2 ? ", devices left to a successor" : "");
		c->handover |= si.ssi_signo == SIGUSR2;
		c->stop = true;
	}
}

/* The threads' reports: each failed ring once, while still attached. */
static void on_fail(struct dd_core *c)
{
	uint64_t v;

	(void)!read(c->failfd, &v, sizeof(v));
	if (atomic_load(&c->hv_gone)) {
		pvio_log(c->log, PVIO_LOG_ERROR, c->prog, "hypervisor: %s", strerror(ENOTCONN));
		c->err = -ENOTCONN;
		c->stop = true;
		return;
	}
	for (;;) {
		struct dd_ring *r;

		pthread_mutex_lock(&c->lock);
		r = TAILQ_FIRST(&c->failed);
		if (r) {
			TAILQ_REMOVE(&c->failed, r, fail_link);
			r->reported = false;
		}
		pthread_mutex_unlock(&c->lock);
		if (!r)
			break;
		/* May detach r and the other rings of its device. */
		c->ops->ring_failed(c, r, atomic_load(&r->err));
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The connection is over: the next successor waiting in the backlog gets its turn. */
static void ho_close(struct dd_core *c)
{
	int ret;

	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->ho_conn, NULL);
	close(c->ho_conn);
	c->ho_conn = -1;
	ret = add_fd(c->epfd, c->ho_listen, TAG_HO_LISTEN);
	if (ret)
		pvio_log(c->log, PVIO_LOG_WARN, c->prog, "hand-over socket: %s", strerror(-ret));
}

/*
 * A successor connects.  One at a time: the listening socket is not watched while a
 * connection is open, so another successor waits in the backlog rather than being refused.
 */
static void on_ho_listen(struct dd_core *c)
{
	int fd = dd_handover_accept(c->ho_listen);

	if (fd < 0) {
		if (fd != -EAGAIN)
			pvio_log(c->log, PVIO_LOG_WARN, c->prog, "hand-over socket: %s",
				 strerror(-fd));
		return;
	}
	if (add_fd(c->epfd, fd, TAG_HO_CONN)) {
		close(fd);
		return;
	}
	c->ho_conn = fd;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->ho_listen, NULL);
}

/*
 * The successor asked us to leave: leave, hand it the listening socket, and wait (no timer)
 * for it to say it took over, or to go away, in which case we serve on.
 */
static void on_ho_conn(struct dd_core *c)
{
	uint64_t t0 = mono_us(), t1;
	char msg;
	int fd, ret = dd_handover_recv(c->ho_conn, &msg, &fd);

	if (fd >= 0)
		close(fd);
	if (ret || msg != DD_HANDOVER_GO || !c->ops->leave) {
		ho_close(c);
		return;
	}
	c->ops->leave(c);
	t1 = mono_us();
	ret = dd_handover_send(c->ho_conn, DD_HANDOVER_DONE, c->ho_listen);
	if (!ret)
		ret = dd_handover_recv(c->ho_conn, &msg, &fd);
	if (!ret && fd >= 0)
		close(fd);
	if (!ret && msg == DD_HANDOVER_TAKEN) {
		pvio_log(c->log, PVIO_LOG_INFO, c->prog,
			 "handed over to a successor (leaving took %llu us): exiting",
			 (unsigned long long)(t1 - t0));
		c->handover = true;
		c->stop = true;
		return;
	}
	pvio_log(c->log, PVIO_LOG_WARN, c->prog, "the successor went away: serving again");
	ho_close(c);
	c->ops->take_back(c);
}

static void dispatch(struct dd_core *c, uint64_t tag)
{
	uint64_t ticks;

	switch (tag) {
	case TAG_XS:
		c->ops->xs_events(c);
		break;
	case TAG_SIGNAL:
		on_signal(c);
		break;
	case TAG_TIMER:
		if (read(c->timerfd, &ticks, sizeof(ticks)) > 0 && c->ops->timer)
			c->ops->timer(c);
		break;
	case TAG_FAIL:
		on_fail(c);
		break;
	case TAG_HO_LISTEN:
		on_ho_listen(c);
		break;
	case TAG_HO_CONN:
		on_ho_conn(c);
		break;
	}
}

int dd_core_start(struct dd_core *c)
{
	int ret = 0;

	for (unsigned int i = 0; i < c->nthreads && !ret && !c->started; i++)
		ret = dd_thread_start(&c->threads[i]);
	c->started = true;
	return ret;
}

int dd_core_takeover(struct dd_core *c)
{
	char msg;
	int fd, ret = dd_handover_send(c->ho_conn, DD_HANDOVER_GO, -1);

	if (!ret)
		ret = dd_handover_recv(c->ho_conn, &msg, &fd);
	if (!ret && (msg != DD_HANDOVER_DONE || fd < 0)) {
		if (fd >= 0)
			close(fd);
		ret = -EPROTO;
	}
	if (!ret)
		c->ho_listen = fd;
	return ret;
}

int dd_core_takeover_done(struct dd_core *c)
{
	int ret = dd_handover_send(c->ho_conn, DD_HANDOVER_TAKEN, -1);

	close(c->ho_conn);
	c->ho_conn = -1;
	return ret;
}

int dd_core_run(struct dd_core *c)
{
	struct epoll_event evs[16];
	int ret = dd_core_start(c);

	if (!ret && c->ho_listen >= 0)
		ret = add_fd(c->epfd, c->ho_listen, TAG_HO_LISTEN);
	if (ret)
		return ret;
	while (!c->stop) {
		int n = epoll_wait(c->epfd, evs, 16, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !c->stop; i++)
			dispatch(c, evs[i].data.u64);
	}
	return c->err;
}

void dd_core_fini(struct dd_core *c)
{
	for (unsigned int i = 0; i < c->nthreads; i++)
		dd_thread_close(&c->threads[i]);
	free(c->threads);
	c->threads = NULL;
	c->nthreads = 0;
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->failfd >= 0)
		close(c->failfd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	if (c->epfd >= 0)
		close(c->epfd);
	/* A caller's zeroed core that never got to dd_core_init has no hand-over fds. */
	if (c->ho_valid && c->ho_conn >= 0)
		close(c->ho_conn);
	if (c->ho_valid && c->ho_listen >= 0)
		close(c->ho_listen);
	c->epfd = c->sigfd = c->timerfd = c->failfd = c->ho_listen = c->ho_conn = -1;
	pthread_mutex_destroy(&c->lock);
}
