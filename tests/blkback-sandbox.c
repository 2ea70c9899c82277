/* SPDX-License-Identifier: MIT */
/*
 * blkback-sandbox: pvio-blkback serving in an isolated driver domain shows in the host's
 * /proc/<pid>/status its domain's host uid and gid, NoNewPrivs 1, Seccomp 2 (a filter) and no
 * capability in any set; it refuses a root-only host file beneath its storage (error node,
 * Closing) while it serves another disk.
 *
 * blkback-sandbox-user (the same program under that name): as on Xen, the daemon starts as root
 * (a driver domain created shared) with --user 65534:65534 and shows that uid and gid, the same
 * flags and no capability, and refuses the root-only file.  Restarted with --no-sandbox it keeps
 * root, its capabilities and no filter, and serves the same disk: the unsandboxed path for
 * debugging still works.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/blk/blkfront.h"
#include "launch/embed.h"
#include "tests/blk-env.h"

#define DISK_BYTES (1u << 20)
#define NSECT	   16u
#define NOBODY	   65534u

/* The guest: write tagged sectors (generation *arg) to xvda and read them back. */
static int guest_io(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[NSECT * BLK_SECTOR];
	uint32_t want = *(uint32_t *)arg, gen;
	struct blkfront *bf;
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open xvda: %s", strerror(-rc));
	for (uint32_t i = 0; i < NSECT; i++)
		blk_tag_fill(buf + (size_t)i * BLK_SECTOR, i, want);
	T_CHECK(blkfront_write(bf, buf, 0, sizeof(buf)) == 0, "write");
	memset(buf, 0, sizeof(buf));
	T_CHECK(blkfront_read(bf, buf, 0, sizeof(buf)) == 0, "read");
	for (uint32_t i = 0; i < NSECT; i++)
		T_CHECK(blk_tag_check(buf + (size_t)i * BLK_SECTOR, i, &gen) == 0 && gen == want,
			"sector %u", i);
	blkfront_close(bf);
	return 0;
}

static void io_works(struct blk_env *env, uint32_t gen)
{
	pid_t pid;

	T_ASSERT(blk_env_guest(env, guest_io, &gen, &pid) == 0, "fork the front");
	T_ASSERT(blk_env_wait(pid, 20000) == 0, "I/O on xvda failed");
}

/* The value of key ("Seccomp:") in /proc/<pid>/status, into val. */
static void status_field(pid_t pid, const char *key, char *val, size_t len)
{
	int ret = t_proc_status(pid, key, val, len);

	T_ASSERT(ret == 0 && val[0], "/proc/%d/status: %s: %s", (int)pid, key, strerror(-ret));
}

static void expect_field(pid_t pid, const char *key, const char *want)
{
	char val[128];

	status_field(pid, key, val, sizeof(val));
	T_ASSERT(!strcmp(val, want), "pvio-blkback's %s is \"%s\", not \"%s\"", key, val, want);
}

/* The sandboxed daemon's credentials, as the host sees them: uid and gid id. */
static void check_sandboxed(pid_t pid, unsigned int id, bool groups)
{
	char want[64];

	static const char *const caps[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };

	expect_field(pid, "NoNewPrivs:", "1");
	expect_field(pid, "Seccomp:", "2");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		expect_field(pid, caps[i], "0000000000000000");
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", id, id, id, id);
	expect_field(pid, "Uid:", want);
	expect_field(pid, "Gid:", want);
	if (groups)
		expect_field(pid, "Groups:", "65534");
}

static void check_unsandboxed(pid_t pid)
{
	char val[128];

	expect_field(pid, "NoNewPrivs:", "0");
	expect_field(pid, "Seccomp:", "0");
	expect_field(pid, "Uid:", "0\t0\t0\t0");
	status_field(pid, "CapEff:", val, sizeof(val));
	T_ASSERT(strcmp(val, "0000000000000000"), "--no-sandbox dropped the capabilities");
}

/* The isolated driver domain: its own uid, nothing else to drop to. */
static int isolated(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static char path[PATH_MAX], secret[PATH_MAX], text[512];
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: a domain's own host uid needs root\n");
		return T_SKIP;
	}
	rc = blk_env_start(&env);
	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_disk(&env, "secret", DISK_BYTES, secret, sizeof(secret)) == 0, "secret");
	/* blk_env_disk gave both to the driver domain's uid: root takes the secret back. */
	T_CHECK(chown(secret, 0, 0) == 0 && chmod(secret, 0600) == 0, "chown: %s", strerror(errno));
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_attach(&env, BLK_XVDB, secret, true) == 0, "attach xvdb");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_error_node(&env, BLK_XVDB, 10000, text, sizeof(text)) == 0,
		"a root-only file served to the driver domain");
	T_CHECK(strstr(text, strerror(EACCES)), "xvdb's error node: %s", text);
	T_CHECK(blk_env_backend_state(&env, BLK_XVDB) == 5, "xvdb not Closing");
	io_works(&env, 1);
	check_sandboxed(env.daemon, (unsigned int)embed_domain_uid(env.e, env.dd), false);
	return blk_env_stop(&env);
}

int main(int argc, char **argv)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static char path[PATH_MAX], secret[PATH_MAX], text[512];
	int rc;

	if (argc < 1 || !strstr(argv[0], "sandbox-user"))
		return isolated();
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: --user needs root\n");
		return T_SKIP;
	}
	rc = blk_env_start_with(&env, true);
	if (rc)
		return rc;
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_disk(&env, "secret", DISK_BYTES, secret, sizeof(secret)) == 0, "secret");
	/* The user owns its storage, its disk and its statistics; root keeps the secret. */
	T_CHECK(chown(env.dir, NOBODY, NOBODY) == 0 && chown(path, NOBODY, NOBODY) == 0 &&
		    chown(env.stats_dir, NOBODY, NOBODY) == 0 && chmod(secret, 0600) == 0,
		"chown: %s", strerror(errno));
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_attach(&env, BLK_XVDB, secret, true) == 0, "attach xvdb");

	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--user", "65534:65534", NULL }) == 0,
		"start pvio-blkback --user");
	T_CHECK(blk_env_error_node(&env, BLK_XVDB, 10000, text, sizeof(text)) == 0,
		"a root-only file served to the unprivileged daemon");
	T_CHECK(strstr(text, strerror(EACCES)), "xvdb's error node: %s", text);
	T_CHECK(blk_env_backend_state(&env, BLK_XVDB) == 5, "xvdb not Closing");
	io_works(&env, 1);
	check_sandboxed(env.daemon, NOBODY, true);
	T_CHECK(blk_env_daemon_stop(&env, SIGTERM, 10000) == 0, "sandboxed daemon on SIGTERM");

	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--no-sandbox", NULL }) == 0,
		"start pvio-blkback --no-sandbox");
	io_works(&env, 2);
	check_unsandboxed(env.daemon);
	return blk_env_stop(&env);
}
