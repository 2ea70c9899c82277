/* SPDX-License-Identifier: MIT */
/*
 * tap.c - the vif's TAP device in the driver domain: open its queues with the virtio header
 * and offloads netback needs, bring it up, attach it to a bridge (the job of Xen's vif-bridge
 * hotplug script).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "backend/net/netback.h"

/* netback_tap_set_ops's; NULL: this process makes its TAPs itself. */
static const struct netback_tap_ops *tap_ops;

void netback_tap_set_ops(const struct netback_tap_ops *ops)
{
	tap_ops = ops;
}

static int tap_name(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	memcpy(ifr->ifr_name, name, strlen(name));
	return 0;
}

/* One queue of the TAP: a non-blocking fd with a NETBACK_VNET_HDR_LEN header. */
static int tap_queue_open(const char *name, int *fdp)
{
	int hdr = NETBACK_VNET_HDR_LEN, fd, ret;
	struct ifreq ifr;

	ret = tap_name(&ifr, name);
	if (ret)
		return ret;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*fdp = fd;
	return 0;
}

int netback_tap_open(const char *name, unsigned int nqueues, int *fds)
{
	unsigned int q;
	int ret = nqueues ? 0 : -EINVAL;

	if (!ret && tap_ops)
		return tap_ops->open(tap_ops->arg, name, nqueues, fds);
	for (q = 0; !ret && q < nqueues; q++) {
		ret = tap_queue_open(name, &fds[q]);
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	while (q-- > 0)
		close(fds[q]);
	return ret;
}

int netback_tap_offload(int fd, bool csum, bool tso4, bool tso6)
{
	unsigned int off = (csum ? TUN_F_CSUM : 0) | (csum && tso4 ? TUN_F_TSO4 : 0) |
			   (csum && tso6 ? TUN_F_TSO6 : 0);

	return ioctl(fd, TUNSETOFFLOAD, off) < 0 ? -errno : 0;
}

/* An ioctl on a throw-away socket: 0 or -errno. */
static int sock_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int netback_tap_up(const char *name)
{
	struct ifreq ifr;
	int ret = tap_name(&ifr, name);

	if (!ret && tap_ops)
		return tap_ops->up(tap_ops->arg, name);
	if (!ret)
		ret = sock_ioctl(SIOCGIFFLAGS, &ifr);
	if (ret)
		return ret;
	ifr.ifr_flags |= IFF_UP;
	return sock_ioctl(SIOCSIFFLAGS, &ifr);
}

/*
 * Give interface name the MTU of bridge, as Xen's vif-bridge does: a port of a smaller MTU
 * lowers the bridge's, and a bridge drops what is too big for the port it leaves by.
 */
static int tap_mtu_of(const char *name, const char *bridge)
{
	struct ifreq ifr;
	int mtu, ret = tap_name(&ifr, bridge);

	if (!ret)
		ret = sock_ioctl(SIOCGIFMTU, &ifr);
	mtu = ifr.ifr_mtu;
	if (!ret)
		ret = tap_name(&ifr, name);
	if (ret)
		return ret;
	ifr.ifr_mtu = mtu;
	return sock_ioctl(SIOCSIFMTU, &ifr);
}

int netback_tap_bridge(const char *name, const char *bridge)
{
	struct ifreq ifr;
	int index, ret;

	if (tap_ops)
		return tap_ops->bridge(tap_ops->arg, name, bridge);
	index = (int)if_nametoindex(name);
	if (!index)
		return -errno;
	ret = tap_mtu_of(name, bridge);
	if (!ret)
		ret = tap_name(&ifr, bridge);
	if (ret)
		return ret;
	ifr.ifr_ifindex = index;
	return sock_ioctl(SIOCBRADDIF, &ifr);
}
