/* SPDX-License-Identifier: MIT */
/*
 * blkback-storage: pvio-blkback serves only files beneath its --storage directory.  Devices
 * whose params escape it (`..`, an absolute or a relative symlink out of it, an absolute path
 * outside it, a /proc/self/root path, a root-only host file) each get an error node and go to
 * Closing, while a device beneath it, also named with libxl's "aio:" prefix, serves I/O.
 * Without --storage the daemon serves nothing, not even that device.  The storage is
 * <private dir>/store; the disks outside it are in the private directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "launch/embed.h"
#include "tests/blk-env.h"

#define DISK_BYTES (1u << 20)
#define NSECT	   16u
#define XVD(n)	   (BLK_XVDA + 16u * (n)) /* xvda, xvdb, ... */

/* The guest: xvda, the disk beneath the storage, takes a write and reads it back. */
static int guest_io(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t out[NSECT * BLK_SECTOR], in[sizeof(out)];
	struct blkfront *bf;
	int rc = blkfront_open(&bf, &o);

	(void)arg;
	T_CHECK(rc == 0, "blkfront_open xvda: %s", strerror(-rc));
	memset(out, 0xa5, sizeof(out));
	T_CHECK(blkfront_write(bf, out, 0, sizeof(out)) == 0 &&
		    blkfront_read(bf, in, 0, sizeof(in)) == 0 && !memcmp(in, out, sizeof(in)),
		"xvda: write, read back");
	blkfront_close(bf);
	return 0;
}

/* Wait up to 10 s for devid's back-end to reach state. */
static int wait_state(struct blk_env *env, unsigned int devid, int state)
{
	for (int i = 0; i < 1000; i++) {
		if (blk_env_backend_state(env, devid) == state)
			return 0;
		t_msleep(10);
	}
	return -ETIMEDOUT;
}

/* devid must fail: an error node naming the storage, and Closing. */
static void expect_refused(struct blk_env *env, unsigned int devid, const char *what)
{
	char text[512];

	T_ASSERT(blk_env_error_node(env, devid, 10000, text, sizeof(text)) == 0,
		 "%s: no error node (the daemon served it?)", what);
	T_ASSERT(strstr(text, "not beneath a storage directory"), "%s: error node: %s", what, text);
	T_ASSERT(wait_state(env, devid, 5) == 0, "%s: back-end not Closing (%d)", what,
		 blk_env_backend_state(env, devid));
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static char path[PATH_MAX], out[PATH_MAX], p[PATH_MAX + 64];
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	snprintf(env.storage, sizeof(env.storage), "%s/store", env.dir);
	/* The driver domain's uid must search its storage: it is its own. */
	T_CHECK(mkdir(env.storage, 0700) == 0 &&
		    chown(env.storage, embed_domain_uid(env.e, env.dd), (gid_t)-1) == 0,
		"mkdir %s", env.storage);
	T_CHECK(blk_env_disk(&env, "store/a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_disk(&env, "outside", DISK_BYTES, out, sizeof(out)) == 0, "outside disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	snprintf(p, sizeof(p), "aio:%s", path);
	T_CHECK(blk_env_attach(&env, XVD(1), p, true) == 0, "attach xvdb (aio:)");
	snprintf(p, sizeof(p), "%s/../outside.img", env.storage);
	T_CHECK(blk_env_attach(&env, XVD(2), p, false) == 0, "attach .. escape");
	snprintf(p, sizeof(p), "%s/abs.img", env.storage);
	T_CHECK(symlink(out, p) == 0 && blk_env_attach(&env, XVD(3), p, false) == 0, "abs link");
	snprintf(p, sizeof(p), "%s/rel.img", env.storage);
	T_CHECK(symlink("../outside.img", p) == 0 && blk_env_attach(&env, XVD(4), p, false) == 0,
		"rel link");
	T_CHECK(blk_env_attach(&env, XVD(5), out, false) == 0, "attach outside");
	snprintf(p, sizeof(p), "/proc/self/root%s", path);
	T_CHECK(blk_env_attach(&env, XVD(6), p, false) == 0, "attach /proc/self/root");
	T_CHECK(blk_env_attach(&env, XVD(7), "/etc/shadow", true) == 0, "attach /etc/shadow");

	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	expect_refused(&env, XVD(2), "../ out of the storage");
	expect_refused(&env, XVD(3), "absolute symlink out");
	expect_refused(&env, XVD(4), "relative symlink out");
	expect_refused(&env, XVD(5), "absolute path outside");
	expect_refused(&env, XVD(6), "/proc/self/root path");
	expect_refused(&env, XVD(7), "/etc/shadow");
	T_CHECK(wait_state(&env, XVD(1), 2) == 0, "aio: device not in InitWait (%d)",
		blk_env_backend_state(&env, XVD(1)));
	T_CHECK(blk_env_guest(&env, guest_io, NULL, &pid) == 0, "fork the front");
	T_CHECK(blk_env_wait(pid, 20000) == 0, "I/O on xvda failed");

	/* Without --storage, nothing is served: deny by default. */
	T_CHECK(blk_env_daemon_stop(&env, SIGTERM, 10000) == 0, "pvio-blkback on SIGTERM");
	env.storage[0] = '\0';
	T_CHECK(blk_env_attach(&env, XVD(8), path, false) == 0, "attach xvdi");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback without --storage");
	expect_refused(&env, XVD(8), "no --storage");
	return blk_env_stop(&env);
}
