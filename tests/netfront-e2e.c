/* SPDX-License-Identifier: MIT */
/*
 * netfront-e2e: a guest's pvio-netfront(8), in a network namespace of its own, talks to the
 * driver domain's pvio-netback(8) over xenstore, rings and grants; IPv4 crosses between the
 * guest's eth0 (10.9.0.2) and the driver domain's vif<fe>.0 (10.9.0.1): ARP both ways, then UDP
 * datagrams of 1, 100, 1472 and 8000 bytes (IP fragments, several frames in flight) echoed back
 * byte-exact; then a TCP stream of TCP_BYTES each way (TSO and partial checksums through the
 * virtio-net headers and GSO extra info), its bytes checked.  Both programs end with status 0
 * on SIGTERM.
 *
 * PVIO_NF_KILL=1 (tests/netfront-reconnect.sh) kill -9's pvio-netback a quarter into the TCP
 * stream dom0 sends and starts a new one: pvio-netfront reconnects by itself and the same TCP
 * connection carries on (retransmission), every byte checked.
 *
 * Before the TCP stream dom0 floods the guest with FLOOD small UDP datagrams (to a socket that
 * does not read them): the stream after it must still pass.
 *
 * PVIO_NF_MTU=9000 (tests/netfront-mtu9000.sh) sets that MTU on eth0 and the vif: the 8000-byte
 * datagram then crosses as one frame over three RX and TX slots.
 *
 * Once connected, dom0 checks in xenstore that both ends used split event channels: pvio-netback
 * offered feature-split-event-channels, and the front wrote event-channel-tx and -rx.
 *
 * PVIO_NF_QUEUES=N (tests/netfront-e2e-mq.sh) runs pvio-netback with --max-queues N and
 * pvio-netfront with --queues N, and expects N queues connected.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/blkback-env.h"
#include "tests/net-test.h"
#include "tests/xs-helpers.h"
#include "xenbus/toolstack.h"
#include "xenbus/xenbus.h"

#define PORT	  7777
#define TCP_BYTES (16u << 20)
#define FLOOD	  50000u
static const size_t sizes[] = { 1, 100, 1472, 8000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static struct tb_env env;
static pid_t daemon_pid; /* pvio-netback in the driver domain */

static int kill_restart(void);
static int pidpipe[2]; /* guest -> dom0: pvio-netfront's pid once its eth0 is up */

/* ---- the guest: runs pvio-netfront until dom0 is done ---- */

static int guest(struct hv *hv, struct xs_handle *xs)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	const char *nq = getenv("PVIO_NF_QUEUES");
	char prog[512], sock[256], line[128] = "", want[64];
	int out[2];
	pid_t pid;
	FILE *f;

	(void)hv, (void)xs;
	snprintf(prog, sizeof(prog), "%s/pvio-netfront", builddir && *builddir ? builddir : ".");
	t_xs_domain_socket(env.fe, sock, sizeof(sock));
	T_CHECK(pipe(out) == 0, "pipe");
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		setenv("XENSTORED_PATH", sock, 1);
		dup2(out[1], 1);
		if (nq)
			execl(prog, "pvio-netfront", "--queues", nq, (char *)NULL);
		else
			execl(prog, "pvio-netfront", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (nq)
		snprintf(want, sizeof(want), "eth0 up, %s queue(s)", nq);
	else
		snprintf(want, sizeof(want), "eth0 up");
	/* pvio-netback offers checksum offload and TSO both ways: 0x7. */
	T_CHECK(f && t_readable(out[0], NT_WAIT_MS) && fgets(line, sizeof(line), f) &&
		    strstr(line, want) && strstr(line, "offloads 0x7"),
		"pvio-netfront said \"%s\"", line);
	T_CHECK(t_put(pidpipe[1], &pid, sizeof(pid)) == 0, "pid");
	T_CHECK(tb_step(&env, 'D') == 0, "dom0 done");
	T_CHECK(kill(pid, SIGTERM) == 0 && t_wait(pid) == 0, "pvio-netfront's exit status");
	fclose(f);
	return 0;
}

/* ---- the driver domain ---- */

static int driver_domain(void *arg)
{
	const char *nq = getenv("PVIO_NF_QUEUES");
	const char *argv[5] = { "pvio-netback" };
	unsigned int a = 1;
	char prog[512];

	(void)arg;
	if (nq) {
		argv[a++] = "--max-queues";
		argv[a++] = nq;
	}
	if (getenv("PVIO_TEST_VERBOSE"))
		argv[a++] = "-vv";
	T_CHECK(tb_dd_enter(&env, "pvio-netback", prog, sizeof(prog)) == 0, "enter");
	/* A daemon killed by dom0 (kill -9) is started again, as a supervisor would. */
	for (;;) {
		pid_t pid = t_daemon_exec(prog, argv);
		int status;

		T_CHECK(pid > 0 && t_put(env.dd_out[1], &pid, sizeof(pid)) == 0, "start %s", prog);
		status = t_wait(pid);
		T_CHECK(t_put(env.dd_out[1], &status, sizeof(status)) == 0, "report");
		if (status != 128 + SIGKILL)
			break;
	}
	for (;;)
		pause();
}

/* ---- dom0 ---- */

/* Address ifname (in the caller's namespace) with ip/24: 0 or 1. */
static int set_ip(const char *ifname, const char *ip)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	ok = s >= 0 && ioctl(s, SIOCSIFADDR, &ifr) == 0;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
	if (s >= 0)
		close(s);
	T_CHECK(ok, "address %s on %s: %s", ip, ifname, strerror(errno));
	return 0;
}

/* The byte at position i of the TCP stream. */
static uint8_t stream_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

/* Write TCP_BYTES of the stream to s: 0 or 1. */
static int stream_send(int s, bool kill_midway)
{
	static uint8_t buf[65536];

	for (size_t done = 0; done < TCP_BYTES;) {
		if (kill_midway && done >= TCP_BYTES / 4) {
			T_CHECK(kill_restart() == 0, "restart");
			kill_midway = false;
		}
		size_t n = TCP_BYTES - done < sizeof(buf) ? TCP_BYTES - done : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(done + i);
		w = write(s, buf, n);
		T_CHECK(w > 0, "TCP write at %zu: %s", done, strerror(errno));
		done += (size_t)w;
	}
	return 0;
}

/* Read TCP_BYTES from s and check them against the stream: 0 or 1. */
static int stream_check(int s)
{
	static uint8_t buf[65536];

	for (size_t done = 0; done < TCP_BYTES;) {
		ssize_t n;

		T_CHECK(t_readable(s, 20000), "TCP stalled at %zu", done);
		n = read(s, buf, sizeof(buf));
		T_CHECK(n > 0, "TCP read at %zu: %zd", done, n);
		for (ssize_t i = 0; i < n; i++)
			T_CHECK(buf[i] == stream_byte(done + (size_t)i), "TCP byte %zu differs",
				done + (size_t)i);
		done += (size_t)n;
	}
	return 0;
}

/* The guest's end of the TCP stream: accept on l, take the stream, send it back: 0 or 1. */
static int tcp_guest(int l)
{
	int c;

	T_CHECK(t_readable(l, 20000), "no TCP connection");
	c = accept(l, NULL, NULL);
	T_CHECK(c >= 0 && stream_check(c) == 0 && stream_send(c, false) == 0, "guest's TCP");
	close(c);
	return 0;
}

/* dom0's end: connect to the guest, send the stream, take it back: 0 or 1. */
static int tcp_dom0(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
	T_CHECK(s >= 0 && connect(s, (struct sockaddr *)&to, sizeof(to)) == 0, "TCP connect: %s",
		strerror(errno));
	T_CHECK(stream_send(s, getenv("PVIO_NF_KILL")) == 0 && stream_check(s) == 0, "dom0's TCP");
	close(s);
	return 0;
}

/* The MTU of PVIO_NF_MTU on ifname, if set: 0 or 1. */
static int set_mtu(const char *ifname)
{
	const char *mtu = getenv("PVIO_NF_MTU");
	struct ifreq ifr = { 0 };
	int s, ok;

	if (!mtu)
		return 0;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = atoi(mtu);
	ok = s >= 0 && ioctl(s, SIOCSIFMTU, &ifr) == 0;
	if (s >= 0)
		close(s);
	T_CHECK(ok, "MTU %s on %s: %s", mtu, ifname, strerror(errno));
	return 0;
}

/* dom0: FLOOD datagrams of 18 bytes (a minimum frame) to the guest's port PORT + 1: 0 or 1. */
static int flood(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT + 1) };
	char msg[18] = "flood";
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
	T_CHECK(s >= 0, "socket");
	for (unsigned int i = 0; i < FLOOD; i++)
		T_CHECK(sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) ==
				(ssize_t)sizeof(msg) ||
			    errno == ENOBUFS,
			"flood: %s", strerror(errno));
	close(s);
	return 0;
}

/* In the guest's namespace: eth0 addressed, then echo NSIZES datagrams, then the TCP stream. */
static int echo(pid_t nf)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static uint8_t buf[65536];
	char ns[64];
	int fd, s, l, sink;

	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)nf);
	fd = open(ns, O_RDONLY);
	T_CHECK(fd >= 0 && setns(fd, CLONE_NEWNET) == 0, "setns %s", ns);
	T_CHECK(set_ip("eth0", "10.9.0.2") == 0 && set_mtu("eth0") == 0, "eth0");
	sink = socket(AF_INET, SOCK_DGRAM, 0); /* the flood's target: never read */
	me.sin_port = htons(PORT + 1);
	T_CHECK(sink >= 0 && bind(sink, (struct sockaddr *)&me, sizeof(me)) == 0, "bind sink");
	me.sin_port = htons(PORT);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	T_CHECK(s >= 0 && bind(s, (struct sockaddr *)&me, sizeof(me)) == 0, "bind");
	l = socket(AF_INET, SOCK_STREAM, 0);
	T_CHECK(l >= 0 && bind(l, (struct sockaddr *)&me, sizeof(me)) == 0 && listen(l, 1) == 0,
		"TCP listen");
	for (unsigned int got = 0; got < NSIZES;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		T_CHECK(t_readable(s, 20000), "no datagram %u", got);
		n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		T_CHECK(n >= 0 && sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n,
			"echo");
		if ((size_t)n == sizes[got])
			got++;
	}
	return tcp_guest(l);
}

/*
 * kill -9 pvio-netback, take the new one's pid, address its new vif again (the TAP went with the
 * old daemon; the new one creates it before its InitWait, so retry until it exists): 0 or 1.
 */
static int kill_restart(void)
{
	struct ifreq ifr = { 0 };
	char ifname[IFNAMSIZ];
	int status = -1, s = socket(AF_INET, SOCK_DGRAM, 0), tries;

	T_CHECK(kill(daemon_pid, SIGKILL) == 0 &&
		    t_get(env.dd_out[0], &status, sizeof(status)) == 0 && status == 128 + SIGKILL,
		"kill -9 of pvio-netback: status %d", status);
	T_CHECK(t_get(env.dd_out[0], &daemon_pid, sizeof(daemon_pid)) == 0, "new pvio-netback");
	snprintf(ifname, sizeof(ifname), "vif%u.0", env.fe);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	for (tries = 0; tries < 1000 && ioctl(s, SIOCGIFINDEX, &ifr) < 0; tries++)
		usleep(10000);
	close(s);
	T_CHECK(tries < 1000, "%s did not come back", ifname);
	return set_ip(ifname, "10.9.0.1") || set_mtu(ifname);
}

/* Send each size to the guest and expect it back byte-exact: 0 or 1. */
static int exchange(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static uint8_t out[8000], in[65536];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	T_CHECK(s >= 0, "socket");
	inet_pton(AF_INET, "10.9.0.2", &to.sin_addr);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 13 + (i >> 8));
	for (unsigned int k = 0; k < NSIZES; k++) {
		ssize_t n = -1;

		/* Resent while ARP and the first frames settle; an echo must come within 20 s. */
		for (int tries = 0; tries < 20 && n != (ssize_t)sizes[k]; tries++) {
			T_CHECK(sendto(s, out, sizes[k], 0, (struct sockaddr *)&to, sizeof(to)) ==
				    (ssize_t)sizes[k],
				"sendto");
			while (t_readable(s, 1000) &&
			       (n = recv(s, in, sizeof(in), 0)) != (ssize_t)sizes[k])
				;
		}
		T_CHECK(n == (ssize_t)sizes[k] && !memcmp(in, out, sizes[k]),
			"echo of %zu bytes: %zd bytes back", sizes[k], n);
	}
	close(s);
	return 0;
}

/*
 * Both ends used split event channels: pvio-netback offered them, and the front wrote
 * event-channel-tx and -rx (two ports) for each queue instead of event-channel: 0 or 1.
 */
static int split_check(struct xs_handle *h)
{
	char fe[96], be[96], dir[128];
	uint32_t offered = 0, tx = 0, rx = 0, one, n = 1;

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/0", env.fe);
	/* The queues (the online CPUs unless PVIO_NF_QUEUES): as many as the front wrote. */
	xenbus_read_u32_at(h, XBT_NULL, fe, "multi-queue-num-queues", &n);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/%u/0", env.dd, env.fe);
	T_CHECK(xenbus_read_u32_at(h, XBT_NULL, be, "feature-split-event-channels", &offered) ==
			0 &&
		    offered == 1,
		"feature-split-event-channels not offered");
	for (unsigned int i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), n > 1 ? "%s/queue-%u" : "%s", fe, i);
		T_CHECK(xenbus_read_u32_at(h, XBT_NULL, dir, "event-channel-tx", &tx) == 0 &&
			    xenbus_read_u32_at(h, XBT_NULL, dir, "event-channel-rx", &rx) == 0 &&
			    tx != rx,
			"%s: event-channel-tx %u, -rx %u", dir, tx, rx);
		T_CHECK(xenbus_read_u32_at(h, XBT_NULL, dir, "event-channel", &one) == -ENOENT,
			"%s: event-channel too", dir);
	}
	return 0;
}

static int run(struct xs_handle *h)
{
	/* libxl writes mac into both directories. */
	const struct xenbus_kv back[] = { { "mac", "00:16:3e:00:00:01" } };
	struct xenbus_device_spec s = { .kind = "vif",
					.frontend_id = env.fe,
					.backend_id = env.dd,
					.back_extra = back,
					.n_back_extra = 1,
					.front_extra = back,
					.n_front_extra = 1 };
	char ifname[IFNAMSIZ], c;
	pid_t nf, child;
	int rc;

	T_CHECK(xenbus_device_add(h, &s) == 0, "add vif");
	T_CHECK(tb_env_go_dd(&env) == 0, "go");
	T_CHECK(t_get(env.dd_out[0], &daemon_pid, sizeof(daemon_pid)) == 0, "daemon pid");
	T_CHECK(tb_env_go_guest(&env) == 0, "go");
	T_CHECK(t_get(pidpipe[0], &nf, sizeof(nf)) == 0, "pvio-netfront did not come up");
	snprintf(ifname, sizeof(ifname), "vif%u.0", env.fe);
	T_CHECK(set_ip(ifname, "10.9.0.1") == 0 && set_mtu(ifname) == 0, "vif address");
	T_CHECK(split_check(h) == 0, "split event channels");
	child = fork();
	T_CHECK(child >= 0, "fork");
	if (child == 0)
		_exit(echo(nf));
	rc = exchange();
	if (!rc)
		rc = flood();
	if (!rc)
		rc = tcp_dom0();
	if (rc)
		kill(child, SIGKILL);
	T_CHECK(t_wait(child) == 0 && rc == 0, "exchange");
	T_CHECK(t_get(env.steps.ab[0], &c, 1) == 0 && c == 'D' &&
		    t_put(env.steps.ba[1], &c, 1) == 0,
		"guest step");
	T_CHECK(t_wait(env.guest_pid) == 0, "guest failed");
	T_CHECK(tb_daemon_term(&env, daemon_pid) == 0, "SIGTERM");
	return 0;
}

int main(void)
{
	int rc;

	t_time_limit(T_TIME_LIMIT_S);
	rc = nt_netns();
	if (rc)
		return rc;
	T_CHECK(pipe(pidpipe) == 0, "pipe");
	return tb_env_main(&env, driver_domain, guest, run);
}
