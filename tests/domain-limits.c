/* SPDX-License-Identifier: MIT */
/*
 * domain-limits.c - a domain's memory and pids limits (launch/cgroup.h): a domain created with
 * pids 8 cannot have more than 8 processes (fork fails with EAGAIN inside) while the host forks
 * on; a domain with 32M of memory has its allocating process OOM-killed (or refused) and the
 * caller lives on; the domain's cgroups exist while it lives and are gone after destroy; with the
 * pids controller hidden, a create with a pids limit fails with -EOPNOTSUPP.
 * Skipped only when the controllers are absent or not writable here.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/cgroup.h"
#include "launch/embed.h"
#include "tests/helpers.h"

#define PIDS_LIMIT  8
#define MEM_LIMIT   (32u << 20)
#define MEM_TRY	    (512u << 20) /* what the domain tries to touch: far over its limit */
#define MAX_FORKS   64
#define HOST_FORKS  (2 * PIDS_LIMIT)
#define ALLOC_CHUNK (1u << 20)

/* Fork children that wait on a pipe until fork fails; 0 if it failed with EAGAIN in time. */
static int fork_until_refused(void *arg)
{
	int gate[2], err = 0, n = 0;
	pid_t pid;

	(void)arg;
	if (pipe(gate) < 0)
		return 3;
	for (; n < MAX_FORKS; n++) {
		pid = fork();
		if (pid == 0) {
			char c;

			close(gate[1]);
			_exit(read(gate[0], &c, 1) < 0);
		}
		if (pid < 0) {
			err = errno;
			break;
		}
	}
	close(gate[1]);
	while (wait(NULL) > 0)
		;
	if (err != EAGAIN || n >= PIDS_LIMIT) {
		fprintf(stderr, "FAIL: %d forks in the domain, then %s\n", n, strerror(err));
		return 1;
	}
	return 0;
}

/* Touch MEM_TRY bytes; 2 if the allocation is refused, 0 (a failure) if it all fits. */
static int allocate(void *arg)
{
	(void)arg;
	for (size_t done = 0; done < MEM_TRY; done += ALLOC_CHUNK) {
		char *p = malloc(ALLOC_CHUNK);

		if (!p)
			return 2;
		memset(p, 0x5a, ALLOC_CHUNK);
	}
	return 0;
}

/* T_SKIP unless both controllers take a cgroup of ours here. */
static int probe(void)
{
	const struct cgroup_limits l = { .memory = MEM_LIMIT, .pids = PIDS_LIMIT };
	char name[32], why[128] = "";
	int ret;

	snprintf(name, sizeof(name), "probe-%d", (int)getpid());
	ret = cgroup_create(name, &l, why, sizeof(why));
	if (ret == -EOPNOTSUPP || ret == -EACCES || ret == -EPERM || ret == -EROFS) {
		printf("SKIP: %s: %s\n", why, strerror(-ret));
		exit(T_SKIP);
	}
	T_CHECK(ret == 0, "probe cgroup: %s: %s", why, strerror(-ret));
	T_CHECK(cgroup_remove(name) == 0, "remove the probe cgroup");
	return 0;
}

/* Whether the cgroup of controller ctl of domain domid exists (v1 layout, as probed). */
static bool cgroup_exists(struct embed *e, const char *ctl, domid_t domid)
{
	char name[64], path[256];
	struct stat st;

	if (cgroup_name(embed_dir(e), domid, name, sizeof(name)) < 0)
		return false;
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/pvio/%s", ctl, name);
	if (stat(path, &st) == 0)
		return true;
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pvio/%s", name);
	return stat(path, &st) == 0;
}

/* Create a domain with o's limits, run fn in it; *status gets its wait status (t_wait's). */
static int run_limited(struct embed *e, const struct embed_domain_opts *o, const char *ctl,
		       int (*fn)(void *arg), domid_t *domid, int *status)
{
	pid_t pid;

	T_CHECK(embed_domain_create_with(e, ctl, o, domid) == 0, "create with %s", ctl);
	T_CHECK(cgroup_exists(e, ctl, *domid), "the domain's %s cgroup", ctl);
	T_CHECK(embed_domain_fork(e, *domid, fn, NULL, &pid) == 0, "fork in domain");
	*status = t_wait(pid);
	return 0;
}

/* Destroy the domain: its ctl cgroup must be gone. */
static int destroy_limited(struct embed *e, const char *ctl, domid_t domid)
{
	T_CHECK(embed_domain_destroy(e, domid) == 0, "destroy");
	T_CHECK(!cgroup_exists(e, ctl, domid), "the %s cgroup is left after destroy", ctl);
	return 0;
}

static int check_pids(struct embed *e)
{
	const struct embed_domain_opts o = { .pids = PIDS_LIMIT };
	pid_t host[HOST_FORKS];
	domid_t domid;
	int n, ret;

	T_CHECK(run_limited(e, &o, "pids", fork_until_refused, &domid, &ret) == 0, "pids domain");
	T_CHECK(ret == 0, "the domain's forks were not limited");
	/* The host is not: it forks twice the domain's limit. */
	for (n = 0; n < HOST_FORKS; n++) {
		host[n] = fork();
		if (host[n] == 0)
			_exit(0);
		T_CHECK(host[n] > 0, "host fork %d: %s", n, strerror(errno));
	}
	for (n = 0; n < HOST_FORKS; n++)
		T_CHECK(t_wait(host[n]) == 0, "host child %d", n);
	return destroy_limited(e, "pids", domid);
}

static int check_memory(struct embed *e)
{
	const struct embed_domain_opts o = { .memory = MEM_LIMIT };
	domid_t domid;
	int ret;

	T_CHECK(run_limited(e, &o, "memory", allocate, &domid, &ret) == 0, "memory domain");
	T_CHECK(ret == 128 + SIGKILL || ret == 2, "allocating %u MiB in a %u MiB domain: %d",
		MEM_TRY >> 20, MEM_LIMIT >> 20, ret);
	return destroy_limited(e, "memory", domid);
}

/* In a child whose mount namespace hides the pids controller: the create must fail, not skip it. */
static int absent_fn(struct embed *e)
{
	const struct embed_domain_opts o = { .pids = PIDS_LIMIT };
	domid_t domid;
	int ret;

	T_CHECK(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
	T_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "private mounts");
	T_CHECK(mount("none", "/sys/fs/cgroup/pids", "tmpfs", 0, NULL) == 0, "hide pids: %s",
		strerror(errno));
	ret = embed_domain_create_with(e, "unlimited", &o, &domid);
	T_CHECK(ret == -EOPNOTSUPP, "create with pids and no controller: %d", ret);
	return 0;
}

static int check_absent(struct embed *e)
{
	pid_t pid = fork();

	T_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(absent_fn(e));
	T_CHECK(t_wait(pid) == 0, "a limit without its controller");
	return 0;
}

int main(void)
{
	struct embed_opts opts = { .die_with_parent = true };
	struct embed *e;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(probe() == 0, "probe");
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(check_pids(e) == 0, "pids limit");
	T_CHECK(check_memory(e) == 0, "memory limit");
	T_CHECK(check_absent(e) == 0, "absent controller");
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
