/* SPDX-License-Identifier: MIT */
/*
 * admin.c - `pvio-hv list|create|destroy|fairness`: an administrator's view of a
 * running daemon, through the same control client as the toolstack.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "sim/admin.h"

static int ctl_open(const char *path, struct hvctl **ctl)
{
	int ret = hvctl_open(ctl, path);

	if (ret < 0)
		fprintf(stderr, "pvio-hv: %s: %s\n", path, strerror(-ret));
	return ret;
}

/* Every live domain: ask for more room until the list fits. */
static int list_fetch(struct hvctl *ctl, struct hvctl_domain_info **out)
{
	unsigned int max = 64;
	int n;

	for (;;) {
		struct hvctl_domain_info *buf = realloc(*out, max * sizeof(*buf));

		if (!buf)
			return -ENOMEM;
		*out = buf;
		n = hvctl_domain_list(ctl, buf, max);
		if (n < 0 || (unsigned int)n < max || max >= DOMID_FIRST_RESERVED)
			return n;
		max *= 2;
	}
}

static int cmd_list(const char *path, int argc, char **argv)
{
	struct hvctl_domain_info *info = NULL;
	struct hvctl *ctl;
	int i, n;

	(void)argv;
	if (argc != 1) {
		fputs("usage: pvio-hv [-s PATH] list\n", stderr);
		return 2;
	}
	if (ctl_open(path, &ctl) < 0)
		return 1;
	n = list_fetch(ctl, &info);
	hvctl_close(ctl);
	if (n < 0) {
		fprintf(stderr, "pvio-hv: %s: %s\n", path, strerror(-n));
		free(info);
		return 1;
	}
	printf("%-32s %5s %8s %10s %10s\n", "Name", "ID", "Sessions", "Pool", "Used");
	for (i = 0; i < n; i++)
		printf("%-32s %5u %8u %10u %10u\n", info[i].name, info[i].domid, info[i].sessions,
		       info[i].pool_pages, info[i].pool_used);
	free(info);
	return 0;
}

/* A child's end as an exit status: its own code, or 128 + the killing signal. */
static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Create the domain, start CMD in it, and hand the domain's life to CMD. */
static int create_run(const char *path, const char *name, char **cmd)
{
	struct hvctl *ctl;
	domid_t domid;
	pid_t pid;
	int ret, token;

	if (ctl_open(path, &ctl) < 0)
		return 1;
	ret = hvctl_domain_create(ctl, name, 0, &domid, &token);
	hvctl_close(ctl);
	if (ret < 0) {
		fprintf(stderr, "pvio-hv: create %s: %s\n", name, strerror(-ret));
		return 1;
	}
	printf("domain %s id %u\n", name, domid);
	fflush(stdout);
	ret = hvctl_spawn(path, token, cmd, &pid);
	/* Our copy of the token goes: the domain now lives as long as CMD's processes. */
	close(token);
	if (ret < 0) {
		fprintf(stderr, "pvio-hv: %s: %s\n", cmd[0], strerror(-ret));
		return 127;
	}
	return wait_status(pid);
}

static int cmd_create(const char *path, int argc, char **argv)
{
	int first = 2;

	if (argc > 2 && !strcmp(argv[2], "--"))
		first = 3;
	if (argc <= first) {
		fputs("usage: pvio-hv [-s PATH] create NAME [--] CMD [ARG...]\n", stderr);
		return 2;
	}
	return create_run(path, argv[1], argv + first);
}

static int cmd_destroy(const char *path, int argc, char **argv)
{
	struct hvctl *ctl;
	unsigned long id;
	char *end = NULL;
	int ret;

	if (argc == 2)
		id = strtoul(argv[1], &end, 10);
	if (argc != 2 || !end || end == argv[1] || *end || id >= DOMID_FIRST_RESERVED) {
		fputs("usage: pvio-hv [-s PATH] destroy DOMID\n", stderr);
		return 2;
	}
	if (ctl_open(path, &ctl) < 0)
		return 1;
	ret = hvctl_domain_destroy(ctl, (domid_t)id);
	hvctl_close(ctl);
	if (ret < 0) {
		fprintf(stderr, "pvio-hv: destroy %lu: %s\n", id, strerror(-ret));
		return 1;
	}
	return 0;
}

/* The daemon's fairness counts, as pvio-xenstored's CONTROL fairness prints its own. */
static int cmd_fairness(const char *path, int argc, char **argv)
{
	struct hvctl *ctl;
	unsigned int ahead;
	uint64_t reqs;
	int ret;

	(void)argv;
	if (argc != 1) {
		fputs("usage: pvio-hv [-s PATH] fairness\n", stderr);
		return 2;
	}
	if (ctl_open(path, &ctl) < 0)
		return 1;
	ret = hvctl_fairness(ctl, &reqs, &ahead);
	hvctl_close(ctl);
	if (ret < 0) {
		fprintf(stderr, "pvio-hv: fairness: %s\n", strerror(-ret));
		return 1;
	}
	printf("dom0-requests %llu\nguest-requests-ahead-max %u\n", (unsigned long long)reqs,
	       ahead);
	return 0;
}

int hvd_admin(const char *path, int argc, char **argv)
{
	if (!strcmp(argv[0], "list"))
		return cmd_list(path, argc, argv);
	if (!strcmp(argv[0], "create"))
		return cmd_create(path, argc, argv);
	if (!strcmp(argv[0], "destroy"))
		return cmd_destroy(path, argc, argv);
	if (!strcmp(argv[0], "fairness"))
		return cmd_fairness(path, argc, argv);
	fprintf(stderr, "pvio-hv: %s: unknown command (list, create, destroy, fairness)\n",
		argv[0]);
	return 2;
}
