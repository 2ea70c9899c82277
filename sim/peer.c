/* SPDX-License-Identifier: MIT */
/*
 * peer.c - dom0 is whoever shares the daemon's credentials: the same uid
 * AND the same user and pid namespaces.  A domain's processes run in user
 * namespaces of their own (possibly mapping their root to the daemon's very
 * uid), so the uid alone proves nothing.
 *
 * The namespaces are read from /proc/PID/ns of the connecting process.  A
 * pid can be reused between the connect and that lookup, so the process is
 * named by a pidfd (SO_PEERPIDFD, Linux >= 6.5, else pidfd_open of
 * SO_PEERCRED's pid) and must still be alive after the lookup: then the
 * /proc entry read was its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim/peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* stat(2) of /proc/WHO/ns/KIND: 0 or -errno. */
static int ns_stat(const char *who, const char *kind, struct stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", who, kind);
	return stat(path, st) == 0 ? 0 : -errno;
}

/* 1 if pid's namespace of this kind is ours, 0 if not, -errno if unreadable. */
static int ns_same(pid_t pid, const char *kind)
{
	struct stat theirs, ours;
	char who[16];
	int ret;

	snprintf(who, sizeof(who), "%d", (int)pid);
	ret = ns_stat(who, kind, &theirs);
	if (ret == 0)
		ret = ns_stat("self", kind, &ours);
	if (ret < 0)
		return ret;
	return theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
}

int peer_pidfd(int fd, pid_t pid)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	if (errno != ENOPROTOOPT)
		return -errno;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pidfd < 0 ? -errno : pidfd;
}

/* Whether the process behind pidfd still runs: its pid was not reused since. */
static int pidfd_alive(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	/* A pidfd polls readable once its process has exited (poll: valgrind knows it). */
	if (poll(&pfd, 1, 0) < 0)
		return -errno;
	return pfd.revents ? -ESRCH : 0;
}

/* The namespace checks on a live peer: 0, -EPERM with why, or -errno. */
static int peer_ns_check(const struct ucred *cred, char *why, size_t len)
{
	static const char *const kinds[] = { "user", "pid" };
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ret = ns_same(cred->pid, kinds[i]);
		if (ret == 1)
			continue;
		snprintf(why, len, "pid %d uid %u: %s", (int)cred->pid, (unsigned int)cred->uid,
			 ret == 0 ? kinds[i] : strerror(-ret));
		if (ret == 0)
			snprintf(why + strlen(why), len - strlen(why),
				 " namespace is not the daemon's");
		return ret == 0 ? -EPERM : ret;
	}
	return 0;
}

int peer_is_dom0(int fd, char *why, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int pidfd, ret;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		snprintf(why, len, "SO_PEERCRED: %s", strerror(errno));
		return -errno;
	}
	if (cred.uid != geteuid()) {
		snprintf(why, len, "pid %d uid %u: not the daemon's uid %u", (int)cred.pid,
			 (unsigned int)cred.uid, (unsigned int)geteuid());
		return -EPERM;
	}
	pidfd = peer_pidfd(fd, cred.pid);
	if (pidfd < 0) {
		snprintf(why, len, "pid %d: %s", (int)cred.pid, strerror(-pidfd));
		return pidfd;
	}
	ret = peer_ns_check(&cred, why, len);
	/* Only now is it sure that /proc/PID was the peer's and not a newcomer's. */
	if (ret == 0 && (ret = pidfd_alive(pidfd)) < 0)
		snprintf(why, len, "pid %d exited before it could be checked", (int)cred.pid);
	close(pidfd);
	return ret;
}

unsigned int peer_nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > INT_MAX ? INT_MAX : (unsigned int)rl.rlim_cur;
}

unsigned int peer_fd_reserve(unsigned int nofile)
{
	return nofile / 4 > 64 ? nofile / 4 : 64;
}

int peer_ns_id(pid_t pid, int pidfd, const char *kind, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	char who[16];
	int ret;

	snprintf(who, sizeof(who), "%d", (int)pid);
	ret = ns_stat(who, kind, &st);
	/* Alive after the lookup: /proc/PID was this process, not a newcomer with its pid. */
	if (ret == 0)
		ret = pidfd_alive(pidfd);
	if (ret == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	return ret;
}

/* Whether the user namespace open as fd is (dev, ino) or below it: 1, 0, -errno; closes fd. */
static int userns_below(int fd, uint64_t dev, uint64_t ino)
{
	struct stat st;
	int depth, parent, ret = 0;

	/* Linux nests user namespaces 32 deep at most. */
	for (depth = 0; depth <= 33; depth++) {
		if (fstat(fd, &st) < 0) {
			ret = -errno;
			break;
		}
		if (st.st_dev == dev && st.st_ino == ino) {
			ret = 1;
			break;
		}
		/* EPERM: no parent we can see (the top, or outside our own namespace). */
		parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0) {
			ret = errno == EPERM ? 0 : -errno;
			break;
		}
		close(fd);
		fd = parent;
	}
	close(fd);
	return ret;
}

int peer_userns_within(pid_t pid, int pidfd, uint64_t dev, uint64_t ino)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = userns_below(fd, dev, ino);
	/* Alive after the open: the namespace was this process's, not a newcomer's. */
	if (ret >= 0 && pidfd_alive(pidfd) < 0)
		ret = -ESRCH;
	return ret;
}
