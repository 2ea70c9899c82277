/* SPDX-License-Identifier: MIT */
/*
 * blkback-front.h - a scripted blkif front end for the tests of pvio-blkback(8): it grants its
 * rings and data pages, writes its keys the way Linux blkfront does (or the wrong way, when
 * told), walks the XenbusState handshake and sends single requests.  Functions return 0 on
 * success and T_FAIL (after printing why) otherwise, as T_CHECK does.
 */
#ifndef PVIO_TESTS_BLKBACK_FRONT_H
#define PVIO_TESTS_BLKBACK_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "ring/ring.h"
#include "xenbus/xenbus.h"

#define TF_QUEUES_MAX 4
#define TF_WAIT_MS    10000

/* One queue: its ring and port. */
struct tf_queue {
	void *sring;				/* the granted ring pages */
	grant_ref_t refs[1u << RING_ORDER_MAX]; /* their references */
	struct ring_front rf;			/* our end of the ring */
	evtchn_port_t port;			/* our unbound-then-bound port */
};

/* The front end of one device. */
struct tfront {
	struct hv *hv;			  /* the guest's hypervisor handle */
	struct xenbus_dev xd;		  /* the device, from the front's side */
	unsigned int nq;		  /* queues shared (0: none) */
	unsigned int order;		  /* their ring-page-order */
	struct tf_queue q[TF_QUEUES_MAX]; /* the queues */
	uint8_t *data;			  /* two data pages, granted writable */
	grant_ref_t dref[2];		  /* their references */
	uint64_t next_id;		  /* request ids */
};

/* What tf_publish writes. */
struct tf_keys {
	const char *protocol;  /* NULL: not written */
	unsigned int nq_key;   /* multi-queue-num-queues to write; 0: not written */
	bool persistent;       /* feature-persistent = 1 */
	bool skip_initialised; /* switch straight to Connected (Mini-OS) */
};

/*
 * A guest domain's first process: read the two domids (guest, driver domain) dom0 writes on fd
 * into *fe and *dd, open the hypervisor and the guest's own xenstore socket, and run.  run's
 * result (0 pass, 1 fail).
 */
int tf_guest(int fd, domid_t *fe, domid_t *dd, int (*run)(struct hv *hv, struct xs_handle *xs));

int tf_open(struct tfront *f, struct hv *hv, struct xs_handle *xs, const char *front_path);
/* Grant nq rings of 1 << order pages and two data pages, and allocate the ports. */
int tf_share(struct tfront *f, unsigned int nq, unsigned int order);
/* Write the ring keys and k's in one transaction, then Initialised (or Connected). */
int tf_publish(struct tfront *f, const struct tf_keys *k);
/* Wait for the back end's state to be in mask; *state gets it (may be NULL). */
int tf_wait(struct tfront *f, unsigned int mask, enum xenbus_state *state);
/* Read a u32 of the back end and compare. */
int tf_expect(struct tfront *f, const char *key, uint32_t want);
/* One request of op on queue q: 8 sectors at sector in data page page; *status gets the answer. */
int tf_io(struct tfront *f, unsigned int q, uint8_t op, uint64_t sector, unsigned int page,
	  int16_t *status);
/*
 * A page of a pattern of sector and q: written at sector on queue q from data page 0 (unless
 * check_only: it is there already), read back into page 1 and compared.
 */
int tf_round_trip(struct tfront *f, unsigned int q, uint64_t sector, bool check_only);
/*
 * Queue n one-page writes of data page 0 on queue 0 at sectors base, base + 8, ... and push
 * them without notifying; the first one's id into *first_id.
 */
int tf_queue_writes(struct tfront *f, uint64_t base, unsigned int n, uint64_t *first_id);
/* Collect n responses on queue 0, ids [first, first + n) once each, OKAY, within limit_s. */
int tf_collect(struct tfront *f, unsigned int n, uint64_t first, int limit_s);
/* Close: Closing, wait for the back end's Closing or Closed, Closed, wait Closed; release. */
int tf_close(struct tfront *f);
/* End the grants and unbind the ports (after the back end has let go). */
void tf_release(struct tfront *f);

#endif
