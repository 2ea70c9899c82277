/* SPDX-License-Identifier: MIT */
/*
 * xenbus.h - a device's view of xenstore: its own directory, the other
 * end's directory, and the XenbusState handshake between them.
 *
 * A front-end's device directory holds `backend` and `backend-id`; a
 * back-end's holds `frontend` and `frontend-id` (written by the toolstack,
 * see xenbus/toolstack.h).  Everything under the other end's directory is
 * written by the other domain and is hostile: values are parsed strictly
 * and re-read after every watch event rather than trusted from the event.
 *
 * Watch events are coalesced: a device keeps one watch on <otherend>/state
 * and, however many events arrive, re-reads that one key (XSA-349: a peer
 * that floods events costs a bounded amount of work per call).
 *
 * Every function returns 0 or a negative errno and never exits.
 */
#ifndef PVIO_XENBUS_XENBUS_H
#define PVIO_XENBUS_XENBUS_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/io/xenbus.h>
#include <xenstore.h>

#include "hv/log.h"

/* Which end of a split device this handle drives. */
enum xenbus_role {
	XENBUS_FRONTEND, /* reads `backend`, `backend-id` from its own dir */
	XENBUS_BACKEND,	 /* reads `frontend`, `frontend-id` from its own dir */
};

/* Bounded retries of a transaction that ends with EAGAIN. */
#define XENBUS_TXN_RETRIES 16
/* Watch events handled, and drained, per call of xenbus_otherend_changed(). */
#define XENBUS_EVENTS_MAX 16
#define XENBUS_DRAIN_MAX  4096

/* One end of a device. */
struct xenbus_dev {
	struct xs_handle *xs;		  /* connection (not owned) */
	enum xenbus_role role;		  /* front or back */
	char *nodename;			  /* our device directory (owned) */
	char *otherend;			  /* the other end's directory (owned) */
	domid_t otherend_id;		  /* the other end's domain */
	char *otherend_state_path;	  /* <otherend>/state (owned) */
	char token[48];			  /* token of our watch on <otherend>/state */
	bool watching;			  /* whether that watch is registered */
	enum xenbus_state state;	  /* the last state we wrote or read back */
	enum xenbus_state otherend_state; /* the other end's state, last read */
	struct pvio_log *log;		  /* xenbus_dev_error's; NULL: stderr at WARN (set
					     after open) */
};

/* "Initialising", "Connected", ...; "Invalid" for a value outside the enum. */
const char *xenbus_state_name(enum xenbus_state state);

/*
 * Fill dev for the device directory nodename on connection xs: read the
 * other end's directory and domain id from our `backend`/`backend-id` (a
 * front-end) or `frontend`/`frontend-id` (a back-end).  The other end's
 * directory must lie under /local/domain/<its id>/.  xenbus_dev_close()
 * unwatches and frees what this allocated (not xs).
 */
int xenbus_dev_open(struct xenbus_dev *dev, struct xs_handle *xs, enum xenbus_role role,
		    const char *nodename);
void xenbus_dev_close(struct xenbus_dev *dev);

/*
 * Fill dev from paths the caller trusts (the toolstack computes both from
 * the device's spec rather than read them from a guest-owned directory).
 */
int xenbus_dev_init(struct xenbus_dev *dev, struct xs_handle *xs, enum xenbus_role role,
		    const char *nodename, const char *otherend, domid_t otherend_id);

/* Parse a decimal in [0, max]: digits only, the whole string.  0 or -EINVAL/-ERANGE. */
int xenbus_parse_u32(const char *str, uint32_t max, uint32_t *val);
/* Parse a vif's `mac`, "xx:xx:xx:xx:xx:xx" in hex, the whole string.  0 or -EINVAL. */
int xenbus_parse_mac(const char *str, uint8_t mac[6]);

/*
 * Read <dir>/<key> as a string (free() it) or as a u32 (xenbus_parse_u32
 * with max UINT32_MAX).  A value with an embedded NUL is -EINVAL.
 */
int xenbus_read_str_at(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		       char **val);
int xenbus_read_u32_at(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		       uint32_t *val);

/* The same, relative to our own directory, and to the other end's. */
int xenbus_read_str(struct xenbus_dev *dev, xs_transaction_t t, const char *key, char **val);
int xenbus_read_u32(struct xenbus_dev *dev, xs_transaction_t t, const char *key, uint32_t *val);
int xenbus_otherend_read_str(struct xenbus_dev *dev, xs_transaction_t t, const char *key,
			     char **val);
int xenbus_otherend_read_u32(struct xenbus_dev *dev, xs_transaction_t t, const char *key,
			     uint32_t *val);

/* Write <our dir>/<key> = printf(fmt, ...). */
__attribute__((format(printf, 4, 5))) int xenbus_printf(struct xenbus_dev *dev, xs_transaction_t t,
							const char *key, const char *fmt, ...);

/*
 * Run fn in a transaction on xs: start, fn, end; retry while the end (or
 * fn) fails with EAGAIN, at most XENBUS_TXN_RETRIES times.  A negative
 * return from fn aborts the transaction and is returned.
 */
int xenbus_xs_transaction(struct xs_handle *xs,
			  int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg),
			  void *arg);
/* The same for a device: fn gets dev. */
int xenbus_transaction(struct xenbus_dev *dev,
		       int (*fn)(struct xenbus_dev *dev, xs_transaction_t t, void *arg), void *arg);

/*
 * Report an error on the device as Linux's xenbus_dev_error does: log it
 * (through dev->log) and write "<-err> <message>" (Linux's "%i %s" with the
 * positive errno) to the key `error` of the node error/<nodename relative to
 * our home>, e.g. /local/domain/<our id>/error/backend/vbd/<fe>/<devid>/error
 * for a back-end.  err is a negative errno.  Best effort: a failure to write
 * is only logged.  xenbus_dev_fatal() also switches our state to Closing.
 */
__attribute__((format(printf, 3, 4))) void xenbus_dev_error(struct xenbus_dev *dev, int err,
							    const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void xenbus_dev_fatal(struct xenbus_dev *dev, int err,
							    const char *fmt, ...);
/* The error node's path for dev (free() it), or NULL when out of memory. */
char *xenbus_dev_error_path(const struct xenbus_dev *dev);

/*
 * Write our `state` in a transaction; no write when it already holds state, and -ENOENT when our
 * directory is gone (the toolstack removed the device: a late switch must not recreate it).
 */
int xenbus_switch_state(struct xenbus_dev *dev, enum xenbus_state state);

/*
 * Read <otherend>/state into *state.  A missing key, or one xenstored
 * refuses with EACCES (its directory deleted under a parent we may not
 * read), reads as XenbusStateUnknown (the other end has gone); a value
 * outside the enum is -EINVAL.
 */
int xenbus_read_otherend_state(struct xenbus_dev *dev, enum xenbus_state *state);

/* Watch <otherend>/state with the device's own token (idempotent); and stop. */
int xenbus_watch_otherend(struct xenbus_dev *dev);
int xenbus_unwatch_otherend(struct xenbus_dev *dev);

/*
 * Consume pending watch events without blocking: at most XENBUS_EVENTS_MAX,
 * then drain (drop) up to XENBUS_DRAIN_MAX more.  If any was for our token,
 * or any was dropped, re-read the other end's state into *state and return
 * 1; 0 if nothing relevant was pending.  Dropping is safe because a handler
 * re-reads state; so the handle must carry only watches handled that way.
 */
int xenbus_otherend_changed(struct xenbus_dev *dev, enum xenbus_state *state);

/* A set of states for xenbus_wait_otherend(). */
#define XENBUS_STATE_BIT(state) (1u << (state))

/*
 * Wait up to timeout_ms for the other end's state to be in the set mask
 * (XENBUS_STATE_BIT()s), watching it if not yet: a state it passes through
 * between two reads goes unseen, so wait for every state it may have moved
 * on to.  0, -ETIMEDOUT, or another negative errno; *state (may be NULL)
 * gets the last state read.
 */
int xenbus_wait_otherend(struct xenbus_dev *dev, unsigned int mask, int timeout_ms,
			 enum xenbus_state *state);
/* The same for one state. */
int xenbus_wait_otherend_state(struct xenbus_dev *dev, enum xenbus_state want, int timeout_ms,
			       enum xenbus_state *state);

#endif
