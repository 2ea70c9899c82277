/* SPDX-License-Identifier: MIT */
/*
 * hash.c - a vif's receive-side hash and the control requests that set it (see hash.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/net/hash.h"
#include "backend/net/netback.h"

uint32_t netback_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf, size_t len)
{
	uint64_t window = 0; /* the key's next 64 bits, its left-most 32 in the upper half */
	uint32_t hash = 0;
	size_t next = 0;

	for (; next < 8; next++)
		window = window << 8 | (next < keylen ? key[next] : 0);
	for (size_t i = 0; i < len; i++, next++) {
		for (unsigned int bit = 0; bit < 8; bit++)
			if (buf[i] & (0x80u >> bit))
				hash ^= (uint32_t)(window >> (32 - bit));
		window = window << 8 | (next < keylen ? key[next] : 0);
	}
	return hash;
}

/* The 32 key bits from bit offset off (the key's left-most bit is 0). */
static uint32_t key_window(const uint8_t *key, unsigned int off)
{
	uint64_t w = 0;

	for (unsigned int i = 0; i < 5; i++) {
		unsigned int at = off / 8 + i;

		w = w << 8 | (at < NETBACK_HASH_KEY_MAX ? key[at] : 0);
	}
	return (uint32_t)(w >> (8 - off % 8));
}

void netback_hash_key(struct netback_hash *h, const uint8_t *key)
{
	memcpy(h->key, key, sizeof(h->key));
	h->table_stale = true;
}

/* The key's table, made again (under h->lock). */
static void table_build(struct netback_hash *h)
{
	const uint8_t *key = h->key;

	h->table_stale = false;
	for (unsigned int i = 0; i < 36; i++) {
		h->table[i][0] = 0;
		for (unsigned int b = 1; b < 256; b++) {
			unsigned int low = b & -b, bit = 7 - (unsigned int)__builtin_ctz(b);

			h->table[i][b] = h->table[i][b ^ low] ^ key_window(key, i * 8 + bit);
		}
	}
}

/* Toeplitz of buf[0..len) (len <= 36) by the key's table. */
static uint32_t table_hash(const struct netback_hash *h, const uint8_t *buf, size_t len)
{
	uint32_t v = 0;

	for (size_t i = 0; i < len; i++)
		v ^= h->table[i][buf[i]];
	return v;
}

int netback_hash_init(struct netback_hash *h, unsigned int nr_queues)
{
	memset(h, 0, sizeof(*h));
	if (!nr_queues)
		return -EINVAL;
	h->inbox = calloc(nr_queues, sizeof(*h->inbox));
	if (!h->inbox)
		return -ENOMEM;
	h->nr_queues = nr_queues;
	pthread_mutex_init(&h->lock, NULL);
	return 0;
}

void netback_hash_close(struct netback_hash *h)
{
	pthread_mutex_lock(&h->lock);
	h->closing = true;
	pthread_mutex_unlock(&h->lock);
}

unsigned int netback_hash_fini(struct netback_hash *h)
{
	struct netback_steered f;
	unsigned int freed = 0;

	if (!h->inbox)
		return 0;
	for (unsigned int q = 0; q < h->nr_queues; q++)
		while (netback_hash_take(h, q, &f)) {
			free(f.buf);
			freed++;
		}
	free(h->inbox);
	h->inbox = NULL;
	pthread_mutex_destroy(&h->lock);
	return freed;
}

/* ---- control requests ---- */

/* Copy len bytes from the start of the front's grant ref into dst: 0 or -EIO. */
static int copy_in(struct hv *hv, domid_t fe, grant_ref_t ref, void *dst, size_t len)
{
	struct hv_copy_seg seg = {
		.source.foreign = { .ref = ref, .offset = 0, .domid = fe },
		.dest.virt = dst,
		.len = (uint16_t)len,
		.flags = GNTCOPY_source_gref,
	};

	if (!len)
		return 0;
	if (hv_grant_copy(hv, 1, &seg) < 0 || seg.status != GNTST_okay)
		return -EIO;
	return 0;
}

static uint32_t set_flags(struct netback_hash *h, uint32_t flags)
{
	if (flags & ~(uint32_t)NETBACK_HASH_TYPES)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	/* As Linux: flags mean nothing without an algorithm. */
	if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	h->flags = flags;
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_key(struct netback_hash *h, struct hv *hv, domid_t fe, grant_ref_t ref,
			uint32_t len)
{
	uint8_t key[NETBACK_HASH_KEY_MAX] = { 0 };

	if (len > NETBACK_HASH_KEY_MAX)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	pthread_mutex_unlock(&h->lock); /* no lock across the hypervisor call */
	if (copy_in(hv, fe, ref, key, len)) {
		pthread_mutex_lock(&h->lock);
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
	pthread_mutex_lock(&h->lock);
	netback_hash_key(h, key);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_mapping_size(struct netback_hash *h, uint32_t size)
{
	if (size > NETBACK_HASH_MAPPING_MAX)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	h->size = size;
	memset(h->mapping, 0, sizeof(h->mapping));
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_mapping(struct netback_hash *h, struct hv *hv, domid_t fe, grant_ref_t ref,
			    uint32_t len, uint32_t off)
{
	uint32_t map[NETBACK_HASH_MAPPING_MAX];

	/* Bounded by the table before anything is copied: off + len cannot wrap past it. */
	if (off > h->size || len > h->size - off)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	pthread_mutex_unlock(&h->lock);
	if (copy_in(hv, fe, ref, map, (size_t)len * sizeof(map[0]))) {
		pthread_mutex_lock(&h->lock);
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
	pthread_mutex_lock(&h->lock);
	for (uint32_t i = 0; i < len; i++)
		if (map[i] >= h->nr_queues)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	/* The size may have changed meanwhile (one writer only, but stay safe). */
	if (off > h->size || len > h->size - off)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memcpy(&h->mapping[off], map, (size_t)len * sizeof(map[0]));
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_alg(struct netback_hash *h, uint32_t alg)
{
	if (alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
	    alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	h->alg = alg;
	atomic_store(&h->on, alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t netback_hash_ctrl(struct netback_hash *h, struct hv *hv, domid_t fe,
			   const struct xen_netif_ctrl_request *req, uint32_t *data)
{
	uint32_t status = XEN_NETIF_CTRL_STATUS_SUCCESS;

	*data = 0;
	pthread_mutex_lock(&h->lock);
	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
		if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
			status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		else
			*data = NETBACK_HASH_TYPES;
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		status = set_flags(h, req->data[0]);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
		status = set_key(h, hv, fe, req->data[0], req->data[1]);
		break;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		*data = NETBACK_HASH_MAPPING_MAX;
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		status = set_mapping_size(h, req->data[0]);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		status = set_mapping(h, hv, fe, req->data[0], req->data[1], req->data[2]);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		status = set_alg(h, req->data[0]);
		break;
	default: /* INVALID and the gref mapping messages, which Linux does not serve either */
		status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return status;
}

/* ---- hashing frames ---- */

/*
 * The bytes netif.h hashes for this frame under flags: their count (0: no type matched), the
 * type in *type.  IPv4 and IPv6 after at most one 802.1Q tag; TCP only in an unfragmented IPv4
 * packet or directly after the IPv6 header, as the flow dissector finds it.
 */
static size_t hash_input(const uint8_t *f, size_t len, uint32_t flags, uint8_t in[36],
			 uint8_t *type)
{
	size_t l3 = 14;
	uint16_t et;

	if (len < 14)
		return 0;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x8100 && len >= 18)
		et = (uint16_t)(f[16] << 8 | f[17]), l3 = 18;
	if (et == 0x0800 && len >= l3 + 20 && f[l3] >> 4 == 4) {
		size_t l4 = l3 + (f[l3] & 0xfu) * 4u;
		bool frag = (f[l3 + 6] & 0x3fu) | f[l3 + 7]; /* MF or an offset */

		memcpy(in, f + l3 + 12, 8);
		if ((flags & XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP) && f[l3 + 9] == 6 && !frag &&
		    l4 >= l3 + 20 && len >= l4 + 4) {
			memcpy(in + 8, f + l4, 4);
			*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
			return 12;
		}
		*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
		return flags & XEN_NETIF_CTRL_HASH_TYPE_IPV4 ? 8 : 0;
	}
	if (et == 0x86dd && len >= l3 + 40 && f[l3] >> 4 == 6) {
		memcpy(in, f + l3 + 8, 32);
		if ((flags & XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP) && f[l3 + 6] == 6 &&
		    len >= l3 + 44) {
			memcpy(in + 32, f + l3 + 40, 4);
			*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
			return 36;
		}
		*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
		return flags & XEN_NETIF_CTRL_HASH_TYPE_IPV6 ? 32 : 0;
	}
	return 0;
}

bool netback_hash_frame(struct netback_hash *h, const uint8_t *frame, size_t len,
			unsigned int *queue, bool *hashed, uint32_t *value, uint8_t *type)
{
	uint8_t in[36];
	size_t n;

	if (!atomic_load(&h->on))
		return false;
	pthread_mutex_lock(&h->lock);
	if (h->alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ) {
		pthread_mutex_unlock(&h->lock);
		return false;
	}
	n = hash_input(frame, len, h->flags, in, type);
	*hashed = n != 0;
	/* As Linux: a frame no type matches has hash 0. */
	if (n && h->table_stale)
		table_build(h);
	*value = n ? table_hash(h, in, n) : 0;
	*queue = h->size ? h->mapping[*value % h->size] : *value % h->nr_queues;
	pthread_mutex_unlock(&h->lock);
	return true;
}

/* ---- steering ---- */

int netback_hash_steer(struct netback_hash *h, unsigned int q, const uint8_t *buf, unsigned int len,
		       uint32_t value, uint8_t type)
{
	struct netback_inbox *in = &h->inbox[q];
	uint8_t *copy = malloc(NETBACK_VNET_HDR_LEN + (size_t)len);
	int ret = -ENOBUFS;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, NETBACK_VNET_HDR_LEN + (size_t)len);
	pthread_mutex_lock(&h->lock);
	if (!h->closing && q < h->nr_queues && in->len < NETBACK_STEER_MAX) {
		in->f[(in->head + in->len++) % NETBACK_STEER_MAX] =
		    (struct netback_steered){ copy, len, value, type };
		atomic_store(&in->queued, in->len); /* before the wake: the woken thread sees it */
		copy = NULL;
		ret = 0;
		if (h->wake)
			h->wake(h->wake_arg, q);
	}
	pthread_mutex_unlock(&h->lock);
	free(copy);
	return ret;
}

bool netback_hash_take(struct netback_hash *h, unsigned int q, struct netback_steered *f)
{
	struct netback_inbox *in = &h->inbox[q];
	bool got = false;

	if (!atomic_load(&in->queued)) /* the common case: no lock per frame read from the TAP */
		return false;
	pthread_mutex_lock(&h->lock);
	if (in->len) {
		*f = in->f[in->head];
		in->head = (in->head + 1) % NETBACK_STEER_MAX;
		in->len--;
		atomic_store(&in->queued, in->len);
		got = true;
	}
	pthread_mutex_unlock(&h->lock);
	return got;
}
