/* SPDX-License-Identifier: MIT */
/*
 * xs-daemon.h - pvio-xenstored(8)'s connections, watches, domains and
 * quotas: what the daemon's modules share.
 *
 * One thread, one epoll set.  Every epoll entry's data.ptr points at a
 * struct xs_src, the first member of a listener, connection or hv stream.
 */
#ifndef PVIO_SIM_XS_DAEMON_H
#define PVIO_SIM_XS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "sim/xs-store.h"

/* What an epoll entry is. */
enum xs_src_kind {
	XS_SRC_LISTEN = 1, /* a listening socket (dom0's or a domain's) */
	XS_SRC_CONN,	   /* a client connection */
	XS_SRC_HV,	   /* pvio-hv's death stream */
	XS_SRC_SIGNAL,	   /* the signalfd for SIGTERM and SIGINT */
};

struct xs_src {
	int kind; /* enum xs_src_kind */
	int fd;	  /* the descriptor */
};

/* One queued outgoing message (or what is left of it). */
struct xs_out {
	struct xs_out *next; /* FIFO order */
	size_t len;	     /* bytes in data */
	size_t off;	     /* bytes already sent */
	bool event;	     /* a watch event rather than a reply */
	char data[];	     /* header and payload */
};

struct xs_watch {
	struct xs_watch *next; /* the connection's watches */
	char *path;	       /* absolute path, or a special "@..." name */
	char *token;	       /* the client's token */
	unsigned int prefix;   /* bytes to strip from event paths (relative watch) */
};

/* An open transaction of a connection. */
struct xs_conn_txn {
	struct xs_conn_txn *next; /* the connection's transactions */
	uint32_t id;		  /* the id handed to the client */
	struct xs_txn tx;	  /* the overlay */
	struct xs_event *events;  /* watch events to fire at commit, in order */
	struct xs_event **tail;	  /* where the next event goes */
};

/* A change, kept for watch matching. */
struct xs_event {
	struct xs_event *next; /* queue order */
	char *path;	       /* the changed node, absolute, or "@..." */
	struct xs_perm *perms; /* the node's permissions at the change (NULL: special) */
	unsigned int nperms;   /* entries in perms */
	bool subtree;	       /* the node's subtree went too (rm) */
	bool exact;	       /* a node removed below an rm's top: fires watches on path only */
	struct xs_perm *above; /* exact: the removed top's permissions (its readers heard of it) */
	unsigned int nabove;   /* entries in above */
};

struct xs_conn {
	struct xs_src src;	       /* kind XS_SRC_CONN; fd the socket */
	struct xs_conn *next;	       /* the daemon's connections */
	unsigned int domid;	       /* whose connection: 0 for the main socket */
	struct xsd_sockmsg hdr;	       /* the request being read */
	char in[XENSTORE_PAYLOAD_MAX]; /* its payload */
	size_t inlen;		       /* bytes of header + payload read so far */
	struct xs_out *out;	       /* queued output, oldest first */
	struct xs_out **out_tail;      /* where the next output goes */
	size_t out_bytes;	       /* bytes queued */
	unsigned int out_replies;      /* replies queued (requests outstanding) */
	bool reading;		       /* requests may be read */
	uint32_t armed;		       /* the epoll events armed now */
	bool dead;		       /* close at the end of this loop turn */
	uint64_t served;	       /* the last loop turn a request of it was read */
	struct xs_watch *watches;      /* registered watches */
	unsigned int nwatches;	       /* how many */
	struct xs_conn_txn *txns;      /* open transactions */
	unsigned int ntxns;	       /* how many */
};

/*
 * A domain's write-rate token bucket (XSA-206).  Credit is in thousandths
 * of a write; each write costs 1000.  While it is negative the domain's
 * connections are not read, until time refills it.
 */
struct xs_wrl {
	int64_t credit;	    /* thousandths of a write available */
	uint64_t stamp;	    /* CLOCK_MONOTONIC milliseconds of the last refill */
	uint64_t throttled; /* times the credit ran out */
};

/* An introduced domain: its socket, whose connections are the domain. */
struct xs_domain {
	struct xs_src src;	/* kind XS_SRC_LISTEN; fd the listening socket */
	struct xs_domain *next; /* the daemon's domains */
	unsigned int domid;	/* the domain */
	char *dir;		/* <dir of the main socket>/domain-<domid> */
	char *sock;		/* dir/socket */
	struct xs_wrl wrl;	/* its write-rate limit */
	bool at_conn_limit;	/* a connection was refused; said once until one closes */
	uint64_t turn;		/* the loop turn in which turn_reqs were read */
	unsigned int turn_reqs; /* requests of all its connections read in that turn */
	struct xs_conn *pick;	/* the one connection read in turn pick_turn */
	uint64_t pick_turn;	/* the loop turn pick is for */
};

/* Limits on unprivileged domains (-Q name=value). */
struct xs_quota {
	unsigned int nodes;	   /* "nodes": nodes a domain may own */
	unsigned int node_size;	   /* "node-size": bytes of value + children + perms */
	unsigned int watches;	   /* "watches": watches per domain */
	unsigned int transactions; /* "transactions": open per connection */
	unsigned int outstanding;  /* "outstanding": unread replies before we stop reading */
	unsigned int perms;	   /* "permissions": entries per node */
	unsigned int path_max;	   /* "path-max": bytes of a relative path */
	unsigned int out_max;	   /* "output-queue": bytes queued before events drop */
	unsigned int tx_nodes;	   /* "transaction-nodes": nodes one transaction may touch */
	unsigned int wrl_rate;	   /* "write-rate": writes per second a domain refills */
	unsigned int wrl_burst;	   /* "write-burst": writes a domain may save up */
	unsigned int connections;  /* "connections": connections per domain */
	unsigned int fd_reserve;   /* "fd-reserve": descriptors no domain may take */
};

/* A special watch path's permissions, which SET_PERMS may change (xenstore.txt). */
struct xs_special {
	struct xs_perm perms[XS_PERMS_MAX]; /* owner first; by default dom0, nobody else */
	unsigned int nperms;		    /* entries in perms */
};

/* Indices of the special paths in struct xs_daemon's special[]. */
enum {
	XS_SPECIAL_INTRODUCE,
	XS_SPECIAL_RELEASE,
	XS_SPECIAL_COUNT
};

struct xs_daemon {
	int epfd;		     /* the epoll set */
	struct xs_domain main;	     /* the dom0 socket (domid 0, never released) */
	struct xs_src hv;	     /* pvio-hv's death stream, fd -1 if none */
	struct xs_store st;	     /* the tree */
	struct xs_conn *conns;	     /* all connections */
	struct xs_domain *domains;   /* introduced domains */
	struct xs_domain *graveyard; /* released domains, freed after the loop turn */
	const char *hv_path;	     /* pvio-hv's socket (NULL: its default) */
	struct xs_quota quota;	     /* limits */
	struct xs_special special[XS_SPECIAL_COUNT]; /* @introduceDomain, @releaseDomain */
	uint32_t next_txid;			     /* the last transaction id handed out */
	bool verbose;				     /* -v */
	unsigned int nofile;			     /* our descriptor limit */
	unsigned int guest_conns;		     /* connections of domains other than dom0 */
	bool listen_paused;			     /* out of descriptors: accept after a close */
	uint64_t turn;				     /* loop turns so far */
	/*
	 * Fairness to dom0, counted rather than timed (CONTROL fairness): guest requests read
	 * so far, that count at the start of this turn and of the one before, dom0's requests
	 * read, and the most guest requests read between the start of the turn before a dom0
	 * request's and its reading (a bound on those served while it waited).
	 */
	uint64_t guest_reqs, guest_reqs_turn, guest_reqs_prev;
	uint64_t dom0_reqs, dom0_ahead_max;
};

struct epoll_event;

/* xs-daemon.c */
/*
 * Handle n events from epoll_wait() (none if n <= 0), then close dead
 * connections, push out queued output and free released domains: false
 * when a signal asks the daemon to stop.
 */
bool xs_daemon_handle(struct xs_daemon *d, const struct epoll_event *evs, int n);

/* xs-conn.c */
int xs_conn_accept(struct xs_daemon *d, struct xs_domain *dom);
void xs_conn_io(struct xs_daemon *d, struct xs_conn *c, uint32_t events);
void xs_conn_close(struct xs_daemon *d, struct xs_conn *c);
/* After a loop turn: close dead connections, push out what others queued. */
void xs_conn_service(struct xs_daemon *d);
/* Queue a message; events may be dropped for a domain that does not read. */
int xs_conn_send(struct xs_daemon *d, struct xs_conn *c, const struct xsd_sockmsg *hdr,
		 const void *body, unsigned int len);
/* Reply to the request in c->hdr: data, "OK", or an error "E<NAME>". */
int xs_reply(struct xs_daemon *d, struct xs_conn *c, const void *body, unsigned int len);
int xs_reply_ok(struct xs_daemon *d, struct xs_conn *c);
int xs_reply_err(struct xs_daemon *d, struct xs_conn *c, int err);

/* xs-ops.c: handle the request in c->hdr / c->in. */
void xs_ops_dispatch(struct xs_daemon *d, struct xs_conn *c);
/* Remove path and its subtree (tx may be NULL) and report the change. */
int xs_ops_rm_tree(struct xs_daemon *d, struct xs_conn_txn *t, const char *path);
int xs_store_setup(struct xs_daemon *d);

/* xs-watch.c */
int xs_watch_add(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token);
int xs_watch_del(struct xs_conn *c, const char *path, const char *token);
void xs_watch_free_all(struct xs_conn *c);
/* A change to node (NULL for a special path); queued in t until commit if t. */
void xs_event_note(struct xs_daemon *d, struct xs_conn_txn *t, const char *path,
		   const struct xs_node *node, bool subtree);
/*
 * The removal of node at path below the removed node top: for watchers who
 * may read node but not top, whom top's event does not tell (xenstore.txt).
 */
void xs_event_note_removed(struct xs_daemon *d, struct xs_conn_txn *t, const char *path,
			   const struct xs_node *node, const struct xs_node *top);
/* Fire and free a transaction's queued events. */
void xs_event_flush(struct xs_daemon *d, struct xs_event *ev);
void xs_event_free(struct xs_event *ev);
/* The permissions of a special path ("@introduceDomain", "@releaseDomain"), or NULL. */
struct xs_special *xs_special_find(struct xs_daemon *d, const char *path);
/* Fire a special path's watches for those its permissions let read it. */
void xs_special_fire(struct xs_daemon *d, const char *path);

/* xs-quota.c */
/* Set the quota called name (namelen bytes) from a decimal value >= 1: 0 or -EINVAL. */
int xs_quota_set(struct xs_quota *q, const char *name, size_t namelen, const char *value);
/* CONTROL quota with its n arguments in vec. */
int xs_control_quota(struct xs_daemon *d, struct xs_conn *c, const char **vec, int n);
/* A decimal domid below XS_DOMID_MAX: 0 or -EINVAL. */
int xs_domid_parse(const char *s, unsigned int *domid);

/* xs-wrl.c: the write-rate limit of unprivileged domains */
void xs_wrl_init(struct xs_daemon *d, struct xs_domain *dom);
/* Charge domid one write (dom0 and unknown domains go free). */
void xs_wrl_debit(struct xs_daemon *d, unsigned int domid);
/* Whether domid's requests may be read now. */
bool xs_wrl_allows(struct xs_daemon *d, unsigned int domid);
/* Milliseconds until the next throttled domain may go on, or -1 if none waits. */
int xs_wrl_timeout(struct xs_daemon *d);

/* xs-domain.c */
int xs_domain_introduce(struct xs_daemon *d, unsigned int domid);
int xs_domain_release(struct xs_daemon *d, unsigned int domid);
struct xs_domain *xs_domain_find(struct xs_daemon *d, unsigned int domid);
void xs_domain_free_all(struct xs_daemon *d);
/* Free the domains released during this loop turn. */
void xs_domain_bury(struct xs_daemon *d);
/* A listening non-blocking socket at path (replacing a stale one): the fd or -errno. */
int xs_listen(const char *path);
/* Follow pvio-hv's domain deaths; failure is an error only if required. */
int xs_hv_subscribe(struct xs_daemon *d, bool required);
void xs_hv_read(struct xs_daemon *d);

#endif
