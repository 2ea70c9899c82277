/* SPDX-License-Identifier: MIT */
/*
 * simctl.h - the toolstack's (dom0's) control client of the embedded
 * hypervisor pvio-hv(8): create, list and destroy domains, hear of their
 * deaths, and start processes inside a domain.
 *
 * Every call returns 0 (or a count where said) or a negative errno; nothing
 * here prints or exits.  path arguments may be NULL: $PVIO_HV_SOCKET, else
 * the per-user default (hvsim_socket_path()).
 */
#ifndef PVIO_HV_SIMCTL_H
#define PVIO_HV_SIMCTL_H

#include <sys/types.h>

#include "hv/simproto.h"

struct hvctl;

/* Connect to pvio-hv and open a dom0 session. */
int hvctl_open(struct hvctl **ctl, const char *path);
void hvctl_close(struct hvctl *ctl);

/*
 * Create a domain named name ([A-Za-z0-9._-], unique among live domains:
 * -EEXIST otherwise) with pool_pages grantable pages (0: the daemon's
 * default).  *token_fd receives the domain's token (close-on-exec): the
 * domain lives while a copy of it is open or one of its processes has a
 * session, so close it once the domain's first process has it.
 */
int hvctl_domain_create(struct hvctl *ctl, const char *name, unsigned int pool_pages,
			domid_t *domid, int *token_fd);
/* Kill the domain's processes and tear it down; -ESRCH if it is not alive. */
int hvctl_domain_destroy(struct hvctl *ctl, domid_t domid);

struct hvctl_domain_info {
	domid_t domid;		   /* its id */
	char name[HVSIM_NAME_MAX]; /* its name */
	unsigned int sessions;	   /* processes with an open session */
	unsigned int pool_pages;   /* pages in its pool */
	unsigned int pool_used;	   /* pool pages in live shares */
};
/*
 * Fill out[0..max) with the live domains other than dom0, in id order.
 * Returns how many were filled: max means there may be more.
 */
int hvctl_domain_list(struct hvctl *ctl, struct hvctl_domain_info *out, unsigned int max);
/* The daemon's fairness counts (HVSIM_FAIRNESS): dom0's requests read, and the most requests of
 * guests read while one of dom0's waited.  0 or a negative errno. */
int hvctl_fairness(struct hvctl *ctl, uint64_t *dom0_reqs, unsigned int *ahead_max);

/*
 * Open a death stream: *fd (close-on-exec, blocking; make it non-blocking
 * to poll it) then carries one message per domain death.
 */
int hvctl_subscribe(const char *path, int *fd);
/*
 * Read one death from a stream: *domid gets the dead domain.  -EAGAIN when
 * fd is non-blocking and no death is queued, -ECONNRESET if the daemon went.
 */
int hvctl_death_read(int fd, domid_t *domid);

/*
 * In a child after fork(), before exec: make this process part of the
 * domain whose token is token_fd.  Keeps the token across exec and sets
 * $PVIO_HV_FD and $PVIO_HV=sim for hv_open(); unsets $PVIO_HV_SOCKET, so
 * that nothing in the domain's environment names dom0's main socket (path
 * is ignored: the token alone reaches pvio-hv).
 */
int hvctl_enter_domain(int token_fd, const char *path);
/*
 * fork(), enter the domain, execvp(argv[0], argv).  *pid gets the child;
 * an exec failure comes back as its negative errno (the child is reaped).
 * The caller keeps its own token_fd.
 */
int hvctl_spawn(const char *path, int token_fd, char *const argv[], pid_t *pid);

#endif
