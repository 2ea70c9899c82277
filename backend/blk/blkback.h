/* SPDX-License-Identifier: MIT */
/*
 * blkback.h - the block back-end's data plane: the backing disk, and one ring of one virtual
 * disk.
 *
 * The control plane (backend/blk/xenbus.c) opens the disk with blkback_disk_open, reads the
 * ring references, the event channel and the negotiated features from xenstore, binds the port
 * and hands them to blkback_ring_attach, once per queue.  From then on the event loop calls
 * blkback_ring_process whenever the ring's port fires or its I/O completion fd
 * (blkback_ring_io_fd) polls readable, and again while it returns 1 (the contract is at
 * blkback_ring_process).
 *
 * I/O goes through libaio, straight into the mapped guest pages: reads and writes as
 * IOCB_CMD_PREADV/PWRITEV, a flush as IOCB_CMD_FDSYNC.  Discard, and the drain of a write
 * barrier, are done synchronously in the loop (hole punching and BLKDISCARD do not exist as
 * aio commands).  Responses are written as completions arrive, so they may come out of order,
 * as blkif allows.
 *
 * Everything on the ring, and in an indirect descriptor page, is hostile.  A bad request gets
 * an error response and the ring keeps serving; a ring that breaks the protocol makes
 * blkback_ring_process return -EPROTO for good, and the caller disconnects that one device.
 *
 * Not thread-safe: one thread drives a ring.
 */
#ifndef PVIO_BACKEND_BLK_BLKBACK_H
#define PVIO_BACKEND_BLK_BLKBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "hv/log.h"
#include "ring/adaptive.h"

/* Sectors in blkif requests are 512 bytes whatever the disk's sector size (protocol notes §1). */
#define BLKBACK_SECTOR_SHIFT 9
/* Segments per indirect request we advertise, as Linux blkback's MAX_INDIRECT_SEGMENTS: 1 MiB. */
#define BLKBACK_MAX_INDIRECT_SEGMENTS 256u
/* Persistent grants kept mapped per ring by default, as Linux's max_persistent_grants. */
#define BLKBACK_MAX_PERSISTENT_DEFAULT 1056u

/* The backing store of one virtual disk, shared by the device's rings. */
struct blkback_disk {
	int fd;			  /* the open file or block device (owned: blkback_disk_close) */
	bool direct;		  /* opened O_DIRECT: I/O bypasses the host's page cache */
	bool blockdev;		  /* a block device (else a regular file) */
	bool readonly;		  /* mode "r": writes, flushes with data and discards refused */
	uint64_t sectors;	  /* size in 512-byte sectors */
	unsigned int sector_size; /* logical block size: 512, or the device's */
	unsigned int physical_sector_size; /* the device's physical block size, or sector_size */
	bool discard;			   /* discard can be served (punch hole / BLKDISCARD) */
	bool secure_discard;		   /* BLKIF_DISCARD_SECURE can be served (BLKSECDISCARD) */
	unsigned int discard_granularity;  /* bytes (discard-granularity) */
	unsigned int discard_alignment;	   /* bytes (discard-alignment) */
	/*
	 * A loop device in buffered mode over a regular file is served from the file itself
	 * (disk.c loop_bypass): fd is then the file, base the loop's offset into it (added to
	 * every I/O and discard), and loop_fd the device, held open as a kernel back-end holds
	 * it.  Otherwise base is 0 and loop_held false.
	 */
	uint64_t base;
	int loop_fd;
	bool loop_held;
};

/*
 * Open path as a disk: O_DIRECT where the target allows it (a probe read decides; tmpfs, for
 * one, does not), buffered otherwise; read-only when readonly.  Fills *d from fstat and, for a
 * block device, BLKGETSIZE64/BLKSSZGET/BLKPBSZGET/BLKDISCARDZEROES.  A regular file's size must
 * be a multiple of 512 (-EINVAL).  0 or a negative errno (the open's, typically -ENOENT).
 *
 * A whole loop device in buffered mode (not --direct-io, no encryption) whose backing file
 * the caller may open with the same access is served from that file, buffered, at the loop's
 * offset: the same bytes, the same write-back cache (the loop device writes through the file's
 * page cache too, and fsyncs the file for a flush), without the loop worker's hop and copy.
 * The file is accepted only when its device and inode are the ones the loop device reports
 * (LOOP_GET_STATUS64), so a path changed since losetup can only make the device be used as it
 * is.  The geometry stays the loop device's.  A change of the loop's offset or size limit
 * after the open is not followed.
 */
int blkback_disk_open(struct blkback_disk *d, const char *path, bool readonly);
/* A directory a device's `params` may name files beneath (pvio-blkback's --storage). */
struct blkback_storage_dir {
	const char *path; /* absolute, as `params` names it */
	int fd;		  /* the directory, opened O_PATH|O_DIRECTORY */
};

/* Every such directory; none: every `params` is refused. */
struct blkback_storage {
	const struct blkback_storage_dir *dirs;
	unsigned int nr;
};

/*
 * blkback_disk_open for the absolute path `params` names, resolved only beneath the storage
 * directory of s whose path is its longest prefix: openat2 with RESOLVE_BENEATH (`..` above the
 * directory and absolute symlinks are refused) and RESOLVE_NO_MAGICLINKS (/proc/<pid>/root and
 * fd links are refused).  -EXDEV when no directory holds path or the path escapes it, -ELOOP for
 * a magic link, -EINVAL for the directory itself, else as blkback_disk_open.  A loop device
 * beneath a directory may be served from its backing file wherever that lies: the file is the
 * device's content, and only the device's window of it is served.
 */
int blkback_disk_open_beneath(struct blkback_disk *d, const struct blkback_storage *s,
			      const char *path, bool readonly);
/* Close what blkback_disk_open opened; safe on a zeroed or already closed disk. */
void blkback_disk_close(struct blkback_disk *d);

/* What the control plane negotiated for one ring. */
struct blkback_ring_params {
	domid_t frontend;		    /* the guest that granted the ring */
	const grant_ref_t *refs;	    /* ring-ref0..N: 1 << order references */
	unsigned int order;		    /* ring-page-order, 0..RING_ORDER_MAX */
	evtchn_port_t port;		    /* our end of the event channel, already bound */
	const struct blkback_disk *disk;    /* the backing disk (outlives the ring) */
	bool persistent;		    /* feature-persistent negotiated: keep grants mapped */
	unsigned int max_persistent;	    /* grants kept mapped when persistent; 0: default */
	unsigned int max_indirect_segments; /* advertised; 0: BLKIF_OP_INDIRECT is refused */
	const char *name;		    /* for messages, e.g. "vbd 3/51712 q0" (copied) */
	struct pvio_log *log;		    /* NULL: stderr at PVIO_LOG_WARN */
	enum ring_poll_mode poll_mode;	    /* blkback_ring_poll_wait: adaptive (0), fixed, off */
	unsigned int poll_us;		    /* the fixed budget of RING_POLL_FIXED */
	/*
	 * Reads and writes go through private page-aligned buffers, copied to and from the
	 * mapped guest pages, instead of pointing the I/O straight at them.  For a Xen PV driver
	 * domain: there, O_DIRECT I/O on grant mappings pins each page the slow way (the
	 * mappings are special), which cost 70% of pvio-blkback's time per request.  At most
	 * BLKBACK_BOUNCE_RING_MAX bytes of buffers a ring; past that a request goes direct.
	 * Only for a disk opened O_DIRECT: buffered I/O copies through the page cache, pinning
	 * nothing, so a bounce there would be a second copy for nothing.
	 */
	bool bounce;
	/*
	 * The in-flight journal (journal.c): journal_name (no '/') beneath the directory
	 * journal_dirfd; NULL: none.  resume: load it and carry on where the process that wrote
	 * it stopped (its ring is the same, still Connected), executing again what it left
	 * unanswered; -EBADMSG when it is missing or not valid.  Otherwise it starts empty.
	 * A resume that finds the ring set up anew by the front since the journal started (the
	 * ring's mark, ring.h) drops the journal and serves the ring from its start, as a fresh
	 * connection with the offer the journal recorded.
	 */
	const char *journal_name;
	int journal_dirfd;
	bool resume;
};

/* Per-ring counters, for the statistics a tool reads and for tests. */
struct blkback_stats {
	uint64_t reads;		  /* BLKIF_OP_READ requests (direct or indirect) */
	uint64_t writes;	  /* BLKIF_OP_WRITE requests (direct or indirect) */
	uint64_t flushes;	  /* BLKIF_OP_FLUSH_DISKCACHE requests */
	uint64_t barriers;	  /* BLKIF_OP_WRITE_BARRIER requests */
	uint64_t discards;	  /* BLKIF_OP_DISCARD requests */
	uint64_t indirect;	  /* of the reads and writes, those sent as BLKIF_OP_INDIRECT */
	uint64_t unsupported;	  /* requests answered EOPNOTSUPP */
	uint64_t errors;	  /* requests answered BLKIF_RSP_ERROR */
	uint64_t bytes_read;	  /* bytes read from the disk into guest pages */
	uint64_t bytes_written;	  /* bytes written from guest pages to the disk */
	uint64_t bytes_discarded; /* bytes discarded */
	uint64_t pgrant_hits;	  /* persistent grants found already mapped */
	uint64_t pgrant_misses;	  /* persistent grants mapped on first use */
	unsigned int in_flight;	  /* requests taken off the ring and not yet answered */
	uint64_t ev_spurious;	  /* port events that brought no request (blkback_ring_eoi) */
	uint64_t ev_delayed;	  /* of them, those whose port was left masked for a while */
	/* Waits for work after the ring went quiet (ring/adaptive.h): */
	uint64_t poll_hits;   /* requests or completions came while spinning */
	uint64_t poll_misses; /* the whole spin budget went by without any */
	uint64_t poll_sleeps; /* the ring slept (after a miss, or with no budget) */
	uint64_t notifies;    /* notifications sent to the front (its rsp_event asked) */
	/* Where the ring's thread spends its time (CLOCK_MONOTONIC, ns; spins not included): */
	uint64_t busy_ns;   /* in blkback_ring_process */
	uint64_t submit_ns; /* of it, in io_submit */
	uint64_t notify_ns; /* of it, notifying the front */
	uint64_t bounced;   /* reads and writes served through a bounce buffer */
};

struct blkback_ring;

/* The bounce buffers a ring may hold (blkback_ring_params.bounce). */
#define BLKBACK_BOUNCE_RING_MAX (16u << 20)

/*
 * Map the ring writable, attach to it as the back end and set up its aio context.  -EINVAL for
 * bad parameters, the hypervisor's errno if the ring does not map, -EPROTO if its indices are
 * already corrupt, io_setup's errno.
 */
int blkback_ring_attach(struct blkback_ring **rp, struct hv *hv,
			const struct blkback_ring_params *p);

/*
 * blkback_ring_attach in two steps, for a hand-over: blkback_ring_prepare does what needs no
 * ownership of the ring, while another back-end may still serve it: map it (no store to it),
 * set up the aio context and the tables, and for a resume with persistent grants, map the
 * grants the predecessor's journal names.  blkback_ring_start, once the ring is ours and
 * p->port bound (p as given to prepare but for port), reads its indices, opens the journal and
 * resumes; on failure it frees the ring.  A prepared ring never started is freed with
 * blkback_ring_detach.  Errors as blkback_ring_attach's.
 */
int blkback_ring_prepare(struct blkback_ring **rp, struct hv *hv,
			 const struct blkback_ring_params *p);
int blkback_ring_start(struct blkback_ring *r, const struct blkback_ring_params *p);

/*
 * Take no new request; wait for the I/O in flight, answer it (and a barrier waiting for it)
 * and push the responses.  For a hand-over: what is left unanswered is only what the front
 * queued since.  0, or -EPROTO for a broken ring, or an errno of the wait.
 */
int blkback_ring_quiesce(struct blkback_ring *r);

/* An eventfd that polls readable when I/O of this ring has completed (never changes). */
int blkback_ring_io_fd(const struct blkback_ring *r);

/*
 * Reap completed I/O and answer it, then take new requests off the ring and submit them, at
 * most two batches.
 *
 * The event loop's contract.  Call it once after attach (the front may have queued requests
 * before), then whenever the ring's port fires or its io fd (blkback_ring_io_fd) polls
 * readable, and again, soon, while it returns 1; calling it more often is harmless.  Nothing
 * else is needed: no timer or periodic call may be what moves a ring along.  In return, on
 * every return it leaves one of these armed, so that every request the front has published is
 * answered without a further call beyond those:
 *   0   nothing to do until an event.  Either req_event is re-armed and the final check found
 *       no request unconsumed (a new request fires the port), or requests wait behind a write
 *       barrier while its drain is in flight (a completion makes the io fd readable; the barrier
 *       never waits with nothing in flight).  Every I/O still in flight, a flush's included,
 *       makes the io fd readable when it completes; completions left unreaped leave it
 *       readable.  After blkback_ring_poll_wait returned true, the io fd may also poll
 *       readable with nothing to reap, until the ring's next poll_wait (or a call that does
 *       not follow one) clears it: a wasted call, never a lost wake-up.
 *   1   more work remains (requests on the ring, after the two batches): call again, after
 *       other rings' turn.
 *   -EPROTO  the ring is broken, for good: disconnect the device.
 *   another negative errno: notifying the front or io_getevents failed; treat as -EPROTO.
 */
int blkback_ring_process(struct blkback_ring *r);

/* Whether the front has published requests not yet taken (a cheap look for busy-polling). */
bool blkback_ring_has_requests(const struct blkback_ring *r);

/*
 * Call it where the ring is about to go idle (blkback_ring_process returned 0): spin for work,
 * within the ring's poll budget (ring/adaptive.h: self-tuning by default, p->poll_us fixed, or
 * none), looking without a system call at the front's request producer and at our aio
 * context's completion ring (the kernel's head and tail are in our memory).  Returns at once
 * when the ring has had no recent work, so an idle ring costs no CPU.  true: work is there,
 * call blkback_ring_process now; false: sleep as the process call's contract says.  While it
 * spins, req_event is left unarmed (the front's pushes need not notify); before it returns
 * false it arms req_event again, clears the io fd of completions the spins already had reaped,
 * and looks once more at both, so what wakes the loop is armed as the process call left it
 * (spinning consumes nothing).  It spins 100 us at most per call:
 * a longer fixed budget returns true between slices, so the caller's other work is not held
 * up (the extra process call finds nothing and costs little).
 */
bool blkback_ring_poll_wait(struct blkback_ring *r);

/*
 * Late EOI, against a guest's event storm (XSA-332): the loop leaves the port masked from its
 * event until blkback_ring_process has returned 0 after it, then asks here when to unmask it,
 * by ring/eoi.h's rule over the ring's work (requests taken, responses written).  A request
 * ends a spurious run, so a guest doing I/O is never held.  Returns 0: unmask now; else the
 * CLOCK_MONOTONIC time (ns) to unmask at.  Call it from the ring's thread.
 */
uint64_t blkback_ring_eoi(struct blkback_ring *r, uint64_t now);

/* A snapshot of the ring's counters. */
void blkback_ring_stats(const struct blkback_ring *r, struct blkback_stats *st);

/* Add every counter of st to sum (in_flight included), e.g. over the rings of a device. */
void blkback_stats_add(struct blkback_stats *sum, const struct blkback_stats *st);

/*
 * Wait for the I/O in flight (the kernel cannot be told to drop it: its buffers are guest
 * pages), release every mapped grant and the ring, and free it.  The disk and the port stay
 * the caller's.  NULL is fine.
 */
void blkback_ring_detach(struct blkback_ring *r);

#endif
