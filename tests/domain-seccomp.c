/* SPDX-License-Identifier: MIT */
/*
 * domain-seccomp: a process in a guest domain (embed_domain_fork) runs under an allowlist.
 *  - Outside the list, EPERM: perf_event_open, bpf, keyctl, add_key, userfaultfd, io_uring_setup,
 *    process_vm_readv and pidfd_getfd on a sibling of its own domain, ptrace of it (not in a
 *    sanitizer build, whose LeakSanitizer needs ptrace), an AF_ALG socket, a nested user
 *    namespace, a bind mount, TIOCSTI (also with high bits set in the request), and a system call
 *    number no kernel has; clone3 is ENOSYS, so that the C library falls back to clone.
 *  - The i386 and x32 ABIs do not run a call (the process is killed).
 *  - Ordinary work succeeds: files, fork, threads, exec, Unix/INET/INET6/netlink/packet sockets,
 *    epoll, eventfd, timerfd, signalfd, mmap, getrandom, libaio's io_setup, a network namespace
 *    of its own, a tmpfs mount.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>

#include "launch/embed.h"
#include "tests/helpers.h"

#if defined(__SANITIZE_ADDRESS__)
#define T_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_SANITIZER 1
#endif
#endif

#define NO_SUCH_CALL 1000 /* no kernel has a system call of this number */

static int failures;

/* A call outside the list: -1 with want. */
static void refused(const char *what, long ret, int want)
{
	if (ret == -1 && errno == want)
		return;
	fprintf(stderr, "FAIL: %s: %ld (%s), want %s\n", what, ret,
		ret == -1 ? strerror(errno) : "success", strerror(want));
	failures++;
}

/* Ordinary work: true. */
static void works(const char *what, bool ok)
{
	if (ok)
		return;
	fprintf(stderr, "FAIL: %s: %s\n", what, strerror(errno));
	failures++;
}

static long fd_ok(long fd)
{
	if (fd >= 0)
		close((int)fd);
	return fd;
}

/* The calls that reach a sibling process of the domain (same uid: only the filter stops them). */
static void sibling_calls(void)
{
	char buf[16], dst[16];
	struct iovec local = { dst, sizeof(dst) }, remote = { buf, sizeof(buf) };
	pid_t sib = fork();
	int pidfd;

	if (sib == 0) {
		for (;;)
			pause();
	}
	works("fork", sib > 0);
	if (sib <= 0)
		return;
	pidfd = (int)syscall(SYS_pidfd_open, sib, 0);
	works("pidfd_open of a sibling", pidfd >= 0);
	refused("process_vm_readv of a sibling",
		syscall(SYS_process_vm_readv, sib, &local, 1, &remote, 1, 0), EPERM);
	refused("pidfd_getfd from a sibling", syscall(SYS_pidfd_getfd, pidfd, 0, 0), EPERM);
#ifndef T_SANITIZER
	refused("ptrace attach of a sibling", ptrace(PTRACE_ATTACH, sib, NULL, NULL), EPERM);
#endif
	kill(sib, SIGKILL);
	waitpid(sib, NULL, 0);
	close(pidfd);
}

static void refused_calls(void)
{
	char attr[128] = { 0 }, params[120] = { 0 };

	refused("perf_event_open", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0), EPERM);
	refused("bpf", syscall(SYS_bpf, 0, attr, sizeof(attr)), EPERM);
	refused("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0), EPERM);
	refused("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM);
	refused("userfaultfd", syscall(SYS_userfaultfd, 0), EPERM);
	refused("io_uring_setup", fd_ok(syscall(SYS_io_uring_setup, 4, params)), EPERM);
	refused("socket(AF_ALG)", fd_ok(socket(AF_ALG, SOCK_SEQPACKET, 0)), EPERM);
	refused("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
	refused("bind mount", mount("/tmp", "/tmp", NULL, MS_BIND, NULL), EPERM);
	refused("ioctl(TIOCSTI)", ioctl(0, TIOCSTI, "x"), EPERM);
	refused("ioctl(TIOCSTI) with high bits",
		syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1ul << 32), "x"), EPERM);
	refused("system call 1000", syscall(NO_SUCH_CALL), EPERM);
	refused("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
	sibling_calls();
}

/* The child of abi_refused: a call through another ABI, exit 0 if it ran. */
static __attribute__((noreturn)) void abi_call(bool x32)
{
	long ret;

#if defined(__x86_64__)
	if (x32) {
		ret = syscall(0x40000000L | SYS_getpid);
	} else {
		/* getpid is 20 in the i386 table. */
		ret = 20;
		__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	}
#else
	/* Other ABIs of other architectures are not checked. */
	(void)x32;
	ret = -1;
#endif
	_exit(ret > 0 ? 0 : 1);
}

/* Another ABI's call does not run: the child is killed, or at worst refused. */
static void abi_refused(bool x32)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0)
		abi_call(x32);
	works("fork", pid > 0);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		fprintf(stderr, "FAIL: a call through the %s ABI ran\n", x32 ? "x32" : "i386");
		failures++;
	}
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void process_work(void)
{
	static int token;
	pthread_t t;
	void *ret = NULL;
	int status = 0;
	pid_t pid;

	works("pthread_create", pthread_create(&t, NULL, thread_fn, &token) == 0 &&
				    pthread_join(t, &ret) == 0 && ret == &token);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
		_exit(127);
	}
	works("fork and exec sh", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
				      WEXITSTATUS(status) == 3);
	/* A network namespace of its own (pvio-netfront's), in a child. */
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	works("unshare(CLONE_NEWNET)", pid > 0 && waitpid(pid, &status, 0) == pid &&
					   WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void file_work(void)
{
	char buf[8] = { 0 };
	int fd = open("/tmp/seccomp-test", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	works("open", fd >= 0);
	works("write and read back", pwrite(fd, "pvio", 4, 0) == 4 && pread(fd, buf, 4, 0) == 4 &&
					 !memcmp(buf, "pvio", 4));
	close(fd);
	works("rename", rename("/tmp/seccomp-test", "/tmp/seccomp-test2") == 0);
	works("unlink", unlink("/tmp/seccomp-test2") == 0);
	works("mkdir", mkdir("/tmp/seccomp-mnt", 0700) == 0);
	works("tmpfs mount", mount("tmpfs", "/tmp/seccomp-mnt", "tmpfs", MS_NOSUID, NULL) == 0);
	works("umount", umount2("/tmp/seccomp-mnt", 0) == 0);
	works("rmdir", rmdir("/tmp/seccomp-mnt") == 0);
}

static void socket_work(void)
{
	int sv[2];

	works("socketpair(AF_UNIX)", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 &&
					 write(sv[0], "x", 1) == 1 && read(sv[1], sv, 1) == 1);
	close(sv[0]);
	close(sv[1]);
	works("socket(AF_INET)", fd_ok(socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	works("socket(AF_INET6)", fd_ok(socket(AF_INET6, SOCK_STREAM, 0)) >= 0);
	works("socket(AF_NETLINK)", fd_ok(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) >= 0);
}

static void wait_work(void)
{
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	uint64_t n = 0;
	sigset_t set;
	unsigned long ctx = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(0, EFD_CLOEXEC);
	int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), sf;
	struct epoll_event e = { .events = EPOLLIN };

	works("epoll and eventfd", ep >= 0 && ev >= 0 &&
				       epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) == 0 &&
				       eventfd_write(ev, 1) == 0 && epoll_wait(ep, &e, 1, -1) == 1);
	works("timerfd", tf >= 0 && timerfd_settime(tf, 0, &its, NULL) == 0 &&
			     read(tf, &n, sizeof(n)) == sizeof(n));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sf = signalfd(-1, &set, SFD_CLOEXEC);
	works("signalfd", sf >= 0);
	works("io_setup", syscall(SYS_io_setup, 8, &ctx) == 0 && syscall(SYS_io_destroy, ctx) == 0);
	close(ep);
	close(ev);
	close(tf);
	close(sf);
}

static void memory_work(void)
{
	char rnd[16];
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	works("mmap", p != MAP_FAILED);
	works("mprotect and madvise",
	      mprotect(p, 4096, PROT_READ) == 0 && madvise(p, 65536, MADV_DONTNEED) == 0);
	works("munmap", munmap(p, 65536) == 0);
	works("getrandom", getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
}

static int in_domain(void *arg)
{
	(void)arg;
	refused_calls();
	abi_refused(false);
	abi_refused(true);
	process_work();
	file_work();
	socket_work();
	wait_work();
	memory_work();
	return failures ? 1 : 0;
}

int main(void)
{
	struct embed_opts opts = { .die_with_parent = true };
	struct embed *e;
	domid_t dom;
	pid_t pid;

	t_time_limit(T_TIME_LIMIT_S);
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(embed_domain_create(e, "guest", &dom) == 0, "create guest");
	T_CHECK(embed_domain_fork(e, dom, in_domain, NULL, &pid) == 0, "fork into the guest");
	T_CHECK(t_wait(pid) == 0, "the guest's filter is wrong (see above)");
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
