/* SPDX-License-Identifier: MIT */
/*
 * simproto.h - the contract between pvio-hv (sim/) and its clients (hv/sim*.c,
 * hv/simctl.c): the socket protocol, the shared-memory layouts, and the grant
 * pin protocol that both the mapping client and the daemon's cleanup follow.
 *
 * Connections.  Every connection is an AF_UNIX SOCK_SEQPACKET socket carrying
 * fixed-size struct hvsim_msg records, one request then one reply (plain RPC:
 * the daemon never sends anything unasked, except on a subscription), with
 * file descriptors passed as SCM_RIGHTS.
 *   - The toolstack (dom0) connects to the main socket; the daemon accepts
 *     only a peer whose SO_PEERCRED uid is its own or 0.
 *   - A domain is a socketpair made at DOMAIN_CREATE: the daemon keeps one end,
 *     the domain's processes inherit the other (the "token", $PVIO_HV_FD).
 *     A process opens a private session by sending HELLO on the token with
 *     one end of a fresh socketpair attached; all its RPCs then go over that
 *     private socket, so processes sharing the token never read each other's
 *     replies.  A token cannot be forged: it exists only as an inherited fd.
 *   - A domain dies when every copy of its token is closed (the daemon sees
 *     EPOLLHUP) and its last session has closed, or when dom0 destroys it.
 *
 * Shared memory (all memfds made by the daemon, sealed against shrinking and
 * growing, mode 0 so that a process of another uid cannot reopen one through
 * /proc/PID/fd with more access than it was given):
 *   - the grant table of a domain: grant_entry_v1_t[HVSIM_GNT_ENTRIES],
 *     read-write to the domain's own sessions, read-only (an O_RDONLY fd) to
 *     the domains that it granted something to;
 *   - the pools of a granter G for a peer P: a read-only pool and a writable
 *     pool, pool_pages pages each, made at G's first share with P.  G's
 *     sessions map both read-write; P alone receives them, the read-only pool
 *     as an O_RDONLY fd.  An entry's frame names a page of the pools of
 *     (granter, the entry's domid): frames 0 .. pool_pages - 1 are pages of
 *     the read-only pool, pool_pages .. 2 * pool_pages - 1 of the writable
 *     one.  So a domain can read only pages shared with it and write only
 *     pages shared with it writable, whatever it does with its fds;
 *   - per session, the event-channel status array uint16_t[HVSIM_MAX_PORTS]
 *     (HVSIM_PORT_STATE() and HVSIM_PORT_GEN() of each port the session owns),
 *     written by the daemon only (F_SEAL_FUTURE_WRITE);
 *   - per (granter, mapping domain), the active table: struct hvsim_active[],
 *     the mapping domain's pins, written by its sessions and read by the
 *     daemon when the granter ends an entry, never handed to another domain;
 *   - per (granter, mapping session), the pin records: struct hvsim_pinrec[],
 *     so that the daemon can drop a dead session's pins.
 *
 * Pin protocol.  A mapper pins an entry (atomic increment in its active
 * table), then, after a full barrier, reads the entry and checks that it
 * grants the access; if not, it unpins and fails.  Ending an entry (the
 * daemon, at GRANT_FREE) clears GTF_permit_access, then, after a full
 * barrier, reads the pins of the one domain the entry names; if any, it
 * restores the entry and fails with -EBUSY.  Either the mapper sees the entry
 * ended or the daemon sees the pin.  A hostile mapper can only corrupt its
 * own domain's pins: then its granter cannot end the entry (as if it kept it
 * mapped), or ends it under it, and the freed page, zeroed, goes back to the
 * pool that only that mapper can see.
 */
#ifndef PVIO_HV_SIMPROTO_H
#define PVIO_HV_SIMPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>

#define HVSIM_SOCKET_ENV "PVIO_HV_SOCKET" /* path of the main socket */
#define HVSIM_FD_ENV	 "PVIO_HV_FD"	  /* a domain process's inherited token fd */

/* 32 frames of v1 entries: Xen's default max_grant_frames. */
#define HVSIM_GNT_ENTRIES 16384u
/* Granted pages per domain unless DOMAIN_CREATE asks otherwise (64 MiB, sparse). */
#define HVSIM_POOL_PAGES_DEFAULT 16384u
#define HVSIM_POOL_PAGES_MAX	 262144u /* 1 GiB */
/* Event-channel ports per domain; port 0 is never allocated, as in Xen. */
#define HVSIM_MAX_PORTS 4096u
/* The largest share and the largest map batch, in pages. */
#define HVSIM_BATCH_MAX 4096u
#define HVSIM_NAME_MAX	64u
/* Domain ids come from 1 .. DOMID_FIRST_RESERVED - 1; 0 is the toolstack. */
#define HVSIM_MAX_FDS 5

enum hvsim_op {
	/*
	 * Open a session.  Sent by dom0 on a main-socket connection (no fd), or
	 * by a domain process on its token with the daemon's end of a new
	 * socketpair attached (the reply then comes on that new socket).
	 * Reply: arg[0] domid, arg[1] session id (non-zero), arg[2] grant
	 * entries, arg[3] pages per pool, arg[4] max ports; fds: [0] own grant
	 * table (rw), [1] the same table read-only (as mappers get it), [2] own
	 * event-channel status array.
	 */
	HVSIM_HELLO = 1,
	/* dom0.  name; arg[0] pool pages (0: default).  Reply: arg[0] domid; fds: [0] token. */
	HVSIM_DOMAIN_CREATE = 2,
	/* dom0.  arg[0] domid.  Kills the domain's session processes, then it dies. */
	HVSIM_DOMAIN_DESTROY = 3,
	/*
	 * dom0.  arg[0] index into the live domains (dom0 excluded), in domid
	 * order.  Reply: arg[0] domid, arg[1] sessions, arg[2] pool pages,
	 * arg[3] pool pages in use, name.  -ENOENT past the end.
	 */
	HVSIM_DOMAIN_INFO = 4,
	/*
	 * dom0, on a connection of its own: after the reply (arg[0]=0), the
	 * daemon writes an HVSIM_DEATH message for every domain death, and
	 * nothing else on that connection.
	 */
	HVSIM_SUBSCRIBE = 5,
	/* daemon to subscriber: arg[0] domid of the dead domain, name. */
	HVSIM_DEATH = 6,
	/*
	 * Allocate a share.  arg[0] page count (1..HVSIM_BATCH_MAX), arg[1]
	 * peer domid, arg[2] 1 for writable, arg[3] the serial of the pool for
	 * (peer, writable) that the caller has mapped (0: none).  Reply: arg[0]
	 * first grant ref, arg[1] first frame, arg[2] the pool's serial; fds:
	 * [0] the pool (rw) when its serial is not arg[3].  count consecutive
	 * refs and frames, the pages zeroed; the page of a frame f is f, or
	 * f - pool_pages in the writable pool.  The client fills the entries.
	 * -ENOMEM once the domain's pools hold pool_pages pages in all.
	 */
	HVSIM_GRANT_ALLOC = 7,
	/*
	 * Release a share.  arg[0] first ref, arg[1] count, as allocated.  The
	 * daemon ends access to every entry (the pin protocol above): -EBUSY
	 * while any is pinned, the idle ones staying ended; else it clears them
	 * and zeroes (punches) the pages.
	 */
	HVSIM_GRANT_FREE = 8,
	/*
	 * Get at a granter's table and pools to map its grants.  arg[0] granter
	 * domid (may be the caller's own).  Reply: arg[0] entries, arg[1] pages
	 * per pool; fds: [0] table (read-only), [1] the read-only pool of
	 * (granter, caller's domain) (read-only), [2] its writable pool (rw),
	 * [3] active table of (granter, caller's domain), [4] pin records of
	 * (granter, session).  -ESRCH if the granter is not alive, -EPERM if it
	 * never shared anything with the caller's domain.
	 */
	HVSIM_GRANT_ATTACH = 9,
	/* arg[0] remote domid.  Reply: arg[0] port; fds: [0] the port's eventfd. */
	HVSIM_EVTCHN_ALLOC = 10,
	/*
	 * arg[0] remote domid, arg[1] remote port, which must be unbound and
	 * name the caller's domain as remote (-EINVAL otherwise, -ESRCH for no
	 * such domain).  Reply: arg[0] local port, arg[1] generation; fds: [0]
	 * the local port's eventfd, [1] the remote port's eventfd (to notify).
	 */
	HVSIM_EVTCHN_BIND = 11,
	/*
	 * arg[0] a port of this session.  Reply: arg[0] generation; fds: [0]
	 * the peer's eventfd; -ENOTCONN when the port is not connected.
	 */
	HVSIM_EVTCHN_PEER = 12,
	/*
	 * arg[0] a port of this session: close it.  A connected peer reverts to
	 * unbound and its eventfd is signalled once so that a poller wakes up
	 * and can read the new state.
	 */
	HVSIM_EVTCHN_CLOSE = 13,
	/*
	 * arg[0] granter, arg[1] a ref of it: this session dropped the last pin
	 * its domain held on that ref, and the active entry was marked
	 * HVSIM_ACTIVE_ORPHAN.  The daemon frees the share holding the ref if
	 * its owner has gone and nobody maps it any more (gntalloc frees a page
	 * at its last unmap).  -ESRCH when the granter has died: the caller may
	 * then drop its view of the granter once it maps nothing of it.
	 */
	HVSIM_GRANT_RELEASE = 14,
	/*
	 * dom0 only: the daemon's fairness counts.  Reply: arg[0], arg[1] dom0's
	 * requests read (low, high 32 bits); arg[2] the most requests of guests
	 * read while one of dom0's waited (pvio-hv(8), tests/flood-fair).
	 */
	HVSIM_FAIRNESS = 15,
};

/*
 * Set in op of every message the daemon sends (replies, death notices) and in none a client
 * sends: a message with it that reaches the daemon came back from one of its own sockets (a
 * domain that handed it both ends of one socketpair as two sessions), and closes that
 * connection instead of being answered, which would answer itself for ever.
 */
#define HVSIM_OP_FROM_HV 0x80000000u

struct hvsim_msg {
	uint32_t op;		   /* enum hvsim_op, echoed in the reply (with HVSIM_OP_FROM_HV) */
	int32_t err;		   /* reply: 0 or a negative errno */
	uint32_t arg[6];	   /* per op, above */
	char name[HVSIM_NAME_MAX]; /* NUL-terminated where an op uses it */
};

/* The event-channel status word of a port. */
#define HVSIM_PORT_STATE(w)	    ((unsigned int)(w)&3u)   /* an enum hv_evtchn_state */
#define HVSIM_PORT_GEN(w)	    ((unsigned int)(w) >> 2) /* bumped on each connect */
#define HVSIM_PORT_WORD(state, gen) ((uint16_t)(((gen) << 2) | (state)))

/* The pins of one mapping domain on one grant entry. */
struct hvsim_active {
	uint32_t pins;	/* maps and copies in progress, by all the domain's sessions */
	uint32_t flags; /* HVSIM_ACTIVE_*, written by the daemon only */
};

/*
 * The entry's share has lost its owner (or its granter died): whoever drops
 * the last pin of the entry sends HVSIM_GRANT_RELEASE.  The daemon marks
 * before it tries to end the entry, and a mapper reads the mark after it
 * dropped its pin, with a full barrier on both sides, so that one of them
 * always sees the entry idle.
 */
#define HVSIM_ACTIVE_ORPHAN 1u

/* One session's share of the pins in its domain's active entry. */
struct hvsim_pinrec {
	uint32_t pins;
};

/* The flags and domid of a v1 entry, read and swapped as one 32-bit word. */
#define HVSIM_ENTRY_WORD(e) ((uint32_t *)(void *)&(e)->flags)
#define HVSIM_WORD_FLAGS(w) ((uint16_t)((w)&0xffffu))
#define HVSIM_WORD_DOMID(w) ((domid_t)((w) >> 16))

/* A mapper's view of one granter: what GRANT_ATTACH handed over, mapped. */
struct hvsim_gnt_view {
	const grant_entry_v1_t *table; /* the granter's grant table, read-only */
	struct hvsim_active *active;   /* pin state of (granter, this domain) */
	struct hvsim_pinrec *rec;      /* this session's pins */
	uint32_t nr_entries;	       /* entries in table, active and rec */
	uint32_t nr_pages;	       /* pages per pool: frames go up to twice that */
	domid_t mapper;		       /* this domain's id */
};

/* hvsim_pin's *frame after a failure that obliges the caller to send HVSIM_GRANT_RELEASE. */
#define HVSIM_FRAME_RELEASE UINT32_MAX

/*
 * Pin one grant for access, as Xen's grant-map does: take the pin, then
 * check GTF_permit_access, the entry's domid against the mapper, GTF_readonly
 * against write, and that the frame is in the pools (in the writable one for
 * write).  *frame gets the frame.  0, or -EINVAL (bad ref or frame), -EPERM
 * (not granted to the mapper), -EACCES (read-only), -EBUSY (too many pins);
 * on failure *frame is HVSIM_FRAME_RELEASE if the pin taken and dropped was
 * the domain's last on an entry marked HVSIM_ACTIVE_ORPHAN.
 */
int hvsim_pin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write, uint32_t *frame);
/*
 * Drop one pin taken by hvsim_pin.  True when that was the domain's last pin
 * on an entry marked HVSIM_ACTIVE_ORPHAN: the caller then sends
 * HVSIM_GRANT_RELEASE.
 */
bool hvsim_unpin(struct hvsim_gnt_view *v, grant_ref_t ref);
/* Daemon: drop every pin that a dead session recorded in v->rec. */
void hvsim_unpin_all(struct hvsim_gnt_view *v);
/* Granter: fill one entry for peer, flags written last. */
void hvsim_grant_entry(grant_entry_v1_t *entry, domid_t peer, uint32_t frame, bool writable);

/* Send a message with up to HVSIM_MAX_FDS fds; 0 or a negative errno. */
int hvsim_send(int sock, const struct hvsim_msg *msg, const int *fds, unsigned int nfds);
/*
 * The same, never blocking (-EAGAIN instead), whatever O_NONBLOCK says: the
 * daemon's way, since a client holding the other end of a socket it passed
 * could clear that flag on the shared file description.
 */
int hvsim_send_nowait(int sock, const struct hvsim_msg *msg, const int *fds, unsigned int nfds);
/*
 * Receive one message; fds[0..*nfds) get the passed fds (CLOEXEC), any beyond
 * max closed.  0, -ECONNRESET on EOF, -EPROTO on a short or truncated message,
 * or a negative errno.
 */
int hvsim_recv(int sock, struct hvsim_msg *msg, int *fds, unsigned int max, unsigned int *nfds);
/* One RPC on a private socket: send req, receive the reply into rep. */
int hvsim_call(int sock, struct hvsim_msg *req, const int *fds, unsigned int nfds,
	       struct hvsim_msg *rep, int *rfds, unsigned int rmax, unsigned int *rnfds);

/* The main socket path: $PVIO_HV_SOCKET, else /run/pvio/hv.sock for root,
 * else $XDG_RUNTIME_DIR/pvio/hv.sock, else /tmp/pvio-<uid>/hv.sock. */
int hvsim_socket_path(char *buf, size_t len);

#endif
