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

#include <xenstore.h>

#include "frontend/net/netfront.h"

static const char *const usage_text =
    "Usage: pvio-netfront [OPTION]...\n"
    "Connect this guest's vif and carry its frames on a TAP interface.\n"
    "\n"
    "      --devid N       the vif: device/vif/N (default 0)\n"
    "      --ifname NAME   the TAP interface (default eth0)\n"
    "      --queues N      queues wanted (default: online CPUs, at most the back-end's)\n"
    "      --no-netns      stay in the caller's network namespace\n"
    "      --no-offloads   plain frames, checksums computed by the back-end\n"
    "      --wait          wait for the vif to be attached (pvio network-attach)\n"
    "  -h, --help          this text\n";

enum {
	OPT_DEVID = 256,
	OPT_IFNAME,
	OPT_NONETNS,
	OPT_QUEUES,
	OPT_NOOFFLOADS,
	OPT_WAIT
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "devid", required_argument, NULL, OPT_DEVID },
	{ "ifname", required_argument, NULL, OPT_IFNAME },
	{ "no-netns", no_argument, NULL, OPT_NONETNS },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "no-offloads", no_argument, NULL, OPT_NOOFFLOADS },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ NULL, 0, NULL, 0 },
};

/* A frame with room for its virtio-net header. */
#define BUF_MAX (NETFRONT_VNET_HDR_LEN + NETFRONT_FRAME_MAX)

/* One queue of the TAP. */
struct tapq {
	int fd;
	bool blocked;	       /* the TX ring has no room for a frame: TAP not polled */
	uint8_t drop[BUF_MAX]; /* a frame read while reconnecting, dropped */
};

/*
 * Until the toolstack has written device/vif/<devid> (its state key is in the same
 * transaction as the rest): a watch on it, woken by each change, no timeout.  0 or a negative
 * errno.
 */
static int vif_wait(unsigned int devid)
{
	struct xs_handle *xs = xs_open(0);
	char path[64];
	int ret = 0;

	if (!xs)
		return -errno;
	snprintf(path, sizeof(path), "device/vif/%u", devid);
	if (!xs_watch(xs, path, "vif"))
		ret = -errno;
	snprintf(path, sizeof(path), "device/vif/%u/state", devid);
	for (;;) {
		unsigned int len, n;
		void *v = ret ? NULL : xs_read(xs, XBT_NULL, path, &len);
		char **ev;

		free(v);
		if (ret || v)
			break;
		ev = xs_read_watch(xs, &n); /* blocks until the next change */
		if (!ev)
			ret = errno ? -errno : -EIO;
		free(ev);
	}
	xs_close(xs);
	return ret;
}

/* Bring the interface up with the guest's MAC: 0 or a negative errno. */
static int tap_up(struct ifreq *ifr, const uint8_t mac[6])
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	ifr->ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr->ifr_hwaddr.sa_data, mac, 6);
	if (ioctl(s, SIOCSIFHWADDR, ifr) < 0 || ioctl(s, SIOCGIFFLAGS, ifr) < 0)
		ret = -errno;
	ifr->ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

/* The TUNSETOFFLOAD flags for the offloads netfront negotiated. */
static unsigned int tun_offloads(unsigned int o)
{
	return (o & NETFRONT_OFFLOAD_CSUM ? TUN_F_CSUM : 0) |
	       (o & NETFRONT_OFFLOAD_TSO4 ? TUN_F_TSO4 : 0) |
	       (o & NETFRONT_OFFLOAD_TSO6 ? TUN_F_TSO6 : 0);
}

/*
 * The TAP ifname with n queues (IFF_MULTI_QUEUE: one file descriptor per ring queue), the
 * virtio-net header when vnet, the offloads netfront negotiated and the guest's MAC, up: 0 or a
 * negative errno.
 */
static int tap_make(const char *ifname, const uint8_t mac[6], struct tapq *tq, unsigned int n,
		    bool vnet, unsigned int offloads)
{
	int hdr = NETFRONT_VNET_HDR_LEN, ret = 0;
	struct ifreq ifr;

	for (unsigned int i = 0; i < n; i++)
		tq[i].fd = -1;
	for (unsigned int i = 0; !ret && i < n; i++) {
		ifr = (struct ifreq){ .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE |
						   (vnet ? IFF_VNET_HDR : 0) };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		tq[i].fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (tq[i].fd < 0 || ioctl(tq[i].fd, TUNSETIFF, &ifr) < 0 ||
		    (vnet && ioctl(tq[i].fd, TUNSETVNETHDRSZ, &hdr) < 0))
			ret = -errno;
	}
	/* The offloads are the interface's: one queue sets them for all. */
	if (!ret && vnet && ioctl(tq[0].fd, TUNSETOFFLOAD, tun_offloads(offloads)) < 0)
		ret = -errno;
	if (!ret)
		ret = tap_up(&ifr, mac);
	return ret;
}

/*
 * Received frames of queue q onto its TAP queue, each in one writev from the RX pages (a frame
 * the TAP refuses is the host's drop).
 */
static int deliver(struct netfront *nf, unsigned int q, int tap)
{
	ssize_t n;

	while ((n = netfront_recv_queue_fd(nf, q, tap)) > 0)
		;
	return n == -EAGAIN ? 0 : (int)n;
}

/*
 * Frames from TAP queue q onto its TX ring, each read straight into TX pages, until the TAP is
 * drained or the ring has no room for a largest frame (then t->blocked: the TAP is not polled
 * until TX answers free room, which an event announces).
 */
static int transmit(struct netfront *nf, unsigned int q, struct tapq *t)
{
	for (;;) {
		/* After a reconnect the back-end may offer fewer queues than the TAP has. */
		unsigned int nq = netfront_queues(nf);
		ssize_t n = nq ? netfront_send_queue_fd(nf, q % nq, t->fd) : -ENOTCONN;

		t->blocked = n == -ENOBUFS;
		if (n == -EAGAIN || n == -ENOBUFS)
			return 0;
		/* The link down while reconnecting: the frame is dropped. */
		if (n == -ENOTCONN && read(t->fd, t->drop, sizeof(t->drop)) < 0)
			return errno == EAGAIN ? 0 : -errno;
		/* A frame out of bounds was read and dropped. */
		if (n < 0 && n != -EINVAL && n != -ENOTCONN)
			return (int)n;
	}
}

/*
 * After a reconnect the back-end may have offered other offloads: the TAP's follow, so that it
 * hands netfront only what it now takes.  0 or a negative errno.
 */
static int offloads_follow(struct netfront *nf, int tap, unsigned int *applied)
{
	unsigned int o = netfront_offloads(nf);

	if (!netfront_queues(nf) || o == *applied)
		return 0;
	if (ioctl(tap, TUNSETOFFLOAD, tun_offloads(o)) < 0)
		return -errno;
	*applied = o;
	return 0;
}

/*
 * One loop serves every queue: the event channels share one file descriptor.  The ring queues
 * may outnumber the TAP's after a reconnect: ring queue j delivers to TAP queue j mod nq.
 */
static int run(struct netfront *nf, struct tapq *tq, unsigned int nq, int sigfd, bool vnet)
{
	struct pollfd pfd[2 + NETFRONT_QUEUES_MAX];
	unsigned int applied = netfront_offloads(nf);

	for (;;) {
		int ret;

		pfd[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = netfront_fd(nf), .events = POLLIN };
		for (unsigned int i = 0; i < nq; i++)
			pfd[2 + i] = (struct pollfd){ .fd = tq[i].blocked ? -1 : tq[i].fd,
						      .events = POLLIN };
		if (poll(pfd, 2 + nq, -1) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN)
			return 0;
		ret = netfront_poll(nf);
		/* A protocol error: netfront reconnects by itself, the frames in flight are lost.
		 */
		if (ret == -EPROTO) {
			fprintf(stderr, "pvio-netfront: the back-end broke the protocol\n");
			ret = 0;
		}
		if (ret >= 0 && vnet)
			ret = offloads_follow(nf, tq[0].fd, &applied);
		for (unsigned int j = 0; ret >= 0 && j < netfront_queues(nf); j++)
			ret = deliver(nf, j, tq[j % nq].fd);
		for (unsigned int i = 0; ret >= 0 && i < nq; i++)
			ret = transmit(nf, i, &tq[i]);
		if (ret == -EPROTO)
			ret = 0; /* said by a send or receive: reconnecting as above */
		if (ret < 0)
			return ret;
	}
}

static void tap_close(struct tapq *tq, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (tq[i].fd >= 0)
			close(tq[i].fd);
	free(tq);
}

int main(int argc, char **argv)
{
	struct netfront_opts o = { .vnet_hdr = true };
	const char *ifname = "eth0";
	bool netns = true, wait = false;
	struct netfront *nf;
	struct tapq *tq;
	unsigned int nq;
	uint8_t mac[6];
	sigset_t set;
	int c, sigfd, ret;

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
		} else if (c == OPT_WAIT) {
			wait = true;
		} else if (c == OPT_NOOFFLOADS) {
			o.vnet_hdr = false;
		} else if (c == OPT_QUEUES) {
			o.queues = (unsigned int)strtoul(optarg, NULL, 10);
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
	ret = wait ? vif_wait(o.devid) : 0;
	if (!ret)
		ret = netfront_open(&nf, &o);
	if (ret) {
		fprintf(stderr, "pvio-netfront: vif %u: %s\n", o.devid, strerror(-ret));
		return 1;
	}
	netfront_mac(nf, mac);
	nq = netfront_queues(nf);
	tq = calloc(nq, sizeof(*tq));
	ret = tq ? tap_make(ifname, mac, tq, nq, o.vnet_hdr, netfront_offloads(nf)) : -ENOMEM;
	if (ret) {
		fprintf(stderr, "pvio-netfront: %s: %s\n", ifname, strerror(-ret));
		if (tq)
			tap_close(tq, nq);
		netfront_close(nf);
		return 1;
	}
	printf("pvio-netfront: %s up, %u queue(s), offloads %#x\n", ifname, nq,
	       netfront_offloads(nf));
	fflush(stdout);
	ret = run(nf, tq, nq, sigfd, o.vnet_hdr);
	if (ret)
		fprintf(stderr, "pvio-netfront: vif %u: %s\n", o.devid, strerror(-ret));
	tap_close(tq, nq);
	netfront_close(nf);
	return ret ? 1 : 0;
}
