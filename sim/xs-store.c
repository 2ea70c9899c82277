/* SPDX-License-Identifier: MIT */
/*
 * xs-store.c - the node map, nodes, and transactions as overlays on it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-store.h"

#define XS_MAP_BUCKETS 1024u /* initial buckets; the map doubles past 2 nodes a bucket */

static uint32_t xs_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int xs_map_init(struct xs_map *m)
{
	m->nbuckets = XS_MAP_BUCKETS;
	m->count = 0;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	return m->buckets ? 0 : -ENOMEM;
}

void xs_map_free(struct xs_map *m)
{
	struct xs_node *n, *next;
	unsigned int i;

	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			xs_node_free(n);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->count = 0;
}

static struct xs_node **xs_map_slot(struct xs_map *m, const char *path)
{
	struct xs_node **pp = &m->buckets[xs_hash(path) & (m->nbuckets - 1)];

	while (*pp && strcmp((*pp)->path, path))
		pp = &(*pp)->next;
	return pp;
}

static struct xs_node *xs_map_find(struct xs_map *m, const char *path)
{
	return *xs_map_slot(m, path);
}

/* Grow when chains get long; failure to grow only costs speed. */
static void xs_map_grow(struct xs_map *m)
{
	unsigned int i, nb = m->nbuckets * 2;
	struct xs_node **b, *n, *next;

	if (m->count < m->nbuckets * 2 || !(b = calloc(nb, sizeof(*b))))
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			n->next = b[xs_hash(n->path) & (nb - 1)];
			b[xs_hash(n->path) & (nb - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

/* Put n in the map, freeing a node it replaces. */
static void xs_map_set(struct xs_map *m, struct xs_node *n)
{
	struct xs_node **pp = xs_map_slot(m, n->path);

	if (*pp) {
		n->next = (*pp)->next;
		xs_node_free(*pp);
	} else {
		n->next = NULL;
		m->count++;
	}
	*pp = n;
	xs_map_grow(m);
}

/* Unlink and return the node at path, or NULL. */
static struct xs_node *xs_map_take(struct xs_map *m, const char *path)
{
	struct xs_node **pp = xs_map_slot(m, path), *n = *pp;

	if (n) {
		*pp = n->next;
		m->count--;
	}
	return n;
}

struct xs_node *xs_map_next(struct xs_map *m, unsigned int *bucket, struct xs_node *prev)
{
	if (prev && prev->next)
		return prev->next;
	for (*bucket = prev ? *bucket + 1 : 0; *bucket < m->nbuckets; (*bucket)++) {
		if (m->buckets[*bucket])
			return m->buckets[*bucket];
	}
	return NULL;
}

struct xs_node *xs_node_new(const char *path, const struct xs_perm *perms, unsigned int nperms)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	if (!n->path || xs_node_set_perms(n, perms, nperms) < 0) {
		xs_node_free(n);
		return NULL;
	}
	return n;
}

void xs_node_free(struct xs_node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->value);
	free(n->perms);
	free(n->kids);
	free(n);
}

/* A copy of len bytes (never NULL for len 0 when it succeeds). */
static void *xs_memdup(const void *p, size_t len)
{
	void *q = malloc(len ? len : 1);

	if (q && len)
		memcpy(q, p, len);
	return q;
}

struct xs_node *xs_node_dup(const struct xs_node *n)
{
	struct xs_node *c = xs_node_new(n->path, n->perms, n->nperms);

	if (!c)
		return NULL;
	c->gen = n->gen;
	c->state = n->state;
	c->seen = n->seen;
	if (xs_node_set_value(c, n->value, n->vlen) < 0) {
		xs_node_free(c);
		return NULL;
	}
	c->kids = xs_memdup(n->kids, n->klen);
	if (!c->kids) {
		xs_node_free(c);
		return NULL;
	}
	c->klen = n->klen;
	return c;
}

int xs_node_set_value(struct xs_node *n, const void *value, unsigned int len)
{
	char *v = xs_memdup(value, len);

	if (!v)
		return -ENOMEM;
	free(n->value);
	n->value = v;
	n->vlen = len;
	return 0;
}

int xs_node_set_perms(struct xs_node *n, const struct xs_perm *perms, unsigned int nperms)
{
	struct xs_perm *p;

	if (!nperms)
		return -EINVAL;
	p = xs_memdup(perms, nperms * sizeof(*perms));
	if (!p)
		return -ENOMEM;
	free(n->perms);
	n->perms = p;
	n->nperms = nperms;
	return 0;
}

/* Offset of child name in n->kids, or -1. */
static int xs_node_kid_find(const struct xs_node *n, const char *name)
{
	unsigned int off = 0;

	while (off < n->klen) {
		if (!strcmp(n->kids + off, name))
			return (int)off;
		off += strlen(n->kids + off) + 1;
	}
	return -1;
}

int xs_node_kid_add(struct xs_node *n, const char *name)
{
	size_t len = strlen(name) + 1;
	char *k;

	if (xs_node_kid_find(n, name) >= 0)
		return 0;
	k = realloc(n->kids, n->klen + len);
	if (!k)
		return -ENOMEM;
	memcpy(k + n->klen, name, len);
	n->kids = k;
	n->klen += len;
	return 0;
}

void xs_node_kid_del(struct xs_node *n, const char *name)
{
	int off = xs_node_kid_find(n, name);
	size_t len = strlen(name) + 1;

	if (off < 0)
		return;
	memmove(n->kids + off, n->kids + off + len, n->klen - off - len);
	n->klen -= len;
}

unsigned int xs_node_size(const struct xs_node *n)
{
	return n->vlen + n->klen + n->nperms * (unsigned int)sizeof(struct xs_perm);
}

int xs_store_init(struct xs_store *st)
{
	memset(st, 0, sizeof(*st));
	st->owned = calloc(XS_DOMID_MAX, sizeof(*st->owned));
	if (!st->owned)
		return -ENOMEM;
	if (xs_map_init(&st->map) < 0) {
		free(st->owned);
		return -ENOMEM;
	}
	return 0;
}

void xs_store_free(struct xs_store *st)
{
	xs_map_free(&st->map);
	free(st->owned);
	st->owned = NULL;
}

/* Owner accounting: delta nodes for the owner of n. */
static void xs_store_account(struct xs_store *st, const struct xs_node *n, int delta)
{
	if (n && n->perms[0].id < XS_DOMID_MAX)
		st->owned[n->perms[0].id] += (uint32_t)delta;
}

/* Replace or add n in the committed store with a fresh generation. */
static void xs_store_set(struct xs_store *st, struct xs_node *n)
{
	xs_store_account(st, xs_map_find(&st->map, n->path), -1);
	xs_store_account(st, n, 1);
	n->gen = ++st->gen;
	n->state = 0;
	n->seen = 0;
	xs_map_set(&st->map, n);
}

static void xs_store_unset(struct xs_store *st, const char *path)
{
	struct xs_node *n = xs_map_take(&st->map, path);

	xs_store_account(st, n, -1);
	xs_node_free(n);
}

/* A first touch refused: the request fails, and so will the commit. */
static struct xs_node *xs_txn_refuse(struct xs_txn *tx, int err)
{
	tx->err = err;
	tx->failed = true;
	return NULL;
}

/*
 * The overlay entry for path, made on first touch (unless the overlay
 * already holds max_nodes entries) as a READ record holding a copy of the
 * store's node, as cxenstored copies a node on its first read: later reads
 * in the transaction see that copy, whatever changes outside it meanwhile.
 * Only what the transaction touches is copied, so a big store costs nothing.
 */
static struct xs_node *xs_txn_entry(struct xs_store *st, struct xs_txn *tx, const char *path)
{
	struct xs_node *e = xs_map_find(&tx->overlay, path);
	const struct xs_node *b;
	static const struct xs_perm none = { 0, 0 };

	if (e)
		return e;
	if (tx->max_nodes && tx->overlay.count >= tx->max_nodes)
		return xs_txn_refuse(tx, -ENOSPC);
	b = xs_map_find(&st->map, path);
	e = b ? xs_node_dup(b) : xs_node_new(path, &none, 1);
	if (!e)
		return xs_txn_refuse(tx, -ENOMEM);
	e->state = XS_TX_READ;
	e->seen = b ? b->gen : 0;
	xs_map_set(&tx->overlay, e);
	return e;
}

/* Whether n exists and domid owns it. */
static bool xs_owned_by(const struct xs_node *n, unsigned int domid)
{
	return n && n->perms[0].id == domid;
}

/* The node overlay entry e stands for: its own copy, or none if absent or deleted. */
static const struct xs_node *xs_txn_sees(const struct xs_node *e)
{
	if (e->state == XS_TX_READ)
		return e->seen ? e : NULL;
	return e->state == XS_TX_WRITTEN ? e : NULL;
}

const struct xs_node *xs_get(struct xs_store *st, struct xs_txn *tx, const char *path)
{
	struct xs_node *e;

	if (!tx)
		return xs_map_find(&st->map, path);
	e = xs_txn_entry(st, tx, path);
	return e ? xs_txn_sees(e) : xs_map_find(&st->map, path);
}

int xs_put(struct xs_store *st, struct xs_txn *tx, struct xs_node *n)
{
	struct xs_node *e;

	if (!tx) {
		xs_store_set(st, n);
		return 0;
	}
	e = xs_txn_entry(st, tx, n->path);
	if (!e) {
		xs_node_free(n);
		return tx->err;
	}
	tx->owned += xs_owned_by(n, tx->domid) - xs_owned_by(xs_txn_sees(e), tx->domid);
	n->seen = e->seen;
	n->state = XS_TX_WRITTEN;
	xs_map_set(&tx->overlay, n);
	return 0;
}

int xs_del(struct xs_store *st, struct xs_txn *tx, const char *path)
{
	struct xs_node *e;

	if (!tx) {
		xs_store_unset(st, path);
		return 0;
	}
	e = xs_txn_entry(st, tx, path);
	if (!e)
		return tx->err;
	tx->owned -= xs_owned_by(xs_txn_sees(e), tx->domid);
	e->state = XS_TX_DELETED;
	return 0;
}

void xs_txn_init(struct xs_txn *tx, unsigned int domid)
{
	memset(tx, 0, sizeof(*tx));
	tx->domid = domid;
}

void xs_txn_free(struct xs_txn *tx)
{
	xs_map_free(&tx->overlay);
}

/* Whether every node the transaction touched is still as it first saw it. */
static bool xs_txn_current(struct xs_store *st, struct xs_txn *tx)
{
	struct xs_node *e = NULL, *b;
	unsigned int i = 0;

	while ((e = xs_map_next(&tx->overlay, &i, e))) {
		b = xs_map_find(&st->map, e->path);
		if ((b ? b->gen : 0) != e->seen)
			return false;
	}
	return true;
}

int xs_txn_commit(struct xs_store *st, struct xs_txn *tx)
{
	struct xs_node *e, *next;
	unsigned int i;

	if (tx->failed || !xs_txn_current(st, tx))
		return -EAGAIN;
	for (i = 0; i < tx->overlay.nbuckets; i++) {
		for (e = tx->overlay.buckets[i]; e; e = next) {
			next = e->next;
			if (e->state == XS_TX_WRITTEN) {
				xs_store_set(st, e);
				continue;
			}
			if (e->state == XS_TX_DELETED)
				xs_store_unset(st, e->path);
			xs_node_free(e);
		}
		tx->overlay.buckets[i] = NULL;
	}
	tx->overlay.count = 0;
	return 0;
}
