/* SPDX-License-Identifier: MIT */
/*
 * xenbus-toolstack.c - xenbus_device_add() writes libxl's front and back
 * directories with their keys and permissions: the front-end domain owns
 * its dir and may read the back dir, the back-end domain the other way
 * round, a third domain reads neither; detach and remove clean up.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"

#define FE    1
#define BE    2
#define OTHER 3

static char front[256], back[256];

/* dir/key in one of a few rotating buffers. */
static const char *at(const char *dir, const char *key)
{
	static char buf[4][300];
	static unsigned int i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, key);
	return b;
}

static int expect_key(struct xs_handle *h, const char *dir, const char *key, const char *want)
{
	char *v = NULL;
	int ret = xenbus_read_str_at(h, XBT_NULL, dir, key, &v);
	int ok = ret == 0 && !strcmp(v, want);

	T_CHECK(ok, "%s/%s: %s (wanted %s)", dir, key, ret ? strerror(-ret) : v, want);
	free(v);
	return 0;
}

static int expect_perms(struct xs_handle *h, const char *path, unsigned int owner,
			unsigned int reader)
{
	struct xs_permissions *p;
	unsigned int n;
	int ok;

	p = xs_get_permissions(h, XBT_NULL, path, &n);
	ok = p && n == 2 && p[0].id == owner && p[0].perms == XS_PERM_NONE && p[1].id == reader &&
	     p[1].perms == XS_PERM_READ;
	free(p);
	T_CHECK(ok, "perms of %s: want [n%u, r%u]", path, owner, reader);
	return 0;
}

/* Domain domid: what it may read and write of the device's two dirs. */
static int domain_access(unsigned int domid, bool read_front, bool write_front, bool read_back,
			 bool write_back)
{
	struct xs_handle *h = t_xs_open_domain(domid);
	char *v = NULL;
	int ret;

	T_CHECK(h, "xs_open for domain %u", domid);
	ret = xenbus_read_str_at(h, XBT_NULL, front, "state", &v);
	free(v);
	T_CHECK(read_front ? ret == 0 : ret == -EACCES, "dom%u reads front: %d", domid, ret);
	ret = xenbus_read_str_at(h, XBT_NULL, back, "state", &v);
	free(v);
	T_CHECK(read_back ? ret == 0 : ret == -EACCES, "dom%u reads back: %d", domid, ret);
	ret = xs_write(h, XBT_NULL, at(front, "probe"), "x", 1);
	T_CHECK(ret == write_front && (ret || errno == EACCES), "dom%u writes front", domid);
	ret = xs_write(h, XBT_NULL, at(back, "probe"), "x", 1);
	T_CHECK(ret == write_back && (ret || errno == EACCES), "dom%u writes back", domid);
	xs_close(h);
	return 0;
}

static int check_dirs(struct xs_handle *h)
{
	T_CHECK(expect_perms(h, front, FE, BE) == 0, "front perms");
	T_CHECK(expect_perms(h, back, BE, FE) == 0, "back perms");
	T_CHECK(expect_perms(h, at(back, "state"), BE, FE) == 0,
		"back keys inherit the dir's perms");
	T_CHECK(expect_key(h, front, "backend", back) == 0, "backend");
	T_CHECK(expect_key(h, front, "backend-id", "2") == 0, "backend-id");
	T_CHECK(expect_key(h, front, "state", "1") == 0, "front state");
	T_CHECK(expect_key(h, front, "virtual-device", "51712") == 0, "front extra");
	T_CHECK(expect_key(h, back, "frontend", front) == 0, "frontend");
	T_CHECK(expect_key(h, back, "frontend-id", "1") == 0, "frontend-id");
	T_CHECK(expect_key(h, back, "online", "1") == 0, "online");
	T_CHECK(expect_key(h, back, "state", "1") == 0, "back state");
	T_CHECK(expect_key(h, back, "mode", "w") == 0, "back extra");
	T_CHECK(expect_key(h, back, "params", "/tmp/disk.img") == 0, "back extra 2");
	return 0;
}

int main(void)
{
	static const struct xenbus_kv fx[] = { { "virtual-device", "51712" },
					       { "device-type", "disk" } };
	static const struct xenbus_kv bx[] = { { "mode", "w" }, { "params", "/tmp/disk.img" } };
	static const struct xenbus_kv bad[] = { { "state", "4" } };
	struct xenbus_device_spec spec = {
		.kind = "vbd",
		.devid = 51712,
		.frontend_id = FE,
		.backend_id = BE,
		.front_extra = fx,
		.n_front_extra = 2,
		.back_extra = bx,
		.n_back_extra = 2,
	};
	struct xenbus_device_spec evil = spec;
	struct xs_handle *h;
	unsigned int n;
	char *v;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, FE, 0, 0) && xs_introduce_domain(h, BE, 0, 0) &&
		    xs_introduce_domain(h, OTHER, 0, 0),
		"INTRODUCE");
	T_CHECK(xenbus_frontend_path(&spec, front, sizeof(front)) == 0, "front path");
	T_CHECK(xenbus_backend_path(&spec, back, sizeof(back)) == 0, "back path");
	T_CHECK(!strcmp(front, "/local/domain/1/device/vbd/51712"), "front path %s", front);
	T_CHECK(!strcmp(back, "/local/domain/2/backend/vbd/1/51712"), "back path %s", back);

	evil.back_extra = bad;
	evil.n_back_extra = 1;
	T_CHECK(xenbus_device_add(h, &evil) == -EINVAL, "an extra repeating state: EINVAL");
	evil = spec;
	evil.kind = "../vbd";
	T_CHECK(xenbus_device_add(h, &evil) == -EINVAL, "a kind with a slash: EINVAL");
	T_CHECK(!xs_read(h, XBT_NULL, front, &n) && errno == ENOENT, "nothing written");

	T_CHECK(xenbus_device_add(h, &spec) == 0, "xenbus_device_add");
	T_CHECK(xenbus_device_add(h, &spec) == -EEXIST, "second add: EEXIST");
	if (check_dirs(h))
		return T_FAIL;
	if (domain_access(FE, true, true, true, false) ||
	    domain_access(BE, true, false, true, true) ||
	    domain_access(OTHER, false, false, false, false))
		return T_FAIL;

	T_CHECK(xenbus_device_remove(h, &spec, 0) == -EBUSY, "remove before Closed: EBUSY");
	T_CHECK(xenbus_device_detach(h, &spec) == 0, "detach");
	T_CHECK(expect_key(h, back, "online", "0") == 0, "detach: online=0");
	T_CHECK(expect_key(h, back, "state", "5") == 0, "detach: state=Closing");
	T_CHECK(xenbus_device_wait_closed(h, &spec, 200) == -ETIMEDOUT, "no back-end: timeout");
	T_CHECK(xs_write(h, XBT_NULL, at(back, "state"), "6", 1), "back-end Closed");
	T_CHECK(xenbus_device_detach(h, &spec) == 0, "detach again");
	T_CHECK(expect_key(h, back, "state", "6") == 0, "detach leaves Closed alone");
	T_CHECK(xenbus_device_wait_closed(h, &spec, 2000) == 0, "wait for Closed");
	T_CHECK(xenbus_device_remove(h, &spec, 0) == 0, "remove");
	T_CHECK(!xs_read(h, XBT_NULL, front, &n) && errno == ENOENT, "front dir gone");
	T_CHECK(!xs_read(h, XBT_NULL, back, &n) && errno == ENOENT, "back dir gone");
	T_CHECK(!xs_read(h, XBT_NULL, "/local/domain/2/backend/vbd/1", &n) && errno == ENOENT,
		"empty back parent gone");
	T_CHECK((v = xs_read(h, XBT_NULL, "/local/domain/2/backend/vbd", &n)), "vbd dir stays");
	free(v);
	T_CHECK(xenbus_device_remove(h, &spec, 0) == 0, "remove twice");

	T_CHECK(xenbus_device_add(h, &spec) == 0, "add again");
	T_CHECK(xenbus_device_remove(h, &spec, XENBUS_REMOVE_FORCE) == 0, "forced remove");
	T_CHECK(!xs_read(h, XBT_NULL, back, &n) && errno == ENOENT, "forced: back dir gone");
	xs_close(h);
	return T_PASS;
}
