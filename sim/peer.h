/* SPDX-License-Identifier: MIT */
/*
 * peer.h - who is on the other end of a main socket: shared by pvio-hv(8)
 * and pvio-xenstored(8), which both admit dom0 only from dom0's own
 * credentials.
 */
#ifndef PVIO_SIM_PEER_H
#define PVIO_SIM_PEER_H

#include <stddef.h>

/*
 * Whether the process that connected fd is dom0: the daemon's own uid, in
 * the daemon's own user and pid namespaces.  0 if it is; otherwise -EPERM
 * (or -errno when the kernel could not say) with the reason, naming the
 * peer's pid and uid, in why[len].
 */
int peer_is_dom0(int fd, char *why, size_t len);

#endif
