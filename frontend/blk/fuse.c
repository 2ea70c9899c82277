/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkfront(8): the guest's virtual disk as one regular file, MOUNTPOINT/disk, through
 * libfuse3, so that `losetup -f --show MOUNTPOINT/disk` makes it a block device of the guest's
 * kernel.  It runs inside the guest domain: blkfront_open finds the hypervisor and xenstore
 * through the environment (hv_open, xs_open).
 *
 * Order of start-up: fork (unless -f), open the device, mount, then tell the parent, which exits
 * 0 only then: every error (no such device, no back-end, a bad mount point) shows on the
 * terminal and in the exit status.  Forking first, rather than daemonising once connected as
 * fuse_daemonize does, keeps the blkfront handle in the process that made it: libxenstore's
 * watch thread and the handle's event channels would not survive a fork.
 *
 * SIGTERM, SIGINT, SIGHUP or an unmount (fusermount3 -u) end the loop; the device is then
 * closed (blkfront_close) and the program exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "frontend/blk/fuse-ops.h"

#include "xenbus/vdev.h"

#define PROG "pvio-blkfront"
/*
 * /dev/fuse descriptors handed to a domain without a /dev/fuse of its own ("N M ...", pvio
 * create --fuse; launch/sandbox.h): the program then mounts with one of them itself.
 */
#define FUSE_FDS_ENV "PVIO_FUSE_FDS"

/* What the command line asked for. */
struct bfuse_args {
	bool foreground;	 /* -f: stay attached to the terminal */
	bool debug;		 /* -d: libfuse's debug output (implies -f) */
	int verbose;		 /* -v: the library's log level above warnings */
	struct blkfront_opts bo; /* queues, ring order, persistent, indirect */
	struct fuse_args fa;	 /* arguments for fuse_session_new: argv[0], -d, -o ... */
	const char *device;	 /* VDEV or DEVID as given, for messages */
	const char *mountpoint;	 /* where to mount */
};

enum {
	OPT_QUEUES = 256,
	OPT_RING_ORDER,
	OPT_NO_PERSISTENT,
	OPT_NO_INDIRECT,
	OPT_WAIT,
	OPT_TIMEOUT
};

static const struct option bfuse_longopts[] = {
	{ "foreground", no_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, 'd' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "ring-order", required_argument, NULL, OPT_RING_ORDER },
	{ "no-persistent", no_argument, NULL, OPT_NO_PERSISTENT },
	{ "no-indirect", no_argument, NULL, OPT_NO_INDIRECT },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static void bfuse_usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-f] [-d] [-v] [-o FUSE-OPTIONS] [--queues N] [--ring-order N]\n"
		"       [--no-persistent] [--no-indirect] [--wait SECONDS] [--timeout SECONDS]\n"
		"       VDEV|DEVID MOUNTPOINT\n");
}

/* A decimal number in [0, max]: 0, or -EINVAL. */
static int bfuse_parse_uint(const char *s, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* VDEV (xvdb, hdc, sda1, d1p2) or a decimal device id, not 0: 0, -EINVAL or -ERANGE. */
static int bfuse_parse_device(const char *s, unsigned int *devid)
{
	uint32_t id;
	int r = vdev_devid(s, &id);

	if (r)
		return r;
	if (!id)
		return -EINVAL;
	*devid = id;
	return 0;
}

/* optarg as seconds from min to 3600 into *ms: 0, or -1 after a message naming opt. */
static int bfuse_parse_secs(const char *opt, unsigned int min, int *ms)
{
	unsigned int sec;

	if (!bfuse_parse_uint(optarg, 3600, &sec) && sec >= min) {
		*ms = (int)sec * 1000;
		return 0;
	}
	fprintf(stderr, PROG ": %s: not a number of seconds from %u to 3600: %s\n", opt, min,
		optarg);
	return -1;
}

/* One option; 0, 1 to stop with status 0 (--help), or -1 after a message. */
static int bfuse_parse_opt(struct bfuse_args *a, int c)
{
	switch (c) {
	case 'f':
		a->foreground = true;
		return 0;
	case 'd':
		a->debug = a->foreground = true;
		return fuse_opt_add_arg(&a->fa, "-d") ? -1 : 0;
	case 'v':
		a->verbose++;
		return 0;
	case 'o':
		return fuse_opt_add_arg(&a->fa, "-o") || fuse_opt_add_arg(&a->fa, optarg) ? -1 : 0;
	case 'h':
		bfuse_usage(stdout);
		return 1;
	case OPT_QUEUES:
		if (!bfuse_parse_uint(optarg, 256, &a->bo.queues) && a->bo.queues)
			return 0;
		fprintf(stderr, PROG ": --queues: not a number from 1 to 256: %s\n", optarg);
		return -1;
	case OPT_RING_ORDER:
		if (!bfuse_parse_uint(optarg, 8, &a->bo.ring_order))
			return 0;
		fprintf(stderr, PROG ": --ring-order: not a number from 0 to 8: %s\n", optarg);
		return -1;
	case OPT_NO_PERSISTENT:
		a->bo.no_persistent = true;
		return 0;
	case OPT_NO_INDIRECT:
		a->bo.no_indirect = true;
		return 0;
	case OPT_WAIT:
		return bfuse_parse_secs("--wait", 0, &a->bo.device_wait_ms);
	case OPT_TIMEOUT:
		/* The library's connect limit (10 s by default), for a back-end slow to answer. */
		return bfuse_parse_secs("--timeout", 1, &a->bo.timeout_ms);
	default:
		bfuse_usage(stderr);
		return -1;
	}
}

/* The command line into a; 0, 1 for --help, or -1 after a message. */
static int bfuse_parse_args(struct bfuse_args *a, int argc, char **argv)
{
	int c, r;

	if (fuse_opt_add_arg(&a->fa, argv[0]))
		return -1;
	while ((c = getopt_long(argc, argv, "+fdvho:", bfuse_longopts, NULL)) != -1) {
		r = bfuse_parse_opt(a, c);
		if (r)
			return r;
	}
	if (argc - optind != 2) {
		bfuse_usage(stderr);
		return -1;
	}
	a->device = argv[optind];
	a->mountpoint = argv[optind + 1];
	if (bfuse_parse_device(a->device, &a->bo.devid)) {
		fprintf(stderr, PROG ": %s: not a virtual device name or device id\n", a->device);
		return -1;
	}
	return 0;
}

/*
 * Fork: the parent waits for the child's word on a pipe and exits with it; the child returns
 * the pipe's write end, to be handed to bfuse_detach once mounted.  -1 on error.
 */
static int bfuse_fork(void)
{
	int fds[2];
	char status = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid) {
		close(fds[1]);
		/* Nothing read: the child died before it was ready, having said why. */
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* In the child, once mounted: leave the terminal, then release the parent with status 0. */
static void bfuse_detach(int fd)
{
	char status = 0;
	int null;

	if (chdir("/"))
		(void)0; /* "/" always exists; nothing depends on it */
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(fd, &status, 1) != 1)
		(void)0; /* the parent is gone: nobody to tell */
	close(fd);
}

/* Open the device: 0, or -1 after the one-line message. */
static int bfuse_connect(struct bfuse *b, struct bfuse_args *a)
{
	int r;

	a->bo.log_level = a->verbose > 1 ? BLKFRONT_LOG_DEBUG
			  : a->verbose	 ? BLKFRONT_LOG_INFO
					 : BLKFRONT_LOG_WARN;
	r = blkfront_open(&b->bf, &a->bo);
	if (r < 0) {
		/* No device/vbd/<devid>: say so as a device, not as a file. */
		fprintf(stderr, PROG ": %s: %s\n", a->device, strerror(r == -ENOENT ? ENODEV : -r));
		return -1;
	}
	blkfront_get_info(b->bf, &b->info);
	if (bfuse_init(b)) {
		fprintf(stderr, PROG ": %s: %s\n", a->device, strerror(ENOMEM));
		return -1;
	}
	if (a->verbose)
		fprintf(stderr,
			PROG ": %s: %llu sectors of %u bytes%s, back-end domain %u, %u queue(s), "
			     "ring order %u, %u segments, %spersistent%s%s\n",
			a->device, (unsigned long long)b->info.sectors, b->info.sector_size,
			b->info.readonly ? " (read-only)" : "", b->info.backend_id, b->info.queues,
			b->info.ring_order, b->info.max_segments, b->info.persistent ? "" : "not ",
			b->info.flush ? ", flush" : "", b->info.discard ? ", discard" : "");
	return 0;
}

/* Requests taken from /dev/fuse in one round before the device's completions get their turn. */
#define BFUSE_BATCH 64

/*
 * Take and dispatch the requests the kernel has queued, up to BFUSE_BATCH, without waiting (the
 * session's descriptor is non-blocking): how many, 0 when none was waiting, or a negative errno
 * (-ENODEV once unmounted, as fuse_session_receive_buf's 0).
 */
static int bfuse_take(struct fuse_session *se, struct fuse_buf *buf)
{
	int n, r;

	for (n = 0; n < BFUSE_BATCH && !fuse_session_exited(se); n++) {
		r = fuse_session_receive_buf(se, buf);
		if (r == -EAGAIN)
			break;
		if (r == -EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? r : -ENODEV;
		fuse_session_process_buf(se, buf);
	}
	return n;
}

/*
 * The event loop: one poll of the FUSE session's descriptor and the device's, then every
 * request the kernel has queued is taken and dispatched (a read or write is submitted and left
 * in flight), and the device's completions run, which reply.  A syscall costs microseconds on a
 * virtual CPU, more than the work of a 4 KiB request: draining the queue serves a burst for one
 * poll instead of a poll each.  The device is also polled after new submissions, whose
 * completion may be immediate (a flush on a back-end without one).  Its descriptor is in the
 * poll even while idle, so that an idle front-end still sees its back-end go (a detach's
 * Closing is answered by closing, or pvio block-detach waits out its 10 s).  0 when unmounted,
 * or a negative errno.
 */
static int bfuse_loop(struct bfuse *b)
{
	struct fuse_session *se = b->se;
	int fd = fuse_session_fd(se), flags = fcntl(fd, F_GETFL);
	struct fuse_buf buf = { 0 };
	int r = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	while (!fuse_session_exited(se)) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = b->bf ? blkfront_fd(b->bf) : -1,
					 .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		r = p[0].revents ? bfuse_take(se, &buf) : 0;
		if (r < 0)
			break;
		if ((p[1].revents || r > 0) && b->bf)
			blkfront_poll(b->bf, 0);
	}
	free(buf.mem);
	/* Unmounted: libfuse says so as ENODEV (or a 0 bfuse_take turned into -ENODEV). */
	return r == -ENODEV || r >= 0 ? 0 : r;
}

/*
 * A /dev/fuse descriptor (10:229) no mount has taken: reading one fails with EPERM before
 * anything else (a taken one refuses a 1-byte read with EINVAL, and nothing is consumed).  The
 * kernel would mount a taken one too, as a second view of the other mount's file system.
 */
static bool bfuse_fd_free(int fd)
{
	struct stat st;
	char c;

	/* Only /dev/fuse is read: a stray number must not eat a byte of anything else. */
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(10, 229))
		return false;
	return read(fd, &c, 1) < 0 && errno == EPERM;
}

/*
 * Mount at mnt with a free descriptor of those $FUSE_FDS_ENV names (each serves one mount for
 * the domain's life), under a lock in the domain's /tmp so that two of us never take the same.
 * Returns the descriptor, or -1 after a message.  The options are the kernel's own: libfuse's
 * -o options are not applied here.
 */
static int bfuse_mount_fd(const char *fds, const char *mnt, const char *device)
{
	char src[128], data[128];
	const char *p = fds;
	int fd, n, found = -1, err = EBUSY;
	int lock = open("/tmp/." PROG ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (lock >= 0)
		flock(lock, LOCK_EX);
	snprintf(src, sizeof(src), PROG ":%s", device);
	while (sscanf(p, "%d%n", &fd, &n) == 1) {
		p += n;
		if (!bfuse_fd_free(fd))
			continue;
		snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,%s", fd,
			 (unsigned int)getuid(), (unsigned int)getgid(), "default_permissions");
		if (mount(src, mnt, "fuse." PROG, MS_NOSUID | MS_NODEV, data) == 0)
			found = fd;
		else
			err = errno;
		break;
	}
	if (lock >= 0)
		close(lock);
	if (found < 0)
		fprintf(stderr,
			PROG ": %s: cannot mount with the descriptors of " FUSE_FDS_ENV
			     " (%s): %s\n",
			mnt, fds, err == EBUSY ? "all taken" : strerror(err));
	return found;
}

/* Mount: libfuse's way, or with a descriptor handed over (then /dev/fd/N tells libfuse). */
static int bfuse_mount(struct bfuse *b, struct bfuse_args *a, bool *own)
{
	const char *fds = getenv(FUSE_FDS_ENV);
	char dev[32];
	int fd;

	*own = fds && *fds;
	if (!*own)
		return fuse_session_mount(b->se, a->mountpoint) ? -1 : 0;
	fd = bfuse_mount_fd(fds, a->mountpoint, a->device);
	if (fd < 0)
		return -1;
	/* libfuse closes the descriptor it serves: a copy, so the domain's stays (pvio exec). */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	snprintf(dev, sizeof(dev), "/dev/fd/%d", fd);
	if (fd < 0 || fuse_session_mount(b->se, dev)) {
		umount2(a->mountpoint, MNT_DETACH);
		return -1;
	}
	return 0;
}

/*
 * Mount and serve until unmounted or signalled; 0 for a clean end, -1 after a message.
 *
 * One thread owns the blkfront handle (it is not thread-safe): the loop above, whose requests
 * are answered from the completion callbacks, keeps as many operations in flight as the kernel
 * sends.  On the way out the handle is closed before the session: blkfront_close completes
 * what is still in flight, and those completions answer their requests (-EIO) while the
 * session can still carry the replies.
 */
static int bfuse_serve(struct bfuse *b, struct bfuse_args *a, int ready_fd)
{
	int r = -1, lr;
	bool own;

	b->se = fuse_session_new(&a->fa, &bfuse_ops, sizeof(bfuse_ops), b);
	if (!b->se) {
		fprintf(stderr, PROG ": %s: bad FUSE options\n", a->mountpoint);
		return -1;
	}
	if (bfuse_mount(b, a, &own)) {
		fprintf(stderr, PROG ": %s: cannot mount\n", a->mountpoint);
		goto out_destroy;
	}
	if (fuse_set_signal_handlers(b->se)) {
		fprintf(stderr, PROG ": cannot install signal handlers\n");
		goto out_unmount;
	}
	if (ready_fd >= 0)
		bfuse_detach(ready_fd);
	lr = bfuse_loop(b);
	r = lr < 0 ? -1 : 0;
	if (lr < 0)
		fprintf(stderr, PROG ": %s: %s\n", a->mountpoint, strerror(-lr));
	fuse_remove_signal_handlers(b->se);
	/* The close that follows is bounded: a second signal must not cut it short. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	blkfront_close(b->bf);
	b->bf = NULL;
out_unmount:
	fuse_session_unmount(b->se);
	/* A mount of our own: libfuse, given /dev/fd/N, leaves it to us. */
	if (own)
		umount2(a->mountpoint, MNT_DETACH);
out_destroy:
	fuse_session_destroy(b->se);
	b->se = NULL;
	return r;
}

/* The fixed FUSE options: a name in mount(8)'s table, and the kernel checks the 0600 mode. */
static int bfuse_fixed_opts(struct bfuse_args *a)
{
	char opt[128];

	snprintf(opt, sizeof(opt), "fsname=pvio-blkfront:%s,subtype=pvio-blkfront", a->device);
	if (strchr(a->device, ','))
		snprintf(opt, sizeof(opt), "subtype=pvio-blkfront");
	return fuse_opt_add_arg(&a->fa, "-o") || fuse_opt_add_arg(&a->fa, opt) ||
	       fuse_opt_add_arg(&a->fa, "-odefault_permissions");
}

int main(int argc, char **argv)
{
	struct bfuse_args a = { .fa = FUSE_ARGS_INIT(0, NULL) };
	struct bfuse b = { 0 };
	struct stat st;
	int ready_fd = -1, status = 1, r;

	r = bfuse_parse_args(&a, argc, argv);
	if (r)
		goto out_args;
	if (bfuse_fixed_opts(&a))
		goto out_args;
	if (stat(a.mountpoint, &st)) {
		fprintf(stderr, PROG ": %s: %s\n", a.mountpoint, strerror(errno));
		goto out_args;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s: %s\n", a.mountpoint, strerror(ENOTDIR));
		goto out_args;
	}
	if (!a.foreground) {
		ready_fd = bfuse_fork();
		if (ready_fd < 0)
			goto out_args;
	}
	if (bfuse_connect(&b, &a))
		goto out_close;
	status = bfuse_serve(&b, &a, ready_fd) ? 1 : 0;
out_close:
	bfuse_fini(&b);
	blkfront_close(b.bf);
out_args:
	fuse_opt_free_args(&a.fa);
	return r > 0 ? 0 : status;
}
