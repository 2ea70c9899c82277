/* SPDX-License-Identifier: MIT */
/*
 * blk-env.c - the environment of the block device's end-to-end tests (see blk-env.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libaio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "tests/blk-env.h"
#include "launch/embed.h"
#include "launch/sandbox.h"

#define BLK_TAG_MAGIC 0x70766b31u /* "pvk1" */
#define BLK_TAG_CRC   (BLK_SECTOR - 4)

/* The environment to clean up if the test returns early (a failed check), and its process. */
static struct blk_env *blk_env_live;
static pid_t blk_env_owner;

static int blk_env_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* At exit of a test that failed before blk_env_stop: no daemon, no disk in RAM left behind. */
static void blk_env_atexit(void)
{
	struct blk_env *env = blk_env_live;

	if (!env || getpid() != blk_env_owner)
		return;
	blk_env_live = NULL;
	if (env->daemon)
		blk_env_daemon_stop(env, SIGKILL, 5000);
	if (env->xs)
		xs_close(env->xs);
	embed_stop(env->e);
	if (env->dir[0])
		nftw(env->dir, blk_env_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The first line of a /proc file into buf[len], "?" if it cannot be read. */
static void blk_env_proc_line(const char *path, char *buf, int len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, len, f))
		snprintf(buf, (size_t)len, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * pvio-blkback needs libaio.  A kernel without it or a sandbox that forbids it (ENOSYS, EPERM)
 * is a host that cannot run the test: T_SKIP.  Anything else is T_FAIL, EAGAIN included: that
 * is fs.aio-max-nr used up (by a parallel make check, say), which scripts/pvio-test raises.
 */
static int blk_env_aio_probe(void)
{
	io_context_t ctx = 0;
	int rc = io_setup(64, &ctx);
	char nr[32], max[32];

	if (rc == 0) {
		io_destroy(ctx);
		return T_PASS;
	}
	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "SKIP: io_setup: %s (pvio-blkback needs libaio)\n", strerror(-rc));
		return T_SKIP;
	}
	blk_env_proc_line("/proc/sys/fs/aio-nr", nr, sizeof(nr));
	blk_env_proc_line("/proc/sys/fs/aio-max-nr", max, sizeof(max));
	fprintf(stderr, "FAIL: io_setup: %s (fs.aio-nr %s of fs.aio-max-nr %s)\n", strerror(-rc),
		nr, max);
	return T_FAIL;
}

/* $PVIO_BUILDDIR/pvio-blkback (or under driverdomain/), else ./pvio-blkback. */
static int blk_env_find_daemon(struct blk_env *env)
{
	const char *dir = getenv("PVIO_BUILDDIR");
	static const char *const cands[] = { "pvio-blkback", "driverdomain/pvio-blkback" };

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(env->daemon_path, sizeof(env->daemon_path), "%s/%s", dir ? dir : ".",
			 cands[i]);
		if (access(env->daemon_path, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The private directory: on /dev/shm when there is one (the disks then live in RAM). */
static int blk_env_mkdir(struct blk_env *env)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	snprintf(env->dir, sizeof(env->dir), "%s/pvio-blk-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(env->dir))
		return -errno;
	snprintf(env->stats_dir, sizeof(env->stats_dir), "%s/stats", env->dir);
	snprintf(env->storage, sizeof(env->storage), "%s", env->dir); /* blk_env_disk's */
	if (mkdir(env->stats_dir, 0700) < 0)
		return -errno;
	return 0;
}

/*
 * The driver domain: it sees the private directory (its disks and the daemon's stats), which
 * its uid owns so that pvio-blkback can open the disks read-write.
 */
static int blk_env_dd_create(struct blk_env *env, bool shared)
{
	/* $PVIO_TEST_BIND: one more, for valgrind's logs (tests/blk-valgrind.sh). */
	const char *binds[] = { env->dir, getenv("PVIO_TEST_BIND"), NULL };
	struct embed_domain_opts o = { .binds = binds, .shared = shared };
	uid_t uid;
	int rc = embed_domain_create_with(env->e, "dd", &o, &env->dd);

	if (rc < 0)
		return rc;
	env->dd_shared = shared;
	/*
	 * A normal user keeps the directory (to make disks in it: each is then given, as pvio's
	 * own: does, through its subordinate ids) and lets the driver domain search it.
	 */
	if (geteuid() != 0) {
		if (shared)
			return 0;
		if (chmod(env->dir, 0711) < 0 || chmod(env->stats_dir, 0755) < 0)
			return -errno;
		return sandbox_give((const char *const[]){ env->stats_dir }, 1, env->dd, 0);
	}
	uid = embed_domain_uid(env->e, env->dd);
	if (chown(env->dir, uid, (gid_t)-1) < 0 || chown(env->stats_dir, uid, (gid_t)-1) < 0)
		return -errno;
	return 0;
}

int blk_env_start(struct blk_env *env)
{
	return blk_env_start_with(env, false);
}

int blk_env_start_with(struct blk_env *env, bool dd_shared)
{
	struct embed_opts opts = { .die_with_parent = true };
	int rc;

	memset(env, 0, sizeof(*env));
	blk_env_note("start");
	if (!blk_env_owner)
		atexit(blk_env_atexit);
	blk_env_owner = getpid();
	blk_env_live = env;
	t_time_limit(BLK_ENV_ALARM_S);
	signal(SIGPIPE, SIG_IGN);
	rc = blk_env_aio_probe();
	if (rc != T_PASS)
		return rc;
	if (blk_env_find_daemon(env) < 0) {
		fprintf(stderr, "FAIL: no pvio-blkback in $PVIO_BUILDDIR\n");
		return T_FAIL;
	}
	rc = blk_env_mkdir(env);
	if (rc < 0) {
		fprintf(stderr, "FAIL: private directory %s: %s\n", env->dir, strerror(-rc));
		return T_FAIL;
	}
	opts.verbose = getenv("PVIO_TEST_VERBOSE") != NULL;
	rc = embed_start(&env->e, &opts);
	if (rc == 0)
		rc = blk_env_dd_create(env, dd_shared);
	if (rc == 0)
		rc = embed_domain_create_with(
		    env->e, "guest",
		    &(struct embed_domain_opts){
			.binds = (const char *[]){ getenv("PVIO_TEST_BIND"), NULL } },
		    &env->guest);
	if (rc < 0) {
		fprintf(stderr, "FAIL: embedded hypervisor: %s\n", strerror(-rc));
		return T_FAIL;
	}
	env->xs = xs_open(0);
	if (!env->xs) {
		fprintf(stderr, "FAIL: xs_open as dom0: %s\n", strerror(errno));
		return T_FAIL;
	}
	return T_PASS;
}

int blk_env_stop(struct blk_env *env)
{
	int result = T_PASS, rc;

	blk_env_live = NULL;
	if (env->daemon) {
		rc = blk_env_daemon_stop(env, SIGTERM, 10000);
		if (rc != 0) {
			fprintf(stderr, "FAIL: pvio-blkback on SIGTERM: status %d\n", rc);
			result = T_FAIL;
		}
	}
	blk_env_note("daemon stopped");
	if (env->xs)
		xs_close(env->xs);
	rc = embed_stop(env->e);
	blk_env_note("embed stopped");
	if (rc != 0) {
		fprintf(stderr, "FAIL: embed_stop: %s\n", strerror(-rc));
		result = T_FAIL;
	}
	if (env->dir[0])
		nftw(env->dir, blk_env_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	alarm(0);
	return result;
}

int blk_env_disk(struct blk_env *env, const char *name, uint64_t bytes, char *path, size_t len)
{
	int fd, rc = 0;

	if ((size_t)snprintf(path, len, "%s/%s.img", env->dir, name) >= len)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0)
		rc = -errno;
	/* The driver domain's uid opens it. */
	if (rc == 0 && env->e && geteuid() == 0) {
		uid_t uid = embed_domain_uid(env->e, env->dd);

		if (fchown(fd, uid, (gid_t)-1) < 0)
			rc = -errno;
	}
	close(fd);
	/* A shared driver domain runs as the caller, who owns the file already. */
	if (rc == 0 && env->e && geteuid() != 0 && !env->dd_shared)
		rc = sandbox_give((const char *const[]){ path }, 1, env->dd, 0);
	return rc;
}

void blk_env_spec(const struct blk_env *env, unsigned int devid, struct xenbus_device_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->kind = "vbd";
	spec->devid = devid;
	spec->frontend_id = env->guest;
	spec->backend_id = env->dd;
}

int blk_env_attach(struct blk_env *env, unsigned int devid, const char *path, bool readonly)
{
	const struct xenbus_kv back[] = {
		{ "params", path },
		{ "mode", readonly ? "r" : "w" },
		{ "type", "file" },
	};
	const struct xenbus_kv front[] = {
		{ "virtual-device", NULL },
		{ "device-type", "disk" },
	};
	struct xenbus_kv fr[2] = { front[0], front[1] };
	struct xenbus_device_spec spec;
	char vdev[16];
	int rc;

	if (env->ndevices == BLK_ENV_MAX_DEVICES)
		return -ENOSPC;
	snprintf(vdev, sizeof(vdev), "%u", devid);
	fr[0].value = vdev;
	blk_env_spec(env, devid, &spec);
	spec.back_extra = back;
	spec.n_back_extra = sizeof(back) / sizeof(back[0]);
	spec.front_extra = fr;
	spec.n_front_extra = 2;
	rc = xenbus_device_add(env->xs, &spec);
	if (rc == 0)
		env->devices[env->ndevices++] = devid;
	return rc;
}

int blk_env_detach(struct blk_env *env, unsigned int devid, int ms)
{
	struct xenbus_device_spec spec;
	int rc;

	blk_env_spec(env, devid, &spec);
	rc = xenbus_device_detach(env->xs, &spec);
	if (rc == 0)
		rc = xenbus_device_wait_closed(env->xs, &spec, ms);
	if (rc == 0)
		rc = xenbus_device_remove(env->xs, &spec, 0);
	return rc;
}

int blk_env_daemon_start(struct blk_env *env, const char *const *extra)
{
	char *argv[BLK_ENV_MAX_ARGS + 10];
	unsigned int n = 0;
	int rc;

	if (env->daemon)
		return -EBUSY;
	if (extra) {
		unsigned int i;

		for (i = 0; extra[i]; i++) {
			if (i + 1 >= BLK_ENV_MAX_ARGS)
				return -E2BIG;
			env->args[i] = extra[i];
		}
		env->args[i] = NULL;
	}
	argv[n++] = env->daemon_path;
	if (getenv("PVIO_TEST_VERBOSE"))
		argv[n++] = "-v";
	argv[n++] = "--stats-dir";
	argv[n++] = env->stats_dir;
	if (env->storage[0]) {
		argv[n++] = "--storage";
		argv[n++] = env->storage;
	}
	for (unsigned int i = 0; env->args[i]; i++)
		argv[n++] = (char *)env->args[i];
	/* tests/blk-poll-off.sh: the same tests with the daemon's polling fixed or off. */
	if (getenv("PVIO_TEST_BLKBACK_POLL_US")) {
		argv[n++] = "--poll-us";
		argv[n++] = getenv("PVIO_TEST_BLKBACK_POLL_US");
	}
	/* tests/blk-bounce.sh: the same tests with the I/O through bounce buffers. */
	if (getenv("PVIO_TEST_BLKBACK_BOUNCE"))
		argv[n++] = "--bounce";
	argv[n] = NULL;
	rc = embed_domain_spawn(env->e, env->dd, argv, &env->daemon);
	if (rc < 0)
		env->daemon = 0;
	return rc;
}

int blk_env_link(struct t_link *l)
{
	if (pipe2(l->ab, O_CLOEXEC) < 0 || pipe2(l->ba, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int blk_env_wait(pid_t pid, int ms)
{
	for (int waited = 0;; waited += 5) {
		int status;
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got < 0 && errno != EINTR)
			return -errno;
		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (waited >= ms)
			break;
		t_msleep(5);
	}
	kill(pid, SIGKILL);
	t_wait(pid);
	return -ETIMEDOUT;
}

int blk_env_daemon_stop(struct blk_env *env, int sig, int ms)
{
	pid_t pid = env->daemon;

	if (!pid)
		return -ESRCH;
	env->daemon = 0;
	if (kill(pid, sig) < 0)
		return -errno;
	return blk_env_wait(pid, ms);
}

int blk_env_guest(struct blk_env *env, int (*fn)(void *arg), void *arg, pid_t *pid)
{
	return embed_domain_fork(env->e, env->guest, fn, arg, pid);
}

/* The stats file of devid, open for reading, or NULL. */
static FILE *blk_env_stat_open(const struct blk_env *env, unsigned int devid)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%u.%u", env->stats_dir, (unsigned int)env->guest, devid);
	return fopen(path, "r");
}

int blk_env_stat(const struct blk_env *env, unsigned int devid, const char *key, uint64_t *val)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%u.%u", env->stats_dir, (unsigned int)env->guest, devid);
	return t_keyfile_u64(path, key, val);
}

int blk_env_stat_str(const struct blk_env *env, unsigned int devid, const char *key, char *val,
		     size_t len)
{
	FILE *f = blk_env_stat_open(env, devid);
	size_t kl = strlen(key);
	char line[256];
	int rc = -ENOENT;

	if (!f)
		return -ENOENT;
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) || line[kl] != ' ')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(val, len, "%s", line + kl + 1);
		rc = 0;
	}
	fclose(f);
	return rc;
}

int blk_env_stat_wait(const struct blk_env *env, unsigned int devid, const char *key, uint64_t min,
		      int ms, uint64_t *val)
{
	int rc = -ENOENT;

	*val = 0;
	for (int waited = 0; waited <= ms; waited += 20) {
		rc = blk_env_stat(env, devid, key, val);
		if (rc == 0 && *val >= min)
			return 0;
		t_msleep(20);
	}
	return rc < 0 ? rc : -ETIMEDOUT;
}

void blk_env_stat_dump(const struct blk_env *env, unsigned int devid)
{
	char line[256];
	FILE *f = blk_env_stat_open(env, devid);

	if (!f) {
		fprintf(stderr, "  (no stats file for %u.%u)\n", (unsigned int)env->guest, devid);
		return;
	}
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  stats %u: %s", devid, line);
	fclose(f);
}

/* The two places an error node may be: Linux's error/<nodename>/error, and <nodename>/error. */
static void blk_env_error_paths(struct blk_env *env, unsigned int devid, char paths[2][512])
{
	struct xenbus_device_spec spec;
	char be[400];

	blk_env_spec(env, devid, &spec);
	if (xenbus_backend_path(&spec, be, sizeof(be)) < 0)
		be[0] = 0;
	snprintf(paths[0], 512, "/local/domain/%u/error/backend/vbd/%u/%u/error",
		 (unsigned int)env->dd, (unsigned int)env->guest, devid);
	snprintf(paths[1], 512, "%s/error", be);
}

int blk_env_error_node(struct blk_env *env, unsigned int devid, int ms, char *buf, size_t len)
{
	char paths[2][512];

	blk_env_error_paths(env, devid, paths);
	for (int waited = 0; waited <= ms; waited += 20) {
		for (int i = 0; i < 2; i++) {
			unsigned int n;
			char *v = xs_read(env->xs, XBT_NULL, paths[i], &n);

			if (!v)
				continue;
			snprintf(buf, len, "%.*s", (int)n, v);
			free(v);
			if (!buf[0])
				continue;
			xs_rm(env->xs, XBT_NULL, paths[0]);
			xs_rm(env->xs, XBT_NULL, paths[1]);
			return 0;
		}
		t_msleep(20);
	}
	return -ETIMEDOUT;
}

int blk_env_backend_state(struct blk_env *env, unsigned int devid)
{
	struct xenbus_device_spec spec;
	char be[400];
	uint32_t state;
	int rc;

	blk_env_spec(env, devid, &spec);
	rc = xenbus_backend_path(&spec, be, sizeof(be));
	if (rc == 0)
		rc = xenbus_read_u32_at(env->xs, XBT_NULL, be, "state", &state);
	return rc < 0 ? rc : (int)state;
}

/* CRC-32 (IEEE), table-driven. */
static uint32_t blk_crc32(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void blk_env_note(const char *fmt, ...)
{
	static uint64_t t0;
	uint64_t now = t_now_ms();
	va_list ap;

	if (!t0)
		t0 = now;
	if (!getenv("PVIO_TEST_VERBOSE"))
		return;
	fprintf(stderr, "[%6llu ms] ", (unsigned long long)(now - t0));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t blk_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

void blk_tag_fill(void *sector_buf, uint64_t sector, uint32_t gen)
{
	uint8_t *p = sector_buf;
	uint64_t seed = (sector * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 32) ^ gen;
	uint32_t magic = BLK_TAG_MAGIC, crc;

	if (gen == 0) {
		memset(p, 0, BLK_SECTOR);
		return;
	}
	memcpy(p, &magic, 4);
	memcpy(p + 4, &gen, 4);
	memcpy(p + 8, &sector, 8);
	for (unsigned int off = 16; off < BLK_TAG_CRC; off += 4) {
		uint32_t v = (uint32_t)(blk_rand(&seed) >> 32);

		memcpy(p + off, &v, 4);
	}
	crc = blk_crc32(p, BLK_TAG_CRC);
	memcpy(p + BLK_TAG_CRC, &crc, 4);
}

int blk_tag_check(const void *sector_buf, uint64_t sector, uint32_t *gen)
{
	const uint8_t *p = sector_buf;
	uint32_t magic, crc;
	uint64_t where;
	unsigned int i;

	for (i = 0; i < BLK_SECTOR && !p[i]; i++)
		;
	if (i == BLK_SECTOR) {
		*gen = 0;
		return 0;
	}
	memcpy(&magic, p, 4);
	memcpy(gen, p + 4, 4);
	memcpy(&where, p + 8, 8);
	memcpy(&crc, p + BLK_TAG_CRC, 4);
	if (magic != BLK_TAG_MAGIC || crc != blk_crc32(p, BLK_TAG_CRC) || *gen == 0)
		return -EILSEQ;
	return where == sector ? 0 : -ENXIO;
}
