/* SPDX-License-Identifier: MIT */
/*
 * netback-sandbox.c - the sandbox variants of netback-xenbus (netback-sandbox.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/netback-sandbox.h"

#define NOBODY	      65534u
#define NO_CAPS	      "0000000000000000"
#define CAP_NET_ADMIN "0000000000001000" /* 1 << 12 */

enum nbs_mode nbs_mode(const char *argv0)
{
	if (!strstr(argv0, "netback-sandbox"))
		return NBS_NONE;
	if (strstr(argv0, "-user"))
		return NBS_USER;
	return strstr(argv0, "-off") ? NBS_OFF : NBS_ROOT;
}

void nbs_args(enum nbs_mode mode, const char *args[3])
{
	args[0] = mode == NBS_USER ? "--user" : mode == NBS_OFF ? "--no-sandbox" : NULL;
	args[1] = mode == NBS_USER ? "65534:65534" : NULL;
	args[2] = NULL;
}

int nbs_prepare(enum nbs_mode mode, const char *dir, const char *stats)
{
	if (mode == NBS_USER)
		T_CHECK(chmod(dir, 0711) == 0 && chown(stats, NOBODY, NOBODY) == 0,
			"giving %s to the daemon's user: %s", stats, strerror(errno));
	return 0;
}

static int expect(pid_t pid, const char *who, const char *key, const char *want)
{
	char val[128] = "";
	int ret = t_proc_status(pid, key, val, sizeof(val));

	T_CHECK(ret == 0 && !strcmp(val, want), "%s (%d): %s is \"%s\", not \"%s\"", who, (int)pid,
		key, ret ? strerror(-ret) : val, want);
	return 0;
}

/* The one process whose parent is pid (the TAP helper), or 0 when there is none. */
static pid_t child_of(pid_t pid)
{
	struct dirent *e;
	pid_t found = 0;
	DIR *d = opendir("/proc");

	while (d && (e = readdir(d))) {
		char val[32];
		pid_t p = (pid_t)atoi(e->d_name);

		if (p > 0 && t_proc_status(p, "PPid:", val, sizeof(val)) == 0 && atoi(val) == pid)
			found = p;
	}
	if (d)
		closedir(d);
	return found;
}

/* A sandboxed process: flags, ids, and caps in the permitted, effective and bounding sets. */
static int sandboxed(pid_t pid, const char *who, unsigned int id, const char *caps)
{
	char ids[64];

	snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", id, id, id, id);
	T_CHECK(expect(pid, who, "NoNewPrivs:", "1") == 0 && expect(pid, who, "Seccomp:", "2") == 0,
		"%s: no_new_privs and seccomp", who);
	T_CHECK(expect(pid, who, "CapPrm:", caps) == 0 && expect(pid, who, "CapEff:", caps) == 0 &&
		    expect(pid, who, "CapBnd:", caps) == 0 &&
		    expect(pid, who, "CapInh:", NO_CAPS) == 0 &&
		    expect(pid, who, "CapAmb:", NO_CAPS) == 0,
		"%s: capabilities", who);
	T_CHECK(expect(pid, who, "Uid:", ids) == 0 && expect(pid, who, "Gid:", ids) == 0, "%s: ids",
		who);
	return 0;
}

int nbs_check(enum nbs_mode mode, pid_t daemon)
{
	unsigned int id = mode == NBS_USER ? NOBODY : 0;
	char val[32] = "";
	pid_t helper;

	if (mode == NBS_OFF) {
		T_CHECK(expect(daemon, "--no-sandbox", "Seccomp:", "0") == 0 &&
			    expect(daemon, "--no-sandbox", "NoNewPrivs:", "0") == 0 &&
			    t_proc_status(daemon, "CapEff:", val, sizeof(val)) == 0 &&
			    strcmp(val, NO_CAPS),
			"pvio-netback --no-sandbox dropped privilege");
		T_CHECK(child_of(daemon) == 0, "pvio-netback --no-sandbox started a TAP helper");
		return 0;
	}
	/* The daemon drops privilege once its services are open: a bounded wait (30 s) for that. */
	for (int i = 0; i < 3000 && strcmp(val, "2"); i++, t_msleep(10))
		T_CHECK(t_proc_status(daemon, "Seccomp:", val, sizeof(val)) == 0, "pvio-netback");
	T_CHECK(sandboxed(daemon, "pvio-netback", id, NO_CAPS) == 0, "the daemon's privilege");
	helper = child_of(daemon);
	T_CHECK(helper > 0, "pvio-netback has no TAP helper");
	T_CHECK(sandboxed(helper, "the TAP helper", 0, CAP_NET_ADMIN) == 0,
		"the TAP helper's privilege");
	return 0;
}
