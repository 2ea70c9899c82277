/* SPDX-License-Identifier: MIT */
/*
 * backend-remove.c - what a driver domain's `xl devd` does for a device libxl let go, done by
 * the back-end daemons themselves (xenbus_backend_remove_finished).  Apart from backend.c so
 * that the control-plane fuzzers, which fake the xenstore calls backend.c makes, need not fake
 * these.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenbus/backend.h"

/* Room for a back-end directory's path and a key below it. */
#define NODE_MAX 256

/* Whether key of dir reads exactly want in t. */
static bool key_is(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		   const char *want)
{
	char path[NODE_MAX];
	unsigned int len;
	bool is = false;
	char *v;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return false;
	v = xs_read(xs, t, path, &len);
	if (v)
		is = len == strlen(want) && !memcmp(v, want, len);
	free(v);
	return is;
}

bool xenbus_backend_finished(struct xs_handle *xs, const char *nodename)
{
	return key_is(xs, XBT_NULL, nodename, "state", "6") &&
	       key_is(xs, XBT_NULL, nodename, "online", "0");
}

int xenbus_backend_remove_finished(struct xs_handle *xs, const char *nodename)
{
	char parent[NODE_MAX], *slash;
	unsigned int tries, n;
	char **left;
	int ret = 0;

	if (strlen(nodename) >= sizeof(parent))
		return -ENAMETOOLONG;
	strcpy(parent, nodename);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	for (tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return errno ? -errno : -EIO;
		ret = 0;
		if (key_is(xs, t, nodename, "state", "6") &&
		    key_is(xs, t, nodename, "online", "0")) {
			ret = xs_rm(xs, t, nodename) ? 1 : -errno;
			left = ret == 1 ? xs_directory(xs, t, parent, &n) : NULL;
			if (left && n == 0)
				xs_rm(xs, t, parent);
			free(left);
		}
		if (ret < 0) {
			xs_transaction_end(xs, t, true);
			return ret;
		}
		if (xs_transaction_end(xs, t, false))
			return ret;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

void xenbus_backend_let_go(struct xs_handle *xs, const char *nodename, struct pvio_log *log,
			   const char *prefix)
{
	int ret = xenbus_backend_remove_finished(xs, nodename);

	if (ret == 1)
		pvio_log(log, PVIO_LOG_INFO, prefix, "%s: finished: removed", nodename);
	else if (ret < 0)
		pvio_log(log, PVIO_LOG_WARN, prefix, "%s: finished, not removed: %s", nodename,
			 strerror(-ret));
}
