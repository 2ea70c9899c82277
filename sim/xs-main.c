/* SPDX-License-Identifier: MIT */
/*
 * xs-main.c - pvio-xenstored(8): options, sockets and the epoll loop.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/peer.h"
#include "sim/xs-daemon.h"

static const char usage[] =
    "usage: pvio-xenstored [-s PATH] [--hv-socket PATH] [-Q NAME=VALUE]... [-v]\n"
    "  -s, --socket PATH     dom0's socket (domains get one each beside it)\n"
    "      --hv-socket PATH  follow pvio-hv's domain deaths on PATH\n"
    "  -Q, --quota N=V       set a quota: nodes, node-size, watches, transactions,\n"
    "                        outstanding, permissions, path-max, output-queue,\n"
    "                        transaction-nodes, write-rate, write-burst,\n"
    "                        connections, fd-reserve\n"
    "  -v, --verbose         log connections and domains to stderr\n"
    "  -h, --help            this text\n";

/* cxenstored's defaults; the output queue is ours. */
static const struct xs_quota xs_quota_defaults = {
	.nodes = 1000,
	.node_size = 2048,
	.watches = 128,
	.transactions = 10,
	.outstanding = 20,
	.perms = 5,
	.path_max = XS_REL_PATH_MAX,
	.out_max = 1024 * 1024,
	.tx_nodes = 1024,
	.wrl_rate = 200,
	.wrl_burst = 10,
	.connections = 64,
	/* 0: a quarter of the descriptors, once we know how many (xs_setup). */
	.fd_reserve = 0,
};

/* -Q name=value: 0 or -1 after printing why. */
static int xs_quota_parse(struct xs_quota *q, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq && xs_quota_set(q, arg, (size_t)(eq - arg), eq + 1) == 0)
		return 0;
	fprintf(stderr, "pvio-xenstored: -Q %s: %s\n", arg, strerror(EINVAL));
	return -1;
}

/* The default socket path in buf, as the brief of pvio's layout says. */
static void xs_default_socket(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/pvio/xenstored/socket");
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/pvio/xenstored/socket", xdg);
	else
		snprintf(buf, len, "/tmp/pvio-%u/xenstored/socket", (unsigned int)geteuid());
}

/* mkdir -p of the socket's directory (0700 for the ones we make). */
static int xs_mkdirs(const char *sock)
{
	char dir[PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", sock);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* What the command line asked for. */
struct xs_opts {
	char sock[PATH_MAX];   /* dom0's socket */
	const char *hv_path;   /* --hv-socket, or NULL */
	struct xs_quota quota; /* -Q */
	bool verbose;	       /* -v */
};

/* -1 to run, or the exit status to leave with. */
static int xs_opts_parse(int argc, char **argv, struct xs_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "hv-socket", required_argument, NULL, 'H' },
		{ "quota", required_argument, NULL, 'Q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:Q:vh", longopts, NULL)) != -1) {
		if (opt == 's' &&
		    (size_t)snprintf(o->sock, sizeof(o->sock), "%s", optarg) >= sizeof(o->sock))
			o->sock[0] = '\0';
		else if (opt == 'H')
			o->hv_path = optarg;
		else if (opt == 'Q' && xs_quota_parse(&o->quota, optarg) < 0)
			return 2;
		else if (opt == 'v')
			o->verbose = true;
		else if (opt == 'h')
			return fputs(usage, stdout), 0;
		else if (opt != 's' && opt != 'Q')
			return fputs(usage, stderr), 2;
	}
	if (optind < argc)
		return fputs(usage, stderr), 2;
	return -1;
}

/* A signalfd for SIGTERM and SIGINT in the epoll set. */
static int xs_signals(struct xs_daemon *d, struct xs_src *sig)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = sig };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sig->kind = XS_SRC_SIGNAL;
	sig->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig->fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, sig->fd, &ev) < 0)
		return -errno;
	return 0;
}

static int xs_loop(struct xs_daemon *d)
{
	struct epoll_event evs[64];
	int n;

	for (;;) {
		/* A throttled domain is read again once it has earned a write. */
		n = epoll_wait(d->epfd, evs, 64, xs_wrl_timeout(d));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (!xs_daemon_handle(d, evs, n))
			return 0;
	}
}

/* Open dom0's socket and the rest: 0, or -errno after printing what failed. */
static int xs_setup(struct xs_daemon *d, struct xs_src *sig)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->main.src };
	int ret;

	/* Every connection is a descriptor: take all we may, keep dom0's reserve. */
	d->nofile = peer_nofile_raise();
	if (!d->quota.fd_reserve)
		d->quota.fd_reserve = peer_fd_reserve(d->nofile);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || (ret = xs_signals(d, sig)) < 0)
		return fprintf(stderr, "pvio-xenstored: epoll: %s\n", strerror(errno)), -errno;
	if (xs_store_init(&d->st) < 0 || xs_store_setup(d) < 0)
		return fprintf(stderr, "pvio-xenstored: store: %s\n", strerror(ENOMEM)), -ENOMEM;
	ret = xs_mkdirs(d->main.sock);
	if (ret == 0)
		ret = xs_listen(d->main.sock);
	if (ret < 0)
		return fprintf(stderr, "pvio-xenstored: %s: %s\n", d->main.sock, strerror(-ret)),
		       ret;
	d->main.src.fd = ret;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ret, &ev) < 0)
		return -errno;
	ret = xs_hv_subscribe(d, d->hv_path != NULL);
	if (ret < 0)
		fprintf(stderr, "pvio-xenstored: %s: %s\n", d->hv_path, strerror(-ret));
	return ret;
}

static void xs_teardown(struct xs_daemon *d, struct xs_src *sig)
{
	while (d->conns)
		xs_conn_close(d, d->conns);
	xs_domain_free_all(d);
	if (d->main.src.fd >= 0) {
		close(d->main.src.fd);
		unlink(d->main.sock);
	}
	if (d->hv.fd >= 0)
		close(d->hv.fd);
	if (sig->fd >= 0)
		close(sig->fd);
	if (d->epfd >= 0)
		close(d->epfd);
	xs_store_free(&d->st);
}

int main(int argc, char **argv)
{
	struct xs_opts o = { .quota = xs_quota_defaults };
	struct xs_daemon d = { .epfd = -1 };
	struct xs_src sig = { .fd = -1 };
	int ret;

	xs_default_socket(o.sock, sizeof(o.sock));
	ret = xs_opts_parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (!o.sock[0]) {
		fprintf(stderr, "pvio-xenstored: socket path: %s\n", strerror(ENAMETOOLONG));
		return 1;
	}
	d.main.src.kind = XS_SRC_LISTEN;
	d.main.src.fd = -1;
	d.main.sock = o.sock;
	d.hv.fd = -1;
	d.hv_path = o.hv_path;
	d.quota = o.quota;
	d.verbose = o.verbose;
	ret = xs_setup(&d, &sig);
	if (ret == 0) {
		ret = xs_loop(&d);
		if (ret < 0)
			fprintf(stderr, "pvio-xenstored: epoll_wait: %s\n", strerror(-ret));
	}
	xs_teardown(&d, &sig);
	return ret < 0 ? 1 : 0;
}
