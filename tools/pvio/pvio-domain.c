/* SPDX-License-Identifier: MIT */
/*
 * pvio-domain.c - pvio create, list and destroy.
 *
 * A domain pvio creates lives as long as the command run in it: the command is the first process
 * of the domain's init (launch/sandbox.h), which exits with it and so ends every other process
 * of the domain; pvio hands the domain's token to that command only (and closes its own copy),
 * so pvio-hv tears the domain down, and xenstored releases it, then.  The init's process group
 * is recorded in the runtime directory for destroy, which kills it, and for list, which counts
 * the processes of its pid namespace.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/pvio/pvio.h"
#include "launch/cgroup.h"
#include "launch/sandbox.h"
#include "launch/teardown.h"

/* What pvio create starts in the new domain. */
struct create_child {
	const struct pvio_env *env;  /* the daemons */
	domid_t domid;		     /* the new domain */
	int token;		     /* its token */
	const char *log;	     /* <rundir>/<name>.log */
	char *const *argv;	     /* the command */
	const char *const *binds;    /* what the domain is given of the host's ([ro:|own:]PATH) */
	bool shared;		     /* --shared: not isolated */
	unsigned int fuse;	     /* --fuse: /dev/fuse descriptors handed to it */
	bool no_tap;		     /* --no-tap: no /dev/net/tun, no capability */
	char cgroup[64];	     /* its cgroups (--memory, --pids), or "" */
	char xs_sock[PATH_MAX + 48]; /* the domain's xenstored socket, on the host */
	bool init_missing;	     /* create_spawn found no pvio-init to run the domain */
};

/* In the command's process, inside the domain: its xenstored socket and its token. */
static int create_child_setup(void *arg)
{
	const struct create_child *c = arg;

	if (setenv("XENSTORED_PATH", c->shared ? c->xs_sock : SANDBOX_XS_SOCKET, 1) < 0)
		return -errno;
	return hvctl_enter_domain(c->token, NULL);
}

/* The domain's xenstored socket directory, <rundir of xs_sock>/domain-<domid>, owned by uid. */
void pvio_domain_xs_socket(const struct pvio_env *env, domid_t domid, char *buf, size_t len)
{
	const char *slash = strrchr(env->xs_sock, '/');

	snprintf(buf, len, "%.*s/domain-%u/socket", (int)(slash ? slash - env->xs_sock : 1),
		 slash ? env->xs_sock : ".", (unsigned int)domid);
}

static int create_xs_dir(struct create_child *c, char *buf, size_t len)
{
	pvio_domain_xs_socket(c->env, c->domid, c->xs_sock, sizeof(c->xs_sock));
	snprintf(buf, len, "%s", c->xs_sock);
	*strrchr(buf, '/') = '\0';
	return c->shared ? 0 : sandbox_give_xs(c->xs_sock, c->domid, 0);
}

bool pvio_ours(const char *path)
{
	struct stat st;

	/* A symlink's mode is 0777: refused with the rest. */
	return lstat(path, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & 022);
}

bool pvio_same_uid(const struct pvio_env *env)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/" PVIO_SAME_UID_FILE, env->rundir);
	return pvio_ours(env->rundir) && pvio_ours(path);
}

int pvio_ids_check(const struct pvio_env *env, domid_t domid)
{
	char why[160];

	if (sandbox_ids_check(domid, pvio_same_uid(env), why, sizeof(why)) == 0)
		return 0;
	return pvio_fail("a normal user's domains need host uids of their own: %s (or 'pvio up "
			 "--same-uid': domains under your uid, not isolated from each other)",
			 why);
}

/*
 * The init a normal user's domain execs (launch/sandbox.h SANDBOX_INIT_PROG): beside pvio, in
 * the directory the domain's view binds, or in ../sbin (installed), which /usr's bind holds.
 */
static const char *create_init_prog(const char *bindir, char *buf, size_t len)
{
	char path[PATH_MAX + 32];

	if (!bindir)
		return NULL;
	snprintf(buf, len, "%s/" SANDBOX_INIT_PROG, bindir);
	if (access(buf, X_OK) == 0)
		return buf;
	snprintf(path, sizeof(path), "%s/../sbin/" SANDBOX_INIT_PROG, bindir);
	return len >= PATH_MAX && realpath(path, buf) && access(buf, X_OK) == 0 ? buf : NULL;
}

/*
 * Start the domain's init (launch/sandbox.h) running the command; an exec failure comes back as
 * its negative errno.  The init is in its own session: destroy kills its process group.
 */
static int create_spawn(struct create_child *c, pid_t *pid)
{
	char xs_dir[PATH_MAX + 48], bindir[PATH_MAX], tun[PATH_MAX + 32], init[PATH_MAX + 32];
	struct sandbox_opts so = {
		.domid = c->domid,
		.xs_dir = xs_dir,
		.tun_node = c->no_tap ? NULL : tun,
		.binds = c->binds,
		.argv = c->argv,
		.keep_fd = c->token,
		.setup = create_child_setup,
		.setup_arg = c,
		.shared = c->shared,
		.cgroup = c->cgroup[0] ? c->cgroup : NULL,
		.fuse_fds = c->fuse,
	};
	ssize_t n;
	int ret, pidfd;

	so.same_uid = pvio_same_uid(c->env);
	ret = create_xs_dir(c, xs_dir, sizeof(xs_dir));
	if (ret < 0)
		return ret;
	sandbox_tun_path(c->env->rundir, c->domid, tun, sizeof(tun));
	/* pvio's own directory: the daemons and back-ends beside it are the domain's programs. */
	n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
	if (n > 0) {
		bindir[n] = '\0';
		*strrchr(bindir, '/') = '\0';
		so.bindir = bindir[0] ? bindir : NULL;
	}
	so.init_prog = create_init_prog(so.bindir, init, sizeof(init));
	c->init_missing = !so.init_prog;
	so.out_fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (so.out_fd < 0)
		return -errno;
	ret = sandbox_start(&so, pid, &pidfd);
	close(so.out_fd);
	if (ret == 0)
		close(pidfd);
	return ret;
}

/* <rundir>/domain-<domid>.pgid: the process group pvio create started in the domain. */
static void group_path(const struct pvio_env *env, domid_t domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/domain-%u.pgid", env->rundir, (unsigned int)domid);
}

unsigned long long pvio_proc_start_at(int dir)
{
	char buf[512], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After "pid (comm)": state is field 3, start time field 22. */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		start = 0;
	return start;
}

/* Field 22 of /proc/PID/stat, the start time: with the pid, names one process for good. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64];
	unsigned long long start;
	int dir;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	start = pvio_proc_start_at(dir);
	close(dir);
	return start;
}

/*
 * Record the command's process group (it called setsid: its pid), so that destroy can kill what
 * has no hypervisor session of its own (a shell, a sleep) and pvio-hv cannot see, and the
 * descriptor the init keeps the token at, for exec.
 */
static void group_record(const struct pvio_env *env, domid_t domid, pid_t pid, int token)
{
	char path[PATH_MAX + 32];
	FILE *f;

	group_path(env, domid, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d %llu %d\n", (int)pid, proc_start(pid), token);
	fclose(f);
}

int pvio_domain_init(const struct pvio_env *env, domid_t domid, pid_t *pid,
		     unsigned long long *start, int *token)
{
	char path[PATH_MAX + 32];
	int pgid, got;
	FILE *f;

	group_path(env, domid, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*token = -1;
	got = fscanf(f, "%d %llu %d", &pgid, start, token);
	fclose(f);
	if (got < 2 || pgid <= 1 || !*start)
		return -EINVAL;
	*pid = pgid;
	return 0;
}

/* The leader of the group recorded for domid (the domain's init) if it still runs, or 0. */
static pid_t group_leader(const struct pvio_env *env, domid_t domid)
{
	unsigned long long start;
	int token;
	pid_t pgid;

	if (pvio_domain_init(env, domid, &pgid, &start, &token) < 0)
		return 0;
	return proc_start(pgid) == start ? pgid : 0;
}

/*
 * SIGKILL the group recorded for domid if its leader is still the process started: the leader
 * is the domain's init, whose death ends every process of the domain.
 */
static void group_kill(const struct pvio_env *env, domid_t domid)
{
	char path[PATH_MAX + 32];
	pid_t pgid = group_leader(env, domid);

	if (pgid > 0)
		kill(-pgid, SIGKILL);
	group_path(env, domid, path, sizeof(path));
	unlink(path);
	/* Its /dev/net/tun node (launch/sandbox.h), root's to remove. */
	sandbox_tun_path(env->rundir, domid, path, sizeof(path));
	unlink(path);
}

int pvio_domain_destroy(const struct pvio_env *env, struct hvctl *ctl, struct xs_handle *xs,
			domid_t domid)
{
	/* pvio-hv first: the group's death alone could end the domain and make this -ESRCH. */
	int ret = hvctl_domain_destroy(ctl, domid);
	char name[64];

	group_kill(env, domid);
	/* Its processes are killed: the kernel frees the cgroups as they go. */
	if (cgroup_name(env->rundir, domid, name, sizeof(name)) == 0) {
		int r = cgroup_remove(name);

		if (r < 0)
			pvio_fail("domain %u: its cgroups %s are left: %s", (unsigned int)domid,
				  name, strerror(-r));
	}
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

/* The domain's cgroups with the limits asked for; 0, or 1 after printing why. */
static int create_limit(const struct pvio_env *env, struct create_child *c,
			const struct cgroup_limits *l)
{
	char why[128];
	int ret;

	if (!cgroup_limited(l))
		return 0;
	ret = cgroup_name(env->rundir, c->domid, c->cgroup, sizeof(c->cgroup));
	if (ret < 0)
		return pvio_err(env->rundir, ret);
	ret = cgroup_create(c->cgroup, l, why, sizeof(why));
	if (ret < 0) {
		c->cgroup[0] = '\0';
		return pvio_fail("%s: %s (limits need root or a delegated cgroup)", why,
				 strerror(-ret));
	}
	return 0;
}

/* Create domain name running argv; c holds the options (binds, shared, fuse). */
static int create_run(const struct pvio_env *env, const char *name, char *const *argv,
		      struct create_child *opts, const struct cgroup_limits *l)
{
	char log[PATH_MAX + 80];
	struct create_child c = *opts;
	struct hvctl *ctl;
	pid_t pid = -1;
	int ret;

	c.env = env;
	c.argv = argv;
	c.log = log;
	c.token = -1;
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
	ret = c.shared ? 0 : pvio_ids_check(env, c.domid);
	if (ret == 0)
		ret = create_introduce(env, c.domid, name);
	if (ret == 0)
		ret = create_limit(env, &c, l);
	if (ret == 0) {
		ret = create_spawn(&c, &pid);
		/* sandbox_start's refusal, not the command's own exec failure. */
		if (ret == -ENOEXEC && c.init_missing && geteuid() != 0 && !c.shared)
			ret = pvio_fail("%s: " SANDBOX_INIT_PROG " not found beside pvio nor in "
					"../sbin: a normal user's domain needs it (refusing to run "
					"the domain without it)",
					argv[0]);
		else if (ret < 0)
			ret = pvio_err(argv[0], ret);
		else
			group_record(env, c.domid, pid, c.token);
	}
	close(c.token);
	if (ret)
		hvctl_domain_destroy(ctl, c.domid);
	if (ret && c.cgroup[0])
		cgroup_remove(c.cgroup);
	if (!ret)
		printf("%u\n", (unsigned int)c.domid);
	hvctl_close(ctl);
	return ret;
}

static const char create_usage[] =
    "usage: pvio create [-b [ro:|own:]PATH]... [--shared] [--fuse[=N]] [--no-tap]\n"
    "                   [--memory SIZE] [--pids N] NAME [--] CMD [ARG...]\n"
    "Create domain NAME, run CMD in it in the background (output to <rundir>/NAME.log) and\n"
    "print its domid.  The domain lives as long as CMD; it has its own namespaces and uid and\n"
    "sees of the host only the system directories and what -b gives it:\n"
    "  -b, --bind [ro:|own:]PATH  PATH at PATH, read-write (ro: read-only; own: chowned to\n"
    "                             the domain's uid first)\n"
    "      --shared               no isolation: CMD runs in dom0's namespaces as dom0's uid\n"
    "                             (it can then act as dom0; for debugging)\n"
    "      --fuse[=N]             hand the domain N (1) /dev/fuse descriptors in\n"
    "                             $PVIO_FUSE_FDS, one per FUSE mount (pvio-blkfront)\n"
    "      --no-tap               no /dev/net/tun of its own (no TAP); without --fuse\n"
    "                             too, no capability at all even inside the domain\n"
    "      --memory SIZE          limit the domain's memory to SIZE bytes (k, M, G suffixes)\n"
    "      --pids N               let the domain have at most N processes\n"
    "  (limits need root or a delegated cgroup; without the controller the create fails)\n";

#define CREATE_MAX_BINDS 32

/* --memory SIZE or --pids N into l; 0, or 1 after printing why. */
static int create_limit_opt(int opt, const char *arg, struct cgroup_limits *l)
{
	unsigned long n;
	char *end;

	if (opt == 'm')
		return cgroup_parse_size(arg, &l->memory) < 0
			   ? pvio_fail("--memory %s: not a size (bytes, or with k, M, G)", arg)
			   : 0;
	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] < '1' || arg[0] > '9' || n > UINT32_MAX)
		return pvio_fail("--pids %s: not a positive number", arg);
	l->pids = (uint32_t)n;
	return 0;
}

/* --fuse[=N] into *n (1 without N); 0, or 1 after printing why. */
static int create_fuse_opt(const char *arg, unsigned int *n)
{
	char *end;
	unsigned long v = arg ? strtoul(arg, &end, 10) : 1;

	if (arg && (*end || arg[0] < '1' || arg[0] > '9' || v > SANDBOX_FUSE_MAX))
		return pvio_fail("--fuse=%s: not a number from 1 to %d", arg, SANDBOX_FUSE_MAX);
	*n = (unsigned int)v;
	return 0;
}

int pvio_cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = { { "bind", required_argument, NULL, 'b' },
						  { "shared", no_argument, NULL, 's' },
						  { "fuse", optional_argument, NULL, 'f' },
						  { "no-tap", no_argument, NULL, 't' },
						  { "memory", required_argument, NULL, 'm' },
						  { "pids", required_argument, NULL, 'p' },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	const char *binds[CREATE_MAX_BINDS + 1] = { NULL };
	struct create_child c = { .binds = binds };
	struct pvio_env env;
	unsigned int n = 0;
	struct cgroup_limits l = { 0 };
	int opt;

	/* '+': options stop at NAME, so that CMD's own options stay CMD's. */
	while ((opt = pvio_getopt(argc, argv, "+hb:", longopts, create_usage)) != -1) {
		if (opt == 's') {
			c.shared = true;
			continue;
		}
		if (opt == 't') {
			c.no_tap = true;
			continue;
		}
		if (opt == 'f') {
			if (create_fuse_opt(optarg, &c.fuse))
				return 2;
			continue;
		}
		if (opt == 'm' || opt == 'p') {
			if (create_limit_opt(opt, optarg, &l))
				return 2;
			continue;
		}
		if (opt != 'b')
			return opt == 'h' ? 0 : 2;
		if (n == CREATE_MAX_BINDS)
			return pvio_fail("more than %d binds", CREATE_MAX_BINDS);
		binds[n++] = optarg;
	}
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
		return create_run(&env, argv[optind], argv + optind + 2, &c, &l);
	}
	return create_run(&env, argv[optind], argv + optind + 1, &c, &l);
}

/*
 * The domain's processes: those in the pid namespace of the init pvio create started, whether
 * or not they have a session; else (a domain pvio did not create) those with a session.
 */
static unsigned int list_processes(const struct pvio_env *env, const struct hvctl_domain_info *d)
{
	pid_t init = group_leader(env, d->domid);
	int n = init > 0 ? sandbox_count(init) : -1;

	return n >= 0 ? (unsigned int)n : d->sessions;
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
		       list_processes(&env, &info[i]), pool);
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
