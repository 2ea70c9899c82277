/* SPDX-License-Identifier: MIT */
/*
 * xen-blkfront-io.c - libpvio-blkfront in a Xen domU (make check-xen, xen/blk-pvio-front).
 *
 * Opens the domain's lowest-numbered vbd with the library's default options (what an
 * unprivileged domU gets: restricted privcmd, gntalloc's default limit) and does the I/O an
 * application would: read sector 0 (dom0 wrote a signature there), write a pattern file's
 * bytes at an offset, flush, read them back and compare, discard a range, close and wait for
 * the back-end to read Closed (so that another front-end may open the disk next).  Prints one
 * "key value" line per result on stdout for the guest's /init to pass on; the library's log
 * goes to stderr.  Exits 0 when every step succeeded, 1 otherwise.
 *
 * usage: xen-blkfront-io SIGNATURE PATTERN-FILE OFFSET-MIB DISCARD-OFFSET-MIB DISCARD-MIB
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "frontend/blk/blkfront.h"

#define MIB (1ull << 20)

static int failures;

static void result(const char *key, int err)
{
	if (err)
		failures++;
	printf("%s %s\n", key, err ? strerror(-err) : "ok");
	fflush(stdout);
}

/* The whole pattern file, in memory. */
static int read_file(const char *path, void **buf, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	int err = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0) {
		err = -EINVAL;
	} else if (!(*buf = malloc((size_t)st.st_size))) {
		err = -ENOMEM;
	} else if (fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(*buf);
		err = -EIO;
	}
	fclose(f);
	*len = err ? 0 : (size_t)st.st_size;
	return err;
}

static void print_info(struct blkfront *bf)
{
	struct blkfront_info in;

	blkfront_get_info(bf, &in);
	printf("info sectors=%" PRIu64 " sector-size=%u queues=%u ring-order=%u segments=%u "
	       "persistent=%d flush=%d discard=%d backend=%u devid=%u\n",
	       in.sectors, in.sector_size, in.queues, in.ring_order, in.max_segments, in.persistent,
	       in.flush, in.discard, in.backend_id, in.devid);
}

static unsigned int devid_of(struct blkfront *bf)
{
	struct blkfront_info in;

	blkfront_get_info(bf, &in);
	return in.devid;
}

static int check_signature(struct blkfront *bf, const char *sig)
{
	char sector[512];
	int err = blkfront_read(bf, sector, 0, sizeof(sector));

	if (err)
		return err;
	return strncmp(sector, sig, strlen(sig)) ? -EILSEQ : 0;
}

/* Write, flush, read back into another buffer and compare. */
static void pattern(struct blkfront *bf, const void *data, size_t len, uint64_t off)
{
	void *back = malloc(len);
	int err;

	result("write", blkfront_write(bf, data, off, len));
	result("flush", blkfront_flush(bf));
	if (!back) {
		result("read-back", -ENOMEM);
		return;
	}
	err = blkfront_read(bf, back, off, len);
	result("read-back", err ? err : memcmp(back, data, len) ? -EILSEQ : 0);
	free(back);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* The back-end's state as its node reads: XenbusStateClosed is 6; 0 when it cannot be read. */
static int backend_state(struct xs_handle *xs, const char *path)
{
	unsigned int n;
	char *v = xs_read(xs, XBT_NULL, path, &n);
	int st = v ? atoi(v) : 0;

	free(v);
	return st;
}

/*
 * After blkfront_close, until the back-end reads Closed (6), watched, not polled; main's alarm
 * bounds it.  Linux's blkback reacts to a front-end's Initialising only from Closed: a
 * front-end that opens the device again before that (its reaction to our Closed may lag
 * seconds behind on a loaded host) waits for an InitWait that never comes.  Prints "closed ok
 * MS" or the state it was left in.
 */
static void wait_backend_closed(unsigned int devid)
{
	char node[64], *be, path[256];
	struct xs_handle *xs = xs_open(0);
	long long t0 = now_ms();
	unsigned int n;
	int st = 0;

	if (!xs) {
		result("closed", -errno);
		return;
	}
	snprintf(node, sizeof(node), "device/vbd/%u/backend", devid);
	be = xs_read(xs, XBT_NULL, node, &n);
	if (!be || snprintf(path, sizeof(path), "%s/state", be) >= (int)sizeof(path) ||
	    !xs_watch(xs, path, "be")) {
		free(be);
		xs_close(xs);
		result("closed", -ENOENT);
		return;
	}
	while ((st = backend_state(xs, path)) != 6) {
		char **ev = xs_read_watch(xs, &n);

		if (!ev)
			break;
		free(ev);
	}
	if (st == 6) {
		printf("closed ok %lld\n", now_ms() - t0);
	} else {
		printf("closed state=%d\n", st);
		failures++;
	}
	fflush(stdout);
	free(be);
	xs_close(xs);
}

int main(int argc, char **argv)
{
	struct blkfront_opts opts = { 0 };
	struct blkfront_stats st;
	struct blkfront *bf;
	size_t len;
	unsigned int info_devid;
	void *data = NULL;
	int err;

	if (argc != 6) {
		fprintf(stderr,
			"usage: %s SIGNATURE PATTERN-FILE OFFSET-MIB DISCARD-OFFSET-MIB "
			"DISCARD-MIB\n",
			argv[0]);
		return 2;
	}
	err = read_file(argv[2], &data, &len);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(-err));
		return 1;
	}
	err = blkfront_open(&bf, &opts);
	result("open", err);
	if (err) {
		free(data);
		return 1;
	}
	print_info(bf);
	info_devid = devid_of(bf);
	result("signature", check_signature(bf, argv[1]));
	pattern(bf, data, len, strtoull(argv[3], NULL, 10) * MIB);
	result("discard", blkfront_discard(bf, strtoull(argv[4], NULL, 10) * MIB,
					   strtoull(argv[5], NULL, 10) * MIB, false));
	blkfront_get_stats(bf, &st);
	printf("stats submitted=%" PRIu64 " completed=%" PRIu64 " errors=%" PRIu64
	       " reconnects=%" PRIu64 "\n",
	       st.submitted, st.completed, st.errors, st.reconnects);
	if (st.errors || st.reconnects)
		failures++;
	blkfront_close(bf);
	alarm(120);
	wait_backend_closed(info_devid);
	free(data);
	return failures ? 1 : 0;
}
