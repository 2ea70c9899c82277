/* SPDX-License-Identifier: MIT */
/*
 * xenbus.c - a device's xenstore directory, the other end's, and the
 * XenbusState handshake (see xenbus.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/clock.h"
#include "xenbus/xenbus.h"

static const char *const state_names[] = {
	[XenbusStateUnknown] = "Unknown",
	[XenbusStateInitialising] = "Initialising",
	[XenbusStateInitWait] = "InitWait",
	[XenbusStateInitialised] = "Initialised",
	[XenbusStateConnected] = "Connected",
	[XenbusStateClosing] = "Closing",
	[XenbusStateClosed] = "Closed",
	[XenbusStateReconfiguring] = "Reconfiguring",
	[XenbusStateReconfigured] = "Reconfigured",
};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *xenbus_state_name(enum xenbus_state state)
{
	if ((unsigned int)state >= NSTATES)
		return "Invalid";
	return state_names[state];
}

int xenbus_parse_u32(const char *str, uint32_t max, uint32_t *val)
{
	unsigned long long v;
	char *end;

	/* strtoull alone would take leading blanks, a sign and "0x". */
	if (!str || str[0] < '0' || str[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*val = (uint32_t)v;
	return 0;
}

/* dir/key, or dir itself for an empty key; NULL when out of memory. */
static char *join(const char *dir, const char *key)
{
	char *p;

	if (!*key)
		return strdup(dir);
	if (asprintf(&p, "%s/%s", dir, key) < 0)
		return NULL;
	return p;
}

int xenbus_read_str_at(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		       char **val)
{
	char *path = join(dir, key);
	unsigned int len;
	char *v;
	int err;

	if (!path)
		return -ENOMEM;
	v = xs_read(xs, t, path, &len);
	err = errno;
	free(path);
	if (!v)
		return err ? -err : -EIO;
	if (strlen(v) != len) {
		free(v);
		return -EINVAL;
	}
	*val = v;
	return 0;
}

int xenbus_read_u32_at(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		       uint32_t *val)
{
	char *v;
	int ret = xenbus_read_str_at(xs, t, dir, key, &v);

	if (ret)
		return ret;
	ret = xenbus_parse_u32(v, UINT32_MAX, val);
	free(v);
	return ret;
}

int xenbus_read_str(struct xenbus_dev *dev, xs_transaction_t t, const char *key, char **val)
{
	return xenbus_read_str_at(dev->xs, t, dev->nodename, key, val);
}

int xenbus_read_u32(struct xenbus_dev *dev, xs_transaction_t t, const char *key, uint32_t *val)
{
	return xenbus_read_u32_at(dev->xs, t, dev->nodename, key, val);
}

int xenbus_otherend_read_str(struct xenbus_dev *dev, xs_transaction_t t, const char *key,
			     char **val)
{
	return xenbus_read_str_at(dev->xs, t, dev->otherend, key, val);
}

int xenbus_otherend_read_u32(struct xenbus_dev *dev, xs_transaction_t t, const char *key,
			     uint32_t *val)
{
	return xenbus_read_u32_at(dev->xs, t, dev->otherend, key, val);
}

int xenbus_printf(struct xenbus_dev *dev, xs_transaction_t t, const char *key, const char *fmt, ...)
{
	char *path, *v;
	va_list ap;
	int n, ret = 0;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	path = join(dev->nodename, key);
	if (!path)
		ret = -ENOMEM;
	else if (!xs_write(dev->xs, t, path, v, (unsigned int)n))
		ret = errno ? -errno : -EIO;
	free(path);
	free(v);
	return ret;
}

int xenbus_xs_transaction(struct xs_handle *xs,
			  int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg), void *arg)
{
	int ret = -EAGAIN;

	for (int i = 0; i < XENBUS_TXN_RETRIES && ret == -EAGAIN; i++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return errno ? -errno : -EIO;
		ret = fn(xs, t, arg);
		if (ret) {
			xs_transaction_end(xs, t, true);
			continue;
		}
		if (!xs_transaction_end(xs, t, false))
			ret = errno ? -errno : -EIO;
	}
	return ret;
}

struct dev_txn {
	struct xenbus_dev *dev;
	int (*fn)(struct xenbus_dev *dev, xs_transaction_t t, void *arg);
	void *arg;
};

static int dev_txn_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct dev_txn *d = arg;

	(void)xs;
	return d->fn(d->dev, t, d->arg);
}

int xenbus_transaction(struct xenbus_dev *dev,
		       int (*fn)(struct xenbus_dev *dev, xs_transaction_t t, void *arg), void *arg)
{
	struct dev_txn d = { dev, fn, arg };

	return xenbus_xs_transaction(dev->xs, dev_txn_fn, &d);
}

/* Parse a state value: a number in the enum's range. */
static int parse_state(const char *v, enum xenbus_state *state)
{
	uint32_t n;
	int ret = xenbus_parse_u32(v, XenbusStateReconfigured, &n);

	if (ret)
		return -EINVAL;
	*state = (enum xenbus_state)n;
	return 0;
}

/* Whether the device's own directory is there (in transaction t). */
static bool dir_exists(struct xenbus_dev *dev, xs_transaction_t t)
{
	unsigned int len;
	void *v = xs_read(dev->xs, t, dev->nodename, &len);

	free(v);
	return v || errno != ENOENT;
}

static int switch_state_fn(struct xenbus_dev *dev, xs_transaction_t t, void *arg)
{
	enum xenbus_state want = *(enum xenbus_state *)arg, cur;
	char *v;
	int ret = xenbus_read_str(dev, t, "state", &v);

	if (ret == 0) {
		ret = parse_state(v, &cur);
		free(v);
		if (ret == 0 && cur == want)
			return 0;
	} else if (ret != -ENOENT) {
		return ret;
	} else if (!dir_exists(dev, t)) {
		/* As Linux's: a device the toolstack removed is not brought back by a late switch.
		 */
		return -ENOENT;
	}
	return xenbus_printf(dev, t, "state", "%d", (int)want);
}

int xenbus_switch_state(struct xenbus_dev *dev, enum xenbus_state state)
{
	int ret;

	if ((unsigned int)state >= NSTATES)
		return -EINVAL;
	ret = xenbus_transaction(dev, switch_state_fn, &state);
	if (ret == 0)
		dev->state = state;
	return ret;
}

int xenbus_read_otherend_state(struct xenbus_dev *dev, enum xenbus_state *state)
{
	char *v;
	int ret = xenbus_otherend_read_str(dev, XBT_NULL, "state", &v);

	/*
	 * Gone: no key, or (EACCES) no directory under a parent we may not read, which is how
	 * xenstored answers once a dead domain's nodes are deleted.
	 */
	if (ret == -ENOENT || ret == -EACCES) {
		*state = XenbusStateUnknown;
		ret = 0;
	} else if (ret == 0) {
		ret = parse_state(v, state);
		free(v);
	}
	if (ret == 0)
		dev->otherend_state = *state;
	return ret;
}

int xenbus_watch_otherend(struct xenbus_dev *dev)
{
	if (dev->watching)
		return 0;
	if (!xs_watch(dev->xs, dev->otherend_state_path, dev->token))
		return errno ? -errno : -EIO;
	dev->watching = true;
	return 0;
}

int xenbus_unwatch_otherend(struct xenbus_dev *dev)
{
	if (!dev->watching)
		return 0;
	dev->watching = false;
	if (!xs_unwatch(dev->xs, dev->otherend_state_path, dev->token))
		return errno ? -errno : -EIO;
	return 0;
}

/* Take one pending event: 1 if it was ours, 0 if another's, -EAGAIN if none. */
static int take_event(struct xenbus_dev *dev)
{
	char **ev = xs_check_watch(dev->xs);
	int ours;

	if (!ev)
		return errno == EAGAIN || errno == 0 ? -EAGAIN : -errno;
	ours = !strcmp(ev[XS_WATCH_TOKEN], dev->token);
	free(ev);
	return ours;
}

int xenbus_otherend_changed(struct xenbus_dev *dev, enum xenbus_state *state)
{
	bool changed = false;
	int i, ret = 0;

	for (i = 0; i < XENBUS_EVENTS_MAX && (ret = take_event(dev)) >= 0; i++)
		changed |= ret == 1;
	/* Past the budget: drop the rest, the re-read below covers them. */
	for (i = 0; ret >= 0 && i < XENBUS_DRAIN_MAX && (ret = take_event(dev)) >= 0; i++)
		changed = true;
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	if (!changed)
		return 0;
	ret = xenbus_read_otherend_state(dev, state);
	return ret ? ret : 1;
}

int xenbus_wait_otherend(struct xenbus_dev *dev, unsigned int mask, int timeout_ms,
			 enum xenbus_state *state)
{
	long long deadline = hv_now_ms() + timeout_ms;
	enum xenbus_state cur;
	int ret = xenbus_watch_otherend(dev);

	if (ret == 0)
		ret = xenbus_read_otherend_state(dev, &cur);
	while (ret == 0 && !(mask & XENBUS_STATE_BIT(cur))) {
		struct pollfd pfd = { .fd = xs_fileno(dev->xs), .events = POLLIN };
		long long left = deadline - hv_now_ms();

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (pfd.fd < 0)
			return -EIO;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		ret = xenbus_otherend_changed(dev, &cur);
		if (ret > 0)
			ret = 0;
	}
	if (state)
		*state = dev->otherend_state;
	return ret;
}

int xenbus_wait_otherend_state(struct xenbus_dev *dev, enum xenbus_state want, int timeout_ms,
			       enum xenbus_state *state)
{
	if ((unsigned int)want >= NSTATES)
		return -EINVAL;
	return xenbus_wait_otherend(dev, XENBUS_STATE_BIT(want), timeout_ms, state);
}

/* Our `backend`/`backend-id` or `frontend`/`frontend-id`, checked against each other. */
static int read_otherend(struct xenbus_dev *dev)
{
	const char *key = dev->role == XENBUS_FRONTEND ? "backend" : "frontend";
	char idkey[16], prefix[40];
	uint32_t id;
	int ret;

	snprintf(idkey, sizeof(idkey), "%s-id", key);
	ret = xenbus_read_u32(dev, XBT_NULL, idkey, &id);
	if (ret)
		return ret;
	if (id >= DOMID_FIRST_RESERVED)
		return -ERANGE;
	ret = xenbus_read_str(dev, XBT_NULL, key, &dev->otherend);
	if (ret)
		return ret;
	snprintf(prefix, sizeof(prefix), "/local/domain/%" PRIu32 "/", id);
	if (strncmp(dev->otherend, prefix, strlen(prefix)) || strstr(dev->otherend, "//") ||
	    dev->otherend[strlen(dev->otherend) - 1] == '/')
		return -EINVAL;
	dev->otherend_id = (domid_t)id;
	return 0;
}

/* The state path and a token unique in this process. */
static int finish_init(struct xenbus_dev *dev)
{
	static unsigned int serial;

	dev->otherend_state_path = join(dev->otherend, "state");
	if (!dev->otherend_state_path)
		return -ENOMEM;
	snprintf(dev->token, sizeof(dev->token), "xenbus-%p-%u", (void *)dev,
		 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
	return 0;
}

int xenbus_dev_open(struct xenbus_dev *dev, struct xs_handle *xs, enum xenbus_role role,
		    const char *nodename)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->xs = xs;
	dev->role = role;
	dev->nodename = strdup(nodename);
	if (!dev->nodename)
		return -ENOMEM;
	ret = read_otherend(dev);
	if (ret == 0)
		ret = finish_init(dev);
	if (ret)
		xenbus_dev_close(dev);
	return ret;
}

int xenbus_dev_init(struct xenbus_dev *dev, struct xs_handle *xs, enum xenbus_role role,
		    const char *nodename, const char *otherend, domid_t otherend_id)
{
	int ret = -ENOMEM;

	memset(dev, 0, sizeof(*dev));
	dev->xs = xs;
	dev->role = role;
	dev->otherend_id = otherend_id;
	dev->nodename = strdup(nodename);
	dev->otherend = strdup(otherend);
	if (dev->nodename && dev->otherend)
		ret = finish_init(dev);
	if (ret)
		xenbus_dev_close(dev);
	return ret;
}

void xenbus_dev_close(struct xenbus_dev *dev)
{
	if (dev->xs)
		xenbus_unwatch_otherend(dev);
	free(dev->otherend_state_path);
	free(dev->otherend);
	free(dev->nodename);
	memset(dev, 0, sizeof(*dev));
}

char *xenbus_dev_error_path(const struct xenbus_dev *dev)
{
	const char *rel = dev->nodename;
	unsigned int n = 0;
	int home = -1;
	char *p;

	/* Linux's nodename is relative to the home; ours is absolute: split the home off. */
	if (sscanf(rel, "/local/domain/%*u/%n", &n) == 0 && n > 0) {
		home = (int)n;
		rel += n;
	}
	while (*rel == '/')
		rel++;
	if (home < 0)
		return join("error", rel);
	if (asprintf(&p, "%.*serror/%s", home, dev->nodename, rel) < 0)
		return NULL;
	return p;
}

static void dev_verror(struct xenbus_dev *dev, int err, const char *fmt, va_list ap)
{
	struct pvio_log *log = dev->log ? dev->log : pvio_log_stderr(PVIO_LOG_WARN);
	char msg[1024], *dir = NULL, *path = NULL;
	int n;

	n = snprintf(msg, sizeof(msg), "%i ", -err);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	pvio_log(log, PVIO_LOG_ERROR, "xenbus", "%s: %s", dev->nodename, msg + n);
	dir = xenbus_dev_error_path(dev);
	if (dir)
		path = join(dir, "error");
	if (!path || !xs_write(dev->xs, XBT_NULL, path, msg, (unsigned int)strlen(msg)))
		pvio_log(log, PVIO_LOG_ERROR, "xenbus", "%s: failed to write error node %s",
			 dev->nodename, path ? path : "(no memory)");
	free(path);
	free(dir);
}

void xenbus_dev_error(struct xenbus_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_verror(dev, err, fmt, ap);
	va_end(ap);
}

void xenbus_dev_fatal(struct xenbus_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_verror(dev, err, fmt, ap);
	va_end(ap);
	xenbus_switch_state(dev, XenbusStateClosing);
}

int xenbus_parse_mac(const char *str, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, str += 3) {
		if (!isxdigit((unsigned char)str[0]) || !isxdigit((unsigned char)str[1]) ||
		    str[2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[3]){ str[0], str[1], '\0' }, NULL, 16);
	}
	return 0;
}
