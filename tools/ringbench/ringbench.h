/* SPDX-License-Identifier: MIT */
/*
 * ringbench.h - pvio-ringbench(1), shared by its files: the bench protocol on
 * the ring, the connection record the front hands the back, the parameters
 * and the results.
 *
 *   pvio-ringbench.c   options, machine facts and the report
 *   ringbench-run.c    dom0: the launcher, the two domains, their children
 *   ringbench-front.c  the front domain: shares the ring, runs and times every test
 *   ringbench-back.c   the back domain: maps the ring, answers, moves the pages
 *   ringbench-base.c   baselines (eventfd, pipe, memcpy) and the shared helpers
 */
#ifndef PVIO_TOOLS_RINGBENCH_H
#define PVIO_TOOLS_RINGBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv/hv.h"
#include "ring/ring.h"

#define RB_PROG "pvio-ringbench"
/* Pages the front shares read-only for the stream tests, cycled through. */
#define RB_DATA_PAGES 256u
/* Requests the back takes per batch: also the segments of one grant copy (as netback). */
#define RB_BATCH 64u
/* Pool pages each bench domain gets: the ring, the data pages, and room to spare. */
#define RB_POOL_PAGES 1024u
/* Longest wait for the other side before giving up on it. */
#define RB_WAIT_MS 10000

/* The bench protocol.  Every request gets one response, in order. */
enum rb_op {
	RB_OP_PING = 1, /* answer at once */
	RB_OP_MAP = 2,	/* map gref, copy its page out, unmap */
	RB_OP_COPY = 3, /* grant-copy gref's page out */
	RB_OP_QUIT = 4, /* answer, then disconnect */
};

struct rb_req {
	uint64_t id;   /* echoed in the response */
	uint32_t gref; /* RB_OP_MAP, RB_OP_COPY: the front's data page to move */
	uint32_t op;   /* enum rb_op */
};

struct rb_rsp {
	uint64_t id;	/* the request's id */
	int32_t status; /* 0, or a negative errno */
	uint32_t pad;	/* zero */
};

/* Connection states the two ends exchange, numbered as enum xenbus_state. */
enum rb_state {
	RB_STATE_CONNECTED = 4,
	RB_STATE_CLOSED = 6,
};

/*
 * What the front tells the back so that it can connect.  A real front writes
 * these as xenstore keys (ring-page-order, ring-ref%u, event-channel); the
 * bench sends them over a socketpair to keep xenstore out of the figures.
 * The data pages' refs travel in the requests, as blkif's segments do.
 */
struct rb_connect {
	uint32_t order;				     /* ring-page-order */
	uint32_t port;				     /* the front's unbound port */
	grant_ref_t ring_refs[1u << RING_ORDER_MAX]; /* ring-ref0..: the ring pages */
};

struct rb_params {
	const char *socket;  /* pvio-hv's socket (-s), or NULL: the launcher's own */
	unsigned int order;  /* ring-page-order */
	uint64_t iterations; /* timed ping-pong round trips */
	uint64_t warmup;     /* untimed round trips before them */
	uint64_t bytes;	     /* bytes moved per stream test */
};

/* Round-trip latency, in nanoseconds. */
struct rb_lat {
	double p50;  /* median (nearest rank) */
	double p99;  /* 99th percentile (nearest rank) */
	double mean; /* arithmetic mean */
};

/* What the front measured. */
struct rb_front_result {
	struct rb_lat ping;    /* ping-pong over the ring */
	uint64_t stream_bytes; /* bytes each stream test moved */
	uint64_t map_ns;       /* time to move them by mapping */
	uint64_t copy_ns;      /* time to move them by grant copy */
	uint32_t nr_ents;      /* ring slots */
	char provider[8];      /* hv_provider() of the session */
};

/* Everything the report prints. */
struct rb_results {
	struct rb_front_result pvio; /* the two domains */
	struct rb_lat eventfd;	     /* baseline: eventfd pair between two processes */
	struct rb_lat pipe;	     /* baseline: pipe pair between two processes */
	double memcpy_gbs;	     /* baseline: 4 KiB memcpy, one process */
	double shm_gbs;		     /* baseline: the stream over a plain shared ring */
};

/* What a bench domain's process tells dom0 as it exits, through a pipe. */
struct rb_report {
	int32_t err;		       /* 0, or the first failure's negative errno */
	char what[96];		       /* what failed */
	struct rb_front_result result; /* the front's figures, when err is 0 */
};

/* ringbench-base.c */
/*
 * Report an error; return err.  dom0 prints "pvio-ringbench: what: strerror";
 * a bench domain's process (after rb_err_record()) keeps only its first
 * failure for its report, so that dom0 prints one line for the whole run.
 */
int rb_err(const char *what, int err);
void rb_err_record(void);
/* The first failure recorded: its errno (0 if none), what into rep. */
void rb_err_report(struct rb_report *rep);
uint64_t rb_now_ns(void);
/* Sort n samples and summarise them; -EINVAL if n is 0. */
int rb_lat_summarise(uint64_t *ns, size_t n, struct rb_lat *out);
/* One whole SOCK_SEQPACKET message each way; receive waits up to RB_WAIT_MS. */
int rb_msg_send(int fd, const void *buf, size_t len);
int rb_msg_recv(int fd, void *buf, size_t len);
/* Wait up to RB_WAIT_MS for an event on port, and take every pending event. */
int rb_evtchn_wait(struct hv *hv, evtchn_port_t port);
/* Bytes per nanosecond is 10^9 bytes per second. */
double rb_gbs(uint64_t bytes, uint64_t ns);
int rb_base_eventfd(const struct rb_params *p, struct rb_lat *out);
int rb_base_pipe(const struct rb_params *p, struct rb_lat *out);
int rb_base_memcpy(const struct rb_params *p, double *gbs);
/* ringbench-shm.c: the stream over the same ring between two plain processes. */
int rb_base_shm_stream(const struct rb_params *p, double *gbs);

/*
 * ringbench-front.c: be the front in the session hv, with the back domain at
 * the other end of xs_fd, and measure into *out.
 */
int rb_front_run(struct hv *hv, const struct rb_params *p, domid_t back, int xs_fd,
		 struct rb_front_result *out);
/* ringbench-back.c: be the back in the session hv until the front quits. */
int rb_back_run(struct hv *hv, domid_t front, int xs_fd);

/* ringbench-run.c */
/* Create the two domains, run the front and the back in them, collect the front's results. */
int rb_run_pvio(const struct rb_params *p, struct rb_front_result *out);

#endif /* PVIO_TOOLS_RINGBENCH_H */
