/* SPDX-License-Identifier: MIT */
/*
 * pvio-netbench - UDP and TCP through pvio's network device against a veth pair, in the same run
 * (see pvio-netbench(1)).  The tool enters a network namespace of its own, which plays the
 * outside world: it starts the embedded hypervisor, a driver domain running pvio-netback and a
 * guest running pvio-netfront (eth0 in its own namespace, -q queues), both isolated; the driver
 * domain's "physical NIC" is a veth whose other end is in the tool's namespace, bridged with the
 * vif (bridge= in the vif's directory, through pvio-netback's TAP helper), as issue 10's
 * topology has it.  It pumps UDP datagrams (18 and 1472 bytes) and TCP streams (1 and 4
 * connections, iperf3's) from the guest's eth0 to the outside and back the other way; then the
 * same between the ends of a plain veth pair, pvio and veth alternated, -r rounds each.
 * Received datagrams or bytes per second are the figures (the medians); the ratio is pvio's over
 * veth's, against the targets (TCP 0.8, 64-byte UDP 0.5).
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

/* What one measurement sends: UDP datagrams of size bytes, or streams TCP connections. */
struct flow {
	bool tcp;
	size_t size;	      /* UDP payload */
	unsigned int streams; /* TCP connections */
};

/* Send UDP datagrams to dst for the run's seconds (a few first, for ARP). */
static void udp_send(const char *dst, size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char buf[65536];
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	double end;

	inet_pton(AF_INET, dst, &to.sin_addr);
	for (int i = 0; i < 5; i++, usleep(100000))
		sendto(s, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
	end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 64; i++)
			sendto(s, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
	close(s);
}

/* Send on streams TCP connections to dst for the run's seconds, a process each. */
static void tcp_send(const char *dst, unsigned int streams)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };

	pid_t pid[16];

	inet_pton(AF_INET, dst, &to.sin_addr);
	for (unsigned int i = 0; i < streams; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			static char buf[1 << 16];
			int s = socket(AF_INET, SOCK_STREAM, 0);
			double end;

			for (int k = 0; k < 50 && connect(s, (struct sockaddr *)&to, sizeof(to));
			     k++) {
				close(s);
				s = socket(AF_INET, SOCK_STREAM, 0);
				usleep(100000); /* the receiver may not listen yet */
			}
			end = now_s() + seconds;
			while (now_s() < end && write(s, buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
	}
	/* Only these: the caller has other children (the veth peer's holder). */
	for (unsigned int i = 0; i < streams; i++)
		if (pid[i] > 0)
			waitpid(pid[i], NULL, 0);
}

/* Datagrams per second received on a UDP socket bound to PORT, until 1 s of silence. */
static double udp_recv(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char buf[65536];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), rcv = 4 << 20;
	double first = 0, last = 0, start = now_s();
	uint64_t n = 0;

	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)))
		return -1;
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0 && (n || now_s() - start > 20))
			break;
		while (recv(s, buf, sizeof(buf), 0) >= 0) {
			last = now_s();
			if (!n++)
				first = last;
		}
	}
	close(s);
	return n > 100 && last > first ? (double)n / (last - first) : 0;
}

/* Bytes per second received on streams TCP connections to PORT, until they all end. */
static double tcp_recv(unsigned int streams)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static char buf[1 << 16];
	struct pollfd p[16];
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	unsigned int open_ = 0;
	double first = 0, last = 0;
	uint64_t bytes = 0;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&me, sizeof(me)) || listen(l, 16))
		return -1;
	for (; open_ < streams; open_++) {
		struct pollfd lp = { .fd = l, .events = POLLIN };

		if (poll(&lp, 1, 20000) <= 0)
			break;
		p[open_] = (struct pollfd){ .fd = accept(l, NULL, NULL), .events = POLLIN };
	}
	close(l);
	while (open_ && poll(p, streams, 20000) > 0) {
		for (unsigned int i = 0; i < streams; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_--;
				continue;
			}
			last = now_s();
			if (!bytes)
				first = last;
			bytes += (uint64_t)n;
		}
	}
	return last > first ? (double)bytes / (last - first) : 0;
}

/* ---- TCP through iperf3 ---- */

static bool have_iperf3;

/* The receiver of an iperf3 test: one test's server on PORT, quiet. */
static void iperf_serve(void)
{
	int null = open("/dev/null", O_WRONLY);
	char port[16];

	dup2(null, 1);
	dup2(null, 2);
	snprintf(port, sizeof(port), "%d", PORT);
	execlp("iperf3", "iperf3", "-s", "-1", "-p", port, (char *)NULL);
	_exit(127);
}

/* "bits_per_second" of "sum_received" in iperf3's JSON, in bytes per second, or -1. */
static double iperf_parse(const char *json)
{
	const char *p = strstr(json, "\"sum_received\"");

	p = p ? strstr(p, "\"bits_per_second\":") : NULL;
	return p ? strtod(p + strlen("\"bits_per_second\":"), NULL) / 8 : -1;
}

/*
 * iperf3's client to dst for the run's seconds on streams connections, the server sending when
 * reverse: the bytes per second received, or -1.
 */
static double iperf_client(const char *dst, unsigned int streams, bool reverse)
{
	static char json[1 << 18];
	char cmd[160];
	double r = -1;

	snprintf(cmd, sizeof(cmd), "iperf3 -c %s -p %d -t %u -P %u%s -J 2>/dev/null", dst, PORT,
		 seconds, streams, reverse ? " -R" : "");
	/* The server may not listen yet: it refuses, and a second try comes soon. */
	for (int tries = 0; tries < 50 && r < 0; tries++) {
		FILE *f = popen(cmd, "r");
		size_t n = f ? fread(json, 1, sizeof(json) - 1, f) : 0;

		json[n] = '\0';
		if (f && pclose(f) == 0)
			r = iperf_parse(json);
		else
			usleep(100000);
	}
	return r;
}

static void flow_send(const struct flow *f, const char *dst)
{
	if (f->tcp)
		tcp_send(dst, f->streams);
	else
		udp_send(dst, f->size);
}

static double flow_recv(const struct flow *f)
{
	return f->tcp ? tcp_recv(f->streams) : udp_recv();
}

/*
 * One measurement between the caller's namespace (address here_ip) and a child in pid's, whose
 * ifname gets ip: the receiver's rate (datagrams or bytes per second).  in: the child receives.
 */
static double measure(pid_t pid, const char *ifname, const char *ip, const char *here_ip,
		      const struct flow *f, bool in)
{
	int res[2];
	double r = -1;
	pid_t child;

	if (pipe(res))
		return -1;
	child = fork();
	if (child == 0) {
		for (int i = 0; i < 200 && (enter_ns(pid) || !if_nametoindex(ifname)); i++)
			usleep(50000);
		if (!if_nametoindex(ifname) || set_ip(ifname, ip))
			_exit(1);
		(void)!write(res[1], &r, sizeof(r)); /* ready */
		if (f->tcp && have_iperf3)
			iperf_serve();
		if (in) {
			r = flow_recv(f);
			(void)!write(res[1], &r, sizeof(r));
		} else {
			flow_send(f, here_ip);
		}
		_exit(0);
	}
	close(res[1]);
	if (read(res[0], &r, sizeof(r)) == sizeof(r)) {
		if (f->tcp && have_iperf3) {
			r = iperf_client(ip, f->streams, !in);
			if (r < 0)
				kill(child, SIGKILL); /* a server still waiting for its test */
		} else if (in) {
			flow_send(f, ip);
			if (read(res[0], &r, sizeof(r)) != sizeof(r))
				r = -1;
		} else {
			r = flow_recv(f);
		}
	}
	waitpid(child, NULL, 0);
	close(res[0]);
	return r;
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

/*
 * The driver domain's network, in the namespace of its init dd: the bridge br0 and the NIC nic0
 * on it, a veth whose other end, ext0, is in ours (the outside world's), addressed 10.9.0.1:
 * 0 or -1.
 */
static int world_make(pid_t dd)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "nsenter --net=/proc/%d/ns/net sh -c 'ip link add br0 type bridge && "
		 "ip link add nic0 type veth peer name ext0 netns %d && "
		 "ip link set nic0 master br0 up && ip link set br0 up'",
		 (int)dd, (int)getpid());
	if (system(cmd) != 0)
		return -1;
	return set_ip("ext0", "10.9.0.1");
}

/* The driver domain and the guest, their vif connected: pvio-netfront's pid, or -1. */
static pid_t pvio_make(struct embed *e, pid_t *netback, domid_t *guest, unsigned int queues)
{
	const struct xenbus_kv mac[] = { { "mac", "00:16:3e:00:00:01" }, { "bridge", "br0" } };
	char back[PATH_MAX], front[PATH_MAX];
	char nq[16];
	char *bargv[] = { back, "--max-queues", nq, "--bridge", "br0", NULL };
	char *fargv[] = { front, "--queues", nq, NULL };
	struct xenbus_device_spec spec;
	domid_t dd, fe;
	struct xs_handle *xs;
	pid_t nf;

	snprintf(nq, sizeof(nq), "%u", queues);
	beside("pvio-netback", back, sizeof(back));
	beside("pvio-netfront", front, sizeof(front));
	if (embed_domain_create(e, "dd", &dd) || embed_domain_create(e, "guest", &fe))
		return -1;
	*guest = fe;
	if (world_make(embed_domain_init(e, dd))) {
		fprintf(stderr, "pvio-netbench: the driver domain's bridge and NIC failed\n");
		return -1;
	}
	spec = (struct xenbus_device_spec){ .kind = "vif",
					    .frontend_id = fe,
					    .backend_id = dd,
					    .front_extra = mac,
					    .n_front_extra = 1,
					    .back_extra = mac,
					    .n_back_extra = 2 };
	xs = xs_open(0);
	if (!xs || xenbus_device_add(xs, &spec))
		return -1;
	xs_close(xs);
	if (embed_domain_spawn(e, dd, bargv, netback) || embed_domain_spawn(e, fe, fargv, &nf))
		return -1;
	return nf;
}

static unsigned int rounds = 3;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The first line of /proc/loadavg. */
static const char *loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "unknown\n");
	if (f)
		fclose(f);
	return buf;
}

/* The ratio against its target, for the table. */
static const char *target(double ratio, double want)
{
	static char buf[40];

	snprintf(buf, sizeof(buf), "   target %.1f %s", want, ratio >= want ? "met" : "NOT met");
	return buf;
}

/* One flow one way, pvio and veth alternated for the rounds, printed with their medians. */
static void run_flow(const struct flow *f, bool in, pid_t nf, pid_t peer)
{
	double p[8], v[8], pm, vm;
	char what[64];

	for (unsigned int r = 0; r < rounds; r++) {
		p[r] = measure(nf, "eth0", "10.9.0.2", "10.9.0.1", f, in);
		v[r] = measure(peer, "veth-b", "10.8.0.2", "10.8.0.1", f, in);
	}
	pm = median(p, rounds);
	vm = median(v, rounds);
	if (f->tcp) {
		snprintf(what, sizeof(what), "TCP %u stream(s) %s", f->streams,
			 in ? "outside->guest" : "guest->outside");
		printf("%-36s pvio %7.3f Gbit/s   veth %7.3f Gbit/s   ratio %.2f%s\n", what,
		       pm * 8 / 1e9, vm * 8 / 1e9, vm > 0 ? pm / vm : 0,
		       target(vm > 0 ? pm / vm : 0, 0.8));
		return;
	}
	snprintf(what, sizeof(what), "UDP %zu-byte %s", f->size,
		 in ? "outside->guest" : "guest->outside");
	printf("%-36s pvio %9.0f pkt/s %7.3f Gbit/s   veth %9.0f pkt/s %7.3f Gbit/s   ratio "
	       "%.2f%s\n",
	       what, pm, pm * (double)f->size * 8 / 1e9, vm, vm * (double)f->size * 8 / 1e9,
	       vm > 0 ? pm / vm : 0, f->size == 18 ? target(vm > 0 ? pm / vm : 0, 0.5) : "");
}

int main(int argc, char **argv)
{
	/* 64-byte frames, full 1500-byte frames, then TCP on 1 and 4 connections. */
	static const struct flow flows[] = {
		{ .size = 18 },
		{ .size = 1472 },
		{ .tcp = true, .streams = 1 },
		{ .tcp = true, .streams = 4 },
	};
	unsigned int queues = 1;
	char la[128];
	struct embed_opts eo = { .die_with_parent = true };
	struct embed *e;
	pid_t nb, nf, peer;
	domid_t fe = 0;
	char vif[IFNAMSIZ];
	int c, fd;

	while ((c = getopt(argc, argv, "s:r:q:h")) != -1) {
		if (c == 's' && atoi(optarg) > 0) {
			seconds = (unsigned int)atoi(optarg);
		} else if (c == 'r' && atoi(optarg) > 0 && atoi(optarg) <= 8) {
			rounds = (unsigned int)atoi(optarg);
		} else if (c == 'q' && atoi(optarg) > 0 && atoi(optarg) <= 16) {
			queues = (unsigned int)atoi(optarg);
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: pvio-netbench [-s SECONDS] [-r ROUNDS] [-q QUEUES]\n");
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
	have_iperf3 = system("command -v iperf3 >/dev/null 2>&1") == 0;
	nf = pvio_make(e, &nb, &fe, queues);
	snprintf(vif, sizeof(vif), "vif%u.0", fe);
	if (nf <= 0 || veth_make(&peer)) {
		fprintf(stderr, "pvio-netbench: setting up the vif or the veth pair failed\n");
		embed_stop(e);
		return 1;
	}
	bench_print_machine("pvio-netbench");
	printf("load average at start: %s", loadavg(la, sizeof(la)));
	printf("%u s per measurement, pvio and veth alternated, median of %u rounds; guest eth0 "
	       "(%u queue(s)) <-> driver domain %s <-> bridge br0 <-> NIC nic0 <-> ext0 outside, "
	       "against veth-b <-> veth-a; TCP: %s; UDP: one sender, one receiver\n",
	       seconds, rounds, queues, vif,
	       have_iperf3 ? "iperf3" : "the tool's own streams (no iperf3)");
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
		for (int in = 0; in < 2; in++)
			run_flow(&flows[i], in, nf, peer);
	printf("load average at end: %s", loadavg(la, sizeof(la)));
	kill(peer, SIGKILL);
	kill(nf, SIGTERM);
	kill(nb, SIGTERM);
	waitpid(nf, NULL, 0);
	waitpid(nb, NULL, 0);
	return embed_stop(e) ? 1 : 0;
}
