/* SPDX-License-Identifier: MIT */
/* net-topo.c - the network device's test topology (see net-topo.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "launch/embed.h"
#include "tests/hv-test.h"
#include "tests/net-topo.h"
#include "tests/ns-helpers.h"
#include "xenbus/toolstack.h"

/* ---- namespaces ---- */

/* Enter the network namespace of process pid: 0 or -errno. */
static int enter_net(pid_t pid)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

int nto_fork_in(pid_t pid, int (*fn)(void *), void *arg, pid_t *child)
{
	fflush(NULL);
	*child = fork();
	T_CHECK(*child >= 0, "fork: %s", strerror(errno));
	if (*child == 0) {
		t_die_with_parent();
		if (enter_net(pid)) {
			fprintf(stderr, "FAIL: namespace of %d: %s\n", (int)pid, strerror(errno));
			_exit(T_FAIL);
		}
		_exit(fn(arg));
	}
	return 0;
}

int nto_run_in(pid_t pid, int (*fn)(void *), void *arg)
{
	pid_t child;

	T_CHECK(nto_fork_in(pid, fn, arg, &child) == 0, "fork");
	return t_wait(child);
}

static int sh_fn(void *cmd)
{
	execl("/bin/sh", "sh", "-c", (const char *)cmd, (char *)NULL);
	fprintf(stderr, "FAIL: /bin/sh: %s\n", strerror(errno));
	return 127;
}

int nto_sh(pid_t pid, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return nto_run_in(pid, sh_fn, cmd);
}

/* What ns_read reads, and where its answer goes. */
struct ns_file {
	const char *path; /* under /proc/self/net: the namespace's view */
	int fd;		  /* the pipe to the parent */
};

static int ns_read_fn(void *arg)
{
	struct ns_file *f = arg;
	char buf[16384];
	int in = open(f->path, O_RDONLY);
	ssize_t n = in >= 0 ? read(in, buf, sizeof(buf) - 1) : -1;

	return n > 0 && t_put(f->fd, buf, (size_t)n) == 0 ? 0 : T_FAIL;
}

/* The start of file path (/proc/net/...) as process pid's namespace has it, into buf. */
static int ns_read(pid_t pid, const char *path, char *buf, size_t len)
{
	int p[2];
	struct ns_file f = { path, -1 };
	ssize_t n, got = 0;
	pid_t child;

	T_CHECK(pipe(p) == 0, "pipe");
	f.fd = p[1];
	if (nto_fork_in(pid, ns_read_fn, &f, &child)) {
		close(p[0]), close(p[1]);
		return T_FAIL;
	}
	close(p[1]);
	while ((size_t)got < len - 1 && (n = read(p[0], buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(p[0]);
	T_CHECK(t_wait(child) == 0 && got > 0, "read %s in %d's namespace", path, (int)pid);
	return 0;
}

int nto_if_counters(pid_t pid, const char *ifname, struct nto_ifc *c)
{
	static char buf[16384];
	char want[IFNAMSIZ + 2];
	unsigned long long v[16];
	char *line;

	T_CHECK(ns_read(pid, "/proc/net/dev", buf, sizeof(buf)) == 0, "/proc/net/dev");
	snprintf(want, sizeof(want), "%s:", ifname);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		line += strspn(line, " ");
		if (strncmp(line, want, strlen(want)))
			continue;
		T_CHECK(sscanf(line + strlen(want),
			       "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
			       &v[10], &v[11]) == 12,
			"%s in /proc/net/dev", ifname);
		*c = (struct nto_ifc){ v[1], v[3], v[9], v[11] };
		return 0;
	}
	t_fail(__FILE__, __LINE__, "no %s in %d's namespace", ifname, (int)pid);
	return T_FAIL;
}

int nto_snmp(pid_t pid, const char *proto, const char *field, uint64_t *v)
{
	static char buf[16384];
	char *names = NULL, *save, *name, *val;
	char want[32];

	T_CHECK(ns_read(pid, "/proc/net/snmp", buf, sizeof(buf)) == 0, "/proc/net/snmp");
	snprintf(want, sizeof(want), "%s:", proto);
	/* A line of field names, then a line of their values, each starting with want. */
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		if (!names) {
			names = line;
			continue;
		}
		char *s1, *s2;

		name = strtok_r(names + strlen(want), " ", &s1);
		val = strtok_r(line + strlen(want), " ", &s2);
		for (; name && val; name = strtok_r(NULL, " ", &s1), val = strtok_r(NULL, " ", &s2))
			if (!strcmp(name, field)) {
				*v = strtoull(val, NULL, 10);
				return 0;
			}
		break;
	}
	t_fail(__FILE__, __LINE__, "no %s %s in %d's /proc/net/snmp", proto, field, (int)pid);
	return T_FAIL;
}

/* ---- the outside world and the driver domain's network ---- */

/* The outside world's holder: a namespace of its own, then nothing until killed. */
static pid_t outside_start(void)
{
	int p[2];
	char ok = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		t_die_with_parent();
		close(p[0]);
		ok = unshare(CLONE_NEWNET) == 0;
		if (!ok)
			printf("SKIP: cannot make a network namespace: %s\n", strerror(errno));
		if (write(p[1], &ok, 1) != 1 || !ok)
			_exit(T_SKIP);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &ok, 1) != 1 || !ok) {
		if (pid > 0)
			t_wait(pid);
		pid = 0;
	}
	close(p[0]);
	return pid;
}

/* No IPv6 chatter in any of the namespaces: the counts of frames are the tests' own. */
#define NO_IPV6                                                                                    \
	"for c in all default; do echo 1 >/proc/sys/net/ipv6/conf/$c/disable_ipv6; done "          \
	"2>/dev/null; "

/*
 * The driver domain's NIC: a veth pair from its namespace into the outside world's, the NIC on
 * the bridge, the outside end addressed; all at the MTU, up.  0, T_SKIP or T_FAIL.
 */
static int world_make(struct nto *t)
{
	/* A kernel without the bridge or veth driver skips (77); any other error fails. */
#define KIND(cmd)                                                                                  \
	"out=$(" cmd " 2>&1) || { echo \"$out\" >&2; "                                             \
	"echo \"$out\" | grep -q 'Unknown device type' && exit 77; exit 1; }"
	int rc = nto_sh(t->dd_ns, NO_IPV6 KIND("ip link add " NTO_BRIDGE " type bridge"));

	if (rc == 0)
		rc =
		    nto_sh(t->dd_ns,
			   KIND("ip link add " NTO_NIC " type veth peer name " NTO_EXT " netns %d"),
			   (int)t->outside);
#undef KIND
	if (rc == T_SKIP)
		printf("SKIP: no bridge or veth in this kernel (see above)\n");
	if (rc)
		return rc == T_SKIP ? T_SKIP : T_FAIL;
	T_CHECK(nto_sh(t->dd_ns,
		       "ip link set " NTO_NIC " mtu %u master " NTO_BRIDGE " up && "
		       "ip link set " NTO_BRIDGE " mtu %u up && ip link set lo up",
		       t->mtu, t->mtu) == 0,
		"bridge " NTO_BRIDGE " in the driver domain");
	T_CHECK(nto_sh(t->outside,
		       NO_IPV6 "ip link set " NTO_EXT " mtu %u up && ip addr add " NTO_OUTSIDE_IP
			       "/24 dev " NTO_EXT " && ip link set lo up",
		       t->mtu) == 0,
		"the outside world's " NTO_EXT);
	return 0;
}

/* The driver domain sees the private directory, its uid owning the statistics. */
static int dd_create(struct nto *t)
{
	/* $PVIO_TEST_BIND: one more, for valgrind's logs (tests/net-valgrind.sh). */
	const char *binds[] = { t->dir, getenv("PVIO_TEST_BIND"), NULL };
	struct embed_domain_opts o = { .binds = binds };
	uid_t uid;

	T_CHECK(embed_domain_create_with(t->e, "dd", &o, &t->dd) == 0, "the driver domain");
	uid = embed_domain_uid(t->e, t->dd);
	T_CHECK(chown(t->dir, uid, (gid_t)-1) == 0 && chown(t->stats, uid, (gid_t)-1) == 0,
		"chown %s: %s", t->stats, strerror(errno));
	t->dd_ns = embed_domain_init(t->e, t->dd);
	T_CHECK(t->dd_ns > 0, "the driver domain's init");
	return 0;
}

int nto_start(struct nto *t, unsigned int mtu)
{
	struct embed_opts opts = { .die_with_parent = true };

	memset(t, 0, sizeof(*t));
	t->mtu = mtu;
	t_time_limit(NTO_ALARM_S);
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0) {
		printf("SKIP: the topology needs root\n");
		return T_SKIP;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		printf("SKIP: no /dev/net/tun\n");
		return T_SKIP;
	}
	t->outside = outside_start();
	if (!t->outside)
		return T_SKIP;
	snprintf(t->dir, sizeof(t->dir), "/tmp/pvio-net-topo-XXXXXX");
	T_CHECK(mkdtemp(t->dir), "mkdtemp: %s", strerror(errno));
	snprintf(t->stats, sizeof(t->stats), "%s/stats", t->dir);
	T_CHECK(mkdir(t->stats, 0755) == 0, "mkdir %s", t->stats);
	opts.verbose = getenv("PVIO_TEST_VERBOSE") != NULL;
	T_CHECK(embed_start(&t->e, &opts) == 0, "the embedded hypervisor");
	T_CHECK((t->xs = xs_open(0)), "xs_open as dom0: %s", strerror(errno));
	T_CHECK(dd_create(t) == 0, "driver domain");
	return world_make(t);
}

int nto_main(struct nto *t, unsigned int mtu, int (*run)(struct nto *t))
{
	int rc = nto_start(t, mtu);

	if (rc == T_SKIP) {
		nto_stop(t, 0); /* whatever was started before the host was found lacking */
		return rc;
	}
	return nto_stop(t, rc ? rc : run(t));
}

/* ---- the daemons ---- */

/* The path of program name in $PVIO_BUILDDIR. */
static void prog_path(const char *name, char *buf, size_t len)
{
	const char *b = getenv("PVIO_BUILDDIR");

	snprintf(buf, len, "%s/%s", b && *b ? b : ".", name);
}

static int netback_spawn(struct nto *t)
{
	char prog[PATH_MAX];
	char *argv[16] = { prog, "--stats-dir", t->stats, "--bridge", NTO_BRIDGE };
	unsigned int n = 5;

	prog_path("pvio-netback", prog, sizeof(prog));
	for (unsigned int i = 0; i < t->nback_args; i++)
		argv[n++] = t->back_args[i];
	if (getenv("PVIO_TEST_VERBOSE"))
		argv[n++] = "-vv";
	T_CHECK(embed_domain_spawn(t->e, t->dd, argv, &t->netback) == 0, "spawn %s", prog);
	return 0;
}

int nto_netback_start(struct nto *t, const char *const *args)
{
	for (t->nback_args = 0; args && args[t->nback_args]; t->nback_args++) {
		T_CHECK(t->nback_args < 8, "too many options");
		snprintf(t->back_args[t->nback_args], sizeof(t->back_args[0]), "%s",
			 args[t->nback_args]);
	}
	return netback_spawn(t);
}

/* Wait until pvio-netback has put vif on the bridge, and check that it has the bridge's MTU. */
int nto_vif_ready(struct nto *t, const char *vif)
{
	T_CHECK(nto_sh(t->dd_ns,
		       "i=0; until ip link show %s 2>/dev/null | grep -q 'master " NTO_BRIDGE
		       "'; do "
		       "i=$((i+1)); [ $i -lt 400 ] || exit 1; sleep 0.05; done",
		       vif) == 0,
		"%s is not on " NTO_BRIDGE " in the driver domain", vif);
	/* Xen's vif-bridge gives the vif its bridge's MTU; pvio-netback must too. */
	T_CHECK(nto_sh(t->dd_ns, "ip link show %s | grep -q ' mtu %u '", vif, t->mtu) == 0,
		"%s has not the bridge's MTU %u", vif, t->mtu);
	return 0;
}

int nto_netback_restart(struct nto *t)
{
	int status;

	T_CHECK(kill(t->netback, SIGKILL) == 0, "kill -9 pvio-netback: %s", strerror(errno));
	status = t_wait(t->netback);
	T_CHECK(status == 128 + SIGKILL, "pvio-netback's status after kill -9: %d", status);
	t->netback = 0;
	T_CHECK(netback_spawn(t) == 0, "pvio-netback again");
	/* The vifs went with the old daemon; the new one makes them again on the bridge. */
	for (unsigned int i = 0; i < t->nguests; i++)
		T_CHECK(nto_vif_ready(t, t->g[i].vif) == 0, "vif");
	return 0;
}

/* ---- guests ---- */

static int guest_create(struct nto *t, const char *rate, struct nto_guest **gp)
{
	struct nto_guest *g = &t->g[t->nguests];
	struct xenbus_kv back[3] = { { "mac", g->mac },
				     { "bridge", NTO_BRIDGE },
				     { "rate", rate } };
	struct xenbus_device_spec s = { .kind = "vif", .back_extra = back, .front_extra = back };
	const char *binds[] = { getenv("PVIO_TEST_BIND"), NULL };
	struct embed_domain_opts o = { .binds = binds };

	char name[16];

	T_CHECK(t->nguests < NTO_GUESTS_MAX, "too many guests");
	snprintf(name, sizeof(name), "guest%u", t->nguests);
	T_CHECK(embed_domain_create_with(t->e, name, &o, &g->dom) == 0, "guest domain");
	snprintf(g->ip, sizeof(g->ip), "10.9.0.%u", 2 + t->nguests);
	snprintf(g->vif, sizeof(g->vif), "vif%u.0", g->dom);
	snprintf(g->mac, sizeof(g->mac), "00:16:3e:00:00:%02x", 1 + t->nguests);
	s.frontend_id = g->dom;
	s.backend_id = t->dd;
	s.n_back_extra = rate ? 3 : 2;
	s.n_front_extra = 1;
	T_CHECK(xenbus_device_add(t->xs, &s) == 0, "add vif for guest %u", g->dom);
	t->nguests++;
	*gp = g;
	return 0;
}

int nto_guest_add_raw(struct nto *t, struct nto_guest **g)
{
	return guest_create(t, NULL, g);
}

/* Spawn pvio-netfront in g with stdout on a pipe, and wait for its "eth0 up" line. */
static int netfront_spawn(struct nto *t, struct nto_guest *g, unsigned int queues)
{
	char prog[PATH_MAX], nq[16], line[256] = "", want[64];
	char *argv[] = { prog, "--queues", nq, NULL };
	int out[2], saved, rc;
	FILE *f;

	prog_path("pvio-netfront", prog, sizeof(prog));
	snprintf(nq, sizeof(nq), "%u", queues);
	T_CHECK(pipe(out) == 0, "pipe");
	fflush(stdout);
	saved = dup(1);
	dup2(out[1], 1);
	rc = embed_domain_spawn(t->e, g->dom, argv, &g->netfront);
	dup2(saved, 1);
	close(saved);
	close(out[1]);
	T_CHECK(rc == 0, "spawn %s: %s", prog, strerror(-rc));
	f = fdopen(out[0], "r");
	/* All the queues asked for, with checksum offload and TSO both ways (0x7). */
	snprintf(want, sizeof(want), "eth0 up, %u queue(s), offloads 0x7", queues);
	T_CHECK(f && t_readable(out[0], NTO_WAIT_MS) && fgets(line, sizeof(line), f) &&
		    strstr(line, want),
		"pvio-netfront said \"%s\", not \"%s\"", line, want);
	/* It prints nothing more; a closed pipe is no matter to it. */
	fclose(f);
	return 0;
}

int nto_guest_add(struct nto *t, unsigned int queues, const char *rate)
{
	struct nto_guest *g;

	T_CHECK(guest_create(t, rate, &g) == 0, "guest");
	T_CHECK(netfront_spawn(t, g, queues) == 0, "pvio-netfront");
	T_CHECK(nto_vif_ready(t, g->vif) == 0, "vif");
	T_CHECK(nto_sh(g->netfront,
		       NO_IPV6 "ip link set eth0 mtu %u up && ip addr add %s/24 dev eth0 && "
			       "ip link set lo up",
		       t->mtu, g->ip) == 0,
		"eth0 in guest %u", g->dom);
	return 0;
}

/* ---- statistics ---- */

int nto_stat(struct nto *t, const struct nto_guest *g, const char *key, uint64_t *v)
{
	char path[PATH_MAX + 64], line[128];
	size_t klen = strlen(key);
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vif-%u.0", t->stats, g->dom);
	f = fopen(path, "r");
	while (f && ret && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			*v = strtoull(line + klen + 1, NULL, 10);
			ret = 0;
		}
	if (f)
		fclose(f);
	return ret;
}

/* ---- a TCP stream ---- */

/* One stream's ends. */
struct nto_stream {
	const char *ip; /* the receiver's address */
	size_t bytes;	/* how many */
	int ready[2];	/* receiver -> caller: listening */
	int mark[2];	/* sender -> caller: a quarter written */
};

/* The byte at position i of the stream. */
static uint8_t stream_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

static int stream_take(void *arg)
{
	struct nto_stream *s = arg;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(NTO_PORT) };
	static uint8_t buf[65536];
	int l = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	T_CHECK(l >= 0 && bind(l, (struct sockaddr *)&me, sizeof(me)) == 0 && listen(l, 1) == 0,
		"listen: %s", strerror(errno));
	T_CHECK(t_put(s->ready[1], "r", 1) == 0, "ready");
	T_CHECK(t_readable(l, NTO_WAIT_MS), "no TCP connection");
	c = accept(l, NULL, NULL);
	T_CHECK(c >= 0, "accept: %s", strerror(errno));
	for (size_t done = 0; done < s->bytes;) {
		ssize_t n;

		/* Generous: a back-end restarted on a loaded machine. */
		T_CHECK(t_readable(c, 3 * NTO_WAIT_MS), "TCP stalled at %zu", done);
		n = read(c, buf, sizeof(buf));
		T_CHECK(n > 0, "TCP read at %zu: %zd (%s)", done, n, strerror(errno));
		for (ssize_t i = 0; i < n; i++)
			T_CHECK(buf[i] == stream_byte(done + (size_t)i), "TCP byte %zu differs",
				done + (size_t)i);
		done += (size_t)n;
	}
	close(c);
	close(l);
	return 0;
}

static int stream_give(void *arg)
{
	struct nto_stream *s = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(NTO_PORT) };
	static uint8_t buf[65536];
	bool marked = false;
	int c = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, s->ip, &to.sin_addr);
	T_CHECK(c >= 0 && connect(c, (struct sockaddr *)&to, sizeof(to)) == 0,
		"TCP connect to %s: %s", s->ip, strerror(errno));
	for (size_t done = 0; done < s->bytes;) {
		size_t n = s->bytes - done < sizeof(buf) ? s->bytes - done : sizeof(buf);
		ssize_t w;

		if (!marked && done >= s->bytes / 4) {
			T_CHECK(t_put(s->mark[1], "m", 1) == 0, "mark");
			marked = true;
		}
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(done + i);
		w = write(c, buf, n);
		T_CHECK(w > 0, "TCP write at %zu: %s", done, strerror(errno));
		done += (size_t)w;
	}
	close(c);
	return 0;
}

int nto_tcp(pid_t from, pid_t to, const char *ip, size_t bytes, int (*mid)(void *), void *arg)
{
	struct nto_stream s = { .ip = ip, .bytes = bytes };
	pid_t rx, tx = -1;
	int rc = 0, st;
	char c;

	T_CHECK(pipe(s.ready) == 0, "pipe");
	T_CHECK(nto_fork_in(to, stream_take, &s, &rx) == 0, "receiver");
	/* Only the sender holds the mark's write end: a sender gone closes it. */
	T_CHECK(pipe(s.mark) == 0, "pipe");
	if (t_get(s.ready[0], &c, 1) || nto_fork_in(from, stream_give, &s, &tx))
		rc = T_FAIL;
	close(s.mark[1]);
	if (!rc && t_get(s.mark[0], &c, 1) == 0 && mid && mid(arg))
		rc = T_FAIL;
	if (rc) {
		kill(rx, SIGKILL);
		if (tx > 0)
			kill(tx, SIGKILL);
	}
	st = tx > 0 ? t_wait(tx) : T_FAIL;
	T_CHECK(t_wait(rx) == 0 && st == 0 && !rc, "TCP stream of %zu bytes to %s", bytes, ip);
	close(s.ready[0]), close(s.ready[1]), close(s.mark[0]);
	return 0;
}

int nto_stat_wait(struct nto *t, const struct nto_guest *g, const char *key, uint64_t min,
		  uint64_t *v)
{
	uint64_t end = t_now_ms() + NTO_WAIT_MS;

	*v = 0;
	while ((nto_stat(t, g, key, v) || *v < min) && t_now_ms() < end)
		t_msleep(100);
	T_CHECK(*v >= min, "%s of %s: %llu, not %llu or more", key, g->vif, (unsigned long long)*v,
		(unsigned long long)min);
	return 0;
}

/* ---- the end ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* SIGTERM *pid, which must exit with status 0 within 10 s (what it is for the message). */
static int term(pid_t *pid, const char *what)
{
	int status;

	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	status = t_wait(*pid);
	*pid = 0;
	T_CHECK(status == 0, "%s's status after SIGTERM: %d", what, status);
	return 0;
}

int nto_stop(struct nto *t, int ret)
{
	int bad = ret != 0;

	for (unsigned int i = 0; i < t->nguests; i++)
		bad |= term(&t->g[i].netfront, "pvio-netfront");
	bad |= term(&t->netback, "pvio-netback");
	if (t->xs)
		xs_close(t->xs);
	if (t->e && embed_stop(t->e)) {
		fprintf(stderr, "FAIL: embed_stop\n");
		bad = 1;
	}
	if (t->outside > 0) {
		kill(t->outside, SIGKILL);
		t_wait(t->outside);
	}
	if (t->dir[0] && !bad)
		nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	alarm(0);
	return bad ? T_FAIL : T_PASS;
}
