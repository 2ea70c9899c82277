/* SPDX-License-Identifier: MIT */
/*
 * simctl.c - dom0's control client of pvio-hv: plain RPCs on a main-socket
 * connection (hv/simproto.h), plus the fork-and-enter steps that put a
 * process into a domain.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv/simctl.h"

struct hvctl {
	int sock; /* main-socket connection carrying a dom0 session */
};

/* The socket path to use: the caller's, else the environment's or the default. */
static int path_resolve(const char *path, char *buf, size_t len)
{
	if (!path)
		return hvsim_socket_path(buf, len);
	if ((size_t)snprintf(buf, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int sock_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	ret = path_resolve(path, sa.sun_path, sizeof(sa.sun_path));
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*fdp = fd;
	return 0;
}

/* One RPC that returns no fds. */
static int ctl_call(int sock, struct hvsim_msg *req, struct hvsim_msg *rep)
{
	return hvsim_call(sock, req, NULL, 0, rep, NULL, 0, NULL);
}

int hvctl_open(struct hvctl **ctlp, const char *path)
{
	struct hvsim_msg req = { .op = HVSIM_HELLO }, rep;
	struct hvctl *ctl = calloc(1, sizeof(*ctl));
	int fds[3], ret;
	unsigned int nfds = 0;

	if (!ctl)
		return -ENOMEM;
	ret = sock_connect(path, &ctl->sock);
	if (ret < 0) {
		free(ctl);
		return ret;
	}
	/* The session's table, pool and port status are of no use to a controller. */
	ret = hvsim_call(ctl->sock, &req, NULL, 0, &rep, fds, 3, &nfds);
	while (nfds)
		close(fds[--nfds]);
	if (ret < 0) {
		hvctl_close(ctl);
		return ret;
	}
	*ctlp = ctl;
	return 0;
}

void hvctl_close(struct hvctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->sock);
	free(ctl);
}

int hvctl_domain_create(struct hvctl *ctl, const char *name, unsigned int pool_pages,
			domid_t *domid, int *token_fd)
{
	struct hvsim_msg req = { .op = HVSIM_DOMAIN_CREATE, .arg[0] = pool_pages }, rep;
	unsigned int nfds = 0;
	int fd, ret;

	if (strlen(name) >= sizeof(req.name))
		return -ENAMETOOLONG;
	strcpy(req.name, name);
	ret = hvsim_call(ctl->sock, &req, NULL, 0, &rep, &fd, 1, &nfds);
	if (ret < 0)
		return ret;
	if (nfds != 1)
		return -EPROTO;
	*domid = (domid_t)rep.arg[0];
	*token_fd = fd;
	return 0;
}

int hvctl_domain_destroy(struct hvctl *ctl, domid_t domid)
{
	struct hvsim_msg req = { .op = HVSIM_DOMAIN_DESTROY, .arg[0] = domid }, rep;

	return ctl_call(ctl->sock, &req, &rep);
}

int hvctl_domain_list(struct hvctl *ctl, struct hvctl_domain_info *out, unsigned int max)
{
	unsigned int i;
	int ret;

	for (i = 0; i < max; i++) {
		struct hvsim_msg req = { .op = HVSIM_DOMAIN_INFO, .arg[0] = i }, rep;

		ret = ctl_call(ctl->sock, &req, &rep);
		if (ret == -ENOENT)
			break;
		if (ret < 0)
			return ret;
		out[i].domid = (domid_t)rep.arg[0];
		out[i].sessions = rep.arg[1];
		out[i].pool_pages = rep.arg[2];
		out[i].pool_used = rep.arg[3];
		memcpy(out[i].name, rep.name, sizeof(out[i].name));
	}
	return (int)i;
}

int hvctl_fairness(struct hvctl *ctl, uint64_t *dom0_reqs, unsigned int *ahead_max)
{
	struct hvsim_msg req = { .op = HVSIM_FAIRNESS }, rep;
	int ret = ctl_call(ctl->sock, &req, &rep);

	if (ret < 0)
		return ret;
	*dom0_reqs = rep.arg[0] | (uint64_t)rep.arg[1] << 32;
	*ahead_max = rep.arg[2];
	return 0;
}

int hvctl_subscribe(const char *path, int *fdp)
{
	struct hvsim_msg req = { .op = HVSIM_SUBSCRIBE }, rep;
	int fd, ret;

	ret = sock_connect(path, &fd);
	if (ret < 0)
		return ret;
	ret = ctl_call(fd, &req, &rep);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*fdp = fd;
	return 0;
}

int hvctl_death_read(int fd, domid_t *domid)
{
	struct hvsim_msg msg;
	int ret;

	ret = hvsim_recv(fd, &msg, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (msg.op != (HVSIM_DEATH | HVSIM_OP_FROM_HV))
		return -EPROTO;
	*domid = (domid_t)msg.arg[0];
	return 0;
}

int hvctl_enter_domain(int token_fd, const char *path)
{
	char fdstr[16];
	int flags;

	/* The token is the domain's connection: it needs no socket path, and must not name dom0's.
	 */
	(void)path;
	flags = fcntl(token_fd, F_GETFD);
	if (flags < 0 || fcntl(token_fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
		return -errno;
	snprintf(fdstr, sizeof(fdstr), "%d", token_fd);
	if (unsetenv(HVSIM_SOCKET_ENV) < 0 || setenv(HVSIM_FD_ENV, fdstr, 1) < 0 ||
	    setenv("PVIO_HV", "sim", 1) < 0)
		return -errno;
	return 0;
}

/* The child: enter, exec, and on failure tell the parent why through the pipe. */
static void spawn_child(int report, const char *path, int token_fd, char *const argv[])
{
	int err = -hvctl_enter_domain(token_fd, path);

	if (err == 0) {
		execvp(argv[0], argv);
		err = errno;
	}
	if (write(report, &err, sizeof(err)) < 0) {
		/* Unreported: the parent sees the command start and exit with 127. */
	}
	_exit(127);
}

int hvctl_spawn(const char *path, int token_fd, char *const argv[], pid_t *pid)
{
	int report[2], err = 0;
	ssize_t n;
	pid_t child;

	if (!argv || !argv[0])
		return -EINVAL;
	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		err = errno;
		close(report[0]);
		close(report[1]);
		return -err;
	}
	if (child == 0)
		spawn_child(report[1], path, token_fd, argv);
	close(report[1]);
	/* The write end closes on a successful exec: EOF means the command runs. */
	do {
		n = read(report[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof(err) && err > 0) {
		waitpid(child, NULL, 0);
		return -err;
	}
	*pid = child;
	return 0;
}
