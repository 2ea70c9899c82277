/* SPDX-License-Identifier: MIT */
/*
 * handover.c - the hand-over channel between two back-end daemons (handover.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "driverdomain/handover.h"

static int sock_addr(struct sockaddr_un *sa, const char *dir, const char *prog)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", dir, prog);
	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

/* The uid of the other end of fd (for a listening socket: of whoever called listen()). */
static int peer_uid(int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*uid = cr.uid;
	return 0;
}

/* The other end runs under the uid given. */
static int peer_check(int fd, uid_t want)
{
	uid_t uid = 0;
	int ret = peer_uid(fd, &uid);

	return ret ? ret : uid == want ? 0 : -EPERM;
}

int dd_handover_listen(const char *dir, const char *prog)
{
	struct sockaddr_un sa;
	int fd, ret = sock_addr(&sa, dir, prog);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a daemon that died; a live one's is taken over by --takeover only. */
	if ((unlink(sa.sun_path) < 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int dd_handover_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), ret;
	uid_t want = 0;

	if (fd < 0)
		return -errno;
	/*
	 * A successor starts as its predecessor did (as root, with --user), while the predecessor
	 * has dropped to its user since it listened: accept whoever opened the listening socket,
	 * not our uid of now (the socket, passed on to each successor, keeps that identity).
	 */
	ret = peer_uid(lfd, &want);
	if (ret == 0)
		ret = peer_check(fd, want);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int dd_handover_connect(const char *dir, const char *prog)
{
	struct sockaddr_un sa;
	int fd, ret = sock_addr(&sa, dir, prog);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno
								  : peer_check(fd, geteuid());
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int dd_handover_send(int fd, char msg, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &msg, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	return 0;
}

/* The fd an SCM_RIGHTS message carried, or -1 (extra ones are closed). */
static int cmsg_fd(struct msghdr *mh)
{
	int got = -1;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < 0)
				got = fd;
			else
				close(fd);
		}
	}
	return got;
}

int dd_handover_recv(int fd, char *msg, int *got_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = msg, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u)
	};
	ssize_t n;

	*got_fd = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	*got_fd = cmsg_fd(&mh);
	if (n == 0) {
		if (*got_fd >= 0)
			close(*got_fd);
		*got_fd = -1;
		return -EPIPE;
	}
	return 0;
}

int dd_handover_pidfile(int dirfd, const char *prog)
{
	char name[64], tmp[72], line[24];
	int fd, n, ret = 0;

	snprintf(name, sizeof(name), "%s.pid", prog);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	return ret;
}
