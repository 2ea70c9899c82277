/* SPDX-License-Identifier: MIT */
/*
 * blk-fakeback.h - a scripted blkif back-end for libpvio-blkfront's tests, and the two-domain
 * set-up they share.
 *
 * fb_env_start starts a private pvio-hv and pvio-xenstored (following pvio-hv), forks a
 * back-end domain and a front-end domain, introduces both, adds device vbd/FB_DEVID and lets
 * the two bodies run, each with XENSTORED_PATH on its own domain socket.  The disk is a
 * MAP_SHARED buffer made before the forks, so a back-end process that dies and is replaced
 * keeps the data, and the test can check it from any process.
 *
 * fb_serve does the back-end's side, over and over: features and InitWait, map the rings the
 * front-end granted, bind its event channels, serve READ, WRITE, FLUSH, BARRIER, DISCARD and
 * INDIRECT from the disk with ring_back_*; on the front-end's Closing/Closed it unmaps and
 * closes, then waits for it to start again.  It returns once the toolstack set online=0, or
 * after a misbehaviour that ends the process.
 */
#ifndef PVIO_TESTS_BLK_FAKEBACK_H
#define PVIO_TESTS_BLK_FAKEBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>

#define FB_DEVID 51712

/* What a back-end does wrong, once, after `after` requests. */
enum fb_misbehave {
	FB_NONE,
	FB_STALL,   /* stop answering (and consuming) for good */
	FB_CLOSE,   /* stop answering, then unmap, switch Closed and return */
	FB_BAD_ID,  /* answer with an id the front never used */
	FB_DUP,	    /* answer one request twice */
	FB_OVERRUN, /* publish a rsp_prod more than a ring ahead */
	FB_BAD_OP,  /* answer with the wrong operation */
};

/* One back-end instance's behaviour. */
struct fb_opts {
	unsigned int max_queues;     /* multi-queue-max-queues (0: key absent) */
	unsigned int max_order;	     /* max-ring-page-order (0: key absent) */
	unsigned int max_indirect;   /* feature-max-indirect-segments (0: absent) */
	bool persistent;	     /* feature-persistent */
	bool flush;		     /* feature-flush-cache */
	bool barrier;		     /* feature-barrier */
	bool discard;		     /* feature-discard (and discard-secure) */
	bool readonly;		     /* info VDISK_READONLY */
	enum fb_misbehave misbehave; /* what to do wrong */
	unsigned int after;	     /* requests served first */
	bool cycle; /* ignore misbehave: one of each hostile answer per connection, then none */
	bool survive_xs;      /* keep serving without xenstore, until the front's channel closes */
	bool persistent_late; /* feature-persistent written only at Connected, as Linux blkback */
};

/* The shared set-up. */
struct fb_env {
	domid_t fe, be;		    /* the two domains */
	pid_t fe_pid, be_pid;	    /* their first processes */
	char front[256], back[256]; /* device directories */
	uint8_t *disk;		    /* the disk, shared by every process */
	size_t disk_bytes;	    /* its size */
	void *arg;		    /* the test's argument for its bodies */
	volatile int *stall;	    /* shared: non-zero makes every back-end stop answering */
	volatile int *hold;	    /* shared: while non-zero, requests wait on the ring */
	volatile int *quit;	    /* shared: non-zero makes the back-end unmap and return */
	volatile int *held;	    /* shared: requests waiting on queue 0's ring under hold */
};

/* Disk size used by the tests: 16 MiB. */
#define FB_DISK_BYTES (16u << 20)

/* The env as the domain bodies see it (valid in every process after fb_env_start). */
extern struct fb_env fb_env;

/*
 * Start everything and run back(arg) in the back-end domain, front(arg) in the front-end
 * domain.  0, or -1 after printing why.  Then fb_env_wait reaps both: 0 if both exited 0.
 */
int fb_env_start(int (*back)(void *), int (*front)(void *), void *arg);
int fb_env_wait(void);
/* Before fb_env_start: add device s (its kind, devid and extra keys) instead of vbd/FB_DEVID. */
struct xenbus_device_spec;
void fb_env_device(const struct xenbus_device_spec *s);
/*
 * A whole test of a netif front against a scripted back-end: vif 0 with mac (both ends' key),
 * back in the back-end's domain and front in the front-end's, under the time limit.  T_PASS or
 * T_FAIL, for main to return.
 */
int fb_env_run_vif(const char *mac, int (*back)(void *), int (*front)(void *));
/* A scripted back-end's wait for its front's state in mask (XENBUS_STATE_BIT), 10 s: 0 or
 * T_FAIL (said). */
struct xenbus_dev;
int fb_await_front_state(struct xenbus_dev *d, unsigned int mask);
/*
 * From the front-end's domain: ask dom0 to detach the device now (online=0, back-end state
 * Closing), as a toolstack removing it would.  fb_env_wait does it anyway once the front-end
 * body has returned, so that the back-end ends.
 */
int fb_env_request_detach(void);
/*
 * From a domain: ask the test's main process to SIGKILL pvio-xenstored (or pvio-hv), and wait
 * until it is dead.  0, or -1 if it did not die within 10 s.
 */
int fb_env_kill_xenstored(void);
int fb_env_kill_hv(void);

/* Serve the device as described (in the back-end domain).  0, or -1 on a failure. */
int fb_serve(const struct fb_opts *o);
/* fb_serve in a child process of the back-end domain (a back-end that can restart): 0 if it
 * exited 0. */
int fb_serve_instance(const struct fb_opts *o);
/*
 * A whole test: n back-end instances one after the other, serving o[0], o[1]..., and front in
 * the front-end domain.  0 if all ended well.
 */
int fb_run(const struct fb_opts *o, unsigned int n, int (*front)(void *));

#endif
