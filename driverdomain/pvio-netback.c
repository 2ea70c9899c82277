/* SPDX-License-Identifier: MIT */
/*
 * pvio-netback - the network back-end daemon of a driver domain: serves every vif under
 * <home>/backend/vif from one process, a thread per queue, without privilege; a TAP helper it
 * forks first makes the TAPs (taphelper.h; see pvio-netback(8)).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driverdomain/netbackd.h"
#include "driverdomain/taphelper.h"
#include "ring/adaptive.h"
#include "xenbus/backend.h"

#define PREFIX	      "pvio-netback"
#define TOKEN_BACKEND "pvio-netback-backend"

static bool keep_finished; /* --keep-finished */

static const char *const usage_text =
    "Usage: pvio-netback [OPTION]...\n"
    "Serve the virtual network interfaces of this (driver) domain: every back-end\n"
    "directory under /local/domain/<own domid>/backend/vif, each on a TAP vif<domid>.<devid>.\n"
    "\n"
    "  -v, --verbose        more messages (twice: debug)\n"
    "      --max-queues N   multi-queue-max-queues (default: online CPUs, at most 16)\n"
    "      --no-split       do not offer feature-split-event-channels\n"
    "      --stats-dir DIR  write per-vif statistics files into DIR\n"
    "      --bridge NAME    a bridge vifs may join (repeat for more; none: no bridge)\n"
    "      --keep-finished  in a driver domain, leave finished vifs' directories to xl devd\n"
    "                       (default: remove them, as xl devd would)\n"
    "      --user USER[:GROUP] serve as USER (and GROUP, else USER's group)\n"
    "      --allow-root     on Xen, serve as root without --user\n"
    "      --no-sandbox     keep uid, capabilities and every system call (debugging)\n"
    "  -h, --help           this text\n";

enum {
	OPT_QUEUES = 256,
	OPT_NOSPLIT,
	OPT_STATS,
	OPT_USER,
	OPT_ALLOW_ROOT,
	OPT_NO_SANDBOX,
	OPT_BRIDGE,
	OPT_KEEP
};

static const struct option long_opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "max-queues", required_argument, NULL, OPT_QUEUES },
	{ "no-split", no_argument, NULL, OPT_NOSPLIT },
	{ "stats-dir", required_argument, NULL, OPT_STATS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "bridge", required_argument, NULL, OPT_BRIDGE },
	{ "keep-finished", no_argument, NULL, OPT_KEEP },
	{ NULL, 0, NULL, 0 },
};

/* ---- statistics files: <dir>/vif-<fe>.<devid>, "key value" lines, renamed into place ---- */

static void stats_path(const struct nbd_device *d, char *path, size_t len)
{
	snprintf(path, len, "%s/vif-%u.%u", d->b->stats_dir, d->dev->xd.otherend_id, d->dev->devid);
}

static void stats_write(struct nbd_device *d, bool force)
{
	struct netback_dev *dev = d->dev;
	char path[4096], tmp[4200];
	struct netback_stats st;
	FILE *f;

	if (!d->b->stats_dir)
		return;
	nbd_device_stats(d, &st);
	if (!force && !memcmp(&st, &d->last, sizeof(st)) && !nbd_queues_moved(d))
		return;
	d->last = st;
	stats_path(d, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "state %s\nfrontend %u\ndevid %u\ninterface %s\nqueues %u\n",
		xenbus_state_name(dev->xd.state), dev->xd.otherend_id, dev->devid, dev->ifname,
		dev->nr_queues);
#define S(key, field) fprintf(f, key " %llu\n", (unsigned long long)st.field)
	S("tx-packets", tx_packets), S("tx-bytes", tx_bytes), S("rx-packets", rx_packets);
	S("rx-bytes", rx_bytes), S("tx-drop-bad-slot", tx_bad_slot);
	S("tx-drop-too-many-slots", tx_too_many_slots), S("tx-drop-too-short", tx_too_short);
	S("tx-drop-bad-grant", tx_bad_grant), S("tx-drop-bad-extra", tx_bad_extra);
	S("tx-drop-bad-offload", tx_bad_offload), S("tx-drop-spoofed", tx_spoofed);
	S("tx-tap-errors", tx_tap_errors), S("rx-drop-too-big", rx_too_big);
	S("rx-drop-bad-grant", rx_bad_grant), S("rx-short", rx_short);
	S("events-spurious", ev_spurious), S("events-delayed", ev_delayed);
	S("rx-steered", rx_steered), S("rx-drop-steer", rx_steer_drops);
	S("tx-mcast-control", tx_mcast_ctl), S("rx-drop-mcast", rx_mcast_drops);
	S("rx-direct", rx_direct), S("rx-direct-moved", rx_direct_missed);
#undef S
	nbd_queues_write(d, f);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

/* ---- the device table ---- */

static int dev_notify(void *arg, struct netback_dev *dev, enum netback_dev_event ev)
{
	struct nbd_device *d = arg;

	(void)dev;
	switch (ev) {
	case NETBACK_DEV_QUEUES_UP:
		return nbd_queues_start(d);
	case NETBACK_DEV_QUEUES_DOWN:
		nbd_queues_stop(d);
		break;
	case NETBACK_DEV_STATE:
		stats_write(d, true);
		break;
	case NETBACK_DEV_RATE:
		nbd_queues_kick(d);
		break;
	}
	return 0;
}

static void device_forget(struct nbd_device *d, bool close)
{
	char path[4096];

	/* The path now: destroying the vif frees what names it, and may rewrite the file. */
	stats_path(d, path, sizeof(path));
	TAILQ_REMOVE(&d->b->devices, d, link);
	netback_dev_destroy(d->dev, close);
	if (d->b->stats_dir)
		unlink(path);
	/*
	 * A finished vif's directory (Closed, online 0), in a driver domain: removed as xl devd
	 * would (dom0's libxl waits for it); xenbus_backend_remove_finished checks it is finished.
	 */
	if (!close && d->b->remove_finished)
		xenbus_backend_let_go(d->b->xs, d->path, d->b->log, PREFIX);
	free(d->path);
	free(d);
}

static void device_add(struct nbd *b, const char *path)
{
	/*
	 * Finished before we came (libxl left it Closed, online 0): serving it would only close it
	 * again, and each pass's writes would fire our watch into another.  A driver domain
	 * removes it, as xl devd would.
	 */
	if (xenbus_backend_finished(b->xs, path)) {
		if (b->remove_finished)
			xenbus_backend_let_go(b->xs, path, b->log, PREFIX);
		return;
	}
	struct netback_dev_opts o = b->dev_opts;
	struct nbd_device *d = calloc(1, sizeof(*d));
	int ret = d ? 0 : -ENOMEM;

	o.notify = dev_notify;
	o.queue_hv = nbd_queue_hv;
	o.queue_wake = nbd_queue_wake;
	o.arg = d;
	if (!ret)
		d->path = strdup(path);
	if (!ret && d->path) {
		d->b = b;
		ret = netback_dev_create(&d->dev, b->xs, b->hv, path, &o);
	} else {
		ret = -ENOMEM;
	}
	if (ret) {
		if (ret != -ENOENT)
			pvio_log(b->log, PVIO_LOG_WARN, PREFIX, "%s: %s", path, strerror(-ret));
		if (d)
			free(d->path);
		free(d);
		return;
	}
	TAILQ_INSERT_TAIL(&b->devices, d, link);
	ret = netback_dev_start(d->dev);
	if (ret)
		device_forget(d, ret < 0);
}

static struct nbd_device *device_find(struct nbd *b, const char *path)
{
	struct nbd_device *d;

	TAILQ_FOREACH(d, &b->devices, link)
	if (!strcmp(d->path, path))
		return d;
	return NULL;
}

/* Every <home>/backend/vif/<fe>/<devid> not served yet, and a backend_changed for the rest. */
static void rescan(struct nbd *b)
{
	char dir[64], path[128];
	unsigned int nfe, ndev;
	char **fes, **devs;
	struct nbd_device *d, *tmp;

	TAILQ_FOREACH_SAFE(d, &b->devices, link, tmp)
	if (netback_dev_backend_changed(d->dev))
		device_forget(d, false);
	snprintf(dir, sizeof(dir), "%s/backend/vif", b->home);
	fes = xs_directory(b->xs, XBT_NULL, dir, &nfe);
	for (unsigned int i = 0; fes && i < nfe; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, fes[i]);
		devs = xs_directory(b->xs, XBT_NULL, path, &ndev);
		for (unsigned int j = 0; devs && j < ndev; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, fes[i], devs[j]);
			if (!device_find(b, path))
				device_add(b, path);
		}
		free(devs);
	}
	free(fes);
}

/* Pending watch events, bounded per wake-up (XSA-349): each touched vif handled once. */
static void xs_events(struct nbd *b)
{
	bool backend = false;
	struct nbd_device *d, *tmp;
	char **ev;

	for (unsigned int n = 0; n < 4096 && (ev = xs_check_watch(b->xs)); n++) {
		if (!strcmp(ev[XS_WATCH_TOKEN], TOKEN_BACKEND))
			backend = true;
		TAILQ_FOREACH(d, &b->devices, link)
		if (!strcmp(ev[XS_WATCH_TOKEN], netback_dev_token(d->dev)))
			d->front_dirty = true;
		free(ev);
	}
	TAILQ_FOREACH_SAFE(d, &b->devices, link, tmp)
	if (d->front_dirty) {
		d->front_dirty = false;
		if (netback_dev_otherend_changed(d->dev))
			device_forget(d, false);
	}
	if (backend)
		rescan(b);
}

/* ---- the control plane on the driver-domain core ---- */

static struct nbd *nbd_of(struct dd_core *c)
{
	return c->arg;
}

static void on_xs(struct dd_core *c)
{
	xs_events(nbd_of(c));
}

static void on_timer(struct dd_core *c)
{
	struct nbd_device *d;

	TAILQ_FOREACH(d, &nbd_of(c)->devices, link)
	stats_write(d, false);
}

/* A queue's process call failed: disconnect its vif (which takes its queues back). */
static void on_queue_failed(struct dd_core *c, struct dd_ring *r, int err)
{
	(void)c;
	netback_dev_queue_failed(((struct nbd_queue *)r)->d->dev, err);
}

static const struct dd_core_ops core_ops = {
	.xs_events = on_xs,
	.timer = on_timer,
	.ring_failed = on_queue_failed,
};

static int setup(struct nbd *b)
{
	struct hv_open_opts hvo = { .log = b->log };
	char path[64];
	domid_t domid;
	int ret;

	ret = hv_open(&b->hv, &hvo);
	if (!ret)
		ret = hv_domid(b->hv, &domid);
	if (ret)
		return ret;
	b->xs = xs_open(0);
	if (!b->xs)
		return errno ? -errno : -ECONNREFUSED;
	b->core.prog = PREFIX;
	b->core.log = b->log;
	b->core.xs = b->xs;
	b->core.ops = &core_ops;
	b->core.arg = b;
	b->core.timer = b->stats_dir != NULL;
	/* Queue q of every vif on thread q: as many threads as queues may be asked for. */
	ret = dd_core_init(&b->core, dd_core_threads(b->dev_opts.max_queues), &hvo);
	if (ret)
		return ret;
	snprintf(b->home, sizeof(b->home), "/local/domain/%u", domid);
	b->remove_finished = domid != 0 && !keep_finished; /* dom0's libxl removes its own */
	snprintf(path, sizeof(path), "%s/backend/vif", b->home);
	if (!xs_watch(b->xs, path, TOKEN_BACKEND))
		return -errno;
	return 0;
}

/* The bridges of --bridge, NULL-terminated; one more than the helper takes, for its message. */
static const char *bridges[TH_BRIDGES_MAX + 2];
static unsigned int n_bridges;

static int parse_args(struct nbd *b, struct dd_sandbox *sb, int argc, char **argv, int *verbose)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	b->dev_opts.max_queues = n < 1			      ? 1
				 : n > NETBACK_DEV_QUEUES_MAX ? NETBACK_DEV_QUEUES_MAX
							      : (unsigned int)n;
	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'v':
			(*verbose)++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_QUEUES:
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > (long)NETBACK_DEV_QUEUES_MAX) {
				fprintf(stderr, "pvio-netback: --max-queues: 1..%u\n",
					NETBACK_DEV_QUEUES_MAX);
				return -1;
			}
			b->dev_opts.max_queues = (unsigned int)n;
			break;
		case OPT_NOSPLIT:
			b->dev_opts.no_split = true;
			break;
		case OPT_STATS:
			b->stats_dir = optarg;
			break;
		case OPT_USER:
			sb->user = optarg;
			break;
		case OPT_ALLOW_ROOT:
			sb->allow_root = true;
			break;
		case OPT_NO_SANDBOX:
			sb->off = true;
			break;
		case OPT_BRIDGE:
			if (n_bridges <= TH_BRIDGES_MAX)
				bridges[n_bridges++] = optarg;
			break;
		case OPT_KEEP:
			keep_finished = true;
			break;
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	return optind == argc ? dd_sandbox_resolve(sb) : -1;
}

int main(int argc, char **argv)
{
	struct nbd b = { .core = { .epfd = -1, .sigfd = -1, .timerfd = -1, .failfd = -1 } };
	struct dd_sandbox sb = { .prog = PREFIX };
	int verbose = 0, ret;
	struct nbd_device *d, *tmp;

	TAILQ_INIT(&b.devices);
	if (parse_args(&b, &sb, argc, argv, &verbose))
		return 2;
	(void)ring_clock_slow(); /* measured (or PVIO_CLOCK_SLOW read) before any thread */
	if (dd_taphelper_start(&sb, bridges)) /* TAPs come from the helper from now on */
		return 1;
	b.log = pvio_log_stderr(verbose > 1 ? PVIO_LOG_DEBUG
				: verbose   ? PVIO_LOG_INFO
					    : PVIO_LOG_WARN);
	b.dev_opts.log = b.log;
	ret = setup(&b);
	if (ret) {
		fprintf(stderr, "pvio-netback: %s\n", strerror(-ret));
		return 1;
	}
	/* Everything is open: drop privilege before serving any vif. */
	if (dd_sandbox_enter(&sb, !strcmp(hv_provider(b.hv), "xen")))
		return 1;
	rescan(&b);
	ret = dd_core_run(&b.core);
	TAILQ_FOREACH_SAFE(d, &b.devices, link, tmp)
	device_forget(d, true);
	dd_core_fini(&b.core);
	if (ret)
		fprintf(stderr, "pvio-netback: %s\n", strerror(-ret));
	xs_close(b.xs);
	hv_close(b.hv);
	return ret ? 1 : 0;
}
