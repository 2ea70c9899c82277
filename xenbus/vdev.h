/* SPDX-License-Identifier: MIT */
/*
 * vdev.h - Xen virtual block device names and the device ids they stand for, as
 * xen-vbd-interface(7) specifies (and libxl parses):
 *
 *	1 << 28 | disk << 8 | partition	    xvd, disks or partitions 16 onwards
 *	202 << 8 | disk << 4 | partition    xvd, disks and partitions up to 15
 *	8 << 8 | disk << 4 | partition	    sd, disks and partitions up to 15
 *	3 << 8 | disk << 6 | partition	    hd, disks 0..1, partitions 0..63
 *	22 << 8 | (disk-2) << 6 | partition hd, disks 2..3, partitions 0..63
 *
 * Names: xvd<letters>[<partition>] with disk < 2^20 and partition <= 255, sd<letters>[<p>],
 * hd<letter>[<p>], d<disk>[p<partition>] (the xvd encoding), or a plain decimal device id.
 * Disk letters count in bijective base 26: a = 0, z = 25, aa = 26, ...; a partition is
 * decimal from 1 without leading zeros (none: the whole disk, partition 0).  Parsing is
 * strict and bounded: anything else is -EINVAL, a number out of its range -ERANGE.
 */
#ifndef PVIO_XENBUS_VDEV_H
#define PVIO_XENBUS_VDEV_H

#include <stddef.h>
#include <stdint.h>

/* Which naming a device id was given in. */
enum vdev_bus {
	VDEV_XEN,    /* xvd... or d<N>p<M> */
	VDEV_SCSI,   /* sd... */
	VDEV_IDE,    /* hd... */
	VDEV_NUMBER, /* a plain device id */
};

/* A parsed name. */
struct vdev {
	enum vdev_bus bus;  /* how it was named */
	uint32_t disk;	    /* disk index (0 for xvda); 0 for VDEV_NUMBER */
	uint32_t partition; /* partition, 0 for the whole disk; 0 for VDEV_NUMBER */
	uint32_t devid;	    /* the device id (xenstore's device/vbd/<devid>) */
};

/* The largest xvd disk index and partition. */
#define VDEV_XVD_DISK_MAX ((1u << 20) - 1)
#define VDEV_XVD_PART_MAX 255u
/* A plain device id: at most this (libxl: INT_MAX). */
#define VDEV_DEVID_MAX 0x7fffffffu
/* Room for any name vdev_name() writes, NUL included ("xvdbgqcv255"). */
#define VDEV_NAME_MAX 16

/* Parse name.  0, -EINVAL or -ERANGE. */
int vdev_parse(const char *name, struct vdev *vdev);

/* Just the device id of name.  0, -EINVAL or -ERANGE. */
int vdev_devid(const char *name, uint32_t *devid);

/*
 * The name of devid in buf: xvd for both xvd encodings, sd and hd for theirs.  -EINVAL if
 * devid is in none of them, -ENAMETOOLONG if len is too small (VDEV_NAME_MAX always fits).
 */
int vdev_name(uint32_t devid, char *buf, size_t len);

#endif
