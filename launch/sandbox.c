/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - a domain's namespaces, view, credentials and seccomp filter (see sandbox.h).
 *
 * The init is cloned with new user, mount, pid, ipc and network namespaces; the caller writes
 * its uid and gid maps while it waits on a pipe (only a process outside the namespace may map a
 * uid other than its own), then the init takes uid 0 inside, builds the view on a tmpfs over
 * /tmp of its private mount tree, mounts a /proc of its own pid namespace while the host's is
 * still visible (the kernel refuses a new proc otherwise), and pivots into the tmpfs.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/netlink.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include <seccomp.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "launch/cgroup.h"
#include "launch/sandbox.h"
#include "launch/subid.h"

#define NS_FLAGS	 (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET)
#define STAGE		 "/tmp" /* where the new root is built, in the init's private tree */
#define INIT_NAME	 "pvio-init"
#define MAX_BINDS	 64
#define SANDBOX_FUSE_DEV makedev(10, 229) /* /dev/fuse, fixed by the kernel */
#define SANDBOX_TUN_DEV	 makedev(10, 200) /* /dev/net/tun */

/* System directories every domain sees read-only (symlinks are copied as symlinks). */
static const char *const sandbox_system[] = { "/usr",	"/bin",	  "/sbin",   "/lib",
					      "/lib32", "/lib64", "/libx32", "/etc" };
/* Devices a domain may have, when the host has them. */
/* Not /dev/fuse: a domain that asks gets descriptors instead (SANDBOX_FUSE_ENV). */
static const char *const sandbox_devices[] = { "null",	  "zero", "full",   "random",
					       "urandom", "tty",  "net/tun" };
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

/*
 * The system calls a domain's programs may make, with any arguments: what a normal Linux program
 * needs (files, memory, processes and threads, signals, time, polling, System V and POSIX IPC in
 * the domain's own ipc namespace, libaio for back-ends), one group a line.  Those with argument
 * rules (socket, clone, mount, ...) are in sandbox_rules.  Everything else is refused with EPERM,
 * among which: kexec, modules, bpf, perf_event_open, the keyrings, userfaultfd, ptrace,
 * process_vm_readv/writev, process_madvise, pidfd_getfd, kcmp, open_by_handle_at and
 * name_to_handle_at, swapon/off, reboot, the clocks' setters, acct, quotactl, syslog, iopl and
 * ioperm, modify_ldt, fanotify, pivot_root, io_uring (a large attack surface nothing in a domain
 * needs: libaio does the back-ends' I/O), and any call newer than this list.
 */
/* clang-format off */
static const char *const sandbox_allowed[] = {
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
	"stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "lseek",
	"access", "faccessat", "faccessat2", "dup", "dup2", "dup3", "fcntl", "flock",
	"fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate", "ftruncate",
	"fallocate", "fadvise64", "readahead", "getdents", "getdents64", "getcwd", "chdir",
	"fchdir", "chroot", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
	"link", "linkat", "unlink", "unlinkat", "symlink", "symlinkat", "readlink",
	"readlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
	"fchownat", "umask", "utime", "utimes", "utimensat", "futimesat", "mknod", "mknodat",
	"pipe", "pipe2", "sendfile", "copy_file_range", "splice", "tee", "vmsplice",
	"setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	"fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "memfd_create", "umount2",
	/* but TIOCSTI and TIOCLINUX (sandbox_ioctls); TUNSETIFF and the interface requests of
	 * a TAP act on the domain's own network namespace */
	"ioctl",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "msync", "mincore", "madvise",
	"mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack", "mseal",
	/* processes and threads (clone and unshare: sandbox_rules) */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "getpid", "getppid",
	"gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setgroups", "setfsuid", "setfsgid", "capget", "capset", "setpgid", "getpgid",
	"getpgrp", "setsid", "getsid", "getpriority", "setpriority", "ioprio_get",
	"ioprio_set", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	"sched_getattr", "sched_setattr", "prctl", "arch_prctl", "getrlimit", "setrlimit",
	"prlimit64", "getrusage", "times", "uname", "sysinfo", "getcpu", "setns",
	"set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_waitv",
	"futex_wake", "futex_wait", "futex_requeue", "rseq", "restart_syscall", "seccomp",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend",
	"sigaltstack", "pause", "alarm", "getitimer", "setitimer", "signalfd", "signalfd4",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time", "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun",
	"timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* waiting */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* sockets (socket and socketpair: sandbox_rules) */
	"bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	"setsockopt", "getsockopt",
	/* IPC, in the domain's own ipc namespace */
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
	/* libaio: back-ends in a domain */
	"io_setup", "io_destroy", "io_submit", "io_getevents", "io_pgetevents", "io_cancel",
	/* the rest */
	"getrandom",
#ifdef SANDBOX_SANITIZER
	/* LeakSanitizer stops the process at exit from a tracer it clones. */
	"ptrace",
#endif
};
/* clang-format on */

/*
 * The socket families a domain may open.  AF_NETLINK only as NETLINK_ROUTE (sandbox_rules), what
 * ip(8) needs for the domain's own interfaces: not nf_tables, audit, generic netlink and the
 * rest of the kernel's netlink protocols.  No AF_PACKET: nothing in a domain reads raw frames.
 */
static const int sandbox_families[] = { AF_UNIX, AF_INET, AF_INET6 };

/*
 * The capabilities a domain keeps, over its own namespaces only, when it may make TAPs (a
 * /dev/net/tun of its own) or mount FUSE (--fuse): what pvio-netfront and pvio-netback need for
 * their TAP and interfaces (NET_ADMIN; NET_RAW for ping), pvio-netfront's network namespace and
 * pvio-blkfront's mount (SYS_ADMIN), a daemon's own privilege drop (SETPCAP, SETUID, SETGID) and
 * root's usual file rights over the domain's own files.  Any other domain keeps none at all.
 */
#define SANDBOX_CAP(c) (1ull << (c))
#define SANDBOX_CAPS_DEVICES                                                                       \
	(SANDBOX_CAP(CAP_NET_ADMIN) | SANDBOX_CAP(CAP_NET_RAW) | SANDBOX_CAP(CAP_SYS_ADMIN) |      \
	 SANDBOX_CAP(CAP_SETPCAP) | SANDBOX_CAP(CAP_SETUID) | SANDBOX_CAP(CAP_SETGID) |            \
	 SANDBOX_CAP(CAP_CHOWN) | SANDBOX_CAP(CAP_DAC_OVERRIDE) | SANDBOX_CAP(CAP_FOWNER) |        \
	 SANDBOX_CAP(CAP_KILL) | SANDBOX_CAP(CAP_NET_BIND_SERVICE))

/*
 * clone's and unshare's flags a domain may not use: a nested user namespace would give its
 * processes a fresh set of capabilities to probe the kernel with, and nothing needs one (the
 * other namespaces are the domain's own to make: pvio-netfront makes a network namespace).
 */
#define SANDBOX_NO_CLONE ((scmp_datum_t)CLONE_NEWUSER)

/*
 * mount only for new mounts (pvio-blkfront's FUSE mount, a tmpfs): a bind, move, remount or
 * propagation change could only rework the view the domain was given.  The type is a pointer,
 * which seccomp cannot read; the kernel allows a user namespace only the types marked for it.
 */
#define SANDBOX_NO_MOUNT                                                                           \
	((scmp_datum_t)(MS_BIND | MS_MOVE | MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE |       \
			MS_UNBINDABLE))

/*
 * Refused with ENOSYS rather than EPERM, so that the C library and mount(8) fall back to the
 * calls above: clone3 (its flags are in memory, out of seccomp's reach; glibc then uses clone)
 * and the new mount API.
 */
static const char *const sandbox_enosys[] = {
	"clone3", "fsopen",	"fsconfig",  "fsmount",
	"fspick", "move_mount", "open_tree", "mount_setattr"
};

uid_t sandbox_uid(domid_t domid, uid_t base)
{
	const char *env = getenv(SANDBOX_UID_BASE_ENV);
	char why[160];
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return subid_ids(domid, &uid, &gid, why, sizeof(why)) == 0 ? uid : geteuid();
	if (!base && env && *env)
		base = (uid_t)strtoul(env, NULL, 10);
	if (!base)
		base = SANDBOX_UID_BASE;
	return base + domid;
}

/* The host gid of domain domid's processes: its uid as root, its subordinate gid, or ours. */
static gid_t sandbox_gid(domid_t domid, uid_t base)
{
	char why[160];
	uid_t uid;
	gid_t gid;

	if (geteuid() == 0)
		return (gid_t)sandbox_uid(domid, base);
	return subid_ids(domid, &uid, &gid, why, sizeof(why)) == 0 ? gid : getegid();
}

int sandbox_ids_check(domid_t domid, bool same_uid, char *why, size_t len)
{
	uid_t uid;
	gid_t gid;
	int ret;

	if (geteuid() == 0)
		return 0;
	ret = subid_ids(domid, &uid, &gid, why, len);
	return ret < 0 && !same_uid ? ret : 0;
}

int sandbox_give(const char *const *paths, size_t n, domid_t domid, uid_t base)
{
	uid_t uid = sandbox_uid(domid, base);

	if (geteuid() == 0) {
		for (size_t i = 0; i < n; i++) {
			int ret = subid_chown_path(paths[i], uid, (gid_t)uid);

			if (ret < 0)
				return ret;
		}
		return 0;
	}
	/* Under our own uid (same_uid) the domain has them already. */
	if (uid == geteuid() || !n)
		return 0;
	return subid_chown(paths, n, uid, sandbox_gid(domid, base));
}

int sandbox_give_xs(const char *sock, domid_t domid, uid_t base)
{
	char dir[PATH_MAX];
	const char *paths[2] = { sock, dir };

	if ((size_t)snprintf(dir, sizeof(dir), "%s", sock) >= sizeof(dir) || !strrchr(dir, '/'))
		return -EINVAL;
	*strrchr(dir, '/') = '\0';
	if (geteuid() == 0 || sandbox_uid(domid, base) == geteuid())
		return sandbox_give(paths, 2, domid, base);
	/*
	 * A normal user's xenstored must still remove the socket from its directory: the
	 * directory stays ours, searchable by the domain's uid (the runtime directory above it is
	 * ours alone, 0700), and only the socket becomes the domain's.
	 */
	if (chmod(dir, 0711) < 0)
		return -errno;
	return sandbox_give(paths, 1, domid, base);
}

/* The calls allowed with arguments checked, and those refused with ENOSYS. */
static int sandbox_rules(scmp_filter_ctx ctx)
{
	int ret = 0;
	size_t i;

	for (i = 0; ret == 0 && i < sizeof(sandbox_families) / sizeof(sandbox_families[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sandbox_families[i]));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)AF_NETLINK),
				       SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)NETLINK_ROUTE));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)AF_UNIX));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, SANDBOX_NO_CLONE, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, SANDBOX_NO_CLONE, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1,
				       SCMP_A3(SCMP_CMP_MASKED_EQ, SANDBOX_NO_MOUNT, 0));
	for (i = 0; ret == 0 && i < sizeof(sandbox_enosys) / sizeof(sandbox_enosys[0]); i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_enosys[i]);

		if (nr != __NR_SCMP_ERROR)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
	return ret;
}

/* Load the filter ctx if ret is 0 (the set-up went well), and release it: 0 or -errno. */
static int sandbox_filter_load(scmp_filter_ctx ctx, int ret)
{
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (ret == 0)
		ret = seccomp_load(ctx);
	if (ctx)
		seccomp_release(ctx);
	return ret > 0 ? -ret : ret;
}

/*
 * The allowlist.  Anything else is EPERM rather than a kill: a domain runs arbitrary programs
 * (shells, glibc, mount(8)), which probe for calls and carry on without them, and a test must
 * see the refusal.  Another ABI (i386's int 0x80, x32) kills the process: a 32-bit program
 * refused even exit would spin.
 */
static int sandbox_allowlist(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int ret = ctx ? 0 : -ENOMEM;
	size_t i;

	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; ret == 0 && i < sizeof(sandbox_allowed) / sizeof(sandbox_allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_allowed[i]);

		if (nr != __NR_SCMP_ERROR) /* not on this architecture */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (ret == 0)
		ret = sandbox_rules(ctx);
	return sandbox_filter_load(ctx, ret);
}

/*
 * ioctl is allowed but for pushing a character into a terminal's input (TIOCSTI) or the
 * console's (TIOCLINUX), which would act as whoever reads it.  A filter of its own: libseccomp
 * cannot refuse a value of a call the allowlist allows, and the kernel applies both.  The
 * request is an unsigned int to the kernel: only its low 32 bits are compared.
 */
static int sandbox_ioctls(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ret = ctx ? 0 : -ENOMEM;

	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	return sandbox_filter_load(ctx, ret);
}

int sandbox_seccomp(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
	/* Valgrind does not know seccomp(2): a run under it goes without the filter. */
	if (RUNNING_ON_VALGRIND)
		return 0;
#endif
	/* The ioctl filter first: once the allowlist is in, seccomp(2) must stay allowed. */
	int ret = sandbox_ioctls();

	return ret < 0 ? ret : sandbox_allowlist();
}

/* After the namespaces: uid and gid 0 inside (the domain's uid outside), no other groups. */
static int sandbox_ids(void)
{
	/* Refused where setgroups is denied (a normal user's map): there are none to drop. */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return -errno;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Keep only the capabilities in keep (SANDBOX_CAP bits): the bounding set first, so that no
 * execve gives back more; with none kept, root's exec gives none either (SECBIT_NOROOT).
 */
static int sandbox_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	for (unsigned long cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's last capability */
		if (!(keep & SANDBOX_CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	if (!keep && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].effective = (uint32_t)(keep >> (32 * i));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* The capabilities the domain whose init's /proc directory nsdir is keeps (its CapBnd). */
static int sandbox_caps_of(int nsdir, uint64_t *keep)
{
	char line[128];
	int fd = openat(nsdir, "status", O_RDONLY | O_CLOEXEC), ret = -ENOENT;
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? -ESRCH : -errno;
	}
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapBnd: %" SCNx64, keep) == 1)
			ret = 0;
	}
	fclose(f);
	return ret;
}

/* The capabilities kept, no new privileges (no set-uid program gives any), and the filter. */
static int sandbox_lock(uint64_t keep)
{
	int ret = sandbox_caps(keep);

	if (ret < 0)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return sandbox_seccomp();
}

/* Whether the caller of sandbox_start is root: the init's own ids no longer tell. */
static bool sandbox_by_root;

/* The init's namespaces, by name and type, the user namespace first: it gives the rights. */
static const struct {
	const char *name;
	int type;
} sandbox_ns[] = { { "ns/user", CLONE_NEWUSER },
		   { "ns/pid", CLONE_NEWPID },
		   { "ns/mnt", CLONE_NEWNS },
		   { "ns/ipc", CLONE_NEWIPC },
		   { "ns/net", CLONE_NEWNET } };

#define SANDBOX_NS_N (sizeof(sandbox_ns) / sizeof(sandbox_ns[0]))

/*
 * setns into each of the init's namespaces in types (nsdir: its /proc directory).  All are
 * opened first: once in the domain's user namespace, the init's /proc is closed to the caller.
 */
static int sandbox_setns(int nsdir, int types)
{
	int fds[SANDBOX_NS_N], ret = 0;
	size_t i;

	for (i = 0; i < SANDBOX_NS_N; i++) {
		fds[i] = -1;
		if (ret == 0 && (sandbox_ns[i].type & types)) {
			fds[i] = openat(nsdir, sandbox_ns[i].name, O_RDONLY | O_CLOEXEC);
			if (fds[i] < 0)
				ret = errno == ENOENT ? -ESRCH : -errno;
		}
	}
	/*
	 * Not dumpable until execve: once in the domain's namespaces, a process of the domain (root
	 * there, CAP_SYS_PTRACE over them) must not ptrace or write the memory of one that is still
	 * host root.  execve makes the program dumpable again, as the domain's first process is.
	 */
	if (ret == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		ret = -errno;
	for (i = 0; i < SANDBOX_NS_N; i++) {
		if (ret == 0 && fds[i] >= 0 && setns(fds[i], sandbox_ns[i].type) < 0)
			ret = -errno;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return ret;
}

int sandbox_join_pid(int nsdir, bool with_user)
{
	return sandbox_setns(nsdir, CLONE_NEWPID | (with_user ? CLONE_NEWUSER : 0));
}

int sandbox_join(int nsdir, int parent_dir, bool in_user)
{
	uint64_t keep = 0;
	/* The init's capabilities, before its /proc closes to us: exactly what its process has. */
	int ret = sandbox_caps_of(nsdir, &keep);

	if (ret == 0)
		ret = sandbox_setns(nsdir, (in_user ? 0 : CLONE_NEWUSER) | CLONE_NEWNS |
					       CLONE_NEWIPC | CLONE_NEWNET);

	if (ret == 0 && chdir("/") < 0)
		ret = -errno;
	if (ret == 0)
		ret = sandbox_ids();
	/* After the ids: changing them clears the parent-death signal. */
	if (ret == 0 && parent_dir != SANDBOX_NO_PARENT)
		ret = sandbox_die_with(parent_dir);
	return ret < 0 ? ret : sandbox_lock(keep);
}

/* /proc/PID/<what> = "0 ID 1", the one id the domain has. */
static int sandbox_map_write(pid_t pid, const char *what, const char *text)
{
	char path[64];
	int fd, ret = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text))
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

static int sandbox_maps(pid_t pid, const struct sandbox_opts *o)
{
	uid_t uid = sandbox_uid(o->domid, o->uid_base);
	gid_t gid = sandbox_gid(o->domid, o->uid_base);
	char map[64];
	int ret;

	/* A normal user's domain under a subordinate uid: newuidmap's set-uid help. */
	if (geteuid() != 0 && uid != geteuid())
		return subid_map(pid, uid, gid, false);
	/* Only root may keep setgroups; a normal user's map of its own ids requires it denied. */
	if (geteuid() != 0) {
		ret = sandbox_map_write(pid, "setgroups", "deny");
		if (ret < 0)
			return ret;
	}
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)uid);
	ret = sandbox_map_write(pid, "uid_map", map);
	if (ret < 0)
		return ret;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)gid);
	return sandbox_map_write(pid, "gid_map", map);
}

/* mkdir -p path (mode 0755). */
static int sandbox_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

/* A bind source opened before the tmpfs hides /tmp. */
struct sandbox_bind {
	char target[PATH_MAX]; /* its path inside the view */
	int fd;		       /* O_PATH on the source, or -1 (a symlink: link holds it) */
	char link[PATH_MAX];   /* a symlink's text */
	bool ro;	       /* read-only */
};

static int sandbox_bind_open(struct sandbox_bind *b, const char *src, const char *target, bool ro,
			     bool optional)
{
	struct stat st;
	ssize_t n;

	if (snprintf(b->target, sizeof(b->target), STAGE "%s", target) >= (int)sizeof(b->target))
		return -ENAMETOOLONG;
	b->ro = ro;
	b->fd = -1;
	b->link[0] = '\0';
	/* No symlink of a domain's on the way (subid_open_trusted); one at src is kept as one. */
	b->fd = subid_open_trusted(src, true);
	if (b->fd < 0)
		return optional && (b->fd == -ENOENT || b->fd == -ENOTDIR) ? 1 : b->fd;
	if (fstat(b->fd, &st) < 0 || !S_ISLNK(st.st_mode))
		return 0;
	n = readlinkat(b->fd, "", b->link, sizeof(b->link) - 1);
	close(b->fd);
	b->fd = -1;
	if (n < 0)
		return -errno;
	b->link[n] = '\0';
	return 0;
}

/*
 * Make the bind mount at target read-only.  A remount, not mount_setattr (which valgrind does not
 * know): it must repeat the flags the host locked on the mount (nosuid, nodev, noexec, atime),
 * or a user namespace is refused it.  Mounts under target stay as they are.
 */
static int sandbox_readonly(const char *target)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = { { ST_NOSUID, MS_NOSUID },	       { ST_NODEV, MS_NODEV },
		     { ST_NOEXEC, MS_NOEXEC },	       { ST_NOATIME, MS_NOATIME },
		     { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME } };
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	struct statvfs sv;
	size_t i;

	if (statvfs(target, &sv) < 0)
		return -errno;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	}
	return mount("none", target, "none", flags, NULL) < 0 ? -errno : 0;
}

/* Mount one bind (or make its symlink) in the stage. */
static int sandbox_bind_mount(struct sandbox_bind *b)
{
	char src[64], parent[PATH_MAX];
	struct stat st;
	int ret, fd;

	if (strlen(b->target) >= sizeof(parent))
		return -ENAMETOOLONG;
	memcpy(parent, b->target, strlen(b->target) + 1);
	*strrchr(parent, '/') = '\0';
	ret = sandbox_mkdirs(parent);
	if (ret < 0)
		return ret;
	if (b->link[0])
		return symlink(b->link, b->target) < 0 && errno != EEXIST ? -errno : 0;
	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(b->target, 0755) < 0 && errno != EEXIST)
			return -errno;
	} else {
		fd = open(b->target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EISDIR && errno != EROFS)
			return -errno;
		if (fd >= 0)
			close(fd);
	}
	snprintf(src, sizeof(src), "/proc/self/fd/%d", b->fd);
	/* "none", not NULL, for the ignored type: valgrind checks it as a string. */
	if (mount(src, b->target, "none", MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return b->ro ? sandbox_readonly(b->target) : 0;
}

/* The path of a bind entry, after its "ro:" or "own:". */
static const char *sandbox_bind_path(const char *bind)
{
	if (!strncmp(bind, "ro:", 3))
		return bind + 3;
	if (!strncmp(bind, "own:", 4))
		return bind + 4;
	return bind;
}

/* Give the domain's uid the "own:" binds. */
static int sandbox_binds_own(const struct sandbox_opts *o)
{
	const char *own[MAX_BINDS];
	size_t i, n = 0;

	for (i = 0; o->binds && o->binds[i] && n < MAX_BINDS; i++) {
		if (!strncmp(o->binds[i], "own:", 4))
			own[n++] = o->binds[i] + 4;
	}
	return sandbox_give(own, n, o->domid, o->uid_base);
}

/*
 * Everything the view binds, opened now: the stage's tmpfs is about to hide /tmp.  tun: the
 * domain's own TAP node (sandbox_tun_make) bound at /dev/net/tun, or "" for the host's.
 */
static int sandbox_binds_open(const struct sandbox_opts *o, const char *tun, struct sandbox_bind *b,
			      size_t *n)
{
	char dev[64];
	size_t i;
	int ret;

	*n = 0;
	for (i = 0; i < sizeof(sandbox_system) / sizeof(sandbox_system[0]); i++) {
		ret = sandbox_bind_open(&b[*n], sandbox_system[i], sandbox_system[i], true, true);
		if (ret < 0)
			return ret;
		*n += ret == 0;
	}
	for (i = 0; i < sizeof(sandbox_devices) / sizeof(sandbox_devices[0]); i++) {
		snprintf(dev, sizeof(dev), "/dev/%s", sandbox_devices[i]);
		if (tun[0] && !strcmp(sandbox_devices[i], "net/tun"))
			ret = sandbox_bind_open(&b[*n], tun, dev, false, false);
		else
			ret = sandbox_bind_open(&b[*n], dev, dev, false, true);
		if (ret < 0)
			return ret;
		*n += ret == 0;
	}
	if (o->bindir) {
		ret = sandbox_bind_open(&b[*n], o->bindir, o->bindir, true, false);
		if (ret < 0)
			return ret;
		(*n)++;
	}
	if (o->xs_dir) {
		ret = sandbox_bind_open(&b[*n], o->xs_dir, SANDBOX_XS_DIR, false, false);
		if (ret < 0)
			return ret;
		(*n)++;
	}
	for (i = 0; o->binds && o->binds[i]; i++) {
		const char *path = sandbox_bind_path(o->binds[i]);
		bool ro = strncmp(o->binds[i], "ro:", 3) == 0;

		if (*n == MAX_BINDS || path[0] != '/')
			return -EINVAL;
		ret = sandbox_bind_open(&b[*n], path, path, ro, false);
		if (ret < 0)
			return ret;
		(*n)++;
	}
	return 0;
}

static int sandbox_tmpfs(const char *path, const char *opts)
{
	int ret = sandbox_mkdirs(path);

	if (ret < 0)
		return ret;
	return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0 ? -errno : 0;
}

/*
 * The view, then pivot_root into it.  In the init, uid 0 of its own namespaces; binds[0..n) were
 * opened before, with the caller's uid (the runtime directory is the caller's only).
 */
static int sandbox_view(struct sandbox_bind *binds, size_t n)
{
	size_t i;
	int ret = 0;

	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID, "mode=0755") < 0)
		ret = -errno;
	if (ret == 0)
		ret = sandbox_tmpfs(STAGE "/dev", "mode=0755");
	/* Before the binds: a bound path under /tmp or /dev/shm must stay visible. */
	if (ret == 0)
		ret = sandbox_tmpfs(STAGE "/dev/shm", "mode=1777");
	if (ret == 0)
		ret = sandbox_tmpfs(STAGE "/tmp", "mode=1777");
	for (i = 0; ret == 0 && i < n; i++)
		ret = sandbox_bind_mount(&binds[i]);
	for (i = 0; i < n; i++) {
		if (binds[i].fd >= 0)
			close(binds[i].fd);
	}
	if (ret == 0)
		ret = symlink("/proc/self/fd", STAGE "/dev/fd") < 0 ? -errno : 0;
	if (ret == 0)
		ret = sandbox_mkdirs(STAGE "/proc");
	/* While the host's /proc is still visible: the kernel refuses a new one otherwise. */
	if (ret == 0 &&
	    mount("proc", STAGE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		ret = -errno;
	if (ret == 0 && chdir(STAGE) < 0)
		ret = -errno;
	if (ret == 0 && syscall(SYS_pivot_root, ".", ".") < 0)
		ret = -errno;
	if (ret == 0 && umount2(".", MNT_DETACH) < 0)
		ret = -errno;
	if (ret == 0 && chdir("/") < 0)
		ret = -errno;
	return ret;
}

/* Close every fd from 3 up but those in keep[0..3) (-1: none). */
static void sandbox_close_except(int keep[3])
{
	unsigned int from = 3;
	int i, j, t;

	for (i = 0; i < 3; i++) {
		for (j = i + 1; j < 3; j++) {
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
		}
	}
	for (i = 0; i < 3; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

int sandbox_self_dir(void)
{
	char path[32];
	int fd;

	/* /proc/<pid>, not /proc/self: the link would follow whoever opens it later. */
	snprintf(path, sizeof(path), "/proc/%d", (int)getpid());
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sandbox_die_with(int parent_dir)
{
	char buf[256], *p;
	ssize_t n;
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	/* The parent may have died before the prctl: gone, or a zombie. */
	fd = openat(parent_dir, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X' ? 0 : -ESRCH;
}

/* stdin from /dev/null, stdout and stderr to fd (the domain's log). */
static void sandbox_stdio(int fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
}

/* The first process: the token kept, the caller's set-up, exec; errors to report. */
static __attribute__((noreturn)) void sandbox_first(const struct sandbox_opts *o, int report)
{
	int err = 0;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	if (o->setup)
		err = -o->setup(o->setup_arg);
	if (err == 0) {
		execvp(o->argv[0], o->argv);
		err = errno;
	}
	if (write(report, &err, sizeof(err)) < 0) {
		/* The init then sees EOF, and the process exit 127. */
	}
	_exit(127);
}

static void sandbox_nop(int sig)
{
	(void)sig;
}

/*
 * Reap until the first process (if any) exits, then exit with its status: the kernel then kills
 * whatever else runs in the domain.  Without one, reap forever.
 */
static __attribute__((noreturn)) void sandbox_reap(pid_t first)
{
	sigset_t block, old;
	int status;
	pid_t got;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, SIGCHLD);
	for (;;) {
		while ((got = waitpid(-1, &status, WNOHANG)) > 0) {
			if (got != first)
				continue;
			if (WIFEXITED(status))
				_exit(WEXITSTATUS(status));
			_exit(128 + WTERMSIG(status));
		}
		sigsuspend(&old);
	}
}

/*
 * exec prog FIRST REPORT (sandbox_init_main), keeping report and the token (keep, or -1) for
 * processes that join later; returns only if the exec failed.
 */
static void sandbox_init_exec(const char *prog, pid_t first, int report, int keep)
{
	char a1[16], a2[16];
	char *argv[] = { INIT_NAME, a1, a2, NULL };

	snprintf(a1, sizeof(a1), "%d", (int)first);
	snprintf(a2, sizeof(a2), "%d", report);
	if (fcntl(report, F_SETFD, 0) < 0 || (keep >= 0 && fcntl(keep, F_SETFD, 0) < 0))
		return;
	/* Nothing of the caller's environment: the domain's uid may read this process's. */
	execve(prog, argv, (char *[]){ NULL });
	fcntl(report, F_SETFD, FD_CLOEXEC);
}

int sandbox_init_main(int argc, char **argv)
{
	int report, ok = 0;
	pid_t first;

	if (argc != 3)
		return 127;
	first = (pid_t)atoi(argv[1]);
	report = atoi(argv[2]);
	/* SIGCHLD is still blocked, as the init left it; a pending one waits for the reap. */
	signal(SIGCHLD, sandbox_nop);
	if (write(report, &ok, sizeof(ok)) != (ssize_t)sizeof(ok))
		return 127;
	close(report);
	sandbox_reap(first);
}

/* Start the first process and wait for its exec: 0 or a negative errno. */
static int sandbox_first_start(const struct sandbox_opts *o, pid_t *first)
{
	int report[2], err = 0;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	*first = fork();
	if (*first == 0) {
		close(report[0]);
		sandbox_first(o, report[1]);
	}
	close(report[1]);
	if (*first < 0) {
		close(report[0]);
		return -errno;
	}
	do {
		n = read(report[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(report[0]);
	return n == (ssize_t)sizeof(err) ? -err : 0;
}

/*
 * Open n descriptors of /dev/fuse (in the domain's user namespace: the kernel mounts only from
 * one opened there) and name them in $SANDBOX_FUSE_ENV for the first process.  They stay open in
 * the init for processes that join later.
 */
static int sandbox_fuse_open(unsigned int n)
{
	char env[SANDBOX_FUSE_MAX * 12] = "";
	size_t len = 0;
	unsigned int i;

	if (n > SANDBOX_FUSE_MAX)
		return -EINVAL;
	/* None: nothing of the caller's environment may name descriptors the domain lacks. */
	if (!n)
		return unsetenv(SANDBOX_FUSE_ENV) < 0 ? -errno : 0;
	for (i = 0; i < n; i++) {
		/* Not close-on-exec: the first process inherits them through its exec. */
		int fd = open("/dev/fuse", O_RDWR);

		if (fd < 0)
			return -errno;
		len += (size_t)snprintf(env + len, sizeof(env) - len, "%s%d", i ? " " : "", fd);
	}
	return setenv(SANDBOX_FUSE_ENV, env, 1) < 0 ? -errno : 0;
}

int sandbox_fuse_fds(pid_t pid, int *fds, unsigned int max)
{
	char dir[32], path[48 + NAME_MAX];
	unsigned int n = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* By device, not by name: the init's /dev is out of our sight. */
		if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == SANDBOX_FUSE_DEV)
			fds[n++] = atoi(de->d_name);
	}
	closedir(d);
	return (int)n;
}

/* In the init: its ids, its view, the lock (nothing when o->shared). */
static int sandbox_isolate(const struct sandbox_opts *o, const char *tun,
			   struct sandbox_bind *binds, size_t *n, int parent)
{
	int ret;

	if (o->shared)
		return o->die_with_parent ? sandbox_die_with(parent) : 0;
	ret = mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ? -errno : 0;
	if (ret == 0)
		ret = sandbox_binds_open(o, tun, binds, n);
	/* Before the ids: /dev/fuse is root's, and the init still has the caller's. */
	if (ret == 0)
		ret = sandbox_fuse_open(o->fuse_fds);
	if (ret == 0)
		ret = sandbox_ids();
	/* After the ids: changing them clears the parent-death signal. */
	if (ret == 0 && o->die_with_parent)
		ret = sandbox_die_with(parent);
	if (ret == 0)
		ret = sandbox_view(binds, *n);
	if (ret == 0)
		ret = sandbox_lock(tun[0] || o->fuse_fds ? SANDBOX_CAPS_DEVICES : 0);
	return ret;
}

/* The init, inside its namespaces: set up, report, then reap. */
static __attribute__((noreturn)) void sandbox_init(const struct sandbox_opts *o, const char *tun,
						   int sync, int report, int parent)
{
	int keep[3];
	static struct sandbox_bind binds[MAX_BINDS + 32];
	sigset_t block;
	pid_t first = 0;
	size_t n = 0;
	char go;
	int ret;

	prctl(PR_SET_NAME, INIT_NAME);
	/* EOF: the caller died or gave up before mapping our ids. */
	if (read(sync, &go, 1) != 1)
		_exit(127);
	close(sync);
	/* Its own session: pvio destroy kills the domain through this process group. */
	setsid();
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGCHLD, sandbox_nop);
	if (o->out_fd >= 0)
		sandbox_stdio(o->out_fd);
	keep[0] = report;
	keep[1] = o->keep_fd;
	keep[2] = parent;
	sandbox_close_except(keep);
	ret = sandbox_isolate(o, tun, binds, &n, parent);
	if (parent >= 0)
		close(parent);
	if (ret == 0 && o->argv)
		ret = sandbox_first_start(o, &first);
	/*
	 * Taking a subordinate uid made the init undumpable, and a normal user's dom0 (not
	 * privileged over the host) could no longer open its /proc/PID/ns nor take its token to
	 * join the domain.  An exec of SANDBOX_INIT_PROG gives it memory of its own, owned by the
	 * domain's user namespace (where dom0 may look), in place of a copy of the caller's; it
	 * reports for us.  Without that program the domain is refused (sandbox_start checks it
	 * first): made dumpable as it is, the init would let the domain read the copy of the
	 * caller's memory it holds.
	 */
	if (ret == 0 && !sandbox_by_root && !o->shared) {
		sandbox_init_exec(o->init_prog, first, report, o->keep_fd);
		ret = errno ? -errno : -ENOEXEC; /* it returns only if the exec failed */
	}
	/* The token stays open in the init too, for processes that join later (pvio exec). */
	if (write(report, &ret, sizeof(ret)) < 0 || ret < 0)
		_exit(127);
	close(report);
	sandbox_reap(first);
}

/*
 * The domain's own /dev/net/tun at path: a node of the TUN/TAP device that only its uid may open
 * (0600).  The caller makes it, as root: mknod needs CAP_MKNOD in the initial user namespace, and
 * a tmpfs the init mounts in the domain's is nodev.  A TAP it makes stays in the domain's network
 * namespace: the kernel gives a tun descriptor the namespace of the process that opens the node.
 */
static int sandbox_tun_make(const char *path, uid_t uid)
{
	char dir[PATH_MAX];
	struct statvfs sv;
	int ret;

	if (geteuid() != 0)
		return -EPERM;
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir) || !strrchr(dir, '/'))
		return -EINVAL;
	*strrchr(dir, '/') = '\0';
	if (statvfs(dir[0] ? dir : "/", &sv) < 0)
		return -errno;
	if (sv.f_flag & ST_NODEV)
		return -EOPNOTSUPP;
	/* A node left by an earlier domain of the same id: its uid is the same, its mode too. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (mknod(path, S_IFCHR | 0600, SANDBOX_TUN_DEV) < 0)
		return -errno;
	if (fchownat(AT_FDCWD, path, uid, uid, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		unlink(path);
		return ret;
	}
	return 0;
}

void sandbox_tun_path(const char *rundir, domid_t domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/domain-%u.tun", rundir, (unsigned int)domid);
}

int sandbox_start(const struct sandbox_opts *o, pid_t *init, int *nsdir)
{
	unsigned long flags = (o->shared ? 0 : NS_FLAGS) | SIGCHLD;
	char proc[32], tun[PATH_MAX] = "", why[160];
	int sync[2], report[2], err = 0, fd = -1, parent, ret;
	ssize_t n;
	pid_t pid;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(report, O_CLOEXEC) < 0) {
		err = -errno;
		close(sync[0]);
		close(sync[1]);
		return err;
	}
	/* Without a node of its own (not root, a nodev directory) the host's, root's alone. */
	if (!o->shared && o->tun_node &&
	    sandbox_tun_make(o->tun_node, sandbox_uid(o->domid, o->uid_base)) == 0)
		snprintf(tun, sizeof(tun), "%s", o->tun_node);
	ret = o->shared ? 0 : sandbox_ids_check(o->domid, o->same_uid, why, sizeof(why));
	if (ret == 0 && !o->shared)
		ret = sandbox_binds_own(o);
	/* A normal user's isolated domain needs its init program (sandbox_init, the exec). */
	if (ret == 0 && !o->shared && geteuid() != 0 && !o->init_prog)
		ret = -ENOEXEC;
	if (ret < 0) {
		close(sync[0]);
		close(sync[1]);
		close(report[0]);
		close(report[1]);
		return ret;
	}
	/* The init dies with the caller, whose /proc directory tells across namespaces. */
	parent = o->die_with_parent ? sandbox_self_dir() : -1;
	if (parent < -1) {
		close(sync[0]);
		close(sync[1]);
		close(report[0]);
		close(report[1]);
		return parent;
	}
	fflush(NULL);
	sandbox_by_root = geteuid() == 0;
	/* clone, not clone3: valgrind knows only clone; fork-like, no stack given. */
	pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(sync[1]);
		close(report[0]);
		sandbox_init(o, tun, sync[0], report[1], parent);
	}
	close(sync[0]);
	close(report[1]);
	if (parent >= 0)
		close(parent);
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	ret = o->shared ? 0 : sandbox_maps(pid, o);
	/* Still waiting on sync: every process of the domain will descend from it inside. */
	if (ret == 0 && o->cgroup)
		ret = cgroup_attach(o->cgroup, pid);
	if (ret == 0 && write(sync[1], "g", 1) != 1)
		ret = -errno;
	close(sync[1]);
	sync[1] = -1;
	if (ret == 0) {
		do {
			n = read(report[0], &err, sizeof(err));
		} while (n < 0 && errno == EINTR);
		ret = n != (ssize_t)sizeof(err) ? -ECHILD : err;
	}
	/* The init's /proc directory: its namespaces, and stale (ESRCH) once it is gone. */
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	if (ret == 0) {
		fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			ret = -errno;
	}
	if (ret < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (fd >= 0)
			close(fd);
		err = ret;
		goto out;
	}
	*init = pid;
	*nsdir = fd;
out:
	if (sync[1] >= 0)
		close(sync[1]);
	close(report[0]);
	return err;
}

/* The pid namespace of pid, as a device and inode, or false. */
static bool sandbox_pidns(const char *pid, struct stat *st)
{
	char path[NAME_MAX + 16];

	snprintf(path, sizeof(path), "/proc/%s/ns/pid", pid);
	return stat(path, st) == 0;
}

int sandbox_count(pid_t init)
{
	struct stat ns, st;
	struct dirent *de;
	char self[16];
	int count = 0;
	DIR *d;

	if (!sandbox_pidns("self", &st))
		return -errno;
	snprintf(self, sizeof(self), "%d", (int)init);
	if (!sandbox_pidns(self, &ns))
		return -errno;
	/* A shared domain's init is in ours: its processes are not told apart by namespace. */
	if (st.st_ino == ns.st_ino && st.st_dev == ns.st_dev)
		return -EINVAL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || !strcmp(de->d_name, self))
			continue;
		if (sandbox_pidns(de->d_name, &st) && st.st_ino == ns.st_ino &&
		    st.st_dev == ns.st_dev)
			count++;
	}
	closedir(d);
	return count;
}
