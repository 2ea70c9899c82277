/* SPDX-License-Identifier: MIT */
/*
 * xs-quota.c - pvio-xenstored's quotas by name, for -Q at start-up and for
 * CONTROL "quota" at run time, which answers as cxenstored's does:
 *
 *	quota			the settings, one "name: value description" a line
 *	quota set NAME VALUE	change one (VALUE >= 1), EINVAL for an unknown name
 *	quota DOMID		what the domain uses now
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xs-daemon.h"

/* Where each quota lives, and what it limits. */
static const struct {
	const char *name;  /* -Q and CONTROL name (cxenstored's where it has one) */
	size_t off;	   /* the field in struct xs_quota */
	const char *descr; /* one line for CONTROL quota */
} xs_quota_names[] = {
	{ "nodes", offsetof(struct xs_quota, nodes), "Nodes per domain" },
	{ "watches", offsetof(struct xs_quota, watches), "Watches per domain" },
	{ "transactions", offsetof(struct xs_quota, transactions), "Transactions per connection" },
	{ "outstanding", offsetof(struct xs_quota, outstanding), "Outstanding requests" },
	{ "transaction-nodes", offsetof(struct xs_quota, tx_nodes), "Nodes per transaction" },
	{ "permissions", offsetof(struct xs_quota, perms), "Permissions per node" },
	{ "path-max", offsetof(struct xs_quota, path_max), "Max. length of a node path" },
	{ "node-size", offsetof(struct xs_quota, node_size), "Max. size of a node" },
	{ "output-queue", offsetof(struct xs_quota, out_max), "Bytes queued before events drop" },
	{ "write-rate", offsetof(struct xs_quota, wrl_rate), "Writes per second per domain" },
	{ "write-burst", offsetof(struct xs_quota, wrl_burst), "Writes a domain may burst" },
	{ "connections", offsetof(struct xs_quota, connections), "Connections per domain" },
	{ "fd-reserve", offsetof(struct xs_quota, fd_reserve), "Descriptors kept for dom0" },
};

#define XS_NQUOTAS (sizeof(xs_quota_names) / sizeof(xs_quota_names[0]))

int xs_quota_set(struct xs_quota *q, const char *name, size_t namelen, const char *value)
{
	unsigned long v;
	unsigned int i;
	char *end;

	for (i = 0; i < XS_NQUOTAS; i++) {
		if (strlen(xs_quota_names[i].name) != namelen ||
		    strncmp(name, xs_quota_names[i].name, namelen))
			continue;
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || value[0] < '0' || value[0] > '9' || v == 0 || v > INT_MAX)
			return -EINVAL;
		*(unsigned int *)((char *)q + xs_quota_names[i].off) = (unsigned int)v;
		return 0;
	}
	return -EINVAL;
}

/* The settings as text into buf: the length (without the NUL). */
static int xs_quota_show(const struct xs_quota *q, char *buf, size_t size)
{
	unsigned int i, v;
	int len = snprintf(buf, size, "Quota settings:\n");

	for (i = 0; i < XS_NQUOTAS && (size_t)len < size; i++) {
		v = *(const unsigned int *)((const char *)q + xs_quota_names[i].off);
		len += snprintf(buf + len, size - (size_t)len, "%-17s: %8u %s\n",
				xs_quota_names[i].name, v, xs_quota_names[i].descr);
	}
	return len;
}

/* What domid uses now, as text into buf: the length. */
static int xs_quota_usage(struct xs_daemon *d, unsigned int domid, char *buf, size_t size)
{
	unsigned int watches = 0, txns = 0, outst = 0;
	const struct xs_domain *dom = xs_domain_find(d, domid);
	const struct xs_conn *c;

	for (c = d->conns; c; c = c->next) {
		if (c->domid != domid)
			continue;
		watches += c->nwatches;
		txns += c->ntxns;
		outst += c->out_replies;
	}
	return snprintf(buf, size,
			"Domain %u:\n%-17s: %8u\n%-17s: %8u\n%-17s: %8u\n%-17s: %8u\n"
			"%-17s: %8llu\n",
			domid, "nodes", d->st.owned[domid], "watches", watches, "transactions",
			txns, "outstanding", outst, "write-throttled",
			dom ? (unsigned long long)dom->wrl.throttled : 0ULL);
}

int xs_control_quota(struct xs_daemon *d, struct xs_conn *c, const char **vec, int n)
{
	char buf[2048];
	unsigned int domid;
	int len, ret;

	if (n == 0) {
		len = xs_quota_show(&d->quota, buf, sizeof(buf));
		return xs_reply(d, c, buf, (unsigned int)len + 1);
	}
	if (!strcmp(vec[0], "set")) {
		if (n != 3)
			return -EINVAL;
		ret = xs_quota_set(&d->quota, vec[1], strlen(vec[1]), vec[2]);
		return ret < 0 ? ret : xs_reply_ok(d, c);
	}
	if (n != 1 || xs_domid_parse(vec[0], &domid) < 0 || (domid && !xs_domain_find(d, domid)))
		return -ENOENT;
	len = xs_quota_usage(d, domid, buf, sizeof(buf));
	return xs_reply(d, c, buf, (unsigned int)len + 1);
}
