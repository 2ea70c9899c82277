/* SPDX-License-Identifier: MIT */
/*
 * pvio/blkfront.h - libpvio-blkfront: a Xen block front-end (blkif) as a user-space library.
 *
 * blkfront_open finds the guest's device/vbd/<devid> in xenstore, waits for the back-end's
 * InitWait, negotiates what the back-end offers (multi-queue, multi-page rings, persistent
 * grants, indirect descriptors, flush, barrier, discard), grants its rings and data pages,
 * binds one event channel per queue and switches to Initialised, then waits for Connected.
 * It works against any blkif back-end: Linux blkback, QEMU's qdisk, pvio-blkback(8).
 *
 * I/O is asynchronous: blkfront_submit queues an operation and returns; blkfront_poll (or
 * a wait on blkfront_fd) runs the completion callbacks.  The synchronous calls submit and poll
 * until their own operation completes, running other completions on the way.  An operation
 * larger than one request is split and completes once, after every part.
 *
 * Data is copied into pages granted once to the back-end (persistent grants when the back-end
 * offers feature-persistent; without it the back-end maps them per request).  The caller's
 * buffer needs no alignment; offsets and lengths are in bytes, multiples of 512.  Buffers from
 * blkfront_buf_alloc are themselves granted and go without a copy.
 *
 * If the back-end goes away (its state moves to Closing or Closed, or its end of an event
 * channel closes) the library tears the rings down, keeps every operation not yet answered,
 * and reconnects when a back-end serves the device again; it then re-issues those operations
 * in submission order.  An operation completes with success only once the back-end answered
 * it: an acknowledged write is never lost.  When the toolstack removes the device (online=0,
 * or the directory is gone) the pending operations complete with -ENODEV.  If xenstore goes
 * away the connected rings keep serving; if the back-end then goes too, nothing can reconnect
 * the device and the pending operations complete with -ENOTCONN.  So they do at once when
 * the hypervisor goes (the embedded pvio-hv dies): no grant could end and no back-end's death
 * would be seen any more.
 *
 * Every call returns 0 (or a count where said) or a negative errno, never exits and prints
 * only through the logger.  A handle is not thread-safe: one thread drives it.
 */
#ifndef PVIO_BLKFRONT_H
#define PVIO_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xs_handle; /* libxenstore's connection (<xenstore.h>) */
struct blkfront;

/* Log levels: what blkfront_log_fn receives and blkfront_opts.log_level selects. */
enum blkfront_log_level {
	BLKFRONT_LOG_ERROR = 0,
	BLKFRONT_LOG_WARN = 1,
	BLKFRONT_LOG_INFO = 2,
	BLKFRONT_LOG_DEBUG = 3,
};

/* One line of the library's log, without a newline, "module: message" (as xentoollog). */
typedef void blkfront_log_fn(void *arg, enum blkfront_log_level level, const char *line);

/* What the caller asks for; zero means the default everywhere. */
struct blkfront_opts {
	unsigned int devid;	 /* device/vbd/<devid>; 0: the lowest-numbered one */
	struct xs_handle *xs;	 /* NULL: xs_open(0); else it must carry no other watches */
	unsigned int queues;	 /* rings wanted, capped by multi-queue-max-queues; 0: 1 */
	unsigned int ring_order; /* log2 of ring pages wanted, capped by max-ring-page-order */
	unsigned int max_indirect_segments; /* cap on indirect segments; 0: 256 */
	bool no_indirect;		    /* use only 11-segment requests */
	bool no_persistent;		    /* do not announce feature-persistent */
	unsigned int queue_depth;	    /* submissions outstanding at most; 0: sum of rings */
	unsigned int pool_pages;	    /* granted pages per queue; 0: 1024 or what fits */
	/*
	 * How long to spin for responses before sleeping: 0, the default, a self-tuning budget
	 * of at most 50 us after activity (ring/adaptive.h); N: always N us.  no_poll: never
	 * spin (pure interrupt mode).
	 */
	unsigned int poll_us;
	bool no_poll;
	int timeout_ms;	      /* how long blkfront_open waits to connect; 0: 10 s; <0: forever */
	int device_wait_ms;   /* the device may not exist yet: wait this long for it to appear */
	blkfront_log_fn *log; /* NULL: lines to stderr */
	void *log_arg;	      /* log's argument */
	enum blkfront_log_level log_level; /* most verbose level logged; 0: BLKFRONT_LOG_WARN */
	/*
	 * Behave as Linux's xen-blkfront when the back-end goes: never reconnect.  A back-end
	 * process that dies leaves us Connected with requests queued on the ring, waiting for a
	 * successor to take the ring over; only the back-end's state leaving Connected (or a
	 * broken ring) fails the device, with -ENOTCONN.  Event-channel states are not watched.
	 */
	bool no_reconnect;
};

/* What was negotiated, and the disk's properties (the back-end's keys). */
struct blkfront_info {
	uint64_t sectors;		   /* disk size in 512-byte sectors */
	unsigned int sector_size;	   /* logical block size in bytes */
	unsigned int physical_sector_size; /* physical block size in bytes */
	bool readonly;			   /* VDISK_READONLY (or mode r): writes fail -EROFS */
	bool cdrom;			   /* VDISK_CDROM */
	bool removable;			   /* VDISK_REMOVABLE */
	bool flush;			  /* feature-flush-cache: BLKFRONT_FLUSH is a cache flush */
	bool barrier;			  /* feature-barrier */
	bool discard;			  /* feature-discard */
	bool secure_discard;		  /* discard-secure */
	unsigned int discard_granularity; /* bytes */
	unsigned int discard_alignment;	  /* bytes */
	bool persistent;		  /* both ends use persistent grants */
	unsigned int queues;		  /* rings in use */
	unsigned int ring_order;	  /* log2 pages per ring */
	unsigned int ring_entries;	  /* requests per ring */
	unsigned int max_segments;	  /* segments per request (11, or indirect's) */
	unsigned int backend_id;	  /* the back-end's domain */
	unsigned int devid;		  /* the device id */
};

/* Counters since open. */
struct blkfront_stats {
	uint64_t submitted;	/* operations accepted by blkfront_submit */
	uint64_t completed;	/* operations whose callback ran */
	uint64_t requests;	/* blkif requests put on a ring (parts, flushes, re-issues) */
	uint64_t errors;	/* operations completed with an error */
	uint64_t reconnects;	/* times the device connected again after losing its back-end */
	uint64_t reissued;	/* requests re-issued after a reconnect */
	unsigned int in_flight; /* operations submitted and not yet completed */
	/* Waits for responses with requests in flight (ring/adaptive.h): */
	uint64_t poll_hits;   /* the response came while spinning */
	uint64_t poll_misses; /* the whole spin budget went by without one */
	uint64_t poll_sleeps; /* the wait slept (after a miss, or with no budget) */
	uint64_t notifies;    /* notifications sent to the back-end (its req_event asked) */
	uint64_t events;      /* event-channel notifications taken */
};

enum blkfront_op {
	BLKFRONT_READ,		 /* read len bytes at offset into buf */
	BLKFRONT_WRITE,		 /* write len bytes from buf at offset */
	BLKFRONT_FLUSH,		 /* make completed writes durable (buf, len, offset unused) */
	BLKFRONT_DISCARD,	 /* the range need not keep its data (buf unused) */
	BLKFRONT_SECURE_DISCARD, /* the same, securely erased (only if secure_discard) */
};

/*
 * A completion: result is 0, -EIO (the back-end answered BLKIF_RSP_ERROR), -EOPNOTSUPP (it
 * answered BLKIF_RSP_EOPNOTSUPP), -ENODEV (the device was removed), -ENOTCONN (the device
 * cannot continue: the hypervisor is gone, or its back-end went while xenstore was gone),
 * -ENOMEM (no memory to re-cut it for a back-end that reconnected with smaller requests) or
 * -ECANCELED (the handle was closed first).  Called from blkfront_poll or a synchronous call,
 * never from submit.  It may submit more operations.
 */
typedef void blkfront_done_fn(void *arg, int result);

/*
 * Connect to the device: -ENOENT if there is none (after device_wait_ms), -ETIMEDOUT if no
 * back-end connected within timeout_ms.
 */
int blkfront_open(struct blkfront **bfp, const struct blkfront_opts *opts);

/*
 * Complete what is pending with -ECANCELED, close the device (Closing, then Closed once the
 * back-end has), end the grants the back-end no longer maps and free the handle.  NULL is fine.
 */
void blkfront_close(struct blkfront *bf);

/* What was negotiated (refreshed on reconnect). */
void blkfront_get_info(const struct blkfront *bf, struct blkfront_info *info);
void blkfront_get_stats(const struct blkfront *bf, struct blkfront_stats *st);

/*
 * Queue an operation; done(arg, result) runs when it completes, exactly once.  buf must stay
 * valid until then.  An error means nothing was queued and done never runs.  0, or: -ENOMEM;
 * -EAGAIN when queue_depth operations are outstanding (poll, then retry);
 * -EINVAL for an offset or length not a multiple of 512, a zero-length read/write/discard,
 * or a range past the end of the disk; -EROFS for a write or discard on a read-only disk;
 * -EOPNOTSUPP for a discard the back-end does not offer; -ENODEV once the device is gone,
 * -ENOTCONN once it cannot continue.
 * A flush on a back-end without flush or barrier completes at once with 0 (nothing to flush).
 */
int blkfront_submit(struct blkfront *bf, enum blkfront_op op, void *buf, uint64_t offset,
		    size_t len, blkfront_done_fn *done, void *arg);

/*
 * Take responses and run completions, waiting up to timeout_ms (-1: until one completes, 0:
 * not at all) for the first; also drives a reconnect.  The number of operations completed,
 * or -ENODEV once the device is gone, or -ENOTCONN: once when the connection to xenstore is
 * lost (the connected rings go on serving, but the device can no longer reconnect), and for
 * good once the device cannot continue (see the completions).  Responses already on a ring are
 * always delivered.
 */
int blkfront_poll(struct blkfront *bf, int timeout_ms);

/* A file descriptor that polls readable when blkfront_poll has work (for an event loop). */
int blkfront_fd(const struct blkfront *bf);

/* Operations submitted and not yet completed. */
unsigned int blkfront_in_flight(const struct blkfront *bf);

/*
 * Memory granted to the back-end, for I/O without a copy: an operation whose buffer starts on a
 * page of such memory and lies inside it uses those pages as its segments (the back-end reads or
 * writes them directly); any other buffer is copied through the library's own granted pages.
 * len is rounded up to whole pages; the memory is page-aligned and zeroed, in *out.  0, or
 * -EINVAL (len 0), -ENOMEM or the hypervisor's error.  The pages stay granted, writable, to the
 * back-end's domain from allocation to blkfront_buf_free, across reconnects, not only while an
 * operation uses them: that back-end may read or write them at any time (a read's data may change
 * after it completed).  Use them only with a back-end trusted with that memory; the library's
 * own pages (any other buffer) are copied out at completion.  With persistent grants the back-end
 * may keep these pages mapped for as long as it is connected: blkfront_buf_free then keeps them
 * granted until it has unmapped them (they are never handed out again, XSA-396), at the latest
 * until blkfront_close.  Buffers left allocated are released by blkfront_close.  Free a buffer
 * only once no operation using it is in flight.
 */
int blkfront_buf_alloc(struct blkfront *bf, size_t len, void **out);
void blkfront_buf_free(struct blkfront *bf, void *buf);

/*
 * Synchronous forms: submit, then poll until this operation completes; its result.  They never
 * return while the operation is queued: on an error of blkfront_poll they return that error
 * only after taking the operation back out of the queue, which they can while no part of it
 * is on a ring; otherwise they wait for it.
 */
int blkfront_read(struct blkfront *bf, void *buf, uint64_t offset, size_t len);
int blkfront_write(struct blkfront *bf, const void *buf, uint64_t offset, size_t len);
int blkfront_flush(struct blkfront *bf);
int blkfront_discard(struct blkfront *bf, uint64_t offset, size_t len, bool secure);

#ifdef __cplusplus
}
#endif

#endif
