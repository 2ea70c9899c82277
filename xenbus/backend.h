/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the part of a back-end device's control plane that is the same whatever the
 * device (backend/blk/xenbus.c's vbd and qdisk, backend/net/xenbus.c's vif), on the device's
 * struct xenbus_dev: its directory's name, opening it, switching and logging our state, the
 * `online` flag and our stored state that Linux's back ends and the restart rule read, and
 * whether the toolstack removed the directory.  The state machines stay the devices' own.
 */
#ifndef PVIO_XENBUS_BACKEND_H
#define PVIO_XENBUS_BACKEND_H

#include "xenbus/xenbus.h"

/*
 * Split a back-end directory /local/domain/<be>/backend/<kind>/<fe>/<devid> (kind at most 15
 * characters of [a-z0-9_-], each number decimal in canonical form below 2^32): 0 or -EINVAL.
 * The device bounds fe and devid as it needs.
 */
int xenbus_backend_parse(const char *nodename, char kind[16], unsigned int *fe,
			 unsigned int *devid);
/* Open xd as the back end at nodename, its messages to log (NULL: stderr): 0 or -errno. */
int xenbus_backend_open(struct xenbus_dev *xd, struct xs_handle *xs, const char *nodename,
			struct pvio_log *log);
/* xd's logger: its own, or stderr at PVIO_LOG_WARN. */
struct pvio_log *xenbus_backend_log(const struct xenbus_dev *xd);
/* Switch to state and log it as "<prefix>: <name>: -> <state>" (or why it failed). */
void xenbus_backend_switch(struct xenbus_dev *xd, const char *prefix, const char *name,
			   enum xenbus_state state);
/* Linux's xenbus_dev_is_online: `online` absent or unreadable counts as 0. */
bool xenbus_backend_online(struct xenbus_dev *xd);
/* Our own state as stored (the restart rule); Initialising when absent, unreadable or bad. */
enum xenbus_state xenbus_backend_own_state(struct xenbus_dev *xd);
/* 1 when our directory is gone (the toolstack removed the device), else 0. */
int xenbus_backend_gone(struct xenbus_dev *xd);
/*
 * What a driver domain's `xl devd` does once libxl let a device go (libxl__device_destroy:
 * "the driver domain is in charge of removing what it can from the backend path"): remove the
 * back-end directory at nodename and its front end's directory above it if that is then empty.
 * Only if the device is finished, state Closed and online 0, as read in the transaction that
 * removes it, so that a toolstack writing the directory anew meanwhile wins.  1 removed, 0 not
 * finished (nothing done), or a negative errno.
 */
int xenbus_backend_remove_finished(struct xs_handle *xs, const char *nodename);
/*
 * Whether the device at nodename is finished (state Closed and online 0, as libxl leaves it):
 * a back end finding one serves it no more (it would only close it again).
 */
bool xenbus_backend_finished(struct xs_handle *xs, const char *nodename);
/*
 * xenbus_backend_remove_finished, its outcome logged to log as "<prefix>: <nodename>: ...":
 * what a driver domain's daemon does for a device it let go (pvio-blkback, pvio-netback).
 */
void xenbus_backend_let_go(struct xs_handle *xs, const char *nodename, struct pvio_log *log,
			   const char *prefix);

#endif
