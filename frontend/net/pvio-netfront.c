/* SPDX-License-Identifier: MIT */
/*
 * pvio-netfront - a guest's network interface over libpvio-netfront: a TAP device (eth0 by
 * default) in a network namespace of its own, carrying frames both ways (see pvio-netfront(8)).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "frontend/net/netfront.h"

static const char *const usage_text =
    "Usage: pvio-netfront [OPTION]...\n"
    "Connect this guest's vif and carry its frames on a TAP interface.\n"
    "\n"
    "      --devid N       the vif: device/vif/N (default 0)\n"
    "      --ifname NAME   the TAP interface (default eth0)\n"
    "      --no-netns      stay in the caller's network namespace\n"
    "  -h, --help          this text\n";

enum {
	OPT_DEVID = 256,
	OPT_IFNAME,
	OPT_NONETNS
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "devid", required_argument, NULL, OPT_DEVID },
	{ "ifname", required_argument, NULL, OPT_IFNAME },
	{ "no-netns", no_argument, NULL, OPT_NONETNS },
	{ NULL, 0, NULL, 0 },
};

static uint8_t frame[NETFRONT_FRAME_MAX];

/* The TAP ifname with the guest's MAC, up: its fd or a negative errno. */
static int tap_make(const char *ifname, const uint8_t mac[6])
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), ret = 0, s = -1;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || (s = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		ret = -errno;
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	if (!ret && ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		ret = -errno;
	if (!ret && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	if (s >= 0)
		close(s);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Received frames onto the TAP (a frame the TAP refuses is the host's drop). */
static int deliver(struct netfront *nf, int tap)
{
	ssize_t n;

	while ((n = netfront_recv(nf, frame, sizeof(frame))) > 0)
		(void)!write(tap, frame, (size_t)n);
	return n == -EAGAIN ? 0 : (int)n;
}

/* Frames from the TAP onto the TX ring until it is full (*held: one frame waits) or drained. */
static int transmit(struct netfront *nf, int tap, uint8_t *held, size_t *held_len)
{
	for (;;) {
		int ret;

		if (!*held_len) {
			ssize_t n = read(tap, held, NETFRONT_FRAME_MAX);

			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			if (n < 14)
				continue;
			*held_len = (size_t)n;
		}
		ret = netfront_send(nf, held, *held_len);
		if (ret == -EAGAIN)
			return 0;
		*held_len = 0;
		if (ret && ret != -EINVAL)
			return ret;
	}
}

static int run(struct netfront *nf, int tap, int sigfd)
{
	static uint8_t held[NETFRONT_FRAME_MAX];
	size_t held_len = 0;

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = netfront_fd(nf), .events = POLLIN },
			{ .fd = held_len ? -1 : tap, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int ret;

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			return -errno;
		if (pfd[2].revents & POLLIN)
			return 0;
		ret = netfront_poll(nf);
		if (ret >= 0)
			ret = deliver(nf, tap);
		if (ret >= 0)
			ret = transmit(nf, tap, held, &held_len);
		if (ret < 0)
			return ret;
	}
}

int main(int argc, char **argv)
{
	struct netfront_opts o = { 0 };
	const char *ifname = "eth0";
	bool netns = true;
	struct netfront *nf;
	uint8_t mac[6];
	sigset_t set;
	int c, tap, sigfd, ret;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else if (c == OPT_DEVID) {
			o.devid = (unsigned int)strtoul(optarg, NULL, 10);
		} else if (c == OPT_IFNAME) {
			ifname = optarg;
		} else if (c == OPT_NONETNS) {
			netns = false;
		} else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc || strlen(ifname) >= IFNAMSIZ) {
		fputs(usage_text, stderr);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (netns && unshare(CLONE_NEWNET)) {
		fprintf(stderr, "pvio-netfront: network namespace: %s\n", strerror(errno));
		return 1;
	}
	ret = netfront_open(&nf, &o);
	if (ret) {
		fprintf(stderr, "pvio-netfront: vif %u: %s\n", o.devid, strerror(-ret));
		return 1;
	}
	netfront_mac(nf, mac);
	tap = tap_make(ifname, mac);
	if (tap < 0) {
		fprintf(stderr, "pvio-netfront: %s: %s\n", ifname, strerror(-tap));
		netfront_close(nf);
		return 1;
	}
	printf("pvio-netfront: %s up\n", ifname);
	fflush(stdout);
	ret = run(nf, tap, sigfd);
	if (ret)
		fprintf(stderr, "pvio-netfront: vif %u: %s\n", o.devid, strerror(-ret));
	close(tap);
	netfront_close(nf);
	return ret ? 1 : 0;
}
