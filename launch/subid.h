/* SPDX-License-Identifier: MIT */
/*
 * subid.h - a normal user's domains under host uids of their own.
 *
 * Without privilege, a process may map only its own uid into a user namespace: every domain
 * would then run as the caller, and one domain could ptrace another (no Yama here) or dom0.
 * The shadow suite's set-uid helpers newuidmap(1) and newgidmap(1) map the ranges
 * /etc/subuid and /etc/subgid give the user instead: domain domid runs as host uid
 * <subuid start> + domid and gid <subgid start> + domid, distinct from the caller's and from
 * every other domain's.  Root needs none of this (launch/sandbox.c writes the maps itself).
 *
 * Every call returns 0 or a negative errno and never exits.
 */
#ifndef PVIO_LAUNCH_SUBID_H
#define PVIO_LAUNCH_SUBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

/*
 * The host uid and gid of domain domid of the calling (normal) user: 0, or -errno and a one-line
 * reason in why[len] naming what is missing: newuidmap or newgidmap (-ENOENT), a range for the
 * user in /etc/subuid or /etc/subgid (-ENOENT; a range whose start plus count passes the
 * largest id is not one), a range large enough for domid (-ERANGE), an id that is no one else's
 * (-EEXIST: the caller's own, or an account's or group's), or user namespaces (-EPERM).
 */
int subid_ids(domid_t domid, uid_t *uid, gid_t *gid, char *why, size_t len);

/*
 * Map uid and gid as 0 in the user namespace of process pid (a child of the caller's uid,
 * waiting for it), through newuidmap and newgidmap.  With self, the caller's own uid and gid
 * become 0 and uid and gid 1 instead (subid_chown's map).  -EPERM if either helper refused.
 */
int subid_map(pid_t pid, uid_t uid, gid_t gid, bool self);

/*
 * Open absolute path with O_PATH, following on the way only symlinks the caller could have
 * made (owned by root or by the caller's effective uid): one of anyone else's (a domain's, in a
 * directory it owns) is refused with -ELOOP, since it could point at any file of the caller's.
 * A symlink as the last component is opened itself (O_NOFOLLOW), whoever owns it, when
 * last_nofollow.  The descriptor, or -errno.
 */
int subid_open_trusted(const char *path, bool last_nofollow);

/*
 * chown path to uid and gid without following a symlink at it (-ELOOP), nor one on the way that
 * the caller did not make (subid_open_trusted): a domain that owned a directory on the path may
 * have left one pointing at a file of the caller's.
 */
int subid_chown_path(const char *path, uid_t uid, gid_t gid);

/*
 * chown each of paths[0..n) (the caller's) to uid and gid (one of the caller's subordinate
 * ids): a normal user may not, but a child in a user namespace mapping both the caller's ids
 * and those may.  Symlinks at paths are refused (subid_chown_path).
 */
int subid_chown(const char *const *paths, size_t n, uid_t uid, gid_t gid);

#endif
