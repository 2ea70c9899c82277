/* SPDX-License-Identifier: MIT */
/*
 * pvio-exec.c - pvio exec: run a command inside a domain pvio create started, with exactly the
 * confinement of its first process (launch/embed.h embed_exec), in the foreground.
 *
 * What the new process needs of the domain is held by the domain's init: its namespaces (its
 * /proc directory), its token and its /dev/fuse descriptors (kept open by the init; taken here
 * with pidfd_getfd, which only dom0 may do: the init runs as the domain's uid, not dumpable to
 * anyone but root, or the caller's own uid when not root).  The init is named by the pid and
 * start time pvio create recorded, checked against the /proc directory once it is open, so that
 * a reused pid is never joined.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/pvio/pvio.h"
#include "launch/cgroup.h"
#include "launch/embed.h"
#include "launch/sandbox.h"
#include "tools/pvio/exec-tty.h"

/* What exec takes of the domain. */
struct exec_domain {
	int nsdir;		     /* the init's /proc directory, or -1 */
	int pidfd;		     /* the init's pidfd, or -1 */
	int token;		     /* a copy of the domain's token, or -1 */
	int fuse[SANDBOX_FUSE_MAX];  /* copies of its /dev/fuse descriptors */
	unsigned int n_fuse;	     /* how many */
	bool shared;		     /* a --shared domain: its init is in our namespaces */
	char cgroup[64];	     /* its cgroups' name (those that exist are entered) */
	char xs_sock[PATH_MAX + 48]; /* its xenstored socket, on the host (shared) */
};

static void exec_domain_close(struct exec_domain *x)
{
	if (x->nsdir >= 0)
		close(x->nsdir);
	if (x->pidfd >= 0)
		close(x->pidfd);
	if (x->token >= 0)
		close(x->token);
	for (unsigned int i = 0; i < x->n_fuse; i++)
		close(x->fuse[i]);
}

/* The init's namespaces are ours: a --shared domain's. */
static bool exec_shared(int nsdir)
{
	struct stat self, init;

	return stat("/proc/self/ns/user", &self) == 0 && fstatat(nsdir, "ns/user", &init, 0) == 0 &&
	       self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

/* A copy of the init's descriptor fd: -errno if it is not one of the kind want (S_IFMT). */
static int exec_getfd(int pidfd, int fd, mode_t want)
{
	struct stat st;
	int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	if (copy < 0)
		return -errno;
	if (fstat(copy, &st) < 0 || (st.st_mode & S_IFMT) != want) {
		close(copy);
		return -EBADF;
	}
	return copy;
}

/*
 * The init's /dev/fuse descriptors by trying each of its low descriptors: a normal user may take
 * them (pidfd_getfd) but not list its /proc/PID/fd, a directory of the domain's uid.  The init
 * keeps only stdio, the token and those (launch/sandbox.c), all below EXEC_FD_SCAN.
 */
#define EXEC_FD_SCAN 64
static int exec_fuse_scan(struct exec_domain *x)
{
	struct stat st;

	for (int fd = 0; fd < EXEC_FD_SCAN && x->n_fuse < SANDBOX_FUSE_MAX; fd++) {
		int copy = (int)syscall(SYS_pidfd_getfd, x->pidfd, fd, 0);

		if (copy < 0)
			continue;
		if (fstat(copy, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(10, 229))
			x->fuse[x->n_fuse++] = copy;
		else
			close(copy);
	}
	return 0;
}

/* The /dev/fuse descriptors the init keeps (pvio create --fuse). */
static int exec_fuse(struct exec_domain *x, pid_t init)
{
	int fds[SANDBOX_FUSE_MAX], n = sandbox_fuse_fds(init, fds, SANDBOX_FUSE_MAX);

	if (n == -EACCES && geteuid() != 0)
		return exec_fuse_scan(x);

	for (int i = 0; i < n; i++) {
		int fd = exec_getfd(x->pidfd, fds[i], S_IFCHR);

		if (fd < 0)
			return fd;
		x->fuse[x->n_fuse++] = fd;
	}
	return n < 0 ? n : 0;
}

/*
 * Take hold of the domain's init: its /proc directory first, its start time checked through
 * it, then a pidfd, valid because the directory still is afterwards.  0, or 1 after a message.
 */
static int exec_domain_open(const struct pvio_env *env, domid_t domid, const char *name,
			    struct exec_domain *x)
{
	unsigned long long start;
	char path[32];
	int tokfd, ret;
	pid_t init;

	if (pvio_domain_init(env, domid, &init, &start, &tokfd) < 0 || tokfd < 0)
		return pvio_fail("%s: not started by pvio create: no init to join", name);
	snprintf(path, sizeof(path), "/proc/%d", (int)init);
	x->nsdir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x->nsdir < 0 || pvio_proc_start_at(x->nsdir) != start)
		return pvio_fail("%s: its init is gone (the domain is ending)", name);
	x->pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	if (x->pidfd < 0 || pvio_proc_start_at(x->nsdir) != start)
		return pvio_fail("%s: its init is gone (the domain is ending)", name);
	x->token = exec_getfd(x->pidfd, tokfd, S_IFSOCK);
	if (x->token < 0)
		return pvio_fail("%s: cannot take its token from its init: %s", name,
				 strerror(-x->token));
	ret = exec_fuse(x, init);
	if (ret < 0)
		return pvio_err(name, ret);
	x->shared = exec_shared(x->nsdir);
	pvio_domain_xs_socket(env, domid, x->xs_sock, sizeof(x->xs_sock));
	if (cgroup_name(env->rundir, domid, x->cgroup, sizeof(x->cgroup)) < 0)
		x->cgroup[0] = '\0';
	return 0;
}

/* $PVIO_FUSE_FDS for the child: the copies' numbers, or unset. */
static int exec_fuse_env(const struct exec_domain *x)
{
	char env[SANDBOX_FUSE_MAX * 12] = "";
	size_t len = 0;

	if (!x->n_fuse)
		return unsetenv(SANDBOX_FUSE_ENV) < 0 ? -errno : 0;
	for (unsigned int i = 0; i < x->n_fuse; i++)
		len += (size_t)snprintf(env + len, sizeof(env) - len, "%s%d", i ? " " : "",
					x->fuse[i]);
	return setenv(SANDBOX_FUSE_ENV, env, 1) < 0 ? -errno : 0;
}

static pid_t exec_child;

static void exec_forward(int sig)
{
	kill(exec_child, sig);
}

/* Pass on to the child the signals a terminal sends. */
static void exec_signals(pid_t child)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = exec_forward };

	exec_child = child;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Wait for the child: its exit status as ours. */
static int exec_wait(pid_t child)
{
	int status;

	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return pvio_err("wait", -errno);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int exec_run(const struct pvio_env *env, const char *name, char *const *argv)
{
	struct exec_domain x = { .nsdir = -1, .pidfd = -1, .token = -1 };
	/* A session of its own always: the caller's controlling terminal is the admin's. */
	struct embed_exec_opts o = { .keep_stdin = true, .new_session = true, .ctty = true };
	struct exec_tty tty;
	domid_t domid;
	pid_t child;
	int ret;

	/* dom0 only: the lookup goes through pvio-hv's main socket. */
	if (pvio_domain_lookup(env, name, &domid))
		return 1;
	if (domid == 0)
		return pvio_fail("%s: exec runs in a domain pvio create started, not dom0", name);
	ret = exec_domain_open(env, domid, name, &x);
	if (ret == 0 && (ret = exec_fuse_env(&x)) < 0)
		ret = pvio_err(SANDBOX_FUSE_ENV, ret);
	if (ret) {
		exec_domain_close(&x);
		return ret;
	}
	o.nsdir = x.shared ? -1 : x.nsdir;
	o.token = x.token;
	o.xs_path = x.shared ? x.xs_sock : SANDBOX_XS_SOCKET;
	o.cgroup = x.cgroup[0] ? x.cgroup : NULL;
	o.fds = x.fuse;
	o.n_fds = x.n_fuse;
	ret = exec_tty_open(&tty);
	if (ret < 0) {
		exec_domain_close(&x);
		return pvio_err("pty", ret);
	}
	o.stdio = tty.stdio;
	ret = embed_exec(&o, argv, &child);
	exec_domain_close(&x);
	if (ret < 0) {
		exec_tty_close(&tty);
		return pvio_err(argv[0], ret == -ESRCH ? -ESRCH : ret);
	}
	exec_signals(child);
	ret = exec_tty_relay(&tty, child);
	exec_tty_close(&tty);
	if (ret < 0)
		pvio_err("pty relay", ret);
	return exec_wait(child);
}

static const char exec_usage[] =
    "usage: pvio exec NAME|DOMID [--] CMD [ARG...]\n"
    "Run CMD inside the running domain pvio create started, confined as its first process\n"
    "(namespaces, uid, no new privileges, seccomp filter, cgroups) with the domain's token and\n"
    "xenstore socket, in the foreground and a session of its own: stdin, stdout and stderr are\n"
    "pvio's, but a terminal, for which CMD gets a pty pvio relays; pvio exits as CMD did.\n"
    "CMD ends with the domain.\n";

int pvio_cmd_exec(int argc, char **argv)
{
	struct pvio_env env;
	int opt, first;

	/* '+': options stop at NAME, so that CMD's own options stay CMD's. */
	while ((opt = pvio_getopt(argc, argv, "+h", NULL, exec_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	first = optind + 1;
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	if (first >= argc) {
		fputs(exec_usage, stderr);
		return 2;
	}
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT))
		return 1;
	return exec_run(&env, argv[optind], argv + first);
}
