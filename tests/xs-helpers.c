/* SPDX-License-Identifier: MIT */
/*
 * xs-helpers.c - a private pvio-xenstored per test, and small libxenstore
 * conveniences.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* The test's own daemon. */
static struct {
	pid_t pid;	     /* pvio-xenstored, 0 if not started */
	pid_t starter;	     /* the process that started it: only it stops it */
	char dir[64];	     /* the private directory */
	char sock[PATH_MAX]; /* dir/socket */
} t_xs;

const char *t_xs_socket(void)
{
	return t_xs.sock;
}

void t_xs_domain_socket(unsigned int domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/domain-%u/socket", t_xs.dir, domid);
}

int t_xs_domain_connect(unsigned int domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	t_xs_domain_socket(domid, sa.sun_path, sizeof(sa.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void t_xs_stop(void)
{
	int status;

	if (!t_xs.pid || getpid() != t_xs.starter)
		return;
	kill(t_xs.pid, SIGTERM);
	while (waitpid(t_xs.pid, &status, 0) < 0 && errno == EINTR)
		;
	t_xs.pid = 0;
	unlink(t_xs.sock);
	rmdir(t_xs.dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "FAIL pvio-xenstored: exited with status 0x%x\n", status);
		_exit(T_FAIL);
	}
}

static pid_t t_xs_exec(const char *prog, const char *const *extra)
{
	const char *argv[32] = { "pvio-xenstored", "-s", t_xs.sock };
	unsigned int n = 3;

	if (getenv("PVIO_TEST_VERBOSE"))
		argv[n++] = "-v";
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	return t_daemon_exec(prog, argv);
}

static int t_xs_wait_ready(void)
{
	/* Up to 60 s: pvio-xenstored under valgrind on a loaded machine takes more than 10. */
	uint64_t deadline = t_now_ms() + 60000;
	struct xs_handle *h;
	int status;

	while (t_now_ms() < deadline) {
		h = xs_open(XS_OPEN_SOCKETONLY);
		if (h) {
			xs_close(h);
			return 0;
		}
		if (waitpid(t_xs.pid, &status, WNOHANG) == t_xs.pid) {
			t_xs.pid = 0;
			fprintf(stderr, "t_xs_start: pvio-xenstored exited: 0x%x\n", status);
			return -ECHILD;
		}
		t_msleep(10);
	}
	return -ETIMEDOUT;
}

int t_xs_start(const char *const *extra)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	char prog[PATH_MAX];

	snprintf(prog, sizeof(prog), "%s/pvio-xenstored", builddir && *builddir ? builddir : ".");
	if (access(prog, X_OK) < 0) {
		fprintf(stderr, "t_xs_start: %s: %s\n", prog, strerror(errno));
		return -ENOENT;
	}
	snprintf(t_xs.dir, sizeof(t_xs.dir), "/tmp/pvio-xs-test-XXXXXX");
	if (!mkdtemp(t_xs.dir))
		return -errno;
	snprintf(t_xs.sock, sizeof(t_xs.sock), "%s/socket", t_xs.dir);
	setenv("XENSTORED_PATH", t_xs.sock, 1);
	/* Unless the test runs its own pvio-hv, keep the daemon off any other. */
	if (!getenv(HVSIM_SOCKET_ENV)) {
		setenv(HVSIM_SOCKET_ENV, "/nonexistent/pvio-hv.sock", 1);
	}
	t_xs.starter = getpid();
	t_xs.pid = t_xs_exec(prog, extra);
	if (t_xs.pid < 0) {
		t_xs.pid = 0;
		return -errno;
	}
	atexit(t_xs_stop);
	t_time_limit(T_TIME_LIMIT_S);
	return t_xs_wait_ready();
}

bool t_xs_alive(void)
{
	int status;

	if (!t_xs.pid || waitpid(t_xs.pid, &status, WNOHANG) != t_xs.pid)
		return t_xs.pid != 0;
	t_xs.pid = 0;
	fprintf(stderr, "FAIL pvio-xenstored died, status 0x%x\n", status);
	return false;
}

struct xs_handle *t_xs_open(void)
{
	setenv("XENSTORED_PATH", t_xs.sock, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

struct xs_handle *t_xs_open_domain(unsigned int domid)
{
	char path[PATH_MAX];

	t_xs_domain_socket(domid, path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

char **t_xs_event(struct xs_handle *h, int ms)
{
	unsigned int num;

	if (!t_readable(xs_fileno(h), ms))
		return NULL;
	return xs_read_watch(h, &num);
}

bool t_xs_expect(struct xs_handle *h, const char *path, const char *token, int ms)
{
	char **ev = t_xs_event(h, ms);
	bool ok = ev && !strcmp(ev[XS_WATCH_PATH], path) && !strcmp(ev[XS_WATCH_TOKEN], token);

	if (ev && !ok)
		fprintf(stderr, "unexpected event %s %s (wanted %s %s)\n", ev[XS_WATCH_PATH],
			ev[XS_WATCH_TOKEN], path, token);
	free(ev);
	return ok;
}

int t_xs_kill(void)
{
	return t_daemon_kill(&t_xs.pid, t_xs.starter);
}

pid_t t_xs_pid(void)
{
	return t_xs.pid;
}

int t_xs_raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(t_xs.sock) + 1;
	int fd;

	if (len > sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, t_xs.sock, len);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read exactly len bytes within 2 s a piece: whether they came. */
static bool t_xs_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (!t_readable(fd, 2000))
			return false;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

int t_xs_raw_request(int fd, uint32_t type, const void *payload, uint32_t len, uint32_t *rtype,
		     char *body, size_t size)
{
	struct xsd_sockmsg m = { .type = type, .req_id = 7, .len = len }, r;

	if (write(fd, &m, sizeof(m)) != sizeof(m) || write(fd, payload, len) != (ssize_t)len)
		return -1;
	if (!t_xs_read_full(fd, &r, sizeof(r)) || r.len > size || r.req_id != 7)
		return -1;
	if (!t_xs_read_full(fd, body, r.len))
		return -1;
	*rtype = r.type;
	return (int)r.len;
}
