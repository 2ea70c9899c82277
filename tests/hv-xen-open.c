/* SPDX-License-Identifier: MIT */
/*
 * hv-xen-open.c - the xen provider opens, knows its domain id, and carries
 * an event over a loopback channel (both ends in our own domain).  Skips
 * without /dev/xen/evtchn, without the rights to open it, or when pvio was
 * built without the xen provider.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "tests/helpers.h"

#define MAX_EVENTS 4 /* bind_interdomain also pends an event on the new port */

static int fail(const char *what, int err)
{
	fprintf(stderr, "hv-xen-open: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Take events until one arrives on want; each taken port is unmasked again. */
static int wait_for(struct hv *hv, evtchn_port_t want)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(hv), .events = POLLIN };
	evtchn_port_t got;
	int i, ret;

	for (i = 0; i < MAX_EVENTS; i++) {
		if (poll(&pfd, 1, 5000) != 1)
			return -ETIMEDOUT;
		ret = hv_evtchn_pending(hv, &got);
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret;
		ret = hv_evtchn_unmask(hv, got);
		if (ret < 0 || got == want)
			return ret;
	}
	return -ETIMEDOUT;
}

static int loopback(struct hv *hv, domid_t self)
{
	evtchn_port_t a, b, port;
	int ret;

	ret = hv_evtchn_alloc_unbound(hv, self, &a);
	if (ret < 0)
		return fail("alloc unbound", ret);
	if (hv_evtchn_state(hv, a) != HV_EVTCHN_UNBOUND)
		return fail("state before bind", -EPROTO);
	ret = hv_evtchn_pending(hv, &port);
	if (ret != -EAGAIN)
		return fail("pending with nothing sent", ret < 0 ? ret : -EPROTO);
	ret = hv_evtchn_bind(hv, self, a, &b);
	if (ret < 0)
		return fail("bind", ret);
	if (hv_evtchn_state(hv, a) != HV_EVTCHN_CONNECTED)
		return fail("state after bind", -EPROTO);
	ret = hv_evtchn_notify(hv, b);
	if (ret < 0)
		return fail("notify", ret);
	ret = wait_for(hv, a);
	if (ret < 0)
		return fail("pending", ret);
	ret = hv_evtchn_unbind(hv, b);
	if (ret < 0)
		return fail("unbind", ret);
	if (hv_evtchn_state(hv, a) != HV_EVTCHN_UNBOUND)
		return fail("state after the peer unbound", -EPROTO);
	ret = hv_evtchn_unbind(hv, a);
	return ret < 0 ? fail("unbind", ret) : 0;
}

int main(void)
{
	struct hv_open_opts opts = { .provider = "xen" };
	struct hv *hv;
	domid_t self;
	int ret;

	t_time_limit(T_TIME_LIMIT_S);
	if (access("/dev/xen/evtchn", F_OK) != 0) {
		printf("SKIP: no /dev/xen/evtchn: not a Xen host\n");
		return T_SKIP;
	}
	ret = hv_open(&hv, &opts);
	if (ret == -EACCES || ret == -EPERM || ret == -ENOSYS) {
		printf("SKIP: the xen provider: %s\n", strerror(-ret));
		return T_SKIP;
	}
	if (ret < 0)
		return fail("open", ret);
	ret = hv_domid(hv, &self);
	if (ret < 0 || self >= DOMID_FIRST_RESERVED) {
		hv_close(hv);
		return fail("domid", ret < 0 ? ret : -ERANGE);
	}
	ret = loopback(hv, self);
	hv_close(hv);
	return ret;
}
