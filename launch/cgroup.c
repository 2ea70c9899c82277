/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c - a domain's memory and pids limits (launch/cgroup.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launch/cgroup.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_PARENT	"pvio"
#define CGROUP_RMDIR_MS 5000 /* how long a busy cgroup is waited for */
#define CGROUP_POLL_MS	10
#define CGROUP_N_CTL	2

/* A controller and its limit file in either hierarchy. */
struct cgroup_ctl {
	const char *name;
	const char *v1_file;
	const char *v2_file;
};

static const struct cgroup_ctl cgroup_ctls[CGROUP_N_CTL] = {
	{ "memory", "memory.limit_in_bytes", "memory.max" },
	{ "pids", "pids.max", "pids.max" },
};

/* The cgroup2 roots a host may have: the unified root, or the hybrid layout's. */
static const char *const cgroup_v2_roots[] = { CGROUP_ROOT, CGROUP_ROOT "/unified" };

static int cgroup_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(value))
		ret = -EIO;
	close(fd);
	return ret;
}

/* Whether root/cgroup.subtree_control names controller ctl (cgroup2 delegates it below root). */
static bool cgroup_v2_has(const char *root, const char *ctl)
{
	char path[PATH_MAX], buf[256], *tok, *save;
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok && !found; tok = strtok_r(NULL, " \n", &save))
		found = !strcmp(tok, ctl);
	return found;
}

/*
 * The hierarchy that holds controller c: *base its root, *v2 whether it is cgroup2.  The v1
 * hierarchy of the controller first, as these hosts mount it; -EOPNOTSUPP if neither has it.
 */
static int cgroup_base(const struct cgroup_ctl *c, char *base, size_t len, bool *v2)
{
	char procs[PATH_MAX];

	snprintf(base, len, "%s/%s", CGROUP_ROOT, c->name);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", base);
	*v2 = false;
	if (access(procs, F_OK) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(cgroup_v2_roots) / sizeof(cgroup_v2_roots[0]); i++) {
		if (cgroup_v2_has(cgroup_v2_roots[i], c->name)) {
			snprintf(base, len, "%s", cgroup_v2_roots[i]);
			*v2 = true;
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

/* base/pvio, the parent of every domain's cgroup, into buf. */
static int cgroup_parent(const char *base, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", base, CGROUP_PARENT);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* base/pvio/name into buf. */
static int cgroup_path(const char *base, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", base, CGROUP_PARENT, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cgroup_name(const char *dir, domid_t domid, char *buf, size_t len)
{
	struct stat st;
	int n;

	if (stat(dir, &st) < 0)
		return -errno;
	n = snprintf(buf, len, "%jx.%jx-%u", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
		     (unsigned int)domid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* rmdir dir, waiting while the kernel still holds it (its last processes being reaped). */
static int cgroup_rmdir(const char *dir)
{
	const struct timespec poll = { 0, CGROUP_POLL_MS * 1000000L };
	unsigned int waited = 0;

	while (rmdir(dir) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || waited >= CGROUP_RMDIR_MS)
			return -errno;
		nanosleep(&poll, NULL);
		waited += CGROUP_POLL_MS;
	}
	return 0;
}

/* Make base/pvio/name for controller c (with c enabled for it on cgroup2); path gets it. */
static int cgroup_make(const struct cgroup_ctl *c, const char *base, bool v2, const char *name,
		       char *path, size_t len)
{
	char parent[PATH_MAX], enable[32];
	int ret;

	if (cgroup_parent(base, parent, sizeof(parent)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (v2) {
		snprintf(enable, sizeof(enable), "+%s", c->name);
		ret = cgroup_write(parent, "cgroup.subtree_control", enable);
		if (ret < 0)
			return ret;
	}
	ret = cgroup_path(base, name, path, len);
	if (ret == 0 && mkdir(path, 0755) < 0 && errno != EEXIST)
		ret = -errno;
	return ret;
}

/* Set controller c's limit in its cgroup dir (v2: cgroup2 file names). */
static int cgroup_limit(const struct cgroup_ctl *c, const char *dir, bool v2,
			const struct cgroup_limits *l)
{
	char value[32];
	int ret;

	if (c == &cgroup_ctls[0])
		snprintf(value, sizeof(value), "%" PRIu64, l->memory);
	else
		snprintf(value, sizeof(value), "%" PRIu32, l->pids);
	ret = cgroup_write(dir, v2 ? c->v2_file : c->v1_file, value);
	/* v1: without a swap limit too, the domain would page out rather than meet its limit. */
	if (ret == 0 && !v2 && c == &cgroup_ctls[0]) {
		int sw = cgroup_write(dir, "memory.memsw.limit_in_bytes", value);

		if (sw < 0 && sw != -ENOENT)
			ret = sw;
	}
	if (ret == 0 && v2 && c == &cgroup_ctls[0])
		ret = cgroup_write(dir, "memory.swap.max", "0") == -EACCES ? -EACCES : 0;
	return ret;
}

static bool cgroup_wants(const struct cgroup_ctl *c, const struct cgroup_limits *l)
{
	return c == &cgroup_ctls[0] ? l->memory != 0 : l->pids != 0;
}

int cgroup_create(const char *name, const struct cgroup_limits *l, char *why, size_t why_len)
{
	char base[PATH_MAX], dir[PATH_MAX];
	int ret = 0;
	bool v2;

	for (size_t i = 0; i < CGROUP_N_CTL && ret == 0; i++) {
		const struct cgroup_ctl *c = &cgroup_ctls[i];

		if (!cgroup_wants(c, l))
			continue;
		ret = cgroup_base(c, base, sizeof(base), &v2);
		if (ret == 0)
			ret = cgroup_make(c, base, v2, name, dir, sizeof(dir));
		if (ret == 0)
			ret = cgroup_limit(c, dir, v2, l);
		if (ret < 0 && why)
			snprintf(why, why_len, "cgroup controller %s%s", c->name,
				 ret == -EOPNOTSUPP
				     ? " (not mounted as cgroup v1 nor delegated in cgroup2)"
				     : "");
	}
	if (ret < 0)
		cgroup_remove(name);
	return ret;
}

int cgroup_attach(const char *name, pid_t pid)
{
	char base[PATH_MAX], dir[PATH_MAX], value[24];
	int ret = 0;
	bool v2;

	snprintf(value, sizeof(value), "%d", (int)pid);
	for (size_t i = 0; i < CGROUP_N_CTL && ret == 0; i++) {
		if (cgroup_base(&cgroup_ctls[i], base, sizeof(base), &v2) < 0 ||
		    cgroup_path(base, name, dir, sizeof(dir)) < 0 || access(dir, F_OK) < 0)
			continue;
		ret = cgroup_write(dir, "cgroup.procs", value);
	}
	return ret;
}

int cgroup_remove(const char *name)
{
	char base[PATH_MAX], dir[PATH_MAX];
	int ret = 0, r;
	bool v2;

	for (size_t i = 0; i < CGROUP_N_CTL; i++) {
		if (cgroup_base(&cgroup_ctls[i], base, sizeof(base), &v2) < 0 ||
		    cgroup_path(base, name, dir, sizeof(dir)) < 0)
			continue;
		r = cgroup_rmdir(dir);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* rmdir every cgroup under base/pvio whose name starts with prefix. */
static int cgroup_remove_prefix(const char *base, const char *prefix)
{
	char parent[PATH_MAX], dir[PATH_MAX];
	struct dirent *de;
	int ret = 0, r;
	DIR *d;

	if (cgroup_parent(base, parent, sizeof(parent)) < 0)
		return -ENAMETOOLONG;
	d = opendir(parent);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) ||
		    cgroup_path(base, de->d_name, dir, sizeof(dir)) < 0)
			continue;
		r = cgroup_rmdir(dir);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int cgroup_remove_all(const char *dir)
{
	char prefix[64], base[PATH_MAX];
	int ret, r;
	bool v2;

	/* The name of domain 0, which has none, less its domid: what all of dir's share. */
	ret = cgroup_name(dir, 0, prefix, sizeof(prefix));
	if (ret < 0)
		return ret;
	prefix[strlen(prefix) - 1] = '\0';
	for (size_t i = 0; i < CGROUP_N_CTL; i++) {
		if (cgroup_base(&cgroup_ctls[i], base, sizeof(base), &v2) < 0)
			continue;
		r = cgroup_remove_prefix(base, prefix);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

int cgroup_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -EINVAL;
	if (*end) {
		const char *units = "kmgt", *u = strchr(units, end[0] | 0x20);

		if (!u || end[1])
			return -EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}
