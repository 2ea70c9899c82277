/* SPDX-License-Identifier: MIT */
/*
 * xs-txn-view.c - a transaction reads a stable view (xenstore.txt: "reads
 * and writes happen on the copy"): once it has looked at a node, changes
 * made outside it do not show inside it, for values, children, permissions
 * and whether the node exists; and the commit then fails with EAGAIN.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* Whether path reads as want (NULL: absent) through h in t. */
static bool reads_as(struct xs_handle *h, xs_transaction_t t, const char *path, const char *want)
{
	unsigned int len;
	char *v = xs_read(h, t, path, &len);
	bool ok = want ? v && len == strlen(want) && !memcmp(v, want, len) : !v && errno == ENOENT;

	free(v);
	return ok;
}

/* Whether path in t has exactly n children. */
static bool has_children(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int n)
{
	unsigned int num;
	char **dir = xs_directory(h, t, path, &num);
	bool ok = dir && num == n;

	free(dir);
	return ok;
}

/* Whether path in t has n permission entries. */
static bool has_perms(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int n)
{
	unsigned int num;
	struct xs_permissions *p = xs_get_permissions(h, t, path, &num);
	bool ok = p && num == n;

	free(p);
	return ok;
}

static int check_value(struct xs_handle *h, struct xs_handle *o)
{
	xs_transaction_t t;

	T_CHECK(xs_write(o, XBT_NULL, "/v/a", "a", 1), "setup");
	T_CHECK((t = xs_transaction_start(h)), "start");
	T_CHECK(reads_as(h, t, "/v/a", "a"), "first read in tx");
	T_CHECK(xs_write(o, XBT_NULL, "/v/a", "b", 1), "write outside");
	T_CHECK(reads_as(h, t, "/v/a", "a"), "second read in tx still sees a");
	T_CHECK(reads_as(h, XBT_NULL, "/v/a", "b"), "outside sees b");
	T_CHECK(xs_write(h, t, "/v/a", "c", 1), "write in tx");
	T_CHECK(reads_as(h, t, "/v/a", "c"), "tx sees its own write");
	T_CHECK(!xs_transaction_end(h, t, false) && errno == EAGAIN, "commit: EAGAIN");
	T_CHECK(reads_as(h, XBT_NULL, "/v/a", "b"), "outside write kept");
	return 0;
}

static int check_directory_perms(struct xs_handle *h, struct xs_handle *o)
{
	struct xs_permissions two[2] = { { 0, XS_PERM_NONE }, { 4, XS_PERM_READ } };
	xs_transaction_t t;

	T_CHECK(xs_write(o, XBT_NULL, "/d/x", "", 0), "setup");
	T_CHECK((t = xs_transaction_start(h)), "start");
	T_CHECK(has_children(h, t, "/d", 1), "list in tx");
	T_CHECK(has_perms(h, t, "/d/x", 1), "perms in tx");
	T_CHECK(xs_write(o, XBT_NULL, "/d/y", "", 0), "add a child outside");
	T_CHECK(xs_set_permissions(o, XBT_NULL, "/d/x", two, 2), "set perms outside");
	T_CHECK(has_children(h, t, "/d", 1), "list in tx unchanged");
	T_CHECK(has_perms(h, t, "/d/x", 1), "perms in tx unchanged");
	T_CHECK(has_children(h, XBT_NULL, "/d", 2) && has_perms(h, XBT_NULL, "/d/x", 2),
		"outside sees the changes");
	T_CHECK(!xs_transaction_end(h, t, false) && errno == EAGAIN, "commit: EAGAIN");
	return 0;
}

static int check_existence(struct xs_handle *h, struct xs_handle *o)
{
	xs_transaction_t t;

	T_CHECK(xs_write(o, XBT_NULL, "/e/gone", "g", 1), "setup");
	T_CHECK((t = xs_transaction_start(h)), "start");
	T_CHECK(reads_as(h, t, "/e/new", NULL), "absent in tx");
	T_CHECK(reads_as(h, t, "/e/gone", "g"), "present in tx");
	T_CHECK(xs_write(o, XBT_NULL, "/e/new", "n", 1), "create outside");
	T_CHECK(xs_rm(o, XBT_NULL, "/e/gone"), "remove outside");
	T_CHECK(reads_as(h, t, "/e/new", NULL), "still absent in tx");
	T_CHECK(reads_as(h, t, "/e/gone", "g"), "still present in tx");
	T_CHECK(!xs_transaction_end(h, t, false) && errno == EAGAIN, "commit: EAGAIN");
	/* Abort after the same: nothing to conflict with. */
	T_CHECK((t = xs_transaction_start(h)), "start 2");
	T_CHECK(reads_as(h, t, "/e/new", "n"), "read in tx 2");
	T_CHECK(xs_write(o, XBT_NULL, "/e/new", "m", 1), "write outside 2");
	T_CHECK(reads_as(h, t, "/e/new", "n"), "still n in tx 2");
	T_CHECK(xs_transaction_end(h, t, true), "abort");
	return 0;
}

int main(void)
{
	struct xs_handle *h, *o;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()) && (o = t_xs_open()), "xs_open");
	if (check_value(h, o) || check_directory_perms(h, o) || check_existence(h, o))
		return T_FAIL;
	T_CHECK(t_xs_alive(), "daemon alive");
	xs_close(o);
	xs_close(h);
	return T_PASS;
}
