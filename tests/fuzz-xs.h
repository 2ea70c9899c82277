/* SPDX-License-Identifier: MIT */
/*
 * fuzz-xs.h - xenstore for the libFuzzer targets of the control planes (included by
 * backend/blk/keys-fuzz.c and backend/net/keys-fuzz.c only): an in-memory table of absolute
 * paths and values behind xs_read and xs_write, with no watches (the input says when
 * something changed) and transactions that always commit.  A write to a full table is lost,
 * as a quota would refuse it; a value is cut at VALLEN - 1 bytes.
 *
 * MAXKEYS entries (128 unless the includer defines it first), paths of up to PATHLEN bytes.
 */
#ifndef PVIO_TESTS_FUZZ_XS_H
#define PVIO_TESTS_FUZZ_XS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#ifndef MAXKEYS
#define MAXKEYS 128u
#endif
#define PATHLEN 128u
#define VALLEN	40u

struct node {
	char path[PATHLEN]; /* absolute */
	char val[VALLEN];   /* NUL-terminated */
};

static struct node nodes[MAXKEYS];
static unsigned int nnodes;

static struct node *node_find(const char *path)
{
	for (unsigned int i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i].path, path))
			return &nodes[i];
	return NULL;
}

static void node_set(const char *path, const char *val, size_t len)
{
	struct node *n = node_find(path);

	if (!n && nnodes == MAXKEYS)
		return; /* a full store: the write is lost, as a quota would refuse it */
	if (!n) {
		n = &nodes[nnodes++];
		snprintf(n->path, sizeof(n->path), "%s", path);
	}
	if (len >= VALLEN)
		len = VALLEN - 1;
	memcpy(n->val, val, len);
	n->val[len] = '\0';
}

static void node_rm(const char *path)
{
	struct node *n = node_find(path);

	if (n)
		*n = nodes[--nnodes];
}

/* Remove path and everything below it. */
__attribute__((unused)) static void node_rm_tree(const char *path)
{
	size_t len = strlen(path);

	for (unsigned int i = 0; i < nnodes;)
		if (!strncmp(nodes[i].path, path, len) &&
		    (nodes[i].path[len] == '\0' || nodes[i].path[len] == '/'))
			nodes[i] = nodes[--nnodes];
		else
			i++;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	struct node *n = node_find(path);
	char *v;

	(void)h, (void)t;
	if (!n) {
		errno = ENOENT;
		return NULL;
	}
	if (!(v = strdup(n->val)))
		abort();
	if (len)
		*len = (unsigned int)strlen(v);
	return v;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	(void)h, (void)t;
	node_set(path, data, len);
	return true;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	(void)h, (void)path, (void)token;
	return true;
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	(void)h, (void)path, (void)token;
	return true;
}

char **xs_check_watch(struct xs_handle *h)
{
	(void)h;
	errno = EAGAIN;
	return NULL;
}

int xs_fileno(struct xs_handle *h)
{
	(void)h;
	return -1;
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	(void)h;
	return 1;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort_)
{
	(void)h, (void)t, (void)abort_;
	return true;
}

#endif
