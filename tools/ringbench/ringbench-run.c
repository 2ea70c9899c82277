/* SPDX-License-Identifier: MIT */
/*
 * ringbench-run.c - pvio-ringbench as the toolstack (dom0): the domains
 * bench-front and bench-back, one child process in each, and their reports.
 *
 * Without -s the domains are the launcher's (launch/embed.h), as pvio(1)
 * creates them: a private pvio-hv, pvio-xenstored and reaper, and each
 * domain in namespaces and under a host uid of its own with its seccomp
 * filter, so that the figures are those of the isolated fast path.  With -s
 * (a pvio-hv the launcher did not start) the children only enter their
 * domains with their tokens, isolated from nothing.
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
#include "launch/embed.h"
#include "tools/ringbench/ringbench.h"

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
	const struct rb_params *p; /* parameters; p->socket is the daemon's, or NULL */
	struct embed *e;	   /* the launcher, without p->socket; else NULL */
	struct hvctl *ctl;	   /* dom0 session with p->socket's pvio-hv; else NULL */
	struct role roles[NR_ROLES];
	int child; /* in a launched child: its role */
};

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

		/* The launcher keeps the token: its child enters the domain with it. */
		if (run->e)
			ret = embed_domain_create(run->e, role_domain[i], &r->domid);
		else
			ret = hvctl_domain_create(run->ctl, role_domain[i], RB_POOL_PAGES,
						  &r->domid, &r->token);
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

	/* A launched child is in its domain already. */
	ret = me->token >= 0 ? hvctl_enter_domain(me->token, run->p->socket) : 0;
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

/* The launcher's child: role run->child's process, inside its domain. */
static int child_launched(void *arg)
{
	struct run *run = arg;

	child_main(run, run->child);
}

static int run_children(struct run *run)
{
	int i, ret;

	fflush(NULL);
	for (i = 0; i < NR_ROLES; i++) {
		run->child = i;
		if (run->e) {
			ret = embed_domain_fork(run->e, run->roles[i].domid, child_launched, run,
						&run->roles[i].pid);
			if (ret < 0) {
				run->roles[i].pid = 0;
				return rb_err(role_domain[i], ret);
			}
			continue;
		}
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
		r = run->e ? embed_domain_destroy(run->e, run->roles[i].domid)
			   : hvctl_domain_destroy(run->ctl, run->roles[i].domid);
		if (r < 0 && r != -ESRCH && !quiet)
			ret = rb_err(role_domain[i], r);
	}
	hvctl_close(run->ctl);
	return ret;
}

/* The launcher and its private daemons, or a dom0 session with the pvio-hv of -s. */
static int run_start(struct run *run)
{
	struct embed_opts opts = { .die_with_parent = true };
	int ret;

	if (!run->p->socket) {
		ret = embed_start(&run->e, &opts);
		return ret < 0 ? rb_err("start the launcher's pvio-hv", ret) : 0;
	}
	ret = hvctl_open(&run->ctl, run->p->socket);
	return ret < 0 ? rb_err(run->p->socket, ret) : 0;
}

int rb_run_pvio(const struct rb_params *p, struct rb_front_result *out)
{
	struct run run = { .p = p };
	int status[NR_ROLES], i, ret, r;

	for (i = 0; i < NR_ROLES; i++)
		role_init(&run.roles[i]);
	ret = run_start(&run);
	if (ret < 0)
		return ret;
	ret = run_domains(&run);
	if (ret == 0)
		ret = run_children(&run);
	if (ret == 0)
		ret = collect_reports(&run);
	run_reap(&run, ret < 0, status);
	if (ret == 0)
		ret = run_verdict(&run, status, out);
	r = run_teardown(&run, ret < 0);
	if (run.e && embed_stop(run.e) < 0 && r == 0)
		r = rb_err("the launcher's daemons", -ECHILD);
	return ret < 0 ? ret : r;
}
