/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - what makes a domain of the embedded mode an isolation boundary: each domain's
 * processes run in namespaces of their own (user, mount, pid, ipc, network) under a host uid of
 * their own, with PR_SET_NO_NEW_PRIVS and a seccomp filter.
 *
 * A domain has an init: pid 1 of its pid namespace, started by sandbox_start.  It builds the
 * domain's view of the file system (a fresh tmpfs root holding read-only binds of the system
 * directories and pvio's programs, a fresh /proc, a minimal /dev, a private /tmp, the domain's
 * own xenstored socket directory at SANDBOX_XS_DIR and the binds the caller gave), then only
 * reaps.  Killing it ends every process of the domain: the kernel kills a pid namespace with its
 * init.  Other processes join the domain with sandbox_join.
 *
 * Every call returns 0 or a negative errno and never exits.
 */
#ifndef PVIO_LAUNCH_SANDBOX_H
#define PVIO_LAUNCH_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

/* Where a domain finds its xenstored socket directory, inside its own view. */
#define SANDBOX_XS_DIR	  "/run/pvio"
#define SANDBOX_XS_SOCKET SANDBOX_XS_DIR "/socket"

/* The first host uid (and gid) of the domains when run as root; PVIO_UID_BASE overrides it. */
#define SANDBOX_UID_BASE     1000000000u
#define SANDBOX_UID_BASE_ENV "PVIO_UID_BASE"

struct sandbox_opts {
	domid_t domid;		  /* the domain: its host uid is the base + domid (as root) */
	uid_t uid_base;		  /* 0: $PVIO_UID_BASE, else SANDBOX_UID_BASE */
	const char *xs_dir;	  /* host directory of the domain's xenstored socket, or NULL */
	const char *bindir;	  /* pvio's programs, bound read-only at the same path, or NULL */
	const char *const *binds; /* NULL-terminated "[ro:|own:]PATH": host paths bound at PATH,
				     read-only, or read-write and chowned to the domain's uid
				     first (own:, as root) */
	bool die_with_parent;	  /* the init gets SIGKILL when the caller dies */
	char *const *argv;	  /* NULL: the init only reaps; else it runs argv (execvp) as
				     the domain's first process and exits with its status */
	int keep_fd;		  /* an fd the first process keeps (its token), or -1 */
	bool shared;		  /* no namespaces, view, uid nor filter: only the init that
				     runs argv and ends with it (pvio create --shared) */
	int out_fd;		  /* the domain's stdout and stderr (stdin /dev/null), or -1 */
	int (*setup)(void *arg);  /* run in the first process before exec (env), or NULL */
	void *setup_arg;	  /* its argument */
	const char *cgroup;	  /* launch/cgroup.h name the init is moved into before it runs
				     anything (its cgroups exist), or NULL */
	unsigned int fuse_fds;	  /* how many /dev/fuse descriptors the init opens for the
				     domain (SANDBOX_FUSE_ENV), at most SANDBOX_FUSE_MAX */
	bool same_uid;		  /* a normal user without subordinate ids (sandbox_ids_check):
				     the domain runs under the caller's own uid rather than
				     being refused */
	const char *init_prog;	  /* SANDBOX_INIT_PROG's path, the same in the domain's view,
				     or NULL (launch/sandbox.c sandbox_init) */
	const char *tun_node;	  /* host path (in a directory of root's) where sandbox_start
				     makes, as root, the domain's own /dev/net/tun: a node its
				     uid may open, so it makes TAPs in its own network namespace
				     (and nowhere else); NULL, not root, or a nodev file system:
				     the host's node, often root's alone.  The caller removes it. */
};

/*
 * The domain's /dev/fuse descriptors, "N M ...", in its first process's environment.  A domain
 * has no /dev/fuse of its own: the host's is root's only (0600), and the kernel mounts a FUSE
 * file system only from a descriptor opened in the mounting user namespace.  So the init opens
 * them inside the domain's user namespace before it takes the domain's uid, and keeps them for
 * processes that join later (pvio exec).  Each serves one mount, for the domain's whole life.
 */
#define SANDBOX_FUSE_ENV "PVIO_FUSE_FDS"
#define SANDBOX_FUSE_MAX 16

/*
 * The program a normal user's domain init execs once its domain is built, beside pvio-hv: it
 * reports success on descriptor REPORT, reaps, and exits as process FIRST does (0: never).
 * Its main is sandbox_init_main(argc, argv).
 */
#define SANDBOX_INIT_PROG "pvio-init"
int sandbox_init_main(int argc, char **argv);

/*
 * Start the domain's init.  *init gets its pid (a child of the caller) and *nsdir its /proc
 * directory (O_PATH, close-on-exec: its namespaces, for sandbox_join)
 * (close-on-exec).  Returns once the view is built; a failure inside, or argv's exec failure,
 * comes back as its negative errno.
 */
int sandbox_start(const struct sandbox_opts *o, pid_t *init, int *nsdir);

/*
 * In a child forked by the caller: become a process of the domain whose init nsdir is, except
 * for its pid namespace (which only a fork after sandbox_join_pid gives; with_user joins the
 * user namespace too, which a normal user needs to be allowed the pid one): its user (uid 0 inside,
 * the domain's uid outside), mount, ipc and network namespaces, no new privileges, the seccomp
 * filter.
 */
int sandbox_join_pid(int nsdir, bool with_user);
/*
 * parent_dir: the parent's /proc directory (sandbox_self_dir), whose death then kills the
 * caller (SIGKILL), or SANDBOX_NO_PARENT.
 * in_user: the caller joined the user namespace already (sandbox_join_pid with_user).
 */
int sandbox_join(int nsdir, int parent_dir, bool in_user);

/* sandbox_join's parent_dir when the caller should not die with its parent. */
#define SANDBOX_NO_PARENT (-0x7fffffff)

/*
 * PR_SET_PDEATHSIG SIGKILL, and -ESRCH if the parent, whose /proc directory parent_dir is
 * (sandbox_self_dir), has already exited.  Set after any change of ids, which clears it.
 */
int sandbox_die_with(int parent_dir);

/* This process's /proc/<pid> directory (O_PATH, close-on-exec), or a negative errno. */
int sandbox_self_dir(void);

/*
 * The /dev/fuse descriptors of the domain whose init is pid (from its /proc/PID/fd): into
 * fds[0..max), their count returned, or a negative errno.
 */
int sandbox_fuse_fds(pid_t pid, int *fds, unsigned int max);

/* Where a toolstack whose runtime directory is rundir has domid's tun_node made (into buf). */
void sandbox_tun_path(const char *rundir, domid_t domid, char *buf, size_t len);

/*
 * The host uid of domain domid's processes: uid_base + domid as root; as a normal user, its
 * subordinate uid (launch/subid.h), else the caller's own (geteuid()).
 */
uid_t sandbox_uid(domid_t domid, uid_t uid_base);

/*
 * Whether an isolated domain domid can be started with a host uid of its own: 0 (root, or a
 * normal user with subordinate ids, or same_uid given), else -errno and a one-line reason in
 * why[len].  sandbox_start refuses such a domain with the same errno.
 */
int sandbox_ids_check(domid_t domid, bool same_uid, char *why, size_t len);

/*
 * Give paths[0..n) (the caller's) to domain domid's uid and gid: chown as root, through a user
 * namespace as a normal user (launch/subid.h); nothing when the domain has the caller's uid.
 * A symlink at a path is refused (-ELOOP), never followed, and so is one on the way that is
 * neither root's nor the caller's (subid_open_trusted).
 */
int sandbox_give(const char *const *paths, size_t n, domid_t domid, uid_t uid_base);

/*
 * Let domain domid connect to its xenstored socket sock: as root the socket and its directory
 * become the domain's; as a normal user the socket does and the directory, which the daemon must
 * still write, becomes searchable (the runtime directory above it keeps others out).
 */
int sandbox_give_xs(const char *sock, domid_t domid, uid_t uid_base);

/*
 * How many processes run in the pid namespace of init, init excluded; negative errno (-EINVAL
 * for a shared domain's init, which is in the caller's namespace).
 */
int sandbox_count(pid_t init);

/*
 * Install the filter: an allowlist of the calls a normal program makes (launch/sandbox.c),
 * everything else refused with EPERM, another ABI (i386, x32) killed.  Used by sandbox_join
 * and the init.  Under valgrind, which does not know seccomp(2), nothing is installed.
 */
int sandbox_seccomp(void);

#endif
