/* SPDX-License-Identifier: MIT */
/*
 * keys-fuzz.c - a libFuzzer target for pvio-blkback's connect-time parsing of what a front-end
 * writes into its own xenstore directory (backend/blk/xenbus.c through xenbus/xenbus.c): every
 * key is hostile (ring-ref, ring-refN, event-channel, multi-queue-num-queues, ring-page-order,
 * protocol, feature-persistent, queue-N/..., state), written, changed and removed in any order
 * around the front's state changes.  Built and run by tests/blk-keys-fuzz.sh, not by make.
 *
 * The seams are fakes of our own: xenstore is tests/fuzz-xs.h's in-memory table (no
 * watches: the input says when the front's state changed), the disk never opens a file, and
 * the ring is only recorded by blkback_ring_attach (backend/blk/req-fuzz.c fuzzes its data
 * path).
 *
 * Input: 1 header byte (max queues 1..8; max ring order 0..3; bit 6: no persistent grants),
 * then commands (low 2 bits of a byte):
 *   0 write a front key (key bytes, then the value: a length byte whose bit 7 asks for the
 *     decimal of the next 4 bytes instead of the raw bytes)
 *   1 remove a front key (key bytes)
 *   2 the front's state (1 byte, written as a number), then blkback_dev_otherend_changed
 *   3 the toolstack touched the back-end directory: blkback_dev_backend_changed
 * A key: a name byte (low 4 bits: which; bit 7: under queue-Q/) and an index byte (Q in the
 * top 4 bits, the N of ring-refN in the low 4).
 *
 * Checked beyond the sanitizers: a ring is attached only with an order and a queue count
 * within what the back-end advertised, only with every ring-ref the order asks for, and never
 * while the front names another protocol than the native one; every port bound and every ring
 * attached is released, and the disk closed, once the device is destroyed.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/protocols.h>

#include "backend/blk/xenbus.h"
#include "tests/fuzz-xs.h"

#define NODE	 "/local/domain/0/backend/vbd/1/51712"
#define FRONT	 "/local/domain/1/device/vbd/51712"
#define MAXRINGS 64u

/* ---- the hypervisor, the disk and the rings ---- */

static unsigned int bound, rings, disks;
static struct blkback_dev_opts opts;

int hv_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port)
{
	(void)hv, (void)remote, (void)remote_port;
	*port = ++bound;
	return 0;
}

int hv_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	(void)hv;
	if (!port || !bound)
		abort(); /* a port never bound */
	bound--;
	return 0;
}

int blkback_disk_open_beneath(struct blkback_disk *d, const struct blkback_storage *s,
			      const char *path, bool readonly)
{
	(void)s, (void)path;
	if (d->fd >= 0)
		abort(); /* opened twice */
	memset(d, 0, sizeof(*d));
	d->fd = 1000;
	d->readonly = readonly;
	d->sectors = 2048;
	d->sector_size = d->physical_sector_size = 512;
	disks++;
	return 0;
}

void blkback_disk_close(struct blkback_disk *d)
{
	if (d->fd < 0)
		return;
	d->fd = -1;
	disks--;
}

/* Whether the front currently names a protocol other than ours. */
static bool foreign_protocol(void)
{
	struct node *n = node_find(FRONT "/protocol");

	return n && strcmp(n->val, XEN_IO_PROTO_ABI_NATIVE);
}

int blkback_ring_attach(struct blkback_ring **rp, struct hv *hv,
			const struct blkback_ring_params *p)
{
	(void)hv;
	if (p->order > opts.max_ring_order || rings >= opts.max_queues || foreign_protocol())
		abort(); /* beyond what was advertised, or a protocol refused */
	for (unsigned int i = 0; i < 1u << p->order; i++)
		if (p->refs[i] == 0xdeadbeef)
			abort(); /* reads every reference: ASan checks the array */
	rings++;
	*rp = (struct blkback_ring *)(uintptr_t)rings; /* never dereferenced here */
	return 0;
}

/* A re-attach prepares ahead: the same checks, the ring counted once, at prepare. */
int blkback_ring_prepare(struct blkback_ring **rp, struct hv *hv,
			 const struct blkback_ring_params *p)
{
	return blkback_ring_attach(rp, hv, p);
}

int blkback_ring_start(struct blkback_ring *r, const struct blkback_ring_params *p)
{
	(void)r, (void)p;
	return 0;
}

void blkback_grants_remove(int dirfd, const char *name)
{
	(void)dirfd, (void)name;
}

void blkback_ring_detach(struct blkback_ring *r)
{
	if (r && !rings--)
		abort();
}

int blkback_ring_quiesce(struct blkback_ring *r)
{
	(void)r;
	return 0;
}

void blkback_ring_stats(const struct blkback_ring *r, struct blkback_stats *st)
{
	(void)r;
	memset(st, 0, sizeof(*st));
}

void blkback_stats_add(struct blkback_stats *sum, const struct blkback_stats *st)
{
	(void)sum, (void)st;
}

/* ---- the front ---- */

static const char *const key_names[16] = {
	"ring-ref",	   "ring-ref%u",
	"event-channel",   "multi-queue-num-queues",
	"ring-page-order", "num-ring-pages",
	"protocol",	   "feature-persistent",
	"state",	   "event-channel-tx",
	"ring-ref%u",	   "ring-ref%u",
	"event-channel",   "multi-queue-num-queues",
	"ring-page-order", "protocol",
};

/* The path of the key 2 input bytes name. */
static void key_path(const uint8_t *in, char *path, size_t len)
{
	char name[32];
	unsigned int q = in[1] >> 4;

	snprintf(name, sizeof(name), key_names[in[0] & 15], in[1] & 15u);
	if (in[0] & 0x80)
		snprintf(path, len, FRONT "/queue-%u/%s", q, name);
	else
		snprintf(path, len, FRONT "/%s", name);
}

/* Write a front key: 2 key bytes, a length byte, the value.  Bytes used, or 0 when short. */
static size_t key_write(const uint8_t *in, size_t n)
{
	char path[PATHLEN], num[16];
	size_t len;

	if (n < 3)
		return 0;
	key_path(in, path, sizeof(path));
	len = in[2] & 0x7f;
	if (in[2] & 0x80) { /* a number, where most of the checks are */
		uint32_t v;

		if (n < 7)
			return 0;
		memcpy(&v, in + 3, 4);
		snprintf(num, sizeof(num), "%u", v % 4 == 0 ? v : v % 20);
		node_set(path, num, strlen(num));
		return 7;
	}
	if (len > n - 3)
		len = n - 3;
	node_set(path, (const char *)in + 3, len);
	return 3 + len;
}

static void quiet_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		       const char *fmt, va_list ap)
{
	(void)log, (void)level, (void)prefix, (void)fmt, (void)ap;
}

static struct pvio_log quiet = { quiet_vlog, PVIO_LOG_ERROR };

/* The store as the toolstack leaves it for a new vbd with the front Initialising. */
static void store_setup(void)
{
	static const char *const init[][2] = {
		{ NODE "/frontend", FRONT }, { NODE "/frontend-id", "1" },
		{ NODE "/params", "disk" },  { NODE "/mode", "w" },
		{ NODE "/online", "1" },     { NODE "/state", "1" },
		{ FRONT "/backend", NODE },  { FRONT "/backend-id", "0" },
		{ FRONT "/state", "1" },
	};

	nnodes = 0;
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		node_set(init[i][0], init[i][1], strlen(init[i][1]));
}

/* The commands; 1 once the device is finished. */
static int run(struct blkback_dev *dev, const uint8_t *d, size_t n)
{
	while (n > 0) {
		uint8_t c = *d++;
		char path[PATHLEN], num[8];
		size_t used = 0;
		int ret = 0;

		n--;
		switch (c & 3) {
		case 0:
			if (!(used = key_write(d, n)))
				return 0;
			break;
		case 1:
			if (n < 2)
				return 0;
			key_path(d, path, sizeof(path));
			node_rm(path);
			used = 2;
			break;
		case 2:
			if (n < 1)
				return 0;
			snprintf(num, sizeof(num), "%u", d[0] % 10u);
			node_set(FRONT "/state", num, strlen(num));
			used = 1;
			ret = blkback_dev_otherend_changed(dev);
			break;
		case 3:
			ret = blkback_dev_backend_changed(dev);
			break;
		}
		if (ret)
			return 1;
		d += used, n -= used;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blkback_dev *dev;

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.max_queues = (data[0] & 7u) + 1;
	opts.max_ring_order = data[0] >> 3 & 3u;
	opts.no_persistent = data[0] & 0x40;
	opts.log = &quiet;
	opts.poll_mode = RING_POLL_OFF;
	store_setup();
	bound = rings = disks = 0;
	if (blkback_dev_create(&dev, (struct xs_handle *)&nodes, (struct hv *)&nodes, NODE, &opts))
		abort();
	blkback_dev_start(dev);
	run(dev, data + 1, size - 1);
	blkback_dev_destroy(dev, true);
	if (bound || rings || disks)
		abort(); /* a port, a ring or the disk left behind */
	return 0;
}
