/* SPDX-License-Identifier: MIT */
/*
 * xs-ops.c - the xs_wire operations on nodes (docs/misc/xenstore.txt),
 * with cxenstored's permission rules: dom0 may do anything; a domain reads
 * a node with r or b, changes it with w or b, creates nodes where it may
 * write the parent and owns what it creates, and only the owner changes
 * permissions, never the owner itself unless it is dom0.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-daemon.h"
#include "sim/xs-ops.h"

/* Split the payload into up to max NUL-terminated strings: the count, or -EINVAL. */
int xs_args(struct xs_conn *c, const char **vec, unsigned int max)
{
	unsigned int off = 0, n = 0;
	const char *end;

	while (off < c->hdr.len && n < max) {
		end = memchr(c->in + off, '\0', c->hdr.len - off);
		if (!end)
			return -EINVAL;
		vec[n++] = c->in + off;
		off = (unsigned int)(end - c->in) + 1;
	}
	return off == c->hdr.len ? (int)n : -EINVAL;
}

/* Canonicalise a client's path and check the domain's path-length quota. */
int xs_canon(struct xs_daemon *d, struct xs_conn *c, const char *in, char *abs)
{
	if (c->domid && strlen(in) > d->quota.path_max)
		return -EINVAL;
	return xs_path_canon(in, c->domid, abs);
}

/* How many of abs's ancestors (and abs) are missing: 1 for abs alone. */
static unsigned int xs_missing(struct xs_daemon *d, struct xs_txn *tx, const char *abs, char *anc)
{
	unsigned int missing = 0;

	strcpy(anc, abs);
	while (!xs_get(&d->st, tx, anc)) {
		missing++;
		xs_path_parent(anc, anc);
	}
	return missing;
}

/*
 * Why a node is missing, as cxenstored's errno_from_parents() says it:
 * ENOENT only if the caller may read the nearest ancestor that exists, so
 * that nothing tells a domain what exists where it cannot look.
 */
static int xs_missing_errno(struct xs_daemon *d, struct xs_conn *c, struct xs_txn *tx,
			    const char *abs)
{
	char anc[XS_ABS_PATH_MAX + 1];

	xs_missing(d, tx, abs, anc);
	return xs_perm_for(xs_get(&d->st, tx, anc), c->domid) & XS_PERM_READ ? -ENOENT : -EACCES;
}

/* The node at a client's path if the caller has perm on it. */
static int xs_lookup(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t, const char *in,
		     unsigned int perm, char *abs, const struct xs_node **out)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	int ret = xs_canon(d, c, in, abs);

	if (ret < 0)
		return ret;
	*out = xs_get(&d->st, tx, abs);
	ret = *out ? 0 : xs_missing_errno(d, c, tx, abs);
	if (tx && tx->err)
		return tx->err; /* a node the transaction could not record */
	if (ret == 0 && (xs_perm_for(*out, c->domid) & perm) != perm)
		ret = -EACCES;
	return ret;
}

/* Look up the node a one-path request names, needing perm on it. */
static int xs_lookup_arg(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t,
			 unsigned int perm, char *abs, const struct xs_node **n)
{
	const char *vec[1];

	if (xs_args(c, vec, 1) != 1)
		return -EINVAL;
	return xs_lookup(d, c, t, vec[0], perm, abs, n);
}

static int xs_op_read(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1];
	const struct xs_node *n;
	int ret = xs_lookup_arg(d, c, t, XS_PERM_READ, abs, &n);

	return ret < 0 ? ret : xs_reply(d, c, n->value, n->vlen);
}

static int xs_op_directory(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1];
	const struct xs_node *n;
	int ret = xs_lookup_arg(d, c, t, XS_PERM_READ, abs, &n);

	if (ret < 0)
		return ret;
	if (n->klen > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	return xs_reply(d, c, n->kids, n->klen);
}

/*
 * gencnt\0 then whole child names from offset; a final extra \0 marks the
 * end.  libxenstore restarts when the generation changes between calls.
 */
static int xs_op_directory_part(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX];
	unsigned long off;
	const struct xs_node *n;
	unsigned int len, end;
	const char *vec[2];
	char *e;
	int ret = xs_args(c, vec, 2);

	if (ret != 2)
		return -EINVAL;
	off = strtoul(vec[1], &e, 10);
	if (*e || !*vec[1])
		return -EINVAL;
	ret = xs_lookup(d, c, t, vec[0], XS_PERM_READ, abs, &n);
	if (ret < 0)
		return ret;
	/* Past the end (the directory shrank since the last call): an empty list. */
	if (off > n->klen)
		off = n->klen;
	len = (unsigned int)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n->gen) + 1;
	for (end = (unsigned int)off; end < n->klen;) {
		unsigned int kl = (unsigned int)strlen(n->kids + end) + 1;

		if (len + (end - off) + kl + 1 > sizeof(buf))
			break;
		end += kl;
	}
	if (end > off) /* a node without children has no kids buffer at all */
		memcpy(buf + len, n->kids + off, end - off);
	len += end - (unsigned int)off;
	if (end == n->klen)
		buf[len++] = '\0';
	return xs_reply(d, c, buf, len);
}

/* GET_PERMS of a special path: for dom0 and those who may read it. */
static int xs_get_perms_special(struct xs_daemon *d, struct xs_conn *c, const char *path)
{
	struct xs_special *sp = xs_special_find(d, path);
	struct xs_node n = { .perms = sp ? sp->perms : NULL, .nperms = sp ? sp->nperms : 0 };
	char buf[XENSTORE_PAYLOAD_MAX];
	int ret;

	if (!sp)
		return -ENOENT;
	n.nperms += !n.nperms;
	if (!(xs_perm_for(&n, c->domid) & XS_PERM_READ))
		return -EACCES;
	ret = xs_perms_format(n.perms, n.nperms, buf, sizeof(buf));
	return ret < 0 ? ret : xs_reply(d, c, buf, (unsigned int)ret);
}

/* SET_PERMS of a special path: its owner (dom0 by default) may hand out access. */
static int xs_set_perms_special(struct xs_daemon *d, struct xs_conn *c, const char *path,
				const struct xs_perm *perms, unsigned int np)
{
	struct xs_special *sp = xs_special_find(d, path);

	if (!sp)
		return -ENOENT;
	if (c->domid && sp->perms[0].id != c->domid)
		return -EACCES;
	if (c->domid && perms[0].id != sp->perms[0].id)
		return -EPERM;
	if (c->domid && np > d->quota.perms)
		return -ENOSPC;
	memcpy(sp->perms, perms, np * sizeof(*perms));
	sp->nperms = np;
	return xs_reply_ok(d, c);
}

static int xs_op_get_perms(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX];
	const struct xs_node *n;
	const char *vec[1];
	int ret = xs_args(c, vec, 1);

	if (ret != 1)
		return -EINVAL;
	if (vec[0][0] == '@')
		return xs_get_perms_special(d, c, vec[0]);
	ret = xs_lookup(d, c, t, vec[0], XS_PERM_READ, abs, &n);
	if (ret < 0)
		return ret;
	ret = xs_perms_format(n->perms, n->nperms, buf, sizeof(buf));
	return ret < 0 ? ret : xs_reply(d, c, buf, (unsigned int)ret);
}

/* Add the missing node abs below its existing parent. */
static int xs_create_one(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t,
			 const char *abs)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	char parent[XS_ABS_PATH_MAX + 1];
	const struct xs_node *p;
	struct xs_node *n, *pc;
	int ret;

	xs_path_parent(abs, parent);
	p = xs_get(&d->st, tx, parent);
	if (!p)
		return -ENOENT;
	n = xs_node_new(abs, p->perms, p->nperms);
	pc = xs_node_dup(p);
	if (!n || !pc || xs_node_kid_add(pc, xs_path_base(abs)) < 0) {
		xs_node_free(n);
		xs_node_free(pc);
		return -ENOMEM;
	}
	/* Unprivileged domains own what they create. */
	if (c->domid)
		n->perms[0].id = (uint16_t)c->domid;
	ret = xs_put(&d->st, tx, pc);
	if (ret == 0)
		ret = xs_put(&d->st, tx, n);
	else
		xs_node_free(n);
	return ret;
}

/* Create abs and any missing parents, if the caller may write the nearest existing one. */
int xs_create(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t, const char *abs)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	char anc[XS_ABS_PATH_MAX + 1];
	unsigned int missing = xs_missing(d, tx, abs, anc);
	long long owned;
	size_t pos;
	int ret = 0;

	if (!(xs_perm_for(xs_get(&d->st, tx, anc), c->domid) & XS_PERM_WRITE))
		return tx && tx->err ? tx->err : -EACCES;
	/* What the domain owns as this transaction will leave it, plus the new nodes. */
	owned = (long long)d->st.owned[c->domid] + (tx ? tx->owned : 0) + missing;
	if (c->domid && owned > d->quota.nodes)
		return -ENOSPC;
	pos = strcmp(anc, "/") ? strlen(anc) : 0;
	while (ret == 0 && pos < strlen(abs)) {
		pos = strcspn(abs + pos + 1, "/") + pos + 1;
		memcpy(anc, abs, pos);
		anc[pos] = '\0';
		ret = xs_create_one(d, c, t, anc);
	}
	return ret;
}

/* Write path\0value: replace an existing node's value or create it. */
static int xs_op_write(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	char abs[XS_ABS_PATH_MAX + 1];
	const char *end = memchr(c->in, '\0', c->hdr.len);
	const struct xs_node *n;
	struct xs_node *w;
	unsigned int vlen;
	int ret;

	if (!end)
		return -EINVAL;
	vlen = c->hdr.len - (unsigned int)(end - c->in) - 1;
	/* A value over the quota alone is refused before a missing node is made for it. */
	if (c->domid && vlen > d->quota.node_size)
		return -ENOSPC;
	ret = xs_lookup(d, c, t, c->in, XS_PERM_WRITE, abs, &n);
	if (ret == -ENOENT)
		ret = xs_create(d, c, t, abs);
	if (ret < 0)
		return ret;
	w = xs_node_dup(xs_get(&d->st, tx, abs));
	if (!w || xs_node_set_value(w, end + 1, vlen) < 0) {
		xs_node_free(w);
		return -ENOMEM;
	}
	if (c->domid && xs_node_size(w) > d->quota.node_size) {
		xs_node_free(w);
		return -ENOSPC;
	}
	xs_event_note(d, t, abs, w, false);
	ret = xs_put(&d->st, tx, w);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

static int xs_op_mkdir(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1];
	const struct xs_node *n;
	int ret = xs_lookup_arg(d, c, t, XS_PERM_WRITE, abs, &n);

	if (ret == -ENOENT) {
		ret = xs_create(d, c, t, abs);
		if (ret == 0)
			xs_event_note(d, t, abs, xs_get(&d->st, t ? &t->tx : NULL, abs), false);
	}
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

/* A growable stack of paths for the iterative subtree walk. */
struct xs_pathstack {
	char **v;	   /* the paths */
	unsigned int n;	   /* in use */
	unsigned int size; /* allocated */
};

static int xs_pathstack_push(struct xs_pathstack *s, const char *dir, const char *name)
{
	char **v;
	int len;

	if (s->n == s->size) {
		v = realloc(s->v, (s->size * 2 + 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->size = s->size * 2 + 16;
	}
	len = name ? asprintf(&s->v[s->n], "%s/%s", strcmp(dir, "/") ? dir : "", name)
		   : asprintf(&s->v[s->n], "%s", dir);
	if (len < 0)
		return -ENOMEM;
	s->n++;
	return 0;
}

/*
 * Delete every node of the subtree at top->path, without recursion
 * (XSA-418), noting the removal of each node below it while its
 * permissions are still known, as cxenstored does.
 */
static int xs_rm_nodes(struct xs_daemon *d, struct xs_conn_txn *t, const struct xs_node *top)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	struct xs_pathstack s = { 0 };
	const struct xs_node *n;
	unsigned int off;
	char *p;
	int ret = xs_pathstack_push(&s, top->path, NULL);

	while (ret == 0 && s.n) {
		p = s.v[--s.n];
		n = xs_get(&d->st, tx, p);
		for (off = 0; n && ret == 0 && off < n->klen; off += strlen(n->kids + off) + 1)
			ret = xs_pathstack_push(&s, p, n->kids + off);
		if (n && ret == 0 && strcmp(p, top->path))
			xs_event_note_removed(d, t, p, n, top);
		if (n && ret == 0)
			ret = xs_del(&d->st, tx, p);
		free(p);
	}
	while (s.n)
		free(s.v[--s.n]);
	free(s.v);
	return ret;
}

int xs_ops_rm_tree(struct xs_daemon *d, struct xs_conn_txn *t, const char *path)
{
	struct xs_txn *tx = t ? &t->tx : NULL;
	char parent[XS_ABS_PATH_MAX + 1];
	struct xs_node *old, *pc;
	int ret;

	old = xs_node_dup(xs_get(&d->st, tx, path));
	xs_path_parent(path, parent);
	pc = xs_node_dup(xs_get(&d->st, tx, parent));
	if (!old || !pc) {
		xs_node_free(old);
		xs_node_free(pc);
		return -ENOMEM;
	}
	xs_node_kid_del(pc, xs_path_base(path));
	ret = xs_put(&d->st, tx, pc);
	if (ret == 0)
		ret = xs_rm_nodes(d, t, old);
	if (ret == 0)
		xs_event_note(d, t, path, old, true);
	xs_node_free(old);
	return ret;
}

static int xs_op_rm(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char abs[XS_ABS_PATH_MAX + 1], parent[XS_ABS_PATH_MAX + 1];
	const struct xs_node *n;
	const char *vec[1];
	int ret = xs_args(c, vec, 1);

	if (ret != 1)
		return -EINVAL;
	ret = xs_lookup(d, c, t, vec[0], XS_PERM_WRITE, abs, &n);
	if (ret == -ENOENT) {
		/* Removing what is not there is fine, unless its parent is missing too. */
		xs_path_parent(abs, parent);
		ret = xs_get(&d->st, t ? &t->tx : NULL, parent) ? 0 : -ENOENT;
		if (t && t->tx.err)
			ret = t->tx.err;
		return ret < 0 ? ret : xs_reply_ok(d, c);
	}
	if (ret == 0 && !strcmp(abs, "/"))
		ret = -EINVAL;
	if (ret == 0)
		ret = xs_ops_rm_tree(d, t, abs);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

static int xs_op_set_perms(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	struct xs_perm perms[XS_PERMS_MAX];
	char abs[XS_ABS_PATH_MAX + 1];
	const char *end = memchr(c->in, '\0', c->hdr.len);
	const struct xs_node *n;
	struct xs_node *w;
	unsigned int off;
	int np, ret;

	if (!end)
		return -EINVAL;
	off = (unsigned int)(end - c->in) + 1;
	np = xs_perms_parse(c->in + off, c->hdr.len - off, perms, XS_PERMS_MAX);
	if (np < 0)
		return np;
	if (c->in[0] == '@')
		return xs_set_perms_special(d, c, c->in, perms, (unsigned int)np);
	ret = xs_lookup(d, c, t, c->in, XS_PERM_WRITE, abs, &n);
	if (ret < 0)
		return ret;
	/* Only the owner changes permissions; only dom0 changes the owner. */
	if (c->domid && n->perms[0].id != c->domid)
		return -EACCES;
	if (c->domid && perms[0].id != n->perms[0].id)
		return -EPERM;
	if (c->domid && (unsigned int)np > d->quota.perms)
		return -ENOSPC;
	w = xs_node_dup(n);
	if (!w || xs_node_set_perms(w, perms, (unsigned int)np) < 0) {
		xs_node_free(w);
		return -ENOMEM;
	}
	xs_event_note(d, t, abs, w, false);
	ret = xs_put(&d->st, t ? &t->tx : NULL, w);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

/* The operations that work on nodes and honour the transaction id. */
static const xs_op_fn xs_node_ops[XS_TYPE_COUNT] = {
	[XS_READ] = xs_op_read,
	[XS_DIRECTORY] = xs_op_directory,
	[XS_DIRECTORY_PART] = xs_op_directory_part,
	[XS_GET_PERMS] = xs_op_get_perms,
	[XS_WRITE] = xs_op_write,
	[XS_MKDIR] = xs_op_mkdir,
	[XS_RM] = xs_op_rm,
	[XS_SET_PERMS] = xs_op_set_perms,
};

xs_op_fn xs_node_op(uint32_t type)
{
	return type < XS_TYPE_COUNT ? xs_node_ops[type] : NULL;
}

/* The initial tree, owned by dom0 and closed to others, as cxenstored makes it. */
int xs_store_setup(struct xs_daemon *d)
{
	static const char *const paths[] = { "/", "/local", "/local/domain", "/tool" };
	static const struct xs_perm dom0 = { 0, 0 };
	char parent[XS_ABS_PATH_MAX + 1];
	struct xs_node *n, *p;
	unsigned int i;

	for (i = 0; i < XS_SPECIAL_COUNT; i++)
		d->special[i] = (struct xs_special){ .perms = { dom0 }, .nperms = 1 };
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n = xs_node_new(paths[i], &dom0, 1);
		if (!n)
			return -ENOMEM;
		xs_put(&d->st, NULL, n);
		if (i == 0)
			continue;
		xs_path_parent(paths[i], parent);
		p = xs_node_dup(xs_get(&d->st, NULL, parent));
		if (!p || xs_node_kid_add(p, xs_path_base(paths[i])) < 0) {
			xs_node_free(p);
			return -ENOMEM;
		}
		xs_put(&d->st, NULL, p);
	}
	return 0;
}
