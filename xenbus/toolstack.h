/* SPDX-License-Identifier: MIT */
/*
 * toolstack.h - what the toolstack (libxl's libxl__device_generic_add and
 * libxl__initiate_device_generic_remove) does to xenstore to create and
 * remove a split device.
 *
 * Create, in one transaction:
 *	/local/domain/<fe>/device/<kind>/<devid>	perms [n<fe>, r<be>]
 *		backend, backend-id, state=1, extras
 *	/local/domain/<be>/backend/<bkind>/<fe>/<devid>	perms [n<be>, r<fe>]
 *		frontend, frontend-id, online=1, state=1, extras
 * Remove: xenbus_device_detach() (online=0, and state=5 unless the back-end
 * is already Closed), wait for the back-end to reach Closed
 * (xenbus_device_wait_closed), then xenbus_device_remove().  The toolstack
 * in dom0 removes the back-end directory too: a driver domain cannot
 * delete its parent directory (Qubes #5369).
 */
#ifndef PVIO_XENBUS_TOOLSTACK_H
#define PVIO_XENBUS_TOOLSTACK_H

#include <stddef.h>

#include "xenbus/xenbus.h"

/* One extra key of a device directory. */
struct xenbus_kv {
	const char *key;   /* relative to the device directory */
	const char *value; /* its value */
};

/* What a device is and where it lives. */
struct xenbus_device_spec {
	const char *kind;		     /* front-end dir name: "vbd", "vif" */
	const char *backend_kind;	     /* back-end dir name ("qdisk"...); NULL: kind */
	unsigned int devid;		     /* device id, e.g. 51712 for xvda */
	domid_t frontend_id;		     /* the guest */
	domid_t backend_id;		     /* the (driver) domain serving it */
	const struct xenbus_kv *front_extra; /* extra front keys */
	size_t n_front_extra;		     /* how many */
	const struct xenbus_kv *back_extra;  /* extra back keys */
	size_t n_back_extra;		     /* how many */
};

/* The two directories, in buf (-ENAMETOOLONG, -EINVAL for a bad kind). */
int xenbus_frontend_path(const struct xenbus_device_spec *spec, char *buf, size_t len);
int xenbus_backend_path(const struct xenbus_device_spec *spec, char *buf, size_t len);

/* Create both directories; -EEXIST if either already exists. */
int xenbus_device_add(struct xs_handle *xs, const struct xenbus_device_spec *spec);

/* Ask the back-end to close: online=0, state=Closing unless already Closed. */
int xenbus_device_detach(struct xs_handle *xs, const struct xenbus_device_spec *spec);

/* Wait up to timeout_ms for the back-end's state to read Closed (or be gone). */
int xenbus_device_wait_closed(struct xs_handle *xs, const struct xenbus_device_spec *spec,
			      int timeout_ms);

/* Remove without waiting for the back-end to be Closed. */
#define XENBUS_REMOVE_FORCE 1u

/*
 * Remove both directories (and the back-end's then empty <bkind>/<fe>
 * parent) in one transaction.  Without XENBUS_REMOVE_FORCE, -EBUSY unless
 * the back-end is Closed.  Directories already gone are not an error.
 */
int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device_spec *spec,
			 unsigned int flags);

#endif
