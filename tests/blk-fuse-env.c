/* SPDX-License-Identifier: MIT */
/*
 * blk-fuse-env: the environment of tests/blk-fuse.sh.
 *
 *	blk-fuse-env IMAGE MOUNTPOINT COMMAND [ARG...]
 *
 * Starts the embedded hypervisor and xenstored (launch/embed.h), creates a driver domain "dd"
 * running pvio-blkback and a domain "guest", gives the guest IMAGE as xvdb (served by dd), runs
 * `pvio-blkfront -f xvdb MOUNTPOINT` in the guest, waits for MOUNTPOINT/disk, then runs COMMAND
 * in dom0 and tears everything down: loop devices still on the file detached, the file system
 * unmounted, pvio-blkfront and pvio-blkback sent SIGTERM, the daemons stopped.
 *
 * Exit status: COMMAND's, but 1 if COMMAND passed and the teardown failed (a program that did
 * not exit 0 after SIGTERM, a daemon that did not stop cleanly), or if pvio-blkback or
 * pvio-blkfront is not built; 3 if pvio-blkfront exited before the file appeared (its message is
 * on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "tests/helpers.h"
#include "launch/embed.h"
#include "xenbus/toolstack.h"

#define DEVID	    51728 /* xvdb */
#define WAIT_MS	    30000 /* for the file to appear */
#define STOP_MS	    10000 /* for a program to exit after SIGTERM */
#define EXIT_NOFUSE 3

/* What the environment holds, for the teardown. */
struct env {
	struct embed *e;       /* the embedded hypervisor and xenstored */
	domid_t dd;	       /* the driver domain */
	domid_t guest;	       /* the guest */
	pid_t back;	       /* pvio-blkback in dd, or 0 */
	pid_t front;	       /* pvio-blkfront in the guest, or 0 */
	const char *image;     /* the disk image (absolute) */
	const char *mnt;       /* the mount point */
	char disk[PATH_MAX];   /* mnt/disk */
	char bindir[PATH_MAX]; /* where the programs are */
};

/* Run argv in dom0 and wait: its exit status (128 + signal), or -errno. */
static int env_run(char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "blk-fuse-env: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return t_wait(pid);
}

/* Wait up to ms for pid to exit: its exit status (128 + signal), or -1 if it is still running. */
static int env_reap(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i <= ms / 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (i < ms / 50)
			t_msleep(50);
	}
	return -1;
}

/*
 * Give pid grace_ms to exit by itself, then SIGTERM it and wait up to STOP_MS: its exit status,
 * or 128 + 9 after a SIGKILL.
 */
static int env_stop(pid_t pid, const char *what, int grace_ms)
{
	int r = env_reap(pid, grace_ms);

	if (r >= 0)
		return r;
	kill(pid, SIGTERM);
	r = env_reap(pid, STOP_MS);
	if (r >= 0)
		return r;
	fprintf(stderr, "blk-fuse-env: %s did not exit after SIGTERM: killed\n", what);
	kill(pid, SIGKILL);
	t_wait(pid);
	return 128 + SIGKILL;
}

/* Give the guest the image as xvdb, served by dd. */
static int env_add_disk(struct env *v)
{
	const struct xenbus_kv front[] = {
		{ "virtual-device", "51728" },
		{ "device-type", "disk" },
	};
	const struct xenbus_kv back[] = {
		{ "params", v->image },
		{ "mode", "w" },
		{ "device-type", "disk" },
		{ "dev", "xvdb" },
	};
	struct xenbus_device_spec spec = {
		.kind = "vbd",
		.devid = DEVID,
		.frontend_id = v->guest,
		.backend_id = v->dd,
		.front_extra = front,
		.n_front_extra = 2,
		.back_extra = back,
		.n_back_extra = 4,
	};
	struct xs_handle *xs = xs_open(0);
	int r;

	if (!xs) {
		fprintf(stderr, "blk-fuse-env: xs_open: %s\n", strerror(errno));
		return -1;
	}
	r = xenbus_device_add(xs, &spec);
	xs_close(xs);
	if (r < 0)
		fprintf(stderr, "blk-fuse-env: xenbus_device_add: %s\n", strerror(-r));
	return r < 0 ? -1 : 0;
}

/* Wait for mnt/disk to appear with its size: 0, EXIT_NOFUSE if the front-end died, or -1. */
static int env_wait_disk(struct env *v)
{
	struct stat st;
	int status, i;

	for (i = 0; i < WAIT_MS / 50; i++) {
		if (!stat(v->disk, &st) && S_ISREG(st.st_mode) && st.st_size > 0)
			return 0;
		if (waitpid(v->front, &status, WNOHANG) == v->front) {
			v->front = 0;
			fprintf(stderr, "blk-fuse-env: pvio-blkfront exited (status 0x%x)\n",
				status);
			return EXIT_NOFUSE;
		}
		t_msleep(50);
	}
	fprintf(stderr, "blk-fuse-env: %s did not appear in %d s\n", v->disk, WAIT_MS / 1000);
	return -1;
}

/*
 * The driver domain sees the image's directory, and its uid owns both.  The guest is not
 * isolated: dom0 must reach its FUSE mount for losetup, and the kernel lets no process outside a
 * user namespace use a FUSE mount made inside it.
 */
static int env_dd_create(struct env *v)
{
	char dir[PATH_MAX], *slash;
	const char *binds[] = { dir, NULL };
	uid_t uid;

	snprintf(dir, sizeof(dir), "%s", v->image);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (embed_domain_create_with(v->e, "dd", &(struct embed_domain_opts){ .binds = binds },
				     &v->dd))
		return -1;
	uid = embed_domain_uid(v->e, v->dd);
	if (chown(dir, uid, (gid_t)-1) < 0 || chown(v->image, uid, (gid_t)-1) < 0) {
		fprintf(stderr, "blk-fuse-env: chown %s: %s\n", v->image, strerror(errno));
		return -1;
	}
	return 0;
}

/* Start everything: 0, EXIT_NOFUSE, or -1 after a message. */
static int env_setup(struct env *v)
{
	char back[PATH_MAX + 16], front[PATH_MAX + 16], storage[PATH_MAX];
	int r;

	snprintf(back, sizeof(back), "%s/pvio-blkback", v->bindir);
	snprintf(front, sizeof(front), "%s/pvio-blkfront", v->bindir);
	/* make check builds both: one missing is a broken build, not a skip. */
	if (access(back, X_OK) || access(front, X_OK)) {
		fprintf(stderr, "blk-fuse-env: %s or %s not built\n", back, front);
		return -1;
	}
	if (embed_start(&v->e, &(struct embed_opts){ .die_with_parent = true }) ||
	    env_dd_create(v) ||
	    embed_domain_create_with(v->e, "guest", &(struct embed_domain_opts){ .shared = true },
				     &v->guest))
		return -1;
	/* The image's directory is the daemon's storage. */
	snprintf(storage, sizeof(storage), "%s", v->image);
	r = embed_domain_spawn(v->e, v->dd, (char *[]){ back, "--storage", dirname(storage), NULL },
			       &v->back);
	if (r < 0)
		return -1;
	if (env_add_disk(v))
		return -1;
	r = embed_domain_spawn(v->e, v->guest,
			       (char *[]){ front, "-f", "xvdb", (char *)v->mnt, NULL }, &v->front);
	if (r < 0)
		return -1;
	return env_wait_disk(v);
}

/* Undo env_setup: 0 if every program stopped cleanly. */
static int env_teardown(struct env *v)
{
	char cmd[PATH_MAX + 128];
	int bad = 0, r;

	/* Loop devices the command left on the file keep the file system busy. */
	snprintf(cmd, sizeof(cmd), "losetup -n -O NAME -j '%s' | xargs -r losetup -d", v->disk);
	env_run((char *[]){ "sh", "-c", cmd, NULL });
	if (v->front) {
		/* Unmounted, it closes the device and exits 0 by itself. */
		if (env_run((char *[]){ "fusermount3", "-u", (char *)v->mnt, NULL }))
			umount2(v->mnt, MNT_DETACH);
		r = env_stop(v->front, "pvio-blkfront", STOP_MS);
		if (r) {
			fprintf(stderr, "blk-fuse-env: pvio-blkfront exited with %d\n", r);
			bad = 1;
		}
	}
	if (v->back) {
		r = env_stop(v->back, "pvio-blkback", 0);
		if (r) {
			fprintf(stderr, "blk-fuse-env: pvio-blkback exited with %d\n", r);
			bad = 1;
		}
	}
	if (embed_stop(v->e)) {
		fprintf(stderr, "blk-fuse-env: the embedded daemons did not stop cleanly\n");
		bad = 1;
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct env v = { 0 };
	const char *bindir = getenv("PVIO_BUILDDIR");
	char image[PATH_MAX];
	int status;

	if (argc < 4) {
		fprintf(stderr, "usage: blk-fuse-env IMAGE MOUNTPOINT COMMAND [ARG...]\n");
		return T_FAIL;
	}
	if (!realpath(argv[1], image)) {
		fprintf(stderr, "blk-fuse-env: %s: %s\n", argv[1], strerror(errno));
		return T_FAIL;
	}
	v.image = image;
	v.mnt = argv[2];
	snprintf(v.disk, sizeof(v.disk), "%s/disk", v.mnt);
	snprintf(v.bindir, sizeof(v.bindir), "%s", bindir ? bindir : ".");
	status = env_setup(&v);
	if (!status) {
		status = env_run(argv + 3);
		if (status < 0)
			status = T_FAIL;
	} else if (status < 0) {
		status = T_FAIL;
	}
	/* A failed teardown turns a pass into a failure; other outcomes stand. */
	if (env_teardown(&v) && !status)
		status = T_FAIL;
	return status;
}
