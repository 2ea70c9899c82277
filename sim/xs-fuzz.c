/* SPDX-License-Identifier: MIT */
/*
 * xs-fuzz.c - a libFuzzer target for pvio-xenstored's framing, dispatcher
 * and operations, driven in-process through the daemon's own connection
 * code: a real listening socket and the epoll loop's own turn,
 * xs_daemon_handle(), as xs-main.c calls it.
 *
 * Input: byte 0 is a control byte, the rest is what a client writes.
 *   bit 0     the client is domain 1 (introduced) instead of dom0
 *   bit 1     a second, silent connection of the other identity is open too
 *             (it hears watch events, and dom0 may release domain 1 under it)
 *   bits 2-7  v: the stream is written in chunks of v*v bytes (0: at once),
 *             with the daemon run until idle after each chunk
 * Each input gets a fresh store; the epoll set and dom0's listening socket
 * (in a temporary directory) live for the whole run.
 *
 * Built and run by tests/xs-fuzz.sh with clang -fsanitize=fuzzer.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/xs-daemon.h"

/* Loop turns before an input counts as a hang of the daemon. */
#define XS_FUZZ_TURNS 100000

static struct xs_daemon xs_fuzz_d;
static char xs_fuzz_dir[64];
static char xs_fuzz_sock[96];

/* The whole run's quotas: small, so inputs reach them. */
static const struct xs_quota xs_fuzz_quota = {
	.nodes = 40,
	.node_size = 2048,
	.watches = 8,
	.transactions = 4,
	.outstanding = 20,
	.perms = 5,
	.path_max = 2048,
	.out_max = 65536,
	.tx_nodes = 16,
	.connections = 4,
	.fd_reserve = 16,
};

static void xs_fuzz_rmdir(void)
{
	unlink(xs_fuzz_sock);
	rmdir(xs_fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct xs_daemon *d = &xs_fuzz_d;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->main.src };
	const char *tmp = getenv("TMPDIR");
	int fd;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	snprintf(xs_fuzz_dir, sizeof(xs_fuzz_dir), "%s/xs-fuzz.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(xs_fuzz_dir)) {
		perror("xs-fuzz: mkdtemp");
		abort();
	}
	snprintf(xs_fuzz_sock, sizeof(xs_fuzz_sock), "%s/socket", xs_fuzz_dir);
	atexit(xs_fuzz_rmdir);
	d->hv.fd = -1;
	d->quota = xs_fuzz_quota;
	d->nofile = 1024;
	d->main.src.kind = XS_SRC_LISTEN;
	d->main.sock = xs_fuzz_sock;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	fd = xs_listen(xs_fuzz_sock);
	if (d->epfd < 0 || fd < 0) {
		fprintf(stderr, "xs-fuzz: %s: cannot listen\n", xs_fuzz_sock);
		abort();
	}
	d->main.src.fd = fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		abort();
	return 0;
}

/* A non-blocking client socket connected to path, or -1. */
static int xs_fuzz_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read and drop whatever the daemon sent to fd: whether there was any. */
static bool xs_fuzz_drain(int fd)
{
	char buf[4096];
	bool any = false;

	while (fd >= 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		any = true;
	return any;
}

/* One turn of xs-main.c's loop without blocking: whether anything happened. */
static bool xs_fuzz_turn(struct xs_daemon *d)
{
	struct epoll_event evs[64];
	int n = epoll_wait(d->epfd, evs, 64, 0);

	xs_daemon_handle(d, evs, n);
	return n > 0;
}

/* Run the daemon, draining the clients, until neither side has anything to do. */
static void xs_fuzz_settle(struct xs_daemon *d, const int *fds, unsigned int nfds)
{
	unsigned int turns, i;
	bool busy = true;

	for (turns = 0; busy; turns++) {
		if (turns == XS_FUZZ_TURNS) {
			fprintf(stderr, "xs-fuzz: the daemon is still busy after %u turns\n",
				turns);
			abort();
		}
		busy = xs_fuzz_turn(d);
		for (i = 0; i < nfds; i++)
			busy |= xs_fuzz_drain(fds[i]);
	}
}

/* Write buf to fds[0] in chunks of chunk bytes, settling after each. */
static void xs_fuzz_feed(struct xs_daemon *d, const int *fds, unsigned int nfds, const uint8_t *buf,
			 size_t len, size_t chunk)
{
	size_t off = 0, n;
	ssize_t w;
	unsigned int stalls = 0;

	while (off < len && stalls < 1000) {
		n = len - off < chunk ? len - off : chunk;
		w = send(fds[0], buf + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break; /* the daemon closed us: the rest goes nowhere */
		if (w > 0)
			off += (size_t)w;
		stalls = w > 0 ? 0 : stalls + 1;
		xs_fuzz_settle(d, fds, nfds);
	}
}

/* Close every connection and domain and free the store: nothing outlives an input. */
static void xs_fuzz_reset(struct xs_daemon *d, int *fds, unsigned int nfds)
{
	unsigned int i;

	for (i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			shutdown(fds[i], SHUT_WR);
	}
	xs_fuzz_settle(d, fds, nfds);
	while (d->conns)
		xs_conn_close(d, d->conns);
	xs_domain_free_all(d);
	xs_store_free(&d->st);
	for (i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	d->next_txid = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_daemon *d = &xs_fuzz_d;
	const char *path[2] = { xs_fuzz_sock, NULL };
	int fds[2] = { -1, -1 };
	unsigned int nfds, v;
	bool domu, pair;
	size_t chunk;

	if (size < 1)
		return 0;
	domu = data[0] & 1;
	pair = data[0] & 2;
	v = data[0] >> 2;
	chunk = v ? (size_t)v * v : size;
	if (xs_store_init(&d->st) < 0 || xs_store_setup(d) < 0)
		abort();
	if ((domu || pair) && xs_domain_introduce(d, 1) == 0)
		path[1] = xs_domain_find(d, 1)->sock;
	if (domu && path[1]) {
		path[0] = path[1];
		path[1] = xs_fuzz_sock;
	}
	fds[0] = xs_fuzz_connect(path[0]);
	nfds = 1;
	if (pair && path[1]) {
		fds[1] = xs_fuzz_connect(path[1]);
		nfds = 2;
	}
	if (fds[0] >= 0) {
		xs_fuzz_settle(d, fds, nfds);
		xs_fuzz_feed(d, fds, nfds, data + 1, size - 1, chunk);
	}
	xs_fuzz_reset(d, fds, nfds);
	return 0;
}
