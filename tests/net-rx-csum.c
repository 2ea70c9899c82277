/* SPDX-License-Identifier: MIT */
/*
 * net-rx-csum: checksum offload towards the guest per protocol, as Linux's xen-netback keeps
 * it.  The front takes blank checksums on IPv4 (no feature-no-csum-offload) but not on IPv6 (no
 * feature-ipv6-csum-offload: absent is off, netif.h).  dom0 sends the guest, through the TAP,
 * UDP over IPv6, TCP over IPv6 and UDP over IPv4, each with its checksum left to finish (a
 * virtio-net header with NEEDS_CSUM, the checksum field holding the pseudo-header's sum, as the
 * kernel leaves it); then IPv6 UDP and TCP frames of 8000 bytes of data over two buffers, the
 * second read straight into the guest's buffers (a big frame before it) and moved back to be
 * summed.  The IPv4 frame comes through as it was, marked csum_blank | data_validated; each IPv6
 * one comes with its checksum finished by netback - it verifies to 0xffff over the pseudo-header -
 * marked data_validated only.  Then the same front with feature-ipv6-csum-offload: the IPv6 frames
 * come blank too.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "tests/net-test.h"

#define UDP 17
#define TCP 6

/* The frames dom0 sends, in order: IP version, L4 protocol, payload bytes. */
static const struct {
	int v;
	int proto;
	size_t data;
} seq[] = {
	{ 6, UDP, 100 },  { 6, TCP, 200 },  { 4, UDP, 100 },
	{ 6, UDP, 8000 }, { 6, TCP, 8000 }, /* read straight into the guest's buffers, moved back to
					       be summed */
};
#define NSEQ (sizeof(seq) / sizeof(seq[0]))

static uint8_t buf[NETBACK_FRAME_MAX + 1], want[NETBACK_FRAME_MAX + 1];

/* The 16-bit ones'-complement sum of len bytes at p, added to sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Frame i (its length, l4 offset and checksum offset), the checksum field the pseudo-header's sum.
 */
static size_t make(unsigned int i, uint8_t *f, unsigned int *l4, unsigned int *csum_off)
{
	unsigned int l3 = 14, hl = seq[i].proto == TCP ? 20 : 8, ipl = seq[i].v == 6 ? 40 : 20;
	size_t l4len = hl + seq[i].data, len = l3 + ipl + l4len;
	uint32_t ps;

	memset(f, 0, len);
	memcpy(f, nt_mac, 6);
	memcpy(f + 6, nt_peer, 6);
	f[12] = seq[i].v == 6 ? 0x86 : 0x08;
	f[13] = seq[i].v == 6 ? 0xdd : 0x00;
	if (seq[i].v == 6) {
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)(l4len >> 8), f[l3 + 5] = (uint8_t)l4len;
		f[l3 + 6] = (uint8_t)seq[i].proto, f[l3 + 7] = 64;
		for (unsigned int k = 0; k < 32; k++)
			f[l3 + 8 + k] = (uint8_t)(0xfd + k * 7 + i);
		ps = sum16(0, f + l3 + 8, 32) + (uint32_t)l4len + (uint32_t)seq[i].proto;
	} else {
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((ipl + l4len) >> 8), f[l3 + 3] = (uint8_t)(ipl + l4len);
		f[l3 + 8] = 64, f[l3 + 9] = (uint8_t)seq[i].proto;
		f[l3 + 12] = 10, f[l3 + 15] = 1, f[l3 + 16] = 10, f[l3 + 19] = 2;
		ps = sum16(0, f + l3 + 12, 8) + (uint32_t)l4len + (uint32_t)seq[i].proto;
	}
	*l4 = l3 + ipl;
	f[*l4] = 0x30, f[*l4 + 1] = (uint8_t)i, f[*l4 + 2] = 0x40, f[*l4 + 3] = 0x01;
	if (seq[i].proto == UDP) {
		f[*l4 + 4] = (uint8_t)(l4len >> 8), f[*l4 + 5] = (uint8_t)l4len;
		*csum_off = 6;
	} else {
		f[*l4 + 12] = 0x50;
		*csum_off = 16;
	}
	for (size_t k = *l4 + hl; k < len; k++)
		f[k] = (uint8_t)(k * 13 + i);
	ps = fold(ps);
	f[*l4 + *csum_off] = (uint8_t)(ps >> 8), f[*l4 + *csum_off + 1] = (uint8_t)ps;
	return len;
}

/* Whether the checksum of the L4 part of frame f (len bytes, l4 at l4) verifies. */
static bool verifies(const uint8_t *f, size_t len, unsigned int i, unsigned int l4)
{
	uint32_t s = sum16(0, f + l4, len - l4) + (uint32_t)(len - l4) + (uint32_t)seq[i].proto;

	s = seq[i].v == 6 ? sum16(s, f + 14 + 8, 32) : sum16(s, f + 14 + 12, 8);
	return fold(s) == 0xffff;
}

static bool v6_off = true; /* this run's front: no feature-ipv6-csum-offload */

static int guest(void *arg)
{
	struct nt_front f;

	(void)arg;
	T_CHECK(nt_front_open(&f) == 0, "open");
	T_CHECK(nt_rx_post(&f, 0, NT_RX_PAGES) == 0, "post");
	T_CHECK(nt_step('R') == 0, "dom0 sent the frames");
	for (unsigned int i = 0; i < NSEQ; i++) {
		struct netif_extra_info x;
		unsigned int slots, l4, co;
		bool finished = seq[i].v == 6 && v6_off;
		uint16_t flags;
		size_t len, wlen = make(i, want, &l4, &co);

		T_CHECK(nt_rx_frame(&f, buf, &len, &flags, &slots, &x) == 0, "RX %u", i);
		T_CHECK(len == wlen, "frame %u: %zu bytes, want %zu", i, len, wlen);
		T_CHECK(!memcmp(buf, want, l4 + co) &&
			    !memcmp(buf + l4 + co + 2, want + l4 + co + 2, len - l4 - co - 2),
			"frame %u: bytes other than its checksum differ", i);
		if (finished) {
			T_CHECK((flags & (NETRXF_csum_blank | NETRXF_data_validated)) ==
				    NETRXF_data_validated,
				"frame %u (IPv6, no offload): flags %#x", i, flags);
			T_CHECK(verifies(buf, len, i, l4), "frame %u: its checksum does not verify",
				i);
		} else {
			T_CHECK((flags & (NETRXF_csum_blank | NETRXF_data_validated)) ==
				    (NETRXF_csum_blank | NETRXF_data_validated),
				"frame %u (offloaded): flags %#x", i, flags);
			T_CHECK(!memcmp(buf + l4 + co, want + l4 + co, 2),
				"frame %u: its blank checksum was changed", i);
		}
	}
	return nt_step('D');
}

static int dom0(int pkt)
{
	int on = 1;

	T_CHECK(nt_step_wait() == 'R', "guest step");
	T_CHECK(setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0,
		"PACKET_VNET_HDR");
	for (unsigned int i = 0; i < NSEQ; i++) {
		unsigned int l4, co;
		size_t len = make(i, want, &l4, &co);
		struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    .csum_start = (uint16_t)l4,
					    .csum_offset = (uint16_t)co };
		struct iovec iov[2] = { { &h, sizeof(h) }, { want, len } };

		T_CHECK(writev(pkt, iov, 2) == (ssize_t)(sizeof(h) + len), "send %u: %s", i,
			strerror(errno));
	}
	nt_step_ack(true);
	T_CHECK(nt_step_wait() == 'D', "guest step");
	nt_step_ack(true);
	return 0;
}

static int run(bool off)
{
	struct nt_result res;
	int rc;

	v6_off = off;
	nt.rx_sg = true;
	nt.rx_csum_v6_off = off;
	if ((rc = nt_main(guest, dom0, &res)))
		return rc;
	T_CHECK(res.st.rx_packets == NSEQ && res.st.rx_too_big == 0, "rx_packets %llu too big %llu",
		(unsigned long long)res.st.rx_packets, (unsigned long long)res.st.rx_too_big);
	return 0;
}

int main(void)
{
	int rc = run(true);

	if (rc)
		return rc;
	if ((rc = run(false)))
		return rc;
	printf("net-rx-csum: IPv6 checksums finished for a front without "
	       "feature-ipv6-csum-offload, left blank with it; IPv4 left blank\n");
	return 0;
}
