/* SPDX-License-Identifier: MIT */
/*
 * domain-caps: what a domain's root may do over its own namespaces.
 *  - A domain without a TAP node or FUSE (embed_domain_opts.no_tap) holds no capability at all,
 *    in any set, even as uid 0 inside and after an execve: no mount (tmpfs, overlay), no new
 *    network namespace, no raw socket.
 *  - A domain with a TAP node keeps only what TAPs, FUSE and a daemon's privilege drop need
 *    (CAP_NET_ADMIN among them, CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_MKNOD, CAP_BPF not).
 *  - In both, AF_NETLINK opens only as NETLINK_ROUTE (not nf_tables' NETLINK_NETFILTER, audit,
 *    generic netlink, ...), and AF_PACKET not at all: each refused with EPERM.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "launch/embed.h"
#include "tests/helpers.h"

#define CAP(c) (1ull << (c))

/* The hex value of "Name:" in /proc/self/status. */
static int cap_field(const char *name, uint64_t *v)
{
	char line[128];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	int ret = -1;

	if (!f)
		return -1;
	while (ret && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && sscanf(line + n, " %" SCNx64, v) == 1)
			ret = 0;
	}
	fclose(f);
	return ret;
}

/* socket() refused with EPERM. */
static bool refused(int domain, int type, int proto)
{
	int fd = socket(domain, type | SOCK_CLOEXEC, proto);

	if (fd >= 0)
		close(fd);
	return fd < 0 && errno == EPERM;
}

static int sockets(void)
{
	static const int protos[] = { NETLINK_NETFILTER, NETLINK_AUDIT,	 NETLINK_GENERIC,
				      NETLINK_SOCK_DIAG, NETLINK_XFRM,	 NETLINK_KOBJECT_UEVENT,
				      NETLINK_CONNECTOR, NETLINK_SELINUX };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	T_CHECK(fd >= 0, "NETLINK_ROUTE: %s", strerror(errno));
	close(fd);
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		T_CHECK(refused(AF_NETLINK, SOCK_RAW, protos[i]), "netlink protocol %d opened",
			protos[i]);
	T_CHECK(refused(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), "AF_PACKET opened");
	T_CHECK(refused(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL)), "AF_PACKET (dgram) opened");
	return 0;
}

/* Inside the domain without TAP: nothing, and exec of a root program gives nothing back. */
static int plain(void *arg)
{
	static const char *const sets[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	uint64_t v = 0;
	int status;
	pid_t pid;

	(void)arg;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		T_CHECK(cap_field(sets[i], &v) == 0 && v == 0, "%s %016" PRIx64, sets[i], v);
	T_CHECK(getuid() == 0, "not uid 0 inside");
	T_CHECK(mkdir("/tmp/m", 0700) == 0, "mkdir");
	T_CHECK(mount("tmpfs", "/tmp/m", "tmpfs", 0, NULL) < 0, "tmpfs mounted");
	T_CHECK(mount("overlay", "/tmp/m", "overlay", 0, "lowerdir=/usr:/etc") < 0,
		"overlay mounted");
	T_CHECK(unshare(CLONE_NEWNET) < 0, "a network namespace made");
	T_CHECK(refused(AF_INET, SOCK_RAW, IPPROTO_ICMP), "a raw socket opened");
	/* A program run by uid 0 gains no capability either. */
	pid = fork();
	if (pid == 0) {
		execlp("grep", "grep", "-q", "^CapEff:.*[1-9a-f]", "/proc/self/status", NULL);
		_exit(127);
	}
	T_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		"an exec'd program has capabilities (grep status %#x)", status);
	return sockets();
}

/* Inside the domain with its TAP node: the few capabilities its devices need. */
static int tap(void *arg)
{
	uint64_t bnd = 0, eff = 0;

	(void)arg;
	T_CHECK(cap_field("CapBnd:", &bnd) == 0 && cap_field("CapEff:", &eff) == 0, "status");
	T_CHECK(bnd & CAP(CAP_NET_ADMIN), "CAP_NET_ADMIN dropped: %016" PRIx64, bnd);
	T_CHECK(!(bnd &
		  (CAP(CAP_SYS_PTRACE) | CAP(CAP_SYS_MODULE) | CAP(CAP_MKNOD) | CAP(CAP_SYS_RAWIO) |
		   CAP(CAP_BPF) | CAP(CAP_SYS_CHROOT) | CAP(CAP_SETFCAP) | CAP(CAP_AUDIT_CONTROL))),
		"CapBnd %016" PRIx64, bnd);
	T_CHECK((eff & ~bnd) == 0, "CapEff %016" PRIx64 " beyond CapBnd", eff);
	return sockets();
}

int main(void)
{
	struct embed_opts opts = { .die_with_parent = true };
	struct embed_domain_opts none = { .no_tap = true }, with_tap = { 0 };
	struct embed *e;
	domid_t a, b;
	pid_t pid;

	t_time_limit(T_TIME_LIMIT_S);
	if (geteuid() != 0) {
		fprintf(stderr,
			"SKIP: a domain has a TAP node of its own only when made by root\n");
		return T_SKIP;
	}
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(embed_domain_create_with(e, "plain", &none, &a) == 0, "create plain");
	T_CHECK(embed_domain_create_with(e, "tap", &with_tap, &b) == 0, "create tap");
	T_CHECK(embed_domain_fork(e, a, plain, NULL, &pid) == 0 && t_wait(pid) == 0,
		"the domain without TAP (see above)");
	T_CHECK(embed_domain_fork(e, b, tap, NULL, &pid) == 0 && t_wait(pid) == 0,
		"the domain with TAP (see above)");
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
