/* SPDX-License-Identifier: MIT */
/*
 * domain-tun: a process of an isolated domain (not shared), under its domain's uid, opens
 * /dev/net/tun and makes a TAP (the host's node may be root's alone, 0600), and the TAP is in the
 * domain's network namespace: the host's has no such interface, the domain's init's has.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/embed.h"
#include "tests/helpers.h"

#define TAP "pviotuntest0"

/* In the domain: a persistent TAP, so that it outlives this process for the host to look at. */
static int make_tap(void *arg)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	(void)arg;
	T_CHECK(fd >= 0, "open /dev/net/tun in the domain: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	T_CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF: %s", strerror(errno));
	T_CHECK(ioctl(fd, TUNSETPERSIST, 1) == 0, "TUNSETPERSIST: %s", strerror(errno));
	T_CHECK(if_nametoindex(TAP) != 0, "%s is not in the domain's namespace", TAP);
	close(fd);
	return 0;
}

/* In a child of dom0: is TAP in the network namespace of process pid? 1 yes, 0 no. */
static int tap_in(pid_t pid)
{
	char path[64];
	pid_t child;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	child = fork();
	if (child == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(2);
		_exit(if_nametoindex(TAP) != 0);
	}
	return child < 0 ? -1 : t_wait(child);
}

int main(void)
{
	struct embed_opts opts = { .die_with_parent = true };
	struct embed *e;
	domid_t dom;
	pid_t pid;

	t_time_limit(T_TIME_LIMIT_S);
	if (access("/dev/net/tun", F_OK)) {
		fprintf(stderr, "SKIP: no /dev/net/tun\n");
		return T_SKIP;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: a domain's own uid needs root\n");
		return T_SKIP;
	}
	T_CHECK(if_nametoindex(TAP) == 0, "%s exists on the host already", TAP);
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(embed_domain_create(e, "tap", &dom) == 0, "create the domain");
	T_CHECK(embed_domain_fork(e, dom, make_tap, NULL, &pid) == 0, "fork in the domain");
	T_CHECK(t_wait(pid) == 0, "the domain could not make its TAP (see above)");
	T_CHECK(if_nametoindex(TAP) == 0, "the domain made %s in the host's namespace", TAP);
	T_CHECK(tap_in(embed_domain_init(e, dom)) == 1, "%s is not in the domain's namespace", TAP);
	T_CHECK(embed_domain_destroy(e, dom) == 0, "destroy the domain");
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
