/* SPDX-License-Identifier: MIT */
/*
 * netback-priv.h - one netback queue's private state, shared by netback.c (attach, the
 * process loop), tx.c (guest -> TAP) and rx.c (TAP -> guest).
 */
#ifndef PVIO_BACKEND_NET_NETBACK_PRIV_H
#define PVIO_BACKEND_NET_NETBACK_PRIV_H

#include <stdint.h> /* Xen's public headers expect it first */

#include <pthread.h>
#include <stdatomic.h>

#include <xen/io/netif.h>

#include "backend/net/credit.h"
#include "backend/net/hash.h"
#include "backend/net/mcast.h"

#include "backend/net/netback.h"
#include "ring/eoi.h"
#include "ring/ring.h"

#define PREFIX "netback"
/* Slots taken off a ring per call and direction before the others get their turn. */
#define NETBACK_BUDGET 64u
/* Entries of a one-page netif ring (both directions): the private RX buffer FIFO's size. */
#define NETBACK_RING_ENTS 256u
/*
 * Guest pages after the first that a frame of NETBACK_FRAME_MAX fills: what a TAP read straight
 * into the guest's RX buffers offers the kernel beyond the first page, which is read locally.
 */
#define NETBACK_RX_DIRECT_PAGES ((NETBACK_FRAME_MAX - 1) / HV_PAGE_SIZE)

/* The TX frame being gathered, slot by slot, across calls. */
struct tx_frame {
	struct netif_tx_request slot[NETBACK_TX_SLOTS_MAX]; /* data slots, first one first */
	unsigned int nslots;				    /* data slots stored */
	unsigned int nseen;	     /* data slots of the frame seen, those discarded too */
	unsigned int nextra;	     /* extra-info slots seen */
	bool want_extra;	     /* the next slot is extra info */
	bool more;		     /* the last data slot had NETTXF_more_data */
	uint8_t extra_seen;	     /* bit per extra type already given */
	struct netif_extra_info gso; /* the GSO extra, when extra_seen says so */
	struct netif_extra_info mc_add, mc_del; /* the multicast extras, likewise */
	uint16_t order[NETBACK_TX_SLOTS_MAX + XEN_NETIF_EXTRA_TYPE_MAX]; /* per slot in ring order:
					   its data index, or EXTRA_SLOT for an extra-info slot */
	unsigned int nordered;						 /* entries of order */
	uint64_t *failed; /* the counter of the reason the frame fails, or NULL */
	bool discarding;  /* too many slots: answered so far, the rest answered as
			     they come until the frame ends */
};
#define EXTRA_SLOT 0xFFFFu

struct netback_queue {
	struct hv *hv;					/* hypervisor handle (not owned) */
	struct netback_queue_params p;			/* as attached (name points to name_buf) */
	char name_buf[64];				/* copy of the name */
	void *tx_sring, *rx_sring;			/* the mapped ring pages */
	struct ring_back tx, rx;			/* our ends of the rings */
	struct tx_frame txf;				/* the TX frame being gathered */
	uint8_t *txbuf;					/* virtio header + one frame, for the TAP */
	struct netif_rx_request rxq[NETBACK_RING_ENTS]; /* posted RX buffers, copied off the ring */
	unsigned int rxq_head, rxq_len;			/* FIFO: first held, count held */
	uint8_t *rxbuf;	      /* virtio header + the held frame, read from the TAP */
	unsigned int rx_held; /* bytes held in rxbuf (0: none) */
	bool tap_drained;     /* the last TAP read said EAGAIN */
	bool rx_starved;      /* a held frame waits for the guest's buffers */
	bool rx_hashed;	      /* the held frame carries a hash extra: */
	uint8_t rx_hash_type; /*   its _XEN_NETIF_CTRL_HASH_TYPE_* */
	uint32_t rx_hash;     /*   and value */

	/*
	 * Moving frames through mapped guest pages (hv_grant_map_cheap): the kernel copies between
	 * the TAP and the guest's buffers, with no grant copy through txbuf or rxbuf in between.
	 * A page is mapped for one frame and unmapped before the frame is answered, so that once
	 * answered the front can end its grant, as with Linux netback.
	 */
	bool maps;		/* hv_grant_map_cheap: frames through mapped pages */
	bool rx_direct;		/* the last frame read filled more than a page */
	unsigned int rx_guess;	/* extra-info slots the next such frame is read around */
	unsigned int rx_dpages; /* the held frame's pages past the first, mapped guest pages: */
	uint8_t *rx_dptr[NETBACK_RX_DIRECT_PAGES]; /*   each mapped here */
	struct netback_stats st;		   /* counters */
	unsigned int log_budget;		   /* guest-triggered messages still allowed */

	/* The TX rate (credit.h). */
	struct netback_credit credit;	 /* the scheduler */
	struct netif_tx_request tx_held; /* a frame's first slot, consumed, waiting for credit */
	bool tx_holding;		 /* tx_held is valid */
	pthread_mutex_t rate_lock; /* guards rate_bytes and rate_usec (netback_queue_set_rate) */
	uint64_t rate_bytes, rate_usec; /* the rate to apply next */
	atomic_bool rate_changed;	/* rate_* changed since the queue's thread applied them */

	/* Late EOI (netback_queue_eoi). */
	uint64_t ring_work;  /* requests taken off both rings, ever */
	struct ring_eoi eoi; /* the rule's state (ring/eoi.h) */
};

struct pvio_log *netback_log(const struct netback_queue *q);
/* A rate-limited warning about something the guest did. */
__attribute__((format(printf, 2, 3))) void netback_warn(struct netback_queue *q, const char *fmt,
							...);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t netback_now_ns(void);

/* Serve the TX ring: 1 more work, 0 idle (req_event armed), negative errno. */
int netback_tx_process(struct netback_queue *q);
/* Serve the RX direction: 1 more work, 0 idle (the wake-up armed), negative errno. */
int netback_rx_process(struct netback_queue *q);
/* Unmap the guest pages the held frame was read into (rx_dpages); the frame stays held. */
void netback_rx_unmap(struct netback_queue *q);

/*
 * Where a frame's TCP/UDP header starts and which it is (6 or 17), for offloads: 0, or
 * -EINVAL when the frame is not IPv4/IPv6 carrying one whole within len.  *v6 set for IPv6.
 */
int netback_l4_find(const uint8_t *frame, size_t len, size_t *off, uint8_t *proto, bool *v6);

#endif
