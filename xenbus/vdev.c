/* SPDX-License-Identifier: MIT */
/*
 * vdev.c - Xen virtual block device names <-> device ids (xen-vbd-interface(7)).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xenbus/vdev.h"

#define VDEV_XVD_MAJOR 202u
#define VDEV_SD_MAJOR  8u
#define VDEV_HD0_MAJOR 3u
#define VDEV_HD1_MAJOR 22u
#define VDEV_EXT       (1u << 28)
#define VDEV_LETTERS   8  /* more letters than any bounded disk index needs */
#define VDEV_DIGITS    10 /* digits of VDEV_DEVID_MAX */

/* Disk letters at *p (bijective base 26) up to max: 0, -EINVAL (none) or -ERANGE. */
static int vdev_letters(const char **p, uint32_t max, uint32_t *disk)
{
	const char *s = *p;
	uint64_t n = 0;
	int len;

	for (len = 0; *s >= 'a' && *s <= 'z'; s++, len++) {
		if (len == VDEV_LETTERS)
			return -ERANGE;
		n = n * 26 + (uint64_t)(*s - 'a' + 1);
	}
	if (len == 0)
		return -EINVAL;
	if (n - 1 > max)
		return -ERANGE;
	*disk = (uint32_t)(n - 1);
	*p = s;
	return 0;
}

/*
 * A decimal that is the whole rest of the string, up to max: digits only, no leading zero
 * unless zero_ok and the number is "0".  0, -EINVAL or -ERANGE.
 */
static int vdev_decimal(const char *s, bool zero_ok, uint32_t max, uint32_t *val)
{
	uint64_t n = 0;
	int len;

	if (s[0] == '0' && !(zero_ok && s[1] == '\0'))
		return -EINVAL;
	for (len = 0; s[len] >= '0' && s[len] <= '9'; len++) {
		if (len == VDEV_DIGITS)
			return -ERANGE;
		n = n * 10 + (uint64_t)(s[len] - '0');
	}
	if (len == 0 || s[len] != '\0')
		return -EINVAL;
	if (n > max)
		return -ERANGE;
	*val = (uint32_t)n;
	return 0;
}

/* An optional partition: "" is 0, else a decimal from 1 up to max. */
static int vdev_partition(const char *s, uint32_t max, uint32_t *part)
{
	if (*s == '\0') {
		*part = 0;
		return 0;
	}
	return vdev_decimal(s, false, max, part);
}

static uint32_t vdev_xvd_id(uint32_t disk, uint32_t part)
{
	if (disk <= 15 && part <= 15)
		return VDEV_XVD_MAJOR << 8 | disk << 4 | part;
	return VDEV_EXT | disk << 8 | part;
}

/* "<letters>[<partition>]" after a prefix, with the bus's bounds. */
static int vdev_lettered(const char *s, uint32_t disk_max, uint32_t part_max, struct vdev *v)
{
	int ret = vdev_letters(&s, disk_max, &v->disk);

	return ret < 0 ? ret : vdev_partition(s, part_max, &v->partition);
}

/* "d<disk>[p<partition>]". */
static int vdev_dform(const char *s, struct vdev *v)
{
	char digits[VDEV_DIGITS + 2];
	const char *p = strchr(s, 'p');
	size_t len = p ? (size_t)(p - s) : strlen(s);
	int ret;

	if (len == 0 || len >= sizeof(digits))
		return len == 0 ? -EINVAL : -ERANGE;
	memcpy(digits, s, len);
	digits[len] = '\0';
	ret = vdev_decimal(digits, true, VDEV_XVD_DISK_MAX, &v->disk);
	if (ret == 0 && p)
		ret = vdev_decimal(p + 1, true, VDEV_XVD_PART_MAX, &v->partition);
	return ret;
}

static int vdev_parse_named(const char *name, struct vdev *v)
{
	int ret;

	if (!strncmp(name, "xvd", 3)) {
		v->bus = VDEV_XEN;
		ret = vdev_lettered(name + 3, VDEV_XVD_DISK_MAX, VDEV_XVD_PART_MAX, v);
	} else if (!strncmp(name, "sd", 2)) {
		v->bus = VDEV_SCSI;
		ret = vdev_lettered(name + 2, 15, 15, v);
		v->devid = VDEV_SD_MAJOR << 8 | v->disk << 4 | v->partition;
		return ret;
	} else if (!strncmp(name, "hd", 2)) {
		v->bus = VDEV_IDE;
		ret = vdev_lettered(name + 2, 3, 63, v);
		v->devid = v->disk < 2 ? VDEV_HD0_MAJOR << 8 | v->disk << 6 | v->partition
				       : VDEV_HD1_MAJOR << 8 | (v->disk - 2) << 6 | v->partition;
		return ret;
	} else if (name[0] == 'd' && name[1] >= '0' && name[1] <= '9') {
		v->bus = VDEV_XEN;
		ret = vdev_dform(name + 1, v);
	} else {
		return -EINVAL;
	}
	v->devid = vdev_xvd_id(v->disk, v->partition);
	return ret;
}

int vdev_parse(const char *name, struct vdev *vdev)
{
	struct vdev v = { 0 };
	int ret;

	if (!name || !vdev)
		return -EINVAL;
	if (name[0] >= '0' && name[0] <= '9') {
		v.bus = VDEV_NUMBER;
		ret = vdev_decimal(name, true, VDEV_DEVID_MAX, &v.devid);
	} else {
		ret = vdev_parse_named(name, &v);
	}
	if (ret == 0)
		*vdev = v;
	return ret;
}

int vdev_devid(const char *name, uint32_t *devid)
{
	struct vdev v;
	int ret = vdev_parse(name, &v);

	if (ret == 0)
		*devid = v.devid;
	return ret;
}

/* prefix, the disk's letters, and the partition unless 0. */
static int vdev_format(const char *prefix, uint32_t disk, uint32_t part, char *buf, size_t len)
{
	char letters[VDEV_LETTERS + 1];
	int i = VDEV_LETTERS, n;
	int64_t d = disk;

	letters[i] = '\0';
	do {
		letters[--i] = (char)('a' + d % 26);
		d = d / 26 - 1;
	} while (d >= 0 && i > 0);
	if (part)
		n = snprintf(buf, len, "%s%s%u", prefix, &letters[i], part);
	else
		n = snprintf(buf, len, "%s%s", prefix, &letters[i]);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vdev_name(uint32_t devid, char *buf, size_t len)
{
	if ((devid >> 28) == 1)
		return vdev_format("xvd", (devid >> 8) & VDEV_XVD_DISK_MAX, devid & 0xff, buf, len);
	if (devid >> 16)
		return -EINVAL;
	switch (devid >> 8) {
	case VDEV_XVD_MAJOR:
		return vdev_format("xvd", (devid >> 4) & 15, devid & 15, buf, len);
	case VDEV_SD_MAJOR:
		return vdev_format("sd", (devid >> 4) & 15, devid & 15, buf, len);
	case VDEV_HD0_MAJOR:
	case VDEV_HD1_MAJOR:
		/* Two disks per major: minors 128..255 are not in the table. */
		if ((devid & 0xff) >> 6 > 1)
			return -EINVAL;
		return vdev_format("hd",
				   ((devid >> 8) == VDEV_HD1_MAJOR ? 2 : 0) + ((devid >> 6) & 1),
				   devid & 63, buf, len);
	default:
		return -EINVAL;
	}
}
