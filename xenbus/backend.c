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

/*
 * A decimal number at *s up to the next '/' or the end, in canonical form (digits only, no sign,
 * space or leading zero: one directory per device), at most UINT32_MAX: 0 and *s past it, or
 * -EINVAL.  sscanf's %u would wrap 4294967296 to 0 and take "-1", " 1" and "01".
 */
static int parse_u32(const char **s, unsigned int *v)
{
	const char *p = *s;
	uint64_t n = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return -EINVAL;
	}
	*v = (unsigned int)n;
	*s = p;
	return 0;
}

/* Skip the literal lit at *s: 0, or -EINVAL if it is not there. */
static int skip(const char **s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*s, lit, n))
		return -EINVAL;
	*s += n;
	return 0;
}

int xenbus_backend_parse(const char *nodename, char kind[16], unsigned int *fe, unsigned int *devid)
{
	const char *s = nodename;
	unsigned int be;
	size_t n;

	if (skip(&s, "/local/domain/") || parse_u32(&s, &be) || skip(&s, "/backend/"))
		return -EINVAL;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");
	if (!n || n > 15 || s[n] != '/')
		return -EINVAL;
	memcpy(kind, s, n);
	kind[n] = '\0';
	s += n + 1;
	if (parse_u32(&s, fe) || skip(&s, "/") || parse_u32(&s, devid) || *s)
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
