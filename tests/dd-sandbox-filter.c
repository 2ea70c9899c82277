/* SPDX-License-Identifier: MIT */
/*
 * dd-sandbox-filter: what pvio-blkback's filter (driverdomain/sandbox.c, the default one) still
 * lets a subverted daemon do with a terminal and with clone.  A child enters the sandbox as
 * pvio-blkback does (--user 65534, on the embedded hypervisor) holding a pseudo-terminal, as a
 * daemon started from an admin's shell holds its terminal:
 *  - isatty (TCGETS) works, as stdio needs;
 *  - TIOCSTI, which would push input into the terminal, kills it (seccomp) and nothing reaches
 *    the terminal's reader: the filter once allowed every ioctl of the terminal's type;
 *  - threads still start (pthread_create: clone3 refused with ENOSYS, clone without namespace
 *    flags allowed);
 *  - clone with CLONE_NEWUSER kills it: no new namespaces from a dropped daemon.
 * Each forbidden step runs in its own child, which must die of SIGSYS.  Needs root (to drop).
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "driverdomain/sandbox.h"
#include "tests/helpers.h"

enum step {
	STEP_TCGETS,
	STEP_TIOCSTI,
	STEP_THREAD,
	STEP_NEWUSER
};

static void *thread_fn(void *arg)
{
	return arg;
}

/* In the child: sandbox as pvio-blkback, then the step; exit 0 if it was allowed and worked. */
static int child(enum step step, int tty)
{
	struct dd_sandbox s = { .prog = "dd-sandbox-filter", .user = "65534:65534" };
	struct termios t;
	pthread_t th;
	char c = 'x';

	if (dd_sandbox_resolve(&s) || dd_sandbox_enter(&s, false))
		return 2;
	switch (step) {
	case STEP_TCGETS:
		return ioctl(tty, TCGETS, &t) == 0 ? 0 : 3;
	case STEP_TIOCSTI:
		return ioctl(tty, TIOCSTI, &c) == 0 ? 0 : 3;
	case STEP_THREAD:
		return pthread_create(&th, NULL, thread_fn, NULL) == 0 && !pthread_join(th, NULL)
			   ? 0
			   : 3;
	case STEP_NEWUSER:
		return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0) >= 0 ? 0
											     : 3;
	}
	return 4;
}

/* The wait status of a child running step. */
static int run(enum step step, int tty)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(child(step, tty));
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

int main(void)
{
	int master, tty, st, n = 0;
	char buf[16];

	t_time_limit(30);
	if (geteuid() != 0) {
		printf("SKIP: needs root (the sandbox drops to user 65534)\n");
		return 77;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	T_CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0, "pty");
	tty = open(ptsname(master), O_RDWR | O_NOCTTY);
	T_CHECK(tty >= 0, "open %s", ptsname(master));
	st = run(STEP_TCGETS, tty);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "isatty's TCGETS refused (status %#x)", st);
	st = run(STEP_TIOCSTI, tty);
	T_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		"TIOCSTI not killed by the filter (status %#x)", st);
	fcntl(master, F_SETFL, O_NONBLOCK);
	n = (int)read(master, buf, sizeof(buf));
	T_CHECK(n <= 0, "%d bytes pushed into the terminal", n);
	st = run(STEP_THREAD, tty);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a thread could not start (status %#x)", st);
	st = run(STEP_NEWUSER, tty);
	T_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		"clone(CLONE_NEWUSER) not killed by the filter (status %#x)", st);
	printf("dd-sandbox-filter: TCGETS and threads allowed, TIOCSTI and new namespaces not\n");
	return 0;
}
