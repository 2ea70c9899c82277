/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkback - the block back-end daemon of a driver domain: serves every virtual disk under
 * <home>/backend/vbd and <home>/backend/qdisk from one process (see pvio-blkback(8)).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driverdomain/blkbackd.h"
#include "driverdomain/handover.h"
#include "ring/adaptive.h"
#include "ring/ring.h"

static const char *const usage_text =
    "Usage: pvio-blkback [OPTION]...\n"
    "Serve the virtual block devices of this (driver) domain: every back-end directory\n"
    "under /local/domain/<own domid>/backend/vbd and .../backend/qdisk.\n"
    "\n"
    "  -v, --verbose           more messages (twice: debug)\n"
    "      --kinds LIST        back-end kinds to serve: vbd,qdisk (default both)\n"
    "      --max-queues N      multi-queue-max-queues (default: online CPUs, at most 64)\n"
    "      --max-ring-order N  max-ring-page-order, 0..4 (default 4)\n"
    "      --max-indirect N    feature-max-indirect-segments (default 256, 0 = off)\n"
    "      --no-persistent     do not offer feature-persistent\n"
    "      --max-persistent N  persistent grants kept mapped per ring\n"
    "      --poll-us N         poll a ring N microseconds after its last work (default:\n"
    "                          a self-tuning budget of at most 50; 0 = never)\n"
    "      --bounce[=yes|no]   read and write through private buffers, not straight from the\n"
    "                          guest's mapped pages (default: yes on Xen, no embedded)\n"
    "      --stats-dir DIR     write per-device statistics files into DIR\n"
    "      --journal-dir DIR   keep in-flight journals in DIR: a restart re-attaches to\n"
    "                          Connected devices unnoticed (see RESTART AND UPGRADE)\n"
    "      --takeover          take every device over from the pvio-blkback serving them\n"
    "                          now, in milliseconds (needs the same --journal-dir)\n"
    "      --keep-finished     in a driver domain, leave finished devices' directories to\n"
    "                          xl devd (default: remove them, as xl devd would)\n"
    "      --storage DIR       serve disks whose params name a file beneath DIR (repeatable;\n"
    "                          none: every disk is refused)\n"
    "      --user USER[:GROUP] serve as USER (and GROUP, else USER's group)\n"
    "      --allow-root        on Xen, serve as root without --user\n"
    "      --no-sandbox        keep uid, capabilities and every system call (debugging)\n"
    "      --threads N         queue threads at most (default: online CPUs)\n"
    "  -h, --help              this text\n";

enum {
	OPT_KINDS = 256,
	OPT_QUEUES,
	OPT_ORDER,
	OPT_INDIRECT,
	OPT_NOPERS,
	OPT_MAXPERS,
	OPT_POLL,
	OPT_STATS,
	OPT_STORAGE,
	OPT_USER,
	OPT_ALLOW_ROOT,
	OPT_NO_SANDBOX,
	OPT_THREADS,
	OPT_JOURNAL,
	OPT_TAKEOVER,
	OPT_KEEP,
	OPT_BOUNCE
};

static const struct option long_opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "kinds", required_argument, NULL, OPT_KINDS },
	{ "max-queues", required_argument, NULL, OPT_QUEUES },
	{ "max-ring-order", required_argument, NULL, OPT_ORDER },
	{ "max-indirect", required_argument, NULL, OPT_INDIRECT },
	{ "no-persistent", no_argument, NULL, OPT_NOPERS },
	{ "max-persistent", required_argument, NULL, OPT_MAXPERS },
	{ "poll-us", required_argument, NULL, OPT_POLL },
	{ "bounce", optional_argument, NULL, OPT_BOUNCE },
	{ "stats-dir", required_argument, NULL, OPT_STATS },
	{ "journal-dir", required_argument, NULL, OPT_JOURNAL },
	{ "takeover", no_argument, NULL, OPT_TAKEOVER },
	{ "keep-finished", no_argument, NULL, OPT_KEEP },
	{ "storage", required_argument, NULL, OPT_STORAGE },
	{ "user", required_argument, NULL, OPT_USER },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* Every line is "pvio-blkback: message", as a program's diagnostics are. */
static void daemon_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
			const char *fmt, va_list ap)
{
	char line[1024];

	(void)log;
	(void)level;
	(void)prefix;
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "pvio-blkback: %s\n", line);
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "pvio-blkback: bad %s: %s (try --help)\n", what, arg);
	return -1;
}

static int number(const char *arg, unsigned int max, unsigned int *val, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v > max)
		return bad(what, arg);
	*val = (unsigned int)v;
	return 0;
}

static int parse_kinds(const char *arg, unsigned int *kinds)
{
	char buf[64], *save, *tok;

	if (strlen(arg) >= sizeof(buf))
		return bad("--kinds", arg);
	strcpy(buf, arg);
	*kinds = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "vbd"))
			*kinds |= BBD_KIND_VBD;
		else if (!strcmp(tok, "qdisk"))
			*kinds |= BBD_KIND_QDISK;
		else
			return bad("--kinds", arg);
	}
	return *kinds ? 0 : bad("--kinds", arg);
}

/*
 * --storage DIR: open it now, while we may (O_PATH: no read permission needed on the directory
 * itself), to resolve params beneath it once privilege is gone.  DIR must be absolute, since
 * params names absolute paths.
 */
static int storage_add(struct bbd_opts *o, const char *dir)
{
	struct blkback_storage_dir *sd;
	int fd;

	if (dir[0] != '/')
		return bad("--storage (not an absolute path)", dir);
	if (o->storage.nr == BBD_STORAGE_MAX)
		return bad("--storage (too many)", dir);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pvio-blkback: --storage %s: %s\n", dir, strerror(errno));
		return -1;
	}
	sd = &o->storage_dirs[o->storage.nr++];
	sd->path = dir;
	sd->fd = fd;
	o->storage.dirs = o->storage_dirs;
	return 0;
}

/* --journal-dir DIR: open it now (O_PATH), before the sandbox; the journals are created in it. */
static int journal_dir(struct bbd_opts *o, const char *dir)
{
	o->journal_path = dir;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "pvio-blkback: --journal-dir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (o->dev.journal)
		close(o->dev.journal_dirfd);
	o->dev.journal = true;
	o->dev.journal_dirfd = fd;
	return 0;
}

static int parse_args(int argc, char **argv, struct bbd_opts *o, int *verbose)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct stat st;
	int c, ret = 0;

	o->kinds = BBD_KIND_VBD | BBD_KIND_QDISK;
	o->sandbox.prog = "pvio-blkback";
	o->dev.storage = &o->storage;
	o->dev.max_queues = cpus < 1				  ? 1
			    : cpus > (long)BLKBACK_DEV_QUEUES_MAX ? BLKBACK_DEV_QUEUES_MAX
								  : (unsigned int)cpus;
	o->dev.max_ring_order = RING_ORDER_MAX;
	o->dev.max_indirect_segments = BLKBACK_MAX_INDIRECT_SEGMENTS;
	o->bounce = -1;
	while (ret == 0 && (c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			(*verbose)++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_KINDS:
			ret = parse_kinds(optarg, &o->kinds);
			break;
		case OPT_QUEUES:
			ret = number(optarg, BLKBACK_DEV_QUEUES_MAX, &o->dev.max_queues,
				     "--max-queues");
			if (!ret && !o->dev.max_queues)
				ret = bad("--max-queues", optarg);
			break;
		case OPT_ORDER:
			ret = number(optarg, RING_ORDER_MAX, &o->dev.max_ring_order,
				     "--max-ring-order");
			break;
		case OPT_INDIRECT:
			ret = number(optarg, BLKBACK_MAX_INDIRECT_SEGMENTS,
				     &o->dev.max_indirect_segments, "--max-indirect");
			break;
		case OPT_NOPERS:
			o->dev.no_persistent = true;
			break;
		case OPT_MAXPERS:
			ret = number(optarg, 1u << 20, &o->dev.max_persistent, "--max-persistent");
			break;
		case OPT_POLL:
			ret = number(optarg, 1000000, &o->dev.poll_us, "--poll-us");
			o->dev.poll_mode = o->dev.poll_us ? RING_POLL_FIXED : RING_POLL_OFF;
			break;
		case OPT_BOUNCE:
			if (!optarg || !strcmp(optarg, "yes"))
				o->bounce = 1;
			else if (!strcmp(optarg, "no"))
				o->bounce = 0;
			else
				ret = bad("--bounce (yes or no)", optarg);
			break;
		case OPT_JOURNAL:
			ret = journal_dir(o, optarg);
			break;
		case OPT_TAKEOVER:
			o->takeover = true;
			break;
		case OPT_KEEP:
			o->keep_finished = true;
			break;
		case OPT_STATS:
			o->stats_dir = optarg;
			errno = 0;
			if (stat(optarg, &st) || !S_ISDIR(st.st_mode)) {
				fprintf(stderr, "pvio-blkback: %s: %s\n", optarg,
					strerror(errno ? errno : ENOTDIR));
				ret = -1;
			}
			break;
		case OPT_STORAGE:
			ret = storage_add(o, optarg);
			break;
		case OPT_USER:
			o->sandbox.user = optarg;
			break;
		case OPT_ALLOW_ROOT:
			o->sandbox.allow_root = true;
			break;
		case OPT_NO_SANDBOX:
			o->sandbox.off = true;
			break;
		case OPT_THREADS:
			ret = number(optarg, BLKBACK_DEV_QUEUES_MAX, &o->threads, "--threads");
			if (!ret && !o->threads)
				ret = bad("--threads", optarg);
			break;
		default:
			fprintf(stderr, "Try 'pvio-blkback --help'.\n");
			ret = -1;
		}
	}
	if (ret == 0 && o->takeover && !o->dev.journal) {
		fprintf(stderr, "pvio-blkback: --takeover needs --journal-dir\n");
		ret = -1;
	}
	if (ret == 0 && optind < argc) {
		fprintf(stderr, "pvio-blkback: unexpected argument: %s\n", argv[optind]);
		ret = -1;
	}
	if (ret == 0)
		ret = dd_sandbox_resolve(&o->sandbox);
	return ret;
}

/* Connect to the hypervisor and xenstore and find our home. */
static int connect_services(struct bbd *b)
{
	struct hv_open_opts hvo = { .log = b->log };
	int ret = hv_open(&b->hv, &hvo);

	if (ret) {
		fprintf(stderr, "pvio-blkback: hypervisor: %s\n", strerror(-ret));
		return ret;
	}
	ret = hv_domid(b->hv, &b->domid);
	if (ret) {
		fprintf(stderr, "pvio-blkback: own domain id: %s\n", strerror(-ret));
		return ret;
	}
	snprintf(b->home, sizeof(b->home), "/local/domain/%u", b->domid);
	/* On Xen, O_DIRECT from grant mappings pins each page the slow way: bounce by default. */
	b->opts.dev.bounce =
	    b->opts.bounce < 0 ? !strcmp(hv_provider(b->hv), "xen") : b->opts.bounce;
	b->xs = xs_open(0); /* libxenstore honours $XENSTORED_PATH */
	if (!b->xs) {
		ret = errno ? -errno : -EIO;
		fprintf(stderr, "pvio-blkback: xenstore: %s\n", strerror(-ret));
	}
	return ret;
}

/*
 * The hand-over socket in the journal directory, before the sandbox: a successor connects to
 * its predecessor's; any other daemon listens on it for its own successor.
 */
static int handover_open(struct bbd *b)
{
	const char *dir = b->opts.journal_path;
	int fd;

	if (!dir)
		return 0;
	if (b->opts.takeover) {
		fd = dd_handover_connect(dir, "pvio-blkback");
		if (fd < 0)
			fprintf(stderr, "pvio-blkback: --takeover: %s/pvio-blkback.sock: %s\n", dir,
				strerror(-fd));
		else
			b->core.ho_conn = fd;
	} else {
		fd = dd_handover_listen(dir, "pvio-blkback");
		if (fd < 0)
			fprintf(stderr, "pvio-blkback: %s/pvio-blkback.sock: %s\n", dir,
				strerror(-fd));
		else
			b->core.ho_listen = fd;
	}
	return fd < 0 ? fd : 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The phases of a start, for -v: what a restart's pause is made of (pvio-blkback(8)). */
static void start_phases(struct bbd *b, const uint64_t *t)
{
	pvio_log(b->log, PVIO_LOG_INFO, "pvio-blkback",
		 "start phases (us): hypervisor+xenstore %llu, threads %llu, sandbox %llu",
		 (unsigned long long)(t[1] - t[0]), (unsigned long long)(t[2] - t[1]),
		 (unsigned long long)(t[3] - t[2]));
}

int main(int argc, char **argv)
{
	static struct pvio_log log = { .vlog = daemon_vlog, .max = PVIO_LOG_WARN };
	struct bbd b = { .core = { .epfd = -1, .sigfd = -1, .timerfd = -1, .failfd = -1 } };
	int verbose = 0, ret;
	uint64_t t[4] = { mono_us() };

	if (parse_args(argc, argv, &b.opts, &verbose))
		return 2;
	(void)ring_clock_slow(); /* measured (or PVIO_CLOCK_SLOW read) before any thread */
	log.max = verbose >= 2 ? PVIO_LOG_DEBUG : verbose ? PVIO_LOG_INFO : PVIO_LOG_WARN;
	b.log = &log;
	b.opts.dev.log = &log;
	b.start_us = t[0];
	ret = connect_services(&b);
	t[1] = mono_us();
	if (ret == 0 && (ret = bbd_init(&b)))
		fprintf(stderr, "pvio-blkback: event loop: %s\n", strerror(-ret));
	if (ret == 0)
		ret = handover_open(&b);
	t[2] = mono_us();
	/* Everything is open: the hypervisor, xenstore, the loop's fds and the storage. */
	if (ret == 0 && dd_sandbox_enter(&b.opts.sandbox, !strcmp(hv_provider(b.hv), "xen")))
		ret = -EPERM;
	t[3] = mono_us();
	if (ret == 0) {
		start_phases(&b, t);
		pvio_log(&log, PVIO_LOG_INFO, "pvio-blkback", "serving domain %u (%s)", b.domid,
			 hv_provider(b.hv));
		ret = b.opts.takeover ? bbd_takeover(&b) : bbd_run(&b);
		if (ret)
			fprintf(stderr, "pvio-blkback: event loop: %s\n", strerror(-ret));
	}
	bbd_fini(&b);
	if (b.xs)
		xs_close(b.xs);
	if (b.hv)
		hv_close(b.hv);
	for (unsigned int i = 0; i < b.opts.storage.nr; i++)
		close(b.opts.storage_dirs[i].fd);
	if (b.opts.dev.journal)
		close(b.opts.dev.journal_dirfd);
	return ret ? 1 : 0;
}
