/* SPDX-License-Identifier: MIT */
/*
 * xenbus-handshake.c - a front-end and a back-end process, each on its own
 * domain's connection, drive the XenbusState machine through a device that
 * dom0 added: Initialising -> InitWait (back) -> Initialised (front, after
 * its ring keys in a transaction) -> Connected (back) -> Connected (front),
 * then Closing and Closed both ways; each waits on a watch of the other's
 * state, with bounded waits.  dom0 then removes the device.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define FE	1
#define BE	2
#define WAIT_MS 5000

static char front[256], back[256];

static int ring_keys(struct xenbus_dev *dev, xs_transaction_t t, void *arg)
{
	int ret;

	(void)arg;
	ret = xenbus_printf(dev, t, "ring-ref", "%u", 8u);
	if (ret == 0)
		ret = xenbus_printf(dev, t, "event-channel", "%u", 5u);
	if (ret == 0)
		ret = xenbus_printf(dev, t, "protocol", "%s", "x86_64-abi");
	return ret;
}

/* Wait for the other end to reach want (or, with also, that), failing otherwise. */
static int await2(struct xenbus_dev *dev, enum xenbus_state want, enum xenbus_state also)
{
	unsigned int mask = XENBUS_STATE_BIT(want) | XENBUS_STATE_BIT(also);
	enum xenbus_state s = XenbusStateUnknown;
	int ret = xenbus_wait_otherend(dev, mask, WAIT_MS, &s);

	T_CHECK(ret == 0, "%s waits for %s: %s (state %s)",
		dev->role == XENBUS_FRONTEND ? "front" : "back", xenbus_state_name(want),
		strerror(-ret), xenbus_state_name(s));
	return 0;
}

static int await(struct xenbus_dev *dev, enum xenbus_state want)
{
	return await2(dev, want, want);
}

static int frontend(void)
{
	struct xs_handle *h = t_xs_open_domain(FE);
	struct xenbus_dev dev;
	uint32_t v;

	T_CHECK(h, "front xs_open");
	T_CHECK(xenbus_dev_open(&dev, h, XENBUS_FRONTEND, front) == 0, "front dev_open");
	T_CHECK(!strcmp(dev.otherend, back) && dev.otherend_id == BE, "front's otherend");
	T_CHECK(await(&dev, XenbusStateInitWait) == 0, "InitWait");
	T_CHECK(xenbus_otherend_read_u32(&dev, XBT_NULL, "feature-persistent", &v) == 0 && v == 1,
		"back feature");
	T_CHECK(xenbus_transaction(&dev, ring_keys, NULL) == 0, "ring keys");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateInitialised) == 0, "-> Initialised");
	T_CHECK(await(&dev, XenbusStateConnected) == 0, "Connected");
	T_CHECK(xenbus_otherend_read_u32(&dev, XBT_NULL, "sectors", &v) == 0 && v == 2048,
		"sectors");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateConnected) == 0, "-> Connected");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateClosing) == 0, "-> Closing");
	T_CHECK(await(&dev, XenbusStateClosing) == 0, "back Closing");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateClosed) == 0, "-> Closed");
	T_CHECK(await(&dev, XenbusStateClosed) == 0, "back Closed");
	xenbus_dev_close(&dev);
	xs_close(h);
	return 0;
}

static int backend(void)
{
	struct xs_handle *h = t_xs_open_domain(BE);
	struct xenbus_dev dev;
	uint32_t ref, port;

	T_CHECK(h, "back xs_open");
	T_CHECK(xenbus_dev_open(&dev, h, XENBUS_BACKEND, back) == 0, "back dev_open");
	T_CHECK(!strcmp(dev.otherend, front) && dev.otherend_id == FE, "back's otherend");
	T_CHECK(xenbus_printf(&dev, XBT_NULL, "feature-persistent", "%d", 1) == 0, "feature");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateInitWait) == 0, "-> InitWait");
	T_CHECK(await(&dev, XenbusStateInitialised) == 0, "Initialised");
	T_CHECK(xenbus_otherend_read_u32(&dev, XBT_NULL, "ring-ref", &ref) == 0 && ref == 8,
		"ring-ref");
	T_CHECK(xenbus_otherend_read_u32(&dev, XBT_NULL, "event-channel", &port) == 0 && port == 5,
		"event-channel");
	T_CHECK(xenbus_printf(&dev, XBT_NULL, "sectors", "%u", 2048u) == 0, "sectors");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateConnected) == 0, "-> Connected");
	/* The front-end may be Closing already: Connected can pass unseen. */
	T_CHECK(await2(&dev, XenbusStateConnected, XenbusStateClosing) == 0, "front Connected");
	T_CHECK(await(&dev, XenbusStateClosing) == 0, "front Closing");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateClosing) == 0, "-> Closing");
	T_CHECK(await(&dev, XenbusStateClosed) == 0, "front Closed");
	T_CHECK(xenbus_switch_state(&dev, XenbusStateClosed) == 0, "-> Closed");
	xenbus_dev_close(&dev);
	xs_close(h);
	return 0;
}

static pid_t spawn(int (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	return pid;
}

int main(void)
{
	struct xenbus_device_spec spec = {
		.kind = "vbd", .devid = 51712, .frontend_id = FE, .backend_id = BE
	};
	struct xs_handle *h;
	pid_t fe, be;
	int fe_rc, be_rc;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, FE, 0, 0) && xs_introduce_domain(h, BE, 0, 0), "INTRODUCE");
	T_CHECK(xenbus_frontend_path(&spec, front, sizeof(front)) == 0 &&
		    xenbus_backend_path(&spec, back, sizeof(back)) == 0,
		"paths");
	T_CHECK(xenbus_device_add(h, &spec) == 0, "xenbus_device_add");
	T_CHECK((be = spawn(backend)) > 0 && (fe = spawn(frontend)) > 0, "fork");
	fe_rc = t_wait(fe);
	be_rc = t_wait(be);
	T_CHECK(fe_rc == 0 && be_rc == 0, "front %d, back %d", fe_rc, be_rc);
	T_CHECK(xenbus_device_wait_closed(h, &spec, WAIT_MS) == 0, "back-end Closed");
	T_CHECK(xenbus_device_remove(h, &spec, 0) == 0, "remove");
	xs_close(h);
	return T_PASS;
}
