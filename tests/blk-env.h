/* SPDX-License-Identifier: MIT */
/*
 * blk-env.h - the environment of the block device's end-to-end tests: an embedded hypervisor
 * and xenstore (launch/embed.h), a driver domain "dd" running pvio-blkback(8) and a guest
 * domain, disk files in a private directory (on /dev/shm when it is there), devices attached
 * the way the toolstack does it (xenbus/toolstack.h), and the daemon's statistics files.
 *
 *	struct blk_env env;
 *	int rc = blk_env_start(&env);
 *
 *	if (rc)
 *		return rc;			(T_SKIP or T_FAIL, after saying why)
 *	T_CHECK(blk_env_disk(&env, "a", 32 << 20, path, sizeof(path)) == 0, "disk");
 *	T_CHECK(blk_env_attach(&env, BLK_XVDA, path, false) == 0, "attach");
 *	T_CHECK(blk_env_daemon_start(&env, (const char *[]){ "--max-queues", "4", NULL }) == 0,
 *		"daemon");
 *	T_CHECK(blk_env_guest(&env, guest_fn, arg, &pid) == 0, "guest");
 *	...
 *	return blk_env_stop(&env);		(T_PASS only if everything exited cleanly)
 *
 * Guest functions run in forked children (embed_domain_fork) and talk to the test over a
 * struct t_link (tests/hv-test.h).  Sector contents are tagged (blk_tag_*): every 512-byte
 * sector carries its own number, a write generation and a checksum, so a verify tells stale
 * data (an older generation), misplaced data and torn or corrupt data apart.
 */
#ifndef PVIO_TESTS_BLK_ENV_H
#define PVIO_TESTS_BLK_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>

#include "tests/hv-test.h"
#include "xenbus/toolstack.h"

struct embed;
struct xs_handle;

/* Device ids (xen-vbd-interface(7)): xvda and xvdb. */
#define BLK_XVDA 51712u
#define BLK_XVDB 51728u

/* Options of the daemon kept for a restart, and devices attached. */
#define BLK_ENV_MAX_ARGS    16
#define BLK_ENV_MAX_DEVICES 10
/* Seconds a test may run before the alarm blk_env_start sets kills it. */
#define BLK_ENV_ALARM_S 90

/* Everything a test's environment holds. */
struct blk_env {
	struct embed *e;			   /* the embedded hypervisor and xenstore */
	struct xs_handle *xs;			   /* dom0's xenstore connection */
	domid_t dd;				   /* the driver domain */
	domid_t guest;				   /* the guest domain */
	bool dd_shared;				   /* dd is not isolated (blk_env_start_with) */
	char dir[PATH_MAX];			   /* private directory: disks, stats/ */
	char stats_dir[PATH_MAX + 16];		   /* the daemon's --stats-dir */
	char storage[PATH_MAX + 16];		   /* its --storage: dir by default; "": none */
	char daemon_path[PATH_MAX];		   /* pvio-blkback */
	pid_t daemon;				   /* the running daemon, 0 when none */
	const char *args[BLK_ENV_MAX_ARGS];	   /* the extra options of the last start */
	unsigned int ndevices;			   /* entries used in devices[] */
	unsigned int devices[BLK_ENV_MAX_DEVICES]; /* devids attached (for the error nodes) */
};

/*
 * Start the embedded hypervisor (die_with_parent), create "dd" and "guest" and the private
 * directory, and arm a 90 s alarm against a hung test.  T_PASS (0), T_SKIP when the host
 * cannot run the test (no libaio: ENOSYS or EPERM), T_FAIL otherwise (io_setup's EAGAIN
 * included); says why on stderr.
 */
int blk_env_start(struct blk_env *env);

/*
 * The same, with the driver domain not isolated when dd_shared (embed_domain_opts.shared): its
 * daemon then starts as root in the host's namespaces, as pvio-blkback does on Xen.
 */
int blk_env_start_with(struct blk_env *env, bool dd_shared);

/*
 * SIGTERM the daemon and check that it exits 0, stop the embed and check that its daemons
 * exited 0 (embed_stop() == 0), remove the private directory.  T_PASS or T_FAIL.
 */
int blk_env_stop(struct blk_env *env);

/* Create a sparse disk file of bytes bytes named name in the private directory; its path. */
int blk_env_disk(struct blk_env *env, const char *name, uint64_t bytes, char *path, size_t len);

/* The spec of device devid (back-end dd, front-end guest) with no extra keys. */
void blk_env_spec(const struct blk_env *env, unsigned int devid, struct xenbus_device_spec *spec);

/* Attach path as vbd devid: back keys params=<path>, mode=r|w.  0 or a negative errno. */
int blk_env_attach(struct blk_env *env, unsigned int devid, const char *path, bool readonly);

/* Detach devid as the toolstack does: online=0, wait (ms) for Closed, remove both dirs. */
int blk_env_detach(struct blk_env *env, unsigned int devid, int ms);

/*
 * Spawn pvio-blkback in dd with --stats-dir and the extra options (NULL-terminated, may be
 * NULL: the last start's options again); -v when $PVIO_TEST_VERBOSE is set.  0 or -errno.
 */
int blk_env_daemon_start(struct blk_env *env, const char *const *extra);

/* Send sig to the daemon and reap it within ms: its t_wait() status, or -ETIMEDOUT. */
int blk_env_daemon_stop(struct blk_env *env, int sig, int ms);

/* Run fn(arg) in a new process of the guest domain; *pid gets it. */
int blk_env_guest(struct blk_env *env, int (*fn)(void *arg), void *arg, pid_t *pid);

/*
 * Make the pipes between the test and a guest process, close-on-exec so that no daemon
 * started later holds an end (a reader would then never see end-of-file).
 */
int blk_env_link(struct t_link *l);

/* Reap pid within ms: its t_wait() status, or -ETIMEDOUT (and the child is killed). */
int blk_env_wait(pid_t pid, int ms);

/*
 * The counter key of device devid in the daemon's stats file <guest>.<devid>: 0, -ENOENT
 * when the file or the key is not there (yet), -EINVAL for a value that does not parse.
 */
int blk_env_stat(const struct blk_env *env, unsigned int devid, const char *key, uint64_t *val);

/* The same for a key with a word as its value (e.g. disk-io), into val[len]. */
int blk_env_stat_str(const struct blk_env *env, unsigned int devid, const char *key, char *val,
		     size_t len);

/* Wait up to ms for the counter to reach at least min; its last value in *val. */
int blk_env_stat_wait(const struct blk_env *env, unsigned int devid, const char *key, uint64_t min,
		      int ms, uint64_t *val);

/* Copy the stats file of devid to stderr (for a failure message). */
void blk_env_stat_dump(const struct blk_env *env, unsigned int devid);

/*
 * Wait up to ms for the back-end of devid to have written an error node (Linux's
 * xenbus_dev_error: /local/domain/<dd>/error/<backend dir>/error, or <backend dir>/error),
 * copy its text into buf and remove it so that the next check starts afresh.  0 or -ETIMEDOUT.
 */
int blk_env_error_node(struct blk_env *env, unsigned int devid, int ms, char *buf, size_t len);

/* The back-end's state of devid (a XenbusState), or a negative errno. */
int blk_env_backend_state(struct blk_env *env, unsigned int devid);

/*
 * Tagged sectors.  blk_tag_fill writes the tag of (sector, gen) into one 512-byte sector;
 * generation 0 means "never written" and is the all-zero sector.  blk_tag_check reads one
 * back: 0 and the generation found in *gen (0 for an all-zero sector), -ENXIO for another
 * sector's data, -EILSEQ for a torn or corrupt sector.
 */
#define BLK_SECTOR 512u
void blk_tag_fill(void *sector_buf, uint64_t sector, uint32_t gen);
int blk_tag_check(const void *sector_buf, uint64_t sector, uint32_t *gen);

/* With $PVIO_TEST_VERBOSE set, print "[<ms since start> ms] message" to stderr. */
__attribute__((format(printf, 1, 2))) void blk_env_note(const char *fmt, ...);

/* A small deterministic PRNG (xorshift64*) for offsets and sizes. */
uint64_t blk_rand(uint64_t *state);

#endif
