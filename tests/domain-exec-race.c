/* SPDX-License-Identifier: MIT */
/*
 * domain-exec-race: a process started in a domain (embed_domain_spawn, as pvio exec's
 * embed_exec) is host root from its fork in the domain's pid namespace until it takes the
 * domain's uid.  Once it has joined the domain's user namespace, root of the domain holds
 * CAP_SYS_PTRACE over its credentials: only its being not dumpable keeps a process of the domain
 * from ptrace, /proc/PID/mem, process_vm_writev or the ptrace-checked /proc files (exe, root,
 * maps) of a host-root process whose mount namespace may still be the host's.
 *
 * An attacker inside the domain spins on the newest pid of its pid namespace while dom0 starts
 * `true` in the domain again and again, and tries each route on it.  Any access that lands on
 * the image before exec (its /proc/PID/exe is not true's) is a failure.  The attacker must have
 * seen the children (their /proc entries) for the run to count.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/embed.h"
#include "tests/helpers.h"

#define RUNS	 300 /* children started in the domain */
#define RUNS_S	 60  /* or for so long (a sanitizer build is slow), at least RUNS_MIN */
#define RUNS_MIN 20
#define PROGRAM	 "true"
#define SEEN_MIN 10 /* children the attacker must have seen alive */

/* Shared between dom0 and the attacker (an anonymous shared mapping, inherited by the fork). */
struct race {
	atomic_int stop;  /* dom0: the runs are over */
	atomic_int ready; /* the attacker spins */
	atomic_long seen; /* children whose /proc entry the attacker found */
	atomic_long hits; /* accesses to a child before its exec */
	char what[160];	  /* the first hit, for the log */
};

/* The newest pid of the attacker's pid namespace. */
static pid_t last_pid(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

static void hit(struct race *r, pid_t pid, const char *route, const char *exe)
{
	if (atomic_fetch_add(&r->hits, 1) == 0)
		snprintf(r->what, sizeof(r->what), "%s of pid %d (exe %.100s)", route, (int)pid,
			 exe);
}

/* true's image, or the one before its exec: a ptrace-checked link readable means access. */
static bool before_exec(pid_t pid, char *exe, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, len - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	return strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, PROGRAM) != 0;
}

/*
 * Let go of pid, seized: stopped then detached, or its exit taken (a tracer that is not the
 * parent passes it on), so that dom0, its parent, can reap it.
 */
static void ptrace_release(struct race *r, pid_t pid)
{
	char exe[PATH_MAX];
	int status;

	if (before_exec(pid, exe, sizeof(exe)))
		hit(r, pid, "ptrace", exe);
	/* Refused only once it has exited: then the wait takes its exit at once. */
	(void)ptrace(PTRACE_INTERRUPT, pid, NULL, NULL);
	if (waitpid(pid, &status, __WALL) == pid && !WIFEXITED(status) && !WIFSIGNALED(status))
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
}

/* Every route at pid; a success counts only while the process is still the launcher. */
static void attack(struct race *r, pid_t pid)
{
	char path[64], exe[PATH_MAX], byte = 0;
	struct iovec local = { .iov_base = &byte, .iov_len = 1 };
	struct iovec remote = { .iov_base = &byte, .iov_len = 1 };
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (access(path, F_OK) < 0)
		return;
	atomic_fetch_add(&r->seen, 1);
	if (before_exec(pid, exe, sizeof(exe)))
		hit(r, pid, "/proc/PID/exe", exe);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (before_exec(pid, exe, sizeof(exe)))
			hit(r, pid, "/proc/PID/mem", exe);
		close(fd);
	}
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) >= 0 ||
	    (errno != EPERM && errno != ESRCH && errno != EFAULT)) {
		if (before_exec(pid, exe, sizeof(exe)))
			hit(r, pid, "process_vm_writev", exe);
	}
	/* Allowed by a sanitizer build's filter, and on the domain's own (exec'd) process. */
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0)
		ptrace_release(r, pid);
}

/* Inside the domain, root there: spin on the newest pids until dom0 is done. */
static int attacker(void *arg)
{
	struct race *r = arg;
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
	pid_t self = getpid(), last;

	if (fd < 0) {
		perror("ns_last_pid");
		return 1;
	}
	atomic_store(&r->ready, 1);
	while (!atomic_load(&r->stop)) {
		last = last_pid(fd);
		if (last > 1 && last != self)
			attack(r, last);
	}
	return 0;
}

int main(void)
{
	char *const argv[] = { PROGRAM, NULL };
	struct embed_opts opts = { .die_with_parent = true };
	struct embed *e;
	struct race *r;
	domid_t dom;
	pid_t apid, child;
	int i;
	uint64_t start;

	t_time_limit(T_TIME_LIMIT_S);
	if (t_own_uids_or_skip())
		return T_SKIP;
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_CHECK(r != MAP_FAILED, "mmap");
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(embed_domain_create(e, "racer", &dom) == 0, "create the domain");
	T_CHECK(embed_domain_fork(e, dom, attacker, r, &apid) == 0, "fork the attacker");
	while (!atomic_load(&r->ready))
		t_msleep(1);
	start = t_now_ms();
	for (i = 0; i < RUNS && !atomic_load(&r->hits); i++) {
		if (i >= RUNS_MIN && t_now_ms() - start > RUNS_S * 1000)
			break;
		T_CHECK(embed_domain_spawn(e, dom, argv, &child) == 0, "spawn %s", PROGRAM);
		T_CHECK(t_wait(child) == 0, "%s failed in the domain", PROGRAM);
	}
	atomic_store(&r->stop, 1);
	T_CHECK(t_wait(apid) == 0, "the attacker failed");
	printf("%d children, seen %ld times by the attacker, %ld accesses before exec\n", i,
	       atomic_load(&r->seen), atomic_load(&r->hits));
	T_CHECK(atomic_load(&r->hits) == 0, "a process of the domain reached a host-root child: %s",
		r->what);
	T_CHECK(atomic_load(&r->seen) >= SEEN_MIN, "the attacker saw only %ld children",
		atomic_load(&r->seen));
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
