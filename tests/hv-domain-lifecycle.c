/* SPDX-License-Identifier: MIT */
/*
 * hv-domain-lifecycle: domains are created with unique valid names and fresh
 * ids, listed in id order, and die - with a notice to subscribers - when
 * their last process has gone or when dom0 destroys them.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "tests/helpers.h"

/* A domain's process: open a session, drop the token, then wait for the parent. */
static int guest_hold(void *arg)
{
	const int *hold = arg;
	struct hvsim_msg hello;
	char byte;
	int sock;

	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "session on the token");
	T_CHECK(hello.arg[0] != 0 && hello.arg[1] != 0, "HELLO: domid %u sid %u", hello.arg[0],
		hello.arg[1]);
	/* From here on only the session keeps the domain alive. */
	close(atoi(getenv(HVSIM_FD_ENV)));
	close(hold[1]);
	if (read(hold[0], &byte, 1) < 0)
		return T_FAIL;
	return 0;
}

/* A domain's process that opens a session and waits to be killed. */
static int guest_pause(void *arg)
{
	struct hvsim_msg hello;
	int sock;

	(void)arg;
	T_CHECK(t_session_open(&sock, &hello, NULL) == 0, "session on the token");
	for (;;)
		pause();
}

static int death_expect(int sub, domid_t want)
{
	domid_t got;

	T_CHECK(t_readable(sub, 10000), "no death notice for domain %u", want);
	T_CHECK(hvctl_death_read(sub, &got) == 0, "death read");
	T_CHECK(got == want, "death of %u, expected %u", got, want);
	return 0;
}

/* Poll the list until domain id shows sessions sessions (or 10 s pass). */
static int sessions_wait(struct hvctl *ctl, domid_t id, unsigned int sessions)
{
	struct hvctl_domain_info info[8];
	int i, n, tries;

	for (tries = 0; tries < 1000; tries++) {
		n = hvctl_domain_list(ctl, info, 8);
		for (i = 0; i < n; i++) {
			if (info[i].domid == id && info[i].sessions == sessions)
				return 0;
		}
		t_msleep(10);
	}
	t_fail(__FILE__, __LINE__, "domain %u never had %u sessions", id, sessions);
	return T_FAIL;
}

static int check_names(struct hvctl *ctl)
{
	char longname[HVSIM_NAME_MAX + 1];
	domid_t id;
	int fd;

	T_CHECK(hvctl_domain_create(ctl, "alpha", 0, &id, &fd) == -EEXIST, "duplicate name");
	T_CHECK(hvctl_domain_create(ctl, "Domain-0", 0, &id, &fd) == -EEXIST, "dom0's name");
	T_CHECK(hvctl_domain_create(ctl, "", 0, &id, &fd) == -EINVAL, "empty name");
	T_CHECK(hvctl_domain_create(ctl, "a b", 0, &id, &fd) == -EINVAL, "name with a space");
	T_CHECK(hvctl_domain_create(ctl, "a/b", 0, &id, &fd) == -EINVAL, "name with a slash");
	T_CHECK(hvctl_domain_create(ctl, "big", HVSIM_POOL_PAGES_MAX + 1, &id, &fd) == -EINVAL,
		"pool too large");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	T_CHECK(hvctl_domain_create(ctl, longname, 0, &id, &fd) == -ENAMETOOLONG, "long name");
	return 0;
}

static int check_create_list(struct hvctl *ctl, domid_t *alpha, int *alpha_token)
{
	struct hvctl_domain_info info[4];
	domid_t beta;
	int fd;

	T_CHECK(hvctl_domain_list(ctl, info, 4) == 0, "list not empty at start");
	T_CHECK(hvctl_domain_create(ctl, "alpha", 0, alpha, alpha_token) == 0, "create alpha");
	T_CHECK(hvctl_domain_create(ctl, "beta.2_x-y", 128, &beta, &fd) == 0, "create beta");
	T_CHECK(*alpha >= 1 && beta > *alpha, "ids %u then %u", *alpha, beta);
	T_CHECK(hvctl_domain_list(ctl, info, 4) == 2, "list: two domains");
	T_CHECK(info[0].domid == *alpha && !strcmp(info[0].name, "alpha"), "list[0]");
	T_CHECK(info[0].pool_pages == HVSIM_POOL_PAGES_DEFAULT && info[0].pool_used == 0,
		"alpha's pool: %u", info[0].pool_pages);
	T_CHECK(info[1].domid == beta && !strcmp(info[1].name, "beta.2_x-y"), "list[1]");
	T_CHECK(info[1].pool_pages == 128 && info[1].sessions == 0, "beta's pool");
	T_CHECK(hvctl_domain_list(ctl, info, 1) == 1, "list truncated to max");
	T_CHECK(check_names(ctl) == 0, "names");
	T_CHECK(hvctl_domain_destroy(ctl, beta) == 0, "destroy beta");
	close(fd);
	return 0;
}

/* The last copy of a token closed, no session: the domain dies; its id is not reused at once. */
static int check_token_death(struct hvctl *ctl, int sub, domid_t alpha, int token)
{
	struct hvctl_domain_info info[4];
	domid_t again;
	int fd;

	close(token);
	T_CHECK(death_expect(sub, alpha) == 0, "alpha's death");
	T_CHECK(hvctl_domain_list(ctl, info, 4) == 0, "list empty after deaths");
	T_CHECK(hvctl_domain_create(ctl, "alpha", 0, &again, &fd) == 0, "alpha again");
	T_CHECK(again > alpha + 1, "id %u reused too soon", again);
	close(fd);
	T_CHECK(death_expect(sub, again) == 0, "second alpha's death");
	return 0;
}

/* A session keeps a domain alive without its token; the process's exit ends it. */
static int check_process_death(struct hvctl *ctl, int sub)
{
	domid_t id;
	int hold[2];
	pid_t pid;

	T_CHECK(pipe(hold) == 0, "pipe");
	T_CHECK(t_domain_fork("gamma", guest_hold, hold, &id, &pid) == 0, "fork gamma");
	T_CHECK(sessions_wait(ctl, id, 1) == 0, "gamma's session");
	T_CHECK(!t_readable(sub, 100), "a death while gamma runs");
	close(hold[1]);
	T_CHECK(t_wait(pid) == 0, "gamma failed");
	close(hold[0]);
	T_CHECK(death_expect(sub, id) == 0, "gamma's death");
	return 0;
}

static int check_destroy(struct hvctl *ctl, int sub)
{
	domid_t id;
	pid_t pid;

	T_CHECK(t_domain_fork("delta", guest_pause, NULL, &id, &pid) == 0, "fork delta");
	T_CHECK(sessions_wait(ctl, id, 1) == 0, "delta's session");
	T_CHECK(hvctl_domain_destroy(ctl, id) == 0, "destroy delta");
	T_CHECK(death_expect(sub, id) == 0, "delta's death");
	T_CHECK(t_wait(pid) == 128 + SIGKILL, "delta's process not killed");
	T_CHECK(hvctl_domain_destroy(ctl, id) == -ESRCH, "destroy twice");
	T_CHECK(hvctl_domain_destroy(ctl, 0) == -EPERM, "destroy dom0");
	T_CHECK(hvctl_domain_destroy(ctl, DOMID_SELF) == -ESRCH, "destroy DOMID_SELF");
	return 0;
}

int main(void)
{
	struct hvctl *ctl;
	domid_t alpha, beta_dead;
	int sub, token;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(hvctl_open(&ctl, NULL) == 0, "hvctl_open");
	T_CHECK(hvctl_subscribe(NULL, &sub) == 0, "subscribe");
	T_CHECK(check_create_list(ctl, &alpha, &token) == 0, "create and list");
	beta_dead = alpha + 1;
	T_CHECK(death_expect(sub, beta_dead) == 0, "beta destroyed");
	T_CHECK(check_token_death(ctl, sub, alpha, token) == 0, "token death");
	T_CHECK(check_process_death(ctl, sub) == 0, "process death");
	T_CHECK(check_destroy(ctl, sub) == 0, "destroy");
	hvctl_close(ctl);
	close(sub);
	return T_PASS;
}
