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

static int guest(void *arg)
{
	struct nt_front f;
	uint8_t frame[FRAME];

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	for (unsigned int i = 0; i < NFRAMES; i++) {
		int16_t st;

		nt_frame(frame, FRAME, nt_peer, nt_mac, i);
		T_CHECK(nt_tx_frame(&f, frame, FRAME, 4000, NULL, &st) == 0 && st == NETIF_RSP_OKAY,
			"frame %u", i);
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
	int rc = nt_setup();

	if (rc)
		return rc;
	nt.rate_bytes = RATE_BYTES;
	nt.rate_usec = RATE_USEC;
	T_CHECK(nt_run(guest, dom0, true, &res) == 0, "run");
	T_CHECK(res.serve == 0, "serve: %d", res.serve);
	T_CHECK(res.st.tx_packets == NFRAMES, "tx_packets %llu",
		(unsigned long long)res.st.tx_packets);
	return T_PASS;
}
