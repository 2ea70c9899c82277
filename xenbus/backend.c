/* SPDX-License-Identifier: MIT */
/*
 * backend.c - what every back-end device's control plane shares (see backend.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenbus/backend.h"

int xenbus_backend_parse(const char *nodename, char kind[16], unsigned int *fe, unsigned int *devid)
{
	unsigned int be;
	int n = 0;

	if (sscanf(nodename, "/local/domain/%u/backend/%15[a-z0-9_-]/%u/%u%n", &be, kind, fe, devid,
		   &n) != 4 ||
	    nodename[n] != '\0')
		return -EINVAL;
	return 0;
}

int xenbus_backend_open(struct xenbus_dev *xd, struct xs_handle *xs, const char *nodename,
			struct pvio_log *log)
{
	int ret = xenbus_dev_open(xd, xs, XENBUS_BACKEND, nodename);

	if (!ret)
		xd->log = log;
	return ret;
}

struct pvio_log *xenbus_backend_log(const struct xenbus_dev *xd)
{
	return xd->log ? xd->log : pvio_log_stderr(PVIO_LOG_WARN);
}

void xenbus_backend_switch(struct xenbus_dev *xd, const char *prefix, const char *name,
			   enum xenbus_state state)
{
	int ret = xenbus_switch_state(xd, state);

	if (ret)
		pvio_log(xenbus_backend_log(xd), PVIO_LOG_ERROR, prefix,
			 "%s: cannot switch to %s: %s", name, xenbus_state_name(state),
			 strerror(-ret));
	else
		pvio_log(xenbus_backend_log(xd), PVIO_LOG_INFO, prefix, "%s: -> %s", name,
			 xenbus_state_name(state));
}

bool xenbus_backend_online(struct xenbus_dev *xd)
{
	uint32_t v;

	return xenbus_read_u32(xd, XBT_NULL, "online", &v) == 0 && v != 0;
}

enum xenbus_state xenbus_backend_own_state(struct xenbus_dev *xd)
{
	uint32_t v;

	if (xenbus_read_u32(xd, XBT_NULL, "state", &v) || v > XenbusStateReconfigured)
		return XenbusStateInitialising;
	return (enum xenbus_state)v;
}

int xenbus_backend_gone(struct xenbus_dev *xd)
{
	unsigned int len;
	char *v = xs_read(xd->xs, XBT_NULL, xd->nodename, &len);

	if (!v)
		return errno == ENOENT;
	free(v);
	return 0;
}
