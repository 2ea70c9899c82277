/* SPDX-License-Identifier: MIT */
/*
 * xs-dispatch.c - route each request to its handler, and the operations on
 * connections rather than nodes: watches, transactions, domains, CONTROL.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-daemon.h"
#include "sim/xs-ops.h"

int xs_domid_parse(const char *s, unsigned int *domid)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= XS_DOMID_MAX)
		return -EINVAL;
	*domid = (unsigned int)v;
	return 0;
}

static int xs_op_watch(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	const char *vec[3];
	int n = xs_args(c, vec, 3);

	(void)t;
	if (n < 2)
		return -EINVAL;
	return xs_watch_add(d, c, vec[0], vec[1]);
}

static int xs_op_unwatch(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	const char *vec[2];
	int ret = xs_args(c, vec, 2);

	(void)t;
	if (ret != 2)
		return -EINVAL;
	ret = xs_watch_del(c, vec[0], vec[1]);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

static int xs_op_tx_start(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	char buf[16];
	int len;

	if (t || c->hdr.tx_id)
		return -EBUSY;
	if (c->domid && c->ntxns >= d->quota.transactions)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	xs_txn_init(&t->tx, c->domid);
	if (xs_map_init(&t->tx.overlay) < 0) {
		free(t);
		return -ENOMEM;
	}
	if (++d->next_txid == 0)
		d->next_txid = 1;
	t->id = d->next_txid;
	t->tail = &t->events;
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	len = snprintf(buf, sizeof(buf), "%u", t->id);
	return xs_reply(d, c, buf, (unsigned int)len + 1);
}

/* Unlink and free transaction t of c; its events are the caller's if it took them. */
static void xs_txn_drop(struct xs_conn *c, struct xs_conn_txn *t)
{
	struct xs_conn_txn **pp;

	for (pp = &c->txns; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	c->ntxns--;
	xs_txn_free(&t->tx);
	xs_event_free(t->events);
	free(t);
}

/* Whether committing t would leave the domain within its node quota: 0 or -ENOSPC. */
static int xs_txn_check_quota(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	if (c->domid && (long long)d->st.owned[c->domid] + t->tx.owned > d->quota.nodes)
		return -ENOSPC;
	return 0;
}

static int xs_op_tx_end(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	struct xs_event *ev;
	const char *vec[1];
	int ret = xs_args(c, vec, 1);

	if (!t)
		return -ENOENT;
	if (ret != 1 || (strcmp(vec[0], "T") && strcmp(vec[0], "F")))
		return -EINVAL;
	ret = vec[0][0] == 'T' ? xs_txn_check_quota(d, c, t) : 0;
	if (ret == 0 && vec[0][0] == 'T')
		ret = xs_txn_commit(&d->st, &t->tx);
	ev = ret == 0 && vec[0][0] == 'T' ? t->events : NULL;
	if (ev)
		t->events = NULL;
	xs_txn_drop(c, t);
	if (ret < 0)
		return ret;
	xs_reply_ok(d, c);
	xs_event_flush(d, ev);
	return 0;
}

/*
 * The domid that a dom0-only domain op (INTRODUCE, RELEASE, RESUME) names in
 * its first of nargs arguments: -EACCES from a domain, -EINVAL if malformed.
 */
static int dom0_domid_arg(struct xs_conn *c, unsigned int nargs, unsigned int *domid)
{
	const char *vec[3];
	int ret = xs_args(c, vec, nargs);

	if (c->domid)
		return -EACCES;
	if (ret != (int)nargs || xs_domid_parse(vec[0], domid) < 0)
		return -EINVAL;
	return 0;
}

static int xs_op_introduce(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	unsigned int domid;
	int ret = dom0_domid_arg(c, 3, &domid);

	(void)t;
	if (ret == 0 && domid == 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = xs_domain_introduce(d, domid);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

static int xs_op_release(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	unsigned int domid;
	int ret = dom0_domid_arg(c, 1, &domid);

	(void)t;
	if (ret == 0 && domid == 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = xs_domain_release(d, domid);
	return ret < 0 ? ret : xs_reply_ok(d, c);
}

static int xs_op_resume(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	unsigned int domid;
	int ret = dom0_domid_arg(c, 1, &domid);

	(void)t;
	if (ret < 0)
		return ret;
	if (!xs_domain_find(d, domid))
		return -ENOENT;
	return xs_reply_ok(d, c);
}

static int xs_op_domain_path(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	const char *vec[1];
	unsigned int domid;
	char buf[32];
	int ret = xs_args(c, vec, 1);

	(void)t;
	if (ret != 1 || xs_domid_parse(vec[0], &domid) < 0)
		return -EINVAL;
	ret = snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
	return xs_reply(d, c, buf, (unsigned int)ret + 1);
}

static int xs_op_introduced(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	const char *vec[1];
	unsigned int domid;
	int ret = xs_args(c, vec, 1);

	(void)t;
	if (ret != 1 || xs_domid_parse(vec[0], &domid) < 0)
		return -EINVAL;
	return xs_reply(d, c, domid == 0 || xs_domain_find(d, domid) ? "T" : "F", 2);
}

/* Drops the caller's watches and transactions. */
static int xs_op_reset_watches(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	(void)t;
	xs_watch_free_all(c);
	while (c->txns)
		xs_txn_drop(c, c->txns);
	return xs_reply_ok(d, c);
}

/*
 * CONTROL fairness: dom0's requests read and the most guest requests read between the start
 * of the loop turn before the one that read a dom0 request and its reading (tests/flood-fair).
 */
static int xs_control_fairness(struct xs_daemon *d, struct xs_conn *c)
{
	char buf[96];
	int len = snprintf(buf, sizeof(buf), "dom0-requests %llu\nguest-requests-ahead-max %llu\n",
			   (unsigned long long)d->dom0_reqs, (unsigned long long)d->dom0_ahead_max);

	return xs_reply(d, c, buf, (unsigned int)len + 1);
}

static int xs_op_control(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t)
{
	static const char help[] =
	    "check\nfairness\nhelp\nprint <string>\nquota [set <name> <val>|<domid>]\n";
	const char *vec[5];
	int n = xs_args(c, vec, 5);

	(void)t;
	if (c->domid)
		return -EACCES;
	if (n < 1)
		return -EINVAL;
	if (!strcmp(vec[0], "check"))
		return xs_reply_ok(d, c);
	if (!strcmp(vec[0], "help"))
		return xs_reply(d, c, help, sizeof(help));
	if (!strcmp(vec[0], "print") && n == 2) {
		fprintf(stderr, "pvio-xenstored: %s\n", vec[1]);
		return xs_reply_ok(d, c);
	}
	if (!strcmp(vec[0], "quota"))
		return xs_control_quota(d, c, vec + 1, n - 1);
	if (!strcmp(vec[0], "fairness"))
		return xs_control_fairness(d, c);
	return -EINVAL;
}

/* Operations that ignore the header's transaction id (or check it themselves). */
static const xs_op_fn xs_conn_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = xs_op_control,
	[XS_WATCH] = xs_op_watch,
	[XS_UNWATCH] = xs_op_unwatch,
	[XS_TRANSACTION_START] = xs_op_tx_start,
	[XS_INTRODUCE] = xs_op_introduce,
	[XS_RELEASE] = xs_op_release,
	[XS_RESUME] = xs_op_resume,
	[XS_GET_DOMAIN_PATH] = xs_op_domain_path,
	[XS_IS_DOMAIN_INTRODUCED] = xs_op_introduced,
	[XS_RESET_WATCHES] = xs_op_reset_watches,
};

static struct xs_conn_txn *xs_txn_find(struct xs_conn *c, uint32_t id)
{
	struct xs_conn_txn *t;

	for (t = c->txns; t && t->id != id; t = t->next)
		;
	return t;
}

/* Whether a request counts against the write rate: changes outside a transaction, and ends. */
static bool xs_is_write(uint32_t type, uint32_t tx_id)
{
	if (type == XS_TRANSACTION_END)
		return true;
	if (tx_id)
		return false;
	return type == XS_WRITE || type == XS_MKDIR || type == XS_RM || type == XS_SET_PERMS;
}

void xs_ops_dispatch(struct xs_daemon *d, struct xs_conn *c)
{
	uint32_t type = c->hdr.type;
	struct xs_conn_txn *t = NULL;
	xs_op_fn fn = xs_node_op(type);
	int ret;

	if (c->hdr.tx_id && (fn || type == XS_TRANSACTION_END || type == XS_TRANSACTION_START)) {
		t = xs_txn_find(c, c->hdr.tx_id);
		if (!t) {
			xs_reply_err(d, c, ENOENT);
			return;
		}
	}
	if (t) {
		/* Read the quota at each request: CONTROL quota set may change it. */
		t->tx.max_nodes = c->domid ? d->quota.tx_nodes : 0;
		t->tx.err = 0;
	}
	if (!fn && type == XS_TRANSACTION_END)
		fn = xs_op_tx_end;
	if (!fn && type < XS_TYPE_COUNT)
		fn = xs_conn_ops[type];
	ret = fn ? fn(d, c, t) : -ENOSYS;
	if (ret == 0 && xs_is_write(type, c->hdr.tx_id))
		xs_wrl_debit(d, c->domid);
	if (ret == -ERANGE || ret == -ENAMETOOLONG)
		ret = -EINVAL;
	if (ret < 0)
		xs_reply_err(d, c, -ret);
}
