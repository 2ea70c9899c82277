/* SPDX-License-Identifier: MIT */
/*
 * xs-watch.c - pvio-xenstored's watches: the event at registration, events
 * for the node and below, the watch's own path when a parent is removed,
 * relative paths, @introduceDomain, events of a transaction at commit
 * only, and no events for nodes a domain cannot read (XSA-115).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

static int check_events(struct xs_handle *h, struct xs_handle *w)
{
	xs_transaction_t t;

	T_CHECK(xs_write(h, XBT_NULL, "/w/a", "", 0), "write /w/a");
	T_CHECK(xs_watch(w, "/w", "tok"), "watch /w");
	T_CHECK(t_xs_expect(w, "/w", "tok", 2000), "registration event");
	T_CHECK(xs_write(h, XBT_NULL, "/w/a/b", "1", 1), "write child");
	T_CHECK(t_xs_expect(w, "/w/a/b", "tok", 2000), "child event");
	T_CHECK(xs_watch(w, "/w/a/b", "deep"), "watch /w/a/b");
	T_CHECK(t_xs_expect(w, "/w/a/b", "deep", 2000), "registration event 2");
	T_CHECK(xs_rm(h, XBT_NULL, "/w/a"), "rm parent");
	/* Ours in registration order is not promised: accept either order. */
	char **e1 = t_xs_event(w, 2000), **e2 = t_xs_event(w, 2000);
	int ok = e1 && e2 &&
		 ((!strcmp(e1[0], "/w/a") && !strcmp(e2[0], "/w/a/b") && !strcmp(e2[1], "deep")) ||
		  (!strcmp(e2[0], "/w/a") && !strcmp(e1[0], "/w/a/b") && !strcmp(e1[1], "deep")));
	free(e1);
	free(e2);
	T_CHECK(ok, "parent removal fires the watch below with its own path");
	T_CHECK(xs_unwatch(w, "/w/a/b", "deep"), "unwatch");
	t = xs_transaction_start(h);
	T_CHECK(t, "transaction start");
	T_CHECK(xs_write(h, t, "/w/tx", "1", 1), "write in transaction");
	T_CHECK(!t_xs_event(w, 200), "no event before commit");
	T_CHECK(xs_transaction_end(h, t, false), "commit");
	T_CHECK(t_xs_expect(w, "/w/tx", "tok", 2000), "event at commit");
	return 0;
}

static int check_relative(struct xs_handle *h, struct xs_handle *w)
{
	T_CHECK(xs_watch(w, "rel", "r"), "relative watch");
	T_CHECK(t_xs_expect(w, "rel", "r", 2000), "relative registration event");
	T_CHECK(xs_write(h, XBT_NULL, "/local/domain/0/rel/x", "", 0), "write");
	T_CHECK(t_xs_expect(w, "rel/x", "r", 2000), "relative event path");
	T_CHECK(xs_watch(w, "@introduceDomain", "intro"), "special watch");
	T_CHECK(t_xs_expect(w, "@introduceDomain", "intro", 2000), "special registration");
	T_CHECK(xs_introduce_domain(h, 3, 0, 0), "introduce");
	T_CHECK(t_xs_expect(w, "@introduceDomain", "intro", 2000), "@introduceDomain fired");
	return 0;
}

/* The pipe the guest signals readiness on. */
static int ready_fd = -1;

/* Domain 3 watches its home; a node it cannot read fires nothing. */
static int guest(void)
{
	struct xs_handle *w = t_xs_open_domain(3);

	T_CHECK(w, "domain xs_open");
	T_CHECK(xs_watch(w, "/local/domain/3", "home"), "watch home");
	T_CHECK(t_xs_expect(w, "/local/domain/3", "home", 2000), "registration");
	T_CHECK(write(ready_fd, "r", 1) == 1, "ready");
	T_CHECK(t_xs_expect(w, "/local/domain/3/open", "home", 5000), "readable node event");
	T_CHECK(!t_xs_event(w, 300), "no further event");
	xs_close(w);
	return 0;
}

static int check_filter(struct xs_handle *h)
{
	struct xs_permissions closed[1] = { { 0, XS_PERM_NONE } };
	xs_transaction_t t;
	int p[2];
	char c;
	pid_t pid;

	T_CHECK(pipe(p) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		ready_fd = p[1];
		_exit(guest());
	}
	close(p[1]);
	T_CHECK(read(p[0], &c, 1) == 1, "guest ready");
	/* Created and closed in one transaction: judged by its committed perms. */
	T_CHECK((t = xs_transaction_start(h)), "transaction");
	T_CHECK(xs_write(h, t, "/local/domain/3/hidden", "", 0), "write hidden");
	T_CHECK(xs_set_permissions(h, t, "/local/domain/3/hidden", closed, 1), "chmod");
	T_CHECK(xs_transaction_end(h, t, false), "commit");
	T_CHECK(xs_write(h, XBT_NULL, "/local/domain/3/open", "", 0), "write open");
	T_CHECK(t_wait(pid) == 0, "guest failed");
	return 0;
}

int main(void)
{
	struct xs_handle *h, *w;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()) && (w = t_xs_open()), "xs_open");
	if (check_events(h, w) || check_relative(h, w))
		return T_FAIL;
	if (check_filter(h))
		return T_FAIL;
	xs_close(w);
	xs_close(h);
	return T_PASS;
}
