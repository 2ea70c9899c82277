/* SPDX-License-Identifier: MIT */
/*
 * toolstack.c - create and remove a split device's xenstore directories,
 * as libxl does (see toolstack.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenbus/toolstack.h"

/* Keys the toolstack writes itself; an extra may not repeat them. */
static const char *const reserved[] = {
	"backend", "backend-id", "frontend", "frontend-id", "online", "state",
};

/* A directory name: [a-z0-9_-], 1..32 characters. */
static bool valid_kind(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0;

	if (n == 0 || n > 32)
		return false;
	return strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A relative key: [A-Za-z0-9_-] components separated by single slashes. */
static bool valid_key(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (n == 0 || key[0] == '/' || key[n - 1] == '/' || strstr(key, "//"))
		return false;
	if (strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/") != n)
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i]))
			return false;
	return true;
}

static const char *backend_kind(const struct xenbus_device_spec *spec)
{
	return spec->backend_kind ? spec->backend_kind : spec->kind;
}

static int fit(int n, size_t len)
{
	return n < 0 ? -EINVAL : (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xenbus_frontend_path(const struct xenbus_device_spec *spec, char *buf, size_t len)
{
	if (!valid_kind(spec->kind))
		return -EINVAL;
	return fit(snprintf(buf, len, "/local/domain/%u/device/%s/%u", spec->frontend_id,
			    spec->kind, spec->devid),
		   len);
}

int xenbus_backend_path(const struct xenbus_device_spec *spec, char *buf, size_t len)
{
	if (!valid_kind(backend_kind(spec)))
		return -EINVAL;
	return fit(snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%u", spec->backend_id,
			    backend_kind(spec), spec->frontend_id, spec->devid),
		   len);
}

/* Both paths of a device, computed once per call. */
struct device_paths {
	const struct xenbus_device_spec *spec;
	char front[256];    /* /local/domain/<fe>/device/<kind>/<devid> */
	char back[256];	    /* /local/domain/<be>/backend/<bkind>/<fe>/<devid> */
	unsigned int flags; /* xenbus_device_remove's */
};

static int paths_init(struct device_paths *p, const struct xenbus_device_spec *spec)
{
	int ret;

	p->spec = spec;
	p->flags = 0;
	ret = xenbus_frontend_path(spec, p->front, sizeof(p->front));
	if (ret == 0)
		ret = xenbus_backend_path(spec, p->back, sizeof(p->back));
	return ret;
}

static int write_key(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		     const char *value)
{
	char path[512];

	if (fit(snprintf(path, sizeof(path), "%s/%s", dir, key), sizeof(path)))
		return -ENAMETOOLONG;
	if (!xs_write(xs, t, path, value, (unsigned int)strlen(value)))
		return errno ? -errno : -EIO;
	return 0;
}

static int write_keys(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		      const struct xenbus_kv *kv, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = write_key(xs, t, dir, kv[i].key, kv[i].value);
	return ret;
}

/* mkdir dir (-EEXIST if it is there) owned by owner, readable by reader. */
static int make_dir(struct xs_handle *xs, xs_transaction_t t, const char *dir, domid_t owner,
		    domid_t reader)
{
	struct xs_permissions perms[2] = { { owner, XS_PERM_NONE }, { reader, XS_PERM_READ } };
	unsigned int len;
	char *v = xs_read(xs, t, dir, &len);

	if (v) {
		free(v);
		return -EEXIST;
	}
	if (errno != ENOENT)
		return errno ? -errno : -EIO;
	/* Keys written below inherit these permissions. */
	if (!xs_mkdir(xs, t, dir) || !xs_set_permissions(xs, t, dir, perms, 2))
		return errno ? -errno : -EIO;
	return 0;
}

static int add_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct device_paths *p = arg;
	const struct xenbus_device_spec *s = p->spec;
	char id[16];
	int ret;

	ret = make_dir(xs, t, p->front, s->frontend_id, s->backend_id);
	if (ret == 0)
		ret = make_dir(xs, t, p->back, s->backend_id, s->frontend_id);
	snprintf(id, sizeof(id), "%u", s->backend_id);
	if (ret == 0)
		ret = write_key(xs, t, p->front, "backend", p->back);
	if (ret == 0)
		ret = write_key(xs, t, p->front, "backend-id", id);
	if (ret == 0)
		ret = write_key(xs, t, p->front, "state", "1");
	if (ret == 0)
		ret = write_keys(xs, t, p->front, s->front_extra, s->n_front_extra);
	snprintf(id, sizeof(id), "%u", s->frontend_id);
	if (ret == 0)
		ret = write_key(xs, t, p->back, "frontend", p->front);
	if (ret == 0)
		ret = write_key(xs, t, p->back, "frontend-id", id);
	if (ret == 0)
		ret = write_key(xs, t, p->back, "online", "1");
	if (ret == 0)
		ret = write_key(xs, t, p->back, "state", "1");
	if (ret == 0)
		ret = write_keys(xs, t, p->back, s->back_extra, s->n_back_extra);
	return ret;
}

static int check_extras(const struct xenbus_kv *kv, size_t n)
{
	if (n && !kv)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!valid_key(kv[i].key) || !kv[i].value)
			return -EINVAL;
	return 0;
}

int xenbus_device_add(struct xs_handle *xs, const struct xenbus_device_spec *spec)
{
	struct device_paths p;
	int ret = paths_init(&p, spec);

	if (ret == 0)
		ret = check_extras(spec->front_extra, spec->n_front_extra);
	if (ret == 0)
		ret = check_extras(spec->back_extra, spec->n_back_extra);
	if (spec->frontend_id >= DOMID_FIRST_RESERVED || spec->backend_id >= DOMID_FIRST_RESERVED)
		ret = -EINVAL;
	if (ret == 0)
		ret = xenbus_xs_transaction(xs, add_fn, &p);
	return ret;
}

/* The back-end's state: a number, or -ENOENT when the key (or dir) is gone. */
static int backend_state(struct xs_handle *xs, xs_transaction_t t, const char *back,
			 uint32_t *state)
{
	return xenbus_read_u32_at(xs, t, back, "state", state);
}

static int detach_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct device_paths *p = arg;
	uint32_t state;
	int ret = backend_state(xs, t, p->back, &state);

	if (ret == -EINVAL || ret == -ERANGE)
		state = XenbusStateUnknown; /* garbage: ask it to close anyway */
	else if (ret)
		return ret;
	ret = write_key(xs, t, p->back, "online", "0");
	if (ret == 0 && state != XenbusStateClosed)
		ret = write_key(xs, t, p->back, "state", "5");
	return ret;
}

int xenbus_device_detach(struct xs_handle *xs, const struct xenbus_device_spec *spec)
{
	struct device_paths p;
	int ret = paths_init(&p, spec);

	return ret ? ret : xenbus_xs_transaction(xs, detach_fn, &p);
}

int xenbus_device_wait_closed(struct xs_handle *xs, const struct xenbus_device_spec *spec,
			      int timeout_ms)
{
	const unsigned int closed =
	    XENBUS_STATE_BIT(XenbusStateClosed) | XENBUS_STATE_BIT(XenbusStateUnknown);
	struct xenbus_dev dev;
	struct device_paths p;
	int ret = paths_init(&p, spec);

	/* Paths from the spec: the guest owns the front dir and its `backend` key. */
	if (ret == 0)
		ret = xenbus_dev_init(&dev, xs, XENBUS_FRONTEND, p.front, p.back, spec->backend_id);
	if (ret)
		return ret;
	/* Closed, or gone (reads as Unknown). */
	ret = xenbus_wait_otherend(&dev, closed, timeout_ms, NULL);
	xenbus_dev_close(&dev);
	return ret;
}

/* xs_rm that treats an already-missing path as done. */
static int remove_path(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	if (!xs_rm(xs, t, path) && errno != ENOENT)
		return errno ? -errno : -EIO;
	return 0;
}

/* Remove <be>/backend/<bkind>/<fe> when the device was its last entry. */
static int remove_empty_parent(struct xs_handle *xs, xs_transaction_t t, const char *back)
{
	char parent[256];
	unsigned int num;
	char **ents;

	snprintf(parent, sizeof(parent), "%s", back);
	*strrchr(parent, '/') = '\0';
	ents = xs_directory(xs, t, parent, &num);
	if (!ents)
		return errno == ENOENT ? 0 : errno ? -errno : -EIO;
	free(ents);
	return num ? 0 : remove_path(xs, t, parent);
}

static int remove_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct device_paths *p = arg;
	uint32_t state;
	int ret;

	if (!(p->flags & XENBUS_REMOVE_FORCE)) {
		ret = backend_state(xs, t, p->back, &state);
		if (ret && ret != -ENOENT)
			return ret == -EINVAL || ret == -ERANGE ? -EBUSY : ret;
		if (ret == 0 && state != XenbusStateClosed)
			return -EBUSY;
	}
	ret = remove_path(xs, t, p->front);
	if (ret == 0)
		ret = remove_path(xs, t, p->back);
	if (ret == 0)
		ret = remove_empty_parent(xs, t, p->back);
	return ret;
}

int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device_spec *spec,
			 unsigned int flags)
{
	struct device_paths p;
	int ret = paths_init(&p, spec);

	p.flags = flags;
	return ret ? ret : xenbus_xs_transaction(xs, remove_fn, &p);
}
