/* SPDX-License-Identifier: MIT */
/*
 * pvio-network.c - pvio network-attach, network-detach and network-list: virtual network
 * interfaces written to xenstore as libxl writes a vif (xenbus/toolstack.h), for
 * pvio-netback(8) to serve and a front-end such as pvio-netfront(8) to use.
 *
 * VIFSPEC is the key=value subset of xl-network-configuration(5) that applies here.  The
 * front-end directory belongs to the guest: what network-list prints from it is checked, and a
 * detach acts only on a back-end directory that names this very front-end.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tools/pvio/pvio.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

/* Devices a domain may have (libxl has no fixed limit; xenstore's quota bounds it). */
#define VIF_DEVID_MAX 0xffffu

/* A parsed VIFSPEC. */
struct vif {
	char mac[18];	     /* xx:xx:xx:xx:xx:xx: given, or 00:16:3e and random, as xl */
	const char *bridge;  /* bridge=, or NULL */
	char rate[48];	     /* "bytes,usec" as libxl writes rate=, or "" */
	const char *backend; /* backend domain, name or id; NULL: 0 */
	const char *ip;	     /* ip=, stored for the scripts, or NULL */
	const char *script;  /* script=, stored, or NULL (pvio-netback runs none) */
	const char *mtu;     /* mtu=, or NULL */
	long devid;	     /* devid=, or -1: the first free */
};

/* bytes/s from "<n>[KMG]{B,b}/s" (b: bits), as xl's rate: 0, or 1 after printing why. */
static int rate_bytes(const char *s, char **end, uint64_t *bps)
{
	unsigned long long n = strtoull(s, end, 10), mul = 1;
	char *p = *end;

	if (p == s || *s == '-')
		return pvio_fail("rate=%s: no number", s);
	if (*p == 'K' || *p == 'k')
		mul = 1000, p++;
	else if (*p == 'M')
		mul = 1000000, p++;
	else if (*p == 'G')
		mul = 1000000000, p++;
	if ((*p != 'B' && *p != 'b') || strncmp(p + 1, "/s", 2))
		return pvio_fail("rate=%s: not like 10Mb/s or 100KB/s", s);
	if (n > UINT64_MAX / mul)
		return pvio_fail("rate=%s: too large", s);
	*bps = *p == 'b' ? n * mul / 8 : n * mul;
	*end = p + 3;
	return 0;
}

/* rate=RATE[@INTERVAL] into libxl's "bytes per interval,interval in us" (default 50 ms). */
static int vif_rate(struct vif *v, const char *s)
{
	unsigned long long usec = 50000, n;
	uint64_t bps = 0;
	char *p, *q;

	if (rate_bytes(s, &p, &bps))
		return 1;
	if (*p == '@') {
		n = strtoull(p + 1, &q, 10);
		if (q == p + 1 || p[1] == '-' || n > 1000000000ull)
			return pvio_fail("rate=%s: bad interval", s);
		if (!strcmp(q, "s"))
			usec = n * 1000000;
		else if (!strcmp(q, "ms"))
			usec = n * 1000;
		else if (!strcmp(q, "us"))
			usec = n;
		else
			return pvio_fail("rate=%s: the interval is in s, ms or us", s);
	} else if (*p) {
		return pvio_fail("rate=%s: junk after the rate", s);
	}
	if (!usec || usec > 0xffffffffull || bps / 1000000 > UINT64_MAX / usec)
		return pvio_fail("rate=%s: out of range", s);
	snprintf(v->rate, sizeof(v->rate), "%llu,%llu",
		 (unsigned long long)(bps / 1000000 * usec + bps % 1000000 * usec / 1000000), usec);
	return 0;
}

static int vif_mac(struct vif *v, const char *s)
{
	uint8_t m[6];

	if (xenbus_parse_mac(s, m) < 0 || (m[0] & 1))
		return pvio_fail("mac=%s: not a unicast xx:xx:xx:xx:xx:xx", s);
	snprintf(v->mac, sizeof(v->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
	return 0;
}

/* One key=value. */
static int vif_key(struct vif *v, const char *key, const char *val)
{
	uint32_t n;

	if (!strcmp(key, "mac"))
		return vif_mac(v, val);
	if (!strcmp(key, "rate"))
		return vif_rate(v, val);
	if (!strcmp(key, "devid")) {
		if (xenbus_parse_u32(val, VIF_DEVID_MAX, &n) < 0)
			return pvio_fail("devid=%s: not 0..%u", val, VIF_DEVID_MAX);
		v->devid = n;
	} else if (!strcmp(key, "mtu")) {
		if (xenbus_parse_u32(val, 65535, &n) < 0 || n < 68)
			return pvio_fail("mtu=%s: not 68..65535", val);
		v->mtu = val;
	} else if (!strcmp(key, "bridge")) {
		v->bridge = val;
	} else if (!strcmp(key, "backend")) {
		v->backend = val;
	} else if (!strcmp(key, "ip")) {
		v->ip = val;
	} else if (!strcmp(key, "script")) {
		v->script = val;
	} else if (!strcmp(key, "type") && strcmp(val, "vif")) {
		return pvio_fail("type=%s: only vif", val);
	} else if (strcmp(key, "type")) {
		return pvio_fail("%s: unknown or unsupported vif spec key", key);
	}
	return 0;
}

/* One item: KEY=VALUE; an empty one (an empty spec, a trailing comma) says nothing. */
static int vif_item(void *arg, const char *key, const char *val)
{
	if (!key)
		return *val ? pvio_fail("%s: not key=value", val) : 0;
	return vif_key(arg, key, val);
}

/* Split spec (modified in place) into v; a random 00:16:3e MAC unless one is given. */
static int vif_parse(char *spec, struct vif *v)
{
	static const struct pvio_spec_syntax syn = { vif_item, NULL, NULL };
	uint8_t r[3] = { 0 };
	int ret = pvio_spec_parse(spec, &syn, v);

	if (ret == 0 && !v->mac[0]) {
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return pvio_err("random MAC", -errno);
		snprintf(v->mac, sizeof(v->mac), "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1],
			 r[2]);
	}
	return ret;
}

/* The first devid with no front-end directory in domain fe. */
static long vif_free_devid(struct xs_handle *xs, domid_t fe)
{
	char path[96];
	unsigned int len;

	for (long id = 0; id <= (long)VIF_DEVID_MAX; id++) {
		void *p;

		snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%ld", fe, id);
		p = xs_read(xs, XBT_NULL, path, &len);
		if (!p)
			return id;
		free(p);
	}
	return -1;
}

/* Write the two directories. */
static int vif_write(const struct pvio_env *env, struct vif *v, domid_t fe, domid_t be)
{
	char handle[24];
	struct xenbus_kv front[4] = { { "handle", handle }, { "mac", v->mac }, { "trusted", "1" } };
	struct xenbus_kv back[9] = { { "handle", handle }, { "mac", v->mac }, { "type", "vif" } };
	struct xenbus_device_spec spec = { .kind = "vif",
					   .frontend_id = fe,
					   .backend_id = be,
					   .front_extra = front,
					   .n_front_extra = 3,
					   .back_extra = back,
					   .n_back_extra = 3 };
	struct xs_handle *xs;
	int ret;

	if (v->mtu)
		front[spec.n_front_extra++] = back[spec.n_back_extra++] =
		    (struct xenbus_kv){ "mtu", v->mtu };
	if (v->bridge)
		back[spec.n_back_extra++] = (struct xenbus_kv){ "bridge", v->bridge };
	if (v->rate[0])
		back[spec.n_back_extra++] = (struct xenbus_kv){ "rate", v->rate };
	if (v->ip)
		back[spec.n_back_extra++] = (struct xenbus_kv){ "ip", v->ip };
	if (v->script)
		back[spec.n_back_extra++] = (struct xenbus_kv){ "script", v->script };
	if (pvio_xs_open(env, &xs))
		return 1;
	if (v->devid < 0)
		v->devid = vif_free_devid(xs, fe);
	spec.devid = (unsigned int)v->devid;
	snprintf(handle, sizeof(handle), "%ld", v->devid);
	ret = v->devid < 0 ? -ENOSPC : xenbus_device_add(xs, &spec);
	xs_close(xs);
	if (ret == -EEXIST)
		return pvio_fail("vif %ld: domain %u already has this device", v->devid, fe);
	return ret < 0 ? pvio_err("vif", ret) : 0;
}

static const char attach_usage[] =
    "usage: pvio network-attach DOMAIN [VIFSPEC]\n"
    "VIFSPEC: mac=XX:XX:XX:XX:XX:XX, bridge=BRIDGE, rate=10Mb/s[@50ms], backend=DOMAIN,\n"
    "devid=N, mtu=N, ip=ADDR, script=PATH, type=vif.  Prints the device id.\n";

int pvio_cmd_network_attach(int argc, char **argv)
{
	struct vif v = { .devid = -1 };
	struct pvio_env env;
	domid_t fe, be;
	char *spec;
	int ret = pvio_attach_args(argc, argv, attach_usage, true);

	if (ret >= 0)
		return ret;
	spec = strdup(argc - optind == 2 ? argv[optind + 1] : "");
	if (!spec)
		return pvio_err("vif spec", -ENOMEM);
	ret = vif_parse(spec, &v);
	if (ret == 0)
		ret = pvio_attach_domains(&env, argv[optind], v.backend, &fe, &be);
	if (ret == 0)
		ret = vif_write(&env, &v, fe, be);
	if (ret == 0)
		printf("%ld\n", v.devid);
	free(spec);
	return ret;
}

/* The device of domain spec->frontend_id whose devid or front-end mac is what: 0 or 1. */
static int vif_find(struct xs_handle *xs, struct xenbus_device_spec *spec, const char *what)
{
	char base[64], dir[96], *mac;
	uint8_t want[6], have[6];
	unsigned int n = 0;
	uint32_t id;
	char **ents;
	bool by_mac = xenbus_parse_mac(what, want) == 0;

	if (!by_mac && xenbus_parse_u32(what, VIF_DEVID_MAX, &id) < 0)
		return pvio_fail("%s: neither a device id nor a MAC address", what);
	snprintf(base, sizeof(base), "/local/domain/%u/device/vif", spec->frontend_id);
	ents = xs_directory(xs, XBT_NULL, base, &n);
	for (unsigned int i = 0; ents && i < n; i++) {
		uint32_t d;

		if (xenbus_parse_u32(ents[i], VIF_DEVID_MAX, &d) < 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%u", base, d);
		if (by_mac && xenbus_read_str_at(xs, XBT_NULL, dir, "mac", &mac) == 0) {
			if (xenbus_parse_mac(mac, have) == 0 && !memcmp(have, want, 6))
				id = d, by_mac = false;
			free(mac);
		}
		if (!by_mac && d == id) {
			free(ents);
			spec->devid = d;
			return 0;
		}
	}
	free(ents);
	return pvio_fail("%s: no such vif in domain %u", what, spec->frontend_id);
}

static const char detach_usage[] =
    "usage: pvio network-detach DOMAIN DEVID|MAC [--force]\n"
    "Ask the back-end to close, wait up to 10 s for it, and remove the vif.\n"
    "  -f, --force   remove at once, without waiting for the back-end\n";

int pvio_cmd_network_detach(int argc, char **argv)
{
	struct xenbus_device_spec spec = { .kind = "vif" };
	struct pvio_env env;
	struct xs_handle *xs;
	bool force;
	char front[96], what[32];
	uint32_t be = 0;
	int ret = pvio_detach_args(argc, argv, detach_usage, &force);

	if (ret >= 0)
		return ret;
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT) ||
	    pvio_domain_lookup(&env, argv[optind], &spec.frontend_id) || pvio_xs_open(&env, &xs))
		return 1;
	ret = vif_find(xs, &spec, argv[optind + 1]);
	if (ret == 0 && xenbus_frontend_path(&spec, front, sizeof(front)) == 0 &&
	    xenbus_read_u32_at(xs, XBT_NULL, front, "backend-id", &be) == 0)
		spec.backend_id = be < DOMID_FIRST_RESERVED ? (domid_t)be : 0;
	snprintf(what, sizeof(what), "vif %u", spec.devid);
	if (ret == 0)
		ret =
		    pvio_device_detach(xs, &spec, what, force || !pvio_backend_matches(xs, &spec));
	xs_close(xs);
	return ret;
}

/* The front's mac if it is one, else "-". */
static void list_mac(struct xs_handle *xs, const char *dir, char *buf, size_t len)
{
	uint8_t m[6];
	char *v;

	snprintf(buf, len, "-");
	if (xenbus_read_str_at(xs, XBT_NULL, dir, "mac", &v) < 0)
		return;
	if (xenbus_parse_mac(v, m) == 0)
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
			 m[5]);
	free(v);
}

/* A queue key: in dir, else in dir/queue-0 (multi-queue). */
static long list_queue_u32(struct xs_handle *xs, const char *dir, const char *key)
{
	char q0[160];
	long v = pvio_xs_u32(xs, dir, key);

	snprintf(q0, sizeof(q0), "%s/queue-0", dir);
	return v >= 0 ? v : pvio_xs_u32(xs, q0, key);
}

static void list_one(struct xs_handle *xs, const char *base, const char *entry, domid_t fe)
{
	char dir[128], backend[256], mac[18];
	long evt;
	uint32_t devid;

	if (xenbus_parse_u32(entry, VIF_DEVID_MAX, &devid) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/%u", base, devid);
	pvio_xs_backend(xs, dir, backend, sizeof(backend));
	list_mac(xs, dir, mac, sizeof(mac));
	evt = list_queue_u32(xs, dir, "event-channel");
	if (evt < 0)
		evt = list_queue_u32(xs, dir, "event-channel-tx");
	printf("%-3u %-3ld %-17s %-6u %-5ld %-6ld %ld/%-12ld %s\n", devid,
	       pvio_xs_u32(xs, dir, "backend-id"), mac, (unsigned int)fe,
	       pvio_xs_u32(xs, dir, "state"), evt, list_queue_u32(xs, dir, "tx-ring-ref"),
	       list_queue_u32(xs, dir, "rx-ring-ref"), backend);
}

static const char list_usage[] =
    "usage: pvio network-list DOMAIN\n"
    "List the domain's virtual network interfaces, as xl network-list.\n";

int pvio_cmd_network_list(int argc, char **argv)
{
	return pvio_list_devices(
	    argc, argv, list_usage, "vif",
	    "Idx BE  Mac Addr.         handle state evt-ch tx-/rx-ring-ref BE-path", list_one);
}
