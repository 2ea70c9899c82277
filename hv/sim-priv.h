/* SPDX-License-Identifier: MIT */
/*
 * sim-priv.h - private state of the sim provider, shared by hv/sim.c (session),
 * hv/sim-grant.c and hv/sim-evtchn.c.
 */
#ifndef PVIO_HV_SIM_PRIV_H
#define PVIO_HV_SIM_PRIV_H

#include <pthread.h>

#include "hv/provider.h"
#include "hv/simproto.h"

/* A granter this session has attached to map or copy its grants. */
struct sim_granter {
	struct sim_granter *next;   /* the session's list of granters */
	domid_t domid;		    /* the granter */
	struct hvsim_gnt_view view; /* its table, our active table and pin records */
	uint8_t *pool_ro;	    /* its read-only pool for us, mapped read-only */
	uint8_t *pool_rw_ro;	    /* its writable pool for us, mapped read-only */
	uint8_t *pool_rw;	    /* its writable pool for us, mapped read-write */
	int pool_fd[2];		    /* both, kept to mmap scattered frames contiguously */
	unsigned int nr_maps;	    /* live maps of its grants */
	bool dead;		    /* GRANT_RELEASE said it died: dropped at its last unmap */
};

/* Refs held inline by a map record; bigger maps allocate their array. */
#define SIM_MAP_INLINE 16

/* One hv_grant_map: what hv_grant_unmap needs to drop its pins. */
struct sim_map {
	struct sim_map *next;  /* hash chain, or the free list */
	void *addr;	       /* what hv_grant_map returned */
	struct sim_granter *g; /* whose grants */
	unsigned int count;    /* pages */
	bool writable;	       /* pinned for writing */
	bool mmapped;	       /* addr is a private mmap to munmap, not a pool view */
	grant_ref_t *refs;     /* inline or allocated */
	grant_ref_t inline_refs[SIM_MAP_INLINE];
};

/* One of our pools for a peer, as GRANT_ALLOC handed it over. */
struct sim_pool {
	struct sim_pool *next; /* the session's list, newest first */
	domid_t peer;	       /* the peer it is for */
	bool writable;	       /* its pages are shared writable */
	uint32_t serial;       /* the daemon's name of it: stale ones stay while shared */
	uint8_t *map;	       /* mapped read-write, nr_pages pages */
};

/* One hv_grant_share. */
struct sim_share {
	struct sim_share *next; /* the session's list */
	void *addr;		/* local address of the first page */
	grant_ref_t first_ref;	/* refs first_ref .. first_ref + count - 1 */
	unsigned int count;	/* pages */
};

/* A port's mask (hv/sim-evtchn.c says how it is kept). */
enum sim_mask {
	SIM_UNMASKED = 0, /* its events are reported */
	SIM_MASKED,	  /* taken, not yet unmasked; its eventfd is still in the epoll set */
	SIM_MASKED_OFF,	  /* masked and an event came: its eventfd is out of the epoll set */
};

/* An event-channel port as this session sees it. */
struct sim_port {
	int recv_fd;	  /* our eventfd, in the epoll set; -1: not our port */
	int send_fd;	  /* the peer's eventfd, fetched lazily; -1: none yet */
	unsigned int gen; /* connection generation send_fd belongs to */
	uint8_t mask;	  /* an enum sim_mask, atomic */
};

#define SIM_MAP_BUCKETS 256

struct sim {
	int sock;		   /* private session socket to pvio-hv */
	uint32_t sid;		   /* session id from HELLO */
	domid_t domid;		   /* our domain */
	grant_entry_v1_t *table;   /* our grant table */
	uint32_t nr_entries;	   /* entries in it */
	uint32_t nr_pages;	   /* pages in each pool */
	uint16_t *status;	   /* per-port status words, written by the daemon */
	int epfd;		   /* hv_evtchn_fd(): our ports' eventfds */
	bool strict_map;	   /* $PVIO_SIM_STRICT_MAP: every map is its own mmap */
	bool gone;		   /* the session hung up: pvio-hv died */
	pthread_mutex_t mask_lock; /* serialises the ports' moves to and from SIM_MASKED_OFF */
	pthread_mutex_t lock;	   /* guards everything below and the socket */
	struct sim_granter *granters;
	struct sim_pool *pools;
	struct sim_share *shares;
	struct sim_map *maps[SIM_MAP_BUCKETS]; /* live maps hashed by address */
	struct sim_map *free_maps;	       /* records kept for reuse */
	struct sim_port ports[HVSIM_MAX_PORTS];
};

/* The epoll tag of the session socket in epfd: no port has it. */
#define SIM_SESSION_TAG HVSIM_MAX_PORTS

static inline struct sim *sim_of(struct hv *hv)
{
	return hv->priv;
}

/* One RPC on the session socket; the caller holds s->lock. */
int sim_call(struct sim *s, struct hvsim_msg *req, struct hvsim_msg *rep, int *fds,
	     unsigned int max, unsigned int *nfds);
/* The granter's view, attaching on first use; the caller holds s->lock. */
int sim_granter_get(struct hv *hv, domid_t domid, struct sim_granter **gp);

void sim_grant_cleanup(struct sim *s);
void sim_evtchn_cleanup(struct sim *s);

int sim_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable, void **addr,
		    grant_ref_t *refs);
int sim_grant_end(struct hv *hv, void *addr, unsigned int count);
int sim_grant_map(struct hv *hv, domid_t granter, unsigned int count, const grant_ref_t *refs,
		  bool writable, void **addr);
int sim_grant_unmap(struct hv *hv, void *addr, unsigned int count);
int sim_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs);

int sim_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port);
int sim_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port);
int sim_evtchn_notify(struct hv *hv, evtchn_port_t port);
int sim_evtchn_fd(struct hv *hv);
int sim_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms);
int sim_evtchn_unmask(struct hv *hv, evtchn_port_t port);
int sim_evtchn_unbind(struct hv *hv, evtchn_port_t port);
int sim_evtchn_state(struct hv *hv, evtchn_port_t port);

#endif
