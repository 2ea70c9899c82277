/* SPDX-License-Identifier: MIT */
/*
 * xs-watch-rm-perms.c - removing a subtree tells a domain of each removed
 * node it may read, judged by that node's own permissions, even when it may
 * not read the removed top (xenstore.txt: a client "may rely on being sent
 * a watch when a path which it _is_ able to read is deleted even if that
 * leaves only a nonexistent unreadable parent"); nodes it may not read stay
 * silent, and a watcher who may read the top hears of each watch once.
 * Outside a transaction and at a transaction's commit.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

#define GUEST 13

/* Build top (dom0 only), top/child and top/child/deep (readable by GUEST), top/other (not). */
static int build(struct xs_handle *h, const char *top)
{
	struct xs_permissions closed[1] = { { 0, XS_PERM_NONE } };
	struct xs_permissions open[2] = { { 0, XS_PERM_NONE }, { GUEST, XS_PERM_READ } };
	char path[64];

	snprintf(path, sizeof(path), "%s/child", top);
	T_CHECK(xs_write(h, XBT_NULL, path, "", 0), "write %s", path);
	T_CHECK(xs_set_permissions(h, XBT_NULL, top, closed, 1), "chmod %s", top);
	T_CHECK(xs_set_permissions(h, XBT_NULL, path, open, 2), "chmod %s", path);
	snprintf(path, sizeof(path), "%s/child/deep", top);
	T_CHECK(xs_write(h, XBT_NULL, path, "", 0), "write %s", path);
	snprintf(path, sizeof(path), "%s/other", top);
	T_CHECK(xs_write(h, XBT_NULL, path, "", 0), "write %s", path);
	return 0;
}

/* Watch path with token on w and take the registration event. */
static int watch(struct xs_handle *w, const char *path, const char *token)
{
	T_CHECK(xs_watch(w, path, token), "watch %s", path);
	T_CHECK(t_xs_expect(w, path, token, 5000), "registration event of %s", path);
	return 0;
}

/* An event a watcher should hear, and how often it did. */
struct want {
	const char *path;  /* the event's path */
	const char *token; /* its token */
	int hits;	   /* times heard */
};

/*
 * Fire w's "mark" watch on mark through h, then count the events of w up to
 * it in want[0..n): the number of other events, or -1 if the marker never came.
 */
static int drain(struct xs_handle *h, struct xs_handle *w, const char *mark, struct want *want,
		 int n)
{
	int i, others = 0;
	char **ev;

	if (!xs_write(h, XBT_NULL, mark, "m", 1))
		return -1;
	while ((ev = t_xs_event(w, 5000))) {
		if (!strcmp(ev[XS_WATCH_TOKEN], "mark")) {
			free(ev);
			return others;
		}
		for (i = 0; i < n; i++) {
			if (!strcmp(ev[XS_WATCH_PATH], want[i].path) &&
			    !strcmp(ev[XS_WATCH_TOKEN], want[i].token))
				break;
		}
		if (i < n) {
			want[i].hits++;
		} else {
			fprintf(stderr, "unwanted event %s %s\n", ev[XS_WATCH_PATH],
				ev[XS_WATCH_TOKEN]);
			others++;
		}
		free(ev);
	}
	return -1;
}

/* Remove top (in a transaction if in_tx) and check what the guest and dom0 hear. */
static int check_rm(struct xs_handle *h, struct xs_handle *g, struct xs_handle *w, const char *top,
		    bool in_tx)
{
	char child[64], deep[64], other[64];
	struct want gw[2] = { { child, "c", 0 }, { deep, "d", 0 } }, ww[1] = { { child, "c0", 0 } };
	xs_transaction_t t = XBT_NULL;

	if (build(h, top))
		return T_FAIL;
	snprintf(child, sizeof(child), "%s/child", top);
	snprintf(deep, sizeof(deep), "%s/child/deep", top);
	snprintf(other, sizeof(other), "%s/other", top);
	if (watch(g, child, "c") || watch(g, deep, "d") || watch(g, other, "o") ||
	    watch(w, child, "c0"))
		return T_FAIL;
	T_CHECK(!in_tx || (t = xs_transaction_start(h)), "transaction start");
	T_CHECK(xs_rm(h, t, top), "rm %s", top);
	T_CHECK(!in_tx || xs_transaction_end(h, t, false), "commit");
	/* Each marker fires after the removal, so it comes after every event of it. */
	T_CHECK(drain(h, g, "/local/domain/13/mark", gw, 2) == 0, "guest: no stray event");
	T_CHECK(gw[0].hits == 1, "guest heard of %s %d times", child, gw[0].hits);
	T_CHECK(gw[1].hits == 1, "guest heard of %s %d times", deep, gw[1].hits);
	T_CHECK(drain(h, w, "/mark0", ww, 1) == 0, "dom0: no stray event");
	T_CHECK(ww[0].hits == 1, "dom0 heard of %s %d times", child, ww[0].hits);
	T_CHECK(xs_unwatch(g, child, "c") && xs_unwatch(g, deep, "d") &&
		    xs_unwatch(g, other, "o") && xs_unwatch(w, child, "c0"),
		"unwatch");
	return 0;
}

int main(void)
{
	struct xs_permissions mine[1] = { { GUEST, XS_PERM_NONE } };
	struct xs_handle *h, *g, *w;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()) && (w = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, GUEST, 0, 0), "introduce");
	T_CHECK((g = t_xs_open_domain(GUEST)), "domain xs_open");
	T_CHECK(xs_write(h, XBT_NULL, "/local/domain/13/mark", "", 0) &&
		    xs_set_permissions(h, XBT_NULL, "/local/domain/13/mark", mine, 1),
		"guest's marker node");
	if (watch(g, "/local/domain/13/mark", "mark") || watch(w, "/mark0", "mark"))
		return T_FAIL;
	if (check_rm(h, g, w, "/vis", false))
		return T_FAIL;
	if (check_rm(h, g, w, "/tvis", true))
		return T_FAIL;
	T_CHECK(t_xs_alive(), "daemon alive");
	xs_close(g);
	xs_close(w);
	xs_close(h);
	return T_PASS;
}
