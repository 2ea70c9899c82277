/* SPDX-License-Identifier: MIT */
/*
 * diskbench-loop.c - the guest's disk as its users see it: pvio-blkfront(8) serves the guest's
 * xvda as MOUNTPOINT/disk over FUSE, losetup --direct-io=on makes that file a loop device, and
 * fio runs each loop workload on the loop device, then at once on the image itself.
 * Needs root, /dev/fuse, loop devices, losetup, fusermount3 and fio; without one of them the
 * mode is skipped with the reason (db_loop_results.why).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/diskbench/diskbench.h"

/* How long pvio-blkfront has to connect and show MOUNTPOINT/disk. */
#define DISK_WAIT_MS 30000u
#define DISK_POLL_MS 20u

/*
 * 4 KiB random at depth 1 and 32 as the library's table; 1 MiB sequential at depth 4, as the
 * FUSE records (results/fuse.txt) were taken.
 */
const struct db_workload db_loop_workloads[DB_NR_LOOP_WORKLOADS] = {
	DB_WORKLOADS_4K,
	{ "seqread 1m qd4", false, false, 1u << 20, 4 },
	{ "seqwrite 1m qd4", true, false, 1u << 20, 4 },
};

/* Whether cmd is on $PATH. */
static bool have_cmd(const char *cmd)
{
	char c[128];

	snprintf(c, sizeof(c), "command -v %s >/dev/null 2>&1", cmd);
	return system(c) == 0;
}

/* NULL if the mode can run here, else why not. */
static const char *loop_why_not(void)
{
	if (geteuid() != 0)
		return "skipped: not root (losetup needs it)";
	if (access("/dev/fuse", R_OK | W_OK))
		return "skipped: no /dev/fuse";
	if (access("/dev/loop-control", R_OK | W_OK))
		return "skipped: no /dev/loop-control";
	if (!have_cmd("losetup"))
		return "skipped: no losetup";
	if (!have_cmd("fusermount3"))
		return "skipped: no fusermount3";
	if (!have_cmd("fio"))
		return "skipped: fio not installed";
	return NULL;
}

/* What the dom0 part works with. */
struct loop_run {
	const struct db_params *p;
	const char *mnt;	   /* pvio-blkfront's mount point */
	struct db_loop_results *r; /* the rows go to r->loop and r->image */
	bool direct;		   /* the image is opened O_DIRECT */
};

/* Wait for mnt/disk with its size while the guest lives: 0, -ENODEV if it died, -ETIMEDOUT. */
static int wait_disk(const char *disk, pid_t guest)
{
	siginfo_t si;
	struct stat st;
	unsigned int i;

	for (i = 0; i < DISK_WAIT_MS / DISK_POLL_MS; i++) {
		if (!stat(disk, &st) && S_ISREG(st.st_mode) && st.st_size > 0)
			return 0;
		/* Not reaped here: the teardown reaps it. */
		memset(&si, 0, sizeof(si));
		if (!waitid(P_PID, (id_t)guest, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid)
			return -ENODEV;
		usleep(DISK_POLL_MS * 1000u);
	}
	return -ETIMEDOUT;
}

/* losetup --direct-io=on -f --show disk: the device into dev. */
static int loop_attach(const char *disk, char *dev, size_t len)
{
	char *argv[] = { "losetup", "--direct-io=on", "-f", "--show", (char *)disk, NULL };
	char *out = NULL;
	int ret = db_exec_capture(argv, &out);

	if (ret == 0) {
		out[strcspn(out, "\n")] = '\0';
		if (strncmp(out, "/dev/", 5) || strlen(out) >= len)
			ret = -EPROTO;
		else
			snprintf(dev, len, "%s", out);
	}
	free(out);
	return ret;
}

static int run_cmd(char **argv)
{
	char *out = NULL;
	int ret = db_exec_capture(argv, &out);

	free(out);
	return ret;
}

/* db_fio_one, with what the whole machine's CPUs did meanwhile into res->cpu. */
static int fio_cpu(const struct db_params *p, const char *file, bool direct,
		   const struct db_workload *w, struct db_result *res)
{
	struct db_cpu cpu;
	int ret;

	db_cpu_start(&cpu);
	ret = db_fio_one(p, file, direct, w, res);
	db_cpu_stop(&cpu);
	res->cpu = cpu;
	return ret;
}

/* The loop device's rows; the device detached and mnt unmounted whatever happened. */
static int loop_dom0(struct db_pvio_ctl *c, void *arg)
{
	struct loop_run *lr = arg;
	char disk[PATH_MAX], dev[64];
	unsigned int i;
	int ret;

	snprintf(disk, sizeof(disk), "%s/disk", lr->mnt);
	ret = wait_disk(disk, c->guest);
	if (ret == 0)
		ret = loop_attach(disk, dev, sizeof(dev));
	if (ret < 0) {
		db_err(ret == -ENODEV ? "pvio-blkfront exited" : disk, ret);
		goto out;
	}
	/*
	 * Each workload on the loop device, then at once on the image (the front-end idle), so
	 * that both see the same load of a shared machine.  The loop device is a block device:
	 * O_DIRECT always; the image as pvio-blkback opens it.
	 */
	for (i = 0; i < DB_NR_LOOP_WORKLOADS; i++) {
		ret = fio_cpu(lr->p, dev, true, &db_loop_workloads[i], &lr->r->loop[i]);
		if (ret == 0)
			ret = fio_cpu(lr->p, lr->p->file, lr->direct, &db_loop_workloads[i],
				      &lr->r->image[i]);
		if (ret < 0) {
			db_err(db_loop_workloads[i].name, ret);
			break;
		}
	}
	if (run_cmd((char *[]){ "losetup", "-d", dev, NULL }) < 0 && ret == 0)
		ret = db_err("losetup -d", -EIO);
out:
	/*
	 * Unmounted, pvio-blkfront closes the device and exits 0 by itself.  The loop device lets
	 * go of the file a moment after losetup -d returns (its release is deferred), and until
	 * then the unmount is refused as busy: tried again for up to 5 s before a lazy one.
	 */
	for (i = 0; run_cmd((char *[]){ "fusermount3", "-u", (char *)lr->mnt, NULL }) < 0; i++) {
		if (i == 50) {
			umount2(lr->mnt, MNT_DETACH);
			kill(c->guest, SIGTERM);
			break;
		}
		usleep(100000);
	}
	return ret;
}

int db_run_loop(const struct db_params *p, bool direct, struct db_loop_results *r)
{
	struct loop_run lr = { .p = p, .r = r, .direct = direct };
	char mnt[] = "/tmp/pvio-diskbench-fuse.XXXXXX";
	int ret;

	memset(r, 0, sizeof(*r));
	r->why = loop_why_not();
	if (r->why)
		return 0;
	if (!mkdtemp(mnt))
		return db_err("mkdtemp", -errno);
	lr.mnt = mnt;
	ret = db_run_pvio_fuse(p, mnt, loop_dom0, &lr);
	rmdir(mnt);
	if (ret < 0)
		return ret;
	r->have = true;
	return 0;
}
