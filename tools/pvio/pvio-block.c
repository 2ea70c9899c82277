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
					 ",backendtype=", ",devtype=", ",cdrom",   NULL };

/* One item: KEY=VALUE, "cdrom", or a positional field. */
static int disk_item(void *arg, const char *key, const char *val)
{
	struct disk *d = arg;

	if (key)
		return disk_key(d, key, val);
	if (!strcmp(val, "cdrom")) {
		d->cdrom = true;
		return 0;
	}
	return disk_positional(d, val);
}

/*
 * Split spec (modified in place) into d.  As in xl, target= takes the rest of the spec,
 * commas and all; here it also ends before a ",KEY=" of a key we know, so that target= may
 * come first.
 */
static int disk_parse(char *spec, struct disk *d)
{
	static const struct pvio_spec_syntax syn = { disk_item, "target", disk_keys };
	int ret = pvio_spec_parse(spec, &syn, d);

	if (ret == 0 && (!d->target || !*d->target))
		ret = pvio_fail("disk spec: no target");
	if (ret == 0 && (!d->vdev || !*d->vdev))
		ret = pvio_fail("disk spec: no vdev");
	return ret;
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
	domid_t fe, be;
	char *spec;
	int ret = pvio_attach_args(argc, argv, attach_usage, false);

	if (ret >= 0)
		return ret;
	spec = strdup(argv[optind + 1]);
	if (!spec)
		return pvio_err("disk spec", -ENOMEM);
	ret = disk_parse(spec, &d);
	if (ret == 0)
		ret = pvio_vdev(d.vdev, &d.devid);
	if (ret == 0)
		ret = disk_target(&d);
	if (ret == 0)
		ret = pvio_attach_domains(&env, argv[optind], d.backend, &fe, &be);
	if (ret == 0)
		ret = attach_write(&env, &d, fe, be);
	free(d.path);
	free(spec);
	return ret;
}
