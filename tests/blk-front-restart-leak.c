/* SPDX-License-Identifier: MIT */
/*
 * blk-front-restart-leak: a guest's front-end process is killed (-9) while doing I/O and a new
 * one started in the same domain, 100 times in a row, against a real pvio-blkback in a driver
 * domain.  Nothing may leak: the guest's grant entries in use, and pvio-hv's and pvio-blkback's
 * fds, mappings and resident memory are back near what they were after the first restarts.
 *
 * Every figure is taken at the same point of a round (a front-end connected and doing I/O), and
 * the baseline after a few rounds, once pvio-blkback's caches have their steady size.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/blk/blkfront.h"
#include "hv/simctl.h"
#include "tests/blk-env.h"
#include "launch/embed.h"

#define DISK_BYTES   (8u << 20)
#define IO_BYTES     (64u << 10)
#define ROUNDS	     100u
#define BASE_ROUND   5u
#define SLACK_GRANTS 256u	/* entries a round may hold above the baseline's */
#define SLACK_FDS    4		/* fds */
#define SLACK_MAPS   16		/* mappings */
#define SLACK_RSS_KB (8u << 10) /* resident KiB */

/* What is measured in each round. */
struct figures {
	unsigned int grants; /* the guest's pool pages in live shares */
	int hv_fds, hv_maps; /* pvio-hv's */
	long hv_rss;	     /* KiB */
	int bb_fds, bb_maps; /* pvio-blkback's */
	long bb_rss;	     /* KiB */
};

/*
 * Under ASan, freed memory waits in a quarantine of up to 256 MiB before reuse, and resident
 * memory would grow with no leak at all: the daemons, which inherit our environment, get none.
 */
static void asan_no_quarantine(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *cur = getenv("ASAN_OPTIONS");
	char opts[1024];

	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
		 cur ? cur : "", cur && *cur ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
}

/* Guest: connect, say so after the first I/O, then write and read until killed. */
static int front(void *arg)
{
	struct t_link *l = arg;
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[IO_BYTES];
	struct blkfront *bf;
	uint64_t off = 0;
	char ok = 'k';
	int rc = blkfront_open(&bf, &o);

	T_CHECK(rc == 0, "blkfront_open: %s", strerror(-rc));
	memset(buf, 0x5a, sizeof(buf));
	T_CHECK(blkfront_write(bf, buf, 0, sizeof(buf)) == 0, "first write");
	T_CHECK(t_put(l->ba[1], &ok, 1) == 0, "report");
	for (;;) {
		off = (off + IO_BYTES) % DISK_BYTES;
		T_CHECK(blkfront_write(bf, buf, off, sizeof(buf)) == 0, "write");
		T_CHECK(blkfront_read(bf, buf, off, sizeof(buf)) == 0, "read");
	}
}

static int guest_grants(const struct blk_env *env, unsigned int *used)
{
	struct hvctl_domain_info info[16];
	struct hvctl *ctl;
	int n, i, ret = hvctl_open(&ctl, NULL);

	if (ret < 0)
		return ret;
	n = hvctl_domain_list(ctl, info, 16);
	hvctl_close(ctl);
	for (i = 0; i < n; i++) {
		if (info[i].domid == env->guest) {
			*used = info[i].pool_used;
			return 0;
		}
	}
	return n < 0 ? n : -ESRCH;
}

static int measure(const struct blk_env *env, struct figures *f)
{
	pid_t hv = embed_hv_pid(env->e), bb = env->daemon;

	T_CHECK(guest_grants(env, &f->grants) == 0, "the guest's grants");
	f->hv_fds = t_fd_count(hv);
	f->hv_maps = t_map_count(hv, NULL);
	f->hv_rss = t_rss_kb(hv);
	f->bb_fds = t_fd_count(bb);
	f->bb_maps = t_map_count(bb, NULL);
	f->bb_rss = t_rss_kb(bb);
	T_CHECK(f->hv_fds > 0 && f->hv_maps > 0 && f->hv_rss > 0, "pvio-hv's figures");
	T_CHECK(f->bb_fds > 0 && f->bb_maps > 0 && f->bb_rss > 0, "pvio-blkback's figures");
	return 0;
}

static void show(const char *what, const struct figures *f)
{
	fprintf(stderr,
		"%s: grants %u; pvio-hv fds %d maps %d rss %ld kB; pvio-blkback fds %d maps %d "
		"rss %ld kB\n",
		what, f->grants, f->hv_fds, f->hv_maps, f->hv_rss, f->bb_fds, f->bb_maps,
		f->bb_rss);
}

/* Whether now is within the slack of base. */
static bool steady(const struct figures *base, const struct figures *now)
{
	return now->grants <= base->grants + SLACK_GRANTS &&
	       now->hv_fds <= base->hv_fds + SLACK_FDS && now->bb_fds <= base->bb_fds + SLACK_FDS &&
	       now->hv_maps <= base->hv_maps + SLACK_MAPS &&
	       now->bb_maps <= base->bb_maps + SLACK_MAPS &&
	       now->hv_rss <= base->hv_rss + (long)SLACK_RSS_KB &&
	       now->bb_rss <= base->bb_rss + (long)SLACK_RSS_KB;
}

/* One round: start a front-end, wait for its first I/O, measure, kill it. */
static int round_run(struct blk_env *env, struct t_link *l, unsigned int i, struct figures *f)
{
	pid_t pid;
	char ok;

	T_CHECK(blk_env_guest(env, front, l, &pid) == 0, "fork front-end %u", i);
	if (t_get(l->ba[0], &ok, 1) < 0) {
		blk_env_wait(pid, 1000);
		T_CHECK(false, "front-end %u did not connect", i);
	}
	T_CHECK(measure(env, f) == 0, "round %u", i);
	kill(pid, SIGKILL);
	T_CHECK(blk_env_wait(pid, 5000) != -ETIMEDOUT, "front-end %u did not die", i);
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	struct figures base = { 0 }, now;
	char path[PATH_MAX];
	struct t_link l;
	int rc;

	asan_no_quarantine();
	rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&l) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK_BYTES, path, sizeof(path)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	for (unsigned int i = 1; i <= ROUNDS; i++) {
		T_CHECK(round_run(&env, &l, i, &now) == 0, "round %u", i);
		if (i == BASE_ROUND) {
			base = now;
			show("baseline", &base);
		}
		if (i > BASE_ROUND && !steady(&base, &now)) {
			show("baseline", &base);
			show("now", &now);
			T_CHECK(false, "a leak after %u restarts", i);
		}
	}
	show("after 100 restarts", &now);
	return blk_env_stop(&env);
}
