/* SPDX-License-Identifier: MIT */
/*
 * xenbus-remove-finished.c - xenbus_backend_remove_finished, what a driver domain's back end
 * does for a device libxl let go (as xl devd would): the directory goes only when the device
 * is finished (state Closed and online 0); its front end's directory above it goes with it if
 * then empty, and stays while another device of that front end is there.  A device Closed but
 * online, or offline but not Closed, or already gone, is left alone.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"
#include "xenbus/backend.h"

#define KIND "/local/domain/0/backend/vbd"
#define FE   KIND "/1"
#define DEV  FE "/51712"
#define DEV2 FE "/51728"

static struct xs_handle *xs;

static int put(const char *dir, const char *key, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	T_CHECK(xs_write(xs, XBT_NULL, path, val, strlen(val)), "write %s", path);
	return 0;
}

static bool exists(const char *path)
{
	unsigned int len;
	void *v = xs_read(xs, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

/* A device directory with its state and online keys. */
static int device(const char *dir, const char *state, const char *online)
{
	T_CHECK(put(dir, "frontend-id", "1") == 0 && put(dir, "state", state) == 0 &&
		    put(dir, "online", online) == 0,
		"make %s", dir);
	return 0;
}

int main(void)
{
	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(t_xs_start(NULL) == 0, "start pvio-xenstored");
	xs = t_xs_open();
	T_CHECK(xs, "connect as dom0");

	T_CHECK(device(DEV, "4", "1") == 0 && device(DEV2, "6", "0") == 0, "devices");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV) == 0 && exists(DEV), "a Connected one");
	T_CHECK(put(DEV, "state", "6") == 0, "Closed");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV) == 0 && exists(DEV), "Closed but online");
	T_CHECK(put(DEV, "state", "5") == 0 && put(DEV, "online", "0") == 0, "Closing, offline");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV) == 0 && exists(DEV),
		"offline but not Closed");
	T_CHECK(put(DEV, "state", "6") == 0, "Closed");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV) == 1, "finished, not removed");
	T_CHECK(!exists(DEV) && exists(FE) && exists(DEV2), "the other device's parent went");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV) == 0, "gone: not finished");
	T_CHECK(xenbus_backend_remove_finished(xs, DEV2) == 1, "the second");
	T_CHECK(!exists(DEV2) && !exists(FE) && exists(KIND),
		"the empty front-end directory stayed, or the kind's went");
	T_CHECK(xenbus_backend_remove_finished(xs, "/") == -EINVAL, "no parent");
	xs_close(xs);
	return 0;
}
