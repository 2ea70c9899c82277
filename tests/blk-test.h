/* SPDX-License-Identifier: MIT */
/*
 * blk-test.h - a raw blkif front and a blkback serving loop, for the blk-* tests.
 *
 * A test forks two domains (t_domain_fork): the guest opens a t_blk_front, which grants a
 * one-page ring, allocates an event channel and sends a t_blk_hello down a pipe; the back-end
 * receives it in t_blk_back_attach, binds and attaches a blkback ring to the test's disk, and
 * serves with t_blk_serve until the guest writes 'q' on the control pipe or the ring breaks.
 * The guest fills requests itself (t_blk_front_slot) and collects the answers with
 * t_blk_front_run.
 */
#ifndef PVIO_TESTS_BLK_TEST_H
#define PVIO_TESTS_BLK_TEST_H

#include <stdint.h> /* Xen's public headers expect it first */

#include <xen/io/blkif.h>

#include "backend/blk/blkback.h"
#include "ring/ring.h"
#include "tests/hv-test.h"

/* What the guest tells the back-end, as xenstore would. */
struct t_blk_hello {
	domid_t guest;	    /* the front's domain */
	evtchn_port_t port; /* the front's unbound port */
	grant_ref_t ring;   /* the one-page ring */
};

/* The guest's end. */
struct t_blk_front {
	struct hv *hv;	       /* the guest's seam */
	struct ring_front rf;  /* the ring, front view */
	void *sring;	       /* the granted ring page */
	evtchn_port_t port;    /* our port */
	domid_t back;	       /* the back-end's domain */
	struct t_blk_hello hi; /* what was sent */
};

/* Open hv, grant the ring to back, allocate the port, send the hello on fd tx: 0 or 1. */
int t_blk_front_open(struct t_blk_front *f, domid_t back, int tx);
/* A zeroed request slot (NULL if the ring is full). */
struct blkif_request *t_blk_front_slot(struct t_blk_front *f);
/* Publish the filled slots, notify, wait for n responses (any order) into rsp: 0 or 1. */
int t_blk_front_run(struct t_blk_front *f, struct blkif_response *rsp, unsigned int n);
/* The status of the response with this id among rsp[0..n), or INT16_MIN if none. */
int16_t t_blk_status(const struct blkif_response *rsp, unsigned int n, uint64_t id);
/* End the ring grant (must succeed: the back-end has detached) and close hv: 0 or 1. */
int t_blk_front_close(struct t_blk_front *f);

/*
 * One direct request (id 1) of one segment, sectors first..last of data page refs[page], at
 * sector, run to its answer: the status, or INT16_MIN when none came.
 */
int16_t t_blk_one(struct t_blk_front *f, const grant_ref_t *refs, uint8_t op, uint64_t sector,
		  uint8_t page, uint8_t first, uint8_t last);
/* A discard (id 2) of n sectors at sector with flag, run to its answer: as t_blk_one. */
int16_t t_blk_discard(struct t_blk_front *f, uint64_t sector, uint64_t n, uint8_t flag);

/* Fill a direct request: segments seg[0..nseg) of data pages refs[page]. */
void t_blk_req(struct blkif_request *req, uint8_t op, uint64_t id, uint64_t sector,
	       unsigned int nseg, const grant_ref_t *refs, const uint8_t (*seg)[3]);

/* Back-end: receive the hello on fd rx, bind the port, fill p's ring fields and attach. */
int t_blk_back_attach(struct hv *hv, int rx, struct blkback_ring_params *p,
		      struct blkback_ring **r);
/*
 * Serve r as blkback.h says a loop must: blkback_ring_process once at the start, then only when
 * the port fires or the ring's io fd polls readable (or at once while it returns 1).  Returns 0
 * when ctl delivers 'q', the ring's negative errno when it fails, and -ETIMEDOUT, after printing
 * why, when nothing wakes the loop for T_BLK_STALL_MS while requests are outstanding (the ring
 * stalled: blkback_ring_process left nothing armed) or when 60 s pass.
 */
int t_blk_serve(struct hv *hv, struct blkback_ring *r, int ctl);
/* A wait this long with requests outstanding and no wake-up is a stall (the guest waits 10 s). */
#define T_BLK_STALL_MS 5000
/* Detach r, unbind port and close hv. */
void t_blk_back_close(struct hv *hv, struct blkback_ring *r, evtchn_port_t port);

/*
 * A back-end domain's whole life: open hv, serve a fresh pattern file of bytes bytes through a
 * ring attached as p says until 'q' arrives on rx, then send the ring's blkback_stats on tx.
 */
int t_blk_back_file(int rx, int tx, uint64_t bytes, struct blkback_ring_params *p);
/*
 * The back end's whole part on p's disk: attach (t_blk_back_attach on rx), serve until 'q',
 * its statistics into *st (if not NULL), detach and close hv: 0 or 1.
 */
int t_blk_back_disk(struct hv *hv, int rx, struct blkback_ring_params *p, struct blkback_stats *st);
/*
 * The guest's end, with a back end that answers 'q' on link->ab with a byte on link->ba once it
 * let go: the quit, that byte, the data grant of pages pages ended, the front closed: 0 or 1.
 */
int t_blk_guest_done(struct t_blk_front *f, const struct t_link *link, void *data,
		     unsigned int pages);

/*
 * One phase: fresh pipes in link, back (domain "blkback", its id in *back_id) and guest
 * (domain "guest") forked, both waited for, pipes closed.  The guest's status when it and the
 * back-end succeeded (0, or T_SKIP), else T_FAIL.
 */
int t_blk_pair(struct t_link *link, domid_t *back_id, int (*back)(void *), int (*guest)(void *));

/*
 * How the data-plane tests open their image.  A buffered image makes io_submit carry out reads
 * and writes before it returns (the page cache), an O_DIRECT one mostly completes them later:
 * the ring loop must keep its promises in both cases.  Set before t_blk_pair (forked domains
 * inherit it); T_BLK_DIRECT by default.
 */
enum t_blk_image {
	T_BLK_DIRECT,
	T_BLK_BUFFERED
};
extern enum t_blk_image t_blk_image;

/* blkback_disk_open, then, for a T_BLK_BUFFERED image, O_DIRECT dropped: 0 or 1. */
int t_blk_disk_open(struct blkback_disk *d, const char *path, bool readonly);

/*
 * Run phases (the test's whole sequence of t_blk_pair calls) once on a buffered image and once
 * on an O_DIRECT one.  T_PASS, T_FAIL, or T_SKIP when phases skipped or the filesystem of /tmp
 * takes no O_DIRECT (after the buffered run passed; the skip says so).
 */
int t_blk_each_image(int (*phases)(void));

/* Create a temporary file of bytes bytes, filled with t_blk_pattern; its path in path[32]. */
int t_blk_disk_make(char *path, uint64_t bytes);
/* The byte at off of a pattern sector. */
static inline uint8_t t_blk_pattern(uint64_t sector, unsigned int off)
{
	return (uint8_t)((sector * 37u + off * 7u) ^ (sector >> 8) ^ 0x5a);
}

#endif
