/* SPDX-License-Identifier: MIT */
/*
 * diskbench-pvio.c - the pvio run of pvio-diskbench.  Acting as the toolstack (domain 0) of a
 * private embedded environment, it creates a driver domain running pvio-blkback(8) and a guest
 * domain, adds the file as the guest's xvda served by the driver domain, and forks the guest's
 * process.  The guest opens the disk with libpvio-blkfront and runs every workload through
 * blkfront_submit/blkfront_poll, then sends what it measured back over a pipe.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "frontend/blk/blkfront.h"
#include "tools/diskbench/diskbench.h"
#include "launch/embed.h"
#include "xenbus/toolstack.h"

/* The idle measurement starts this long after the last workload (its tail, the polls' decay). */
#define IDLE_SETTLE_MS 200u

/* xvda. */
#define DB_DEVID 51712u
/* Slack on top of the workloads' own time before the guest counts as hung. */
#define DB_GUEST_SLACK_MS 60000

/* What the guest process gets. */
struct guest_arg {
	const struct db_params *p; /* the parameters */
	int rfd;		   /* the pipe's read end: the guest closes it */
	int wfd;		   /* the pipe's write end: results go there */
};

/* The environment of one run, torn down by pvio_teardown. */
struct pvio_env {
	struct embed *e;		/* the private pvio-hv and xenstored */
	struct xs_handle *xs;		/* dom0's xenstore connection */
	struct xenbus_device_spec spec; /* the disk, once added */
	bool added;			/* spec is in xenstore */
	pid_t blkback;			/* pvio-blkback in the driver domain, or 0 */
	pid_t guest;			/* the guest's process, or 0 */
	const char *file;		/* the backing file, lent to the driver domain's uid */
	struct stat owner;		/* its owner before, put back at the end */
	bool lent;			/* file's owner was changed */
	const char *jdir;		/* pvio-blkback's --journal-dir, or NULL */
	bool takeover;			/* the next pvio-blkback starts with --takeover */
	bool guest_shared;		/* the guest shares dom0's namespaces (its FUSE mount) */
	const struct db_params *p;	/* the parameters, for start_blkfront */
	domid_t dd;			/* the driver domain */
};

static void guest_done(void *arg, int result)
{
	db_slot_done(arg, result);
}

static int blkfront_submit_slot(void *ctx, struct db_slot *s)
{
	return blkfront_submit(ctx, s->write ? BLKFRONT_WRITE : BLKFRONT_READ, s->buf, s->offset,
			       s->len, guest_done, s);
}

static int blkfront_wait(void *ctx)
{
	int ret = blkfront_poll(ctx, 1000);

	return ret < 0 ? ret : 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	ssize_t r;

	while (len) {
		r = write(fd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		buf = (const char *)buf + r;
		len -= (size_t)r;
	}
	return 0;
}

static void guest_send_info(struct blkfront *bf, int fd)
{
	struct db_pvio_info info;
	struct blkfront_info bi;

	blkfront_get_info(bf, &bi);
	memset(&info, 0, sizeof(info));
	info.persistent = bi.persistent;
	info.queues = bi.queues;
	info.ring_order = bi.ring_order;
	info.ring_entries = bi.ring_entries;
	info.max_segments = bi.max_segments;
	write_full(fd, &info, sizeof(info));
}

/* The workloads' buffers in memory granted to the back-end, so I/O on them is not copied. */
static void *guest_bufs_granted(struct blkfront *bf)
{
	size_t len = (size_t)DB_DEPTH_MAX * DB_BS_MAX, i;
	unsigned char *b;
	void *mem;
	int ret = blkfront_buf_alloc(bf, len, &mem);

	if (ret < 0) {
		db_err("guest: blkfront_buf_alloc", ret);
		return NULL;
	}
	b = mem;
	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 7 + 1);
	return b;
}

/* Wait in blkfront_poll until ms from now, the device connected and idle. */
static void idle_wait(struct blkfront *bf, unsigned int ms)
{
	uint64_t end = db_now_ns() + ms * 1000000ull, now;

	while ((now = db_now_ns()) < end)
		if (blkfront_poll(bf, (int)((end - now) / 1000000u) + 1) < 0)
			break;
}

/*
 * The CPU an idle, connected disk costs the guest: what waiting in blkfront_poll uses over
 * DB_IDLE_MS, after IDLE_SETTLE_MS for the last workload's tail; sent as a double (%).  The
 * parent measures pvio-blkback over the same window.
 */
static void guest_idle(struct blkfront *bf, int fd)
{
	struct timespec a, b;
	double pct;

	idle_wait(bf, IDLE_SETTLE_MS);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	idle_wait(bf, DB_IDLE_MS);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	pct = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (DB_IDLE_MS * 1e4);
	write_full(fd, &pct, sizeof(pct));
}

/* Workload w through blkfront, with the polling counts of its waits (hits, misses, sleeps). */
static void guest_workload(const struct db_params *p, const struct db_workload *w,
			   const struct db_engine *eng, void *bufs, struct db_result *res)
{
	struct blkfront_stats a, b;

	blkfront_get_stats(eng->ctx, &a);
	db_loop_run(p, w, eng, bufs, res);
	blkfront_get_stats(eng->ctx, &b);
	res->poll_hits = b.poll_hits - a.poll_hits;
	res->poll_misses = b.poll_misses - a.poll_misses;
	res->poll_sleeps = b.poll_sleeps - a.poll_sleeps;
	res->notifies = b.notifies - a.notifies;
	res->events = b.events - a.events;
	res->have_poll = true;
}

/* The guest: open xvda, run every workload, send each result as it is measured. */
static int guest_main(void *argp)
{
	struct guest_arg *g = argp;
	const struct db_params *p = g->p;
	struct blkfront_opts o = { .devid = DB_DEVID,
				   .queues = p->queues,
				   .ring_order = p->ring_order,
				   .no_persistent = p->no_persistent,
				   .poll_us = p->poll_us > 0 ? (unsigned int)p->poll_us : 0,
				   .no_poll = p->poll_us == 0 };
	struct db_engine eng = { blkfront_submit_slot, blkfront_wait, NULL };
	struct db_result res;
	struct blkfront *bf;
	void *bufs;
	unsigned int i;
	int ret;

	close(g->rfd);
	ret = blkfront_open(&bf, &o);
	if (ret < 0) {
		db_err("guest: blkfront_open", ret);
		return 1;
	}
	bufs = p->copy ? db_bufs_alloc() : guest_bufs_granted(bf);
	if (!bufs) {
		blkfront_close(bf);
		return 1;
	}
	guest_send_info(bf, g->wfd);
	eng.ctx = bf;
	for (i = 0; i < db_nr_workloads; i++) {
		guest_workload(p, &db_workloads[i], &eng, bufs, &res);
		if (write_full(g->wfd, &res, sizeof(res)) < 0)
			break;
	}
	if (i == db_nr_workloads)
		guest_idle(bf, g->wfd);
	if (p->copy)
		db_bufs_free(bufs);
	else
		blkfront_buf_free(bf, bufs);
	blkfront_close(bf);
	return 0;
}

/* Read exactly len bytes before the deadline: 0, -ETIMEDOUT, -EPIPE if the guest went away. */
static int read_deadline(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t now;
	ssize_t r;

	while (len) {
		now = db_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -errno;
		if (!pfd.revents)
			continue;
		r = read(fd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		buf = (char *)buf + r;
		len -= (size_t)r;
	}
	return 0;
}

/* Program prog (pvio-blkback, pvio-blkfront): $PVIO_BUILDDIR, else next to this one, else $PATH. */
static void prog_path(const char *prog, char *buf, size_t len)
{
	const char *dir = getenv("PVIO_BUILDDIR");
	char self[PATH_MAX];
	ssize_t n;

	if (dir && *dir) {
		snprintf(buf, len, "%s/%s", dir, prog);
		if (access(buf, X_OK) == 0)
			return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/%s", dirname(self), prog);
		if (access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "%s", prog);
}

static int spawn_blkback(struct pvio_env *env, const struct db_params *p, domid_t dd,
			 const char *abs)
{
	char path[PATH_MAX], poll_us[16], storage[PATH_MAX];
	char *argv[12];
	unsigned int n = 0;
	int ret;

	prog_path("pvio-blkback", path, sizeof(path));
	argv[n++] = path;
	/* The backing file's directory is the daemon's storage. */
	snprintf(storage, sizeof(storage), "%s", abs);
	argv[n++] = "--storage";
	argv[n++] = dirname(storage);
	if (p->verbose)
		argv[n++] = "-v";
	if (p->poll_us >= 0) {
		snprintf(poll_us, sizeof(poll_us), "%d", p->poll_us);
		argv[n++] = "--poll-us";
		argv[n++] = poll_us;
	}
	if (env->jdir) {
		argv[n++] = "--journal-dir";
		argv[n++] = (char *)env->jdir;
	}
	if (env->takeover)
		argv[n++] = "--takeover";
	argv[n] = NULL;
	ret = embed_domain_spawn(env->e, dd, argv, &env->blkback);
	return ret < 0 ? db_err(path, ret) : 0;
}

/*
 * The driver domain sees the backing file and nothing else of the host's; its uid owns the file
 * for the run (pvio-blkback opens it read-write), the owner is put back at the end.
 */
static int dd_create(struct pvio_env *env, const char *abs, domid_t *dd)
{
	const char *binds[] = { abs, env->jdir, NULL };
	uid_t uid;
	int ret;

	ret = embed_domain_create_with(env->e, "diskbench-dd",
				       &(struct embed_domain_opts){ .binds = binds }, dd);
	if (ret < 0)
		return ret;
	uid = embed_domain_uid(env->e, *dd);
	if (env->jdir && chown(env->jdir, uid, (gid_t)-1) < 0)
		return -errno;
	if (stat(abs, &env->owner) < 0)
		return -errno;
	if (env->owner.st_uid == uid)
		return 0;
	if (chown(abs, uid, (gid_t)-1) < 0)
		return -errno;
	env->file = abs;
	env->lent = true;
	return 0;
}

/* The environment: both domains, pvio-blkback, and the disk in xenstore. */
static int pvio_setup(struct pvio_env *env, const struct db_params *p, char *abs,
		      struct xenbus_kv *kv)
{
	domid_t dd, guest;
	int ret;

	ret = embed_start(&env->e,
			  &(struct embed_opts){ .die_with_parent = true, .verbose = p->verbose });
	if (ret < 0)
		return db_err("embed_start", ret);
	ret = dd_create(env, abs, &dd);
	if (ret == 0)
		ret = embed_domain_create_with(
		    env->e, "diskbench-guest",
		    &(struct embed_domain_opts){ .shared = env->guest_shared }, &guest);
	if (ret < 0)
		return db_err("embed_domain_create", ret);
	env->dd = dd;
	ret = spawn_blkback(env, p, dd, abs);
	if (ret < 0)
		return ret;
	env->xs = xs_open(0);
	if (!env->xs)
		return db_err("xs_open", errno ? -errno : -EIO);
	kv[0] = (struct xenbus_kv){ "params", abs };
	kv[1] = (struct xenbus_kv){ "mode", "w" };
	env->spec = (struct xenbus_device_spec){ .kind = "vbd",
						 .devid = DB_DEVID,
						 .frontend_id = guest,
						 .backend_id = dd,
						 .back_extra = kv,
						 .n_back_extra = 2 };
	ret = xenbus_device_add(env->xs, &env->spec);
	if (ret < 0)
		return db_err("xenbus_device_add", ret);
	env->added = true;
	return 0;
}

/* Wait for pid (after sig, if any): 0 if it exited with status 0, -ECHILD otherwise. */
static int reap(pid_t pid, int sig)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	if (sig)
		kill(pid, sig);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* Tear everything down; -ECHILD if a process of the run did not exit cleanly (reported). */
static int pvio_teardown(struct pvio_env *env)
{
	int ret = 0;

	if (reap(env->guest, 0) < 0)
		ret = db_err("guest", -ECHILD);
	if (env->added) {
		xenbus_device_detach(env->xs, &env->spec);
		xenbus_device_wait_closed(env->xs, &env->spec, 5000);
		xenbus_device_remove(env->xs, &env->spec, XENBUS_REMOVE_FORCE);
	}
	if (reap(env->blkback, SIGTERM) < 0)
		ret = db_err("pvio-blkback", -ECHILD);
	if (env->xs)
		xs_close(env->xs);
	if (embed_stop(env->e) < 0)
		ret = db_err("pvio-hv or pvio-xenstored", -ECHILD);
	if (env->lent && chown(env->file, env->owner.st_uid, env->owner.st_gid) < 0)
		ret = db_err(env->file, -errno);
	return ret;
}

/* pvio-blkback's CPU use over the guest's idle window (guest_idle), then the guest's. */
static void collect_idle(struct pvio_env *env, int fd, struct db_idle *idle)
{
	long long a, b;

	idle->blkback_pct = idle->guest_pct = -1;
	usleep(IDLE_SETTLE_MS * 1000u);
	a = db_proc_cpu_ns(env->blkback);
	usleep(DB_IDLE_MS * 1000u);
	b = db_proc_cpu_ns(env->blkback);
	if (a >= 0 && b >= 0)
		idle->blkback_pct = (double)(b - a) / (DB_IDLE_MS * 1e4);
	if (read_deadline(fd, &idle->guest_pct, sizeof(idle->guest_pct),
			  db_now_ns() + 10000000000ull) < 0)
		idle->guest_pct = -1;
}

/* Collect the guest's info and results; the guest is killed if it hangs. */
static int collect(struct pvio_env *env, const struct db_params *p, int fd, struct db_result *res,
		   struct db_pvio_info *info)
{
	uint64_t per = (uint64_t)(p->runtime_ms + p->warmup_ms) * 1000000u;
	uint64_t deadline = db_now_ns() + (uint64_t)DB_GUEST_SLACK_MS * 1000000u;
	unsigned int i;
	int ret;

	ret = read_deadline(fd, info, sizeof(*info), deadline);
	for (i = 0; ret == 0 && i < db_nr_workloads; i++)
		ret = read_deadline(fd, &res[i], sizeof(res[i]),
				    db_now_ns() + per * 2 + 30000000000ull);
	if (ret < 0) {
		kill(env->guest, SIGKILL);
		return db_err("guest", ret);
	}
	return 0;
}

int db_run_pvio(const struct db_params *p, struct db_result *res, struct db_pvio_info *info,
		struct db_idle *idle)
{
	struct pvio_env env = { 0 };
	struct guest_arg g = { .p = p, .rfd = -1, .wfd = -1 };
	struct xenbus_kv kv[2];
	char abs[PATH_MAX];
	int fds[2], ret;

	if (!realpath(p->file, abs))
		return db_err(p->file, -errno);
	ret = pvio_setup(&env, p, abs, kv);
	if (ret < 0)
		goto out;
	if (pipe(fds) < 0) {
		ret = db_err("pipe", -errno);
		goto out;
	}
	g.rfd = fds[0];
	g.wfd = fds[1];
	ret = embed_domain_fork(env.e, env.spec.frontend_id, guest_main, &g, &env.guest);
	close(fds[1]);
	if (ret < 0)
		db_err("embed_domain_fork", ret);
	else
		ret = collect(&env, p, fds[0], res, info);
	if (ret == 0)
		collect_idle(&env, fds[0], idle);
	close(fds[0]);
out:
	if (pvio_teardown(&env) < 0 && ret == 0)
		ret = -ECHILD;
	return ret;
}

/* db_pvio_ctl.restart: kill -9 pvio-blkback and start it again (it re-attaches). */
static int ctl_restart(struct db_pvio_ctl *c)
{
	struct pvio_env *env = c->env;
	char abs[PATH_MAX];

	kill(env->blkback, SIGKILL);
	reap(env->blkback, 0);
	env->blkback = 0;
	snprintf(abs, sizeof(abs), "%s", env->spec.back_extra[0].value);
	return spawn_blkback(env, c->p, env->dd, abs);
}

/* db_pvio_ctl.takeover: start pvio-blkback --takeover; the old one must exit 0. */
static int ctl_takeover(struct db_pvio_ctl *c)
{
	struct pvio_env *env = c->env;
	pid_t old = env->blkback;
	char abs[PATH_MAX];
	int ret;

	snprintf(abs, sizeof(abs), "%s", env->spec.back_extra[0].value);
	env->takeover = true;
	ret = spawn_blkback(env, c->p, env->dd, abs);
	env->takeover = false;
	if (ret < 0)
		return ret;
	return reap(old, 0) < 0 ? db_err("pvio-blkback (hand-over)", -ECHILD) : 0;
}

/*
 * Set up the run, start the guest with start(env, sarg), then dom0(c, arg); tear down.  0 or
 * the first negative errno.
 */
static int run_ctl(struct pvio_env *env, const struct db_params *p,
		   int (*start)(struct pvio_env *env, void *sarg), void *sarg,
		   int (*dom0)(struct db_pvio_ctl *c, void *arg), void *arg)
{
	struct db_pvio_ctl c = {
		.p = p, .env = env, .restart = ctl_restart, .takeover = ctl_takeover
	};
	struct xenbus_kv kv[2];
	char abs[PATH_MAX];
	int ret;

	if (!realpath(p->file, abs))
		return db_err(p->file, -errno);
	ret = pvio_setup(env, p, abs, kv);
	if (ret == 0)
		ret = start(env, sarg);
	if (ret == 0) {
		c.guest = env->guest;
		ret = dom0(&c, arg);
	}
	if (pvio_teardown(env) < 0 && ret == 0)
		ret = -ECHILD;
	return ret;
}

/* What start_fork runs in the guest. */
struct fork_arg {
	int (*guest)(void *garg);
	void *garg;
};

static int start_fork(struct pvio_env *env, void *sarg)
{
	struct fork_arg *f = sarg;
	int ret = embed_domain_fork(env->e, env->spec.frontend_id, f->guest, f->garg, &env->guest);

	return ret < 0 ? db_err("embed_domain_fork", ret) : 0;
}

int db_run_pvio_ctl(const struct db_params *p, const char *jdir, int (*guest)(void *), void *garg,
		    int (*dom0)(struct db_pvio_ctl *c, void *arg), void *arg)
{
	struct pvio_env env = { .jdir = jdir };
	struct fork_arg f = { guest, garg };

	return run_ctl(&env, p, start_fork, &f, dom0, arg);
}

/* pvio-blkfront -f 51712 MOUNTPOINT in the guest, with the run's blkfront options. */
static int start_blkfront(struct pvio_env *env, void *sarg)
{
	const struct db_params *p = env->p;
	char path[PATH_MAX], devid[16], queues[16], order[16];
	char *argv[12];
	unsigned int n = 0;
	int ret;

	prog_path("pvio-blkfront", path, sizeof(path));
	snprintf(devid, sizeof(devid), "%u", DB_DEVID);
	argv[n++] = path;
	argv[n++] = "-f";
	if (p->queues) {
		snprintf(queues, sizeof(queues), "%u", p->queues);
		argv[n++] = "--queues";
		argv[n++] = queues;
	}
	if (p->ring_order_set) {
		snprintf(order, sizeof(order), "%u", p->ring_order);
		argv[n++] = "--ring-order";
		argv[n++] = order;
	}
	if (p->no_persistent)
		argv[n++] = "--no-persistent";
	argv[n++] = devid;
	argv[n++] = sarg;
	argv[n] = NULL;
	ret = embed_domain_spawn(env->e, env->spec.frontend_id, argv, &env->guest);
	return ret < 0 ? db_err(path, ret) : 0;
}

int db_run_pvio_fuse(const struct db_params *p, const char *mnt,
		     int (*dom0)(struct db_pvio_ctl *c, void *arg), void *arg)
{
	/* dom0 reaches a FUSE mount only from the namespaces it was made in. */
	struct pvio_env env = { .guest_shared = true, .p = p };

	return run_ctl(&env, p, start_blkfront, (void *)mnt, dom0, arg);
}
