/* SPDX-License-Identifier: MIT */
/*
 * xs-txn.c - pvio-xenstored's transactions: isolation until commit,
 * EAGAIN when a node the transaction read or wrote changed meanwhile,
 * abort discarding everything, and many transactions at once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

static int check_commit_abort(struct xs_handle *h, struct xs_handle *o)
{
	xs_transaction_t t;
	unsigned int len;
	char *v;

	T_CHECK((t = xs_transaction_start(h)), "start");
	T_CHECK(xs_write(h, t, "/t/a", "1", 1), "write in tx");
	T_CHECK(!xs_read(o, XBT_NULL, "/t/a", &len) && errno == ENOENT, "invisible outside");
	T_CHECK((v = xs_read(h, t, "/t/a", &len)) && len == 1, "visible inside");
	free(v);
	T_CHECK(xs_transaction_end(h, t, false), "commit");
	T_CHECK((v = xs_read(o, XBT_NULL, "/t/a", &len)) && len == 1, "visible after commit");
	free(v);
	T_CHECK((t = xs_transaction_start(h)), "start 2");
	T_CHECK(xs_rm(h, t, "/t"), "rm in tx");
	T_CHECK(xs_write(h, t, "/t2", "", 0), "write in tx 2");
	T_CHECK(xs_transaction_end(h, t, true), "abort");
	T_CHECK((v = xs_read(o, XBT_NULL, "/t/a", &len)), "abort kept /t/a");
	free(v);
	T_CHECK(!xs_read(o, XBT_NULL, "/t2", &len) && errno == ENOENT, "abort dropped /t2");
	T_CHECK(!xs_transaction_end(h, 12345, false) && errno == ENOENT, "unknown tx");
	return 0;
}

static int check_conflict(struct xs_handle *h, struct xs_handle *o)
{
	xs_transaction_t t;
	unsigned int len;
	char *v;

	T_CHECK((t = xs_transaction_start(h)), "start");
	T_CHECK((v = xs_read(h, t, "/t/a", &len)), "read in tx");
	free(v);
	T_CHECK(xs_write(h, t, "/t/b", "x", 1), "write in tx");
	T_CHECK(xs_write(o, XBT_NULL, "/t/a", "2", 1), "concurrent write");
	T_CHECK(!xs_transaction_end(h, t, false) && errno == EAGAIN, "EAGAIN on conflict");
	T_CHECK(!xs_read(o, XBT_NULL, "/t/b", &len) && errno == ENOENT, "nothing applied");
	T_CHECK((t = xs_transaction_start(h)), "start 2");
	T_CHECK(xs_write(h, t, "/u/x", "x", 1), "write elsewhere");
	T_CHECK(xs_write(o, XBT_NULL, "/t/c", "2", 1), "unrelated write");
	T_CHECK(xs_transaction_end(h, t, false), "no conflict commits");
	return 0;
}

static int check_many(struct xs_handle *h)
{
	xs_transaction_t t[8];
	char path[32];
	int i;

	for (i = 0; i < 8; i++) {
		T_CHECK((t[i] = xs_transaction_start(h)), "start %d", i);
		snprintf(path, sizeof(path), "/m/%d", i);
		T_CHECK(xs_write(h, t[i], path, "v", 1), "write %d", i);
	}
	/* Each adds a child to /m, so only the first to commit wins. */
	T_CHECK(xs_transaction_end(h, t[0], false), "first commit");
	for (i = 1; i < 8; i++)
		T_CHECK(!xs_transaction_end(h, t[i], false) && errno == EAGAIN, "conflict %d", i);
	return 0;
}

int main(void)
{
	struct xs_handle *h, *o;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()) && (o = t_xs_open()), "xs_open");
	T_CHECK(xs_write(h, XBT_NULL, "/m", "", 0), "write /m");
	if (check_commit_abort(h, o) || check_conflict(h, o) || check_many(h))
		return T_FAIL;
	xs_close(o);
	xs_close(h);
	return T_PASS;
}
