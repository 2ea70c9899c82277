/* SPDX-License-Identifier: MIT */
/*
 * helpers.c - shared test helpers: a private pvio-hv per test, domains as
 * forked children, raw sessions, and small waits.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "launch/sandbox.h"
#include "tests/helpers.h"

/* The test's own daemon. */
static struct {
	pid_t pid;	     /* pvio-hv, 0 if not started */
	pid_t starter;	     /* the process that started it: only it stops it */
	char dir[64];	     /* the private directory */
	char sock[PATH_MAX]; /* dir/hv.sock */
} t_hv;

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void t_msleep(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* SIGALRM: the test hangs.  Only async-signal-safe calls here. */
static void t_time_up(int sig)
{
	static const char msg[] = "FAIL the test's time limit passed: a hang?\n";
	ssize_t n;

	(void)sig;
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	_exit(T_FAIL);
}

void t_time_limit(unsigned int seconds)
{
	signal(SIGALRM, t_time_up);
	alarm(seconds);
}

uint64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *t_hv_socket(void)
{
	return t_hv.sock;
}

pid_t t_hv_pid(void)
{
	return t_hv.pid;
}

static void t_hv_stop(void)
{
	int status;

	if (!t_hv.pid || getpid() != t_hv.starter)
		return;
	kill(t_hv.pid, SIGTERM);
	while (waitpid(t_hv.pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(t_hv.sock);
	rmdir(t_hv.dir);
	t_hv.pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "FAIL pvio-hv: exited with status 0x%x at the end of the test\n",
			status);
		_exit(T_FAIL);
	}
}

pid_t t_daemon_exec(const char *prog, const char *const *argv)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(T_FAIL);
	execv(prog, (char *const *)argv);
	fprintf(stderr, "%s: %s: %s\n", argv[0], prog, strerror(errno));
	_exit(127);
}

/* Options t_hv_start_opts passes to pvio-hv before -s; NULL-terminated. */
static const char *const *t_hv_opts;

static pid_t t_hv_exec(const char *prog)
{
	const char *argv[16] = { "pvio-hv" };
	unsigned int n = 1;

	for (unsigned int i = 0; t_hv_opts && t_hv_opts[i] && n < 12; i++)
		argv[n++] = t_hv_opts[i];
	argv[n++] = "-s";
	argv[n++] = t_hv.sock;
	if (getenv("PVIO_TEST_VERBOSE"))
		argv[n++] = "-v";
	return t_daemon_exec(prog, argv);
}

/*
 * Poll until the daemon accepts a connection, or it exits, or 60 s pass: under valgrind on a
 * loaded machine it takes more than 10 s to start.
 */
static int t_hv_wait_ready(void)
{
	uint64_t deadline = t_now_ms() + 60000;
	int sock, status;

	while (t_now_ms() < deadline) {
		if (t_connect(&sock) == 0) {
			close(sock);
			return 0;
		}
		if (waitpid(t_hv.pid, &status, WNOHANG) == t_hv.pid) {
			t_hv.pid = 0;
			fprintf(stderr, "t_hv_start: pvio-hv exited with status 0x%x\n", status);
			return -ECHILD;
		}
		t_msleep(10);
	}
	fprintf(stderr, "t_hv_start: pvio-hv did not answer on %s\n", t_hv.sock);
	return -ETIMEDOUT;
}

int t_hv_start(void)
{
	const char *builddir = getenv("PVIO_BUILDDIR");
	char prog[PATH_MAX];

	snprintf(prog, sizeof(prog), "%s/pvio-hv", builddir && *builddir ? builddir : ".");
	if (access(prog, X_OK) < 0) {
		fprintf(stderr, "t_hv_start: %s: %s\n", prog, strerror(errno));
		return -ENOENT;
	}
	snprintf(t_hv.dir, sizeof(t_hv.dir), "/tmp/pvio-test-XXXXXX");
	if (!mkdtemp(t_hv.dir)) {
		fprintf(stderr, "t_hv_start: mkdtemp: %s\n", strerror(errno));
		return -errno;
	}
	snprintf(t_hv.sock, sizeof(t_hv.sock), "%s/hv.sock", t_hv.dir);
	setenv(HVSIM_SOCKET_ENV, t_hv.sock, 1);
	setenv("PVIO_HV", "sim", 1);
	t_hv.starter = getpid();
	t_hv.pid = t_hv_exec(prog);
	if (t_hv.pid < 0) {
		t_hv.pid = 0;
		rmdir(t_hv.dir);
		return -errno;
	}
	atexit(t_hv_stop);
	t_time_limit(T_TIME_LIMIT_S);
	return t_hv_wait_ready();
}

int t_domain_fork(const char *name, int (*fn)(void *arg), void *arg, domid_t *domid, pid_t *pid)
{
	struct hvctl *ctl;
	domid_t id;
	int ret, token;
	pid_t child;

	ret = hvctl_open(&ctl, NULL);
	if (ret < 0)
		return ret;
	ret = hvctl_domain_create(ctl, name, 0, &id, &token);
	hvctl_close(ctl);
	if (ret < 0)
		return ret;
	child = fork();
	if (child == 0) {
		if (hvctl_enter_domain(token, NULL) < 0)
			_exit(T_FAIL);
		_exit(fn(arg));
	}
	ret = child < 0 ? -errno : 0;
	close(token);
	if (ret == 0 && domid)
		*domid = id;
	if (ret == 0 && pid)
		*pid = child;
	return ret;
}

int t_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int t_connect(int *sockp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, ret;

	ret = hvsim_socket_path(sa.sun_path, sizeof(sa.sun_path));
	if (ret < 0)
		return ret;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(sock);
		return ret;
	}
	*sockp = sock;
	return 0;
}

/* HELLO on the token with our end's twin attached; the reply comes on ours. */
static int t_session_token(int token, int *sockp, struct hvsim_msg *hello, int *fds,
			   unsigned int *nfds)
{
	struct hvsim_msg req = { .op = HVSIM_HELLO };
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = hvsim_send(token, &req, &sv[1], 1);
	close(sv[1]);
	if (ret == 0)
		ret = hvsim_recv(sv[0], hello, fds, 3, nfds);
	if (ret == 0 && (hello->op != (HVSIM_HELLO | HVSIM_OP_FROM_HV) || hello->err < 0)) {
		while (*nfds)
			close(fds[--*nfds]);
		ret = hello->err < 0 ? hello->err : -EPROTO;
	}
	if (ret < 0) {
		close(sv[0]);
		return ret;
	}
	*sockp = sv[0];
	return 0;
}

int t_session_open(int *sockp, struct hvsim_msg *hello, int fds[3])
{
	struct hvsim_msg req = { .op = HVSIM_HELLO };
	const char *token = getenv(HVSIM_FD_ENV);
	unsigned int nfds = 0;
	int got[3], ret, sock = -1;

	if (token && *token) {
		ret = t_session_token(atoi(token), &sock, hello, got, &nfds);
	} else {
		ret = t_connect(&sock);
		if (ret == 0)
			ret = hvsim_call(sock, &req, NULL, 0, hello, got, 3, &nfds);
	}
	if (ret == 0 && nfds != 3)
		ret = -EPROTO;
	if (ret < 0 || !fds) {
		while (nfds)
			close(got[--nfds]);
	} else {
		memcpy(fds, got, sizeof(got));
	}
	if (ret < 0 && sock >= 0)
		close(sock);
	else
		*sockp = sock;
	return ret;
}

int t_rpc(int sock, uint32_t op, const uint32_t *args, unsigned int nargs, struct hvsim_msg *rep,
	  int *fds, unsigned int max, unsigned int *nfds)
{
	struct hvsim_msg req = { .op = op };
	unsigned int i;
	int ret;

	for (i = 0; i < nargs && i < 6; i++)
		req.arg[i] = args[i];
	memset(rep, 0, sizeof(*rep));
	if (nfds)
		*nfds = 0;
	ret = hvsim_call(sock, &req, NULL, 0, rep, fds, max, nfds);
	return ret;
}

bool t_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

int t_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int t_daemon_kill(pid_t *pid, pid_t starter)
{
	int status;

	if (!*pid || getpid() != starter)
		return -ESRCH;
	if (kill(*pid, SIGKILL) < 0)
		return -errno;
	while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
	return 0;
}

int t_hv_kill(void)
{
	return t_daemon_kill(&t_hv.pid, t_hv.starter);
}

int t_map_count(pid_t pid, const char *match)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += strchr(line, '\n') != NULL && (!match || strstr(line, match));
	fclose(f);
	return n;
}

long t_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int t_loop_usable(void)
{
	int fd;

	if (geteuid() != 0) {
		printf("SKIP: loop devices need root\n");
		return T_SKIP;
	}
	fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return T_PASS;
	}
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO || errno == EACCES ||
	    errno == EPERM) {
		printf("SKIP: /dev/loop-control: %s\n", strerror(errno));
		return T_SKIP;
	}
	fprintf(stderr, "FAIL /dev/loop-control: %s\n", strerror(errno));
	return T_FAIL;
}

int t_loop_attach(const char *path, unsigned int bs, char *dev, size_t len)
{
	char opts[32];

	snprintf(opts, sizeof(opts), "--sector-size %u", bs);
	return t_loop_attach_with(path, opts, dev, len);
}

int t_loop_attach_with(const char *path, const char *opts, char *dev, size_t len)
{
	char cmd[PATH_MAX + 256], out[512];
	size_t n;
	FILE *p;
	int status;

	dev[0] = 0;
	snprintf(cmd, sizeof(cmd), "losetup %s --show -f '%s' 2>&1", opts, path);
	p = popen(cmd, "r");
	if (!p) {
		fprintf(stderr, "FAIL popen %s: %s\n", cmd, strerror(errno));
		return T_FAIL;
	}
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	status = pclose(p);
	if (status != 0 || strncmp(out, "/dev/", 5) != 0 || strlen(out) >= len) {
		fprintf(stderr, "FAIL %s: status 0x%x: %s\n", cmd, status, out);
		return T_FAIL;
	}
	snprintf(dev, len, "%s", out);
	return 0;
}

int t_loop_detach(const char *dev)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL %s\n", cmd);
		return T_FAIL;
	}
	return 0;
}

int t_proc_status(pid_t pid, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret == -ENOENT && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl))
			continue;
		snprintf(val, len, "%s", line + kl + strspn(line + kl, " \t"));
		for (size_t n = strlen(val); n && (val[n - 1] == '\n' || val[n - 1] == ' '); n--)
			val[n - 1] = '\0';
		ret = 0;
	}
	fclose(f);
	return ret;
}

int t_keyfile_u64(const char *path, const char *key, uint64_t *val)
{
	char line[256], name[128];
	int rc = -ENOENT;
	FILE *f = fopen(path, "r");

	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char num[64], *end;

		if (sscanf(line, "%127s %63s", name, num) != 2 || strcmp(name, key) != 0)
			continue;
		errno = 0;
		*val = strtoull(num, &end, 10);
		rc = errno || *end || num[0] == '-' ? -EINVAL : 0;
		break;
	}
	fclose(f);
	return rc;
}

int t_own_uids_or_skip(void)
{
	char why[160];

	if (sandbox_ids_check(1, false, why, sizeof(why)) == 0)
		return 0;
	printf("SKIP: a normal user's domains would share its uid: %s\n", why);
	return 1;
}

/* CPU milliseconds process pid has used (utime + stime). */
uint64_t t_proc_cpu_ms(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
	if (f)
		fclose(f);
	return (ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* Times the threads of process pid went to sleep and were woken (voluntary context switches). */
uint64_t t_proc_wakeups(pid_t pid)
{
	char path[320], line[256];
	uint64_t n = 0;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
				n += v;
		fclose(f);
	}
	closedir(d);
	return n;
}

int t_storm_bound(pid_t pid, const char *name, unsigned int ms, uint64_t *start)
{
	uint64_t c0 = t_proc_cpu_ms(pid), s0 = t_proc_wakeups(pid), w0 = t_now_ms(), c1, s1, w1;

	*start = w0;
	t_msleep(ms);
	c1 = t_proc_cpu_ms(pid), s1 = t_proc_wakeups(pid), w1 = t_now_ms();
	printf("%s: %" PRIu64 " ms of CPU and %" PRIu64 " wake-ups in %" PRIu64 " ms of storm\n",
	       name, c1 - c0, s1 - s0, w1 - w0);
	/*
	 * The CPU bound holds on a loaded machine even without masking (the storm is starved too):
	 * the wake-ups do not.  Masked, the queue thread wakes about once per unmask, and the late
	 * EOI's delays double up to a second; unmasked, every notification may wake it.
	 */
	T_CHECK(s1 - s0 < w1 - w0, "the storm woke %s %" PRIu64 " times in %" PRIu64 " ms", name,
		s1 - s0, w1 - w0);
	T_CHECK((c1 - c0) * 2 < w1 - w0, "the storm cost %s %" PRIu64 " ms in %" PRIu64, name,
		c1 - c0, w1 - w0);
	return 0;
}

int t_hv_start_opts(const char *const *opts)
{
	t_hv_opts = opts;
	return t_hv_start();
}
