/* SPDX-License-Identifier: MIT */
/*
 * embed.h - the toolstack side of the embedded mode: start a private pvio-hv(8) and a
 * pvio-xenstored(8) that follows it, create domains, introduce them to xenstore and run
 * programs inside them.  The benchmarks, the end-to-end tests and pvio(1) are built on it.
 *
 * A program run in a domain finds both of its hypervisor services through its environment:
 * $PVIO_HV_FD/$PVIO_HV/$PVIO_HV_SOCKET (hv_open) and $XENSTORED_PATH set to the domain's own
 * xenstored socket (libxenstore's xs_open), so it is the domain, and only the domain, to both.
 *
 * Every call returns 0 or a negative errno and never exits; what failed is also logged.
 */
#ifndef PVIO_LAUNCH_EMBED_H
#define PVIO_LAUNCH_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

#include "hv/log.h"

struct embed;

struct embed_opts {
	const char *dir; /* runtime directory; NULL: a fresh one under $TMPDIR (removed at stop) */
	const char *bindir; /* where pvio-hv and pvio-xenstored are; NULL: $PVIO_BUILDDIR, else the
			       directory of /proc/self/exe, else $PATH */
	bool verbose;	    /* pass -v to both daemons */
	bool die_with_parent; /* the daemons get SIGKILL if the caller dies (PR_SET_PDEATHSIG) */
	struct pvio_log *log; /* NULL: stderr at PVIO_LOG_WARN */
	uid_t uid_base; /* domain domid's processes run as host uid uid_base + domid (as root);
			   0: $PVIO_UID_BASE, else 1000000000 (launch/sandbox.h) */
	bool same_uid;	/* as a normal user without subordinate ids (launch/subid.h): domains run
			   under the caller's uid rather than being refused (-ENOENT, -ERANGE or
			   -EPERM, logged); they can then ptrace each other */
	bool detach; /* the daemons run in their own session (setsid), stdin /dev/null, stdout and
			stderr appended to <dir>/pvio-hv.log, <dir>/pvio-xenstored.log and
			<dir>/pvio-reaper.log, and outlive the caller (die_with_parent is
			ignored for them) */
};

/*
 * Start pvio-hv, then pvio-xenstored --hv-socket, each on a socket in the runtime directory,
 * and wait until both answer; then the reaper, a forked child named pvio-reaper that plays xl's
 * part of watching for domain deaths: when a domain dies (destroyed, or its last process gone)
 * it removes the domain's devices as libxl does (launch/teardown.h).  Exports PVIO_HV=sim,
 * PVIO_HV_SOCKET and XENSTORED_PATH in the caller's environment, so that the caller is dom0 to
 * hv_open and xs_open.
 */
int embed_start(struct embed **ep, const struct embed_opts *opts);

/*
 * Ask the reaper and both daemons to exit (SIGTERM, then SIGKILL after 5 s), reap them, and remove
 * a runtime directory embed_start created.  Domains die with pvio-hv.  Returns 0 if both exited
 * with status 0, -ECHILD otherwise (a crash or a sanitizer report).  NULL is fine.
 */
int embed_stop(struct embed *e);

/*
 * Free e but leave the daemons and the reaper running and the runtime directory in place (pvio up:
 * the daemons outlive it; with opts->detach they are in their own session).  Domain tokens held by
 * e are closed.  NULL is fine.
 */
void embed_release(struct embed *e);

/* The runtime directory. */
const char *embed_dir(const struct embed *e);

/* The daemons' dom0 sockets, and their pids. */
const char *embed_hv_socket(const struct embed *e);
const char *embed_xs_socket(const struct embed *e);
pid_t embed_hv_pid(const struct embed *e);
pid_t embed_xs_pid(const struct embed *e);
/* The reaper's pid (see embed_start). */
pid_t embed_reaper_pid(const struct embed *e);

/*
 * Create a domain named name in pvio-hv and introduce it to xenstored, which gives it its home
 * /local/domain/<domid> and its own socket.  The embed keeps the domain's token, so the domain
 * lives until embed_domain_destroy (or embed_stop) even with no process in it.
 */
int embed_domain_create(struct embed *e, const char *name, domid_t *domid);

/* What a domain is given beyond the minimal view (launch/sandbox.h). */
struct embed_domain_opts {
	const char *const *binds; /* NULL-terminated "[ro:|own:]PATH": host paths it sees at PATH
				     (own: chowned to its uid first; launch/sandbox.h) */
	bool shared;	 /* no isolation: its processes run in the caller's namespaces and uid, as
			    before (only for debugging; nothing then stops it from reaching dom0) */
	uint64_t memory; /* its processes' memory limit in bytes, or 0 (launch/cgroup.h) */
	uint32_t pids;	 /* how many processes it may have, or 0 */
	bool no_tap;	 /* no /dev/net/tun of its own: it makes no TAP, and keeps no capability
			    at all, even over its own namespaces (launch/sandbox.c) */
};

/*
 * The same with options.  Unless o->shared, the domain gets its own namespaces and host uid
 * (embed_domain_uid) and an init that holds them; its xenstored socket is at
 * /run/pvio/socket in its view.  With a memory or pids limit, the domain gets its own cgroups
 * (launch/cgroup.h) holding its init and every process started in it, removed when it is
 * destroyed or at embed_stop; a controller that is absent or not writable (not root, nor
 * delegated) fails the create with -EOPNOTSUPP or the write's error, logged with its name.
 */
int embed_domain_create_with(struct embed *e, const char *name, const struct embed_domain_opts *o,
			     domid_t *domid);

/* The host uid of domain domid's processes (launch/sandbox.h sandbox_uid). */
uid_t embed_domain_uid(const struct embed *e, domid_t domid);

/* The pid of domain domid's init, or 0 (-ESRCH-like: not isolated or unknown). */
pid_t embed_domain_init(const struct embed *e, domid_t domid);

/* Kill every process of the domain (its init) and tear it down (xenstored releases it when pvio-hv
 * reports). */
int embed_domain_destroy(struct embed *e, domid_t domid);

/*
 * Close the embed's token of domain domid: the domain then lives only as long as processes of
 * its own (started with embed_domain_spawn or embed_domain_fork) hold it, and dies on its own
 * when the last has exited.  No process can be started in it any more.  -ESRCH if unknown.
 */
int embed_domain_release(struct embed *e, domid_t domid);

/* The xenstored socket a process of domain domid uses (into buf). */
int embed_domain_xs_socket(const struct embed *e, domid_t domid, char *buf, size_t len);

/*
 * Run argv (execvp) inside domain domid: its hv and xenstore environment set as above, stdin
 * from /dev/null, stdout and stderr inherited; the child dies with the caller when
 * die_with_parent was asked.  *pid gets the child.  An exec failure is returned as its errno.
 */
int embed_domain_spawn(struct embed *e, domid_t domid, char *const argv[], pid_t *pid);

/* The same with a function: the child runs _exit(fn(arg)) inside the domain. */
int embed_domain_fork(struct embed *e, domid_t domid, int (*fn)(void *arg), void *arg, pid_t *pid);

/* A domain embed_exec runs a process in: one this embed did not create (pvio exec). */
struct embed_exec_opts {
	int nsdir;	     /* its init's /proc directory (O_PATH), or -1 for a shared domain */
	int token;	     /* its token (the child enters the domain with it) */
	const char *xs_path; /* $XENSTORED_PATH for the child (SANDBOX_XS_SOCKET when isolated) */
	const char *cgroup;  /* its cgroups' name (launch/cgroup.h), or NULL */
	const int *fds;	     /* descriptors the child keeps across exec (its /dev/fuse ones) */
	unsigned int n_fds;  /* how many */
	bool keep_stdin;     /* stdin inherited, not /dev/null */
	bool new_session;    /* a session of its own: not under the caller's controlling terminal,
				whose /dev/tty it would otherwise open */
	const int *stdio;    /* its stdin, stdout and stderr (3 fds, -1: the caller's), or NULL */
	bool ctty;	     /* with new_session: the first terminal of its stdio becomes its
				controlling terminal (a pty pvio exec relays) */
};

/*
 * Run argv (execvp) inside the domain o names, exactly as a process embed_domain_spawn starts:
 * its namespaces, uid, no new privileges, seccomp filter and cgroups, with its token and
 * xenstore in its environment; stdout and stderr inherited.  *pid gets the child (as root, the
 * domain's process itself; else an intermediate that forwards signals and exits as it does).
 * An exec failure is returned as its errno.
 */
int embed_exec(const struct embed_exec_opts *o, char *const argv[], pid_t *pid);

#endif
