/* SPDX-License-Identifier: MIT */
/*
 * net-hash.c - netback's receive hash (backend/net/hash.h) without a hypervisor: Toeplitz
 * against the RSS verification vectors (the standard 40-byte key, IPv4 and IPv6 with and
 * without TCP ports) and against netif.h's own reference code over random input; the control
 * requests' status codes and bounds (flags before an algorithm, unknown flags, algorithms and
 * types, key and table sizes, offsets that wrap, queue indexes past the last queue) as Linux
 * netback answers them; frames hashed from their headers to the queue the table names,
 * through a VLAN tag, with a fragment and a frame of no IP hashing to 0; the per-key lookup
 * table frames are hashed with against the reference; the steering inbox's bound.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XEN_NETIF_DEFINE_TOEPLITZ
#include "backend/net/hash.h"
#include "backend/net/netback.h"
#include "tests/helpers.h"

static const uint8_t rss_key[40] = { 0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				     0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				     0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				     0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };

struct v4 {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint32_t ip, tcp;
};

/* Microsoft's "Verifying the RSS Hash Calculation" table. */
static const struct v4 v4s[] = {
	{ { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766, 0x323e8fc2, 0x51ccc178 },
	{ { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739, 0xd718262a, 0xc626b0ea },
	{ { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
	{ { 38, 27, 205, 30 }, { 209, 142, 163, 6 }, 48228, 2217, 0x82989176, 0xafc7327f },
	{ { 153, 39, 163, 191 }, { 202, 188, 127, 2 }, 44251, 1303, 0x5d1809c5, 0x10e828a2 },
};

struct v6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t ip, tcp;
};

static const struct v6 v6s[] = {
	{ { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7 },
	  { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1 },
	  2794,
	  1766,
	  0x2cc18cd5,
	  0x40207d3d },
	{ { 0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef,
	    0xab },
	  { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	  14230,
	  4739,
	  0x0f0c461c,
	  0xdde51bbf },
	{ { 0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21,
	    0x67, 0xcf },
	  { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
	  44251,
	  38024,
	  0x4b61e985,
	  0x02d1feef },
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int vectors(void)
{
	uint8_t in[36];

	for (size_t i = 0; i < sizeof(v4s) / sizeof(v4s[0]); i++) {
		memcpy(in, v4s[i].src, 4);
		memcpy(in + 4, v4s[i].dst, 4);
		put16(in + 8, v4s[i].sport);
		put16(in + 10, v4s[i].dport);
		T_CHECK(netback_toeplitz(rss_key, 40, in, 8) == v4s[i].ip, "IPv4 vector %zu: %#x",
			i, netback_toeplitz(rss_key, 40, in, 8));
		T_CHECK(netback_toeplitz(rss_key, 40, in, 12) == v4s[i].tcp, "TCPv4 vector %zu", i);
	}
	for (size_t i = 0; i < sizeof(v6s) / sizeof(v6s[0]); i++) {
		memcpy(in, v6s[i].src, 16);
		memcpy(in + 16, v6s[i].dst, 16);
		put16(in + 32, v6s[i].sport);
		put16(in + 34, v6s[i].dport);
		T_CHECK(netback_toeplitz(rss_key, 40, in, 32) == v6s[i].ip, "IPv6 vector %zu: %#x",
			i, netback_toeplitz(rss_key, 40, in, 32));
		T_CHECK(netback_toeplitz(rss_key, 40, in, 36) == v6s[i].tcp, "TCPv6 vector %zu", i);
	}
	return 0;
}

/* Against netif.h's reference code: random keys of every length, random input. */
static int reference(void)
{
	uint8_t key[40], in[36];

	srand(1);
	for (unsigned int n = 0; n < 2000; n++) {
		unsigned int klen = n % 41, len = n % 37;

		for (unsigned int i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)rand();
		for (unsigned int i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)rand();
		T_CHECK(netback_toeplitz(key, klen, in, len) ==
			    xen_netif_toeplitz_hash(key, klen, in, len),
			"key %u bytes, input %u bytes", klen, len);
	}
	return 0;
}

static uint32_t ctrl(struct netback_hash *h, uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2,
		     uint32_t *data)
{
	struct xen_netif_ctrl_request req = { .id = 1, .type = type, .data = { d0, d1, d2 } };
	uint32_t scratch;

	/* No grant is copied in this test: every key and table here is empty or refused first. */
	return netback_hash_ctrl(h, NULL, 1, &req, data ? data : &scratch);
}

#define OK  XEN_NETIF_CTRL_STATUS_SUCCESS
#define BAD XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define NOT XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED

static int requests(void)
{
	struct netback_hash h;
	uint32_t data;

	T_CHECK(netback_hash_init(&h, 4) == 0, "init");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, NULL) == NOT,
		"flags before an algorithm");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1, 0, 0, NULL) == BAD,
		"set flags before an algorithm");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0, NULL) == BAD,
		"unknown algorithm");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 1, 0, 0, NULL) == OK, "Toeplitz");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data) == OK &&
		    data == NETBACK_HASH_TYPES,
		"flags %#x", data);
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0, NULL) == BAD,
		"unknown flag");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, NETBACK_HASH_TYPES, 0, 0, NULL) == OK,
		"set flags");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 5, 41, 0, NULL) == BAD, "key of 41");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 5, 0xffffffff, 0, NULL) == BAD,
		"key of 2^32-1");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 5, 0, 0, NULL) == OK, "empty key");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data) == OK &&
		    data == NETBACK_HASH_MAPPING_MAX,
		"mapping size %u", data);
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0, NULL) == BAD,
		"table of 129");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0, NULL) == OK,
		"table of 8");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 5, 9, 0, NULL) == BAD,
		"9 entries of 8");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 5, 2, 7, NULL) == BAD,
		"2 entries at 7 of 8");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 5, 2, 0xffffffff, NULL) == BAD,
		"offset that wraps");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 5, 0xffffffff, 2, NULL) == BAD,
		"size that wraps");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 5, 0, 8, NULL) == OK,
		"no entries at the end");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_INVALID, 0, 0, 0, NULL) == NOT, "type 0");
	T_CHECK(ctrl(&h, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, 0, 0, NULL) == NOT,
		"gref mapping");
	T_CHECK(ctrl(&h, 0xffff, 0, 0, 0, NULL) == NOT, "type 0xffff");
	T_CHECK(h.size == 8 && h.flags == NETBACK_HASH_TYPES, "state after the refusals");
	netback_hash_fini(&h);
	return 0;
}

/* A TCPv4 frame of the first vector, tagged when vlan, a fragment when frag. */
static size_t v4_frame(uint8_t *f, bool vlan, bool frag)
{
	size_t l3 = vlan ? 18 : 14;

	memset(f, 0, 80);
	put16(f + 12, vlan ? 0x8100 : 0x0800);
	if (vlan)
		put16(f + 16, 0x0800);
	f[l3] = 0x45;
	f[l3 + 6] = frag ? 0x20 : 0x40; /* MF, else DF */
	f[l3 + 9] = 6;
	memcpy(f + l3 + 12, v4s[0].src, 4);
	memcpy(f + l3 + 16, v4s[0].dst, 4);
	put16(f + l3 + 20, v4s[0].sport);
	put16(f + l3 + 22, v4s[0].dport);
	return l3 + 40;
}

static int frames(void)
{
	struct netback_hash h;
	uint8_t f[80];
	unsigned int q;
	uint32_t v;
	uint8_t type;
	bool hashed;
	size_t len;

	T_CHECK(netback_hash_init(&h, 4) == 0, "init");
	T_CHECK(!netback_hash_frame(&h, f, v4_frame(f, false, false), &q, &hashed, &v, &type),
		"hashed without an algorithm");
	h.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	atomic_store(&h.on, true);
	netback_hash_key(&h, rss_key);
	h.flags = NETBACK_HASH_TYPES;
	h.size = 8;
	for (unsigned int i = 0; i < 8; i++)
		h.mapping[i] = i % 4;
	len = v4_frame(f, false, false);
	T_CHECK(netback_hash_frame(&h, f, len, &q, &hashed, &v, &type) && hashed &&
		    v == v4s[0].tcp && type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP &&
		    q == (v4s[0].tcp % 8) % 4,
		"TCPv4: %#x type %u queue %u", v, type, q);
	len = v4_frame(f, true, false);
	T_CHECK(netback_hash_frame(&h, f, len, &q, &hashed, &v, &type) && hashed && v == v4s[0].tcp,
		"tagged TCPv4: %#x", v);
	len = v4_frame(f, false, true);
	T_CHECK(netback_hash_frame(&h, f, len, &q, &hashed, &v, &type) && hashed &&
		    v == v4s[0].ip && type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4,
		"a fragment hashes its addresses only: %#x", v);
	h.flags = XEN_NETIF_CTRL_HASH_TYPE_IPV6;
	len = v4_frame(f, false, false);
	T_CHECK(netback_hash_frame(&h, f, len, &q, &hashed, &v, &type) && !hashed && v == 0 &&
		    q == h.mapping[0],
		"IPv4 with IPv6 flags only: hashed %d value %#x queue %u", hashed, v, q);
	h.flags = NETBACK_HASH_TYPES;
	T_CHECK(netback_hash_frame(&h, f, 20, &q, &hashed, &v, &type) && !hashed,
		"a truncated header");
	netback_hash_fini(&h);
	return 0;
}

/*
 * The per-key table netback_hash_frame hashes with against the bit-by-bit reference: random
 * keys, random IPv6 TCP frames (the longest input, 36 bytes).
 */
static int table(void)
{
	struct netback_hash h;
	uint8_t key[40], f[80] = { 0 };
	unsigned int q;
	uint32_t v;
	uint8_t type;
	bool hashed;

	T_CHECK(netback_hash_init(&h, 1) == 0, "init");
	h.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	atomic_store(&h.on, true);
	h.flags = NETBACK_HASH_TYPES;
	put16(f + 12, 0x86dd);
	f[14] = 0x60;
	f[20] = 6; /* next header: TCP */
	srand(2);
	for (unsigned int n = 0; n < 200; n++) {
		for (unsigned int i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)rand();
		for (unsigned int i = 22; i < 58; i++) /* addresses and ports */
			f[i] = (uint8_t)rand();
		netback_hash_key(&h, key);
		T_CHECK(netback_hash_frame(&h, f, sizeof(f), &q, &hashed, &v, &type) && hashed &&
			    type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP &&
			    v == netback_toeplitz(key, sizeof(key), f + 22, 36),
			"round %u: %#x, want %#x", n, v,
			netback_toeplitz(key, sizeof(key), f + 22, 36));
	}
	netback_hash_fini(&h);
	return 0;
}

/* Steering: an inbox bounded at NETBACK_STEER_MAX, nothing after close. */
static int inbox(void)
{
	struct netback_hash h;
	struct netback_steered s;
	uint8_t buf[NETBACK_VNET_HDR_LEN + 60] = { 0 };
	unsigned int n = 0;

	T_CHECK(netback_hash_init(&h, 2) == 0, "init");
	while (netback_hash_steer(&h, 1, buf, 60, n, 0) == 0)
		n++;
	T_CHECK(n == NETBACK_STEER_MAX, "%u frames held", n);
	T_CHECK(netback_hash_take(&h, 1, &s) && s.value == 0 && s.len == 60, "the first");
	free(s.buf);
	T_CHECK(!netback_hash_take(&h, 0, &s), "queue 0 got one");
	netback_hash_close(&h);
	T_CHECK(netback_hash_steer(&h, 1, buf, 60, 0, 0) == -ENOBUFS, "steered after close");
	/* The rest are freed (valgrind and ASan see it) and counted: none lost silently. */
	T_CHECK(netback_hash_fini(&h) == NETBACK_STEER_MAX - 1, "frames dropped at the end");
	return 0;
}

/*
 * A queue nobody steered to looks at its inbox without the lock (it does so for every frame it
 * reads from the TAP): with the lock held elsewhere, the look still answers at once.  Before
 * the lock-free look this hung until the time limit.
 */
static int lockfree_take(void)
{
	struct netback_hash h;
	struct netback_steered s;
	uint8_t buf[NETBACK_VNET_HDR_LEN + 60] = { 0 };

	T_CHECK(netback_hash_init(&h, 2) == 0, "init");
	T_CHECK(netback_hash_steer(&h, 1, buf, 60, 7, 0) == 0, "steer");
	pthread_mutex_lock(&h.lock); /* as the control thread setting a mapping would */
	T_CHECK(!netback_hash_take(&h, 0, &s), "queue 0 got one");
	pthread_mutex_unlock(&h.lock);
	T_CHECK(netback_hash_take(&h, 1, &s) && s.value == 7, "queue 1 lost its frame");
	free(s.buf);
	T_CHECK(!netback_hash_take(&h, 1, &s), "queue 1 got two");
	T_CHECK(netback_hash_fini(&h) == 0, "fini");
	return 0;
}

int main(void)
{
	t_time_limit(30);
	T_CHECK(vectors() == 0, "RSS vectors");
	T_CHECK(reference() == 0, "netif.h's code");
	T_CHECK(requests() == 0, "control requests");
	T_CHECK(frames() == 0, "frames");
	T_CHECK(table() == 0, "the key's table");
	T_CHECK(inbox() == 0, "inbox");
	T_CHECK(lockfree_take() == 0, "lock-free look at an empty inbox");
	return 0;
}
