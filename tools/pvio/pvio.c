/* SPDX-License-Identifier: MIT */
/*
 * pvio.c - pvio(1): the toolstack command of the embedded mode, in the manner of xl(1).  This
 * file holds the dispatch and what the subcommands share; pvio-daemons.c (up, down),
 * pvio-domain.c (create, list, destroy), pvio-exec.c (exec), pvio-block.c (block-*) and
 * pvio-network.c (network-*) hold the subcommands.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/pvio/pvio.h"
#include "xenbus/xenbus.h"

const char *pvio_dir_opt;

static const char usage[] =
    "usage: pvio [-d DIR] COMMAND [ARGS]\n"
    "\n"
    "  up [--dir DIR] [-v]              start pvio-hv and pvio-xenstored in the background\n"
    "  down                             stop them\n"
    "  create NAME [--] CMD [ARG...]    create a domain and run CMD in it\n"
    "  list                             list the domains\n"
    "  destroy NAME|DOMID               destroy a domain\n"
    "  exec NAME|DOMID [--] CMD [ARG...]  run CMD inside a running domain\n"
    "  block-attach DOMAIN DISKSPEC     attach a virtual disk\n"
    "  block-detach DOMAIN VDEV [--force]  detach one\n"
    "  block-list DOMAIN                list a domain's virtual disks\n"
    "  network-attach DOMAIN [VIFSPEC]  attach a virtual network interface\n"
    "  network-detach DOMAIN DEVID|MAC [--force]  detach one\n"
    "  network-list DOMAIN              list a domain's virtual network interfaces\n"
    "\n"
    "  -d, --dir DIR   the runtime directory (default: $PVIO_RUNDIR, $XDG_RUNTIME_DIR/pvio,\n"
    "                  /tmp/pvio-UID)\n"
    "'pvio COMMAND --help' describes each command; see pvio(1).\n";

/* One subcommand. */
struct pvio_cmd {
	const char *name;		  /* as typed */
	int (*fn)(int argc, char **argv); /* its implementation */
};

static const struct pvio_cmd cmds[] = {
	{ "up", pvio_cmd_up },
	{ "down", pvio_cmd_down },
	{ "create", pvio_cmd_create },
	{ "list", pvio_cmd_list },
	{ "destroy", pvio_cmd_destroy },
	{ "exec", pvio_cmd_exec },
	{ "block-attach", pvio_cmd_block_attach },
	{ "block-detach", pvio_cmd_block_detach },
	{ "block-list", pvio_cmd_block_list },
	{ "network-attach", pvio_cmd_network_attach },
	{ "network-detach", pvio_cmd_network_detach },
	{ "network-list", pvio_cmd_network_list },
};

int pvio_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", PVIO_PROG, what, strerror(err < 0 ? -err : err));
	return 1;
}

int pvio_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", PVIO_PROG);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

void pvio_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: warning: ", PVIO_PROG);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* "pvio: warning: message" or "pvio: message": library messages read as pvio's own. */
static void pvio_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		      const char *fmt, va_list ap)
{
	(void)log;
	(void)prefix;
	fprintf(stderr, "%s: %s", PVIO_PROG, level == PVIO_LOG_WARN ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

struct pvio_log *pvio_tool_log(void)
{
	static struct pvio_log log = { .vlog = pvio_vlog, .max = PVIO_LOG_WARN };

	return &log;
}

int pvio_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		const char *cmd_usage)
{
	static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int opt = getopt_long(argc, argv, shortopts, longopts ? longopts : help_only, NULL);

	if (opt == 'h')
		fputs(cmd_usage, stdout);
	else if (opt == '?')
		fputs(cmd_usage, stderr);
	return opt;
}

static int pvio_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The directory of $PVIO_HV_SOCKET if it is a runtime directory's hv.sock: what pvio up set. */
static int pvio_rundir_of_socket(char *buf, size_t len)
{
	const char *hv = getenv("PVIO_HV_SOCKET");
	const char *slash = hv ? strrchr(hv, '/') : NULL;

	if (!slash || slash == hv || strcmp(slash, "/hv.sock"))
		return -ENOENT;
	if ((size_t)(slash - hv) >= len)
		return -ENAMETOOLONG;
	snprintf(buf, len, "%.*s", (int)(slash - hv), hv);
	return 0;
}

static int pvio_rundir(char *buf, size_t len, const char *dir, bool follow)
{
	const char *env = getenv("PVIO_RUNDIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	char uid[32];
	int ret;

	if (!dir)
		dir = pvio_dir_opt;
	if (dir)
		return pvio_path(buf, len, dir, "");
	if (env && *env)
		return pvio_path(buf, len, env, "");
	if (follow && (ret = pvio_rundir_of_socket(buf, len)) != -ENOENT)
		return ret;
	if (xdg && *xdg)
		return pvio_path(buf, len, xdg, "/pvio");
	snprintf(uid, sizeof(uid), "%u", (unsigned int)getuid());
	return pvio_path(buf, len, "/tmp/pvio-", uid);
}

int pvio_env_init(struct pvio_env *env, const char *dir, unsigned int flags)
{
	const char *hv = flags & PVIO_ENV_SOCKETS ? getenv("PVIO_HV_SOCKET") : NULL;
	const char *xs = flags & PVIO_ENV_SOCKETS ? getenv("XENSTORED_PATH") : NULL;
	int ret = pvio_rundir(env->rundir, sizeof(env->rundir), dir, flags & PVIO_ENV_FOLLOW);

	if (ret == 0)
		ret = hv && *hv
			  ? pvio_path(env->hv_sock, sizeof(env->hv_sock), hv, "")
			  : pvio_path(env->hv_sock, sizeof(env->hv_sock), env->rundir, "/hv.sock");
	if (ret == 0)
		ret = xs && *xs ? pvio_path(env->xs_sock, sizeof(env->xs_sock), xs, "")
				: pvio_path(env->xs_sock, sizeof(env->xs_sock), env->rundir,
					    "/xenstored.sock");
	if (ret < 0)
		return pvio_err("runtime directory", ret);
	return 0;
}

/*
 * Each component of path, absolute: owned by root or by us, and a directory writable by no one
 * else unless sticky (as /tmp: others may add names there, not take ours).  0, or -EPERM with
 * the first component that fails and why in why.
 */
static int trusted_components(const char *path, char *why, size_t len)
{
	char buf[PATH_MAX];
	size_t n = strlen(path), i;
	struct stat st;

	if (path[0] != '/' || n >= sizeof(buf))
		return -EINVAL;
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(buf, path, i);
		buf[i] = '\0';
		if (lstat(buf, &st) < 0)
			return -errno;
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			snprintf(why, len, "%s is owned by uid %u", buf, (unsigned int)st.st_uid);
			return -EPERM;
		}
		if (S_ISDIR(st.st_mode) && (st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
			snprintf(why, len, "%s is writable by %s", buf,
				 st.st_mode & 002 ? "others" : "its group");
			return -EPERM;
		}
	}
	return 0;
}

int pvio_trusted(const char *path, char *why, size_t len)
{
	char abs[PATH_MAX], real[PATH_MAX];
	int ret;

	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		if (!getcwd(real, sizeof(real)))
			return -errno;
		if (snprintf(abs, sizeof(abs), "%s/%s", real, path) >= (int)sizeof(abs))
			return -ENAMETOOLONG;
	}
	/* As named (a symlink on the way counts as its owner's), then as resolved. */
	ret = trusted_components(abs, why, len);
	if (ret == 0 && !realpath(abs, real))
		ret = -errno;
	if (ret == 0)
		ret = trusted_components(real, why, len);
	if (ret == -EPERM || ret == 0)
		return ret;
	snprintf(why, len, "%s", strerror(-ret));
	return ret;
}

/* The daemon's socket at path, if no one but root and us could have put it there. */
static int pvio_socket_trusted(const char *daemon, const char *path)
{
	char why[PATH_MAX + 64];
	struct stat st;
	int ret = pvio_trusted(path, why, sizeof(why));

	if (ret == 0 && (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))) {
		snprintf(why, sizeof(why), "not a socket");
		ret = -ENOTSOCK;
	}
	if (ret == -ENOENT)
		return pvio_fail("%s: %s: %s (is it up? see 'pvio up')", daemon, path, why);
	if (ret)
		return pvio_fail("%s: %s: not trusted: %s (only root and you may own it and the "
				 "directories above it): refusing it",
				 daemon, path, why);
	return 0;
}

int pvio_hv_open(const struct pvio_env *env, struct hvctl **ctl)
{
	int ret;

	if (pvio_socket_trusted("pvio-hv", env->hv_sock))
		return 1;
	ret = hvctl_open(ctl, env->hv_sock);

	if (ret < 0)
		return pvio_fail("pvio-hv: %s: %s (is it up? see 'pvio up')", env->hv_sock,
				 strerror(-ret));
	return 0;
}

int pvio_xs_open(const struct pvio_env *env, struct xs_handle **xs)
{
	if (pvio_socket_trusted("pvio-xenstored", env->xs_sock))
		return 1;
	if (setenv("XENSTORED_PATH", env->xs_sock, 1) < 0)
		return pvio_err("setenv", -errno);
	*xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!*xs)
		return pvio_fail("pvio-xenstored: %s: %s (is it up? see 'pvio up')", env->xs_sock,
				 strerror(errno));
	return 0;
}

/* Look name up among pvio-hv's live domains. */
static int pvio_domain_by_name(const struct pvio_env *env, const char *name, domid_t *domid)
{
	struct hvctl_domain_info info[256];
	struct hvctl *ctl;
	int i, n;

	if (pvio_hv_open(env, &ctl))
		return 1;
	n = hvctl_domain_list(ctl, info, 256);
	hvctl_close(ctl);
	if (n < 0)
		return pvio_err("pvio-hv: list", n);
	for (i = 0; i < n; i++) {
		if (!strcmp(info[i].name, name)) {
			*domid = info[i].domid;
			return 0;
		}
	}
	return pvio_fail("%s: no such domain", name);
}

int pvio_domain_lookup(const struct pvio_env *env, const char *what, domid_t *domid)
{
	struct hvctl_domain_info info[256];
	struct hvctl *ctl;
	uint32_t id;
	int i, n;

	if (!strcmp(what, "Domain-0")) {
		*domid = 0;
		return 0;
	}
	if (xenbus_parse_u32(what, DOMID_FIRST_RESERVED - 1, &id) < 0)
		return pvio_domain_by_name(env, what, domid);
	*domid = (domid_t)id;
	if (id == 0)
		return 0;
	if (pvio_hv_open(env, &ctl))
		return 1;
	n = hvctl_domain_list(ctl, info, 256);
	hvctl_close(ctl);
	for (i = 0; i < n; i++) {
		if (info[i].domid == (domid_t)id)
			return 0;
	}
	return n < 0 ? pvio_err("pvio-hv: list", n) : pvio_fail("domain %s: no such domain", what);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	size_t i;
	int opt;

	while ((opt = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			pvio_dir_opt = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	argc -= optind;
	argv += optind;
	optind = 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].fn(argc, argv);
	}
	fprintf(stderr, "%s: %s: unknown command (see 'pvio --help')\n", PVIO_PROG, argv[0]);
	return 2;
}
