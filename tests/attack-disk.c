/* SPDX-License-Identifier: MIT */
/*
 * attack-disk.c - a program in a guest domain against another guest's disk and the driver
 * domain that serves it (pvio-blkback(8), isolated).  A victim guest writes and reads back
 * tagged sectors on its xvda the whole time.  The attacker, in a third domain, is told
 * everything an attacker could guess (the victim's image path, the driver domain's storage
 * directory, the domain ids, pvio-blkback's host pid) and tries:
 *  - to open the victim's image, or the storage directory, from its own view of the file
 *    system;
 *  - to read the victim's back-end node params (where the image is), to rewrite it so that the
 *    victim's device names another file, or to switch the victim's front-end state;
 *  - to attach a host file as a disk of its own: a back-end directory for itself in the driver
 *    domain's tree, with params naming a root-only host file;
 *  - to reach pvio-blkback: kill, pidfd_open, /proc/PID/mem, ptrace.
 * Every attempt must fail with an error; then the victim's I/O must go on, its data intact, the
 * daemon still serve it with no error, and its back-end nodes be as dom0 wrote them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xenstore.h>

#include "frontend/blk/blkfront.h"
#include "launch/embed.h"
#include "tests/blk-env.h"
#include "tests/helpers.h"

#define DISK_BYTES (1u << 20)
#define NSECT	   16u
#define SHADOW	   "/etc/shadow" /* a root-only host file */

/* Shared between the test and the victim (MAP_SHARED before the forks). */
struct victim_state {
	volatile uint64_t rounds; /* write + verified read-backs done */
	volatile int stop;	  /* the test asks the victim to finish */
};

/* What the attacker is told. */
struct attack {
	char image[PATH_MAX];	     /* the victim's disk image (a host path) */
	char storage[PATH_MAX + 16]; /* pvio-blkback's --storage directory */
	unsigned int dd, victim, self;
	pid_t daemon; /* pvio-blkback's pid in dom0's pid namespace */
};

static struct victim_state *vs;

/* The victim: rounds of NSECT tagged sectors written and read back, until told to stop. */
static int victim(void *arg)
{
	struct blkfront_opts o = { .devid = BLK_XVDA, .timeout_ms = 8000 };
	static uint8_t buf[NSECT * BLK_SECTOR];
	struct blkfront *bf;
	uint32_t gen;
	int rc = blkfront_open(&bf, &o);

	(void)arg;
	T_CHECK(rc == 0, "victim: blkfront_open xvda: %s", strerror(-rc));
	for (uint32_t want = 1; !vs->stop; want++) {
		for (uint32_t i = 0; i < NSECT; i++)
			blk_tag_fill(buf + (size_t)i * BLK_SECTOR, i, want);
		rc = blkfront_write(bf, buf, 0, sizeof(buf));
		T_CHECK(rc == 0, "victim: write %u: %s", want, strerror(-rc));
		memset(buf, 0, sizeof(buf));
		rc = blkfront_read(bf, buf, 0, sizeof(buf));
		T_CHECK(rc == 0, "victim: read %u: %s", want, strerror(-rc));
		for (uint32_t i = 0; i < NSECT; i++)
			T_CHECK(blk_tag_check(buf + (size_t)i * BLK_SECTOR, i, &gen) == 0 &&
				    gen == want,
				"victim: sector %u of round %u", i, want);
		vs->rounds++;
	}
	blkfront_close(bf);
	return 0;
}

/* A xenstore write the attacker's domain must be refused (main checks the victim's params after).
 */
static int write_refused(struct xs_handle *h, const char *path, const char *val)
{
	bool ok = xs_write(h, XBT_NULL, path, val, strlen(val));

	T_CHECK(!ok && errno == EACCES, "wrote %s (%s)", path, ok ? "accepted" : strerror(errno));
	return 0;
}

/* The attacker, in its own guest domain: every attempt must fail. */
static int attacker(void *arg)
{
	const struct attack *a = arg;
	char be[256], fe[256], path[256 + 16];
	struct xs_handle *h;
	unsigned int len;
	void *v;
	int fd;

	/* The victim's image and the driver domain's storage are not in its view. */
	fd = open(a->image, O_RDONLY);
	T_CHECK(fd < 0 && (errno == ENOENT || errno == EACCES), "opened the victim's image %s",
		a->image);
	fd = open(a->image, O_RDWR);
	T_CHECK(fd < 0, "opened the victim's image read-write");
	fd = open(a->storage, O_RDONLY | O_DIRECTORY);
	T_CHECK(fd < 0, "opened the driver domain's storage %s", a->storage);

	/* Its xenstore connection: the victim's nodes and the driver domain's tree are closed. */
	h = xs_open(0);
	T_CHECK(h, "attacker: xs_open: %s", strerror(errno));
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/%u", a->dd, a->victim, BLK_XVDA);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", a->victim, BLK_XVDA);
	snprintf(path, sizeof(path), "%s/params", be);
	v = xs_read(h, XBT_NULL, path, &len);
	T_CHECK(!v && errno == EACCES, "read the victim's %s", path);
	free(v);
	T_CHECK(write_refused(h, path, SHADOW) == 0, "params");
	snprintf(path, sizeof(path), "%s/state", fe);
	T_CHECK(write_refused(h, path, "5") == 0, "front-end state");
	snprintf(path, sizeof(path), "%s/ring-ref", fe);
	T_CHECK(write_refused(h, path, "1") == 0, "front-end ring-ref");
	/* A disk of its own made of a host file: no back-end directory in the driver domain. */
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/%u/params", a->dd, a->self,
		 BLK_XVDA);
	T_CHECK(write_refused(h, path, SHADOW) == 0, "own back-end");
	xs_close(h);

	/* pvio-blkback cannot be named, let alone killed or read. */
	T_CHECK(kill(a->daemon, SIGKILL) < 0 && errno == ESRCH, "kill named pvio-blkback");
	T_CHECK(syscall(SYS_pidfd_open, a->daemon, 0) < 0, "pidfd_open of pvio-blkback");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)a->daemon);
	T_CHECK(open(path, O_RDONLY) < 0, "%s opened", path);
	T_CHECK(ptrace(PTRACE_ATTACH, a->daemon, NULL, NULL) < 0, "ptrace attached pvio-blkback");
	return 0;
}

/* Wait up to ms for the victim to pass min rounds. */
static int rounds_wait(uint64_t min, int ms)
{
	for (int waited = 0; vs->rounds < min; waited += 10) {
		if (waited >= ms)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

int main(void)
{
	static struct blk_env env; /* static: the exit handler may still need it after main */
	static struct attack a;
	char be[256], *params;
	uint64_t errors = 1, r0;
	unsigned int len;
	domid_t evil;
	pid_t vpid, apid;
	int rc = blk_env_start(&env);

	if (rc)
		return rc;
	vs = mmap(NULL, sizeof(*vs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_CHECK(vs != MAP_FAILED, "mmap");
	T_CHECK(blk_env_disk(&env, "victim", DISK_BYTES, a.image, sizeof(a.image)) == 0, "disk");
	T_CHECK(blk_env_attach(&env, BLK_XVDA, a.image, false) == 0, "attach xvda");
	T_CHECK(blk_env_daemon_start(&env, NULL) == 0, "start pvio-blkback");
	T_CHECK(blk_env_guest(&env, victim, NULL, &vpid) == 0, "fork the victim");
	T_CHECK(rounds_wait(3, 30000) == 0, "the victim's I/O did not start");

	T_CHECK(embed_domain_create(env.e, "attacker", &evil) == 0, "create the attacker's domain");
	snprintf(a.storage, sizeof(a.storage), "%s", env.storage[0] ? env.storage : env.dir);
	a.dd = env.dd, a.victim = env.guest, a.self = evil, a.daemon = env.daemon;
	T_CHECK(embed_domain_fork(env.e, evil, attacker, &a, &apid) == 0, "fork the attacker");
	T_CHECK(blk_env_wait(apid, 30000) == 0, "an attack got through (see above)");

	/* The victim goes on: more rounds, verified, with the daemon serving and no error. */
	r0 = vs->rounds;
	T_CHECK(rounds_wait(r0 + 3, 30000) == 0, "the victim's I/O stopped after the attacks");
	vs->stop = 1;
	T_CHECK(blk_env_wait(vpid, 30000) == 0, "the victim failed");
	T_CHECK(kill(env.daemon, 0) == 0, "pvio-blkback died");
	rc = blk_env_stat(&env, BLK_XVDA, "errors", &errors);
	T_CHECK(rc == 0, "pvio-blkback's statistics: %s", strerror(-rc));
	T_CHECK(errors == 0, "pvio-blkback counted %llu errors", (unsigned long long)errors);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/%u/params", env.dd, env.guest,
		 BLK_XVDA);
	params = xs_read(env.xs, XBT_NULL, be, &len);
	T_CHECK(params && !strcmp(params, a.image), "the victim's params became %s",
		params ?: strerror(errno));
	free(params);
	blk_env_note("the victim did %llu rounds", (unsigned long long)vs->rounds);
	return blk_env_stop(&env);
}
