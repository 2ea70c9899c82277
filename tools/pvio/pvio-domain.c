/* SPDX-License-Identifier: MIT */
/*
 * pvio-domain.c - pvio create, list and destroy.
 *
 * A domain pvio creates lives as long as the command run in it: pvio hands the domain's token
 * to that command only (and closes its own copy), so pvio-hv tears the domain down, and
 * xenstored releases it, once the command and whatever it started have exited.  The command's
 * process group is recorded in the runtime directory for destroy, which kills it too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/pvio/pvio.h"
#include "launch/teardown.h"

/* What the detached child of pvio create needs. */
struct create_child {
	const struct pvio_env *env; /* the daemons */
	domid_t domid;		    /* the new domain */
	int token;		    /* its token */
	const char *log;	    /* <rundir>/<name>.log */
	char *const *argv;	    /* the command */
};

/* In the child: a new session, stdio, the domain, then exec.  A negative errno on failure. */
static int create_child_setup(const struct create_child *c)
{
	char xs[PATH_MAX + 32];
	const char *slash = strrchr(c->env->xs_sock, '/');
	int fd;

	if (setsid() < 0)
		return -errno;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		return -errno;
	close(fd);
	fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -errno;
	close(fd);
	snprintf(xs, sizeof(xs), "%.*s/domain-%u/socket",
		 (int)(slash ? slash - c->env->xs_sock : 1), slash ? c->env->xs_sock : ".",
		 (unsigned int)c->domid);
	if (setenv("XENSTORED_PATH", xs, 1) < 0)
		return -errno;
	return hvctl_enter_domain(c->token, c->env->hv_sock);
}

static __attribute__((noreturn)) void create_child_run(const struct create_child *c, int report)
{
	int err = -create_child_setup(c);

	if (err == 0) {
		execvp(c->argv[0], c->argv);
		err = errno;
	}
	if (write(report, &err, sizeof(err)) < 0) {
		/* pvio then sees the command exit 127 in its log. */
	}
	_exit(127);
}

/* Fork the command into the domain; an exec failure comes back as its negative errno. */
static int create_spawn(const struct create_child *c, pid_t *pid)
{
	int report[2], err = 0;
	pid_t child;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	child = fork();
	if (child == 0)
		create_child_run(c, report[1]);
	close(report[1]);
	if (child < 0) {
		err = errno;
	} else {
		do {
			n = read(report[0], &err, sizeof(err));
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(err))
			err = 0;
		if (err)
			waitpid(child, NULL, 0);
	}
	close(report[0]);
	*pid = child;
	return -err;
}

/* <rundir>/domain-<domid>.pgid: the process group pvio create started in the domain. */
static void group_path(const struct pvio_env *env, domid_t domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/domain-%u.pgid", env->rundir, (unsigned int)domid);
}

/* Field 22 of /proc/PID/stat, the start time: with the pid, names one process for good. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	/* After "pid (comm)": state is field 3, start time field 22. */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		start = 0;
	fclose(f);
	return start;
}

/*
 * Record the command's process group (it called setsid: its pid), so that destroy can kill what
 * has no hypervisor session of its own (a shell, a sleep) and pvio-hv cannot see.
 */
static void group_record(const struct pvio_env *env, domid_t domid, pid_t pid)
{
	char path[PATH_MAX + 32];
	FILE *f;

	group_path(env, domid, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d %llu\n", (int)pid, proc_start(pid));
	fclose(f);
}

/* SIGKILL the group recorded for domid if its leader is still the process started. */
static void group_kill(const struct pvio_env *env, domid_t domid)
{
	char path[PATH_MAX + 32];
	unsigned long long start;
	int pgid;
	FILE *f;

	group_path(env, domid, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%d %llu", &pgid, &start) == 2 && pgid > 1 && start &&
	    proc_start(pgid) == start)
		kill(-pgid, SIGKILL);
	fclose(f);
	unlink(path);
}

int pvio_domain_destroy(const struct pvio_env *env, struct hvctl *ctl, struct xs_handle *xs,
			domid_t domid)
{
	/* pvio-hv first: the group's death alone could end the domain and make this -ESRCH. */
	int ret = hvctl_domain_destroy(ctl, domid);

	group_kill(env, domid);
	return ret < 0 ? ret : teardown_devices(xs, domid, TEARDOWN_TIMEOUT_MS, pvio_tool_log());
}

/* INTRODUCE the domain and write its name, as libxl does. */
static int create_introduce(const struct pvio_env *env, domid_t domid, const char *name)
{
	struct xs_handle *xs;
	char path[64];
	int ret = 0;

	if (pvio_xs_open(env, &xs))
		return 1;
	snprintf(path, sizeof(path), "/local/domain/%u/name", (unsigned int)domid);
	if (!xs_introduce_domain(xs, domid, 0, 0))
		ret = pvio_fail("pvio-xenstored: introduce domain %u: %s", domid, strerror(errno));
	else if (!xs_write(xs, XBT_NULL, path, name, strlen(name)))
		ret = pvio_err(path, -errno);
	xs_close(xs);
	return ret;
}

static int create_run(const struct pvio_env *env, const char *name, char *const *argv)
{
	char log[PATH_MAX + 80];
	struct create_child c = { .env = env, .argv = argv, .log = log, .token = -1 };
	struct hvctl *ctl;
	pid_t pid = -1;
	int ret;

	if (snprintf(log, sizeof(log), "%s/%s.log", env->rundir, name) >= (int)sizeof(log))
		return pvio_err(name, -ENAMETOOLONG);
	if (pvio_hv_open(env, &ctl))
		return 1;
	ret = hvctl_domain_create(ctl, name, 0, &c.domid, &c.token);
	if (ret < 0) {
		hvctl_close(ctl);
		return ret == -EEXIST ? pvio_fail("%s: a domain of that name exists", name)
				      : pvio_err(name, ret);
	}
	ret = create_introduce(env, c.domid, name);
	if (ret == 0) {
		ret = create_spawn(&c, &pid);
		if (ret < 0)
			ret = pvio_err(argv[0], ret);
		else
			group_record(env, c.domid, pid);
	}
	close(c.token);
	if (ret)
		hvctl_domain_destroy(ctl, c.domid);
	else
		printf("%u\n", (unsigned int)c.domid);
	hvctl_close(ctl);
	return ret;
}

static const char create_usage[] =
    "usage: pvio create NAME [--] CMD [ARG...]\n"
    "Create domain NAME, run CMD in it in the background (output to <rundir>/NAME.log) and\n"
    "print its domid.  The domain lives as long as CMD.\n";

int pvio_cmd_create(int argc, char **argv)
{
	struct pvio_env env;
	int opt;

	/* '+': options stop at NAME, so that CMD's own options stay CMD's. */
	while ((opt = pvio_getopt(argc, argv, "+h", NULL, create_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (argc - optind < 2) {
		fputs(create_usage, stderr);
		return 2;
	}
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT))
		return 1;
	if (!strcmp(argv[optind + 1], "--")) {
		if (argc - optind < 3) {
			fputs(create_usage, stderr);
			return 2;
		}
		return create_run(&env, argv[optind], argv + optind + 2);
	}
	return create_run(&env, argv[optind], argv + optind + 1);
}

static const char list_usage[] = "usage: pvio list\n"
				 "List the domains: name, id, processes, grant pool pages used.\n";

int pvio_cmd_list(int argc, char **argv)
{
	struct hvctl_domain_info info[256];
	struct pvio_env env;
	struct hvctl *ctl;
	int opt, i, n;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, list_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (optind != argc) {
		fputs(list_usage, stderr);
		return 2;
	}
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT) || pvio_hv_open(&env, &ctl))
		return 1;
	n = hvctl_domain_list(ctl, info, 256);
	hvctl_close(ctl);
	if (n < 0)
		return pvio_err("pvio-hv: list", n);
	printf("%-40s %5s %9s %17s\n", "Name", "ID", "Processes", "Pool(used/pages)");
	printf("%-40s %5u %9s %17s\n", "Domain-0", 0u, "-", "-");
	for (i = 0; i < n; i++) {
		char pool[32];

		snprintf(pool, sizeof(pool), "%u/%u", info[i].pool_used, info[i].pool_pages);
		printf("%-40s %5u %9u %17s\n", info[i].name, (unsigned int)info[i].domid,
		       info[i].sessions, pool);
	}
	return 0;
}

static const char destroy_usage[] =
    "usage: pvio destroy NAME|DOMID\n"
    "Kill the domain's processes, tear it down and remove its devices (waiting up to 10 s for\n"
    "their back-ends to close) and its xenstore home.\n";

int pvio_cmd_destroy(int argc, char **argv)
{
	struct pvio_env env;
	struct xs_handle *xs;
	struct hvctl *ctl;
	domid_t domid;
	int opt, ret;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, destroy_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (argc - optind != 1) {
		fputs(destroy_usage, stderr);
		return 2;
	}
	if (pvio_env_init(&env, NULL, PVIO_ENV_CLIENT) ||
	    pvio_domain_lookup(&env, argv[optind], &domid))
		return 1;
	if (domid == 0)
		return pvio_fail("%s: domain 0 cannot be destroyed", argv[optind]);
	if (pvio_hv_open(&env, &ctl))
		return 1;
	if (pvio_xs_open(&env, &xs)) {
		hvctl_close(ctl);
		return 1;
	}
	ret = pvio_domain_destroy(&env, ctl, xs, domid);
	xs_close(xs);
	hvctl_close(ctl);
	return ret < 0 ? pvio_err(argv[optind], ret) : 0;
}
