/* SPDX-License-Identifier: MIT */
/*
 * hvd.h - private to pvio-hv: the daemon's objects and the calls between its
 * files.  The wire protocol and the shared-memory layouts are hv/simproto.h;
 * nothing here is seen by clients.
 *
 * Ownership: the daemon owns every domain (hvd.domains), every connection
 * (hvd.conns) and, through them, every fd and mapping.  It is single-threaded
 * and handles one epoll event at a time, so an object freed while handling an
 * event can never be the target of another event of the same batch.
 */
#ifndef PVIO_SIM_HVD_H
#define PVIO_SIM_HVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"
#include "hv/simproto.h"

/* Never a session id (it was the lock owner of the old active tables). */
#define HVD_SID_DAEMON UINT32_MAX
/* Domain ids 0 .. DOMID_FIRST_RESERVED - 1 can be live. */
#define HVD_NR_DOMIDS ((unsigned int)DOMID_FIRST_RESERVED)

#define hvd_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* An intrusive doubly-linked list; an empty head points at itself. */
struct hvd_list {
	struct hvd_list *prev; /* previous node, or the head */
	struct hvd_list *next; /* next node, or the head */
};

static inline void hvd_list_init(struct hvd_list *head)
{
	head->prev = head->next = head;
}

static inline bool hvd_list_empty(const struct hvd_list *head)
{
	return head->next == head;
}

static inline void hvd_list_add(struct hvd_list *head, struct hvd_list *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void hvd_list_del(struct hvd_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	hvd_list_init(node);
}

struct hvd;

/* The first member of everything in the epoll set: data.ptr points at it. */
struct hvd_watch {
	/* Handle the events epoll reported for this object. */
	void (*ready)(struct hvd *hvd, struct hvd_watch *w, uint32_t events);
};

enum hvd_conn_state {
	HVD_CONN_NEW,	     /* a main-socket connection before HELLO */
	HVD_CONN_SESSION,    /* a session: dom0's after HELLO, or a domain process's */
	HVD_CONN_SUBSCRIBER, /* a death stream: the daemon only writes to it */
};

/* One RPC socket and, once HELLO is done, the session it carries. */
struct hvd_conn {
	struct hvd_watch watch;	   /* epoll dispatch; keep first */
	int fd;			   /* the daemon's end, non-blocking */
	enum hvd_conn_state state; /* what the connection is for now */
	struct hvd_domain *dom;	   /* who speaks: dom0 for main-socket connections */
	uint32_t sid;		   /* the session id, 0 before HELLO */
	int pidfd;		   /* the session's process, for destroy; -1 for dom0 */
	int status_fd;		   /* memfd: uint16_t[HVSIM_MAX_PORTS] port status */
	uint16_t *status;	   /* the daemon's mapping of it; the daemon is the only writer */
	struct hvd_list attaches;  /* struct hvd_attach: granters this session attached */
	struct hvd_list link;	   /* in dom->sessions or hvd->subscribers */
	struct hvd_list all;	   /* in hvd->conns, for teardown at exit */
	struct hvd_list parked; /* in hvd->parked while its domain's share of the round is spent */
	unsigned int outq_max;	/* unread reply bytes past which it is not read (half SO_SNDBUF) */
	bool held;		/* waiting for EPOLLOUT: its unread replies passed outq_max */
};

/*
 * The pools of one granter for one peer: [0] pages shared read-only, [1]
 * pages shared writable.  Only the granter and that peer ever get them.
 */
struct hvd_pool {
	struct hvd_list link;	    /* in the granter's pools */
	domid_t peer;		    /* the only domain that may attach them */
	uint32_t serial;	    /* daemon-unique: tells a granter its mapping is stale */
	bool retired;		    /* the peer died: no new shares, freed with the granter */
	int fd[2];		    /* the daemon's read-write fds of the two pools */
	int ro_fd;		    /* an O_RDONLY fd of pool 0, the one the peer gets */
	unsigned long *page_map[2]; /* allocated pages of each pool, bitmaps */
};

/* A share: consecutive refs backed by consecutive pages of one pool. */
struct hvd_share {
	struct hvd_pool *pool; /* whose pages */
	bool writable;	       /* in pool->fd[1], else in pool->fd[0] */
	uint32_t page;	       /* first page in that pool */
	uint32_t count;	       /* refs and pages in the share */
	uint32_t owner_sid;    /* the allocating session; 0 once it closed (orphaned) */
};

/* One event-channel port of a domain. */
struct hvd_port {
	uint8_t state;		   /* enum hv_evtchn_state; HV_EVTCHN_CLOSED = free */
	uint16_t gen;		   /* bumped on each connect; kept across reuse of the port */
	domid_t remote_dom;	   /* the domain allowed to bind, or the connected peer */
	evtchn_port_t remote_port; /* the peer's port when connected */
	int efd;		   /* the port's eventfd, -1 when free */
	struct hvd_conn *owner;	   /* the session whose status array shows this port */
};

/* Pin state of one granter's entries as seen by one mapping domain. */
struct hvd_active_tab {
	struct hvd_list link;	  /* in the mapping domain's actives */
	struct hvd_list shadow;	  /* in the granter's shadows */
	domid_t granter;	  /* whose grant table this shadows */
	domid_t mapper;		  /* whose pins it holds */
	int fd;			  /* memfd: struct hvsim_active[HVSIM_GNT_ENTRIES] */
	struct hvsim_active *map; /* the daemon's mapping, for cleanup */
};

/* One session's attachment to one granter: its pin records. */
struct hvd_attach {
	struct hvd_list link;	       /* in the session's attaches */
	domid_t granter;	       /* the granter attached */
	int rec_fd;		       /* memfd: struct hvsim_pinrec[HVSIM_GNT_ENTRIES] */
	struct hvsim_pinrec *rec;      /* the daemon's mapping, to unpin at close */
	struct hvd_active_tab *active; /* the session domain's active table for granter */
};

/* A live domain, dom0 included. */
struct hvd_domain {
	struct hvd_watch watch;	   /* epoll dispatch of the token; keep first */
	domid_t domid;		   /* its id */
	char name[HVSIM_NAME_MAX]; /* unique among live domains; "Domain-0" for dom0 */
	int token;		   /* the daemon's end of the token; -1 once hung up, or dom0 */
	int table_fd;		   /* memfd: grant_entry_v1_t[HVSIM_GNT_ENTRIES] */
	int table_ro_fd;	   /* an O_RDONLY fd of it, for mappers */
	grant_entry_v1_t *table;   /* the daemon's mapping of the grant table */
	struct hvd_list pools;	   /* struct hvd_pool: one per peer it shared with */
	uint32_t pool_pages;	   /* pages per pool, and in all its pools' shares */
	uint32_t pool_used;	   /* pages in live shares */
	unsigned long *ref_map;	   /* allocated grant refs, a bitmap */
	struct hvd_share **shares; /* [HVSIM_GNT_ENTRIES], by first ref */
	struct hvd_port *ports;	   /* [HVSIM_MAX_PORTS] */
	struct hvd_list sessions;  /* struct hvd_conn in state SESSION */
	unsigned int nr_sessions;  /* entries in sessions */
	struct hvd_list actives;   /* struct hvd_active_tab: granters it maps from */
	struct hvd_list shadows;   /* struct hvd_active_tab (by shadow): mappers of its grants */
	bool dying;		   /* being torn down: no death check, no new sessions */
	uint32_t round;		   /* the service round its credit belongs to */
	unsigned int credit;	   /* requests its sessions may still have served this round */
	unsigned int nr_ports;	   /* allocated event-channel ports */
	unsigned int fds;	   /* descriptors the daemon holds for it (guests only) */
	bool fds_refused;	   /* a refusal logged since it last held half its budget */
	uint64_t userns_dev;	   /* the user namespace of its first session's process, */
	uint64_t userns_ino;	   /* which every later session's must share; 0 until then */
};

/* What one client may hold (options of pvio-hv(8)); dom0's are separate and larger. */
struct hvd_limits {
	unsigned int sessions;	    /* sessions per domain other than dom0 */
	unsigned int dom0_sessions; /* dom0's sessions */
	unsigned int ports;	    /* event-channel ports per domain other than dom0 */
	unsigned int subscribers;   /* death streams */
	unsigned int fd_reserve;    /* descriptors guests can never take: dom0's and creation's */
	unsigned int domain_fds;    /* descriptors held for one domain other than dom0 */
};

/* The daemon. */
struct hvd {
	int epfd;				   /* the epoll set */
	int dom0_epfd;				   /* dom0's connections: looked at first */
	struct hvd_watch dom0_watch;		   /* dom0_epfd's dispatch in epfd: a no-op */
	int listen_fd;				   /* the main socket */
	struct hvd_watch listen_watch;		   /* its epoll dispatch */
	bool listen_paused;			   /* out of fds: accept again after a close */
	int sig_fd;				   /* signalfd for SIGTERM and SIGINT */
	struct hvd_watch sig_watch;		   /* its epoll dispatch */
	bool stop;				   /* a signal asked the loop to end */
	bool verbose;				   /* log domain and session events */
	uint32_t pool_pages;			   /* default pool size of new domains */
	struct hvd_domain *domains[HVD_NR_DOMIDS]; /* live domains by id */
	unsigned int next_domid;		   /* where the next id search starts */
	uint32_t next_sid;			   /* the next session id to hand out */
	uint32_t next_pool_serial;		   /* the last pool serial handed out */
	struct hvd_list conns;			   /* every connection */
	struct hvd_list subscribers;		   /* connections in state SUBSCRIBER */
	struct hvd_list parked;	     /* sessions out of the epoll set until the next round */
	uint32_t round;		     /* the service round: ends when nothing unparked is ready */
	struct hvd_limits limits;    /* per-client limits */
	unsigned int nofile;	     /* our descriptor limit (RLIMIT_NOFILE) */
	unsigned int guest_fds;	     /* descriptors held for domains other than dom0 */
	unsigned int nr_subscribers; /* entries in subscribers */
	uint64_t guest_reqs;	     /* requests of guests read (HELLOs on tokens too) */
	uint64_t guest_reqs_mark;    /* guest_reqs when dom0's connections were last idle */
	uint64_t dom0_reqs;	     /* requests of dom0 read */
	unsigned int dom0_ahead_max; /* most guest requests read while one of dom0's waited */
};

/* A reply being built by an op handler. */
struct hvd_reply {
	struct hvsim_msg msg;	/* op echoed, err and args filled */
	int fds[HVSIM_MAX_FDS]; /* passed with the reply; still the daemon's */
	unsigned int nfds;	/* used entries of fds */
	int close_fd;		/* closed once sent (a token's domain end), or -1 */
	bool subscribe;		/* turn the connection into a death stream after sending */
};

typedef int hvd_op_fn(struct hvd *hvd, struct hvd_conn *c, const struct hvsim_msg *req,
		      struct hvd_reply *rep);

/* pvio-hv.c */
__attribute__((format(printf, 2, 3))) void hvd_log(const struct hvd *hvd, const char *fmt, ...);

/* shm.c: sealed memfds of a fixed size, optionally mapped by the daemon. */
int hvd_shm_create(const char *name, size_t size, void **map, bool daemon_only);
int hvd_shm_create_ro(const char *name, size_t size, void **map, int *ro_fd);
void hvd_shm_destroy(int fd, void *map, size_t size);

/* bitmap.c */
long hvd_bitmap_find(const unsigned long *map, unsigned long nbits, unsigned long from,
		     unsigned long count);
void hvd_bitmap_set(unsigned long *map, unsigned long start, unsigned long count);
void hvd_bitmap_clear(unsigned long *map, unsigned long start, unsigned long count);
unsigned long *hvd_bitmap_alloc(unsigned long nbits);

/* conn.c */
int hvd_conn_accept(struct hvd *hvd);
void hvd_round_next(struct hvd *hvd);
void hvd_conn_close(struct hvd *hvd, struct hvd_conn *c);
void hvd_token_ready(struct hvd *hvd, struct hvd_watch *w, uint32_t events);
void hvd_send_death(struct hvd *hvd, const struct hvd_domain *dom);

/* session.c */
/* Whether domains other than dom0 may take n more descriptors (the reserve stays free). */
bool hvd_guest_fds_ok(const struct hvd *hvd, unsigned int n);
/* Charge n descriptors to dom (nothing for dom0): 0, -EMFILE past its budget, -ENFILE past the
 * guests' share; a refusal is logged once until dom is down to half its budget. */
int hvd_fds_take(struct hvd *hvd, struct hvd_domain *dom, unsigned int n, const char *what);
/* Give back what hvd_fds_take charged. */
void hvd_fds_put(struct hvd *hvd, struct hvd_domain *dom, unsigned int n);

int hvd_session_open(struct hvd *hvd, struct hvd_conn *c, pid_t pid, int pidfd,
		     struct hvd_reply *rep);
void hvd_session_close(struct hvd *hvd, struct hvd_conn *c);

/* domain.c */
int hvd_domains_init(struct hvd *hvd);
void hvd_domains_fini(struct hvd *hvd);
struct hvd_domain *hvd_domain_get(struct hvd *hvd, const struct hvd_domain *self, uint32_t id);
void hvd_domain_check(struct hvd *hvd, struct hvd_domain *dom);
hvd_op_fn hvd_op_domain_create, hvd_op_domain_destroy, hvd_op_domain_info;

/* grant.c */
int hvd_grant_init(struct hvd_domain *dom);
void hvd_grant_fini(struct hvd *hvd, struct hvd_domain *dom);
void hvd_grant_forget(struct hvd *hvd, const struct hvd_domain *granter);
void hvd_grant_session_close(struct hvd *hvd, struct hvd_conn *c);
hvd_op_fn hvd_op_grant_alloc, hvd_op_grant_free, hvd_op_grant_attach, hvd_op_grant_release;

/* evtchn.c */
int hvd_evtchn_init(struct hvd_domain *dom);
void hvd_evtchn_fini(struct hvd_domain *dom);
void hvd_evtchn_session_close(struct hvd *hvd, struct hvd_conn *c);
hvd_op_fn hvd_op_evtchn_alloc, hvd_op_evtchn_bind, hvd_op_evtchn_peer, hvd_op_evtchn_close;

#endif
