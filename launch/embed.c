/* SPDX-License-Identifier: MIT */
/*
 * embed.c - the embedded launcher: a private pvio-hv and a pvio-xenstored that follows it, the
 * domains created through them, and the processes run inside those domains.
 *
 * Every child is started the same way (embed_child_start): fork, set the child up, then exec or
 * run a function; a failure of the set-up or of the exec comes back to the parent through a
 * close-on-exec pipe as its errno, so that a missing program is -ENOENT rather than a child
 * that exits 127.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

#include <xenstore.h>

#include "hv/simctl.h"
#include "launch/cgroup.h"
#include "launch/embed.h"
#include "launch/sandbox.h"
#include "launch/teardown.h"

#define EMBED_PREFIX   "embed"
#define HV_NAME	       "pvio-hv"
#define XS_NAME	       "pvio-xenstored"
#define REAPER_NAME    "pvio-reaper"
#define EMBED_READY_MS 10000 /* how long a daemon gets to answer */
#define EMBED_STOP_MS  5000  /* how long a daemon gets to exit on SIGTERM */
#define EMBED_POLL_MS  10    /* polling step of both waits */
#define EMBED_XS_ENV   "XENSTORED_PATH"

/* One of the two daemons. */
struct embed_daemon {
	const char *name;    /* HV_NAME or XS_NAME */
	int sock_type;	     /* SOCK_SEQPACKET (pvio-hv) or SOCK_STREAM (xenstored) */
	char sock[PATH_MAX]; /* its dom0 socket */
	pid_t pid;	     /* the daemon, 0 when not running or reaped */
	int status;	     /* its wait status, once reaped */
};

/* A domain this embed created, and the token that keeps it alive. */
struct embed_domain {
	domid_t domid;	 /* its id */
	int token;	 /* its token (close-on-exec), or -1 */
	pid_t init;	 /* its init (launch/sandbox.h), 0 once reaped or when not isolated */
	int pidfd;	 /* the init's /proc directory (sandbox_start's nsdir), or -1 */
	char cgroup[64]; /* its cgroups' name (launch/cgroup.h), or "" when not limited */
};

struct embed {
	char dir[PATH_MAX];	      /* the runtime directory */
	bool own_dir;		      /* we created dir: embed_stop removes it */
	char bindir[PATH_MAX];	      /* where the daemons are; "": $PATH */
	bool verbose;		      /* -v to the daemons */
	bool die_with_parent;	      /* PR_SET_PDEATHSIG on every child */
	bool detach;		      /* daemons in their own session, output to logs */
	uid_t uid_base;		      /* first host uid of the domains (launch/sandbox.h) */
	bool same_uid;		      /* a normal user's domains may share its uid (embed.h) */
	struct pvio_log *log;	      /* where errors go */
	pid_t owner;		      /* the process that called embed_start */
	struct embed_daemon hv;	      /* pvio-hv */
	struct embed_daemon xs;	      /* pvio-xenstored */
	struct embed_daemon reaper;   /* the reaper (teardown_reap): a forked child, no socket */
	int death_fd;		      /* pvio-hv's death stream, for the reaper; -1 once passed */
	struct embed_domain *domains; /* domains created here */
	size_t n_domains;	      /* how many are in use */
	size_t cap_domains;	      /* how many are allocated */
};

/* What a child does between fork and exec (or fn). */
struct embed_child {
	const char *path;     /* program for execv, or NULL for execvp(argv[0]) */
	char *const *argv;    /* its arguments; NULL: run fn */
	int (*fn)(void *arg); /* the function to _exit() with */
	void *arg;	      /* its argument */
	int token;	      /* a domain token to enter, or -1 */
	int pidfd;	      /* the domain's init to join (launch/sandbox.h), or -1 */
	bool in_pidns;	      /* forked into its pid namespace already (embed_child_pidns) */
	int parent_pidfd;     /* with in_pidns and die_with_parent: the caller's /proc directory
				 (sandbox_self_dir), else SANDBOX_NO_PARENT */
	const char *xs_path;  /* $XENSTORED_PATH for the child, or NULL */
	const char *out;      /* file for stdout and stderr (appended), or NULL: inherit */
	bool new_session;     /* setsid() */
	const char *cgroup;   /* the domain's cgroups, entered before anything else, or NULL */
	const int *fds;	      /* more descriptors kept across exec, or NULL */
	unsigned int n_fds;   /* how many */
	bool keep_stdin;      /* stdin inherited rather than /dev/null */
	const int *stdio;     /* 3 fds for its stdin, stdout, stderr (-1: inherited), or NULL */
	bool ctty;	      /* after setsid: stdio's first terminal is its controlling one */
};

static void embed_msleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int embed_err(struct embed *e, int err, const char *what)
{
	pvio_log(e->log, PVIO_LOG_ERROR, EMBED_PREFIX, "%s: %s", what, strerror(-err));
	return err;
}

/* "exit status N" or "killed by signal N" for a wait status. */
static void embed_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

/* In the child: close the tokens of the embed's domains other than keep. */
static void embed_child_close_tokens(struct embed *e, int keep)
{
	size_t i;

	for (i = 0; i < e->n_domains; i++) {
		if (e->domains[i].token >= 0 && e->domains[i].token != keep)
			close(e->domains[i].token);
		if (e->domains[i].pidfd >= 0)
			close(e->domains[i].pidfd);
	}
}

/*
 * In the child: stdio[i] (when given) as fd i, and with ctty the first terminal among them as
 * the controlling terminal of the session the child has just made.
 */
static int embed_child_fds(const int *stdio, bool ctty)
{
	for (int i = 0; stdio && i < 3; i++) {
		if (stdio[i] >= 0 && stdio[i] != i && dup2(stdio[i], i) < 0)
			return -errno;
	}
	for (int i = 0; ctty && i < 3; i++) {
		if (isatty(i))
			return ioctl(i, TIOCSCTTY, 0) < 0 ? -errno : 0;
	}
	return 0;
}

/* In the child: stdin from /dev/null (unless kept), stdout and stderr to out if given. */
static int embed_child_stdio(const char *out, bool keep_stdin)
{
	int fd = keep_stdin ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (!keep_stdin && (fd < 0 || dup2(fd, STDIN_FILENO) < 0))
		return -errno;
	if (fd >= 0)
		close(fd);
	if (!out)
		return 0;
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -errno;
	close(fd);
	return 0;
}

/* In the child: everything up to the exec.  0 or a negative errno. */
static int embed_child_setup(struct embed *e, const struct embed_child *c, pid_t parent)
{
	int ret;

	/* A domain's process was checked by embed_child_enter: its parent is not the caller. */
	if (e->die_with_parent && !c->new_session && c->pidfd < 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			return -errno;
		if (getppid() != parent)
			return -ESRCH;
	}
	if (c->new_session && setsid() < 0)
		return -errno;
	signal(SIGPIPE, SIG_DFL);
	ret = embed_child_stdio(c->out, c->keep_stdin);
	if (ret < 0)
		return ret;
	ret = embed_child_fds(c->stdio, c->new_session && c->ctty);
	if (ret < 0)
		return ret;
	embed_child_close_tokens(e, c->token);
	/*
	 * A program run in a domain gets stdio and its token, nothing else of dom0's: an inherited
	 * dom0 xenstore or pvio-hv connection would give the domain dom0's rights.  A forked
	 * function keeps the caller's fds (tests hand it pipes); hvctl_enter_domain below clears
	 * close-on-exec on the token again.
	 */
	if (c->argv && close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		return -errno;
	for (unsigned int i = 0; i < c->n_fds; i++) {
		if (fcntl(c->fds[i], F_SETFD, 0) < 0)
			return -errno;
	}
	if (c->token >= 0) {
		ret = hvctl_enter_domain(c->token, e->hv.sock);
		if (ret < 0)
			return ret;
	} else {
		unsetenv(HVSIM_FD_ENV);
	}
	if (c->xs_path && setenv(EMBED_XS_ENV, c->xs_path, 1) < 0)
		return -errno;
	return 0;
}

/* The child the intermediate forwards signals to. */
static pid_t embed_forward_to;

static void embed_forward_sig(int sig)
{
	kill(embed_forward_to, sig);
}

/*
 * The intermediate between the caller and a domain's process: the caller waits on it and kills
 * it as it would the process itself.  It forwards the catchable signals, dies with SIGKILL's
 * effect passed on by the child's PR_SET_PDEATHSIG, and exits as the child did.
 */
static __attribute__((noreturn)) void embed_child_forward(pid_t child)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = embed_forward_sig };
	sigset_t none;
	int status, sig;
	size_t i;

	close_range(3, ~0u, 0);
	embed_forward_to = child;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(127);
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

/*
 * Join the domain whose init is c->pidfd: its pid namespace takes effect only for a child, so
 * fork once more; the intermediate stays behind (embed_child_forward) and the child goes on.
 * Returns in the child only.
 */
static int embed_child_enter(struct embed *e, const struct embed_child *c, pid_t parent)
{
	pid_t child;
	int ret, pfd;

	if (c->in_pidns) {
		/* The caller is outside the namespace: its pidfd, not getppid(), tells its death.
		 */
		ret = sandbox_join(c->pidfd, c->parent_pidfd, false);
		if (c->parent_pidfd >= 0)
			close(c->parent_pidfd);
		return ret;
	}
	if (e->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			return -errno;
		if (getppid() != parent)
			return -ESRCH;
	}
	/*
	 * Reached when the caller may not join the pid namespace itself (a normal user): inside
	 * the domain's user namespace, its owner may.
	 */
	ret = sandbox_join_pid(c->pidfd, true);
	if (ret < 0)
		return ret;
	/* The intermediate always: the child must not outlive the one its caller waits on. */
	pfd = sandbox_self_dir();
	if (pfd < 0)
		return pfd;
	child = fork();
	if (child < 0)
		return -errno;
	if (child > 0)
		embed_child_forward(child);
	ret = sandbox_join(c->pidfd, pfd, true);
	if (pfd >= 0)
		close(pfd);
	return ret;
}

static __attribute__((noreturn)) void embed_child_run(struct embed *e, const struct embed_child *c,
						      pid_t parent, int report)
{
	/* First: what this process forks, on its way into the domain, is counted in it. */
	int err = c->cgroup ? -cgroup_attach(c->cgroup, 0) : 0;
	bool root = geteuid() == 0;

	if (err == 0 && c->pidfd >= 0)
		err = -embed_child_enter(e, c, parent);

	if (err == 0)
		err = -embed_child_setup(e, c, parent);

	/*
	 * A function never execs, which would make it dumpable again: a normal user's pvio-hv, not
	 * privileged over the host, could not read its /proc/PID/ns/user and would refuse its
	 * session.  Its memory, a copy of the caller's, is then open to its domain's uid.
	 */
	if (err == 0 && !c->argv && c->pidfd >= 0 && !root &&
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		err = errno;

	if (err == 0 && !c->argv) {
		close(report);
		_exit(c->fn(c->arg));
	}
	if (err == 0) {
		if (c->path)
			execv(c->path, c->argv);
		else
			execvp(c->argv[0], c->argv);
		err = errno;
	}
	if (write(report, &err, sizeof(err)) < 0) {
		/* The parent then sees EOF and the child exit 127. */
	}
	_exit(127);
}

/* Fork a child as c says; *pid gets it.  A set-up or exec failure is returned as its errno. */
/*
 * Point this thread's next child into the pid namespace of the domain c enters: then the caller's
 * child is the domain's process itself, which it waits on and signals directly.  *back gets the
 * caller's own namespace to return to, or -1 when that is refused (a normal user lacks
 * CAP_SYS_ADMIN in its own namespace): the child then goes through an intermediate.
 */
static void embed_child_pidns(const struct embed_child *c, int *back)
{
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	*back = -1;
	if (c->pidfd < 0 || geteuid() != 0)
		return;
	*back = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (*back >= 0 && sandbox_join_pid(c->pidfd, false) < 0) {
		close(*back);
		*back = -1;
	}
	/* The join made the caller undumpable, for the child's sake only. */
	if (dumpable >= 0)
		prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
}

static int embed_child_start(struct embed *e, const struct embed_child *c, pid_t *pid)
{
	pid_t parent = getpid(), child;
	struct embed_child cc = *c;
	int report[2], err = 0, back;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	embed_child_pidns(c, &back);
	cc.in_pidns = back >= 0;
	cc.parent_pidfd = SANDBOX_NO_PARENT;
	if (cc.in_pidns && e->die_with_parent)
		cc.parent_pidfd = sandbox_self_dir(); /* on failure (-errno), the join fails */
	child = fork();
	if (child == 0)
		embed_child_run(e, &cc, parent, report[1]);
	if (cc.parent_pidfd >= 0)
		close(cc.parent_pidfd);
	if (back >= 0) {
		/* Our own active namespace: always allowed, so this cannot fail for a valid fd. */
		setns(back, CLONE_NEWPID);
		close(back);
	}
	err = child < 0 ? errno : 0;
	close(report[1]);
	if (child > 0) {
		/* EOF: the exec happened, or the function runs. */
		do {
			n = read(report[0], &err, sizeof(err));
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(err))
			err = 0;
	}
	close(report[0]);
	if (err > 0 && child > 0)
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	if (err > 0)
		return -err;
	*pid = child;
	return 0;
}

/* path = dir/name if that is an executable. */
static bool embed_bin_try(char *path, size_t len, const char *dir, const char *name)
{
	int n = snprintf(path, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len && access(path, X_OK) == 0;
}

/* The daemon's program: bindir, $PVIO_BUILDDIR, beside us (or ../sbin), else "" for $PATH. */
static void embed_bin_find(const struct embed *e, const char *name, char *path, size_t len)
{
	const char *build = getenv("PVIO_BUILDDIR");
	char self[PATH_MAX];
	ssize_t n;

	if (e->bindir[0]) {
		if (snprintf(path, len, "%s/%s", e->bindir, name) >= (int)len)
			path[0] = '\0';
		return;
	}
	if (build && *build && embed_bin_try(path, len, build, name))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if (embed_bin_try(path, len, self, name))
			return;
		if (strlen(self) + sizeof("/../sbin") < sizeof(self)) {
			strcat(self, "/../sbin");
			if (embed_bin_try(path, len, self, name))
				return;
		}
	}
	path[0] = '\0';
}

static bool embed_sock_answers(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) < (int)sizeof(sa.sun_path) &&
	     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Bounded: until the daemon accepts on its socket, exits, or EMBED_READY_MS pass. */
static int embed_daemon_wait(struct embed *e, struct embed_daemon *d)
{
	char how[64];
	unsigned int waited;

	for (waited = 0; waited < EMBED_READY_MS; waited += EMBED_POLL_MS) {
		if (embed_sock_answers(d->sock, d->sock_type))
			return 0;
		if (waitpid(d->pid, &d->status, WNOHANG) == d->pid) {
			d->pid = 0;
			embed_status_str(d->status, how, sizeof(how));
			pvio_log(e->log, PVIO_LOG_ERROR, EMBED_PREFIX,
				 "%s exited (%s) before answering on %s", d->name, how, d->sock);
			return -ECHILD;
		}
		embed_msleep(EMBED_POLL_MS);
	}
	pvio_log(e->log, PVIO_LOG_ERROR, EMBED_PREFIX, "%s did not answer on %s within %u ms",
		 d->name, d->sock, EMBED_READY_MS);
	return -ETIMEDOUT;
}

/* Start one daemon with its arguments after the program name, and wait until it answers. */
static int embed_daemon_start(struct embed *e, struct embed_daemon *d, const char **args)
{
	char bin[PATH_MAX], log[PATH_MAX + 16], what[PATH_MAX + 32];
	const char *argv[12] = { d->name };
	struct embed_child c = { .argv = (char *const *)argv, .token = -1, .pidfd = -1 };
	unsigned int n = 1;
	int ret;

	while (*args && n < 10)
		argv[n++] = *args++;
	if (e->verbose)
		argv[n++] = "-v";
	embed_bin_find(e, d->name, bin, sizeof(bin));
	c.path = bin[0] ? bin : NULL;
	c.new_session = e->detach;
	if (e->detach) {
		snprintf(log, sizeof(log), "%s/%s.log", e->dir, d->name);
		c.out = log;
	}
	ret = embed_child_start(e, &c, &d->pid);
	if (ret < 0) {
		snprintf(what, sizeof(what), "%s", bin[0] ? bin : d->name);
		d->pid = 0;
		return embed_err(e, ret, what);
	}
	return embed_daemon_wait(e, d);
}

static int embed_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* The runtime directory: opts->dir (created if missing), else a fresh one under $TMPDIR. */
static int embed_dir_make(struct embed *e, const char *dir)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (dir) {
		n = snprintf(e->dir, sizeof(e->dir), "%s", dir);
		if (n < 0 || (size_t)n >= sizeof(e->dir) - 64)
			return -ENAMETOOLONG;
		if (mkdir(e->dir, 0700) == 0)
			e->own_dir = true;
		else if (errno != EEXIST)
			return -errno;
		return 0;
	}
	n = snprintf(e->dir, sizeof(e->dir), "%s/pvio-embed-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(e->dir) - 64)
		return -ENAMETOOLONG;
	if (!mkdtemp(e->dir))
		return -errno;
	e->own_dir = true;
	return 0;
}

/*
 * The two sockets in the runtime directory; a domain's, <dir>/domain-<id>/socket, must fit a
 * sockaddr_un too.
 */
static int embed_sock_paths(struct embed *e)
{
	struct sockaddr_un sa;
	size_t max = sizeof(sa.sun_path) - sizeof("/domain-65535/socket");

	if (strlen(e->dir) >= max)
		return -ENAMETOOLONG;
	if (snprintf(e->hv.sock, sizeof(e->hv.sock), "%s/hv.sock", e->dir) < 0 ||
	    snprintf(e->xs.sock, sizeof(e->xs.sock), "%s/xenstored.sock", e->dir) < 0)
		return -EINVAL;
	return 0;
}

static int embed_export(struct embed *e)
{
	unsetenv(HVSIM_FD_ENV);
	if (setenv("PVIO_HV", "sim", 1) < 0 || setenv(HVSIM_SOCKET_ENV, e->hv.sock, 1) < 0 ||
	    setenv(EMBED_XS_ENV, e->xs.sock, 1) < 0)
		return -errno;
	return 0;
}

static struct embed *embed_alloc(const struct embed_opts *opts)
{
	struct embed *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->verbose = opts->verbose;
	e->die_with_parent = opts->die_with_parent;
	e->detach = opts->detach;
	e->uid_base = opts->uid_base;
	e->same_uid = opts->same_uid;
	e->log = opts->log ? opts->log : pvio_log_stderr(PVIO_LOG_WARN);
	e->owner = getpid();
	if (opts->bindir)
		snprintf(e->bindir, sizeof(e->bindir), "%s", opts->bindir);
	e->hv.name = HV_NAME;
	e->hv.sock_type = SOCK_SEQPACKET;
	e->xs.name = XS_NAME;
	e->xs.sock_type = SOCK_STREAM;
	e->reaper.name = REAPER_NAME;
	e->death_fd = -1;
	return e;
}

static struct xs_handle *embed_xs_open(struct embed *e);

/*
 * The reaper's body: it keeps only stdio and the death stream (no pipe of the caller's is held
 * open by it), and tears down the devices of every domain that dies until pvio-hv exits.
 */
static int embed_reaper_fn(void *arg)
{
	struct embed *e = arg;
	struct xs_handle *xs;

	prctl(PR_SET_NAME, REAPER_NAME);
	if (dup2(e->death_fd, 3) < 0 || close_range(4, ~0u, 0) < 0)
		return 1;
	xs = embed_xs_open(e);
	if (!xs) {
		embed_err(e, errno ? -errno : -EIO, e->xs.sock);
		return 1;
	}
	return teardown_reap(3, xs, e->dir, e->log) < 0;
}

/* Subscribe to pvio-hv's deaths here, so that none is missed, and fork the reaper. */
static int embed_reaper_start(struct embed *e)
{
	char log[PATH_MAX + 16];
	struct embed_child c = { .fn = embed_reaper_fn, .arg = e, .token = -1, .pidfd = -1 };
	int ret = hvctl_subscribe(e->hv.sock, &e->death_fd);

	if (ret < 0)
		return embed_err(e, ret, "pvio-hv: subscribe");
	c.new_session = e->detach;
	if (e->detach) {
		snprintf(log, sizeof(log), "%s/%s.log", e->dir, REAPER_NAME);
		c.out = log;
	}
	ret = embed_child_start(e, &c, &e->reaper.pid);
	close(e->death_fd);
	e->death_fd = -1;
	if (ret < 0) {
		e->reaper.pid = 0;
		return embed_err(e, ret, REAPER_NAME);
	}
	return 0;
}

int embed_start(struct embed **ep, const struct embed_opts *opts)
{
	static const struct embed_opts defaults;
	const char *hv_args[] = { "-s", NULL, NULL };
	const char *xs_args[] = { "-s", NULL, "--hv-socket", NULL, NULL };
	struct embed *e;
	int ret;

	*ep = NULL;
	e = embed_alloc(opts ? opts : &defaults);
	if (!e)
		return -ENOMEM;
	ret = embed_dir_make(e, opts ? opts->dir : NULL);
	if (ret < 0) {
		embed_err(e, ret, opts && opts->dir ? opts->dir : "runtime directory");
		free(e);
		return ret;
	}
	ret = embed_sock_paths(e);
	if (ret < 0) {
		embed_err(e, ret, e->dir);
		embed_stop(e);
		return ret;
	}
	hv_args[1] = e->hv.sock;
	xs_args[1] = e->xs.sock;
	xs_args[3] = e->hv.sock;
	ret = embed_daemon_start(e, &e->hv, hv_args);
	if (ret == 0)
		ret = embed_daemon_start(e, &e->xs, xs_args);
	if (ret == 0)
		ret = embed_reaper_start(e);
	if (ret == 0)
		ret = embed_export(e);
	if (ret < 0) {
		embed_stop(e);
		return ret;
	}
	*ep = e;
	return 0;
}

/* Close what the embed holds of a domain: its token and its init's pidfd. */
static void embed_domain_close(struct embed_domain *d)
{
	if (d->token >= 0)
		close(d->token);
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->token = -1;
	d->pidfd = -1;
}

/*
 * End every process of the domain: the kernel kills a pid namespace with its init.  The init is
 * not waited for: it finishes exiting only once every process of the namespace is reaped, and
 * those the caller started are the caller's children, which it reaps when it likes.  Reaped
 * here if already gone; else it stays a zombie until the caller exits.
 */
static void embed_domain_kill(struct embed_domain *d)
{
	if (d->init <= 0)
		return;
	kill(d->init, SIGKILL);
	waitpid(d->init, NULL, WNOHANG);
	d->init = 0;
}

/* Remove the domain's cgroups, once its processes are killed (the kernel frees them as they go). */
static void embed_domain_uncgroup(struct embed *e, struct embed_domain *d)
{
	int ret = d->cgroup[0] ? cgroup_remove(d->cgroup) : 0;

	if (ret < 0)
		embed_err(e, ret, d->cgroup);
	d->cgroup[0] = '\0';
}

/* SIGTERM, up to EMBED_STOP_MS, then SIGKILL; reap.  0 if it exited with status 0. */
static int embed_daemon_stop(struct embed *e, struct embed_daemon *d)
{
	unsigned int waited = 0;
	char how[64];
	pid_t got;

	if (d->pid <= 0)
		return d->status == 0 ? 0 : -ECHILD;
	kill(d->pid, SIGTERM);
	while ((got = waitpid(d->pid, &d->status, WNOHANG)) == 0 && waited < EMBED_STOP_MS) {
		embed_msleep(EMBED_POLL_MS);
		waited += EMBED_POLL_MS;
	}
	if (got == 0) {
		pvio_log(e->log, PVIO_LOG_WARN, EMBED_PREFIX,
			 "%s (pid %d) ignored SIGTERM; killing", d->name, (int)d->pid);
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, &d->status, 0) < 0 && errno == EINTR)
			;
	}
	d->pid = 0;
	if (WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0)
		return 0;
	embed_status_str(d->status, how, sizeof(how));
	pvio_log(e->log, PVIO_LOG_ERROR, EMBED_PREFIX, "%s: %s", d->name, how);
	return -ECHILD;
}

int embed_stop(struct embed *e)
{
	int ret = 0;
	size_t i;

	if (!e)
		return 0;
	for (i = 0; i < e->n_domains; i++) {
		if (getpid() == e->owner) {
			embed_domain_kill(&e->domains[i]);
			embed_domain_uncgroup(e, &e->domains[i]);
		}
		embed_domain_close(&e->domains[i]);
	}
	free(e->domains);
	if (getpid() == e->owner) {
		/* The reaper, then xenstored: both follow pvio-hv, and must not see it go. */
		if (embed_daemon_stop(e, &e->reaper) < 0)
			ret = -ECHILD;
		if (embed_daemon_stop(e, &e->xs) < 0)
			ret = -ECHILD;
		if (embed_daemon_stop(e, &e->hv) < 0)
			ret = -ECHILD;
		if (e->own_dir)
			nftw(e->dir, embed_rm, 8, FTW_DEPTH | FTW_PHYS);
	}
	free(e);
	return ret;
}

void embed_release(struct embed *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_domains; i++)
		embed_domain_close(&e->domains[i]);
	free(e->domains);
	free(e);
}

const char *embed_hv_socket(const struct embed *e)
{
	return e->hv.sock;
}

const char *embed_xs_socket(const struct embed *e)
{
	return e->xs.sock;
}

pid_t embed_hv_pid(const struct embed *e)
{
	return e->hv.pid;
}

pid_t embed_xs_pid(const struct embed *e)
{
	return e->xs.pid;
}

pid_t embed_reaper_pid(const struct embed *e)
{
	return e->reaper.pid;
}

const char *embed_dir(const struct embed *e)
{
	return e->dir;
}

/* xs_open() on dom0's socket, whatever $XENSTORED_PATH says now (it is put back). */
static struct xs_handle *embed_xs_open(struct embed *e)
{
	const char *cur = getenv(EMBED_XS_ENV);
	char *saved = cur ? strdup(cur) : NULL;
	struct xs_handle *xs = NULL;
	int err;

	if (cur && !saved) {
		errno = ENOMEM;
		return NULL;
	}
	if (setenv(EMBED_XS_ENV, e->xs.sock, 1) == 0)
		xs = xs_open(XS_OPEN_SOCKETONLY);
	err = errno;
	if (saved)
		setenv(EMBED_XS_ENV, saved, 1);
	else
		unsetenv(EMBED_XS_ENV);
	free(saved);
	errno = err;
	return xs;
}

static struct embed_domain *embed_domain_find(struct embed *e, domid_t domid)
{
	for (size_t i = 0; i < e->n_domains; i++) {
		if (e->domains[i].domid == domid)
			return &e->domains[i];
	}
	return NULL;
}

static int embed_domain_remember(struct embed *e, const struct embed_domain *dom)
{
	if (e->n_domains == e->cap_domains) {
		size_t cap = e->cap_domains ? 2 * e->cap_domains : 8;
		struct embed_domain *d = reallocarray(e->domains, cap, sizeof(*d));

		if (!d)
			return -ENOMEM;
		e->domains = d;
		e->cap_domains = cap;
	}
	e->domains[e->n_domains++] = *dom;
	return 0;
}

/* INTRODUCE domid to xenstored, and write its name as libxl does. */
static int embed_domain_introduce(struct embed *e, domid_t domid, const char *name)
{
	struct xs_handle *xs = embed_xs_open(e);
	char path[64];
	int ret = 0;

	if (!xs)
		return embed_err(e, errno ? -errno : -EIO, e->xs.sock);
	snprintf(path, sizeof(path), "/local/domain/%u/name", (unsigned int)domid);
	if (!xs_introduce_domain(xs, domid, 0, 0))
		ret = embed_err(e, -errno, "INTRODUCE");
	else if (!xs_write(xs, XBT_NULL, path, name, strlen(name)))
		ret = embed_err(e, -errno, path);
	xs_close(xs);
	return ret;
}

/* The directory of pvio's programs (pvio-hv's), which every domain sees read-only. */
static void embed_bindir(const struct embed *e, char *buf, size_t len)
{
	char *slash;

	embed_bin_find(e, HV_NAME, buf, len);
	slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	else
		buf[0] = '\0';
}

/* "ro:" and the directory pvio-hv in bindir really is in, if not bindir itself. */
static bool embed_realdir(const char *bindir, char *buf, size_t len)
{
	char path[PATH_MAX + 16], real[PATH_MAX];
	char *slash;

	snprintf(path, sizeof(path), "%s/%s", bindir, HV_NAME);
	if (!realpath(path, real) || !(slash = strrchr(real, '/')) || slash == real)
		return false;
	*slash = '\0';
	if (!strcmp(real, bindir) || (size_t)snprintf(buf, len, "ro:%s", real) >= len)
		return false;
	return true;
}

/* The domain's xenstored socket directory, given to the domain's uid so that it can connect. */
static int embed_domain_xs_dir(struct embed *e, domid_t domid, char *buf, size_t len)
{
	char sock[PATH_MAX];
	int ret = embed_domain_xs_socket(e, domid, sock, sizeof(sock));

	if (ret < 0)
		return ret;
	snprintf(buf, len, "%s", sock);
	*strrchr(buf, '/') = '\0';
	return sandbox_give_xs(sock, domid, e->uid_base);
}

/* A normal user's domain gets a uid of its own, or is refused unless same_uid (sandbox.h). */
static int embed_domain_ids(struct embed *e, domid_t domid)
{
	char why[160];
	int ret = sandbox_ids_check(domid, e->same_uid, why, sizeof(why));

	if (ret < 0)
		pvio_log(
		    e->log, PVIO_LOG_ERROR, EMBED_PREFIX,
		    "domain %u: no host uid of its own for a normal user's domain: %s "
		    "(same_uid runs it under yours, without isolation from your other domains)",
		    (unsigned int)domid, why);
	return ret;
}

/* Remove the domain's /dev/net/tun node, once it is dead (none: shared, or not root). */
static void embed_domain_untun(const struct embed *e, domid_t domid)
{
	char tun[PATH_MAX];

	sandbox_tun_path(e->dir, domid, tun, sizeof(tun));
	unlink(tun);
}

/* Start the domain's init (launch/sandbox.h), with the view o asks for. */
static int embed_domain_isolate(struct embed *e, struct embed_domain *d,
				const struct embed_domain_opts *o)
{
	char bindir[PATH_MAX], xs_dir[PATH_MAX], real[PATH_MAX + 3], tun[PATH_MAX], init[PATH_MAX];
	struct sandbox_opts so = {
		.domid = d->domid,
		.uid_base = e->uid_base,
		.xs_dir = xs_dir,
		.tun_node = o->no_tap ? NULL : tun,
		.die_with_parent = e->die_with_parent,
		.keep_fd = -1,
		.out_fd = -1,
	};
	const char **binds;
	size_t n = 0;
	int ret;

	embed_bindir(e, bindir, sizeof(bindir));
	so.bindir = bindir[0] ? bindir : NULL;
	sandbox_tun_path(e->dir, d->domid, tun, sizeof(tun));
	while (o->binds && o->binds[n])
		n++;
	binds = calloc(n + 2, sizeof(*binds));
	if (!binds)
		return embed_err(e, -ENOMEM, "domain namespaces");
	memcpy(binds, o->binds ? o->binds : binds, n * sizeof(*binds));
	/* Where the programs really are, when bindir holds links to them (a test's wrappers). */
	if (bindir[0] && embed_realdir(bindir, real, sizeof(real)))
		binds[n] = real;
	so.binds = binds;
	so.cgroup = d->cgroup[0] ? d->cgroup : NULL;
	so.same_uid = e->same_uid;
	embed_bin_find(e, SANDBOX_INIT_PROG, init, sizeof(init));
	so.init_prog = init[0] == '/' ? init : NULL;
	ret = embed_domain_ids(e, d->domid);
	if (ret < 0) {
		free(binds);
		return ret;
	}
	ret = embed_domain_xs_dir(e, d->domid, xs_dir, sizeof(xs_dir));
	if (ret == 0)
		ret = sandbox_start(&so, &d->init, &d->pidfd);
	free(binds);
	if (ret == -ENOEXEC && !so.init_prog)
		return embed_err(e, ret,
				 SANDBOX_INIT_PROG " not found beside the daemons: a normal user's "
						   "domain needs it");
	return ret < 0 ? embed_err(e, ret, "domain namespaces") : 0;
}

/* The domain's cgroups, when o asks for limits. */
static int embed_domain_limit(struct embed *e, struct embed_domain *d,
			      const struct embed_domain_opts *o)
{
	const struct cgroup_limits l = { .memory = o->memory, .pids = o->pids };
	char why[128];
	int ret;

	if (!cgroup_limited(&l))
		return 0;
	ret = cgroup_name(e->dir, d->domid, d->cgroup, sizeof(d->cgroup));
	if (ret == 0)
		ret = cgroup_create(d->cgroup, &l, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "cgroup name");
	if (ret < 0) {
		d->cgroup[0] = '\0';
		embed_err(e, ret, why);
	}
	return ret;
}

int embed_domain_create(struct embed *e, const char *name, domid_t *domid)
{
	static const struct embed_domain_opts defaults;

	return embed_domain_create_with(e, name, &defaults, domid);
}

int embed_domain_create_with(struct embed *e, const char *name, const struct embed_domain_opts *o,
			     domid_t *domid)
{
	struct embed_domain d = { .token = -1, .pidfd = -1 };
	struct hvctl *ctl;
	int ret;

	ret = hvctl_open(&ctl, e->hv.sock);
	if (ret < 0)
		return embed_err(e, ret, e->hv.sock);
	ret = hvctl_domain_create(ctl, name, 0, &d.domid, &d.token);
	if (ret < 0) {
		embed_err(e, ret, name);
		goto out_close;
	}
	ret = embed_domain_introduce(e, d.domid, name);
	if (ret == 0)
		ret = embed_domain_limit(e, &d, o);
	if (ret == 0 && !o->shared)
		ret = embed_domain_isolate(e, &d, o);
	if (ret == 0)
		ret = embed_domain_remember(e, &d);
	if (ret < 0) {
		hvctl_domain_destroy(ctl, d.domid);
		embed_domain_kill(&d);
		embed_domain_uncgroup(e, &d);
		embed_domain_untun(e, d.domid);
		embed_domain_close(&d);
		goto out_close;
	}
	*domid = d.domid;
out_close:
	hvctl_close(ctl);
	return ret;
}

int embed_domain_destroy(struct embed *e, domid_t domid)
{
	struct embed_domain *d = embed_domain_find(e, domid);
	struct hvctl *ctl;
	char what[32];
	int ret;

	/* Every process of the domain, including those that never had a session. */
	if (d)
		embed_domain_kill(d);
	ret = hvctl_open(&ctl, e->hv.sock);
	if (ret < 0)
		return embed_err(e, ret, e->hv.sock);
	ret = hvctl_domain_destroy(ctl, domid);
	hvctl_close(ctl);
	if (d) {
		embed_domain_uncgroup(e, d);
		embed_domain_untun(e, domid);
		embed_domain_close(d);
		*d = e->domains[--e->n_domains];
	}
	if (ret < 0) {
		snprintf(what, sizeof(what), "domain %u", (unsigned int)domid);
		embed_err(e, ret, what);
	}
	return ret;
}

int embed_domain_release(struct embed *e, domid_t domid)
{
	struct embed_domain *d = embed_domain_find(e, domid);

	if (!d || d->token < 0)
		return -ESRCH;
	/* The init stays, without a token: it ends with embed_domain_destroy or embed_stop. */
	close(d->token);
	d->token = -1;
	return 0;
}

int embed_domain_xs_socket(const struct embed *e, domid_t domid, char *buf, size_t len)
{
	const char *slash = strrchr(e->xs.sock, '/');
	int n = snprintf(buf, len, "%.*s/domain-%u/socket", (int)(slash - e->xs.sock), e->xs.sock,
			 (unsigned int)domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Start c inside domain domid. */
static int embed_domain_child(struct embed *e, domid_t domid, struct embed_child *c, pid_t *pid)
{
	struct embed_domain *d = embed_domain_find(e, domid);
	char xs_path[PATH_MAX];
	int ret;

	if (!d || d->token < 0)
		return -ESRCH;
	ret = embed_domain_xs_socket(e, domid, xs_path, sizeof(xs_path));
	if (ret < 0)
		return ret;
	c->token = d->token;
	c->pidfd = d->pidfd;
	c->cgroup = d->cgroup[0] ? d->cgroup : NULL;
	/* Inside its view, a domain finds its own socket at a fixed path. */
	c->xs_path = d->pidfd >= 0 ? SANDBOX_XS_SOCKET : xs_path;
	return embed_child_start(e, c, pid);
}

int embed_domain_spawn(struct embed *e, domid_t domid, char *const argv[], pid_t *pid)
{
	struct embed_child c = { .argv = argv, .pidfd = -1 };
	int ret;

	if (!argv || !argv[0])
		return -EINVAL;
	ret = embed_domain_child(e, domid, &c, pid);
	if (ret < 0)
		embed_err(e, ret, argv[0]);
	return ret;
}

int embed_domain_fork(struct embed *e, domid_t domid, int (*fn)(void *arg), void *arg, pid_t *pid)
{
	struct embed_child c = { .fn = fn, .arg = arg, .pidfd = -1 };
	int ret;

	if (!fn)
		return -EINVAL;
	ret = embed_domain_child(e, domid, &c, pid);
	if (ret < 0)
		embed_err(e, ret, "fork");
	return ret;
}

uid_t embed_domain_uid(const struct embed *e, domid_t domid)
{
	return sandbox_uid(domid, e->uid_base);
}

pid_t embed_domain_init(const struct embed *e, domid_t domid)
{
	for (size_t i = 0; i < e->n_domains; i++) {
		if (e->domains[i].domid == domid)
			return e->domains[i].init;
	}
	return 0;
}

int embed_exec(const struct embed_exec_opts *o, char *const argv[], pid_t *pid)
{
	static const struct embed_opts defaults;
	struct embed_child c = {
		.argv = argv,
		.token = o->token,
		.pidfd = o->nsdir,
		.xs_path = o->xs_path,
		.cgroup = o->cgroup,
		.fds = o->fds,
		.n_fds = o->n_fds,
		.keep_stdin = o->keep_stdin,
		.new_session = o->new_session,
		.stdio = o->stdio,
		.ctty = o->ctty,
	};
	/* An embed of no daemons and no domains: the child is started as embed_domain_spawn's. */
	struct embed *e;
	int ret;

	if (!argv || !argv[0] || o->token < 0)
		return -EINVAL;
	e = embed_alloc(&defaults);
	if (!e)
		return -ENOMEM;
	ret = embed_child_start(e, &c, pid);
	free(e);
	return ret;
}
