/* SPDX-License-Identifier: MIT */
/*
 * blk-storm: an event storm from a guest on its vbd is bounded at pvio-blkback (XSA-332), as
 * net-topo-storm checks it for pvio-netback, and the daemon keeps serving another guest's vbd.
 * Guest 1 (blk_env's guest) connects xvda with a scripted front end (tests/blkback-front.h),
 * then notifies its port in a tight loop for STORM_MS while posting nothing.  Over the first
 * QUIET_MS of the storm pvio-blkback uses well under a CPU and its threads wake fewer times than
 * milliseconds pass (the held port is masked: its events wake nothing); then guest 2, in a
 * domain of its own, writes and reads back IO_N pages through libpvio-blkfront on its xvdb,
 * served by the same queue thread, before the storm ends.  Afterwards guest 1's own requests are
 * served, and its statistics show fewer spurious events than milliseconds of storm, and delayed
 * unmasks.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "frontend/blk/blkfront.h"
#include "launch/embed.h"
#include "tests/blk-env.h"
#include "tests/blkback-front.h"

#define STORM_MS 3000u
#define QUIET_MS 1500u
#define IO_N	 64u
#define DISK	 (1u << 20)

static struct blk_env env; /* static: the exit handler may still need it after main */
static struct t_link l1, l2;

/* Guest 1: connect xvda, storm for STORM_MS, report the count, then serve real requests. */
static int storm(void *arg)
{
	const struct tf_keys k = { .protocol = "x86_64-abi", .persistent = true };
	struct xenbus_device_spec s;
	struct xs_handle *xs;
	struct tfront f;
	char path[256], c;
	uint64_t notes = 0, end;
	struct hv *hv;

	(void)arg;
	blk_env_spec(&env, BLK_XVDA, &s);
	T_CHECK(hv_open(&hv, NULL) == 0 && (xs = xs_open(0)), "guest 1: hv and xenstore");
	T_CHECK(xenbus_frontend_path(&s, path, sizeof(path)) == 0 && tf_open(&f, hv, xs, path) == 0,
		"open %s", path);
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateInitWait), NULL) == 0, "InitWait");
	T_CHECK(tf_share(&f, 1, 0) == 0 && tf_publish(&f, &k) == 0, "share, publish");
	T_CHECK(tf_wait(&f, XENBUS_STATE_BIT(XenbusStateConnected), NULL) == 0, "Connected");
	T_CHECK(t_put(l1.ba[1], "c", 1) == 0, "connected");
	for (end = t_now_ms() + STORM_MS; t_now_ms() < end; notes++)
		T_CHECK(hv_evtchn_notify(hv, f.q[0].port) == 0, "notify");
	T_CHECK(t_put(l1.ba[1], &notes, sizeof(notes)) == 0, "report");
	/* The storm's own valid requests afterwards: the first one ends the spurious run. */
	for (unsigned int i = 0; i < 4; i++)
		T_CHECK(tf_round_trip(&f, 0, 8 * i, false) == 0, "guest 1's request %u", i);
	T_CHECK(t_put(l1.ba[1], "s", 1) == 0 && t_get(l1.ab[0], &c, 1) == 0, "served");
	T_CHECK(tf_close(&f) == 0, "close");
	return 0;
}

/* Guest 2: open xvdb, then on 'g' write and read back IO_N pages; 'd' when done. */
static int io(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDB, .timeout_ms = 10000 };
	static uint8_t w[4096], r[4096];
	struct blkfront *bf;
	char c;
	int rc = blkfront_open(&bf, &o);

	(void)arg;
	T_CHECK(rc == 0, "guest 2: blkfront_open: %s", strerror(-rc));
	T_CHECK(t_put(l2.ba[1], "o", 1) == 0 && t_get(l2.ab[0], &c, 1) == 0, "go");
	for (unsigned int i = 0; i < IO_N; i++) {
		uint64_t off = (uint64_t)(i % 32) * sizeof(w);

		memset(w, (int)(i + 1), sizeof(w));
		rc = blkfront_write(bf, w, off, sizeof(w));
		T_CHECK(rc == 0, "guest 2: write %u: %s", i, strerror(-rc));
		rc = blkfront_read(bf, r, off, sizeof(r));
		T_CHECK(rc == 0 && memcmp(w, r, sizeof(r)) == 0, "guest 2: read %u: %d", i, rc);
	}
	T_CHECK(t_put(l2.ba[1], "d", 1) == 0 && t_get(l2.ab[0], &c, 1) == 0, "done");
	blkfront_close(bf);
	return 0;
}

/* Make guest 2's domain and attach its xvdb (blk_env_attach attaches to env.guest). */
static int guest2_add(domid_t *dom)
{
	domid_t g1 = env.guest;
	char disk[PATH_MAX];
	int rc = embed_domain_create_with(
	    env.e, "guest2",
	    &(struct embed_domain_opts){ .binds =
					     (const char *[]){ getenv("PVIO_TEST_BIND"), NULL } },
	    dom);

	if (!rc)
		rc = blk_env_disk(&env, "b", DISK, disk, sizeof(disk));
	if (!rc) {
		env.guest = *dom;
		rc = blk_env_attach(&env, BLK_XVDB, disk, false);
		env.guest = g1;
	}
	return rc;
}

int main(void)
{
	uint64_t w0, w1, notes, spurious, delayed;
	char disk[PATH_MAX], c;
	pid_t p1, p2;
	domid_t dom2;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	T_CHECK(blk_env_link(&l1) == 0 && blk_env_link(&l2) == 0, "pipes");
	T_CHECK(blk_env_disk(&env, "a", DISK, disk, sizeof(disk)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, disk, false) == 0, "attach xvda");
	T_CHECK(guest2_add(&dom2) == 0, "guest 2 and its xvdb");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(embed_domain_fork(env.e, dom2, io, NULL, &p2) == 0, "guest 2");
	T_CHECK(t_get(l2.ba[0], &c, 1) == 0, "guest 2 did not open xvdb");
	T_CHECK(blk_env_guest(&env, storm, NULL, &p1) == 0, "guest 1");
	T_CHECK(t_get(l1.ba[0], &c, 1) == 0, "guest 1 did not connect");
	T_CHECK(t_storm_bound(env.daemon, "pvio-blkback", QUIET_MS, &w0) == 0, "bounded");
	w1 = t_now_ms();
	T_CHECK(t_put(l2.ab[1], "g", 1) == 0 && t_get(l2.ba[0], &c, 1) == 0,
		"guest 2's I/O in the storm");
	printf("guest 2: %u writes and reads in %" PRIu64 " ms of storm\n", IO_N, t_now_ms() - w1);
	T_CHECK(t_now_ms() < w0 + STORM_MS, "the storm was over before guest 2's I/O");
	T_CHECK(t_get(l1.ba[0], &notes, sizeof(notes)) == 0, "guest 1's storm");
	T_CHECK(t_get(l1.ba[0], &c, 1) == 0, "guest 1's requests after the storm");
	T_CHECK(blk_env_stat_wait(&env, BLK_XVDA, "events-delayed", 1, 5000, &delayed) == 0 &&
		    blk_env_stat(&env, BLK_XVDA, "events-spurious", &spurious) == 0,
		"guest 1's statistics");
	printf("guest 1: %" PRIu64 " notifications; pvio-blkback served %" PRIu64
	       " spurious events, delayed %" PRIu64 " unmasks\n",
	       notes, spurious, delayed);
	T_CHECK(spurious < STORM_MS, "%" PRIu64 " spurious events served in %u ms", spurious,
		STORM_MS);
	T_CHECK(t_put(l1.ab[1], "q", 1) == 0 && t_put(l2.ab[1], "q", 1) == 0, "end the guests");
	T_CHECK(blk_env_wait(p1, 15000) == 0 && blk_env_wait(p2, 5000) == 0, "the guests failed");
	return blk_env_stop(&env);
}
