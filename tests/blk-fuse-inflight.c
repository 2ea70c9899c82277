/* SPDX-License-Identifier: MIT */
/*
 * blk-fuse-inflight.c - pvio-blkfront(8) keeps the kernel's requests in flight together, and
 * answers each exactly once.
 *
 * A scripted back-end (tests/blk-fakeback) holds every request on its ring while IOS 4 KiB
 * O_DIRECT reads are submitted with libaio to MOUNTPOINT/disk: all IOS must reach the ring at
 * once (a front-end with one operation in flight puts one there and waits, and the test fails
 * when its time is up).  Then:
 *  - built as blk-fuse-inflight: the back-end lets go, and every read completes once with
 *    the disk's data;
 *  - built with BFUSE_LOST (blk-fuse-lost): the toolstack detaches the device instead, and
 *    every read completes once with an error, none never.
 *  - built with BFUSE_BIG (blk-fuse-big): two reads of 1 MiB, and each must reach the
 *    ring as exactly one request (FUSE's max_pages and an indirect request of 256 segments:
 *    a front-end that let the kernel cut them at 128 KiB puts 8 each there), then complete
 *    once with the disk's data.
 * Either way pvio-blkfront then exits 0 on SIGTERM, and its libfuse debug log (-d) shows one
 * reply for every request the kernel sent: none twice, none never.
 * Needs root and /dev/fuse; skips otherwise.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/blk-fakeback.h"
#include "tests/helpers.h"

#ifdef BFUSE_BIG
/* Two: the library's 1024 copy pages per queue hold three reads of 1 MiB (and their indirect
 * pages) at once, not four. */
#define IOS 2
#define LEN (1u << 20)
#else
#define IOS 16
#define LEN 4096u
#endif
#define WAIT_MS	 30000 /* for the file to appear, and for the requests to reach the ring */
#define REQS_MAX 4096  /* FUSE requests the log may show */

static char dir[64] = "/tmp/blk-fuse-inflight.XXXXXX";
static char mnt[128], logpath[128], disk[160];

/* Block i of the disk: its number in every byte, so a read shows where it came from. */
static uint8_t pattern(unsigned int i)
{
	return (uint8_t)(i * 7 + 1);
}

/* Start pvio-blkfront -d on mnt in this (the front-end's) domain, stderr to the log. */
static pid_t start_blkfront(void)
{
	const char *bindir = getenv("PVIO_BUILDDIR");
	char prog[512], devid[16];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/pvio-blkfront", bindir ? bindir : ".");
	snprintf(devid, sizeof(devid), "%u", FB_DEVID);
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execl(prog, prog, "-d", devid, mnt, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait for pid to exit: its status, or -1 after ms. */
static int reap(pid_t pid, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)ms;
	int status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (t_now_ms() > end)
			return -1;
		t_msleep(20);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Until the file exists or ms pass: 0, or -1. */
static int await_disk(pid_t front, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)ms;
	struct stat st;

	while (stat(disk, &st) || !S_ISREG(st.st_mode)) {
		if (t_now_ms() > end || waitpid(front, NULL, WNOHANG) == front)
			return -1;
		t_msleep(20);
	}
	return 0;
}

/* Whether the libfuse opcode gets no reply. */
static int no_reply(const char *line)
{
	return strstr(line, "opcode: FORGET") || strstr(line, "opcode: BATCH_FORGET") ||
	       strstr(line, "opcode: INTERRUPT");
}

/*
 * The debug log: every "unique: N, opcode: ..." line that expects a reply has exactly one
 * "   unique: N, success|error" line.  0, or 1 after saying which request broke the rule.
 */
static int check_replies(void)
{
	static unsigned long long asked[REQS_MAX];
	static int replies[REQS_MAX];
	unsigned long long u;
	unsigned int n = 0, i;
	char line[512];
	FILE *f = fopen(logpath, "r");

	T_CHECK(f, "%s: %s", logpath, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "unique: %llu, opcode:", &u) == 1 && !no_reply(line)) {
			T_CHECK(n < REQS_MAX, "more than %d requests", REQS_MAX);
			asked[n++] = u;
		} else if (sscanf(line, "   unique: %llu,", &u) == 1) {
			for (i = 0; i < n && asked[i] != u; i++)
				;
			T_CHECK(i < n, "reply to request %llu, which was not asked", u);
			replies[i]++;
		}
	}
	fclose(f);
	for (i = 0; i < n; i++)
		T_CHECK(replies[i] == 1, "request %llu answered %d times", asked[i], replies[i]);
	T_CHECK(n > IOS, "only %u requests in the log", n);
	printf("%u FUSE requests, each answered once\n", n);
	fflush(stdout);
	return 0;
}

/* Submit IOS reads of block 2i into bufs. */
static int submit_reads(io_context_t ctx, int fd, uint8_t *bufs, struct iocb *cbs)
{
	struct iocb *p[IOS];
	unsigned int i;

	for (i = 0; i < IOS; i++) {
		io_prep_pread(&cbs[i], fd, bufs + i * LEN, LEN, (long long)(2 * i) * LEN);
		cbs[i].data = (void *)(uintptr_t)i;
		p[i] = &cbs[i];
	}
	T_CHECK(io_submit(ctx, IOS, p) == IOS, "io_submit");
	return 0;
}

/* Collect every completion; each read's result in res[]. */
static int collect(io_context_t ctx, long *res, int *count)
{
	struct timespec ts = { WAIT_MS / 1000, 0 };
	struct io_event ev[IOS];
	int got = 0, n, i;

	while (got < IOS) {
		n = io_getevents(ctx, 1, IOS, ev, &ts);
		T_CHECK(n > 0, "%d of %d reads answered", got, IOS);
		for (i = 0; i < n; i++) {
			unsigned int k = (unsigned int)(uintptr_t)ev[i].data;

			T_CHECK(k < IOS, "a completion for no read");
			res[k] = (long)ev[i].res;
			count[k]++;
		}
		got += n;
	}
	ts.tv_sec = 0;
	T_CHECK(io_getevents(ctx, 0, IOS, ev, &ts) == 0, "more completions than reads");
	return 0;
}

/* Hold the back-end, submit the reads, see them all on the ring together. */
static int reads_in_flight(io_context_t ctx, int fd, uint8_t *bufs, struct iocb *cbs)
{
	struct timespec zero = { 0, 0 };
	struct io_event ev[IOS];
	uint64_t end = t_now_ms() + WAIT_MS;

	*fb_env.held = 0;
	*fb_env.hold = 1;
	if (submit_reads(ctx, fd, bufs, cbs))
		return 1;
	while (*fb_env.held < IOS && t_now_ms() < end)
		t_msleep(10);
	T_CHECK(*fb_env.held >= IOS, "%d of %d reads on the ring at once", *fb_env.held, IOS);
#ifdef BFUSE_BIG
	/* Whatever else the kernel sent for them has had time to arrive too. */
	t_msleep(200);
	T_CHECK(*fb_env.held == IOS, "%d ring requests for %d reads of %u KiB", *fb_env.held, IOS,
		LEN >> 10);
#endif
	T_CHECK(io_getevents(ctx, 0, IOS, ev, &zero) == 0, "a read answered while held");
	printf("%d reads on the ring at once\n", *fb_env.held);
	fflush(stdout);
	return 0;
}

/* Let go (or detach), then check each read's one completion. */
static int answers(io_context_t ctx, const uint8_t *bufs)
{
	long res[IOS];
	int count[IOS] = { 0 };
	unsigned int i;

#ifdef BFUSE_LOST
	(void)bufs;
	T_CHECK(fb_env_request_detach() == 0, "detach");
#else
	*fb_env.hold = 0;
#endif
	if (collect(ctx, res, count))
		return 1;
	for (i = 0; i < IOS; i++) {
		T_CHECK(count[i] == 1, "read %u completed %d times", i, count[i]);
#ifdef BFUSE_LOST
		T_CHECK(res[i] < 0, "read %u of a detached disk: %ld", i, res[i]);
#else
		T_CHECK(res[i] == LEN, "read %u: %ld", i, res[i]);
		T_CHECK(bufs[i * LEN] == pattern(2 * i) &&
			    bufs[i * LEN + LEN - 1] == pattern(2 * i),
			"read %u: wrong data", i);
#endif
	}
	return 0;
}

static int front(void *arg)
{
	io_context_t ctx = 0;
	struct iocb cbs[IOS];
	uint8_t *bufs;
	unsigned int i;
	pid_t pid;
	int fd, r = 1;

	(void)arg;
	T_CHECK(posix_memalign((void **)&bufs, 4096, IOS * LEN) == 0, "posix_memalign");
	for (i = 0; i < 2 * IOS; i++)
		memset(fb_env.disk + (size_t)i * LEN, pattern(i), LEN);
	pid = start_blkfront();
	T_CHECK(pid > 0, "fork");
	if (await_disk(pid, WAIT_MS)) {
		fprintf(stderr, "FAIL: %s did not appear\n", disk);
		goto out_kill;
	}
	fd = open(disk, O_RDONLY | O_DIRECT);
	if (fd < 0 || io_setup(IOS, &ctx)) {
		fprintf(stderr, "FAIL: %s: %s\n", disk, strerror(errno));
		goto out_kill;
	}
	r = reads_in_flight(ctx, fd, bufs, cbs);
	if (!r)
		r = answers(ctx, bufs);
	*fb_env.hold = 0;
	io_destroy(ctx);
	close(fd);
out_kill:
	kill(pid, SIGTERM);
	if (reap(pid, 20000) != 0) {
		fprintf(stderr, "FAIL: pvio-blkfront did not exit 0 after SIGTERM\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r = 1;
	}
	free(bufs);
	return r ? r : check_replies();
}

int main(void)
{
#ifdef BFUSE_BIG
	static const struct fb_opts o = { .persistent = true, .flush = true, .max_indirect = 256 };
#else
	static const struct fb_opts o = { .persistent = true, .flush = true };
#endif
	int r;

	t_time_limit(120);
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK)) {
		printf("SKIP: needs root and /dev/fuse\n");
		return T_SKIP;
	}
	T_CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	snprintf(logpath, sizeof(logpath), "%s/blkfront.log", dir);
	snprintf(disk, sizeof(disk), "%s/%s", mnt, "disk");
	T_CHECK(mkdir(mnt, 0700) == 0, "mkdir %s", mnt);
	r = fb_run(&o, 1, front);
	if (r) {
		FILE *f = fopen(logpath, "r");
		char line[512];

		fprintf(stderr, "pvio-blkfront's log, last lines:\n");
		while (f && fgets(line, sizeof(line), f))
			if (!strstr(line, "unique:") && !strstr(line, "opcode:"))
				fputs(line, stderr);
		if (f)
			fclose(f);
	}
	umount2(mnt, MNT_DETACH);
	unlink(logpath);
	rmdir(mnt);
	rmdir(dir);
	return r ? T_FAIL : T_PASS;
}
