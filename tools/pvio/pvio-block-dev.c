/* SPDX-License-Identifier: MIT */
/*
 * pvio-block-dev.c - the virtual block devices a domain has: pvio block-detach and
 * pvio block-list.
 *
 * The front-end directory belongs to the guest, so what it says is checked: the back-end a
 * detach acts on must be a dom0-written back-end directory that names this very front-end, and
 * what block-list prints from it is parsed strictly (-1 when absent or malformed).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/pvio/pvio.h"
#include "xenbus/toolstack.h"
#include "xenbus/vdev.h"

static const char *const backend_kinds[] = { "vbd", "qdisk" };

bool pvio_backend_matches(struct xs_handle *xs, const struct xenbus_device_spec *spec)
{
	char path[256];
	uint32_t fe;

	return xenbus_backend_path(spec, path, sizeof(path)) == 0 &&
	       xenbus_read_u32_at(xs, XBT_NULL, path, "frontend-id", &fe) == 0 &&
	       fe == (uint32_t)spec->frontend_id;
}

/*
 * Fill spec for device devid of domain fe: its back-end domain from the front-end's
 * backend-id, its back-end kind from which back-end directory exists.  -ENOENT if the device
 * has no front-end directory; no back-end found leaves kind "vbd" (removal is then forced).
 */
static int detach_spec(struct xs_handle *xs, struct xenbus_device_spec *spec, bool *found)
{
	char front[128];
	uint32_t be;
	size_t i;
	int ret;

	ret = xenbus_frontend_path(spec, front, sizeof(front));
	if (ret == 0)
		ret = xenbus_read_u32_at(xs, XBT_NULL, front, "backend-id", &be);
	if (ret < 0)
		return ret;
	spec->backend_id = be < DOMID_FIRST_RESERVED ? (domid_t)be : 0;
	*found = false;
	for (i = 0; i < sizeof(backend_kinds) / sizeof(backend_kinds[0]) && !*found; i++) {
		spec->backend_kind = backend_kinds[i];
		*found = pvio_backend_matches(xs, spec);
	}
	if (!*found)
		spec->backend_kind = "vbd";
	return 0;
}

int pvio_device_detach(struct xs_handle *xs, struct xenbus_device_spec *spec, const char *vdev,
		       bool force)
{
	int ret;

	if (!force) {
		ret = xenbus_device_detach(xs, spec);
		if (ret < 0)
			return pvio_err(vdev, ret);
		ret = xenbus_device_wait_closed(xs, spec, PVIO_DETACH_TIMEOUT_MS);
		if (ret == -ETIMEDOUT)
			pvio_warn("%s: the back-end did not close within %u s; removing anyway",
				  vdev, PVIO_DETACH_TIMEOUT_MS / 1000);
		else if (ret < 0)
			return pvio_err(vdev, ret);
		force = ret < 0;
	} else {
		pvio_warn("%s: removing without waiting for the back-end", vdev);
	}
	ret = xenbus_device_remove(xs, spec, force ? XENBUS_REMOVE_FORCE : 0);
	return ret < 0 ? pvio_err(vdev, ret) : 0;
}

static const char detach_usage[] =
    "usage: pvio block-detach DOMAIN VDEV [--force]\n"
    "Ask the back-end to close, wait up to 10 s for it, and remove the device.\n"
    "  -f, --force   remove at once, without waiting for the back-end\n";

int pvio_cmd_block_detach(int argc, char **argv)
{
	struct xenbus_device_spec spec = { .kind = "vbd" };
	struct pvio_env env;
	struct xs_handle *xs;
	bool force, found;
	uint32_t devid;
	int ret = pvio_detach_args(argc, argv, detach_usage, &force);

	if (ret >= 0)
		return ret;
	if (pvio_vdev(argv[optind + 1], &devid) || pvio_env_init(&env, NULL, PVIO_ENV_CLIENT) ||
	    pvio_domain_lookup(&env, argv[optind], &spec.frontend_id) || pvio_xs_open(&env, &xs))
		return 1;
	spec.devid = devid;
	ret = detach_spec(xs, &spec, &found);
	if (ret == -ENOENT)
		ret = pvio_fail("%s: no such device in domain %s", argv[optind + 1], argv[optind]);
	else if (ret < 0)
		ret = pvio_err(argv[optind + 1], ret);
	else
		ret = pvio_device_detach(xs, &spec, argv[optind + 1], force || !found);
	xs_close(xs);
	return ret;
}

long pvio_xs_u32(struct xs_handle *xs, const char *dir, const char *key)
{
	uint32_t v;

	return xenbus_read_u32_at(xs, XBT_NULL, dir, key, &v) == 0 ? (long)v : -1;
}

void pvio_xs_backend(struct xs_handle *xs, const char *dir, char *buf, size_t len)
{
	char *v = NULL;
	size_t i;

	snprintf(buf, len, "-");
	if (xenbus_read_str_at(xs, XBT_NULL, dir, "backend", &v) < 0)
		return;
	for (i = 0; v[i] && isprint((unsigned char)v[i]) && v[i] != ' '; i++)
		;
	if (!v[i] && i < len)
		snprintf(buf, len, "%s", v);
	free(v);
}

static void list_one(struct xs_handle *xs, const char *base, const char *entry, domid_t fe)
{
	char dir[256], backend[256];
	uint32_t devid;

	if (xenbus_parse_u32(entry, UINT32_MAX, &devid) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/%u", base, devid);
	pvio_xs_backend(xs, dir, backend, sizeof(backend));
	printf("%-5u %-3ld %-6u %-5ld %-6ld %-8ld %s\n", devid, pvio_xs_u32(xs, dir, "backend-id"),
	       (unsigned int)fe, pvio_xs_u32(xs, dir, "state"),
	       pvio_xs_u32(xs, dir, "event-channel"), pvio_xs_u32(xs, dir, "ring-ref"), backend);
}

static const char list_usage[] = "usage: pvio block-list DOMAIN\n"
				 "List the domain's virtual block devices, as xl block-list.\n";

int pvio_list_devices(int argc, char **argv, const char *usage, const char *kind,
		      const char *header, pvio_list_fn *one)
{
	struct pvio_env env;
	struct xs_handle *xs;
	unsigned int i, n = 0;
	char base[64], **ents;
	domid_t fe;
	int opt;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (argc - optind != 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT) ||
	    pvio_domain_lookup(&env, argv[optind], &fe) || pvio_xs_open(&env, &xs))
		return 1;
	snprintf(base, sizeof(base), "/local/domain/%u/device/%s", (unsigned int)fe, kind);
	ents = xs_directory(xs, XBT_NULL, base, &n);
	printf("%s\n", header);
	for (i = 0; ents && i < n; i++)
		one(xs, base, ents[i], fe);
	free(ents);
	xs_close(xs);
	return 0;
}

int pvio_cmd_block_list(int argc, char **argv)
{
	return pvio_list_devices(argc, argv, list_usage, "vbd",
				 "Vdev  BE  handle state evt-ch ring-ref BE-path", list_one);
}
