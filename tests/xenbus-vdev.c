/* SPDX-License-Identifier: MIT */
/*
 * xenbus-vdev.c - virtual device names against xen-vbd-interface(7): a table of names with
 * their device ids (or the error they must give), and the names vdev_name() gives back.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"
#include "xenbus/vdev.h"

/* One name and what parsing it must give. */
struct parse_case {
	const char *name; /* the input */
	int ret;	  /* 0, -EINVAL or -ERANGE */
	uint32_t devid;	  /* the device id when ret is 0 */
	const char *back; /* vdev_name(devid), or NULL: -EINVAL */
};

#define EXT(disk, part) ((1u << 28) | (disk) << 8 | (part))

static const struct parse_case cases[] = {
	{ "xvda", 0, 51712, "xvda" },
	{ "xvdb", 0, 51728, "xvdb" },
	{ "xvda1", 0, 51713, "xvda1" },
	{ "xvdp15", 0, 202 << 8 | 15 << 4 | 15, "xvdp15" },
	{ "xvdq", 0, EXT(16, 0), "xvdq" },
	{ "xvda16", 0, EXT(0, 16), "xvda16" },
	{ "xvdz", 0, EXT(25, 0), "xvdz" },
	{ "xvdaa", 0, EXT(26, 0), "xvdaa" },
	{ "xvdzz", 0, EXT(26 * 27 - 1, 0), "xvdzz" },
	{ "xvdaaa", 0, EXT(702, 0), "xvdaaa" },
	{ "xvdb255", 0, EXT(1, 255), "xvdb255" },
	{ "xvdbgqcv", 0, EXT((1u << 20) - 1, 0), "xvdbgqcv" },
	{ "xvdbgqcw", -ERANGE, 0, NULL },
	{ "xvdaaaaaaaaaaaaaaaaaaaaaaa", -ERANGE, 0, NULL },
	{ "xvda256", -ERANGE, 0, NULL },
	{ "xvda99999999999999999999", -ERANGE, 0, NULL },
	{ "xvda0", -EINVAL, 0, NULL },
	{ "xvda01", -EINVAL, 0, NULL },
	{ "xvd", -EINVAL, 0, NULL },
	{ "xvdA", -EINVAL, 0, NULL },
	{ "xvda1x", -EINVAL, 0, NULL },
	{ "xvda-1", -EINVAL, 0, NULL },
	{ "xvda ", -EINVAL, 0, NULL },
	{ " xvda", -EINVAL, 0, NULL },
	{ "d0p0", 0, 51712, "xvda" },
	{ "d1", 0, 51728, "xvdb" },
	{ "d536p37", 0, EXT(536, 37), "xvdtq37" },
	{ "d1048576", -ERANGE, 0, NULL },
	{ "d01", -EINVAL, 0, NULL },
	{ "d1p", -EINVAL, 0, NULL },
	{ "dp1", -EINVAL, 0, NULL },
	{ "sda", 0, 8 << 8, "sda" },
	{ "sdb3", 0, 8 << 8 | 1 << 4 | 3, "sdb3" },
	{ "sdp15", 0, 8 << 8 | 15 << 4 | 15, "sdp15" },
	{ "sdq", -ERANGE, 0, NULL },
	{ "sda16", -ERANGE, 0, NULL },
	{ "hda", 0, 3 << 8, "hda" },
	{ "hdb63", 0, 3 << 8 | 1 << 6 | 63, "hdb63" },
	{ "hdc", 0, 22 << 8, "hdc" },
	{ "hdd1", 0, 22 << 8 | 1 << 6 | 1, "hdd1" },
	{ "hde", -ERANGE, 0, NULL },
	{ "hda64", -ERANGE, 0, NULL },
	{ "51712", 0, 51712, "xvda" },
	{ "0", 0, 0, NULL },
	{ "2147483647", 0, 2147483647u, NULL },
	{ "2147483648", -ERANGE, 0, NULL },
	{ "99999999999999999999", -ERANGE, 0, NULL },
	{ "051712", -EINVAL, 0, NULL },
	{ "0x100", -EINVAL, 0, NULL },
	{ "-1", -EINVAL, 0, NULL },
	{ "+1", -EINVAL, 0, NULL },
	{ "", -EINVAL, 0, NULL },
	{ "vda", -EINVAL, 0, NULL },
	{ "xvda\n", -EINVAL, 0, NULL },
};

/* Device ids that name nothing, or that a short buffer cannot hold. */
static int check_names(void)
{
	static const uint32_t bad[] = {
		0, 1, 7 << 8, 3 << 8 | 128, 22 << 8 | 200, 2u << 28, 0xffffffffu, 202 << 8 | 1 << 16
	};
	char buf[VDEV_NAME_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(vdev_name(bad[i], buf, sizeof(buf)) == -EINVAL, "vdev_name(%#x) is -EINVAL",
			bad[i]);
	T_CHECK(vdev_name(51712, buf, 4) == -ENAMETOOLONG, "short buffer");
	T_CHECK(vdev_name(EXT((1u << 20) - 1, 255), buf, sizeof(buf)) == 0 &&
		    !strcmp(buf, "xvdbgqcv255"),
		"the longest name fits VDEV_NAME_MAX");
	return 0;
}

static int check_case(const struct parse_case *c)
{
	struct vdev v = { .devid = 12345 };
	char buf[VDEV_NAME_MAX];
	int ret = vdev_parse(c->name, &v);

	T_CHECK(ret == c->ret, "vdev_parse(\"%s\") = %d, wanted %d", c->name, ret, c->ret);
	if (ret < 0) {
		T_CHECK(v.devid == 12345, "\"%s\": output untouched on error", c->name);
		return 0;
	}
	T_CHECK(v.devid == c->devid, "\"%s\" = %u, wanted %u", c->name, v.devid, c->devid);
	ret = vdev_name(v.devid, buf, sizeof(buf));
	if (!c->back) {
		T_CHECK(ret == -EINVAL, "vdev_name(%u) = %d, wanted -EINVAL", v.devid, ret);
		return 0;
	}
	T_CHECK(ret == 0 && !strcmp(buf, c->back), "vdev_name(%u) = %d \"%s\", wanted \"%s\"",
		v.devid, ret, ret == 0 ? buf : "", c->back);
	T_CHECK(vdev_devid(buf, &v.devid) == 0 && v.devid == c->devid, "\"%s\" round trip", buf);
	return 0;
}

int main(void)
{
	uint32_t id;
	size_t i;

	t_time_limit(T_TIME_LIMIT_S);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (check_case(&cases[i]))
			return T_FAIL;
	}
	T_CHECK(vdev_parse(NULL, &(struct vdev){ 0 }) == -EINVAL, "NULL name");
	T_CHECK(vdev_devid("xvdc2", &id) == 0 && id == (202 << 8 | 2 << 4 | 2), "vdev_devid");
	return check_names();
}
