/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - what pvio's test programs share.
 *
 * A test is one program: exit 0 pass, 1 fail, 77 skip (T_PASS, T_FAIL,
 * T_SKIP).  A test of the embedded hypervisor starts its own private
 * pvio-hv with t_hv_start() and runs domains as forked children with
 * t_domain_fork():
 *
 *	static int guest(void *arg)
 *	{
 *		struct hv *hv;
 *
 *		T_CHECK(hv_open(&hv, NULL) == 0, "hv_open");
 *		...
 *		return 0;
 *	}
 *
 *	int main(void)
 *	{
 *		domid_t domid;
 *		pid_t pid;
 *
 *		T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
 *		T_CHECK(t_domain_fork("guest", guest, NULL, &domid, &pid) == 0, "fork");
 *		T_CHECK(t_wait(pid) == 0, "guest failed");
 *		return T_PASS;
 *	}
 */
#ifndef PVIO_TESTS_HELPERS_H
#define PVIO_TESTS_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "hv/simproto.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Seconds a test may run unless it says otherwise (t_time_limit). */
#define T_TIME_LIMIT_S 120

/* Print "FAIL file:line: message" to stderr. */
__attribute__((format(printf, 3, 4))) void t_fail(const char *file, int line, const char *fmt, ...);

/*
 * If cond is false, print "FAIL file:line: ..." and return 1 from the
 * calling function: use it in main() and in t_domain_fork() bodies, or in
 * any helper returning int where 1 means failure.
 */
#define T_CHECK(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			t_fail(__FILE__, __LINE__, __VA_ARGS__);                                   \
			return T_FAIL;                                                             \
		}                                                                                  \
	} while (0)

/*
 * If cond is false, print "FAIL file:line: ..." and exit(T_FAIL): for checks in
 * void functions and threads, which have no status to return.
 */
#define T_ASSERT(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			t_fail(__FILE__, __LINE__, __VA_ARGS__);                                   \
			exit(T_FAIL);                                                              \
		}                                                                                  \
	} while (0)

/*
 * Start a private pvio-hv ($PVIO_BUILDDIR/pvio-hv, "." by default; -v when
 * $PVIO_TEST_VERBOSE is set) on a socket in a fresh directory under /tmp,
 * wait until it answers, and export PVIO_HV_SOCKET and PVIO_HV=sim so that
 * hv_open() and hvctl_*(NULL) find it.  At exit of the calling process (not
 * of its children) the daemon gets SIGTERM and is reaped, and the directory
 * removed; a daemon that then exits other than with status 0 (a sanitizer
 * report, a crash) turns the test into a failure.  The daemon also dies
 * with the test if that is killed, and t_time_limit(T_TIME_LIMIT_S) ends a
 * hung test.
 * 0, or a negative errno after printing why.
 */
int t_hv_start(void);
/* t_hv_start with pvio-hv options (at most 11, NULL-terminated), e.g. its limits. */
int t_hv_start_opts(const char *const *opts);
/* The running daemon's socket path and pid (after t_hv_start). */
const char *t_hv_socket(void);
pid_t t_hv_pid(void);

/*
 * Create a domain named name, fork, and in the child enter the domain
 * (hvctl_enter_domain: $PVIO_HV_FD and friends set) and _exit(fn(arg)).
 * The parent's copy of the token is closed before returning, so the domain
 * dies once the child and whatever it started have gone.  The child inherits
 * every other fd of the parent: close in it what must not stay open there
 * (another domain's token keeps that domain alive).  *domid and *pid may be
 * NULL.  0 or a negative errno.
 */
int t_domain_fork(const char *name, int (*fn)(void *arg), void *arg, domid_t *domid, pid_t *pid);

/*
 * Fork and exec prog with argv (argv[0] names it in messages); the child dies
 * with the test (PR_SET_PDEATHSIG) if the test is killed.  The child's pid,
 * or -1 if fork failed.
 */
pid_t t_daemon_exec(const char *prog, const char *const *argv);

/* Reap pid: its exit status, 128 + signal if it was killed, or a negative errno. */
int t_wait(pid_t pid);

/*
 * Open a session the raw way, as hv/sim.c does: in a domain process on
 * $PVIO_HV_FD, otherwise (dom0) on a new main-socket connection.  *sock is
 * the session's private socket, *hello the HELLO reply (domid in arg[0],
 * sid in arg[1]); fds[0..3) get table, pool and status unless fds is NULL,
 * in which case they are closed.  0 or a negative errno.
 */
int t_session_open(int *sock, struct hvsim_msg *hello, int fds[3]);
/* A plain connection to the main socket, no HELLO.  0 or a negative errno. */
int t_connect(int *sock);
/* One RPC: op and args[0..nargs), reply in *rep; fds as hvsim_call.  Returns rep's err. */
int t_rpc(int sock, uint32_t op, const uint32_t *args, unsigned int nargs, struct hvsim_msg *rep,
	  int *fds, unsigned int max, unsigned int *nfds);

/* Wait up to ms milliseconds for fd to become readable: true if it did. */
bool t_readable(int fd, int ms);
/* The number of open fds of process pid (via /proc), or a negative errno. */
int t_fd_count(pid_t pid);
/*
 * Fail the test (exit T_FAIL, saying so on stderr) if it still runs after
 * seconds: every test sets one, through this or t_hv_start.  A later call
 * replaces the limit; forked children do not inherit it.
 */
void t_time_limit(unsigned int seconds);
/* Sleep ms milliseconds. */
void t_msleep(unsigned int ms);
/*
 * The number of mappings of process pid (lines of /proc/PID/maps) whose line contains match
 * (NULL: all of them), or a negative errno.
 */
int t_map_count(pid_t pid, const char *match);
/* The resident memory of process pid in KiB (VmRSS), or a negative errno. */
long t_rss_kb(pid_t pid);

/*
 * SIGKILL the private pvio-hv and reap it (from the process that started it): a test of what
 * its clients do when the hypervisor dies.  Its exit then no longer fails the test.  0 or -errno.
 */
int t_hv_kill(void);
/* SIGKILL and reap *pid if this process is starter (the daemon's parent); *pid becomes 0. */
int t_daemon_kill(pid_t *pid, pid_t starter);
/* Milliseconds on CLOCK_MONOTONIC, for deadlines and elapsed times. */
uint64_t t_now_ms(void);

/*
 * Whether this host can give a test loop devices: T_PASS (0) as root with a
 * /dev/loop-control that opens; T_SKIP after printing "SKIP: why" when there
 * is none (no root, no loop module, a container that denies it).  Anything
 * else is the test's failure: T_FAIL after saying why.
 */
int t_loop_usable(void);
/*
 * Attach path to a free loop device of logical block size bs with losetup(8):
 * 0 and the device's name in dev[len], or T_FAIL after printing losetup's
 * own message (once t_loop_usable passed, a refusal is a real error).
 */
int t_loop_attach(const char *path, unsigned int bs, char *dev, size_t len);
/* The same with losetup options of the caller's (opts, e.g. "-o 4096"). */
int t_loop_attach_with(const char *path, const char *opts, char *dev, size_t len);
/* Detach dev (losetup -d): 0, or T_FAIL after saying so. */
int t_loop_detach(const char *dev);

/*
 * The value of key (e.g. "Seccomp:") in /proc/<pid>/status into val[len], blanks around it cut:
 * 0, -ENOENT when the process has no such line, or another negative errno.
 */
int t_proc_status(pid_t pid, const char *key, char *val, size_t len);

/*
 * The unsigned number of key in a file of "key value" lines (a daemon's statistics file): 0,
 * -ENOENT when the file or the key is not there (yet), -EINVAL for a value that does not parse.
 */
int t_keyfile_u64(const char *path, const char *key, uint64_t *val);

/*
 * Whether this process's domains get host uids of their own (root, or a normal user with
 * subordinate ids: launch/subid.h): 0, or 1 after printing "SKIP: why" (a normal user without,
 * whose domains would all share its uid).
 */
int t_own_uids_or_skip(void);

/* CPU milliseconds process pid has used so far (utime + stime of all its threads), 0 if gone. */
uint64_t t_proc_cpu_ms(pid_t pid);
/*
 * Times the threads of process pid went to sleep and were woken so far (the sum of their
 * voluntary context switches): an event storm's cost that a CPU bound alone cannot show on a
 * loaded machine, where the storm is starved too.
 */
uint64_t t_proc_wakeups(pid_t pid);

/*
 * Watch process pid (a back-end daemon, called name) for ms milliseconds of a guest's event
 * storm (XSA-332), from *start (t_now_ms): its threads must wake fewer times than milliseconds
 * pass and use under half a CPU.  Prints the figures; 0 or T_FAIL.
 */
int t_storm_bound(pid_t pid, const char *name, unsigned int ms, uint64_t *start);

#endif
