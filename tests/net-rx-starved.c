/* SPDX-License-Identifier: MIT */
/*
 * net-rx-starved: a guest that posts no RX buffers while dom0 floods its vif with 20000 frames
 * cannot make netback's memory grow (XSA-392): netback holds one frame at most, the TAP's own
 * bounded queue drops the rest (its tx_dropped counts them), and the back-end's peak RSS grows
 * by less than 4 MiB.  Once the guest posts buffers, frames flow again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/net-test.h"

#define FLOOD 20000

static uint8_t buf[NETBACK_FRAME_MAX + 1];

static int guest(void *arg)
{
	struct netif_extra_info x;
	struct nt_front f;
	unsigned int slots;
	uint16_t flags;
	size_t len;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	T_CHECK(nt_step('F') == 0, "dom0 flooded");
	T_CHECK(nt_rx_post(&f, 0, NT_RX_PAGES) == 0, "post");
	T_CHECK(nt_rx_frame(&f, buf, &len, &flags, &slots, &x) == 0, "a frame after posting");
	T_CHECK(len == 1514, "a frame of %zu bytes", len);
	return nt_step('D');
}

/* The TAP's tx_dropped (the frames its full queue refused), from this namespace's net/dev. */
static long tap_dropped(void)
{
	FILE *f = fopen("/proc/self/net/dev", "r");
	char line[512];
	long v[12], ret = -1;

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon || !strstr(line, NT_TAP ":"))
			continue;
		if (sscanf(colon + 1, "%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
			   &v[11]) == 12)
			ret = v[11];
	}
	if (f)
		fclose(f);
	return ret;
}

static int dom0(int pkt)
{
	T_CHECK(nt_step_wait() == 'F', "guest step");
	nt_frame(buf, 1514, nt_mac, nt_peer, 1);
	for (unsigned int i = 0; i < FLOOD; i++)
		T_CHECK(nt_pkt_send(pkt, buf, 1514) == 0, "flood %u", i);
	T_CHECK(tap_dropped() > 0, "the TAP dropped nothing (%ld)", tap_dropped());
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'D', "guest step");
	nt_step_ack(true);
	return 0;
}

int main(void)
{
	struct nt_result res;
	int rc = nt_main(guest, dom0, &res);

	if (rc)
		return rc;
	fprintf(stderr, "back-end VmHWM %ld KiB -> %ld KiB, %llu frames to the guest\n",
		res.hwm_kib_start, res.hwm_kib_end, (unsigned long long)res.st.rx_packets);
	T_CHECK(res.hwm_kib_start > 0 && res.hwm_kib_end - res.hwm_kib_start < 4096,
		"the back-end grew from %ld to %ld KiB", res.hwm_kib_start, res.hwm_kib_end);
	T_CHECK(res.st.rx_packets >= 1 && res.st.rx_packets <= NT_RX_PAGES + 1,
		"%llu frames to a guest that posted %u buffers",
		(unsigned long long)res.st.rx_packets, NT_RX_PAGES);
	return T_PASS;
}
