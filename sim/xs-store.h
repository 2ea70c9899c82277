/* SPDX-License-Identifier: MIT */
/*
 * xs-store.h - pvio-xenstored's tree of nodes and its transactions.
 *
 * The store is a hash map from absolute path to node; each node carries
 * its value, its permissions, the names of its children and a generation
 * (bumped on every change).  A transaction is a private overlay of the
 * nodes it touched: a copy of each as it first saw it (or a note that it was
 * absent), then its own changes, plus the generation it first saw of each;
 * its reads see only the overlay, a stable view whatever changes outside.
 * Commit checks those generations against the store and then applies the
 * overlay.  Every call returns 0 or a negative errno.
 */
#ifndef PVIO_SIM_XS_STORE_H
#define PVIO_SIM_XS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define XS_DOMID_MAX	0x7ff0u /* DOMID_FIRST_RESERVED: ids below it are domains */
#define XS_ABS_PATH_MAX 3072	/* XENSTORE_ABS_PATH_MAX */
#define XS_REL_PATH_MAX 2048	/* XENSTORE_REL_PATH_MAX */
#define XS_PERM_READ	1u	/* 'r' */
#define XS_PERM_WRITE	2u	/* 'w' ('b' is both) */
#define XS_PERMS_MAX	64	/* hard cap on permission entries of one node */

/* One permission entry; the first is the owner's and the default for others. */
struct xs_perm {
	uint16_t id;  /* the domain */
	uint8_t perm; /* XS_PERM_* bits */
};

/* States of a transaction's overlay entries. */
enum xs_tx_state {
	XS_TX_READ = 1, /* only looked at: a copy as first seen (seen 0: it was absent) */
	XS_TX_WRITTEN,	/* a private copy or a new node */
	XS_TX_DELETED,	/* removed in the transaction */
};

struct xs_node {
	char *path;	       /* absolute path: the map key */
	struct xs_node *next;  /* hash chain */
	uint64_t gen;	       /* generation of the last change */
	char *value;	       /* the value (binary, may hold NULs) */
	unsigned int vlen;     /* bytes in value */
	struct xs_perm *perms; /* permission entries, at least one */
	unsigned int nperms;   /* entries in perms */
	char *kids;	       /* child names, each NUL-terminated */
	unsigned int klen;     /* bytes in kids */
	int state;	       /* in an overlay: enum xs_tx_state; 0 in the store */
	uint64_t seen;	       /* in an overlay: store generation first seen, 0 = absent */
};

/* A hash map of nodes by path. */
struct xs_map {
	struct xs_node **buckets; /* chains */
	unsigned int nbuckets;	  /* a power of two */
	unsigned int count;	  /* nodes held */
};

struct xs_store {
	struct xs_map map; /* the committed tree */
	uint64_t gen;	   /* last generation handed out */
	uint32_t *owned;   /* nodes owned per domid, XS_DOMID_MAX entries */
};

struct xs_txn {
	struct xs_map overlay;	/* nodes the transaction touched */
	unsigned int max_nodes; /* entries overlay may hold, 0 for no limit */
	unsigned int domid;	/* whose node count owned tracks */
	int owned;		/* domid's nodes created minus deleted, as commit counts them */
	int err;		/* why the last new entry was refused: -ENOSPC, -ENOMEM, or 0 */
	bool failed;		/* a change was refused part-way: commit answers -EAGAIN */
};

int xs_store_init(struct xs_store *st);
void xs_store_free(struct xs_store *st);

int xs_map_init(struct xs_map *m);
void xs_map_free(struct xs_map *m);
/* Walk the map: the node after prev (NULL: the first), *bucket the cursor. */
struct xs_node *xs_map_next(struct xs_map *m, unsigned int *bucket, struct xs_node *prev);

struct xs_node *xs_node_new(const char *path, const struct xs_perm *perms, unsigned int nperms);
struct xs_node *xs_node_dup(const struct xs_node *n);
void xs_node_free(struct xs_node *n);
int xs_node_set_value(struct xs_node *n, const void *value, unsigned int len);
int xs_node_set_perms(struct xs_node *n, const struct xs_perm *perms, unsigned int nperms);
int xs_node_kid_add(struct xs_node *n, const char *name);
void xs_node_kid_del(struct xs_node *n, const char *name);
/* Bytes a node takes, as cxenstored counts it for its node-size quota. */
unsigned int xs_node_size(const struct xs_node *n);

/*
 * The node at path as a transaction (tx, or NULL for the store) sees it,
 * or NULL if absent.  Valid until the next change.  A transaction records
 * what it saw for its commit check; when it may not (tx->err says why) it
 * answers from the store and fails, so the caller checks tx->err.
 */
const struct xs_node *xs_get(struct xs_store *st, struct xs_txn *tx, const char *path);
/* Store n (taking it) in place of the node at n->path. */
int xs_put(struct xs_store *st, struct xs_txn *tx, struct xs_node *n);
/* Remove the node at path alone (children are the caller's business). */
int xs_del(struct xs_store *st, struct xs_txn *tx, const char *path);

/* An empty transaction counting the nodes domid owns. */
void xs_txn_init(struct xs_txn *tx, unsigned int domid);
void xs_txn_free(struct xs_txn *tx);
/*
 * -EAGAIN if a node the transaction touched changed meanwhile, or if it
 * failed (a first touch refused: past max_nodes or out of memory); else applied.
 */
int xs_txn_commit(struct xs_store *st, struct xs_txn *tx);

/*
 * Check a client's path and make it absolute in out (XS_ABS_PATH_MAX + 1
 * bytes): relative paths are below /local/domain/<domid>.  -EINVAL if bad.
 */
int xs_path_canon(const char *in, unsigned int domid, char *out);
/* The parent of absolute path in out; "/" is its own parent. */
void xs_path_parent(const char *path, char *out);
/* The last element of an absolute path. */
const char *xs_path_base(const char *path);
/* Whether path is prefix itself or below it. */
bool xs_path_under(const char *path, const char *prefix);

/* XS_PERM_* bits domid has on n: dom0 and the owner have all. */
unsigned int xs_perm_for(const struct xs_node *n, unsigned int domid);
/* Parse "w0\0r5\0..." (len bytes) into out[0..max); the count or -EINVAL. */
int xs_perms_parse(const char *buf, unsigned int len, struct xs_perm *out, unsigned int max);
/* Format perms as "w0\0r5\0..." into buf; the length or -E2BIG. */
int xs_perms_format(const struct xs_perm *p, unsigned int n, char *buf, unsigned int size);

#endif
