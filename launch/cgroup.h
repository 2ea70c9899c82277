/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - a domain's memory and pids limits: one cgroup per limited controller,
 * /sys/fs/cgroup/<memory|pids>/pvio/<name> on the cgroup v1 hierarchies these hosts mount, or
 * /sys/fs/cgroup/pvio/<name> when a cgroup2 root delegates the controller (subtree_control).
 *
 * A limit asked for and not applied would let a domain exhaust the host unseen, so a missing or
 * unwritable controller is an error (-EOPNOTSUPP, or the errno of the write), never a skip.
 * Every call returns 0 or a negative errno and never exits.
 */
#ifndef PVIO_LAUNCH_CGROUP_H
#define PVIO_LAUNCH_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

/* What a domain may use; 0 is no limit. */
struct cgroup_limits {
	uint64_t memory; /* bytes */
	uint32_t pids;	 /* processes (threads count as the kernel counts them) */
};

/* The limits name a controller at all. */
static inline bool cgroup_limited(const struct cgroup_limits *l)
{
	return l && (l->memory || l->pids);
}

/*
 * The cgroup name of domain domid of the runtime directory dir: unique per runtime directory
 * (its device and inode), so that two launchers' domains with the same domid never share one.
 */
int cgroup_name(const char *dir, domid_t domid, char *buf, size_t len);

/*
 * Create name's cgroups for the limits set in l and write the limits.  On failure nothing is
 * left behind; what failed is in why (the controller), when why is not NULL.
 */
int cgroup_create(const char *name, const struct cgroup_limits *l, char *why, size_t why_len);

/* Move process pid (0: the caller) into every cgroup of name that exists. */
int cgroup_attach(const char *name, pid_t pid);

/*
 * Remove name's cgroups (those that exist): rmdir, retried for a short while on EBUSY, as the
 * kernel frees a cgroup only once its last process is reaped.
 */
int cgroup_remove(const char *name);

/*
 * Remove every cgroup of the runtime directory dir (cgroup_name's), of domains that ended on
 * their own as well: for when its daemons stop.
 */
int cgroup_remove_all(const char *dir);

/* Parse "256M", "1G", "4096", "64k" into bytes; -EINVAL if not a positive size. */
int cgroup_parse_size(const char *s, uint64_t *bytes);

#endif
