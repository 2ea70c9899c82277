/* SPDX-License-Identifier: MIT */
/*
 * xenbus-switch-removed.c - a back-end switching the state of a device the toolstack already
 * removed: the switch does not bring the directory back (-ENOENT, as Linux's), and
 * xenbus_backend_switch reports it as information, not as an error (pvio-diskbench printed
 * "cannot switch to Closed" twice at every detach before).  A switch that fails for another
 * reason is still an error.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"
#include "xenbus/backend.h"
#include "xenbus/xenbus.h"

#define DIR   "/local/domain/0/backend/vbd/1/51712"
#define FRONT "/local/domain/1/device/vbd/51712"

static int errors, infos;
static char last[512];

static void vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		 const char *fmt, va_list ap)
{
	(void)log;
	(void)prefix;
	vsnprintf(last, sizeof(last), fmt, ap);
	if (level <= PVIO_LOG_WARN)
		errors++;
	else
		infos++;
}

static struct pvio_log capture = { .vlog = vlog, .max = PVIO_LOG_DEBUG };

int main(void)
{
	struct xenbus_dev xd;
	struct xs_handle *xs;
	unsigned int len;
	void *v;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(t_xs_start(NULL) == 0, "start pvio-xenstored");
	xs = t_xs_open();
	T_CHECK(xs, "connect as dom0");
	T_CHECK(xs_write(xs, XBT_NULL, DIR "/frontend-id", "1", 1) &&
		    xs_write(xs, XBT_NULL, DIR "/frontend", FRONT, strlen(FRONT)),
		"make the device");
	T_CHECK(xenbus_backend_open(&xd, xs, DIR, &capture) == 0, "open the back-end device");

	xenbus_backend_switch(&xd, "test", "vbd-1-51712", XenbusStateInitWait);
	T_CHECK(errors == 0 && infos == 1, "a normal switch: %d errors, %d infos (%s)", errors,
		infos, last);

	T_CHECK(xs_rm(xs, XBT_NULL, DIR), "remove the device");
	T_CHECK(xenbus_switch_state(&xd, XenbusStateClosed) == -ENOENT,
		"a switch of a removed device did not fail -ENOENT");
	v = xs_read(xs, XBT_NULL, DIR, &len);
	T_CHECK(!v && errno == ENOENT, "the switch brought the directory back");
	errors = infos = 0;
	xenbus_backend_switch(&xd, "test", "vbd-1-51712", XenbusStateClosed);
	T_CHECK(errors == 0 && infos == 1, "switch of a removed device logged as an error: %s",
		last);
	T_CHECK(strstr(last, "removed"), "the line does not say the device was removed: %s", last);

	errors = infos = 0;
	xenbus_backend_switch(&xd, "test", "vbd-1-51712", (enum xenbus_state)99);
	T_CHECK(errors == 1, "a switch to an invalid state was not an error (%s)", last);
	xenbus_dev_close(&xd);
	xs_close(xs);
	return 0;
}
