/* SPDX-License-Identifier: MIT */
/*
 * xs-watch.c - watches and watch events.
 *
 * A change to a node fires the watches on it and above it; removing a
 * subtree also fires the watches inside it, with the watch's own path,
 * and tells a watcher who may not read the removed top of each removed
 * node it may read (xenstore.txt), by that node's own permissions.
 * An unprivileged watcher hears only of nodes it may read (XSA-115), and
 * of the special @introduceDomain / @releaseDomain paths only if dom0 gave
 * it read permission on them with SET_PERMS.  Events
 * of a transaction are queued on it and fired at commit.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-daemon.h"

/* Send one event to c: epath\0token\0, dropped if it would be oversized (XSA-324). */
static void xs_watch_send(struct xs_daemon *d, struct xs_conn *c, const struct xs_watch *w,
			  const char *epath)
{
	struct xsd_sockmsg hdr = { .type = XS_WATCH_EVENT };
	size_t plen = strlen(epath) + 1, tlen = strlen(w->token) + 1;
	char buf[XENSTORE_PAYLOAD_MAX];

	if (plen + tlen > sizeof(buf))
		return;
	memcpy(buf, epath, plen);
	memcpy(buf + plen, w->token, tlen);
	xs_conn_send(d, c, &hdr, buf, (unsigned int)(plen + tlen));
}

/* The path to report to w for a change, or NULL if w does not match. */
static const char *xs_watch_match(const struct xs_watch *w, const struct xs_event *ev)
{
	if (ev->path[0] == '@' || w->path[0] == '@' || ev->exact)
		return strcmp(ev->path, w->path) ? NULL : ev->path;
	if (xs_path_under(ev->path, w->path))
		return ev->path;
	if (ev->subtree && xs_path_under(w->path, ev->path))
		return w->path;
	return NULL;
}

/* Whether domid may read a node with these permissions (NULL: a special path's). */
static bool xs_event_readable(const struct xs_perm *perms, unsigned int nperms, unsigned int domid)
{
	struct xs_node n = { .perms = (struct xs_perm *)perms, .nperms = nperms };

	if (domid == 0)
		return true;
	return perms && xs_perm_for(&n, domid) & XS_PERM_READ;
}

/* Whether c may hear of ev at all; of a node removed below a top it could read, it heard. */
static bool xs_event_visible(const struct xs_conn *c, const struct xs_event *ev)
{
	if (!xs_event_readable(ev->perms, ev->nperms, c->domid))
		return false;
	return !ev->exact || !xs_event_readable(ev->above, ev->nabove, c->domid);
}

static void xs_event_fire(struct xs_daemon *d, const struct xs_event *ev)
{
	struct xs_watch *w;
	struct xs_conn *c;
	const char *epath;

	for (c = d->conns; c; c = c->next) {
		if (c->dead || !xs_event_visible(c, ev))
			continue;
		for (w = c->watches; w; w = w->next) {
			epath = xs_watch_match(w, ev);
			if (epath && strlen(epath) >= w->prefix)
				xs_watch_send(d, c, w, epath + w->prefix);
		}
	}
}

void xs_event_free(struct xs_event *ev)
{
	struct xs_event *next;

	for (; ev; ev = next) {
		next = ev->next;
		free(ev->path);
		free(ev->perms);
		free(ev->above);
		free(ev);
	}
}

/* At commit, a node that still exists is judged by its committed permissions. */
void xs_event_flush(struct xs_daemon *d, struct xs_event *ev)
{
	const struct xs_node *n;
	struct xs_event *e, now;

	for (e = ev; e; e = e->next) {
		now = *e;
		n = e->subtree || e->exact || e->path[0] != '/' ? NULL
								: xs_get(&d->st, NULL, e->path);
		if (n) {
			now.perms = n->perms;
			now.nperms = n->nperms;
		}
		xs_event_fire(d, &now);
	}
	xs_event_free(ev);
}

/* A copy of n permission entries (NULL for none): false if out of memory. */
static bool xs_perms_copy(struct xs_perm **out, const struct xs_perm *p, unsigned int n)
{
	*out = p ? malloc(n * sizeof(*p)) : NULL;
	if (*out)
		memcpy(*out, p, n * sizeof(*p));
	return *out || !p;
}

/* A copy of a change for a transaction's queue, or NULL. */
static struct xs_event *xs_event_new(const struct xs_event *tmpl)
{
	struct xs_event *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->path = strdup(tmpl->path);
	if (!e->path || !xs_perms_copy(&e->perms, tmpl->perms, tmpl->nperms) ||
	    !xs_perms_copy(&e->above, tmpl->above, tmpl->nabove)) {
		xs_event_free(e);
		return NULL;
	}
	e->nperms = tmpl->nperms;
	e->nabove = tmpl->nabove;
	e->subtree = tmpl->subtree;
	e->exact = tmpl->exact;
	return e;
}

/*
 * Fire ev now, or queue a copy of it on t until commit.  One event per node and kind: a node
 * changed again in the same transaction updates its queued event's permissions (the newest
 * are the ones its watchers are judged by at commit, as cxenstored fires one event per node
 * a transaction changed), so what a transaction queues is bounded by the nodes it touches
 * ("transaction-nodes"), however often it writes them.
 */
static void xs_event_queue(struct xs_daemon *d, struct xs_conn_txn *t, const struct xs_event *ev)
{
	struct xs_event *e, *old;

	if (!t) {
		xs_event_fire(d, ev);
		return;
	}
	e = xs_event_new(ev);
	if (!e)
		return;
	for (old = t->events; old; old = old->next) {
		if (old->subtree == e->subtree && old->exact == e->exact &&
		    !strcmp(old->path, e->path)) {
			/* The newest permissions, in the old event's place. */
			struct xs_event keep = *old;

			*old = *e;
			old->next = keep.next;
			keep.next = NULL;
			*e = keep;
			xs_event_free(e);
			return;
		}
	}
	*t->tail = e;
	t->tail = &e->next;
}

void xs_event_note(struct xs_daemon *d, struct xs_conn_txn *t, const char *path,
		   const struct xs_node *node, bool subtree)
{
	struct xs_event ev = {
		.path = (char *)path,
		.perms = node ? node->perms : NULL,
		.nperms = node ? node->nperms : 0,
		.subtree = subtree,
	};

	xs_event_queue(d, t, &ev);
}

void xs_event_note_removed(struct xs_daemon *d, struct xs_conn_txn *t, const char *path,
			   const struct xs_node *node, const struct xs_node *top)
{
	struct xs_event ev = {
		.path = (char *)path,
		.perms = node->perms,
		.nperms = node->nperms,
		.exact = true,
		.above = top->perms,
		.nabove = top->nperms,
	};

	/* Most nodes keep the permissions they inherited: their readers heard of top. */
	if (node->nperms == top->nperms &&
	    !memcmp(node->perms, top->perms, node->nperms * sizeof(*node->perms)))
		return;
	xs_event_queue(d, t, &ev);
}

struct xs_special *xs_special_find(struct xs_daemon *d, const char *path)
{
	if (!strcmp(path, "@introduceDomain"))
		return &d->special[XS_SPECIAL_INTRODUCE];
	if (!strcmp(path, "@releaseDomain"))
		return &d->special[XS_SPECIAL_RELEASE];
	return NULL;
}

void xs_special_fire(struct xs_daemon *d, const char *path)
{
	struct xs_special *sp = xs_special_find(d, path);
	struct xs_node n = { .perms = sp->perms, .nperms = sp->nperms ? sp->nperms : 1 };

	xs_event_note(d, NULL, path, &n, false);
}

/* Watches held by connections of domid. */
static unsigned int xs_watch_count(struct xs_daemon *d, unsigned int domid)
{
	unsigned int n = 0;
	struct xs_conn *c;

	for (c = d->conns; c; c = c->next) {
		if (c->domid == domid)
			n += c->nwatches;
	}
	return n;
}

static struct xs_watch **xs_watch_find(struct xs_conn *c, const char *path, const char *token)
{
	struct xs_watch **pp;

	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->path, path) && !strcmp((*pp)->token, token))
			break;
	}
	return pp;
}

/* The absolute form of a watch path and how much of it a relative one hides. */
static int xs_watch_canon(struct xs_conn *c, const char *path, char *abs, unsigned int *prefix)
{
	int ret;

	*prefix = 0;
	if (path[0] == '@') {
		if (strlen(path) > XS_REL_PATH_MAX)
			return -EINVAL;
		strcpy(abs, path);
		return 0;
	}
	ret = xs_path_canon(path, c->domid, abs);
	if (ret == 0 && path[0] != '/')
		*prefix = (unsigned int)(strlen(abs) - strlen(path));
	return ret;
}

int xs_watch_add(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token)
{
	char abs[XS_ABS_PATH_MAX + 1];
	unsigned int prefix;
	struct xs_watch *w;
	int ret = xs_watch_canon(c, path, abs, &prefix);

	if (ret < 0)
		return ret;
	if (*xs_watch_find(c, abs, token))
		return -EEXIST;
	if (c->domid && xs_watch_count(d, c->domid) >= d->quota.watches)
		return -E2BIG;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(abs)) || !(w->token = strdup(token))) {
		if (w)
			free(w->path);
		free(w);
		return -ENOMEM;
	}
	w->prefix = prefix;
	w->next = c->watches;
	c->watches = w;
	c->nwatches++;
	/* Acknowledge, then fire once up front, as Xen's xenstored does. */
	xs_reply_ok(d, c);
	xs_watch_send(d, c, w, abs + prefix);
	return 0;
}

int xs_watch_del(struct xs_conn *c, const char *path, const char *token)
{
	char abs[XS_ABS_PATH_MAX + 1];
	struct xs_watch **pp, *w;
	unsigned int prefix;
	int ret = xs_watch_canon(c, path, abs, &prefix);

	if (ret < 0)
		return ret;
	pp = xs_watch_find(c, abs, token);
	if (!*pp)
		return -ENOENT;
	w = *pp;
	*pp = w->next;
	c->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
	return 0;
}

void xs_watch_free_all(struct xs_conn *c)
{
	struct xs_watch *w;

	while ((w = c->watches)) {
		c->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	c->nwatches = 0;
}
