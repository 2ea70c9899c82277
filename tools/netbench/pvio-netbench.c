/* SPDX-License-Identifier: MIT */
/*
 * pvio-netbench - UDP through pvio's network device against a veth pair, in the same run (see
 * pvio-netbench(1)).  The tool enters a network namespace of its own, then the driver domain's
 * (where its vif is): it starts the embedded hypervisor, a driver domain running pvio-netback and a
 * guest running pvio-netfront (eth0 in its own namespace), and pumps UDP datagrams from the guest's
 * eth0 to vif<guest>.0; then the same from one end of a veth pair to the other.  Datagrams
 * received per second are the figure; the ratio is pvio's over veth's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/bench-machine.h"
#include "launch/embed.h"
#include "xenbus/toolstack.h"

#define PORT 9999

static unsigned int seconds = 3;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Address ifname in the caller's namespace with ip/24 and bring it up: 0 or -errno. */
static int set_ip(const char *ifname, const char *ip)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		ret = -errno;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (!ret && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		ret = -errno;
	if (!ret && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

/* Enter the network namespace of process pid: 0 or -errno. */
static int enter_ns(pid_t pid)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The sender: in pid's namespace, ifname gets ip, then datagrams of size to dst for seconds. */
static int sender(pid_t pid, const char *ifname, const char *ip, const char *dst, size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char buf[65536];
	double end;
	int s;

	for (int i = 0; i < 200 && (enter_ns(pid) || !if_nametoindex(ifname)); i++)
		usleep(50000);
	if (!if_nametoindex(ifname) || set_ip(ifname, ip))
		return 1;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, dst, &to.sin_addr);
	/* ARP first: a few datagrams, then a pause. */
	for (int i = 0; i < 5; i++, usleep(100000))
		sendto(s, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
	end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 64; i++)
			sendto(s, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
	return 0;
}

/* Datagrams per second the caller's namespace receives from a sender in pid's namespace. */
static double measure(pid_t pid, const char *ifname, const char *ip, const char *dst, size_t size)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char buf[65536];
	uint64_t n = 0;
	double first = 0, last = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), rcv = 4 << 20;
	pid_t child;

	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)))
		return -1;
	child = fork();
	if (child == 0)
		_exit(sender(pid, ifname, ip, dst, size));
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0 && waitpid(child, NULL, WNOHANG) == child)
			break;
		while (recv(s, buf, sizeof(buf), 0) >= 0) {
			last = now_s();
			if (!first && ++n)
				first = last;
			else
				n++;
		}
	}
	close(s);
	return n > 100 && last > first ? (double)n / (last - first) : 0;
}

/* A veth pair: veth-a here, veth-b in a child's namespace (its pid in *peer). */
static int veth_make(pid_t *peer)
{
	char cmd[160];

	*peer = fork();
	if (*peer == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(1);
		pause();
		_exit(0);
	}
	usleep(100000);
	snprintf(cmd, sizeof(cmd), "ip link add veth-a type veth peer name veth-b netns %d",
		 (int)*peer);
	if (system(cmd) != 0)
		return -1;
	return set_ip("veth-a", "10.8.0.1");
}

/* The path of a program beside this one (the build directory, or the install's). */
static void beside(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
	if (access(buf, X_OK))
		snprintf(buf, len, "%s", name);
}

/* The driver domain and the guest, their vif connected: pvio-netfront's pid, or -1. */
static pid_t pvio_make(struct embed *e, pid_t *netback, domid_t *guest)
{
	const struct xenbus_kv mac[] = { { "mac", "00:16:3e:00:00:01" } };
	char back[PATH_MAX], front[PATH_MAX];
	char *bargv[] = { back, NULL }, *fargv[] = { front, NULL };
	struct xenbus_device_spec spec;
	domid_t dd, fe;
	struct xs_handle *xs;
	pid_t nf;

	beside("pvio-netback", back, sizeof(back));
	beside("pvio-netfront", front, sizeof(front));
	if (embed_domain_create(e, "dd", &dd) || embed_domain_create(e, "guest", &fe))
		return -1;
	*guest = fe;
	spec = (struct xenbus_device_spec){ .kind = "vif",
					    .frontend_id = fe,
					    .backend_id = dd,
					    .front_extra = mac,
					    .n_front_extra = 1,
					    .back_extra = mac,
					    .n_back_extra = 1 };
	xs = xs_open(0);
	if (!xs || xenbus_device_add(xs, &spec))
		return -1;
	xs_close(xs);
	if (embed_domain_spawn(e, dd, bargv, netback) || embed_domain_spawn(e, fe, fargv, &nf))
		return -1;
	return nf;
}

static void report(const char *what, size_t size, double pvio, double veth)
{
	printf(
	    "%-28s pvio %10.0f pkt/s %7.3f Gbit/s   veth %10.0f pkt/s %7.3f Gbit/s   ratio %.2f\n",
	    what, pvio, pvio * (double)size * 8 / 1e9, veth, veth * (double)size * 8 / 1e9,
	    veth > 0 ? pvio / veth : 0);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 18, 1472 }; /* 64-byte frames; full 1500-byte MTU */
	struct embed_opts eo = { .die_with_parent = true };
	struct embed *e;
	pid_t nb, nf, peer;
	domid_t fe = 0;
	char vif[IFNAMSIZ];
	int c, fd;

	while ((c = getopt(argc, argv, "s:h")) != -1) {
		if (c == 's' && atoi(optarg) > 0) {
			seconds = (unsigned int)atoi(optarg);
		} else {
			fprintf(c == 'h' ? stdout : stderr, "Usage: pvio-netbench [-s SECONDS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "pvio-netbench: network namespace: %s\n", strerror(errno));
		return 1;
	}
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0 && write(fd, "1", 1) == 1)
		close(fd);
	if (embed_start(&e, &eo)) {
		fprintf(stderr, "pvio-netbench: cannot start the embedded hypervisor\n");
		return 1;
	}
	nf = pvio_make(e, &nb, &fe);
	/* The vif is in the driver domain's own namespace: the receivers and the veth go there. */
	if (nf > 0 && enter_ns(nb))
		nf = -1;
	snprintf(vif, sizeof(vif), "vif%u.0", fe);
	for (int i = 0; nf > 0 && i < 200 && !if_nametoindex(vif); i++)
		usleep(50000);
	if (nf <= 0 || set_ip(vif, "10.9.0.1") || veth_make(&peer)) {
		fprintf(stderr, "pvio-netbench: setting up %s or the veth pair failed\n", vif);
		embed_stop(e);
		return 1;
	}
	bench_print_machine("pvio-netbench");
	printf("UDP datagrams for %u s each, guest eth0 -> driver domain %s, against veth-b -> "
	       "veth-a\n",
	       seconds, vif);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double p = measure(nf, "eth0", "10.9.0.2", "10.9.0.1", sizes[i]);
		double v = measure(peer, "veth-b", "10.8.0.2", "10.8.0.1", sizes[i]);
		char what[64];

		snprintf(what, sizeof(what), "UDP %zu-byte payload", sizes[i]);
		report(what, sizes[i], p, v);
	}
	kill(peer, SIGKILL);
	kill(nf, SIGTERM);
	kill(nb, SIGTERM);
	waitpid(nf, NULL, 0);
	waitpid(nb, NULL, 0);
	return embed_stop(e) ? 1 : 0;
}
