/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv.c - the embedded hypervisor: a daemon on a Unix socket that stands
 * in for Xen's domains, grant tables and event channels (hv/simproto.h), and
 * the admin subcommands that talk to it (admin.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/admin.h"
#include "sim/hvd.h"
#include "sim/peer.h"

static const char usage[] =
    "usage: pvio-hv [-s PATH] [--pool-pages N] [-v]        run the daemon\n"
    "       pvio-hv [-s PATH] list                         list the domains\n"
    "       pvio-hv [-s PATH] create NAME [--] CMD [ARG...] run CMD in a new domain\n"
    "       pvio-hv [-s PATH] destroy DOMID                 kill a domain\n"
    "       pvio-hv [-s PATH] fairness                      print the fairness counts\n"
    "  -s, --socket PATH        the main socket (default: $PVIO_HV_SOCKET, else per user)\n"
    "      --pool-pages N       grantable pages of a new domain (default 16384)\n"
    "      --max-sessions N     sessions of each domain but dom0 (default 128)\n"
    "      --max-dom0-sessions N  dom0's sessions (default 4096)\n"
    "      --max-ports N        event channels of each domain but dom0 (default 1024)\n"
    "      --max-subscribers N  death streams (default 64)\n"
    "      --fd-reserve N       descriptors no guest may take (default a quarter)\n"
    "      --max-domain-fds N   descriptors held for each domain but dom0 (default 4096)\n"
    "  -v, --verbose            log domain and session events to stderr\n"
    "  -h, --help               this text\n";

void hvd_log(const struct hvd *hvd, const char *fmt, ...)
{
	va_list ap;

	if (!hvd->verbose)
		return;
	va_start(ap, fmt);
	fputs("pvio-hv: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The socket's directory, made private if we create it. */
static int socket_dir_prepare(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	dirname(dir);
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		fprintf(stderr, "pvio-hv: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pvio-hv: %s: %s\n", dir, strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	return 0;
}

static int sockaddr_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/*
 * Remove a stale socket: one nobody answers on.  Refuse if a daemon still
 * answers, and never remove anything but a socket.
 */
static int socket_claim(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	if (ret != -ECONNREFUSED)
		return ret;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

/* The main socket, bound and listening, reachable by its owner only. */
static int listen_open(struct hvd *hvd, const char *path)
{
	struct sockaddr_un sa;
	int ret;

	ret = sockaddr_fill(&sa, path);
	if (ret == 0)
		ret = socket_claim(path, &sa);
	if (ret == -EADDRINUSE) {
		fprintf(stderr, "pvio-hv: %s: a daemon is already running\n", path);
		return ret;
	}
	if (ret == 0) {
		umask(077);
		hvd->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (hvd->listen_fd < 0 ||
		    bind(hvd->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(hvd->listen_fd, 64) < 0 || chmod(path, 0600) < 0)
			ret = -errno;
	}
	if (ret < 0)
		fprintf(stderr, "pvio-hv: %s: %s\n", path, strerror(-ret));
	return ret;
}

static void listen_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events)
{
	int ret;

	(void)w;
	(void)events;
	ret = hvd_conn_accept(hvd);
	if (ret < 0)
		hvd_log(hvd, "accept: %s", strerror(-ret));
}

static void sig_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)w;
	(void)events;
	if (read(hvd->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		hvd->stop = true;
}

/* dom0's set is ready: the loop looks at it first anyway. */
static void dom0_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events)
{
	(void)hvd;
	(void)w;
	(void)events;
}

/* SIGTERM and SIGINT arrive as events; SIGPIPE never (sends use MSG_NOSIGNAL anyway). */
static int signals_open(struct hvd *hvd)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	hvd->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return hvd->sig_fd < 0 ? -errno : 0;
}

static int watch_add(struct hvd *hvd, int fd, struct hvd_watch *w,
		     void (*ready)(struct hvd *, struct hvd_watch *, uint32_t))
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	w->ready = ready;
	return epoll_ctl(hvd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/*
 * Every session holds several fds (memfds, eventfds): take all we may, and
 * keep the reserve out of guests' reach.
 */
static void nofile_raise(struct hvd *hvd)
{
	hvd->nofile = peer_nofile_raise();
	if (!hvd->limits.fd_reserve)
		hvd->limits.fd_reserve = peer_fd_reserve(hvd->nofile);
}

/* The epoll set with the signals and dom0 in it; no socket yet. */
static int hvd_core_open(struct hvd *hvd)
{
	int ret;

	hvd->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (hvd->epfd < 0)
		return -errno;
	hvd->dom0_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (hvd->dom0_epfd < 0)
		return -errno;
	ret = watch_add(hvd, hvd->dom0_epfd, &hvd->dom0_watch, dom0_ready);
	if (ret < 0)
		return ret;
	ret = signals_open(hvd);
	if (ret == 0)
		ret = watch_add(hvd, hvd->sig_fd, &hvd->sig_watch, sig_ready);
	if (ret == 0)
		ret = hvd_domains_init(hvd);
	return ret;
}

static int hvd_setup(struct hvd *hvd, const char *path)
{
	int ret;

	hvd_list_init(&hvd->conns);
	hvd_list_init(&hvd->subscribers);
	hvd_list_init(&hvd->parked);
	hvd->round = 1; /* a new domain's round 0 is stale: it starts with a full share */
	hvd->next_sid = 1;
	hvd->epfd = hvd->dom0_epfd = hvd->listen_fd = hvd->sig_fd = -1;
	nofile_raise(hvd);
	ret = hvd_core_open(hvd);
	if (ret < 0) {
		fprintf(stderr, "pvio-hv: %s: %s\n", path, strerror(-ret));
		return ret;
	}
	if (socket_dir_prepare(path) < 0)
		return -1;
	ret = listen_open(hvd, path);
	if (ret < 0)
		return ret;
	ret = watch_add(hvd, hvd->listen_fd, &hvd->listen_watch, listen_ready);
	if (ret < 0)
		fprintf(stderr, "pvio-hv: %s: %s\n", path, strerror(-ret));
	return ret;
}

/* One event per wait: a handler may free objects another queued event names. */
static int hvd_loop(struct hvd *hvd)
{
	struct epoll_event ev;
	int n;

	while (!hvd->stop) {
		/*
		 * dom0's connections first: its request waits at most for the one guest event
		 * being handled when it came (HVD_BURST requests), never for a round of them.
		 */
		n = epoll_wait(hvd->dom0_epfd, &ev, 1, 0);
		if (n == 0) {
			hvd->guest_reqs_mark = hvd->guest_reqs;
			/* With sessions parked, look without sleeping: nothing else ready ends the
			 * round, and the parked sessions are armed again before any sleep. */
			n = epoll_wait(hvd->epfd, &ev, 1, hvd_list_empty(&hvd->parked) ? -1 : 0);
			if (n == 0)
				hvd_round_next(hvd);
		}
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 1)
			((struct hvd_watch *)ev.data.ptr)->ready(hvd, ev.data.ptr, ev.events);
	}
	return 0;
}

/* At exit nobody hears of deaths: mark every domain dying, then close everything. */
static void hvd_teardown(struct hvd *hvd)
{
	unsigned int id;

	for (id = 0; id < HVD_NR_DOMIDS; id++) {
		if (hvd->domains[id])
			hvd->domains[id]->dying = true;
	}
	while (!hvd_list_empty(&hvd->conns))
		hvd_conn_close(hvd, hvd_container_of(hvd->conns.next, struct hvd_conn, all));
	hvd_domains_fini(hvd);
	if (hvd->listen_fd >= 0)
		close(hvd->listen_fd);
	if (hvd->sig_fd >= 0)
		close(hvd->sig_fd);
	if (hvd->epfd >= 0)
		close(hvd->epfd);
	if (hvd->dom0_epfd >= 0)
		close(hvd->dom0_epfd);
}

static int daemon_run(const char *path, uint32_t pool_pages, const struct hvd_limits *limits,
		      bool verbose)
{
	struct hvd *hvd = calloc(1, sizeof(*hvd));
	int ret;

	if (!hvd) {
		fprintf(stderr, "pvio-hv: %s\n", strerror(ENOMEM));
		return 1;
	}
	hvd->pool_pages = pool_pages;
	hvd->limits = *limits;
	hvd->verbose = verbose;
	ret = hvd_setup(hvd, path);
	if (ret == 0) {
		hvd_log(hvd, "listening on %s", path);
		ret = hvd_loop(hvd);
		if (ret < 0)
			fprintf(stderr, "pvio-hv: epoll: %s\n", strerror(-ret));
		unlink(path);
	}
	hvd_teardown(hvd);
	free(hvd);
	return ret < 0 ? 1 : 0;
}

/* A count for option name in 1..max: 0, or -1 after saying why. */
static int count_parse(const char *name, const char *s, unsigned long max, uint32_t *val)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 0);
	if (errno || end == s || *end || n == 0 || n > max || s[0] == '-') {
		fprintf(stderr, "pvio-hv: --%s %s: not a count in 1..%lu\n", name, s, max);
		return -1;
	}
	*val = (uint32_t)n;
	return 0;
}

/* What the command line asked for. */
struct opts {
	char path[PATH_MAX];	  /* the main socket */
	uint32_t pool_pages;	  /* default pool of new domains */
	struct hvd_limits limits; /* --max-*, --fd-reserve */
	bool verbose;		  /* -v */
};

/* A long option that sets a count: where it goes and its range. */
static int count_opt(struct opts *o, const struct option *opt)
{
	static const struct {
		const char *name;  /* the option */
		size_t off;	   /* its field in struct opts */
		unsigned long max; /* its largest value */
	} counts[] = {
		{ "pool-pages", offsetof(struct opts, pool_pages), HVSIM_POOL_PAGES_MAX },
		{ "max-sessions", offsetof(struct opts, limits.sessions), INT_MAX },
		{ "max-dom0-sessions", offsetof(struct opts, limits.dom0_sessions), INT_MAX },
		{ "max-ports", offsetof(struct opts, limits.ports), HVSIM_MAX_PORTS - 1 },
		{ "max-subscribers", offsetof(struct opts, limits.subscribers), INT_MAX },
		{ "fd-reserve", offsetof(struct opts, limits.fd_reserve), INT_MAX },
		{ "max-domain-fds", offsetof(struct opts, limits.domain_fds), INT_MAX },
	};
	unsigned int i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (!strcmp(opt->name, counts[i].name))
			return count_parse(opt->name, optarg, counts[i].max,
					   (uint32_t *)(void *)((char *)o + counts[i].off));
	}
	return -1;
}

/* Options before the subcommand: -1 to go on, or the exit status to leave with. */
static int opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pool-pages", required_argument, NULL, 'p' },
		{ "max-sessions", required_argument, NULL, 'p' },
		{ "max-dom0-sessions", required_argument, NULL, 'p' },
		{ "max-ports", required_argument, NULL, 'p' },
		{ "max-subscribers", required_argument, NULL, 'p' },
		{ "fd-reserve", required_argument, NULL, 'p' },
		{ "max-domain-fds", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, index;

	while ((opt = getopt_long(argc, argv, "+s:vh", longopts, &index)) != -1) {
		switch (opt) {
		case 's':
			/* Too long a path is reported once, by main. */
			if ((size_t)snprintf(o->path, sizeof(o->path), "%s", optarg) >=
			    sizeof(o->path))
				o->path[0] = '\0';
			break;
		case 'p':
			if (count_opt(o, &longopts[index]) < 0)
				return 2;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.pool_pages = HVSIM_POOL_PAGES_DEFAULT,
		.limits = { .sessions = 128,
			    .dom0_sessions = 4096,
			    .ports = 1024,
			    .subscribers = 64,
			    .domain_fds = 4096 },
	};
	int ret;

	if (hvsim_socket_path(o.path, sizeof(o.path)) < 0)
		o.path[0] = '\0';
	ret = opts_parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (!o.path[0]) {
		fprintf(stderr, "pvio-hv: socket path: %s\n", strerror(ENAMETOOLONG));
		return 1;
	}
	if (optind < argc)
		return hvd_admin(o.path, argc - optind, argv + optind);
	return daemon_run(o.path, o.pool_pages, &o.limits, o.verbose);
}
