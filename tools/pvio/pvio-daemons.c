/* SPDX-License-Identifier: MIT */
/*
 * pvio-daemons.c - pvio up and pvio down: pvio-hv, pvio-xenstored and the reaper (launch/embed.h)
 * in the background, with pid files in the runtime directory.  pvio down stops exactly the
 * daemons of the runtime directory it resolves (their sockets are on their command lines), after
 * destroying every domain.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launch/cgroup.h"
#include "launch/embed.h"
#include "tools/pvio/pvio.h"

#define PVIO_STOP_MS 5000 /* SIGTERM, then this long, then SIGKILL */
#define PVIO_POLL_MS 10

/* One daemon as pvio up records it. */
struct pvio_daemon {
	const char *name;    /* the program, also its /proc/PID/comm */
	const char *pidfile; /* its pid file's name in the runtime directory */
	const char *sock;    /* its socket's name in the runtime directory: on its command line */
};

/* In the order pvio down stops them: the reaper and xenstored follow pvio-hv. */
static const struct pvio_daemon daemons[] = {
	{ "pvio-reaper", "reaper.pid", NULL },
	{ "pvio-xenstored", "xenstored.pid", "xenstored.sock" },
	{ "pvio-hv", "hv.pid", "hv.sock" },
};

#define N_DAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static void pvio_msleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void pidfile_path(const struct pvio_env *env, const struct pvio_daemon *d, char *buf,
			 size_t len)
{
	snprintf(buf, len, "%s/%s", env->rundir, d->pidfile);
}

/* The pid in d's pid file, or 0 if there is none or it is not a number. */
static pid_t pidfile_read(const struct pvio_env *env, const struct pvio_daemon *d)
{
	char path[PATH_MAX + 32];
	long pid = 0;
	FILE *f;

	pidfile_path(env, d, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > INT_MAX)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

static int pidfile_write(const struct pvio_env *env, const struct pvio_daemon *d, pid_t pid)
{
	char path[PATH_MAX + 32];
	FILE *f;
	int ret = 0;

	pidfile_path(env, d, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return pvio_err(path, -errno);
	fprintf(f, "%d\n", (int)pid);
	if (fclose(f) != 0)
		ret = pvio_err(path, -errno);
	return ret;
}

/* Read /proc/PID/what into buf (NUL-terminated): the bytes read, or 0. */
static ssize_t proc_read(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return n;
}

/* Whether pid runs (not a zombie) as the program named. */
static bool daemon_alive(pid_t pid, const char *name)
{
	char stat[256], *p;

	if (!proc_read(pid, "stat", stat, sizeof(stat)))
		return false;
	/* "pid (comm) S ...": comm is at most 15 characters. */
	p = strrchr(stat, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	*p = '\0';
	p = strchr(stat, '(');
	return p && !strncmp(p + 1, name, 15);
}

/* Whether one argument of pid's command line is arg. */
static bool cmdline_has(pid_t pid, const char *arg)
{
	char buf[8192];
	ssize_t n = proc_read(pid, "cmdline", buf, sizeof(buf));

	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strcmp(p, arg))
			return true;
	return false;
}

/* The live daemon d of this runtime directory (its socket on its command line), or 0. */
static pid_t daemon_find(const struct pvio_env *env, const struct pvio_daemon *d)
{
	char sock[PATH_MAX + 32];
	pid_t pid = pidfile_read(env, d);

	if (!pid || !daemon_alive(pid, d->name))
		return 0;
	snprintf(sock, sizeof(sock), "%s/%s", env->rundir, d->sock ? d->sock : "");
	return !d->sock || cmdline_has(pid, sock) ? pid : 0;
}

static const char up_usage[] =
    "usage: pvio up [--dir DIR] [--same-uid] [-v]\n"
    "Start pvio-hv, pvio-xenstored and the reaper in the background, with their sockets, pid\n"
    "files and logs in DIR, and print the environment a shell needs to use them.\n"
    "  --same-uid  as a normal user without newuidmap or /etc/subuid and /etc/subgid ranges:\n"
    "              run domains under your own uid (not isolated from each other) rather\n"
    "              than refusing them\n";

static int up_check_not_running(const struct pvio_env *env)
{
	size_t i;

	for (i = 0; i < N_DAEMONS; i++) {
		pid_t pid = daemon_find(env, &daemons[i]);

		if (pid)
			return pvio_fail("%s: already up (%s pid %d); 'pvio down' first",
					 env->rundir, daemons[i].name, (int)pid);
	}
	return 0;
}

/*
 * A normal user's domains: host uids of their own (launch/subid.h), or refused unless same_uid,
 * which is recorded for pvio create; what a normal user's dom0 cannot give a domain is said once.
 */
static int up_ids(const struct pvio_env *env, bool same_uid)
{
	char path[PATH_MAX + 16];
	struct stat st;
	FILE *f;

	if (geteuid() == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/" PVIO_SAME_UID_FILE, env->rundir);
	if (!same_uid) {
		unlink(path);
	} else if (!(f = fopen(path, "we")) || fclose(f) != 0) {
		return pvio_err(path, -errno);
	}
	if (pvio_ids_check(env, 1))
		return 1;
	if (stat("/dev/net/tun", &st) < 0 || (st.st_mode & 0006) != 0006)
		pvio_warn("not root: a domain cannot make TAPs (/dev/net/tun is not open to its "
			  "uid, and only root can make it a node of its own)");
	if (access("/sys/fs/cgroup/memory", W_OK) < 0)
		pvio_warn("not root: no --memory or --pids for domains (the cgroup v1 "
			  "controllers are root's)");
	return 0;
}

static int up_start(const struct pvio_env *env, bool verbose, bool same_uid)
{
	struct embed_opts opts = { .dir = env->rundir, .verbose = verbose, .detach = true };
	char why[PATH_MAX + 64];
	struct embed *e;
	int ret;

	/* Ours to keep: embed_start must not remove it, with the logs, if a daemon fails. */
	if (mkdir(env->rundir, 0700) < 0 && errno != EEXIST)
		return pvio_err(env->rundir, -errno);
	/* /tmp/pvio-UID may have been made by anyone: its sockets and marks must be ours alone. */
	if (!pvio_ours(env->rundir))
		return pvio_fail("%s: not a directory of yours alone (another's, a symlink, or "
				 "writable by others): refusing it",
				 env->rundir);
	if (pvio_trusted(env->rundir, why, sizeof(why)))
		return pvio_fail("%s: not trusted: %s: refusing it", env->rundir, why);
	if (up_ids(env, same_uid))
		return 1;
	ret = embed_start(&e, &opts);
	if (ret < 0)
		return pvio_fail("%s: could not start the daemons: %s (logs: %s/*.log)",
				 env->rundir, strerror(-ret), env->rundir);
	ret = pidfile_write(env, &daemons[0], embed_reaper_pid(e));
	if (ret == 0)
		ret = pidfile_write(env, &daemons[1], embed_xs_pid(e));
	if (ret == 0)
		ret = pidfile_write(env, &daemons[2], embed_hv_pid(e));
	if (ret) {
		embed_stop(e);
		return ret;
	}
	/* Everything a later command needs, pvio down included, to find this instance. */
	printf("export PVIO_RUNDIR=%s\n", env->rundir);
	printf("export PVIO_HV_SOCKET=%s\n", embed_hv_socket(e));
	printf("export XENSTORED_PATH=%s\n", embed_xs_socket(e));
	embed_release(e);
	return 0;
}

int pvio_cmd_up(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "verbose", no_argument, NULL, 'v' },
					      { "same-uid", no_argument, NULL, 'u' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	struct pvio_env env;
	const char *dir = NULL;
	bool verbose = false, same_uid = false;
	int opt;

	while ((opt = pvio_getopt(argc, argv, "d:vh", opts, up_usage)) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'v')
			verbose = true;
		else if (opt == 'u')
			same_uid = true;
		else
			return opt == 'h' ? 0 : 2;
	}
	if (optind != argc) {
		fputs(up_usage, stderr);
		return 2;
	}
	/* The daemons go where pvio up puts them, whatever the environment says now. */
	if (pvio_env_init(&env, dir, 0) || up_check_not_running(&env))
		return 1;
	return up_start(&env, verbose, same_uid);
}

/* SIGTERM, wait up to PVIO_STOP_MS, SIGKILL.  0, or 1 if it had to be killed. */
static int down_stop(pid_t pid, const char *name)
{
	unsigned int waited;

	if (kill(pid, SIGTERM) < 0)
		return errno == ESRCH ? 0 : pvio_err(name, -errno);
	for (waited = 0; waited < PVIO_STOP_MS; waited += PVIO_POLL_MS) {
		if (!daemon_alive(pid, name))
			return 0;
		pvio_msleep(PVIO_POLL_MS);
	}
	pvio_warn("%s (pid %d) ignored SIGTERM for %u s; killing it", name, (int)pid,
		  PVIO_STOP_MS / 1000);
	kill(pid, SIGKILL);
	return 1;
}

/* Whether domid serves devices: it has a backend/ directory with something in it. */
static bool down_is_driver_domain(struct xs_handle *xs, domid_t domid)
{
	char path[64];
	unsigned int n = 0;
	char **ents;

	snprintf(path, sizeof(path), "/local/domain/%u/backend", (unsigned int)domid);
	ents = xs_directory(xs, XBT_NULL, path, &n);
	free(ents);
	return ents && n > 0;
}

/*
 * Destroy every domain as pvio destroy does, guests first, so that the driver domains' back-ends
 * see their front-ends go and close their devices before they go themselves.  1 if one failed.
 */
static int down_domains(const struct pvio_env *env)
{
	struct hvctl_domain_info info[256];
	bool driver[256];
	struct xs_handle *xs;
	struct hvctl *ctl;
	int n, i, pass, ret = 0;

	if (pvio_hv_open(env, &ctl))
		return 1;
	n = hvctl_domain_list(ctl, info, 256);
	if (n <= 0 || pvio_xs_open(env, &xs)) {
		hvctl_close(ctl);
		return n < 0 ? pvio_err("pvio-hv: list", n) : n > 0;
	}
	for (i = 0; i < n; i++)
		driver[i] = down_is_driver_domain(xs, info[i].domid);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			int r;

			if (driver[i] != (pass == 1))
				continue;
			r = pvio_domain_destroy(env, ctl, xs, info[i].domid);
			if (r < 0 && r != -ESRCH)
				ret = pvio_err(info[i].name, r);
		}
	}
	xs_close(xs);
	hvctl_close(ctl);
	return ret;
}

static const char down_usage[] =
    "usage: pvio down\n"
    "Destroy every domain (guests first, then driver domains) and stop the daemons pvio up\n"
    "started.\n";

int pvio_cmd_down(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	char why[PATH_MAX + 64];
	pid_t pids[N_DAEMONS];
	struct pvio_env env;
	bool found = false;
	int opt, ret = 0;
	size_t i;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, down_usage)) != -1)
		return opt == 'h' ? 0 : 2;
	if (optind != argc) {
		fputs(down_usage, stderr);
		return 2;
	}
	/* This instance: the directory the environment names, and the daemons serving it. */
	if (pvio_env_init(&env, NULL, PVIO_ENV_FOLLOW))
		return 1;
	/* Its pid files say whom to signal: only if no one but root and us could write them. */
	if (access(env.rundir, F_OK) == 0 && pvio_trusted(env.rundir, why, sizeof(why)))
		return pvio_fail("%s: not trusted: %s: refusing it", env.rundir, why);
	for (i = 0; i < N_DAEMONS; i++) {
		pids[i] = daemon_find(&env, &daemons[i]);
		found |= pids[i] != 0;
	}
	if (!found)
		return pvio_fail("%s: not up", env.rundir);
	if (pids[1] && pids[2])
		ret = down_domains(&env);
	/* And the cgroups of limited domains that ended on their own (destroy had none to end). */
	if (cgroup_remove_all(env.rundir) < 0)
		pvio_fail("%s: cgroups of its domains are left", env.rundir);
	for (i = 0; i < N_DAEMONS; i++) {
		if (pids[i])
			ret |= down_stop(pids[i], daemons[i].name);
		pidfile_path(&env, &daemons[i], path, sizeof(path));
		unlink(path);
	}
	return ret;
}
