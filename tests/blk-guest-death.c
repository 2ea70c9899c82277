/* SPDX-License-Identifier: MIT */
/*
 * blk-guest-death: a guest whose front-end is connected to pvio-blkback in a driver domain goes
 * away, first by `pvio destroy`, then on its own (its last process killed).  Either way, as
 * after libxl's domain destroy, nothing of it may remain: no back-end or front-end directory, no
 * /local/domain/<id>, and pvio-blkback holds no more fds or mappings than before the guest
 * connected (its disk closed, the guest's pool unmapped).  pvio destroy does not wait out the
 * back-end's 10 s either: it says nothing.
 *
 * Last, a guest destroyed with no toolstack to clean up after it (its back-end directory left in
 * xenstore): pvio-blkback must go idle, not spin on the device it can no longer serve.  Idle is
 * counted in wake-ups (context switches of its threads), which load does not change: fewer than
 * IDLE_WAKEUPS in IDLE_WINDOW_MS, where a spin re-adding the device makes thousands.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <xenstore.h>

#include "frontend/blk/blkfront.h"
#include "tests/blk-env.h"
#include "launch/embed.h"

#define DISK_BYTES     (4u << 20)
#define GONE_MS	       5000
#define IDLE_WINDOW_MS 2000
#define IDLE_WAKEUPS   50

/* pvio-blkback's fds and mappings of pvio-hv's shared memory (grant tables, pools). */
struct usage {
	int fds;  /* open fds */
	int maps; /* lines of /proc/PID/maps naming a pvio-hv memfd */
};

/* Guest: connect, write, say so, then stay connected until killed. */
static int front(void *arg)
{
	struct t_link *l = arg;
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[4096];
	struct blkfront *bf;
	char ok = 'k';
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open: %s", strerror(-rc));
	T_CHECK(blkfront_write(bf, buf, 0, sizeof(buf)) == 0, "write");
	T_CHECK(t_put(l->ba[1], &ok, 1) == 0, "report");
	for (;;)
		pause();
}

static int usage_get(pid_t pid, struct usage *u)
{
	u->fds = t_fd_count(pid);
	u->maps = t_map_count(pid, "memfd:pvio-hv");
	return u->fds < 0 || u->maps < 0 ? -1 : 0;
}

static bool xs_exists(struct xs_handle *xs, const char *path)
{
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

/* Wait up to GONE_MS for the guest's traces to go and pvio-blkback to be back to base. */
static int check_gone(struct blk_env *env, domid_t guest, const struct usage *base, const char *how)
{
	char back[96], home[48];
	struct usage now = { 0 };
	bool clean = false;

	snprintf(back, sizeof(back), "/local/domain/%u/backend/vbd/%u", (unsigned int)env->dd,
		 (unsigned int)guest);
	snprintf(home, sizeof(home), "/local/domain/%u", (unsigned int)guest);
	for (int waited = 0; !clean && waited < GONE_MS; waited += 20) {
		clean = !xs_exists(env->xs, back) && !xs_exists(env->xs, home) &&
			usage_get(env->daemon, &now) == 0 && now.fds <= base->fds &&
			now.maps <= base->maps;
		if (!clean)
			t_msleep(20);
	}
	T_CHECK(!xs_exists(env->xs, back), "%s: %s is left", how, back);
	T_CHECK(!xs_exists(env->xs, home), "%s: %s is left", how, home);
	T_CHECK(clean, "%s: pvio-blkback holds %d fds and %d mappings, %d and %d before", how,
		now.fds, now.maps, base->fds, base->maps);
	return 0;
}

/* Context switches of every thread of pid so far: its wake-ups. */
static unsigned long wakeups(pid_t pid)
{
	char dir[64], path[384], line[128];
	unsigned long n = 0, v;
	struct dirent *t;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return 0;
	while ((t = readdir(d))) {
		FILE *f;

		if (t->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, t->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %lu", &v) == 1)
				n += v;
		fclose(f);
	}
	closedir(d);
	return n;
}

#define MAX_KEYS 32

/* The keys of directory dir (one level), to write back once the toolstack removed them. */
struct keys {
	unsigned int n;
	char *path[MAX_KEYS], *val[MAX_KEYS];
};

static int keys_save(struct xs_handle *xs, const char *dir, struct keys *k)
{
	char **names = xs_directory(xs, XBT_NULL, dir, &k->n);
	unsigned int len;

	T_CHECK(names && k->n <= MAX_KEYS, "%s: %u keys", dir, k->n);
	for (unsigned int i = 0; i < k->n; i++) {
		T_CHECK(asprintf(&k->path[i], "%s/%s", dir, names[i]) > 0, "asprintf");
		k->val[i] = xs_read(xs, XBT_NULL, k->path[i], &len);
		T_CHECK(k->val[i], "read %s", k->path[i]);
	}
	free(names);
	return 0;
}

static int keys_restore(struct xs_handle *xs, const struct keys *k)
{
	for (unsigned int i = 0; i < k->n; i++)
		T_CHECK(xs_write(xs, XBT_NULL, k->path[i], k->val[i], strlen(k->val[i])),
			"write %s", k->path[i]);
	return 0;
}

/* Attach xvda to env->guest, note pvio-blkback's usage, start the front-end and wait for it. */
static int guest_connect(struct blk_env *env, struct t_link *l, const char *disk,
			 struct usage *base, pid_t *pid)
{
	char ok;

	T_CHECK(blk_env_attach(env, BLK_XVDA, disk, false) == 0, "attach xvda");
	for (int waited = 0; blk_env_backend_state(env, BLK_XVDA) != 2; waited += 20) {
		T_CHECK(waited < GONE_MS, "the back-end did not reach InitWait");
		t_msleep(20);
	}
	T_CHECK(usage_get(env->daemon, base) == 0, "pvio-blkback's usage");
	T_CHECK(blk_env_guest(env, front, l, pid) == 0, "fork the front-end");
	T_CHECK(t_get(l->ba[0], &ok, 1) == 0, "the front-end did not connect");
	return 0;
}

/* Run `pvio destroy what` with stderr to err; its exit status. */
static int pvio_destroy(const char *what, const char *err)
{
	const char *dir = getenv("PVIO_BUILDDIR");
	char prog[PATH_MAX];
	pid_t pid;
	int st;

	snprintf(prog, sizeof(prog), "%s/pvio", dir ? dir : ".");
	pid = fork();
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execl(prog, "pvio", "destroy", what, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	char disk[PATH_MAX], err[PATH_MAX + 16], back[96];
	static struct keys left;
	struct usage base;
	struct t_link l;
	pid_t pid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&l) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, disk, sizeof(disk)) == 0, "disk");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");

	/* pvio destroy: the toolstack removes what libxl would. */
	T_CHECK(guest_connect(&env, &l, disk, &base, &pid) == 0, "first guest");
	snprintf(err, sizeof(err), "%s/destroy.err", env.dir);
	T_CHECK(pvio_destroy("guest", err) == 0, "pvio destroy guest failed");
	T_CHECK(file_size(err) == 0, "pvio destroy said something (see %s)", err);
	T_CHECK(blk_env_wait(pid, 5000) != -ETIMEDOUT, "the front-end survived its domain");
	T_CHECK(check_gone(&env, env.guest, &base, "destroyed") == 0, "after pvio destroy");

	/* A guest that dies on its own: the reaper plays xl's part. */
	T_CHECK(embed_domain_create(env.e, "guest2", &env.guest) == 0, "create guest2");
	T_CHECK(guest_connect(&env, &l, disk, &base, &pid) == 0, "second guest");
	T_CHECK(embed_domain_release(env.e, env.guest) == 0, "release guest2");
	kill(pid, SIGKILL);
	T_CHECK(blk_env_wait(pid, 5000) != -ETIMEDOUT, "the front-end did not die");
	T_CHECK(check_gone(&env, env.guest, &base, "died") == 0, "after its death");

	/* Dead with its back-end directory left (no toolstack cleaned up: written back here). */
	T_CHECK(embed_domain_create(env.e, "guest3", &env.guest) == 0, "create guest3");
	T_CHECK(guest_connect(&env, &l, disk, &base, &pid) == 0, "third guest");
	snprintf(back, sizeof(back), "/local/domain/%u/backend/vbd/%u/%u", (unsigned int)env.dd,
		 (unsigned int)env.guest, BLK_XVDA);
	T_CHECK(keys_save(env.xs, back, &left) == 0, "save %s", back);
	T_CHECK(embed_domain_destroy(env.e, env.guest) == 0, "destroy guest3");
	T_CHECK(blk_env_wait(pid, 5000) != -ETIMEDOUT, "the front-end survived its domain");
	T_CHECK(check_gone(&env, env.guest, &base, "destroyed") == 0, "after the destroy");
	T_CHECK(keys_restore(env.xs, &left) == 0, "write back %s", back);
	t_msleep(IDLE_WINDOW_MS); /* what the write-back itself costs is not counted */
	uint64_t cpu = t_proc_cpu_ms(env.daemon);
	unsigned long woken = wakeups(env.daemon);

	t_msleep(IDLE_WINDOW_MS);
	cpu = t_proc_cpu_ms(env.daemon) - cpu;
	woken = wakeups(env.daemon) - woken;
	printf("pvio-blkback after the death: %lu wake-ups, %llu ms of CPU in %u ms\n", woken,
	       (unsigned long long)cpu, IDLE_WINDOW_MS);
	T_CHECK(woken < IDLE_WAKEUPS, "pvio-blkback spins after its guest's death: %lu wake-ups",
		woken);
	return blk_env_stop(&env);
}
