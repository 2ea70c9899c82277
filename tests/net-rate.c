/* SPDX-License-Identifier: MIT */
/*
 * net-rate.c - a vif's `rate` holds: a guest that sends as fast as its ring lets it, through a
 * queue limited to 2 MB/s (20000 bytes per 10 ms, as libxl writes rate=2MB/s@10ms), is seen
 * from outside at that rate within 10% over some 3 s.  The rate is far below what the machine
 * does, so the check is on the limiter; and a queue that waited for anything but the credit
 * deadline it reports (the guest's events stop while its frame is held) would be far slower.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tests/net-test.h"

#define RATE_BYTES 20000u
#define RATE_USEC  10000u
#define FRAME	   1400u
#define NFRAMES	   4300u /* 6 MB: some 3 s */
#define IN_FLIGHT  128u
#define STEP	   32u

/* Put n frames in the ring (not published), on the TX pages in turn: 0 or 1. */
static int fill(struct nt_front *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct netif_tx_request *r = nt_tx_slot(f);

		T_CHECK(r, "ring full");
		*r = (struct netif_tx_request){ .gref = f->txr[i % NT_TX_PAGES], .size = FRAME };
	}
	return 0;
}

/*
 * As fast as the ring lets it: IN_FLIGHT frames always queued, so that the back-end never
 * idles (idle windows' credit is not all kept, as in Linux) and the rate is the only limit.
 */
static int guest(void *arg)
{
	struct netif_tx_response rsp[STEP];
	unsigned int sent = IN_FLIGHT, done = 0;
	struct nt_front f;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	for (unsigned int i = 0; i < NT_TX_PAGES; i++)
		nt_frame(f.txp + i * HV_PAGE_SIZE, FRAME, nt_peer, nt_mac, i);
	T_CHECK(fill(&f, IN_FLIGHT) == 0, "fill");
	while (done < NFRAMES) {
		unsigned int k = NFRAMES - done < STEP ? NFRAMES - done : STEP;

		T_CHECK(nt_tx_run(&f, rsp, k) == 0, "TX");
		for (unsigned int i = 0; i < k; i++)
			T_CHECK(rsp[i].status == NETIF_RSP_OKAY, "frame %u: %d", done + i,
				rsp[i].status);
		done += k;
		k = NFRAMES - sent < STEP ? NFRAMES - sent : STEP;
		T_CHECK(fill(&f, k) == 0, "fill");
		sent += k;
	}
	return nt_step('D');
}

static int dom0(int pkt)
{
	static uint8_t buf[65536];
	uint64_t first = 0, last = 0;
	double rate, want = RATE_BYTES * 1e6 / RATE_USEC;

	for (unsigned int i = 0; i < NFRAMES; i++) {
		ssize_t n = nt_pkt_recv(pkt, buf, sizeof(buf));

		T_CHECK(n == FRAME, "frame %u: %zd bytes", i, n);
		last = t_now_ms();
		if (!i)
			first = last;
	}
	T_CHECK(nt_step_wait() == 'D', "guest step");
	nt_step_ack(true);
	/* The first window's credit is there at once; the rest comes a window at a time. */
	rate = ((double)NFRAMES * FRAME - RATE_BYTES) * 1000.0 / (double)(last - first + 1);
	printf("%u bytes in %llu ms: %.0f bytes/s, rate %.0f\n", NFRAMES * FRAME,
	       (unsigned long long)(last - first), rate, want);
	T_CHECK(rate > want * 0.9 && rate < want * 1.1, "observed %.0f bytes/s, rate %.0f", rate,
		want);
	return 0;
}

int main(void)
{
	struct nt_result res;
	int rc;

	nt.rate_bytes = RATE_BYTES;
	nt.rate_usec = RATE_USEC;
	rc = nt_main(guest, dom0, &res);
	if (rc)
		return rc;
	T_CHECK(res.st.tx_packets == NFRAMES, "tx_packets %llu",
		(unsigned long long)res.st.tx_packets);
	return T_PASS;
}
