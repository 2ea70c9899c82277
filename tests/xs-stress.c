/* SPDX-License-Identifier: MIT */
/*
 * xs-stress - 50 client processes, 1000 operations each, against one
 * pvio-xenstored, through Debian's libxenstore.
 *
 * Client c owns /stress/c: it writes, reads and removes the keys k0..k99,
 * makes and removes the directories d0..d9 (some with a child x), lists its
 * directory, and runs transactions that write three of its keys and
 * increment the shared /stress/counter, retrying on EAGAIN as libxenstore
 * callers do.  Every client increments the same counter, so transactions
 * conflict for real.  Some transactions are aborted on purpose, and must
 * leave no trace and fire no watch.
 *
 * Each client's operations come from a generator seeded with c, so the
 * final contents of /stress/c are known: the parent replays the generator
 * without the daemon and checks the whole tree, and checks that the counter
 * equals the number of committed increments.
 *
 * Each client watches /stress/c on a second connection and checks its
 * events: the registration event first, then at least one event for every
 * node it changed, and none for a node it never changed or outside
 * /stress/c.  It does not count events: several writes to one node may
 * each fire one.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

#define NR_CLIENTS     50
#define NR_OPS	       1000  /* per client */
#define NR_KEYS	       100   /* k0..k99 */
#define NR_DIRS	       10    /* d0..d9 */
#define TX_KEYS	       3     /* keys written by one transaction */
#define TX_RETRIES_MAX 10000 /* a transaction that conflicts this often fails the test */
#define VAL_LEN	       32
#define PATH_LEN       64
#define EVENT_WAIT_MS  20000 /* for the last events, after the last operation */
#define READY_WAIT_MS  30000 /* for every client to connect and watch */
#define COUNTER	       "/stress/counter"

/* Nodes of /stress/c a watch event can name; an index into want/allowed/seen. */
enum {
	SLOT_ROOT = 0,			  /* /stress/c itself */
	SLOT_KEY = 1,			  /* kI */
	SLOT_DIR = SLOT_KEY + NR_KEYS,	  /* dI */
	SLOT_CHILD = SLOT_DIR + NR_DIRS,  /* dI/x */
	SLOT_DONE = SLOT_CHILD + NR_DIRS, /* done, written last */
	NR_SLOTS
};

/* What one client's subtree holds after a given operation. */
struct model {
	char key[NR_KEYS][VAL_LEN];   /* value of kI, "" while absent */
	bool dir[NR_DIRS];	      /* dI exists */
	char child[NR_DIRS][VAL_LEN]; /* value of dI/x, "" while absent */
};

enum op_kind {
	OP_WRITE,    /* write kI */
	OP_READ,     /* read kI and compare */
	OP_RM_KEY,   /* remove kI, which exists */
	OP_TX,	     /* write TX_KEYS keys, maybe increment the counter, in a transaction */
	OP_TX_ABORT, /* write kI and aborted/kI in a transaction, then abort it */
	OP_MKDIR,    /* make dI, which does not exist */
	OP_CHILD,    /* write dI/x, making dI if needed */
	OP_RM_DIR,   /* remove dI and its child, dI exists */
	OP_LIST,     /* list /stress/c and compare */
};

struct op {
	enum op_kind kind;	   /* what to do */
	unsigned int idx[TX_KEYS]; /* the key or directory; TX_KEYS distinct keys for OP_TX */
	char val[VAL_LEN];	   /* the value written, unique to client and operation */
	bool counter;		   /* OP_TX: also increment /stress/counter */
};

/* A client's figures, in memory shared with the parent. */
struct result {
	unsigned long commits;	   /* committed OP_TX transactions */
	unsigned long increments;  /* committed counter increments */
	unsigned long retries;	   /* transactions retried after EAGAIN */
	unsigned long max_retries; /* most retries of one transaction */
	unsigned long events;	   /* watch events received */
	int finished;		   /* 1 once every check passed */
};

/* One client process. */
struct client {
	unsigned int id;		 /* c */
	unsigned int op;		 /* the operation running, for messages */
	uint64_t rng;			 /* the operation generator's state */
	uint64_t jitter;		 /* the retry backoff's, apart so replay ignores it */
	struct xs_handle *h;		 /* the connection for operations */
	struct xs_handle *w;		 /* the connection holding the watch */
	char root[24];			 /* /stress/c */
	char token[16];			 /* the watch's token */
	struct model m;			 /* what /stress/c holds */
	unsigned char want[NR_SLOTS];	 /* changed: an event must arrive */
	unsigned char allowed[NR_SLOTS]; /* an event may arrive */
	unsigned char seen[NR_SLOTS];	 /* an event arrived */
	struct result *res;		 /* this client's shared figures */
};

__attribute__((format(printf, 2, 3))) static int cl_fail(struct client *cl, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "FAIL client %u, operation %u: ", cl->id, cl->op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno: %s)\n", strerror(err));
	return -1;
}

/* xorshift64*: the same sequence in the client and in the parent's replay. */
static unsigned int rng_next(uint64_t *s, unsigned int bound)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (unsigned int)((*s * 0x2545f4914f6cdd1dull) >> 33) % bound;
}

static uint64_t rng_seed(unsigned int client)
{
	return 0x9e3779b97f4a7c15ull * (client + 1);
}

/* Draw TX_KEYS distinct keys. */
static void op_tx_keys(uint64_t *rng, struct op *op)
{
	unsigned int i, j;

	for (i = 0; i < TX_KEYS; i++) {
		op->idx[i] = rng_next(rng, NR_KEYS);
		for (j = 0; j < i; j++) {
			if (op->idx[j] == op->idx[i]) {
				op->idx[i] = (op->idx[i] + 1) % NR_KEYS;
				j = (unsigned int)-1;
			}
		}
	}
}

/* The next operation; it depends on the model so that removals hit existing nodes. */
static void op_next(uint64_t *rng, const struct model *m, unsigned int client, unsigned int n,
		    struct op *op)
{
	unsigned int r = rng_next(rng, 100), i = rng_next(rng, NR_KEYS), d = i % NR_DIRS;

	memset(op, 0, sizeof(*op));
	snprintf(op->val, sizeof(op->val), "c%u-op%u", client, n);
	op->idx[0] = r < 74 ? i : d;
	if (r < 35)
		op->kind = OP_WRITE;
	else if (r < 47)
		op->kind = OP_READ;
	else if (r < 52)
		op->kind = m->key[i][0] ? OP_RM_KEY : OP_WRITE;
	else if (r < 70)
		op->kind = OP_TX;
	else if (r < 74)
		op->kind = OP_TX_ABORT;
	else if (r < 80)
		op->kind = m->dir[d] ? OP_LIST : OP_MKDIR;
	else if (r < 87)
		op->kind = OP_CHILD;
	else if (r < 93)
		op->kind = m->dir[d] ? OP_RM_DIR : OP_MKDIR;
	else
		op->kind = OP_LIST;
	if (op->kind == OP_TX) {
		op_tx_keys(rng, op);
		op->counter = rng_next(rng, 3) == 0;
	}
}

/* What a successful operation leaves in the subtree. */
static void model_apply(struct model *m, const struct op *op)
{
	unsigned int i, n = op->idx[0];

	switch (op->kind) {
	case OP_WRITE:
		strcpy(m->key[n], op->val);
		break;
	case OP_RM_KEY:
		m->key[n][0] = '\0';
		break;
	case OP_TX:
		for (i = 0; i < TX_KEYS; i++)
			strcpy(m->key[op->idx[i]], op->val);
		break;
	case OP_CHILD:
		strcpy(m->child[n], op->val);
		m->dir[n] = true; /* writing dI/x makes dI */
		break;
	case OP_MKDIR:
		m->dir[n] = true;
		break;
	case OP_RM_DIR:
		m->dir[n] = false;
		m->child[n][0] = '\0';
		break;
	default:
		break;
	}
}

/* The slot a name under /stress/c stands for, or -1. */
static int slot_of(const char *rel)
{
	unsigned int n;
	int end = 0;

	if (!*rel)
		return SLOT_ROOT;
	if (!strcmp(rel, "done"))
		return SLOT_DONE;
	if (sscanf(rel, "k%2u%n", &n, &end) == 1 && !rel[end] && n < NR_KEYS)
		return SLOT_KEY + (int)n;
	if (sscanf(rel, "d%1u%n", &n, &end) == 1 && !rel[end])
		return SLOT_DIR + (int)n;
	if (sscanf(rel, "d%1u/x%n", &n, &end) == 1 && !rel[end])
		return SLOT_CHILD + (int)n;
	return -1;
}

/* Whether the model holds the node in a slot. */
static bool model_has(const struct model *m, int slot, bool done)
{
	if (slot >= SLOT_KEY && slot < SLOT_DIR)
		return m->key[slot - SLOT_KEY][0] != '\0';
	if (slot >= SLOT_DIR && slot < SLOT_CHILD)
		return m->dir[slot - SLOT_DIR];
	if (slot >= SLOT_CHILD && slot < SLOT_DONE)
		return m->child[slot - SLOT_CHILD][0] != '\0';
	return slot == SLOT_DONE && done;
}

/* Compare a listing of /stress/c with the model; 0 or -1 with *bad naming the culprit. */
static int model_check_list(const struct model *m, char **names, unsigned int num, bool done,
			    const char **bad)
{
	unsigned int i, expected = 0;
	int slot;

	*bad = "(count)";
	for (slot = SLOT_KEY; slot < SLOT_CHILD; slot++)
		expected += model_has(m, slot, done);
	expected += done;
	for (i = 0; i < num; i++) {
		slot = slot_of(names[i]);
		if (slot < SLOT_KEY || (slot >= SLOT_CHILD && slot != SLOT_DONE) ||
		    !model_has(m, slot, done)) {
			*bad = names[i];
			return -1;
		}
	}
	return num == expected ? 0 : -1;
}

/* A model value: "" stands for a node that does not exist. */
static const char *or_absent(const char *v)
{
	return *v ? v : NULL;
}

/* Read path and compare with want (NULL: absent); 0 or -1 with *why set. */
static int check_value(struct xs_handle *h, xs_transaction_t t, const char *path, const char *want,
		       const char **why)
{
	unsigned int len;
	char *v = xs_read(h, t, path, &len);
	int ret = 0;

	if (!want && (v || errno != ENOENT)) {
		*why = v ? "present, should be absent" : "read failed, should be ENOENT";
		ret = -1;
	} else if (want && (!v || len != strlen(want) || memcmp(v, want, len))) {
		*why = v ? "wrong value" : "read failed";
		ret = -1;
	}
	free(v);
	return ret;
}

static void cl_path(const struct client *cl, char *buf, const char *fmt, unsigned int n)
{
	char rel[24];

	snprintf(rel, sizeof(rel), fmt, n);
	snprintf(buf, PATH_LEN, "%s/%s", cl->root, rel);
}

static void cl_mark(struct client *cl, int slot, bool want)
{
	cl->allowed[slot] = 1;
	if (want)
		cl->want[slot] = 1;
}

/* One watch event: our token, under our root, for a node we changed. */
static int cl_event(struct client *cl, char **vec)
{
	const char *path = vec[XS_WATCH_PATH];
	size_t rootlen = strlen(cl->root);
	int slot = -1;

	cl->res->events++;
	if (strcmp(vec[XS_WATCH_TOKEN], cl->token))
		return cl_fail(cl, "event with token %s, not ours", vec[XS_WATCH_TOKEN]);
	if (!strncmp(path, cl->root, rootlen) && (!path[rootlen] || path[rootlen] == '/'))
		slot = slot_of(path[rootlen] ? path + rootlen + 1 : "");
	if (slot < 0 || !cl->allowed[slot])
		return cl_fail(cl, "event for %s, which this client never changed", path);
	cl->seen[slot] = 1;
	return 0;
}

/* Take every queued event; with timeout_ms, wait that long for one if none is queued. */
static int cl_drain(struct client *cl, int timeout_ms)
{
	struct pollfd pfd = { .fd = xs_fileno(cl->w), .events = POLLIN };
	char **vec;
	int ret;

	for (;;) {
		vec = xs_check_watch(cl->w);
		if (vec) {
			ret = cl_event(cl, vec);
			free(vec);
			if (ret < 0)
				return ret;
			timeout_ms = 0;
			continue;
		}
		if (errno != EAGAIN)
			return cl_fail(cl, "xs_check_watch");
		if (timeout_ms <= 0 || poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		timeout_ms = 0;
	}
}

/* Wait until every node we changed has fired; all changes have been made. */
static int cl_wait_events(struct client *cl)
{
	uint64_t deadline = t_now_ms() + EVENT_WAIT_MS;
	int slot;

	for (slot = 0; slot < NR_SLOTS; slot++) {
		while (cl->want[slot] && !cl->seen[slot]) {
			if (t_now_ms() >= deadline)
				return cl_fail(cl, "no watch event for slot %d (%s/...)", slot,
					       cl->root);
			if (cl_drain(cl, 100) < 0)
				return -1;
		}
	}
	return cl_drain(cl, 0);
}

/* Open both connections, watch /stress/c and take the registration event. */
static int cl_open(struct client *cl)
{
	char **vec;

	cl->h = xs_open(0);
	cl->w = xs_open(0);
	if (!cl->h || !cl->w)
		return cl_fail(cl, "xs_open");
	xs_fileno(cl->w);
	if (!xs_watch(cl->w, cl->root, cl->token))
		return cl_fail(cl, "xs_watch %s", cl->root);
	vec = xs_read_watch(cl->w, &(unsigned int){ 0 });
	if (!vec)
		return cl_fail(cl, "xs_read_watch");
	if (strcmp(vec[XS_WATCH_PATH], cl->root) || strcmp(vec[XS_WATCH_TOKEN], cl->token)) {
		free(vec);
		return cl_fail(cl, "first event is not the registration event of %s", cl->root);
	}
	free(vec);
	cl->res->events++;
	cl->seen[SLOT_ROOT] = 1;
	return 0;
}

/* Increment the shared counter in t: 0, -EAGAIN to retry, or -1 (reported). */
static int tx_counter(struct client *cl, xs_transaction_t t)
{
	unsigned long count;
	char num[24], *v;

	v = xs_read(cl->h, t, COUNTER, NULL);
	if (!v)
		return errno == EAGAIN ? -EAGAIN
				       : cl_fail(cl, "xs_read %s in transaction", COUNTER);
	count = strtoul(v, NULL, 10);
	free(v);
	snprintf(num, sizeof(num), "%lu", count + 1);
	if (!xs_write(cl->h, t, COUNTER, num, strlen(num)))
		return errno == EAGAIN ? -EAGAIN : cl_fail(cl, "xs_write %s", COUNTER);
	return 0;
}

/* The body of one OP_TX attempt: 0, -EAGAIN to retry, or -1 (reported). */
static int tx_body(struct client *cl, xs_transaction_t t, const struct op *op)
{
	char path[PATH_LEN];
	const char *why;
	unsigned int i;
	int ret;

	if (op->counter && (ret = tx_counter(cl, t)) < 0)
		return ret;
	for (i = 0; i < TX_KEYS; i++) {
		cl_path(cl, path, "k%u", op->idx[i]);
		cl_mark(cl, SLOT_KEY + (int)op->idx[i], true);
		if (!xs_write(cl->h, t, path, op->val, strlen(op->val)))
			return errno == EAGAIN ? -EAGAIN : cl_fail(cl, "xs_write %s", path);
	}
	cl_path(cl, path, "k%u", op->idx[0]);
	if (check_value(cl->h, t, path, op->val, &why) < 0)
		return errno == EAGAIN ? -EAGAIN : cl_fail(cl, "%s in transaction: %s", path, why);
	return 0;
}

/*
 * After a conflict, sleep a random time up to 50 us doubled per retry (at
 * most 12.8 ms), so that fifty clients on two CPUs do not retry in lockstep.
 */
static void tx_backoff(struct client *cl, unsigned long tries)
{
	unsigned int max_us = 50u << (tries < 8 ? tries : 8);

	usleep(rng_next(&cl->jitter, max_us));
}

/* OP_TX, retried on EAGAIN, at most TX_RETRIES_MAX times. */
static int op_tx(struct client *cl, const struct op *op)
{
	unsigned long tries;
	xs_transaction_t t;
	int ret;

	for (tries = 0; tries <= TX_RETRIES_MAX; tries++) {
		t = xs_transaction_start(cl->h);
		if (t == XBT_NULL)
			return cl_fail(cl, "xs_transaction_start");
		ret = tx_body(cl, t, op);
		if (ret == -1) {
			xs_transaction_end(cl->h, t, true);
			return -1;
		}
		if (ret == 0 && xs_transaction_end(cl->h, t, false)) {
			cl->res->increments += op->counter;
			cl->res->commits++;
			cl->res->retries += tries;
			if (tries > cl->res->max_retries)
				cl->res->max_retries = tries;
			return 0;
		}
		if (ret == -EAGAIN)
			xs_transaction_end(cl->h, t, true);
		else if (errno != EAGAIN)
			return cl_fail(cl, "xs_transaction_end");
		tx_backoff(cl, tries);
	}
	return cl_fail(cl, "transaction still conflicting after %d retries", TX_RETRIES_MAX);
}

/* OP_TX_ABORT: writes that must vanish, and fire nothing, when aborted. */
static int op_tx_abort(struct client *cl, const struct op *op)
{
	char path[PATH_LEN], gone[PATH_LEN];
	xs_transaction_t t;
	const char *why;

	cl_path(cl, path, "k%u", op->idx[0]);
	cl_path(cl, gone, "aborted/k%u", op->idx[0]);
	t = xs_transaction_start(cl->h);
	if (t == XBT_NULL)
		return cl_fail(cl, "xs_transaction_start");
	if (!xs_write(cl->h, t, gone, op->val, strlen(op->val)) ||
	    !xs_write(cl->h, t, path, op->val, strlen(op->val)))
		return cl_fail(cl, "xs_write in a transaction to abort");
	if (check_value(cl->h, t, gone, op->val, &why) < 0)
		return cl_fail(cl, "%s in transaction: %s", gone, why);
	if (!xs_transaction_end(cl->h, t, true))
		return cl_fail(cl, "xs_transaction_end(abort)");
	if (check_value(cl->h, XBT_NULL, gone, NULL, &why) < 0)
		return cl_fail(cl, "%s after abort: %s", gone, why);
	if (check_value(cl->h, XBT_NULL, path, or_absent(cl->m.key[op->idx[0]]), &why) < 0)
		return cl_fail(cl, "%s after abort: %s", path, why);
	return 0;
}

static int op_list(struct client *cl)
{
	unsigned int num;
	const char *bad;
	char **names;
	int ret;

	names = xs_directory(cl->h, XBT_NULL, cl->root, &num);
	if (!names)
		return cl_fail(cl, "xs_directory %s", cl->root);
	ret = model_check_list(&cl->m, names, num, false, &bad);
	free(names);
	if (ret < 0)
		return cl_fail(cl, "xs_directory %s: %u entries, unexpected %s", cl->root, num,
			       bad);
	return 0;
}

/* The single-request operations. */
static int op_simple(struct client *cl, const struct op *op)
{
	unsigned int n = op->idx[0];
	char path[PATH_LEN];
	const char *why;
	bool ok = true;

	cl_path(cl, path, op->kind == OP_CHILD ? "d%u/x" : op->kind >= OP_MKDIR ? "d%u" : "k%u", n);
	if (op->kind == OP_READ) {
		if (check_value(cl->h, XBT_NULL, path, or_absent(cl->m.key[n]), &why) < 0)
			return cl_fail(cl, "%s: %s", path, why);
		return 0;
	}
	cl_mark(cl, op->kind >= OP_MKDIR ? SLOT_DIR + (int)n : SLOT_KEY + (int)n,
		op->kind != OP_CHILD);
	/* Only a directory operation can touch dI/x; n indexes keys otherwise. */
	if (op->kind >= OP_MKDIR)
		cl_mark(cl, SLOT_CHILD + (int)n, op->kind == OP_CHILD);
	if (op->kind == OP_WRITE || op->kind == OP_CHILD)
		ok = xs_write(cl->h, XBT_NULL, path, op->val, strlen(op->val));
	else if (op->kind == OP_MKDIR)
		ok = xs_mkdir(cl->h, XBT_NULL, path);
	else if (op->kind == OP_RM_KEY || op->kind == OP_RM_DIR)
		ok = xs_rm(cl->h, XBT_NULL, path);
	return ok ? 0 : cl_fail(cl, "operation %d on %s", op->kind, path);
}

static int cl_run_op(struct client *cl, const struct op *op)
{
	if (op->kind == OP_TX)
		return op_tx(cl, op);
	if (op->kind == OP_TX_ABORT)
		return op_tx_abort(cl, op);
	if (op->kind == OP_LIST)
		return op_list(cl);
	return op_simple(cl, op);
}

/* Run every operation, then write done and wait for the events. */
static int cl_run(struct client *cl)
{
	char path[PATH_LEN];
	struct op op;

	for (cl->op = 0; cl->op < NR_OPS; cl->op++) {
		op_next(&cl->rng, &cl->m, cl->id, cl->op, &op);
		if (cl_run_op(cl, &op) < 0)
			return -1;
		model_apply(&cl->m, &op);
		if (cl_drain(cl, 0) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/done", cl->root);
	cl_mark(cl, SLOT_DONE, true);
	if (!xs_write(cl->h, XBT_NULL, path, "1", 1))
		return cl_fail(cl, "xs_write %s", path);
	return cl_wait_events(cl);
}

/* A client process: connect, watch, say ready, wait for go, run. */
static int client_main(unsigned int id, struct result *res, int ready_fd, int go_fd)
{
	static struct client cl;
	char c = 0;
	int ret;

	memset(&cl, 0, sizeof(cl));
	cl.id = id;
	cl.res = res;
	cl.rng = rng_seed(id);
	cl.jitter = rng_seed(id + NR_CLIENTS);
	snprintf(cl.root, sizeof(cl.root), "/stress/%u", id);
	snprintf(cl.token, sizeof(cl.token), "tok%u", id);
	cl_mark(&cl, SLOT_ROOT, false);
	ret = cl_open(&cl);
	if (ret == 0 && (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) < 0))
		ret = cl_fail(&cl, "start barrier");
	if (ret == 0)
		ret = cl_run(&cl);
	xs_close(cl.w);
	xs_close(cl.h);
	res->finished = ret == 0;
	return ret == 0 ? T_PASS : T_FAIL;
}

/* /stress/counter = 0 and an empty /stress/c for every client. */
static int tree_setup(void)
{
	struct xs_handle *h = xs_open(0);
	char path[PATH_LEN];
	unsigned int c;
	int ret = 0;

	if (!h || !xs_write(h, XBT_NULL, COUNTER, "0", 1))
		ret = -1;
	for (c = 0; c < NR_CLIENTS && ret == 0; c++) {
		snprintf(path, sizeof(path), "/stress/%u", c);
		if (!xs_mkdir(h, XBT_NULL, path))
			ret = -1;
	}
	if (ret < 0)
		fprintf(stderr, "FAIL setting up /stress: %s\n", strerror(errno));
	xs_close(h);
	return ret;
}

/* Wait for n ready bytes, READY_WAIT_MS at most. */
static int wait_ready(int fd, unsigned int n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[NR_CLIENTS];
	ssize_t got;

	while (n > 0) {
		if (poll(&pfd, 1, READY_WAIT_MS) <= 0)
			return -1;
		got = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (got <= 0)
			return -1;
		n -= (unsigned int)got;
	}
	return 0;
}

/* Fork the clients, release them together once all are watching, reap them. */
static int run_clients(struct result *res, pid_t *pids)
{
	int ready[2], go[2], status, ret = 0;
	unsigned int c;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return -1;
	for (c = 0; c < NR_CLIENTS; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			close(ready[0]);
			close(go[1]);
			_exit(client_main(c, &res[c], ready[1], go[0]));
		}
		if (pids[c] < 0)
			return -1;
	}
	close(ready[1]);
	close(go[0]);
	if (wait_ready(ready[0], NR_CLIENTS) < 0) {
		fprintf(stderr, "FAIL not every client connected and watched\n");
		ret = -1;
	}
	close(go[1]);
	for (c = 0; c < NR_CLIENTS; c++) {
		while (waitpid(pids[c], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !res[c].finished)
			ret = -1;
	}
	close(ready[0]);
	return ret;
}

/* Replay client c's operations without the daemon. */
static void model_replay(unsigned int c, struct model *m)
{
	uint64_t rng = rng_seed(c);
	struct op op;
	unsigned int n;

	memset(m, 0, sizeof(*m));
	for (n = 0; n < NR_OPS; n++) {
		op_next(&rng, m, c, n, &op);
		model_apply(m, &op);
	}
}

/* Every value under /stress/c against the replayed model; 0 or -1 (reported). */
static int verify_values(struct xs_handle *h, unsigned int c, const struct model *m)
{
	char path[PATH_LEN];
	const char *why;
	unsigned int i;

	for (i = 0; i < NR_KEYS; i++) {
		snprintf(path, sizeof(path), "/stress/%u/k%u", c, i);
		if (check_value(h, XBT_NULL, path, or_absent(m->key[i]), &why) < 0)
			goto bad;
	}
	for (i = 0; i < NR_DIRS; i++) {
		snprintf(path, sizeof(path), "/stress/%u/d%u", c, i);
		if (check_value(h, XBT_NULL, path, m->dir[i] ? "" : NULL, &why) < 0)
			goto bad;
		snprintf(path, sizeof(path), "/stress/%u/d%u/x", c, i);
		if (check_value(h, XBT_NULL, path, or_absent(m->child[i]), &why) < 0)
			goto bad;
	}
	snprintf(path, sizeof(path), "/stress/%u/aborted", c);
	if (check_value(h, XBT_NULL, path, NULL, &why) < 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "FAIL final tree: %s: %s\n", path, why);
	return -1;
}

/* dI lists x alone if it has a child, nothing otherwise. */
static bool child_list_ok(char **names, unsigned int num, bool has_child)
{
	if (!names)
		return false;
	if (!has_child)
		return num == 0;
	return num == 1 && !strcmp(names[0], "x");
}

/* The listing of /stress/c and of each dI against the replayed model. */
static int verify_lists(struct xs_handle *h, unsigned int c, const struct model *m)
{
	char path[PATH_LEN], **names;
	unsigned int i, num;
	const char *bad = "(missing)";
	int ret;

	snprintf(path, sizeof(path), "/stress/%u", c);
	names = xs_directory(h, XBT_NULL, path, &num);
	ret = names ? model_check_list(m, names, num, true, &bad) : -1;
	free(names);
	for (i = 0; i < NR_DIRS && ret == 0; i++) {
		if (!m->dir[i])
			continue;
		snprintf(path, sizeof(path), "/stress/%u/d%u", c, i);
		names = xs_directory(h, XBT_NULL, path, &num);
		bad = "(listing)";
		ret = child_list_ok(names, num, m->child[i][0] != '\0') ? 0 : -1;
		free(names);
	}
	if (ret < 0)
		fprintf(stderr, "FAIL final tree: xs_directory %s: unexpected %s\n", path, bad);
	return ret;
}

/* The counter against the committed increments, then each client's subtree. */
static int verify_tree(const struct result *res)
{
	struct xs_handle *h = xs_open(0);
	unsigned long total = 0;
	static struct model m;
	char want[24];
	const char *why;
	unsigned int c;
	int ret = 0;

	if (!h) {
		fprintf(stderr, "FAIL xs_open: %s\n", strerror(errno));
		return -1;
	}
	for (c = 0; c < NR_CLIENTS; c++)
		total += res[c].increments;
	snprintf(want, sizeof(want), "%lu", total);
	if (check_value(h, XBT_NULL, COUNTER, want, &why) < 0) {
		fprintf(stderr, "FAIL %s: %s, should be %s\n", COUNTER, why, want);
		ret = -1;
	}
	for (c = 0; c < NR_CLIENTS && ret == 0; c++) {
		model_replay(c, &m);
		ret = verify_values(h, c, &m);
		if (ret == 0)
			ret = verify_lists(h, c, &m);
	}
	xs_close(h);
	return ret;
}

static void report(const struct result *res, uint64_t ms)
{
	unsigned long commits = 0, inc = 0, retries = 0, max = 0, events = 0;
	unsigned int c;

	for (c = 0; c < NR_CLIENTS; c++) {
		commits += res[c].commits;
		inc += res[c].increments;
		retries += res[c].retries;
		events += res[c].events;
		if (res[c].max_retries > max)
			max = res[c].max_retries;
	}
	printf("xs-stress: %u clients x %u operations in %.1f s: %lu transactions committed "
	       "(%lu incrementing the counter) after %lu retries (at most %lu for one), "
	       "%lu watch events\n",
	       NR_CLIENTS, NR_OPS, (double)ms / 1000, commits, inc, retries, max, events);
}

int main(void)
{
	static pid_t pids[NR_CLIENTS];
	struct result *res;
	uint64_t start;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ret = t_xs_start(NULL);
	T_CHECK(ret == 0, "pvio-xenstored did not start: %s", strerror(-ret));
	/* Sanitizer builds outrun t_xs_start()'s 120 s alarm; clients bound their own waits. */
	t_time_limit(600);
	res = mmap(NULL, sizeof(*res) * NR_CLIENTS, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		fprintf(stderr, "FAIL mmap: %s\n", strerror(errno));
		return T_FAIL;
	}
	if (tree_setup() < 0)
		return T_FAIL;
	start = t_now_ms();
	ret = run_clients(res, pids);
	/* A crash of the daemon is a failure whatever the tree says. */
	if (!t_xs_alive() || ret < 0 || verify_tree(res) < 0)
		return T_FAIL;
	report(res, t_now_ms() - start);
	return T_PASS;
}
