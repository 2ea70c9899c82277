/* SPDX-License-Identifier: MIT */
/*
 * pvio-xsbench - pvio-xenstored's request rate through libxenstore,
 * pvio-xsbench(1).
 *
 * Reads, writes and transaction commits (start, write, end), from 1 and from
 * 16 client processes, each with its own connection and its own node.  The
 * same run measures the floor any daemon on a Unix socket pays: the same
 * number of request/reply round trips over AF_UNIX stream socket pairs to
 * one forked echo process, and every figure is given as a ratio against it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/bench-machine.h"
#include <xenstore.h>

#define PROG	       "pvio-xsbench"
#define OPS_DEFAULT    20000ul
#define OPS_QUICK      500ul
#define OPS_MAX	       100000000ul
#define WARMUP_MAX     1000ul /* untimed operations per client: a tenth, at most this */
#define CLIENTS_MAX    16
#define TX_RETRIES_MAX 1000 /* one commit conflicting this often is an error */
#define ECHO_LEN       48   /* an xs_wire header and a short path, like a read */
#define VALUE	       "0123456789abcdef"
#define BENCH_ROOT     "/pvio-xsbench"
#define READY_WAIT_MS  30000

enum {
	OPT_QUICK = 256
};

/* What each client does NR times. */
enum bench_kind {
	BENCH_READ,  /* xs_read of its node */
	BENCH_WRITE, /* xs_write of its node */
	BENCH_TX,    /* xs_transaction_start, xs_write, xs_transaction_end */
	BENCH_ECHO,  /* the baseline: round trips to the echo process */
};

struct params {
	const char *socket;   /* -s: a running daemon, or NULL to start one */
	unsigned long ops;    /* timed operations per client */
	unsigned long warmup; /* untimed operations per client, before them */
};

/* One client process, after fork. */
struct client {
	enum bench_kind kind;  /* what it measures */
	unsigned int rtts;     /* BENCH_ECHO: round trips per operation */
	struct xs_handle *h;   /* its connection to the daemon */
	int fd;		       /* BENCH_ECHO: its end of the socket pair */
	char path[48];	       /* its node */
	unsigned long retries; /* BENCH_TX: commits retried after EAGAIN */
};

/* A client's figures, in memory shared with the parent. */
struct slot {
	uint64_t start_ns;     /* CLOCK_MONOTONIC when its timed operations began */
	uint64_t end_ns;       /* and ended */
	unsigned long retries; /* BENCH_TX retries */
	int ok;		       /* 1 when every operation succeeded */
};

/* One measurement: all clients' operations over the wall time they took. */
struct rate {
	double ops_per_s;      /* total operations / (last end - first start) */
	unsigned long retries; /* BENCH_TX retries, all clients */
};

/* The daemon started for this run. */
static struct {
	pid_t pid;	     /* 0 if none */
	char dir[64];	     /* private directory */
	char sock[PATH_MAX]; /* dir/socket */
	char prog[PATH_MAX]; /* the program started */
} xsd;

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "ops", required_argument, NULL, 'n' },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Print "pvio-xsbench: what: strerror(err)"; returns -1. */
static int xb_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, strerror(err));
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Measure pvio-xenstored's reads, writes and transaction commits through\n"
		"libxenstore, against socket round trips to an echo process in the same run.\n"
		"\n"
		"  -s, --socket PATH  use the xenstored listening on PATH (default: start one)\n"
		"  -n, --ops N        operations per client and test (default %lu)\n"
		"      --quick        a smoke test: %lu operations per client\n"
		"  -h, --help         print this help\n",
		PROG, OPS_DEFAULT, OPS_QUICK);
}

static int parse_ops(const char *arg, unsigned long *ops)
{
	char *end;

	errno = 0;
	*ops = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || *ops < 1 || *ops > OPS_MAX) {
		fprintf(stderr, "%s: -n %s: expected a count from 1 to %lu\n", PROG, arg, OPS_MAX);
		return -1;
	}
	return 0;
}

/* 0 to run, 1 after --help, -1 on a bad option (reported). */
static int parse_args(int argc, char **argv, struct params *p)
{
	bool quick = false;
	int c;

	memset(p, 0, sizeof(*p));
	while ((c = getopt_long(argc, argv, "s:n:h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == 's')
			p->socket = optarg;
		else if (c == 'n' && parse_ops(optarg, &p->ops) < 0)
			return -1;
		else if (c == OPT_QUICK)
			quick = true;
		else if (c == '?')
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: %s: unexpected argument\n", PROG, argv[optind]);
		return -1;
	}
	if (!p->ops)
		p->ops = quick ? OPS_QUICK : OPS_DEFAULT;
	p->warmup = p->ops / 10 < WARMUP_MAX ? p->ops / 10 : WARMUP_MAX;
	return 0;
}

/* pvio-xenstored next to this program (build tree), in ../sbin (installed), else on PATH. */
static void daemon_find(char *prog, size_t len)
{
	static const char *const rel[] = { "", "/../sbin" };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned int i;

	for (i = 0; n > 0 && i < 2; i++) {
		self[n] = '\0';
		snprintf(prog, len, "%s%s/pvio-xenstored", dirname(self), rel[i]);
		if (access(prog, X_OK) == 0)
			return;
	}
	snprintf(prog, len, "pvio-xenstored");
}

/* Until xs_open succeeds, the daemon exits, or 10 s pass. */
static int daemon_wait_ready(void)
{
	struct xs_handle *h;
	int i, status;

	for (i = 0; i < 1000; i++) {
		h = xs_open(0);
		if (h) {
			xs_close(h);
			return 0;
		}
		if (xsd.pid && waitpid(xsd.pid, &status, WNOHANG) == xsd.pid) {
			xsd.pid = 0;
			fprintf(stderr, "%s: %s: exited with status 0x%x\n", PROG, xsd.prog,
				status);
			return -1;
		}
		usleep(10000);
	}
	return xb_err(xsd.pid ? xsd.sock : getenv("XENSTORED_PATH"), ETIMEDOUT);
}

/* A private pvio-xenstored, dying with us. */
static int daemon_start(void)
{
	pid_t parent = getpid();

	daemon_find(xsd.prog, sizeof(xsd.prog));
	snprintf(xsd.dir, sizeof(xsd.dir), "/tmp/pvio-xsbench-XXXXXX");
	if (!mkdtemp(xsd.dir))
		return xb_err("mkdtemp", errno);
	snprintf(xsd.sock, sizeof(xsd.sock), "%s/socket", xsd.dir);
	setenv("XENSTORED_PATH", xsd.sock, 1);
	xsd.pid = fork();
	if (xsd.pid < 0)
		return xb_err("fork", errno);
	if (xsd.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		execlp(xsd.prog, "pvio-xenstored", "-s", xsd.sock, (char *)NULL);
		xb_err(xsd.prog, errno);
		_exit(127);
	}
	return daemon_wait_ready();
}

static void daemon_stop(void)
{
	if (xsd.pid) {
		kill(xsd.pid, SIGTERM);
		while (waitpid(xsd.pid, NULL, 0) < 0 && errno == EINTR)
			;
		xsd.pid = 0;
	}
	if (xsd.dir[0]) {
		unlink(xsd.sock);
		rmdir(xsd.dir);
	}
}

/* One round trip to the echo process. */
static int echo_rtt(int fd)
{
	char msg[ECHO_LEN] = "read /pvio-xsbench/0/key";
	size_t got = 0;
	ssize_t n;

	if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return -1;
	while (got < sizeof(msg)) {
		n = read(fd, msg + got, sizeof(msg) - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One commit, retried on EAGAIN. */
static int tx_commit(struct client *cl)
{
	unsigned int tries;
	xs_transaction_t t;

	for (tries = 0; tries <= TX_RETRIES_MAX; tries++) {
		t = xs_transaction_start(cl->h);
		if (t == XBT_NULL)
			return -1;
		if (!xs_write(cl->h, t, cl->path, VALUE, strlen(VALUE))) {
			xs_transaction_end(cl->h, t, true);
			return -1;
		}
		if (xs_transaction_end(cl->h, t, false))
			return 0;
		if (errno != EAGAIN)
			return -1;
		cl->retries++;
	}
	errno = EAGAIN;
	return -1;
}

/* One operation of the client's kind: 0 or -1 with errno set. */
static int client_op(struct client *cl)
{
	unsigned int i;
	void *v;

	switch (cl->kind) {
	case BENCH_READ:
		v = xs_read(cl->h, XBT_NULL, cl->path, NULL);
		free(v);
		return v ? 0 : -1;
	case BENCH_WRITE:
		return xs_write(cl->h, XBT_NULL, cl->path, VALUE, strlen(VALUE)) ? 0 : -1;
	case BENCH_TX:
		return tx_commit(cl);
	case BENCH_ECHO:
		for (i = 0; i < cl->rtts; i++) {
			if (echo_rtt(cl->fd) < 0)
				return -1;
		}
		return 0;
	}
	return -1;
}

static const char *kind_name(enum bench_kind kind)
{
	static const char *const names[] = { "xs_read", "xs_write", "transaction commit",
					     "echo round trip" };

	return names[kind];
}

/* Connect and make the node, run the warmup, then wait for the go. */
static int client_prepare(struct client *cl, unsigned int id, const struct params *p, int ready_fd,
			  int go_fd)
{
	unsigned long i;
	char c = 0;

	snprintf(cl->path, sizeof(cl->path), "%s/%u/key", BENCH_ROOT, id);
	if (cl->kind != BENCH_ECHO) {
		cl->h = xs_open(0);
		if (!cl->h)
			return xb_err("xs_open", errno);
		if (!xs_write(cl->h, XBT_NULL, cl->path, VALUE, strlen(VALUE)))
			return xb_err(cl->path, errno);
	}
	for (i = 0; i < p->warmup; i++) {
		if (client_op(cl) < 0)
			return xb_err(kind_name(cl->kind), errno);
	}
	if (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) < 0)
		return xb_err("start barrier", errno);
	return 0;
}

/* A client process: its timed operations, recorded in its slot. */
static int client_main(struct client *cl, unsigned int id, const struct params *p,
		       struct slot *slot, int ready_fd, int go_fd)
{
	unsigned long i;

	if (client_prepare(cl, id, p, ready_fd, go_fd) < 0)
		return 1;
	slot->start_ns = now_ns();
	for (i = 0; i < p->ops; i++) {
		if (client_op(cl) < 0)
			break;
	}
	if (i < p->ops) {
		xb_err(kind_name(cl->kind), errno);
		return 1;
	}
	slot->end_ns = now_ns();
	slot->retries = cl->retries;
	slot->ok = 1;
	xs_close(cl->h);
	return 0;
}

/* The baseline's server: echo whatever arrives on each fd until all close. */
static void echo_serve(int *fds, unsigned int n)
{
	struct pollfd pfd[CLIENTS_MAX];
	unsigned int i, open = n;
	char buf[4096];
	ssize_t got;

	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (open > 0 && poll(pfd, n, -1) > 0) {
		for (i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			got = read(pfd[i].fd, buf, sizeof(buf));
			if (got > 0 && write(pfd[i].fd, buf, (size_t)got) == got)
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open--;
		}
	}
	_exit(0);
}

/* For the baseline: n socket pairs, one echo process holding the far ends. */
static pid_t echo_start(int *near, unsigned int n)
{
	int far[CLIENTS_MAX], sv[2];
	unsigned int i;
	pid_t pid;

	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return xb_err("socketpair", errno);
		near[i] = sv[0];
		far[i] = sv[1];
	}
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++)
			close(near[i]);
		echo_serve(far, n);
	}
	for (i = 0; i < n; i++)
		close(far[i]);
	return pid < 0 ? xb_err("fork", errno) : pid;
}

/* Wait for n ready bytes, READY_WAIT_MS at most. */
static int wait_ready(int fd, unsigned int n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[CLIENTS_MAX];
	ssize_t got;

	while (n > 0) {
		if (poll(&pfd, 1, READY_WAIT_MS) <= 0)
			return -1;
		got = read(fd, buf, n);
		if (got <= 0)
			return -1;
		n -= (unsigned int)got;
	}
	return 0;
}

/* Fork n clients; each gets its own echo fd when measuring the baseline. */
static int fork_clients(struct client *proto, unsigned int n, const int *fds,
			const struct params *p, struct slot *slots, int ready[2], int go[2],
			pid_t *pids)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return xb_err("fork", errno);
		if (pids[i] > 0)
			continue;
		close(ready[0]);
		close(go[1]);
		for (j = 0; fds && j < n; j++) {
			if (j != i)
				close(fds[j]);
		}
		proto->fd = fds ? fds[i] : -1;
		_exit(client_main(proto, i, p, &slots[i], ready[1], go[0]));
	}
	return 0;
}

static void reap(pid_t pid)
{
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Reap the clients; the rate over the wall time of all timed operations. */
static int collect(const struct slot *slots, const pid_t *pids, unsigned int n,
		   const struct params *p, struct rate *r)
{
	uint64_t first = UINT64_MAX, last = 0;
	unsigned int i;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n; i++)
		reap(pids[i]);
	for (i = 0; i < n; i++) {
		if (!slots[i].ok)
			ret = -1;
		first = slots[i].start_ns < first ? slots[i].start_ns : first;
		last = slots[i].end_ns > last ? slots[i].end_ns : last;
		r->retries += slots[i].retries;
	}
	if (ret == 0 && last > first)
		r->ops_per_s = (double)p->ops * n * 1e9 / (double)(last - first);
	return ret;
}

/* One measurement: n clients of one kind, started together. */
static int measure(enum bench_kind kind, unsigned int rtts, unsigned int n, const struct params *p,
		   struct rate *r)
{
	struct client proto = { .kind = kind, .rtts = rtts, .fd = -1 };
	int ready[2], go[2], fds[CLIENTS_MAX], ret = 0;
	pid_t pids[CLIENTS_MAX] = { 0 }, echo = 0;
	struct slot *slots;
	unsigned int i;

	slots = mmap(NULL, sizeof(*slots) * n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (slots == MAP_FAILED)
		return xb_err("mmap", errno);
	memset(slots, 0,
	       sizeof(*slots) *
		   n); /* The echo process first, so that it holds no end of the start pipes. */
	if (kind == BENCH_ECHO && (echo = echo_start(fds, n)) < 0)
		return -1;
	if (pipe(ready) < 0 || pipe(go) < 0)
		return xb_err("pipe", errno);
	if (ret >= 0)
		ret = fork_clients(&proto, n, echo ? fds : NULL, p, slots, ready, go, pids);
	close(ready[1]);
	close(go[0]);
	if (ret == 0 && wait_ready(ready[0], n) < 0)
		ret = xb_err("clients did not start", ETIMEDOUT);
	close(go[1]);
	close(ready[0]);
	for (i = 0; echo > 0 && i < n; i++)
		close(fds[i]);
	/* A client that failed has said why. */
	if (collect(slots, pids, n, p, r) < 0)
		ret = -1;
	reap(echo);
	munmap(slots, sizeof(*slots) * n);
	return ret;
}

static void print_machine(const struct params *p)
{
	bench_print_machine(PROG);
	if (p->socket)
		printf("xenstored:   the one listening on %s\n", p->socket);
	else
		printf("xenstored:   %s, started for this run\n", xsd.prog);
}

static void print_params(const struct params *p)
{
	printf("operations:  %lu timed per client and test, after %lu untimed; each client a\n"
	       "             forked process with its own libxenstore connection and node\n"
	       "             %s/<client>/key (a %zu-byte value); clients start together\n",
	       p->ops, p->warmup, BENCH_ROOT, strlen(VALUE));
	printf("  xs_read:   one XS_READ of the node\n"
	       "  xs_write:  one XS_WRITE of the node\n"
	       "  tx commit: XS_TRANSACTION_START, XS_WRITE, XS_TRANSACTION_END (commit):\n"
	       "             three requests, the whole retried on EAGAIN\n");
	printf("baseline:    the same number of operations as request/reply round trips of\n"
	       "             %d bytes over AF_UNIX stream socket pairs, one per client, to one\n"
	       "             forked echo process (poll); three round trips per tx commit\n",
	       ECHO_LEN);
}

/* Two decimals, or two significant digits below 0.1. */
static void print_row(const char *test, unsigned int n, const struct rate *pvio,
		      const struct rate *base)
{
	double ratio = base->ops_per_s > 0 ? pvio->ops_per_s / base->ops_per_s : 0.0;
	int digits = 2;

	while (ratio > 0 && ratio < 0.1 && digits < 6) {
		ratio *= 10;
		digits++;
	}
	ratio = base->ops_per_s > 0 ? pvio->ops_per_s / base->ops_per_s : 0.0;
	printf("%-20s %7u %13.0f %15.0f %9.*f", test, n, pvio->ops_per_s, base->ops_per_s, digits,
	       ratio);
	if (pvio->retries)
		printf("   (%lu retries)", pvio->retries);
	printf("\n");
}

static const unsigned int nr_clients[2] = { 1, CLIENTS_MAX };

static void print_table(struct rate pvio[3][2], struct rate echo[2][2])
{
	unsigned int k, c;

	printf("\n%-20s %7s %13s %15s %9s\n", "test", "clients", "pvio ops/s", "baseline ops/s",
	       "ratio");
	for (k = BENCH_READ; k <= BENCH_TX; k++) {
		for (c = 0; c < 2; c++)
			print_row(k == BENCH_TX ? "tx commit" : kind_name(k), nr_clients[c],
				  &pvio[k][c], &echo[c][k == BENCH_TX]);
	}
	printf("\nops/s = all clients' operations / wall time from the first client's start\n"
	       "to the last one's end; ratio = pvio / baseline, higher is better.\n");
}

/* Reads, writes and commits, 1 and 16 clients; then remove the nodes. */
static int run_pvio(const struct params *p, struct rate pvio[3][2])
{
	struct xs_handle *h;
	unsigned int k, c;

	for (k = BENCH_READ; k <= BENCH_TX; k++) {
		for (c = 0; c < 2; c++) {
			if (measure(k, 1, nr_clients[c], p, &pvio[k][c]) < 0)
				return -1;
		}
	}
	h = xs_open(0);
	if (!h || !xs_rm(h, XBT_NULL, BENCH_ROOT))
		xb_err(BENCH_ROOT, errno);
	xs_close(h);
	return 0;
}

/* Round trips: one per operation, and three (for commits), 1 and 16 clients. */
static int run_baselines(const struct params *p, struct rate echo[2][2])
{
	unsigned int c;

	for (c = 0; c < 2; c++) {
		if (measure(BENCH_ECHO, 1, nr_clients[c], p, &echo[c][0]) < 0 ||
		    measure(BENCH_ECHO, 3, nr_clients[c], p, &echo[c][1]) < 0)
			return -1;
	}
	return 0;
}

/* -s: the running daemon must answer now. */
static int daemon_check(const char *sock)
{
	struct xs_handle *h;

	setenv("XENSTORED_PATH", sock, 1);
	h = xs_open(0);
	if (!h)
		return xb_err(sock, errno);
	xs_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	struct rate pvio[3][2], echo[2][2];
	struct params p;
	int ret;

	ret = parse_args(argc, argv, &p);
	if (ret)
		return ret < 0;
	/* A peer that goes away must show up as EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	ret = p.socket ? daemon_check(p.socket) : daemon_start();
	if (ret == 0)
		ret = run_pvio(&p, pvio);
	daemon_stop();
	if (ret == 0)
		ret = run_baselines(&p, echo);
	if (ret < 0)
		return 1;
	print_machine(&p);
	print_params(&p);
	print_table(pvio, echo);
	return 0;
}
