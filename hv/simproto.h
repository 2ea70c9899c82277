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
 * Shared memory (all memfds, passed by the daemon):
 *   - the grant table of a domain: grant_entry_v1_t[HVSIM_GNT_ENTRIES];
 *   - the pool of a domain: pool_pages pages; an entry's frame is a page index
 *     in its granter's pool.  Only pool pages can be granted;
 *   - per session, the event-channel status array uint16_t[HVSIM_MAX_PORTS]
 *     (HVSIM_PORT_STATE() and HVSIM_PORT_GEN() of each port the session owns),
 *     written by the daemon only;
 *   - per (granter, mapping domain), the active table: struct hvsim_active[],
 *     hypervisor-private pin state shared by the mapping domain's sessions and
 *     the daemon, never by the granter;
 *   - per (granter, mapping session), the pin records: struct hvsim_pinrec[],
 *     so that the daemon can drop a dead session's pins.
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
#define HVSIM_MAX_FDS 4

enum hvsim_op {
	/*
	 * Open a session.  Sent by dom0 on a main-socket connection (no fd), or
	 * by a domain process on its token with the daemon's end of a new
	 * socketpair attached (the reply then comes on that new socket).
	 * Reply: arg[0] domid, arg[1] session id (non-zero), arg[2] grant
	 * entries, arg[3] pool pages, arg[4] max ports; fds: [0] own grant
	 * table (rw), [1] own pool (rw), [2] own event-channel status array.
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
	 * Allocate a share.  arg[0] page count (1..HVSIM_BATCH_MAX).  Reply:
	 * arg[0] first grant ref, arg[1] first pool page: count consecutive
	 * refs and pages, the pages zeroed.  The client fills the entries.
	 */
	HVSIM_GRANT_ALLOC = 7,
	/*
	 * Release a share.  arg[0] first ref, arg[1] count, as allocated.  The
	 * client has ended access to every entry (flags 0); the daemon checks
	 * that none is still GTF_reading/GTF_writing (-EBUSY), clears them,
	 * and zeroes (punches) the pages.
	 */
	HVSIM_GRANT_FREE = 8,
	/*
	 * Get at a granter's table and pool to map its grants.  arg[0] granter
	 * domid (may be the caller's own).  Reply: arg[0] entries, arg[1] pool
	 * pages; fds: [0] table (rw), [1] pool (rw), [2] active table of
	 * (granter, caller's domain), [3] pin records of (granter, session).
	 * -ESRCH if the granter is not alive.
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
};

struct hvsim_msg {
	uint32_t op;		   /* enum hvsim_op, echoed in the reply */
	int32_t err;		   /* reply: 0 or a negative errno */
	uint32_t arg[6];	   /* per op, above */
	char name[HVSIM_NAME_MAX]; /* NUL-terminated where an op uses it */
};

/* The event-channel status word of a port. */
#define HVSIM_PORT_STATE(w)	    ((unsigned int)(w)&3u)   /* an enum hv_evtchn_state */
#define HVSIM_PORT_GEN(w)	    ((unsigned int)(w) >> 2) /* bumped on each connect */
#define HVSIM_PORT_WORD(state, gen) ((uint16_t)(((gen) << 2) | (state)))

/* Hypervisor-private state of one grant entry, per (granter, mapping domain). */
struct hvsim_active {
	uint32_t lock;	/* 0, or the session id of the holder */
	uint16_t rpins; /* read-only pins (maps and copies in progress) */
	uint16_t wpins; /* writable pins */
	uint32_t frame; /* the pool page, latched when the first pin is taken */
	uint32_t flags; /* HVSIM_ACTIVE_*, written by the daemon only */
};

/*
 * The entry's share has lost its owner (or its granter died): whoever drops
 * the last pin of the entry sends HVSIM_GRANT_RELEASE.  The daemon marks
 * before it tries to end the entry, and a mapper reads the mark after it
 * cleared its in-use flags, with a full barrier on both sides, so that one
 * of them always sees the entry idle.
 */
#define HVSIM_ACTIVE_ORPHAN 1u

/* One session's share of the pins in its domain's active entry. */
struct hvsim_pinrec {
	uint16_t rpins;
	uint16_t wpins;
};

/* A mapper's view of one granter: what GRANT_ATTACH handed over, mapped. */
struct hvsim_gnt_view {
	grant_entry_v1_t *table;     /* the granter's grant table */
	struct hvsim_active *active; /* pin state of (granter, this domain) */
	struct hvsim_pinrec *rec;    /* this session's pins */
	uint32_t nr_entries;	     /* entries in table, active and rec */
	uint32_t nr_pages;	     /* pages in the granter's pool */
	uint32_t sid;		     /* this session's id: the lock owner value */
	domid_t mapper;		     /* this domain's id */
};

/*
 * Pin one grant for access, as Xen's grant-map does: check GTF_permit_access,
 * the entry's domid against the mapper and GTF_readonly against write, set
 * GTF_reading (and GTF_writing) with a compare-and-swap on the flags+domid
 * word, latch the frame.  *frame gets the pool page.  0, or -EINVAL (bad ref
 * or frame), -EPERM (not granted to the mapper), -EACCES (read-only),
 * -EBUSY (the entry kept changing, or too many pins).
 */
int hvsim_pin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write, uint32_t *frame);
/*
 * Drop one pin taken by hvsim_pin; clears GTF_writing/GTF_reading with the
 * last.  True when that was the domain's last pin on an entry marked
 * HVSIM_ACTIVE_ORPHAN: the caller then sends HVSIM_GRANT_RELEASE.
 */
bool hvsim_unpin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write);
/*
 * Daemon: drop every pin that a dead session sid recorded in rec, breaking
 * the entry lock if that session died holding it.
 */
void hvsim_unpin_all(struct hvsim_gnt_view *v, uint32_t dead_sid);

/* Granter: end foreign access to one entry; -EBUSY while it is mapped. */
int hvsim_end_access(grant_entry_v1_t *entry);
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
