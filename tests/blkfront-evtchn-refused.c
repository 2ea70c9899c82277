/* SPDX-License-Identifier: MIT */
/*
 * blkfront-evtchn-refused.c - a front-end that may not ask for its ports' states (a Xen domU,
 * whose privcmd refuses EVTCHNOP_status with EPERM) connects once and serves I/O, and still
 * notices through xenstore a back-end that goes away.
 *
 * hv_evtchn_state is wrapped: in the front-end's domain it answers -EPERM.  The front-end
 * writes and reads back 4 MiB on 2 queues and stays connected over many channel-check ticks
 * (bf_check_channels): no reconnect may happen.  Then the toolstack detaches the device
 * (online=0, back-end Closing): the next poll must say -ENODEV.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "hv/hv.h"
#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#define LEN (4u << 20)

/* Set in the front-end's domain only: the back-end's fakeback may ask. */
static bool refuse;
static unsigned int asked;

int __real_hv_evtchn_state(struct hv *hv, evtchn_port_t port);
int __wrap_hv_evtchn_state(struct hv *hv, evtchn_port_t port);
int __wrap_hv_evtchn_state(struct hv *hv, evtchn_port_t port)
{
	if (!refuse)
		return __real_hv_evtchn_state(hv, port);
	asked++;
	return -EPERM;
}

/* Keep the device busy across ticks of the channel check. */
static int io(struct blkfront *bf, uint8_t *buf, uint8_t *back)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		memset(buf, 'a' + (int)i, LEN);
		T_CHECK(blkfront_write(bf, buf, 0, LEN) == 0, "write %u", i);
		T_CHECK(blkfront_read(bf, back, 0, LEN) == 0, "read %u", i);
		T_CHECK(!memcmp(buf, back, LEN), "read back %u", i);
		T_CHECK(blkfront_poll(bf, 150) >= 0, "poll while idle %u", i);
	}
	return 0;
}

static int front(void *arg)
{
	struct blkfront_opts o = { .queues = 2, .ring_order = 1 };
	uint8_t *buf = malloc(LEN), *back = malloc(LEN);
	struct blkfront_stats st;
	struct blkfront *bf;
	unsigned int i;
	int ret;

	(void)arg;
	T_CHECK(buf && back, "malloc");
	refuse = true;
	ret = blkfront_open(&bf, &o);
	T_CHECK(ret == 0, "blkfront_open: %s", strerror(-ret));
	if (io(bf, buf, back))
		return T_FAIL;
	blkfront_get_stats(bf, &st);
	fprintf(stderr, "state asked %u times, reconnects %llu\n", asked,
		(unsigned long long)st.reconnects);
	T_CHECK(st.reconnects == 0, "reconnected %llu times", (unsigned long long)st.reconnects);
	T_CHECK(fb_env_request_detach() == 0, "detach");
	for (i = 0, ret = 0; i < 100 && ret >= 0; i++)
		ret = blkfront_poll(bf, 100);
	T_CHECK(ret == -ENODEV, "poll after the back-end went: %d", ret);
	blkfront_close(bf);
	free(buf);
	free(back);
	return 0;
}

int main(void)
{
	static const struct fb_opts o = { .max_queues = 2, .max_order = 2, .max_indirect = 256 };

	return fb_run(&o, 1, front) ? T_FAIL : T_PASS;
}
