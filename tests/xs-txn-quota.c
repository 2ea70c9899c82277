/* SPDX-License-Identifier: MIT */
/*
 * xs-txn-quota.c - quotas inside transactions.  A domain's transaction may
 * touch at most "transaction-nodes" nodes: the request past it fails with
 * ENOSPC and the commit with EAGAIN, as in cxenstored.  The "nodes" quota
 * counts creates and deletes in a transaction as the commit will (deleting
 * dom0's nodes frees none of the domain's), and a commit that would leave
 * the domain past it fails with ENOSPC, applying nothing.  dom0 is held to
 * neither.  A domain writing one node of a long name REPEAT times in one
 * transaction costs the daemon one queued watch event, not REPEAT: its memory
 * stays put, and dom0's watch hears one event at the commit.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

#define DOMID	  5
#define NODES	  10 /* -Q nodes */
#define TX_NODES  20 /* -Q transaction-nodes */
#define DOM0_MANY 100
#define REPEAT	  20000
#define LONG_NAME 1500 /* characters of the repeated node's name */

/* The "nodes" count of CONTROL quota DOMID, or -1. */
static long owned(struct xs_handle *h)
{
	char arg[16], *r, *p;
	long n = -1;

	snprintf(arg, sizeof(arg), "%u", DOMID);
	r = xs_control_command(h, "quota", arg, (unsigned int)strlen(arg) + 1);
	p = r ? strstr(r, "\nnodes") : NULL;
	p = p ? strchr(p, ':') : NULL;
	if (p)
		n = strtol(p + 1, NULL, 10);
	free(r);
	return n;
}

static bool exists(struct xs_handle *h, const char *path)
{
	unsigned int len;
	char *v = xs_read(h, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

/* Four nodes in the domain's home owned by dom0, which the domain may remove. */
static int dom0_nodes(struct xs_handle *h)
{
	struct xs_permissions perms[2] = { { 0, XS_PERM_NONE }, { DOMID, XS_PERM_WRITE } };
	char path[64];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/local/domain/%u/p%d", DOMID, i);
		T_CHECK(xs_write(h, XBT_NULL, path, "", 0), "dom0 write %s", path);
		T_CHECK(xs_set_permissions(h, XBT_NULL, path, perms, 2), "dom0 chown %s", path);
	}
	return 0;
}

/* Removing dom0's nodes in a transaction leaves no room for more of the domain's. */
static int exact_count(struct xs_handle *h, struct xs_handle *g)
{
	char path[16];
	xs_transaction_t t;
	int i;

	for (i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "a%d", i);
		T_CHECK(xs_write(g, XBT_NULL, path, "", 0), "domain write %s", path);
	}
	T_CHECK(owned(h) == 8, "home and 7 nodes: %ld", owned(h));
	T_CHECK((t = xs_transaction_start(g)) != XBT_NULL, "transaction start");
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "p%d", i);
		T_CHECK(xs_rm(g, t, path), "rm dom0's %s in the transaction", path);
	}
	T_CHECK(xs_write(g, t, "b0", "", 0) && xs_write(g, t, "b1", "", 0), "up to the quota");
	T_CHECK(!xs_write(g, t, "b2", "", 0) && errno == ENOSPC, "past the quota: ENOSPC");
	T_CHECK(xs_transaction_end(g, t, false), "commit");
	T_CHECK(owned(h) == NODES, "at the quota after commit: %ld", owned(h));
	T_CHECK(!exists(h, "/local/domain/5/p0") && exists(h, "/local/domain/5/b1"), "applied");
	return 0;
}

/* A commit that would go past the quota is refused whole. */
static int commit_check(struct xs_handle *h, struct xs_handle *g)
{
	xs_transaction_t t;

	T_CHECK(xs_rm(g, XBT_NULL, "b0") && xs_rm(g, XBT_NULL, "b1"), "rm b0 b1");
	T_CHECK((t = xs_transaction_start(g)) != XBT_NULL, "transaction start");
	T_CHECK(xs_write(g, t, "c0", "", 0) && xs_write(g, t, "c1", "", 0), "fits for now");
	T_CHECK(xs_write(g, XBT_NULL, "a7", "", 0), "a node outside the transaction");
	T_CHECK(!xs_transaction_end(g, t, false) && errno == ENOSPC, "commit past it: ENOSPC");
	T_CHECK(owned(h) == NODES - 1, "nothing applied: %ld", owned(h));
	T_CHECK(!exists(h, "/local/domain/5/c0"), "c0 not written");
	return 0;
}

/* Touching more than TX_NODES nodes fails the request and the transaction. */
static int node_limit(struct xs_handle *g)
{
	unsigned int len, i;
	xs_transaction_t t;
	char path[16];
	void *v;

	T_CHECK((t = xs_transaction_start(g)) != XBT_NULL, "transaction start");
	for (i = 0; i < 2 * TX_NODES; i++) {
		snprintf(path, sizeof(path), "r%u", i);
		v = xs_read(g, t, path, &len);
		free(v);
		if (!v && errno == ENOSPC)
			break;
		T_CHECK(!v && errno == ENOENT, "read %s: ENOENT", path);
	}
	T_CHECK(i > 0 && i < TX_NODES, "ENOSPC once the transaction is full (read %u)", i);
	T_CHECK(!xs_rm(g, t, "a0") && errno == ENOSPC, "a change past it too");
	T_CHECK(!xs_transaction_end(g, t, false) && errno == EAGAIN, "commit: EAGAIN");
	return 0;
}

/* dom0 touches and creates more than either quota in one transaction. */
static int dom0_free(struct xs_handle *h)
{
	xs_transaction_t t;
	char path[32];
	int i;

	T_CHECK((t = xs_transaction_start(h)) != XBT_NULL, "dom0 transaction start");
	for (i = 0; i < DOM0_MANY; i++) {
		snprintf(path, sizeof(path), "/tool/many/k%d", i);
		T_CHECK(xs_write(h, t, path, "v", 1), "dom0 write %s", path);
	}
	T_CHECK(xs_transaction_end(h, t, false), "dom0 commit");
	T_CHECK(exists(h, "/tool/many/k99"), "dom0's transaction applied");
	return 0;
}

/* pvio-xenstored's resident memory in KiB, or -1. */
static long xs_rss_kib(void)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)t_xs_pid());
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Watch events h has for token within ms milliseconds of quiet. */
static int events_for(struct xs_handle *h, const char *token, int ms)
{
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
	unsigned int n;
	int count = 0;

	while (poll(&p, 1, ms) == 1) {
		char **w = xs_read_watch(h, &n);

		if (!w)
			break;
		count += !strcmp(w[XS_WATCH_TOKEN], token);
		free(w);
	}
	return count;
}

/* One node written REPEAT times in a transaction: one event queued, one fired. */
static int repeat_writes(struct xs_handle *h, struct xs_handle *g)
{
	static char name[LONG_NAME + 1], abs[LONG_NAME + 32];
	xs_transaction_t t;
	long before, after;
	int heard;

	memset(name, 'n', LONG_NAME);
	snprintf(abs, sizeof(abs), "/local/domain/%u/%s", DOMID, name);
	T_CHECK(xs_watch(h, abs, "rep"), "dom0 watch");
	T_CHECK(events_for(h, "rep", 200) == 1, "the watch's first event");
	before = xs_rss_kib();
	T_CHECK((t = xs_transaction_start(g)) != XBT_NULL, "transaction start");
	for (int i = 0; i < REPEAT; i++)
		T_CHECK(xs_write(g, t, name, i & 1 ? "a" : "b", 1), "write %d", i);
	after = xs_rss_kib();
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps what was freed resident */
	T_CHECK(before > 0 && after > 0 && after - before < 4096,
		"pvio-xenstored grew %ld KiB for %d writes of one node in a transaction",
		after - before, REPEAT);
#else
	(void)before;
	(void)after;
#endif
	T_CHECK(xs_transaction_end(g, t, false), "commit");
	heard = events_for(h, "rep", 300);
	T_CHECK(heard == 1, "dom0 heard %d events for the node at the commit", heard);
	return 0;
}

int main(void)
{
	static const char *const extra[] = { "-Q", "nodes=10", "-Q", "transaction-nodes=20", NULL };
	struct xs_handle *h, *g;

	T_CHECK(t_xs_start((const char *const *)extra) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, DOMID, 0, 0), "INTRODUCE");
	T_CHECK((g = t_xs_open_domain(DOMID)), "domain xs_open");
	if (dom0_nodes(h) || exact_count(h, g) || commit_check(h, g) || node_limit(g) ||
	    dom0_free(h) || repeat_writes(h, g))
		return T_FAIL;
	xs_close(g);
	xs_close(h);
	return T_PASS;
}
