/* SPDX-License-Identifier: MIT */
/*
 * blk-front-restart: the guest's front-end process dies without closing (its device stays
 * Connected in xenstore, and pvio-blkback stays connected to its rings) while the guest domain
 * lives on.  A new process in the same domain opens the device again: libpvio-blkfront sees its
 * own stale state, resets the handshake through Closed, and connects to fresh rings; the data
 * the first process wrote and had acknowledged reads back.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"

#define DISK_BYTES (4u << 20)
#define NSECT	   64u

/* Write (first process) or read back and check (second) NSECT tagged sectors at 0. */
static int run(bool write)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[NSECT * BLK_SECTOR];
	struct blkfront *bf;
	uint32_t gen;
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open (%s process): %s", write ? "first" : "second",
		strerror(-rc));
	if (write) {
		for (uint32_t i = 0; i < NSECT; i++)
			blk_tag_fill(buf + (size_t)i * BLK_SECTOR, i, 7);
		T_CHECK(blkfront_write(bf, buf, 0, sizeof(buf)) == 0, "write");
		_exit(0); /* die connected: no blkfront_close */
	}
	memset(buf, 0, sizeof(buf));
	T_CHECK(blkfront_read(bf, buf, 0, sizeof(buf)) == 0, "read back");
	for (uint32_t i = 0; i < NSECT; i++)
		T_CHECK(blk_tag_check(buf + (size_t)i * BLK_SECTOR, i, &gen) == 0 && gen == 7,
			"sector %u", i);
	blkfront_close(bf);
	return 0;
}

static int writer(void *arg)
{
	(void)arg;
	return run(true);
}

static int reader(void *arg)
{
	(void)arg;
	return run(false);
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char path[PATH_MAX];
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, writer, NULL, &pid) == 0, "fork the first front");
	T_CHECK(blk_env_wait(pid, 20000) == 0, "the first front failed");
	T_CHECK(blk_env_backend_state(&env, BLK_XVDA) == 4, "back-end still Connected");
	T_CHECK(blk_env_guest(&env, reader, NULL, &pid) == 0, "fork the second front");
	T_CHECK(blk_env_wait(pid, 20000) == 0, "the second front failed");
	return blk_env_stop(&env);
}
