/* SPDX-License-Identifier: MIT */
/*
 * journal.h - the in-flight journal of one blkback ring: what a new pvio-blkback needs to take
 * over a ring that a dead (or stopped) one was serving, without the front-end noticing.  See
 * journal.c for the format and the argument that no request is lost or answered twice.
 */
#ifndef PVIO_BACKEND_BLK_JOURNAL_H
#define PVIO_BACKEND_BLK_JOURNAL_H

#include <stdbool.h>
#include <stdint.h> /* Xen's public headers expect it first */

#include <xen/io/blkif.h>

#include "ring/ring.h"

struct blkback_journal;

/* The file's format (journal.c), public for the tests that build broken and half-done ones. */
#define JOURNAL_MAGIC	0x4a4b4250u /* "PBKJ" */
#define JOURNAL_VERSION 3u	    /* 1: no max_indirect; 2: no tail */
#define SLOT_FREE	0u
#define SLOT_TAKEN	1u

struct journal_slot {
	uint32_t state;		  /* SLOT_FREE or SLOT_TAKEN */
	uint32_t req_idx;	  /* the ring index it was taken from */
	uint32_t answered;	  /* 1: answered_at is valid */
	uint32_t answered_at;	  /* the response index it was answered into */
	struct blkif_request req; /* as taken off the ring */
};

struct journal_head {
	uint32_t magic, version;
	uint32_t frontend, order, nr_ents;
	uint32_t refs[1u << RING_ORDER_MAX];
	uint32_t req_cons;	     /* requests consumed, as recorded */
	uint32_t rsp_prod_pvt;	     /* responses written, as recorded */
	uint32_t max_indirect;	     /* indirect segments the ring was offered (version 2) */
	struct journal_slot slots[]; /* nr_ents + 1 */
};

/*
 * After the slots (version 3): the ring's mark (ring_back_mark) when the journal was started,
 * which a load compares with the ring's now.  Versions 1 and 2 end at the slots.
 */
struct journal_tail {
	uint32_t mark_lo, mark_hi;
};

/* What identifies the ring a journal belongs to. */
struct blkback_journal_id {
	uint32_t frontend;	 /* the granting domain */
	uint32_t order;		 /* ring-page-order */
	uint32_t nr_ents;	 /* ring entries */
	const grant_ref_t *refs; /* 1 << order ring references */
	uint32_t max_indirect;	 /* what the ring was offered: recorded in a fresh journal */
	uint64_t mark;		 /* the ring's mark: recorded fresh, compared at a load */
};

/*
 * Open the journal file name beneath directory dirfd (created 0600 if absent).  fresh: start an
 * empty journal at index start (a new connection).  Otherwise load it: -EBADMSG when it is
 * absent, short, not ours, of another ring or inconsistent (it is validated like guest input);
 * -ESTALE when it is of this ring's references but recorded another mark than id->mark: the
 * front set the ring up anew after the journal was started, so nothing in it is of the ring's
 * present requests.  A journal of version 1 or 2 has no mark and is not compared.
 */
int blkback_journal_open(struct blkback_journal **jp, int dirfd, const char *name,
			 const struct blkback_journal_id *id, bool fresh, uint32_t start);
void blkback_journal_close(struct blkback_journal *j);
/*
 * The indirect segments the ring was offered when it connected (a fresh journal's
 * id->max_indirect); a journal of version 1 did not record it: id->max_indirect of the load.
 */
uint32_t blkback_journal_max_indirect(const struct blkback_journal *j);

/*
 * Read the journal name beneath dirfd without taking it, ahead of a hand-over, while its
 * writer may still serve: the indirect segments its ring was offered, into *max_indirect.
 * -EBADMSG when it is absent, not ours or of another ring (its header is checked as
 * blkback_journal_open checks it, its slots are not: they change while we read); -ESTALE, with
 * *max_indirect filled, when its mark is not id->mark (the ring was set up anew: what the front
 * was offered stands, the grants the old connection used are not to be mapped).
 */
int blkback_journal_peek(int dirfd, const char *name, const struct blkback_journal_id *id,
			 uint32_t *max_indirect);

/*
 * The persistent-grant record of a ring, <name>.grants beside its journal: the references its
 * grant cache holds (mapcache_record keeps it up to date), so that a successor maps them
 * before it takes the ring over and its first requests do not wait for maps.  Only hints:
 * every reference is the guest's, mapped as such (a bad one fails to map, like any).
 *   open:   a fresh record for capacity cache slots (mode 0600, replacing any): *record, *size;
 *   close:  unmap it (the file stays for a successor); remove: unlink it;
 *   peek:   up to max references of frontend's record into refs (*n), or -EBADMSG.
 */
int blkback_grants_open(int dirfd, const char *name, uint32_t frontend, unsigned int capacity,
			uint32_t **record, size_t *size);
void blkback_grants_close(uint32_t *record, size_t size);
void blkback_grants_remove(int dirfd, const char *name);
int blkback_grants_peek(int dirfd, const char *name, uint32_t frontend, grant_ref_t *refs,
			unsigned int max, unsigned int *n);

/* Slots: 0..nr_ents-1 follow the ring's table of requests; nr_ents is for one answered now. */
/* The request taken off the ring at index idx goes into slot; req_cons is then idx + 1. */
void blkback_journal_take(struct blkback_journal *j, uint32_t slot, uint32_t idx,
			  const struct blkif_request *req);
/* The request of slot was answered into response index rsp (rsp_prod_pvt is now rsp + 1). */
void blkback_journal_answer(struct blkback_journal *j, uint32_t slot, uint32_t rsp);

/* After a load: the indices to resume at. */
void blkback_journal_indices(const struct blkback_journal *j, uint32_t *req_cons,
			     uint32_t *rsp_prod_pvt);
/*
 * After a load: the next request to execute again at or after *slot (a private copy into req,
 * the ring index it was taken at into idx), advancing *slot past it; false when there is none.
 */
bool blkback_journal_next(const struct blkback_journal *j, uint32_t *slot, uint32_t *idx,
			  struct blkif_request *req);

#endif
