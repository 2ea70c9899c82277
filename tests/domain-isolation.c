/* SPDX-License-Identifier: MIT */
/*
 * domain-isolation: a process in a guest domain (embed_domain_fork) against a victim in another
 * domain and against dom0:
 *  - it cannot see pvio-hv's or pvio-xenstored's main socket, nor the runtime directory, and
 *    its environment names neither;
 *  - it cannot name the victim's pid (kill, pidfd_open, /proc/PID), ptrace it, read its
 *    /proc/PID/mem, process_vm_readv it, nor pidfd_getfd from it with a pidfd of the victim
 *    handed to it (as if leaked);
 *  - it cannot reach the victim's abstract Unix socket;
 *  - it has no capability over the host: a root-only host file stays closed;
 * and from dom0's /proc: the victim runs with its domain's host uid, NoNewPrivs 1, Seccomp 2.
 * Last, destroying the victim's domain ends every process in it, one that never had a session
 * and one that left its parent's session included.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/embed.h"
#include "launch/sandbox.h"
#include "tests/helpers.h"

#define ABSTRACT    "pvio-isolation-victim" /* the victim's abstract socket name */
#define SHADOW	    "/etc/shadow"	    /* a root-only host file */
#define MAX_VICTIMS 16

/* What the attacker is told. */
struct attack {
	pid_t victim;	    /* the victim's pid in dom0's pid namespace */
	int victim_pidfd;   /* a pidfd of the victim, leaked to the attacker */
	char dir[PATH_MAX]; /* the runtime directory */
	char hv[PATH_MAX];  /* pvio-hv's main socket */
	char xs[PATH_MAX];  /* pvio-xenstored's main socket */
	bool shadow_closed; /* SHADOW exists and only root may read it */
	int ready[2];	    /* the victim says it listens */
};

static int abstract_addr(struct sockaddr_un *sa, socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, ABSTRACT, sizeof(ABSTRACT) - 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(ABSTRACT));
	return 0;
}

/* The victim: listen on an abstract socket, fork a child that leaves the session, wait. */
static int victim(void *arg)
{
	struct attack *a = arg;
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	abstract_addr(&sa, &len);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 1) < 0)
		return 1;
	if (fork() == 0) {
		/* Out of the victim's process group and session: only its domain holds it. */
		setsid();
		for (;;)
			pause();
	}
	if (write(a->ready[1], "r", 1) != 1)
		return 1;
	for (;;)
		pause();
}

/* connect() to a path: 0 on success, else -errno. */
static int connect_path(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0), ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The attacker, inside the guest domain: every attempt must fail. */
static int attacker(void *arg)
{
	const struct attack *a = arg;
	struct sockaddr_un sa;
	struct iovec local, remote;
	char buf[64], path[64];
	socklen_t len;
	struct stat st;
	int fd;

	T_CHECK(stat(a->hv, &st) < 0 && errno == ENOENT, "pvio-hv's main socket is visible");
	T_CHECK(stat(a->xs, &st) < 0 && errno == ENOENT, "xenstored's main socket is visible");
	T_CHECK(stat(a->dir, &st) < 0 && errno == ENOENT, "the runtime directory is visible");
	T_CHECK(connect_path(a->hv, SOCK_SEQPACKET) < 0, "connected to pvio-hv's main socket");
	T_CHECK(connect_path(a->xs, SOCK_STREAM) < 0, "connected to xenstored's main socket");
	T_CHECK(!getenv("PVIO_HV_SOCKET"), "PVIO_HV_SOCKET=%s", getenv("PVIO_HV_SOCKET"));
	T_CHECK(strcmp(getenv("XENSTORED_PATH") ?: "", a->xs), "XENSTORED_PATH names dom0's");

	T_CHECK(kill(a->victim, 0) < 0 && errno == ESRCH, "kill names the victim's pid");
	T_CHECK(syscall(SYS_pidfd_open, a->victim, 0) < 0, "pidfd_open of the victim");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)a->victim);
	T_CHECK(open(path, O_RDONLY) < 0, "%s opened", path);
	T_CHECK(ptrace(PTRACE_ATTACH, a->victim, NULL, NULL) < 0, "ptrace attached the victim");
	local = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	remote = (struct iovec){ .iov_base = (void *)buf, .iov_len = sizeof(buf) };
	T_CHECK(process_vm_readv(a->victim, &local, 1, &remote, 1, 0) < 0,
		"process_vm_readv read the victim");
	/* With a pidfd of the victim in hand, as if it leaked: still none of its fds. */
	fd = (int)syscall(SYS_pidfd_getfd, a->victim_pidfd, 0, 0);
	T_CHECK(fd < 0 && (errno == EPERM || errno == EACCES), "pidfd_getfd took fd %d (%s)", fd,
		strerror(errno));
	/* Nor from its own domain's init, which seccomp refuses to anyone. */
	fd = (int)syscall(SYS_pidfd_open, 1, 0);
	T_CHECK(fd >= 0 && syscall(SYS_pidfd_getfd, fd, 0, 0) < 0 && errno == EPERM,
		"pidfd_getfd not refused by seccomp");

	abstract_addr(&sa, &len);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	T_CHECK(fd >= 0, "socket");
	T_CHECK(connect(fd, (struct sockaddr *)&sa, len) < 0,
		"reached the victim's abstract socket");
	close(fd);
	if (a->shadow_closed)
		T_CHECK(open(SHADOW, O_RDONLY) < 0 && errno == EACCES,
			SHADOW " opened or not EACCES");
	return 0;
}

/* "Name:\tvalue..." of /proc/pid/status into buf. */
static int status_field(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && line[n] == ':') {
			snprintf(buf, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			buf[strcspn(buf, "\n")] = '\0';
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* The victim's credentials and confinement, seen from dom0. */
static int check_status(pid_t pid, uid_t uid)
{
	char v[128], want[128];

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	T_CHECK(status_field(pid, "Uid", v, sizeof(v)) == 0 && !strcmp(v, want), "Uid %s, want %s",
		v, want);
	T_CHECK(status_field(pid, "NoNewPrivs", v, sizeof(v)) == 0 && !strcmp(v, "1"),
		"NoNewPrivs %s", v);
	T_CHECK(status_field(pid, "Seccomp", v, sizeof(v)) == 0 && !strcmp(v, "2"), "Seccomp %s",
		v);
	return 0;
}

/*
 * The host pids of the domain's processes: those of its uid, which no other process has.  Not by
 * pid namespace: as a normal user, dom0 may not read a domain process's /proc/PID/ns.
 */
static int domain_pids(uid_t uid, pid_t *out, int max)
{
	char v[128], want[32];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	snprintf(want, sizeof(want), "%u\t", (unsigned int)uid);
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (t_proc_status((pid_t)atoi(de->d_name), "Uid:", v, sizeof(v)) == 0 &&
		    !strncmp(v, want, strlen(want)))
			out[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/*
 * The domain's own process behind pid: pid itself as root; as a normal user, pid is an
 * intermediate of dom0's uid (launch/embed.h embed_domain_fork) and its child is the one.
 */
static pid_t domain_process(pid_t pid, uid_t uid)
{
	char path[64], v[128], want[32];
	int child = 0;
	FILE *f;

	snprintf(want, sizeof(want), "%u\t", (unsigned int)uid);
	if (t_proc_status(pid, "Uid:", v, sizeof(v)) == 0 && !strncmp(v, want, strlen(want)))
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (f && fscanf(f, "%d", &child) != 1)
		child = 0;
	if (f)
		fclose(f);
	return child;
}

/* Whether pid is gone (or a zombie). */
/* A survivor's state and wait channel, and its init's, to stderr. */
static void show_survivor(pid_t pid, pid_t init)
{
	pid_t who[2] = { pid, init };

	for (int i = 0; i < 2; i++) {
		char path[64], line[256] = "(gone)", wchan[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)who[i]);
		if ((f = fopen(path, "re"))) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/wchan", (int)who[i]);
		if ((f = fopen(path, "re"))) {
			if (!fgets(wchan, sizeof(wchan), f))
				wchan[0] = '\0';
			fclose(f);
		}
		fprintf(stderr, "%s %d: %.80s wchan %s\n", i ? "its init" : "victim", (int)who[i],
			line, wchan);
	}
}

static bool gone(pid_t pid)
{
	char path[64], state[256];
	FILE *f;
	bool ret = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (fgets(state, sizeof(state), f) && strrchr(state, ')'))
		ret = strchr("ZX", strrchr(state, ')')[2]) != NULL;
	fclose(f);
	return ret;
}

int main(void)
{
	static struct attack a;
	struct embed_opts opts = { .die_with_parent = true };
	pid_t vpid, apid, vinit, pids[MAX_VICTIMS];
	int pfds[MAX_VICTIMS];
	struct embed *e;
	domid_t vdom, adom;
	struct stat st;
	int n, i;
	char c;

	t_time_limit(T_TIME_LIMIT_S);
	if (t_own_uids_or_skip())
		return T_SKIP;
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(embed_domain_create(e, "victim", &vdom) == 0, "create victim");
	T_CHECK(embed_domain_create(e, "attacker", &adom) == 0, "create attacker");
	T_CHECK(pipe(a.ready) == 0, "pipe");
	T_CHECK(embed_domain_fork(e, vdom, victim, &a, &vpid) == 0, "fork the victim");
	close(a.ready[1]);
	T_CHECK(read(a.ready[0], &c, 1) == 1, "the victim did not start");

	a.victim = vpid;
	a.victim_pidfd = (int)syscall(SYS_pidfd_open, vpid, 0);
	T_CHECK(a.victim_pidfd >= 0, "pidfd_open of the victim from dom0");
	snprintf(a.dir, sizeof(a.dir), "%s", embed_dir(e));
	snprintf(a.hv, sizeof(a.hv), "%s", embed_hv_socket(e));
	snprintf(a.xs, sizeof(a.xs), "%s", embed_xs_socket(e));
	a.shadow_closed = stat(SHADOW, &st) == 0 && !(st.st_mode & S_IROTH);
	T_CHECK(embed_domain_fork(e, adom, attacker, &a, &apid) == 0, "fork the attacker");
	T_CHECK(t_wait(apid) == 0, "an attack succeeded (see above)");

	if (check_status(domain_process(vpid, embed_domain_uid(e, vdom)),
			 embed_domain_uid(e, vdom)))
		return T_FAIL;

	n = domain_pids(embed_domain_uid(e, vdom), pids, MAX_VICTIMS);
	T_CHECK(n >= 3,
		"%d processes in the victim's domain, want its init, the victim and its "
		"child",
		n);
	/* Pidfds taken before the destroy, so that a pid reused by another test while we wait is
	 * not taken for a survivor (ESRCH: already gone).  One reads as readable once its process
	 * exited. */
	for (i = 0; i < n; i++) {
		pfds[i] = (int)syscall(SYS_pidfd_open, pids[i], 0);
		T_CHECK(pfds[i] >= 0 || errno == ESRCH, "pidfd_open %d: %s", (int)pids[i],
			strerror(errno));
	}
	vinit = embed_domain_init(e, vdom);
	T_CHECK(embed_domain_destroy(e, vdom) == 0, "destroy the victim's domain");
	/*
	 * The kill is asynchronous (embed.h): the init's exit kills the rest of its namespace.  So
	 * wait for the victim's exit itself, on its pidfd, bounded as for every other process of
	 * the domain below (a 5 s poll of /proc failed once in a loaded make check); a survivor
	 * is shown as /proc sees it, for where it was stuck.
	 */
	struct pollfd vp = { .fd = a.victim_pidfd, .events = POLLIN };

	if (poll(&vp, 1, 20000) != 1 || !gone(vpid))
		show_survivor(vpid, vinit);
	T_CHECK(gone(vpid), "the victim survived its domain's destruction");
	T_CHECK(t_wait(vpid) == 128 + SIGKILL, "the victim was not killed");
	for (i = 0; i < n; i++) {
		struct pollfd p = { .fd = pfds[i], .events = POLLIN };

		if (pfds[i] < 0)
			continue;
		T_CHECK(poll(&p, 1, 20000) == 1, "pid %d of the destroyed domain still runs",
			(int)pids[i]);
		close(pfds[i]);
	}
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}
