/* SPDX-License-Identifier: MIT */
/*
 * subid.c - a normal user's domains under host uids of their own (launch/subid.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/subid.h"

#define SUBID_UID_FILE "/etc/subuid"
#define SUBID_GID_FILE "/etc/subgid"
#define SUBID_PATH     "/usr/bin:/bin:/usr/sbin:/sbin" /* where uidmap's helpers are looked for */

/* One "name:start:count" line of /etc/subuid or /etc/subgid. */
struct subid_range {
	unsigned long start, count;
};

/* A decimal id of a subordinate range, all digits and below (uid_t)-1: 0 or -EINVAL. */
static int subid_number(const char *text, unsigned long *v)
{
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(text, &end, 10);
	return errno || *end || *v >= (uid_t)-1 ? -EINVAL : 0;
}

/*
 * The first range of file for the caller (by name or by uid) that holds offset: 0 or -errno.
 * A line that is not name:start:count with start + count within the ids is skipped.
 */
static int subid_range(const char *file, unsigned long offset, struct subid_range *r)
{
	char line[512], pwbuf[1024], uid[24], *name, *save;
	struct passwd pw, *found = NULL;
	bool any = false;
	int ret = -ENOENT;
	FILE *f;

	getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)getuid());
	f = fopen(file, "re");
	if (!f)
		return -ENOENT;
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		name = strtok_r(line, ":", &save);
		char *start = strtok_r(NULL, ":", &save), *count = strtok_r(NULL, ":\n", &save);

		if (!name || !start || !count ||
		    (strcmp(name, uid) && (!found || strcmp(name, found->pw_name))) ||
		    subid_number(start, &r->start) < 0 || subid_number(count, &r->count) < 0 ||
		    r->count > (uid_t)-1 - r->start)
			continue;
		any = true;
		if (offset < r->count)
			ret = 0;
	}
	fclose(f);
	return ret == 0 ? 0 : any ? -ERANGE : -ENOENT;
}

/*
 * Whether host id (a uid, or a gid with group) may be a domain's own: not the caller's, nor an
 * account's or a group's (its domains would share that id: no isolation, and silently).
 */
static bool subid_free(unsigned long id, bool group)
{
	char buf[1024];
	struct passwd pw, *p = NULL;
	struct group gr, *g = NULL;

	if (group)
		return id != getgid() &&
		       getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &g) != ERANGE && !g;
	return id != getuid() && getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &p) != ERANGE && !p;
}

/*
 * The set-uid helper name, in the system's directories only, into buf: 0 or -ENOENT.  Not $PATH:
 * what maps a domain's ids is the system's, not whatever the environment names first.
 */
static int subid_prog(const char *name, char *buf, size_t len)
{
	char dirs[] = SUBID_PATH, *dir, *save;

	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(buf, len, "%s/%s", dir, name) < len && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Whether the kernel lets a normal user make user namespaces: 0 or -EPERM. */
static int subid_userns(void)
{
	static const char *const knobs[] = { "/proc/sys/user/max_user_namespaces",
					     "/proc/sys/kernel/unprivileged_userns_clone" };
	char v[32];

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		FILE *f = fopen(knobs[i], "re");
		bool off = f && fgets(v, sizeof(v), f) && atol(v) == 0;

		if (f)
			fclose(f);
		if (off)
			return -EPERM;
	}
	return 0;
}

int subid_ids(domid_t domid, uid_t *uid, gid_t *gid, char *why, size_t len)
{
	static const char *const files[] = { SUBID_UID_FILE, SUBID_GID_FILE };
	static const char *const progs[] = { "newuidmap", "newgidmap" };
	struct subid_range r[2];
	char path[PATH_MAX];
	int ret;

	if (subid_userns() < 0) {
		snprintf(why, len,
			 "user namespaces are off for normal users (sysctl "
			 "user.max_user_namespaces, kernel.unprivileged_userns_clone)");
		return -EPERM;
	}
	for (int i = 0; i < 2; i++) {
		if (subid_prog(progs[i], path, sizeof(path)) < 0) {
			snprintf(why, len, "no %s (install the uidmap package)", progs[i]);
			return -ENOENT;
		}
		ret = subid_range(files[i], domid, &r[i]);
		if (ret < 0) {
			snprintf(why, len,
				 ret == -ERANGE
				     ? "the range of uid %u in %s is too small for domain %u"
				     : "no range for uid %u in %s (usermod --add-subuids/"
				       "--add-subgids)",
				 (unsigned int)getuid(), files[i], (unsigned int)domid);
			return ret;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!subid_free(r[i].start + domid, i == 1)) {
			snprintf(
			    why, len,
			    "%s %lu, domain %u's in %s, is yours or another account's: its range "
			    "must hold ids of no one else",
			    i ? "gid" : "uid", r[i].start + domid, (unsigned int)domid, files[i]);
			return -EEXIST;
		}
	}
	*uid = (uid_t)(r[0].start + domid);
	*gid = (gid_t)(r[1].start + domid);
	return 0;
}

/* Run prog PID followed by the triples of map[0..n): 0, or -EPERM if it failed. */
static int subid_run(const char *prog, pid_t pid, const unsigned long *map, size_t n)
{
	char path[PATH_MAX], args[8][24];
	char *argv[10] = { (char *)prog, args[0] };
	int status, ret = subid_prog(prog, path, sizeof(path));
	pid_t child;

	if (ret < 0)
		return ret;
	snprintf(args[0], sizeof(args[0]), "%d", (int)pid);
	for (size_t i = 0; i < n && i < 7; i++) {
		snprintf(args[i + 1], sizeof(args[i + 1]), "%lu", map[i]);
		argv[i + 2] = args[i + 1];
	}
	argv[n + 2] = NULL;
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		/* The helper runs as root: none of the caller's descriptors nor its environment. */
		char *envp[] = { NULL };

		close_range(3, ~0U, 0);
		execve(path, argv, envp);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int subid_map(pid_t pid, uid_t uid, gid_t gid, bool self)
{
	unsigned long umap[6] = { 0, uid, 1 }, gmap[6] = { 0, gid, 1 };
	size_t n = 3;
	int ret;

	if (self) {
		umap[1] = getuid();
		gmap[1] = getgid();
		umap[3] = gmap[3] = 1;
		umap[4] = uid;
		gmap[4] = gid;
		umap[5] = gmap[5] = 1;
		n = 6;
	}
	ret = subid_run("newuidmap", pid, umap, n);
	return ret < 0 ? ret : subid_run("newgidmap", pid, gmap, n);
}

/* Symlinks a path may expand, as the kernel's limit. */
#define TRUSTED_LINKS_MAX 40

int subid_open_trusted(const char *path, bool last_nofollow)
{
	char buf[PATH_MAX], link[PATH_MAX], *p = buf;
	unsigned int links = 0;
	int dir, ret;

	if (path[0] != '/' || strlen(path) >= sizeof(buf))
		return path[0] != '/' ? -EINVAL : -ENAMETOOLONG;
	strcpy(buf, path);
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (;;) {
		char *name, *end;
		struct stat st;
		bool last;
		ssize_t n;
		int fd;

		while (*p == '/')
			p++;
		if (!*p)
			return dir; /* the path ended on a directory */
		name = p;
		end = strchr(p, '/');
		p = end ? end : p + strlen(p);
		if (end)
			*end = '\0';
		last = !end || !end[1 + strspn(end + 1, "/")];
		fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			ret = -errno;
			goto fail_fd;
		}
		if (!S_ISLNK(st.st_mode) || (last && last_nofollow)) {
			close(dir);
			dir = fd;
			if (end)
				p = end + 1;
			if (last)
				return dir;
			continue;
		}
		ret = -ELOOP;
		if ((st.st_uid != 0 && st.st_uid != geteuid()) || ++links > TRUSTED_LINKS_MAX)
			goto fail_fd;
		n = readlinkat(fd, "", link, sizeof(link) - 1);
		close(fd);
		if (n < 0 || (size_t)n + (end ? strlen(end + 1) + 1 : 0) >= sizeof(link)) {
			ret = n < 0 ? -errno : -ENAMETOOLONG;
			goto fail;
		}
		link[n] = '\0';
		if (end) { /* the link's text, then what was left of the path */
			strcat(link, "/");
			strcat(link, end + 1);
		}
		strcpy(buf, link);
		p = buf;
		if (buf[0] == '/') { /* absolute: from the root again */
			close(dir);
			dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dir < 0)
				return -errno;
		}
		continue;
	fail_fd:
		if (fd >= 0)
			close(fd);
	fail:
		close(dir);
		return ret;
	}
}

int subid_chown_path(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = subid_open_trusted(path, true), ret = 0;

	if (fd < 0)
		return fd;
	/* O_PATH opened a symlink itself: the domain's, perhaps, pointing at one of ours. */
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISLNK(st.st_mode))
		ret = -ELOOP;
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int subid_chown(const char *const *paths, size_t n, uid_t uid, gid_t gid)
{
	int sync[2], status, ret;
	pid_t pid;
	char go;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	/* clone, not clone3: valgrind knows only clone; fork-like, no stack given. */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(sync[1]);
		if (read(sync[0], &go, 1) != 1)
			_exit(EPIPE);
		/* In the namespace the caller's ids are 0 and the domain's 1, both ours to give. */
		for (size_t i = 0; i < n; i++) {
			int r = subid_chown_path(paths[i], 1, 1);

			if (r < 0)
				_exit(-r);
		}
		_exit(0);
	}
	close(sync[0]);
	if (pid < 0) {
		ret = -errno;
		close(sync[1]);
		return ret;
	}
	ret = subid_map(pid, uid, gid, true);
	if (ret == 0 && write(sync[1], "g", 1) != 1)
		ret = -errno;
	close(sync[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ret = WIFEXITED(status) && WEXITSTATUS(status) ? -WEXITSTATUS(status) : -EIO;
	return ret;
}
