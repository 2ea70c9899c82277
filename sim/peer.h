/* SPDX-License-Identifier: MIT */
/*
 * peer.h - what pvio-hv(8) and pvio-xenstored(8) share about their
 * clients: who is on the other end of a main socket (both admit dom0 only
 * from dom0's own credentials), and the descriptors clients may take.
 */
#ifndef PVIO_SIM_PEER_H
#define PVIO_SIM_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Whether the process that connected fd is dom0: the daemon's own uid, in
 * the daemon's own user and pid namespaces.  0 if it is; otherwise -EPERM
 * (or -errno when the kernel could not say) with the reason, naming the
 * peer's pid and uid, in why[len].
 */
int peer_is_dom0(int fd, char *why, size_t len);

/*
 * A pidfd of the process that made socket fd, whose SO_PEERCRED pid is pid: SO_PEERPIDFD
 * (Linux >= 6.5: that process, even after it exited and its pid was reused), else one opened
 * on pid (older kernels: racy, the pid may be another process's by now).  The pidfd, or -errno.
 */
int peer_pidfd(int fd, pid_t pid);

/*
 * Which namespace of this kind ("user", "pid") process pid lives in, as the
 * device and inode of /proc/PID/ns/KIND, read while pidfd (a pidfd of pid)
 * shows the process alive before and after: 0, or -errno (-ESRCH: gone).
 */
int peer_ns_id(pid_t pid, int pidfd, const char *kind, uint64_t *dev, uint64_t *ino);

/*
 * Whether process pid's user namespace is the one identified by dev and ino
 * (from peer_ns_id) or nested inside it, while pidfd shows the process alive
 * after the lookup: 1 if it is, 0 if not, -errno (-ESRCH: gone).
 */
int peer_userns_within(pid_t pid, int pidfd, uint64_t dev, uint64_t ino);

/*
 * Raise our descriptor limit to its hard limit (clients cost descriptors):
 * the limit we now have, capped at INT_MAX.
 */
unsigned int peer_nofile_raise(void);

/* The descriptors to keep out of guests' reach by default: a quarter, at least 64. */
unsigned int peer_fd_reserve(unsigned int nofile);

#endif
