/* SPDX-License-Identifier: MIT */
/*
 * backend.c - what every back-end device's control plane shares (see backend.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenbus/backend.h"

/* The longest valid name: /local/domain/<u32>/backend/<15 characters>/<u32>/<u32>. */
#define NAME_MAX_LEN (sizeof("/local/domain//backend////") - 1 + 3 * 10 + 15)

/*
 * A number of the name: xenbus_parse_u32's digits, and canonical (no leading zero), so that one
 * device has one directory ("01" would be a second vif 1 with the same TAP name).
 */
static int name_u32(const char *s, unsigned int *v)
{
	uint32_t x;

	if ((s[0] == '0' && s[1]) || xenbus_parse_u32(s, UINT32_MAX, &x))
		return -EINVAL;
	*v = x;
	return 0;
}

int xenbus_backend_parse(const char *nodename, char kind[16], unsigned int *fe, unsigned int *devid)
{
	char buf[NAME_MAX_LEN + 1], *f[7];
	size_t len = strlen(nodename), n = 0, klen;
	unsigned int be;

	if (nodename[0] != '/' || len > NAME_MAX_LEN)
		return -EINVAL;
	memcpy(buf, nodename, len + 1);
	/* Split at every '/' (an empty component stays one, and fails below). */
	for (char *p = buf; p && n < 7; n++) {
		*p++ = '\0';
		f[n] = p;
		p = strchr(p, '/');
	}
	if (n != 7 || strchr(f[6], '/') || strcmp(f[0], "local") || strcmp(f[1], "domain") ||
	    strcmp(f[3], "backend") || name_u32(f[2], &be) || name_u32(f[5], fe) ||
	    name_u32(f[6], devid))
		return -EINVAL;
	klen = strlen(f[4]);
	if (!klen || klen > 15 || strspn(f[4], "abcdefghijklmnopqrstuvwxyz0123456789_-") != klen)
		return -EINVAL;
	memcpy(kind, f[4], klen + 1);
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

	if (ret == -ENOENT) /* the toolstack removed the device first: nothing is wrong */
		pvio_log(xenbus_backend_log(xd), PVIO_LOG_INFO, prefix,
			 "%s: not switched to %s: the device was removed", name,
			 xenbus_state_name(state));
	else if (ret)
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
