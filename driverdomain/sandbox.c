/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - a back-end daemon drops privilege (sandbox.h).
 *
 * Order matters.  Securebits first (NOROOT, NO_SETUID_FIXUP, both locked, KEEP_CAPS off): from
 * then on uid 0 is not a way back to capabilities, whether we stay uid 0 (inside a domain's user
 * namespace) or change uid.  Then the bounding set (needs CAP_SETPCAP, still held), the groups
 * and ids (need CAP_SETGID/CAP_SETUID), then the permitted, effective, inheritable and ambient
 * sets are emptied explicitly, since NO_SETUID_FIXUP keeps them across setresuid.  Last
 * PR_SET_NO_NEW_PRIVS and the seccomp filter, which cannot be removed.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "driverdomain/sandbox.h"

/* ---- user and group ---- */

/* A number, or a name looked up in the user (is_group: group) database: 0 or -1. */
static int lookup_id(const char *name, bool is_group, unsigned int *id, gid_t *primary)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && !*end && !errno && v < (unsigned int)-1) {
		*id = (unsigned int)v;
		if (!is_group) {
			struct passwd *pw = getpwuid((uid_t)v);

			*primary = pw ? pw->pw_gid : (gid_t)v;
		}
		return 0;
	}
	if (is_group) {
		struct group *gr = getgrnam(name);

		if (!gr)
			return -1;
		*id = gr->gr_gid;
		return 0;
	}
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return -1;
	*id = pw->pw_uid;
	*primary = pw->pw_gid;
	return 0;
}

int dd_sandbox_resolve(struct dd_sandbox *s)
{
	char buf[256], *group;
	unsigned int uid, gid;
	gid_t primary = 0;

	s->uid = getuid();
	s->gid = getgid();
	if (!s->user)
		return 0;
	if (strlen(s->user) >= sizeof(buf) || !s->user[0]) {
		fprintf(stderr, "%s: bad --user: %s\n", s->prog, s->user);
		return -1;
	}
	strcpy(buf, s->user);
	group = strchr(buf, ':');
	if (group)
		*group++ = '\0';
	if (lookup_id(buf, false, &uid, &primary)) {
		fprintf(stderr, "%s: --user: no such user: %s\n", s->prog, buf);
		return -1;
	}
	gid = primary;
	if (group && lookup_id(group, true, &gid, &primary)) {
		fprintf(stderr, "%s: --user: no such group: %s\n", s->prog, group);
		return -1;
	}
	s->uid = uid;
	s->gid = gid;
	return 0;
}

/* ---- capabilities ---- */

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

/* Whether we hold any permitted capability (a normal user holds none: nothing to drop). */
static bool caps_any(void)
{
	struct __user_cap_data_struct data[2] = { 0 };

	return caps_get(data) != 0 || data[0].permitted || data[1].permitted;
}

/* Permitted and effective become keep (1 << CAP_*), inheritable and ambient empty. */
static int caps_clear(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].effective = (uint32_t)(keep >> (32 * i));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	return 0;
}

/*
 * Drop every capability but keep's from the bounding set; the kernel's last one answers EINVAL
 * after it.
 */
static int bounding_clear(uint64_t keep)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's CAP_LAST_CAP */
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	return 0;
}

static int securebits_lock(void)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;

	return prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) ? -errno : 0;
}

static int ids_set(const struct dd_sandbox *s)
{
	if (setgroups(1, &s->gid))
		return -errno;
	if (setresgid(s->gid, s->gid, s->gid))
		return -errno;
	if (setresuid(s->uid, s->uid, s->uid))
		return -errno;
	return 0;
}

/*
 * Securebits, bounding set, ids, then every capability set (but s->keep_caps, kept across the
 * change of uid by NO_SETUID_FIXUP): 0 or -1 with the step printed.
 */
static int privilege_drop(const struct dd_sandbox *s)
{
	bool privileged = caps_any();
	const char *step = NULL;
	int ret = 0;

	if (privileged && (ret = securebits_lock()))
		step = "securebits";
	if (!ret && privileged && (ret = bounding_clear(s->keep_caps)))
		step = "capability bounding set";
	if (!ret && s->user && (ret = ids_set(s)))
		step = "--user";
	if (!ret && (ret = caps_clear(privileged ? s->keep_caps : 0)))
		step = "capabilities";
	if (!ret)
		return 0;
	fprintf(stderr, "%s: dropping privilege: %s: %s\n", s->prog, step, strerror(-ret));
	return -1;
}

/* ---- seccomp ---- */

#if defined(__SANITIZE_ADDRESS__)
#define PVIO_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PVIO_SANITIZER 1
#endif
#endif

/*
 * Every system call a back-end daemon makes once serving, from `strace -f -c` over the blk and
 * net tests: glibc's allocator, stdio and signal handling; epoll, poll, signalfd, timerfd and
 * eventfd; the xenstore and pvio-hv sockets (and on Xen the /dev/xen ioctls, below); grant
 * mappings; the statistics files (open, write, rename, unlink); a thread per queue, and
 * libxenstore's reader thread and pipe (clone3, futex, rseq); abort's signal calls.  One group
 * of related calls a line.
 */
/* clang-format off */
static const char *const common_calls[] = {
	"read", "write", "readv", "writev", "close", "fstat", "newfstatat", "statx", "lseek",
	"openat", "fcntl", "dup", "dup3",
	"rename", "renameat", "renameat2", "unlink", "unlinkat",
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6", "pipe2",
	"eventfd2", "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"sendmsg", "recvmsg", "sendto", "recvfrom", "shutdown", "getsockopt",
	"futex", "set_robust_list", "get_robust_list", "rseq", /* clone: seccomp_install */
	"set_tid_address", "sched_yield", "sched_getaffinity", "membarrier",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
	"tgkill", "tkill", "exit", "exit_group",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	"getrandom", "prlimit64", "getrlimit", "uname", "sysinfo",
};

/*
 * What disks add: libaio; positioned and vectored I/O, sync and fallocate; openat2 beneath a
 * storage directory; sysfs reads (getdents, readlink); accepting a hand-over.
 */
static const char *const blk_calls[] = {
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"openat2", "fsync", "fdatasync", "fallocate", "getdents64", "readlink", "readlinkat",
	"io_setup", "io_destroy", "io_submit", "io_getevents", "io_pgetevents", "io_cancel",
	"accept4", /* a successor's connection to the hand-over socket (handover.h) */
};

#ifdef PVIO_SANITIZER
/*
 * LeakSanitizer stops the process at exit from a tracer it clones: ptrace, wait4, and the legacy
 * open and getdents on /proc/self/task (found with SCMP_ACT_LOG in the kernel log).  Added to
 * every filter.
 */
static const char *const sanitizer_calls[] = {
	"ptrace", "wait4", "waitid", "prctl", "open", "getdents",
	"sigaltstack", /* ASan's at exit, outside the common list (the TAP helper) */
};
#endif
/* clang-format on */

/*
 * ioctl only of these types (the request's second byte): Xen's gntdev and gntalloc ('G'),
 * evtchn ('E') and privcmd ('P'); the disks add BLK* (0x12), LOOP_GET_STATUS64 (to serve a loop
 * device's file: read-only, and no other loop request) and exactly stdio's isatty (TCGETS: not
 * the terminal's whole type, whose TIOCSTI would let a subverted daemon type into the terminal
 * it was started from), a network back end exact requests of its own.
 */
static const unsigned char common_ioctl_types[] = { 'G', 'E', 'P' };
static const unsigned char blk_ioctl_types[] = { 0x12 };
static const unsigned int blk_ioctls[] = { TCGETS, LOOP_GET_STATUS64 };

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct dd_sandbox_filter dd_sandbox_common = {
	.calls = common_calls,
	.nr_calls = N(common_calls),
	.ioctl_types = common_ioctl_types,
	.nr_ioctl_types = N(common_ioctl_types),
};

#ifdef PVIO_SANITIZER
static const struct dd_sandbox_filter sanitizer_filter = {
	.calls = sanitizer_calls,
	.nr_calls = N(sanitizer_calls),
};
#endif

static const struct dd_sandbox_filter blk_filter = {
	.calls = blk_calls,
	.nr_calls = N(blk_calls),
	.ioctl_types = blk_ioctl_types,
	.nr_ioctl_types = N(blk_ioctl_types),
	.ioctls = blk_ioctls,
	.nr_ioctls = N(blk_ioctls),
};

/* What a thread's clone may not ask for: new namespaces (more kernel to reach). */
#define DD_NO_CLONE                                                                                \
	((scmp_datum_t)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | \
			CLONE_NEWUTS | CLONE_NEWCGROUP))

/*
 * clone for threads, with no namespace flag; clone3 refused with ENOSYS (its flags are in
 * memory, out of seccomp's reach), so that glibc falls back to clone.
 */
static int seccomp_clone(scmp_filter_ctx ctx)
{
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				   SCMP_A0(SCMP_CMP_MASKED_EQ, DD_NO_CLONE, 0));
	int nr = seccomp_syscall_resolve_name("clone3");

	if (!ret && nr != __NR_SCMP_ERROR)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	return ret;
}

/* Allow ioctl when its request masked with mask is val; a rule already there is fine. */
static int seccomp_ioctl(scmp_filter_ctx ctx, scmp_datum_t mask, scmp_datum_t val)
{
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_MASKED_EQ, mask, val));

	return ret == -EEXIST ? 0 : ret;
}

/*
 * Allow f's calls and ioctl types in ctx.  A call named twice (by two lists) is allowed once:
 * libseccomp refuses a second identical rule with -EEXIST.
 */
static int seccomp_add(scmp_filter_ctx ctx, const struct dd_sandbox_filter *f)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < f->nr_calls; i++) {
		int nr = seccomp_syscall_resolve_name(f->calls[i]);

		if (nr != __NR_SCMP_ERROR) /* not on this architecture */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret == -EEXIST)
			ret = 0;
	}
	for (size_t i = 0; !ret && i < f->nr_ioctl_types; i++)
		ret = seccomp_ioctl(ctx, 0xff00, (scmp_datum_t)f->ioctl_types[i] << 8);
	/* The kernel reads the request as 32 bits: compare those. */
	for (size_t i = 0; !ret && i < f->nr_ioctls; i++)
		ret = seccomp_ioctl(ctx, 0xffffffffu, f->ioctls[i]);
	return ret;
}

static int seccomp_install(const struct dd_sandbox *s)
{
	scmp_filter_ctx ctx;
	int ret;

#ifdef HAVE_VALGRIND_VALGRIND_H
	/* Valgrind does not know seccomp(2): a run under it goes without the filter. */
	if (RUNNING_ON_VALGRIND)
		return 0;
#endif
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	ret = ctx ? 0 : -ENOMEM;

	if (!ret)
		ret = seccomp_clone(ctx);
	if (!ret)
		ret = seccomp_add(ctx, s->filter ? s->filter : &dd_sandbox_common);
	if (!ret && !s->filter) /* the block back end's, as it always was */
		ret = seccomp_add(ctx, &blk_filter);
	if (!ret && s->extra)
		ret = seccomp_add(ctx, s->extra);
#ifdef PVIO_SANITIZER
	if (!ret)
		ret = seccomp_add(ctx, &sanitizer_filter);
#endif
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret)
		fprintf(stderr, "%s: seccomp filter: %s\n", s->prog, strerror(-ret));
	return ret ? -1 : 0;
}

/* On Xen, uid 0 is the host's root: refused unless --allow-root.  0, or -1 said why. */
static int sandbox_allowed(const struct dd_sandbox *s, bool on_xen)
{
	if (!s->off && on_xen && s->uid == 0 && !s->allow_root) {
		fprintf(stderr,
			"%s: refusing to serve as root on Xen: give --user (or --allow-root)\n",
			s->prog);
		return -1;
	}
	return 0;
}

int dd_sandbox_enter(struct dd_sandbox *s, bool on_xen)
{
	if (s->off) {
		fprintf(stderr, "%s: --no-sandbox: serving with every privilege\n", s->prog);
		return 0;
	}
	if (sandbox_allowed(s, on_xen) || privilege_drop(s))
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "%s: no_new_privs: %s\n", s->prog, strerror(errno));
		return -1;
	}
	return seccomp_install(s);
}
