/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - how a back-end daemon of a driver domain gives up what it does not need, once it
 * has opened everything it needs (hypervisor handle, xenstore connection, event fds, storage):
 * a configured user and group, no capabilities in any set (bounding included) with securebits
 * locked so uid 0 cannot regain them, PR_SET_NO_NEW_PRIVS, and a seccomp allowlist that kills
 * the process on any other system call.  Shared by every back-end daemon (pvio-blkback(8),
 * pvio-netback(8), whose TAP helper keeps one capability: taphelper.h).
 */
#ifndef PVIO_DRIVERDOMAIN_SANDBOX_H
#define PVIO_DRIVERDOMAIN_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* System calls a seccomp filter allows, ioctl types (the request's second byte) and requests. */
struct dd_sandbox_filter {
	const char *const *calls; /* libseccomp names; those this architecture lacks are skipped */
	size_t nr_calls;
	const unsigned char *ioctl_types;
	size_t nr_ioctl_types;
	const unsigned int *ioctls; /* exact requests (TUNSETIFF...) */
	size_t nr_ioctls;
};

/*
 * What every back-end daemon needs once serving (sandbox.c): memory, threads, signals, polling,
 * the xenstore and hypervisor sockets, Xen's ioctls, statistics files.  Without a filter of its
 * own a daemon gets this and what disks need, and ioctls of type 'T' (pvio-blkback's list).
 */
extern const struct dd_sandbox_filter dd_sandbox_common;

/* What the command line asks for, and what the daemon needs beyond dropping everything. */
struct dd_sandbox {
	const char *prog; /* program name for messages */
	const char *user; /* --user USER[:GROUP]; NULL: keep the current uid and gid */
	bool allow_root;  /* --allow-root: on Xen, serve as root (capabilities still dropped) */
	bool off;	  /* --no-sandbox: keep uid, capabilities and every system call (debug) */
	uid_t uid;	  /* resolved by dd_sandbox_resolve */
	gid_t gid;	  /* resolved by dd_sandbox_resolve */
	/*
	 * NULL: dd_sandbox_common and the disks' calls.  A sanitizer build adds what LeakSanitizer
	 * needs.
	 */
	const struct dd_sandbox_filter *filter;
	const struct dd_sandbox_filter *extra; /* added to filter; NULL: nothing */
	/* Capabilities kept in the permitted, effective and bounding sets: 1 << CAP_*, else 0. */
	uint64_t keep_caps;
};

/*
 * Resolve s->user (a name or a number, optionally ":GROUP"; without a group, the user's primary
 * group) before anything is dropped: 0, or -1 with the reason printed.
 */
int dd_sandbox_resolve(struct dd_sandbox *s);

/*
 * Drop privilege as configured: 0, or -1 with the reason printed (the caller exits: a daemon
 * that could not sandbox itself must not serve).  on_xen: the hypervisor is Xen, where uid 0 is
 * the host's root: refused without --user unless --allow-root.  Nothing opened after this may
 * need privilege (but s->keep_caps), and only the system calls of s->filter and s->extra
 * remain.
 */
int dd_sandbox_enter(struct dd_sandbox *s, bool on_xen);

#endif
