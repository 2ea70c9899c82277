/* SPDX-License-Identifier: MIT */
/*
 * ringbench-run.c - pvio-ringbench as the toolstack (dom0): a private pvio-hv
 * when no socket is given, the domains bench-front and bench-back, one child
 * process in each, and their reports.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "tools/ringbench/ringbench.h"

#define DAEMON "pvio-hv"
/* How long pvio-hv gets to start listening, and to exit once asked. */
#define DAEMON_WAIT_MS 5000
#define DAEMON_POLL_MS 10

enum {
	FRONT,
	BACK,
	NR_ROLES
};

static const char *const role_domain[NR_ROLES] = { "bench-front", "bench-back" };
static const char *const role_name[NR_ROLES] = { "front", "back" };

/* One bench domain and the process that runs in it. */
struct role {
	domid_t domid;	      /* its domain */
	int token;	      /* the domain's token, or -1 */
	int xs;		      /* its end of the socketpair to the other role, or -1 */
	int report[2];	      /* pipe: the child's report to dom0 */
	pid_t pid;	      /* the child, or 0 */
	bool reported;	      /* a whole report arrived */
	bool killed;	      /* we killed it after the other failed */
	struct rb_report rep; /* what it said */
};

/* dom0's state for one run of the pvio tests. */
struct run {
	const struct rb_params *p; /* parameters; p->socket is the daemon's */
	struct hvctl *ctl;	   /* dom0 session */
	struct role roles[NR_ROLES];
};

static void msleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* bin = dir/name, if that is an executable. */
static bool daemon_try(char *bin, size_t len, const char *dir, const char *name)
{
	int n = snprintf(bin, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len && access(bin, X_OK) == 0;
}

/* The daemon: next to this program, in ../sbin, $PVIO_HV_BIN, else on $PATH. */
static void daemon_find(char *bin, size_t len)
{
	char self[PATH_MAX];
	const char *env = getenv("PVIO_HV_BIN");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if (daemon_try(bin, len, self, DAEMON) ||
		    daemon_try(bin, len, self, "../sbin/" DAEMON))
			return;
	}
	snprintf(bin, len, "%s", env && *env ? env : DAEMON);
}

/* In the child: become the daemon; an exec failure goes back to dom0 as its errno. */
static void daemon_exec(const struct rb_daemon *d, int report)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), err;

	/* Its stdout must not land in the report; its errors still show. */
	if (null >= 0)
		dup2(null, STDOUT_FILENO);
	signal(SIGPIPE, SIG_DFL);
	execlp(d->bin, d->bin, "-s", d->sock, (char *)NULL);
	err = errno;
	if (write(report, &err, sizeof(err)) < 0) {
		/* dom0 then sees the daemon exit before it listens. */
	}
	_exit(127);
}

/* 0 once the exec happened (it closed the pipe), or the exec's negative errno. */
static int daemon_exec_status(int report)
{
	int err = 0;
	ssize_t n;

	do {
		n = read(report, &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(err) ? -err : 0;
}

static int daemon_spawn(struct rb_daemon *d)
{
	int report[2], ret;

	if (pipe2(report, O_CLOEXEC) < 0)
		return rb_err("pipe", -errno);
	fflush(NULL);
	d->pid = fork();
	if (d->pid == 0)
		daemon_exec(d, report[1]);
	ret = d->pid < 0 ? -errno : 0;
	close(report[1]);
	if (ret == 0)
		ret = daemon_exec_status(report[0]);
	close(report[0]);
	if (d->pid > 0 && ret < 0)
		waitpid(d->pid, NULL, 0);
	if (ret < 0) {
		ret = rb_err(d->pid < 0 ? "fork" : d->bin, ret);
		d->pid = 0;
	}
	return ret;
}

static bool daemon_listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Bounded: DAEMON_WAIT_MS for the socket to accept, or for the daemon to die. */
static int daemon_wait_ready(struct rb_daemon *d)
{
	unsigned int waited;

	for (waited = 0; waited < DAEMON_WAIT_MS; waited += DAEMON_POLL_MS) {
		if (daemon_listening(d->sock))
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			return -ECHILD;
		}
		msleep(DAEMON_POLL_MS);
	}
	return -ETIMEDOUT;
}

int rb_daemon_start(struct rb_daemon *d)
{
	int ret;

	snprintf(d->dir, sizeof(d->dir), "/tmp/pvio-ringbench.XXXXXX");
	if (!mkdtemp(d->dir)) {
		d->dir[0] = '\0';
		return rb_err("temporary directory", -errno);
	}
	snprintf(d->sock, sizeof(d->sock), "%s/hv.sock", d->dir);
	daemon_find(d->bin, sizeof(d->bin));
	ret = daemon_spawn(d);
	if (ret < 0)
		return ret;
	ret = daemon_wait_ready(d);
	if (ret == -ECHILD)
		fprintf(stderr, "%s: %s: exited before listening on %s\n", RB_PROG, d->bin,
			d->sock);
	else if (ret < 0)
		rb_err(d->sock, ret);
	return ret;
}

void rb_daemon_stop(struct rb_daemon *d)
{
	unsigned int waited = 0;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		while (waitpid(d->pid, NULL, WNOHANG) == 0 && waited < DAEMON_WAIT_MS) {
			msleep(DAEMON_POLL_MS);
			waited += DAEMON_POLL_MS;
		}
		if (waited >= DAEMON_WAIT_MS) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = 0;
	}
	if (d->dir[0]) {
		unlink(d->sock);
		rmdir(d->dir);
		d->dir[0] = '\0';
	}
}

static void role_init(struct role *r)
{
	memset(r, 0, sizeof(*r));
	r->token = r->xs = r->report[0] = r->report[1] = -1;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* dom0 keeps only the read end of each report pipe once the children run. */
static void role_close(struct role *r, bool keep_report)
{
	fd_close(&r->token);
	fd_close(&r->xs);
	fd_close(&r->report[1]);
	if (!keep_report)
		fd_close(&r->report[0]);
}

static int run_domains(struct run *run)
{
	int sv[2], i, ret;

	for (i = 0; i < NR_ROLES; i++) {
		struct role *r = &run->roles[i];

		ret = hvctl_domain_create(run->ctl, role_domain[i], RB_POOL_PAGES, &r->domid,
					  &r->token);
		if (ret < 0)
			return rb_err(role_domain[i], ret);
		if (pipe2(r->report, O_CLOEXEC) < 0)
			return rb_err("pipe", -errno);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return rb_err("socketpair", -errno);
	run->roles[FRONT].xs = sv[0];
	run->roles[BACK].xs = sv[1];
	return 0;
}

/* In a child: be role i's process.  Both domain ids are known before the fork. */
static int child_role(struct run *run, int i, struct rb_report *rep)
{
	struct role *me = &run->roles[i], *peer = &run->roles[!i];
	struct hv *hv;
	int ret;

	ret = hvctl_enter_domain(me->token, run->p->socket);
	if (ret < 0)
		return rb_err("enter the domain", ret);
	ret = hv_open(&hv, NULL);
	if (ret < 0)
		return rb_err("open a session with the hypervisor", ret);
	if (i == FRONT)
		ret = rb_front_run(hv, run->p, peer->domid, me->xs, &rep->result);
	else
		ret = rb_back_run(hv, peer->domid, me->xs);
	hv_close(hv);
	return ret;
}

static void __attribute__((noreturn)) child_main(struct run *run, int i)
{
	struct role *me = &run->roles[i];
	struct rb_report rep;
	int ret;

	memset(&rep, 0, sizeof(rep));
	rb_err_record();
	/* Nothing of dom0's, or of the other domain's, stays in this process. */
	role_close(&run->roles[!i], false);
	fd_close(&me->report[0]);
	hvctl_close(run->ctl);
	ret = child_role(run, i, &rep);
	rb_err_report(&rep);
	if (write(me->report[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		ret = -EPIPE;
	role_close(me, false);
	exit(ret < 0);
}

static int run_children(struct run *run)
{
	int i;

	fflush(NULL);
	for (i = 0; i < NR_ROLES; i++) {
		run->roles[i].pid = fork();
		if (run->roles[i].pid < 0) {
			run->roles[i].pid = 0;
			return rb_err("fork", -errno);
		}
		if (run->roles[i].pid == 0)
			child_main(run, i);
	}
	/* The children hold the tokens now: a domain dies with its process. */
	for (i = 0; i < NR_ROLES; i++)
		role_close(&run->roles[i], true);
	return 0;
}

/* Read role i's report, or its end-of-file; a failure stops the other role. */
static void collect_one(struct run *run, int i)
{
	struct role *r = &run->roles[i], *other = &run->roles[!i];
	ssize_t n;

	do {
		n = read(r->report[0], &r->rep, sizeof(r->rep));
	} while (n < 0 && errno == EINTR);
	r->reported = n == (ssize_t)sizeof(r->rep);
	fd_close(&r->report[0]);
	if ((!r->reported || r->rep.err) && other->report[0] >= 0 && other->pid > 0) {
		kill(other->pid, SIGKILL);
		other->killed = true;
	}
}

/* Wait for both reports; each child is bounded by RB_WAIT_MS per wait. */
static int collect_reports(struct run *run)
{
	struct pollfd pfd[NR_ROLES];
	int i, n;

	for (;;) {
		for (i = n = 0; i < NR_ROLES; i++) {
			pfd[i].fd = run->roles[i].report[0];
			pfd[i].events = POLLIN;
			n += pfd[i].fd >= 0;
		}
		if (n == 0)
			return 0;
		if (poll(pfd, NR_ROLES, -1) < 0 && errno != EINTR)
			return rb_err("poll", -errno);
		for (i = 0; i < NR_ROLES; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents)
				collect_one(run, i);
	}
}

/* Wait for every child; after a failure in dom0 itself, stop them first. */
static void run_reap(struct run *run, bool stop, int *status)
{
	int i;

	for (i = 0; i < NR_ROLES; i++) {
		status[i] = 0;
		if (run->roles[i].pid <= 0)
			continue;
		if (stop)
			kill(run->roles[i].pid, SIGKILL);
		while (waitpid(run->roles[i].pid, &status[i], 0) < 0 && errno == EINTR)
			;
		run->roles[i].pid = 0;
	}
}

/*
 * A failure of the role's own: a failure it reported, other than losing its
 * peer, or a crash that we did not cause.  (A role killed after the other
 * failed may still have reported first.)
 */
static bool role_failed_first(const struct role *r, int status)
{
	if (r->reported)
		return r->rep.err && r->rep.err != -ECONNRESET && r->rep.err != -EPIPE;
	return WIFSIGNALED(status) && !r->killed;
}

/* A report of success, and an exit that did not take it back. */
static bool role_ok(const struct role *r, int status)
{
	if (!r->reported || r->rep.err)
		return false;
	return r->killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Whether the role's state says anything: not a role we killed before it reported. */
static bool role_counts(const struct role *r)
{
	return r->reported || !r->killed;
}

static int role_complain(const struct role *r, int i, int status)
{
	char what[128];

	if (r->reported && r->rep.err) {
		snprintf(what, sizeof(what), "%s: %s", role_name[i], r->rep.what);
		return rb_err(what, r->rep.err);
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "%s: %s: %s\n", RB_PROG, role_domain[i],
			strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "%s: %s: exited with status %d%s\n", RB_PROG, role_domain[i],
			WEXITSTATUS(status), r->reported ? "" : " and no report");
	return -ECHILD;
}

/* One line for a failed run: the first real failure, else whatever went wrong. */
static int run_verdict(struct run *run, const int *status, struct rb_front_result *out)
{
	int i;

	for (i = 0; i < NR_ROLES; i++)
		if (role_failed_first(&run->roles[i], status[i]))
			return role_complain(&run->roles[i], i, status[i]);
	for (i = 0; i < NR_ROLES; i++)
		if (role_counts(&run->roles[i]) && !role_ok(&run->roles[i], status[i]))
			return role_complain(&run->roles[i], i, status[i]);
	*out = run->roles[FRONT].rep.result;
	return 0;
}

/*
 * The domains die with their last token and session; destroy whatever is
 * left.  After a failure already reported, stay quiet: one line per run.
 */
static int run_teardown(struct run *run, bool quiet)
{
	int i, r, ret = 0;

	for (i = 0; i < NR_ROLES; i++) {
		role_close(&run->roles[i], false);
		if (!run->roles[i].domid)
			continue;
		r = hvctl_domain_destroy(run->ctl, run->roles[i].domid);
		if (r < 0 && r != -ESRCH && !quiet)
			ret = rb_err(role_domain[i], r);
	}
	hvctl_close(run->ctl);
	return ret;
}

int rb_run_pvio(const struct rb_params *p, struct rb_front_result *out)
{
	struct run run = { .p = p };
	int status[NR_ROLES], i, ret, r;

	for (i = 0; i < NR_ROLES; i++)
		role_init(&run.roles[i]);
	ret = hvctl_open(&run.ctl, p->socket);
	if (ret < 0)
		return rb_err(p->socket ? p->socket : "the default pvio-hv socket", ret);
	ret = run_domains(&run);
	if (ret == 0)
		ret = run_children(&run);
	if (ret == 0)
		ret = collect_reports(&run);
	run_reap(&run, ret < 0, status);
	if (ret == 0)
		ret = run_verdict(&run, status, out);
	r = run_teardown(&run, ret < 0);
	return ret < 0 ? ret : r;
}
