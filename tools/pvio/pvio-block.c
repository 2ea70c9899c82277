/* SPDX-License-Identifier: MIT */
/*
 * pvio-block.c - pvio block-attach, block-detach and block-list: virtual block devices written
 * to xenstore as libxl writes them (xenbus/toolstack.h), for pvio-blkback(8) to serve and a
 * front-end such as pvio-blkfront(8) to use.
 *
 * DISKSPEC is the key=value subset of xl-disk-configuration(5) that applies here, or its
 * positional form target,format,vdev,access.  As in xl, target= takes the rest of the spec,
 * commas included -- except that here it stops before a ",KEY=" of a key we know.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/pvio/pvio.h"
#include "xenbus/toolstack.h"
#include "xenbus/vdev.h"

/* A parsed DISKSPEC. */
struct disk {
	const char *target;  /* the image or device, as given */
	char *path;	     /* target made absolute (owned) */
	const char *vdev;    /* the guest's name for it */
	uint32_t devid;	     /* vdev's device id */
	bool readonly;	     /* access=ro */
	const char *backend; /* backend domain, name or id; NULL: 0 */
	bool qdisk;	     /* backendtype=qdisk */
	bool cdrom;	     /* devtype=cdrom */
	unsigned int npos;   /* positional fields seen */
};

static int disk_access(struct disk *d, const char *v)
{
	if (!strcmp(v, "rw") || !strcmp(v, "w"))
		d->readonly = false;
	else if (!strcmp(v, "ro") || !strcmp(v, "r"))
		d->readonly = true;
	else
		return pvio_fail("access=%s: not rw, w, ro or r", v);
	return 0;
}

static int disk_format(const char *v)
{
	return !*v || !strcmp(v, "raw") ? 0 : pvio_fail("format=%s: only raw is supported", v);
}

/* One key=value (key and value split in place). */
static int disk_key(struct disk *d, const char *key, const char *v)
{
	if (!strcmp(key, "target"))
		d->target = v;
	else if (!strcmp(key, "vdev"))
		d->vdev = v;
	else if (!strcmp(key, "access"))
		return disk_access(d, v);
	else if (!strcmp(key, "format"))
		return disk_format(v);
	else if (!strcmp(key, "backend"))
		d->backend = v;
	else if (!strcmp(key, "backendtype") && (!strcmp(v, "phy") || !strcmp(v, "qdisk")))
		d->qdisk = !strcmp(v, "qdisk");
	else if (!strcmp(key, "devtype") && (!strcmp(v, "disk") || !strcmp(v, "cdrom")))
		d->cdrom = !strcmp(v, "cdrom");
	else if (!strcmp(key, "backendtype") || !strcmp(key, "devtype"))
		return pvio_fail("%s=%s: not supported", key, v);
	else
		return pvio_fail("%s: unknown disk spec key", key);
	return 0;
}

/* One positional field: target, format, vdev, access in that order. */
static int disk_positional(struct disk *d, const char *v)
{
	switch (d->npos++) {
	case 0:
		d->target = *v ? v : NULL;
		return 0;
	case 1:
		return disk_format(v);
	case 2:
		d->vdev = *v ? v : NULL;
		return 0;
	case 3:
		return *v ? disk_access(d, v) : 0;
	default:
		return pvio_fail("%s: too many positional fields in the disk spec", v);
	}
}

static const char *const disk_keys[] = { ",vdev=",	  ",access=",  ",format=", ",backend=",
					 ",backendtype=", ",devtype=", ",cdrom" };

/*
 * Where a target= value that starts at s ends: xl lets it take the rest of the spec, commas
 * and all; here it also ends before a ",KEY=" of a key we know, so that target= may come first.
 */
static char *disk_target_end(char *s)
{
	char *end = NULL, *p;
	size_t i;

	for (i = 0; i < sizeof(disk_keys) / sizeof(disk_keys[0]); i++) {
		p = strstr(s, disk_keys[i]);
		if (p && (!end || p < end))
			end = p;
	}
	return end;
}

/* Split spec (modified in place) into d. */
static int disk_parse(char *spec, struct disk *d)
{
	char *item = spec, *next, *eq;
	int ret = 0;

	while (item && ret == 0) {
		next = !strncmp(item, "target=", 7) ? disk_target_end(item) : strchr(item, ',');
		if (next)
			*next++ = '\0';
		eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			ret = disk_key(d, item, eq + 1);
		} else if (!strcmp(item, "cdrom")) {
			d->cdrom = true;
		} else {
			ret = disk_positional(d, item);
		}
		item = next;
	}
	if (ret == 0 && (!d->target || !*d->target))
		ret = pvio_fail("disk spec: no target");
	if (ret == 0 && (!d->vdev || !*d->vdev))
		ret = pvio_fail("disk spec: no vdev");
	return ret;
}

/* vdev to a device id, with one line that says what is wrong with it. */
static int vdev_check(const char *vdev, uint32_t *devid)
{
	int ret = vdev_devid(vdev, devid);

	if (ret == -ERANGE)
		return pvio_fail("%s: virtual device out of range", vdev);
	if (ret < 0)
		return pvio_fail(
		    "%s: not a virtual device (like xvda, xvdb1, sda, hdc, d0p1, 51712)", vdev);
	return 0;
}

/* The target must exist and be readable; its absolute path goes to the back-end. */
static int disk_target(struct disk *d)
{
	int fd;

	d->path = realpath(d->target, NULL);
	if (!d->path)
		return pvio_err(d->target, -errno);
	fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pvio_err(d->target, -errno);
	close(fd);
	return 0;
}

/* Write the two directories. */
static int attach_write(const struct pvio_env *env, struct disk *d, domid_t fe, domid_t be)
{
	char devid[16], params[PATH_MAX + 8];
	const char *devtype = d->cdrom ? "cdrom" : "disk";
	const struct xenbus_kv front[] = { { "virtual-device", devid },
					   { "device-type", devtype },
					   { "trusted", "1" } };
	const struct xenbus_kv back[] = {
		{ "params", params },
		{ "mode", d->readonly ? "r" : "w" },
		{ "type", d->qdisk ? "qdisk" : "phy" },
		{ "dev", d->vdev },
		{ "device-type", devtype },
		{ "removable", d->cdrom ? "1" : "0" },
		{ "bootable", "1" },
		{ "discard-enable", "1" },
	};
	struct xenbus_device_spec spec = {
		.kind = "vbd",
		.backend_kind = d->qdisk ? "qdisk" : "vbd",
		.devid = d->devid,
		.frontend_id = fe,
		.backend_id = be,
		.front_extra = front,
		.n_front_extra = 3,
		.back_extra = back,
		.n_back_extra = sizeof(back) / sizeof(back[0]),
	};
	struct xs_handle *xs;
	int ret;

	snprintf(devid, sizeof(devid), "%u", d->devid);
	snprintf(params, sizeof(params), "%s%s", d->qdisk ? "aio:" : "", d->path);
	if (pvio_xs_open(env, &xs))
		return 1;
	ret = xenbus_device_add(xs, &spec);
	xs_close(xs);
	if (ret == -EEXIST)
		return pvio_fail("%s: domain %u already has this device", d->vdev, fe);
	return ret < 0 ? pvio_err(d->vdev, ret) : 0;
}

static const char attach_usage[] =
    "usage: pvio block-attach DOMAIN DISKSPEC\n"
    "DISKSPEC: target=PATH (last), vdev=xvdb, access=rw|ro, backend=DOMAIN,\n"
    "backendtype=phy|qdisk, devtype=disk|cdrom, format=raw; or PATH,raw,VDEV,ACCESS.\n";

int pvio_cmd_block_attach(int argc, char **argv)
{
	struct disk d = { 0 };
	struct pvio_env env;
	domid_t fe, be = 0;
	char *spec;
	int opt, ret;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, attach_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (argc - optind != 2) {
		fputs(attach_usage, stderr);
		return 2;
	}
	spec = strdup(argv[optind + 1]);
	if (!spec)
		return pvio_err("disk spec", -ENOMEM);
	ret = disk_parse(spec, &d);
	if (ret == 0)
		ret = vdev_check(d.vdev, &d.devid);
	if (ret == 0)
		ret = disk_target(&d);
	if (ret == 0)
		ret = pvio_env_init(&env, NULL, PVIO_ENV_CLIENT);
	if (ret == 0)
		ret = pvio_domain_lookup(&env, argv[optind], &fe);
	if (ret == 0 && d.backend)
		ret = pvio_domain_lookup(&env, d.backend, &be);
	if (ret == 0)
		ret = attach_write(&env, &d, fe, be);
	free(d.path);
	free(spec);
	return ret;
}
