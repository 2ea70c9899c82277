/* SPDX-License-Identifier: MIT */
/*
 * net-l4-find: where netback finds a frame's TCP or UDP header for the offloads (checksum and
 * GSO of a TX frame): after IPv4 with options, and after IPv6 with the extension headers Linux's
 * skb_checksum_setup_ipv6 walks (hop-by-hop, routing, destination options in 8-byte units,
 * authentication in 4-byte units); not in a fragment, not past the frame's end, not after
 * more than 8 of them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend/net/netback-priv.h"
#include "tests/helpers.h"

static uint8_t f[512];
static size_t len;

/* An Ethernet header of type, then nothing yet. */
static void eth(uint16_t type)
{
	memset(f, 0, sizeof(f));
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	len = 14;
}

/* An IPv6 header whose next header is next. */
static void ip6(uint8_t next)
{
	f[len] = 0x60;
	f[len + 6] = next;
	len += 40;
}

/* An extension header: next, its length byte, bytes in all. */
static void ext(uint8_t next, uint8_t lenbyte, size_t bytes)
{
	f[len] = next;
	f[len + 1] = lenbyte;
	len += bytes;
}

/* A TCP header of 20 bytes, or a UDP one of 8. */
static void l4(uint8_t proto)
{
	if (proto == 6)
		f[len + 12] = 5 << 4;
	len += proto == 6 ? 20 : 8;
}

/* netback_l4_find of the frame must give off and proto (or fail when off is 0). */
static int expect(const char *what, size_t off, uint8_t proto, bool v6)
{
	size_t got_off = 0;
	uint8_t got_proto = 0;
	bool got_v6 = !v6;
	int rc = netback_l4_find(f, len, &got_off, &got_proto, &got_v6);

	if (!off) {
		T_CHECK(rc == -EINVAL, "%s: found at %zu", what, got_off);
		return 0;
	}
	T_CHECK(rc == 0 && got_off == off && got_proto == proto && got_v6 == v6,
		"%s: rc %d off %zu proto %u v6 %d, want %zu %u %d", what, rc, got_off, got_proto,
		got_v6, off, proto, v6);
	return 0;
}

int main(void)
{
	t_time_limit(T_TIME_LIMIT_S);
	eth(0x0800);
	f[14] = 0x46; /* IPv4 with 4 bytes of options */
	f[23] = 6;
	len += 24;
	l4(6);
	T_CHECK(expect("IPv4 with options", 38, 6, false) == 0, "v4");

	eth(0x86dd);
	ip6(6);
	l4(6);
	T_CHECK(expect("IPv6", 54, 6, true) == 0, "v6");

	eth(0x86dd);
	ip6(0);
	ext(6, 0, 8); /* hop-by-hop */
	l4(6);
	T_CHECK(expect("hop-by-hop", 62, 6, true) == 0, "hbh");

	eth(0x86dd);
	ip6(60);
	ext(43, 1, 16); /* destination options: (1 + 1) * 8 */
	ext(51, 1, 16); /* routing: (1 + 1) * 8 */
	ext(17, 1, 12); /* authentication: (1 + 2) * 4 */
	l4(17);
	T_CHECK(expect("dest opts, routing, AH, UDP", 14 + 40 + 16 + 16 + 12, 17, true) == 0,
		"chain");

	eth(0x86dd);
	ip6(44);
	ext(6, 0, 8); /* a fragment header */
	l4(6);
	T_CHECK(expect("a fragment", 0, 0, true) == 0, "frag");

	eth(0x86dd);
	ip6(0);
	ext(6, 30, 8); /* says 248 bytes, the frame ends before */
	l4(6);
	T_CHECK(expect("an extension past the end", 0, 0, true) == 0, "past");

	eth(0x86dd);
	ip6(0);
	for (unsigned int i = 0; i < 9; i++)
		ext(i < 8 ? 0 : 6, 0, 8);
	l4(6);
	T_CHECK(expect("nine extension headers", 0, 0, true) == 0, "nine");
	return 0;
}
