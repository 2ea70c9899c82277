/* SPDX-License-Identifier: MIT */
/*
 * ns-helpers.h - a process that stands where a domain's process will stand:
 * in a user namespace of its own (root inside, some host uid outside),
 * optionally in a pid namespace of its own too.  For the tests of what the
 * daemons admit as dom0.
 */
#ifndef PVIO_TESTS_NS_HELPERS_H
#define PVIO_TESTS_NS_HELPERS_H

#include <sys/types.h>

/*
 * Make the calling child die (SIGKILL) when its parent does, so that a test
 * that fails early leaves none of its children behind: 0, or -1 if the
 * parent is gone already.
 */
int t_die_with_parent(void);

/*
 * Fork a child that enters new namespaces (flags: CLONE_NEWUSER, with
 * CLONE_NEWPID optional), whose uid and gid 0 inside map to host_uid and
 * host_gid outside (written by the parent, which must be root or own those
 * ids), and _exit(fn(arg)) there; it dies with its parent.  *pid the child; reap it with t_wait().
 * 0, or -errno (T_SKIP-worthy when the kernel refuses the namespace: the
 * child then exits with T_SKIP).
 */
int t_ns_fork(int flags, uid_t host_uid, gid_t host_gid, int (*fn)(void *), void *arg, pid_t *pid);

/*
 * t_ns_fork with host uid and gid uid, then reap the child: its status (T_PASS, T_FAIL, T_SKIP
 * when the kernel has no such namespaces), saying "FAIL: what: ..." when it is not one of those.
 */
int t_ns_run(int flags, uid_t uid, int (*fn)(void *), void *what);

/* A host uid and gid nobody uses, for a process that is not the daemon's user. */
#define T_NS_OTHER_ID 0x7e5700

/*
 * Run try (which must see itself refused as dom0, and return T_PASS then) in
 * each place a domain's process may stand: root of a user namespace mapped
 * to our uid, or to another host uid, in a pid namespace of its own as well,
 * and in a pid namespace alone.  T_PASS, T_FAIL, or T_SKIP if this is no
 * root or the kernel has no user namespaces, after saying so.
 */
int t_ns_not_dom0(int (*try)(void *what));

/* Let every uid reach the socket at path (its directory 0755, itself 0666): 0 or -errno. */
int t_socket_open_to_all(const char *path);

#endif
