/* SPDX-License-Identifier: MIT */
/*
 * blkback-sandbox: a serving pvio-blkback, started with --user 65534:65534, shows in the host's
 * /proc/<pid>/status NoNewPrivs 1, Seccomp 2 (a filter), no capability in any set, and that uid
 * and gid; as that user it refuses a root-only file beneath its storage (error node, Closing)
 * while it serves another disk.  Restarted with --no-sandbox it keeps root, its capabilities and
 * no filter, and serves the same disk: the unsandboxed path for debugging still works.
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
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	T_ASSERT(f, "%s: %s", path, strerror(errno));
	val[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl))
			continue;
		snprintf(val, len, "%s", line + kl + strspn(line + kl, " \t"));
		for (size_t n = strlen(val); n && (val[n - 1] == '\n' || val[n - 1] == ' '); n--)
			val[n - 1] = '\0';
		break;
	}
	fclose(f);
	T_ASSERT(val[0], "%s: no %s", path, key);
}

static void expect_field(pid_t pid, const char *key, const char *want)
{
	char val[128];

	status_field(pid, key, val, sizeof(val));
	T_ASSERT(!strcmp(val, want), "pvio-blkback's %s is \"%s\", not \"%s\"", key, val, want);
}

/* The sandboxed daemon's credentials, as the host sees them. */
static void check_sandboxed(pid_t pid)
{
	static const char *const caps[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };

	expect_field(pid, "NoNewPrivs:", "1");
	expect_field(pid, "Seccomp:", "2");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		expect_field(pid, caps[i], "0000000000000000");
	expect_field(pid, "Uid:", "65534\t65534\t65534\t65534");
	expect_field(pid, "Gid:", "65534\t65534\t65534\t65534");
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

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static char path[PATH_MAX], secret[PATH_MAX], text[512];
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: --user needs root\n");
		return T_SKIP;
	}
	rc = blk_env_start(&env);
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
	check_sandboxed(env.daemon);
	T_CHECK(blk_env_daemon_stop(&env, SIGTERM, 10000) == 0, "sandboxed daemon on SIGTERM");

	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--no-sandbox", NULL }) == 0,
		"start pvio-blkback --no-sandbox");
	io_works(&env, 2);
	check_unsandboxed(env.daemon);
	return blk_env_stop(&env);
}
