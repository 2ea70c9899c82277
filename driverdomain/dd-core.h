/* SPDX-License-Identifier: MIT */
/*
 * dd-core.h - the driver-domain daemons' core (pvio-blkback, pvio-netback): one control-plane
 * thread and a pool of queue threads.
 *
 * The control plane (dd_core_run, the caller's thread) follows xenstore, signals (SIGTERM,
 * SIGINT; SIGUSR2 with handover_signal), an optional once-a-second statistics timer and the
 * queue threads' failure reports.
 * It owns every device's control plane and never touches a ring a queue thread owns.
 *
 * A queue thread (dd-thread.c) owns its own hypervisor handle: the ports of its rings are bound
 * on that handle, their grants mapped through it, and its epoll set holds that handle's event
 * fd, each ring's io fd (and, while a ring asks for it, one more fd such as a TAP), and a
 * control eventfd.  The control plane hands a ring to its thread with dd_ring_attach and takes
 * it back with dd_ring_detach, through a small message queue (mutex + eventfd); dd_ring_detach
 * returns only once the thread has let go of the ring, so a device's teardown never races its
 * own I/O (the XSA-350 class).
 */
#ifndef PVIO_DRIVERDOMAIN_DD_CORE_H
#define PVIO_DRIVERDOMAIN_DD_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "hv/hv.h"
#include "hv/log.h"

struct dd_ring;
struct dd_thread;

/* What a queue thread calls on a ring it owns; every call is on that thread. */
struct dd_ring_ops {
	/* Serve the ring: 1 more work remains, 0 every wake-up is armed, < 0 failed for good. */
	int (*process)(struct dd_ring *r);
	/* Optional: a further fd to poll now (-1: none), asked after each process call. */
	int (*extra_fd)(struct dd_ring *r);
	/*
	 * Optional: the ring's process call returned 0 and nothing else is ready on its thread:
	 * poll the ring for its budget (e.g. blkback_ring_poll_wait: adaptive or fixed) before
	 * the thread sleeps.  True if work appeared (the ring is processed again).  It may leave
	 * the event index unarmed while it polls (the front then need not notify), but a false
	 * return means it is armed again and was looked at once more: the thread sleeps on it.
	 */
	bool (*poll_wait)(struct dd_ring *r);
	/* Optional: after each process call, e.g. to publish counters. */
	void (*after)(struct dd_ring *r);
	/*
	 * Optional, asked after each process call: when the ring must be processed again without
	 * any event (CLOCK_MONOTONIC ns), or 0.  A real timer (e.g. the end of a rate's credit
	 * window, when a throttled ring has armed nothing else), not a cover for a lost wake-up.
	 */
	uint64_t (*deadline)(struct dd_ring *r);
	/*
	 * Optional: a late EOI (XSA-332).  With it, an event leaves the ring's ports masked until a
	 * process call returns 0; then eoi says when to unmask them: 0 now, else at that time
	 * (CLOCK_MONOTONIC ns), when the ring is also processed again.  Events that arrive while
	 * the ports are held (a provider that cannot mask) only wait for that time.
	 */
	uint64_t (*eoi)(struct dd_ring *r, uint64_t now);
};

/* A message to a queue thread. */
struct dd_msg {
	int op;			  /* DD_MSG_* (dd-thread.c) */
	struct dd_ring *r;	  /* its ring */
	bool done;		  /* the thread has acted on it (under the thread's lock) */
	TAILQ_ENTRY(dd_msg) link; /* in the thread's queue */
};

/* One ring, as the caller fills it before dd_ring_attach. */
struct dd_ring {
	const struct dd_ring_ops *ops;
	void *obj;		/* the caller's ring */
	evtchn_port_t ports[2]; /* bound on the thread's hv; 0: unused */
	int io_fd;		/* always polled; -1: none */
	/* The core's, below. */
	struct dd_thread *t;		/* owner while attached */
	struct dd_msg add;		/* the attach message */
	bool ready;			/* on the thread's ready list (thread only) */
	bool masked;			/* an event left its ports masked (ops->eoi; thread only) */
	uint64_t unmask_at;		/* its ports are held masked until then (thread only) */
	uint64_t due;			/* ops->deadline's answer (thread only) */
	atomic_bool kicked;		/* dd_ring_kick asked for a process call */
	bool failed;			/* process failed: no more calls (thread only) */
	int extra;			/* the extra fd in the epoll set, or -1 (thread only) */
	atomic_int err;			/* the failure, for the control plane */
	atomic_ullong calls;		/* ops->process calls so far (statistics, tests) */
	atomic_ullong events;		/* its ports' events read so far (statistics) */
	bool reported;			/* on the core's failed list (core lock) */
	TAILQ_ENTRY(dd_ring) link;	/* ready list (thread) */
	TAILQ_ENTRY(dd_ring) fail_link; /* failed list (core lock) */
};

TAILQ_HEAD(dd_ring_list, dd_ring);
TAILQ_HEAD(dd_msg_list, dd_msg);

/* Counters of one queue thread, for tests and statistics (read with atomic loads). */
struct dd_thread_stats {
	atomic_ullong processed; /* ops->process calls */
	atomic_uint rings;	 /* rings owned */
};

/* One queue thread. */
struct dd_thread {
	struct dd_core *c;	      /* the core */
	unsigned int idx;	      /* 0..nthreads-1 */
	struct hv *hv;		      /* its own handle (owned) */
	int epfd;		      /* its epoll set */
	int ctlfd;		      /* eventfd: a message is queued, or stop */
	pthread_t thread;	      /* runs thread_main */
	bool started;		      /* thread was created */
	pthread_mutex_t lock;	      /* guards msgs, stop and every msg's done */
	pthread_cond_t cond;	      /* a message is done */
	struct dd_msg_list msgs;      /* queued messages, oldest first */
	bool stop;		      /* asked to end */
	struct dd_ring_list ready;    /* rings with work (thread only) */
	struct dd_ring **ports;	      /* port -> ring (thread only) */
	uint64_t next_timer;	      /* the earliest unmask_at or due, 0: none (thread only) */
	atomic_bool kick;	      /* a ring was kicked (dd_ring_kick) */
	atomic_bool ctl;	      /* the control eventfd was written: end the round */
	unsigned int nports;	      /* entries in ports */
	struct dd_thread_stats stats; /* counters */
};

/* What the control plane is told, on its own thread. */
struct dd_core_ops {
	/* The xenstore fd polls readable. */
	void (*xs_events)(struct dd_core *c);
	/* Once a second with a timer. */
	void (*timer)(struct dd_core *c);
	/* r's process call failed with err; r is still attached. */
	void (*ring_failed)(struct dd_core *c, struct dd_ring *r, int err);
	/*
	 * A planned hand-over (handover.h), optional: leave every device to a successor (stop
	 * taking requests, answer what is in flight, unbind the ports); then, if the successor
	 * went away without taking over, take_back serves them again.
	 */
	void (*leave)(struct dd_core *c);
	void (*take_back)(struct dd_core *c);
};

/* The core. */
struct dd_core {
	const char *prog;	       /* for messages */
	struct pvio_log *log;	       /* where messages go */
	struct xs_handle *xs;	       /* xenstore (control plane only) */
	const struct dd_core_ops *ops; /* the daemon's */
	void *arg;		       /* the daemon's */
	bool timer;		       /* run ops->timer once a second */
	bool handover_signal;	       /* SIGUSR2 also stops, setting handover */
	int epfd, sigfd, timerfd, failfd;
	bool stop;		   /* a signal, or a fatal error, asked us to exit */
	bool handover;		   /* SIGUSR2 or a successor: leave the devices to a successor */
	int ho_listen;		   /* the hand-over socket (handover.h), or -1 */
	int ho_conn;		   /* a connection on it: a successor (or our predecessor), or -1 */
	bool ho_valid;		   /* ho_listen and ho_conn were set up by dd_core_init */
	bool started;		   /* the queue threads run */
	int err;		   /* that fatal error, or 0 */
	unsigned int nthreads;	   /* queue threads */
	struct dd_thread *threads; /* nthreads entries (owned) */
	pthread_mutex_t lock;	   /* guards failed */
	struct dd_ring_list failed; /* rings whose thread reported a failure */
	atomic_int hv_gone;	    /* a thread's hypervisor handle hung up */
};

/* The number of queue threads for a cap (0: online CPUs), at least 1. */
unsigned int dd_core_threads(unsigned int cap);
/*
 * Set up c (prog, log, xs, ops, arg, timer filled): the signalfd, the control plane's
 * epoll set, and nthreads queue threads' hypervisor handles and fds, not yet their threads (so
 * the caller can enter its sandbox first).  0 or a negative errno; dd_core_fini in any case.
 */
int dd_core_init(struct dd_core *c, unsigned int nthreads, const struct hv_open_opts *hvo);
/* Start the queue threads (once; dd_core_run does it too). */
int dd_core_start(struct dd_core *c);
/* Start the queue threads, then run the control plane until a signal or a fatal error. */
int dd_core_run(struct dd_core *c);
/*
 * As a successor, on ho_conn (dd_handover_connect): ask the predecessor to leave and wait until
 * it has (its listening socket becomes ours).  0, or a negative errno: the predecessor refused
 * or went away, and nothing was handed over.
 */
int dd_core_takeover(struct dd_core *c);
/* The devices are served: tell the predecessor it may exit.  0 or a negative errno. */
int dd_core_takeover_done(struct dd_core *c);
/* Stop and join the threads (no ring may be attached), close everything. */
void dd_core_fini(struct dd_core *c);

/* Thread idx's hypervisor handle (the ports of its rings must be bound on it). */
struct hv *dd_core_thread_hv(struct dd_core *c, unsigned int idx);
/* Hand r (filled in) to thread idx; the thread processes it at once. 0 or -ENOMEM. */
int dd_ring_attach(struct dd_core *c, unsigned int idx, struct dd_ring *r);
/* Take r back: when this returns, its thread has let go of it for good.  Attached rings only. */
void dd_ring_detach(struct dd_ring *r);
/* Have r's thread process it soon (e.g. its limits changed).  Attached rings only. */
void dd_ring_kick(struct dd_ring *r);

/* dd-thread.c, for dd-core.c: open t's handle and fds; start its thread; stop and close it. */
int dd_thread_open(struct dd_thread *t, const struct hv_open_opts *hvo);
int dd_thread_start(struct dd_thread *t);
void dd_thread_close(struct dd_thread *t);

#endif
