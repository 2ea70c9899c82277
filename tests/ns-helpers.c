/* SPDX-License-Identifier: MIT */
/*
 * ns-helpers.c - children in namespaces of their own (ns-helpers.h).  The
 * child unshares, the parent writes its id maps (as root it may map any
 * host id; the child could only map its own), then the child goes on.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/ns-helpers.h"

int t_die_with_parent(void)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -1;
	/* The parent may have died before the call: then nobody will send the signal. */
	return getppid() == parent && parent != 1 ? 0 : -1;
}

/* Write text to /proc/PID/name: 0 or -errno. */
static int proc_write(pid_t pid, const char *name, const char *text)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int maps_write(pid_t pid, uid_t uid, gid_t gid)
{
	char map[64];
	int ret;

	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)uid);
	ret = proc_write(pid, "uid_map", map);
	if (ret == 0)
		ret = proc_write(pid, "setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)gid);
	if (ret == 0)
		ret = proc_write(pid, "gid_map", map);
	return ret;
}

/* In the child: unshare, tell the parent, wait for the maps, become root inside. */
static int child_enter(int flags, int ready, int go)
{
	char c = 0;

	if (unshare(flags) < 0) {
		printf("SKIP: unshare: %s\n", strerror(errno));
		return T_SKIP;
	}
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1 || c != 1)
		return T_FAIL;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		fprintf(stderr, "FAIL: setresuid in the new namespace: %s\n", strerror(errno));
		return T_FAIL;
	}
	/* After the credentials change, which clears the parent-death signal. */
	return t_die_with_parent() == 0 ? T_PASS : T_FAIL;
}

/* A new pid namespace takes effect for children only: run fn in one. */
static int child_run(int flags, int (*fn)(void *), void *arg)
{
	pid_t pid;

	if (!(flags & CLONE_NEWPID))
		return fn(arg);
	pid = fork();
	if (pid == 0)
		_exit(t_die_with_parent() == 0 ? fn(arg) : T_FAIL);
	return pid < 0 ? T_FAIL : t_wait(pid);
}

int t_ns_fork(int flags, uid_t host_uid, gid_t host_gid, int (*fn)(void *), void *arg, pid_t *pidp)
{
	int ready[2], go[2], ret;
	bool entered = false;
	char c = 1;
	pid_t pid;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		ret = t_die_with_parent() == 0 ? child_enter(flags, ready[1], go[0]) : T_FAIL;
		_exit(ret == T_PASS ? child_run(flags, fn, arg) : ret);
	}
	close(ready[1]);
	close(go[0]);
	ret = pid < 0 ? -errno : 0;
	/* No byte: the child could not unshare and exits with T_SKIP. */
	if (ret == 0)
		entered = read(ready[0], &c, 1) == 1;
	if (entered && (flags & CLONE_NEWUSER))
		ret = maps_write(pid, host_uid, host_gid);
	c = ret == 0;
	if (entered && write(go[1], &c, 1) < 0)
		ret = -errno;
	close(ready[0]);
	close(go[1]);
	if (pid > 0)
		*pidp = pid;
	return ret;
}

int t_ns_run(int flags, uid_t uid, int (*fn)(void *), void *what)
{
	pid_t pid;
	int ret = t_ns_fork(flags, uid, uid, fn, what, &pid);

	if (ret < 0) {
		fprintf(stderr, "FAIL: %s: t_ns_fork: %s\n", (const char *)what, strerror(-ret));
		return T_FAIL;
	}
	ret = t_wait(pid);
	if (ret != T_PASS && ret != T_SKIP)
		fprintf(stderr, "FAIL: %s: child status %d\n", (const char *)what, ret);
	return ret;
}

int t_socket_open_to_all(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	return chmod(dirname(dir), 0755) == 0 && chmod(path, 0666) == 0 ? 0 : -errno;
}

int t_ns_not_dom0(int (*try)(void *what))
{
	static const struct {
		int flags;	  /* the namespaces */
		bool other;	  /* mapped to T_NS_OTHER_ID rather than our uid */
		const char *what; /* for messages */
	} places[] = {
		{ CLONE_NEWUSER, false, "root of a user namespace mapped to our uid" },
		{ CLONE_NEWUSER, true, "root of a user namespace as another uid" },
		{ CLONE_NEWUSER | CLONE_NEWPID, false, "in user and pid namespaces" },
		{ CLONE_NEWPID, false, "in a pid namespace of its own" },
	};
	unsigned int i;
	int ret;

	if (geteuid() != 0) {
		printf("SKIP: needs root to map another host uid\n");
		return T_SKIP;
	}
	for (i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		ret = t_ns_run(places[i].flags, places[i].other ? T_NS_OTHER_ID : geteuid(), try,
			       (void *)places[i].what);
		if (ret != T_PASS)
			return ret;
	}
	return T_PASS;
}
