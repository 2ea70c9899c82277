/* SPDX-License-Identifier: MIT */
/*
 * net-test.h - a raw netif front, a netback serving domain and dom0's view of the TAP, for the
 * net-* tests.
 *
 * The test runs in a network namespace of its own.  nt_run forks a back-end domain, which opens
 * the TAP NT_TAP, attaches a netback queue to the rings the guest sends in a struct nt_hello and
 * serves it until dom0 writes 'q' (or the queue fails), and a guest domain running the test's
 * script over a struct nt_front.  dom0 watches and feeds the TAP through a packet socket, in
 * step with the guest over nt.link.
 */
#ifndef PVIO_TESTS_NET_TEST_H
#define PVIO_TESTS_NET_TEST_H

#include <stdint.h> /* Xen's public headers expect it first */

#include <xen/io/netif.h>
#include <xenstore.h>

#include "backend/net/netback.h"
#include "ring/ring.h"
#include "tests/hv-test.h"

#define NT_TAP	     "nbt0"
#define NT_TX_PAGES  32
#define NT_RX_PAGES  64
#define NT_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define NT_WAIT_MS   10000

extern const uint8_t nt_mac[6];	 /* the vif's (the guest's) MAC */
extern const uint8_t nt_peer[6]; /* the world's end */

/* What the guest tells the back-end, as xenstore would. */
struct nt_hello {
	domid_t guest;	    /* the front's domain */
	evtchn_port_t port; /* the front's unbound port (one for both rings) */
	grant_ref_t tx, rx; /* the rings */
};

/* The pipes and ids of a run (set up by nt_run; the domains inherit them). */
struct nt_env {
	int hello[2];	    /* guest -> back-end: the nt_hello */
	int ctl[2];	    /* dom0 -> back-end: 'q' to stop */
	int out[2];	    /* back-end -> dom0: 'r' once the TAP is up, then its result */
	struct t_link link; /* a = guest, b = dom0: the guest's steps and dom0's acks */
	domid_t back;	    /* the back-end's domain */
	bool rx_sg;	    /* the back-end's rx_sg */
	bool rx_gso;	    /* the back-end's rx_gso_tcpv4 */
	bool rx_csum_v4_off, rx_csum_v6_off; /* the back-end's, as named */

	uint64_t rate_bytes, rate_usec; /* the back-end's rate (0: none) */
};
extern struct nt_env nt;

/* The back-end's report at the end of a run. */
struct nt_result {
	int serve; /* 0 when stopped by 'q', else the queue's negative errno */
	struct netback_stats st;
	long hwm_kib_start, hwm_kib_end; /* the back-end's VmHWM once serving, and at the end */

	uint64_t cpu_ms, wall_ms; /* the back-end's CPU time while serving, and how long */
};

/* Enter a fresh network namespace without IPv6 chatter: 0, T_SKIP (said why) or T_FAIL. */
int nt_netns(void);
/* A time limit, nt_netns and pvio-hv started: 0, T_SKIP (said why) or T_FAIL. */
int nt_setup(void);
/*
 * Fork the back-end and the guest (running guest), then run dom0(pkt) with a packet socket
 * bound to the TAP; then 'q' the back-end unless stop is false (it stops by itself), and
 * collect its result.  0 when both domains and dom0 passed, else T_FAIL.
 */
int nt_run(int (*guest)(void *), int (*dom0)(int pkt), bool stop, struct nt_result *res);

/* nt_setup, then nt_run stopping the back-end at the end, which must have served to the end:
 * 0, T_SKIP or T_FAIL. */
int nt_main(int (*guest)(void *), int (*dom0)(int pkt), struct nt_result *res);

/* The guest's end of the queue. */
struct nt_front {
	struct hv *hv;
	struct ring_front tx, rx;     /* the rings, front view */
	void *txs, *rxs;	      /* their pages */
	evtchn_port_t port;	      /* our port */
	uint8_t *txp, *rxp;	      /* data pages: TX (read by the back), RX (written) */
	grant_ref_t txr[NT_TX_PAGES]; /* their references */
	grant_ref_t rxr[NT_RX_PAGES];
};

/* Share the rings and pages with back and allocate the port, filling *hi: 0 or 1. */
int nt_front_share(struct nt_front *f, struct hv *hv, domid_t back, struct nt_hello *hi);
/* Share the rings and pages with nt.back, allocate the port, send the hello: 0 or 1. */
int nt_front_open(struct nt_front *f);
/* Post RX pages [first, first + n) as buffers (id = page), push and notify: 0 or 1. */
int nt_rx_post(struct nt_front *f, unsigned int first, unsigned int n);
/* A zeroed TX request slot (NULL when full). */
struct netif_tx_request *nt_tx_slot(struct nt_front *f);
/* Publish, notify, and collect n TX responses in ring order into rsp: 0 or 1. */
int nt_tx_run(struct nt_front *f, struct netif_tx_response *rsp, unsigned int n);
/*
 * Send frame (len bytes) in slots of chunk bytes (the first at offset 64 of TX page 0, the
 * others at 0 of the next pages), with the GSO extra info gso when not NULL: *status gets the
 * first slot's answer, and every other slot must have the same (1 otherwise).  0 or 1.
 */
int nt_tx_frame(struct nt_front *f, const uint8_t *frame, size_t len, size_t chunk,
		const struct netif_extra_info *gso, int16_t *status);
/*
 * Receive the next frame from nt_peer (others are skipped), re-posting its buffers: its bytes
 * into buf (NETBACK_FRAME_MAX), *len, the first slot's flags, the slots used and the GSO extra
 * info (type 0 when none).  0 or 1.
 */
int nt_rx_frame(struct nt_front *f, uint8_t *buf, size_t *len, uint16_t *flags, unsigned int *slots,
		struct netif_extra_info *gso);

/*
 * Every malformed TX shape, each followed by a good 60-byte frame nt_frame(seq + i) for i <
 * NT_NHOSTILE, which must reach the TAP where the hostile ones never do: offset + size past
 * the page, a zero-length first slot, a frame over 64 KiB, 19 slots, an unknown extra type,
 * GSO of size 0, over the frame and of an unknown type, an ungranted page, a runt, and a spoofed
 * source (answered DROPPED; the rest ERROR).  Counted as 3 tx_bad_slot, 1 tx_too_many_slots,
 * 1 tx_bad_extra, 3 tx_bad_offload, 1 tx_bad_grant, 1 tx_too_short, 1 tx_spoofed.  0 or 1.
 */
#define NT_NHOSTILE 11u
int nt_tx_hostile(struct nt_front *f, unsigned int seq);
/* A TCPv4 frame from src to dst of len bytes: Ethernet, IPv4 (20), TCP (20), pattern. */
void nt_tcp_frame(uint8_t *b, size_t len, const uint8_t *dst, const uint8_t *src);

/* A test frame: dst, src, NT_ETHERTYPE, then a pattern of seq; len >= 14. */
void nt_frame(uint8_t *buf, size_t len, const uint8_t *dst, const uint8_t *src, unsigned int seq);

/* dom0: the next frame on the TAP from the guest (not outgoing), within NT_WAIT_MS: its length, or
 * -1. */
ssize_t nt_pkt_recv(int pkt, uint8_t *buf, size_t cap);
/* dom0: a packet socket bound to interface ifname: 0 or 1. */
int nt_pkt_open(const char *ifname, int *fd);
/* dom0: send a frame out of the TAP (towards the guest): 0 or 1. */
int nt_pkt_send(int pkt, const uint8_t *buf, size_t len);
/*
 * dom0: the same for a TCPv4 frame of nt_tcp_frame's layout as a GSO frame of segments of
 * gso_size, its checksum left to compute (through a virtio-net header): 0 or 1.
 */
int nt_pkt_send_gso(int pkt, const uint8_t *buf, size_t len, uint16_t gso_size);

/* The guest: tell dom0 step c and wait for its ack ('k' passes): 0 or 1. */
int nt_step(char c);
/* dom0: wait for the guest's next step: the code, or -1. */
int nt_step_wait(void);
/* dom0: ack a step with ok. */
void nt_step_ack(bool ok);

/*
 * dom0: pvio-netback's statistics file of vif fe/devid in dir has line (waiting 3 s for it):
 * 0 or 1 (the file printed).
 */
int nt_stats_has(const char *dir, unsigned int fe, unsigned int devid, const char *line);
/* dom0: the error node of back-end domain dd's vif fe/devid says text (waiting 5 s): 0 or 1. */
int nt_error_has(struct xs_handle *xs, unsigned int dd, unsigned int fe, unsigned int devid,
		 const char *text);

/* dom0: make bridge name in the current network namespace: 0, T_SKIP without the bridge module
 * (said why), or T_FAIL. */
int nt_bridge_add(const char *name);

#endif
