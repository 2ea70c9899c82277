/* SPDX-License-Identifier: MIT */
/*
 * netback.c - one netback queue: attach and detach its rings, the process loop over both
 * directions, counters and the frame parser the offloads need (see netback.h).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "backend/net/netback-priv.h"

/* Guest-triggered warnings logged per queue before going quiet. */
#define NETBACK_LOG_BUDGET 16u

struct pvio_log *netback_log(const struct netback_queue *q)
{
	return q->p.log ? q->p.log : pvio_log_stderr(PVIO_LOG_WARN);
}

void netback_warn(struct netback_queue *q, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!q->log_budget)
		return;
	q->log_budget--;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pvio_log(netback_log(q), PVIO_LOG_WARN, PREFIX, "%s: %s%s", q->p.name, msg,
		 q->log_budget ? "" : " (further messages suppressed)");
}

static bool params_ok(const struct netback_queue_params *p)
{
	return p->tap_fd >= 0 && p->tx_port && p->rx_port;
}

int netback_queue_attach(struct netback_queue **qp, struct hv *hv,
			 const struct netback_queue_params *p)
{
	struct netback_queue *q;
	int ret;

	if (!params_ok(p))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->hv = hv;
	q->p = *p;
	snprintf(q->name_buf, sizeof(q->name_buf), "%s", p->name ? p->name : "vif");
	q->p.name = q->name_buf;
	q->log_budget = NETBACK_LOG_BUDGET;
	pthread_mutex_init(&q->rate_lock, NULL);
	netback_credit_set(&q->credit, p->rate_bytes, p->rate_usec, netback_now_ns());
	q->txbuf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_FRAME_MAX);
	q->rxbuf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_FRAME_MAX + 1); /* + 1: rx_read */
	ret = q->txbuf && q->rxbuf ? 0 : -ENOMEM;
	if (!ret)
		ret = hv_grant_map(hv, p->frontend, 1, &p->tx_ref, true, &q->tx_sring);
	if (ret)
		goto free_q;
	ret = hv_grant_map(hv, p->frontend, 1, &p->rx_ref, true, &q->rx_sring);
	if (ret)
		goto unmap_tx;
	ret = ring_back_attach(&q->tx, q->tx_sring, 0, sizeof(struct netif_tx_request),
			       sizeof(struct netif_tx_response));
	if (!ret)
		ret = ring_back_attach(&q->rx, q->rx_sring, 0, sizeof(struct netif_rx_request),
				       sizeof(struct netif_rx_response));
	if (ret)
		goto unmap_rx;
	q->maps = hv_grant_map_cheap(hv); /* frames through mapped pages */
	q->rx_guess = 1;		  /* the GSO extra info */
	*qp = q;
	return 0;
unmap_rx:
	hv_grant_unmap(hv, q->rx_sring, 1);
unmap_tx:
	hv_grant_unmap(hv, q->tx_sring, 1);
free_q:
	pthread_mutex_destroy(&q->rate_lock);
	free(q->txbuf);
	free(q->rxbuf);
	free(q);
	return ret;
}

uint64_t netback_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void netback_queue_set_rate(struct netback_queue *q, uint64_t bytes, uint64_t usec)
{
	pthread_mutex_lock(&q->rate_lock);
	q->rate_bytes = bytes;
	q->rate_usec = usec;
	pthread_mutex_unlock(&q->rate_lock);
	atomic_store(&q->rate_changed, true);
}

/* The queue's thread takes up a rate another thread set. */
static void rate_apply(struct netback_queue *q)
{
	uint64_t bytes, usec;

	if (!atomic_exchange(&q->rate_changed, false))
		return;
	pthread_mutex_lock(&q->rate_lock);
	bytes = q->rate_bytes;
	usec = q->rate_usec;
	pthread_mutex_unlock(&q->rate_lock);
	netback_credit_set(&q->credit, bytes, usec, netback_now_ns());
}

uint64_t netback_queue_deadline(const struct netback_queue *q)
{
	return q->tx_holding && q->credit.waiting ? q->credit.deadline : 0;
}

uint64_t netback_queue_eoi(struct netback_queue *q, uint64_t now)
{
	return ring_eoi_rule(&q->eoi, q->ring_work, now, &q->st.ev_spurious, &q->st.ev_delayed);
}

int netback_queue_process(struct netback_queue *q)
{
	int tx, rx;

	rate_apply(q);
	tx = netback_tx_process(q);

	if (tx < 0)
		return tx;
	rx = netback_rx_process(q);
	if (rx < 0)
		return rx;
	return tx || rx;
}

bool netback_queue_wants_tap(const struct netback_queue *q)
{
	return !q->rx_held && q->rxq_len > 0;
}

void netback_queue_stats(const struct netback_queue *q, struct netback_stats *st)
{
	*st = q->st;
}

void netback_queue_indices(const struct netback_queue *q, struct ring_indices *tx,
			   struct ring_indices *rx)
{
	ring_back_indices(&q->tx, tx);
	ring_back_indices(&q->rx, rx);
}

void netback_queue_view(const struct netback_queue *q, struct netback_queue_view *v)
{
	netback_queue_indices(q, &v->tx, &v->rx);
	v->tx_cons = q->tx.req_cons;
	v->rx_cons = q->rx.req_cons;
}

void netback_stats_add(struct netback_stats *sum, const struct netback_stats *st)
{
	uint64_t *s = (uint64_t *)sum;
	const uint64_t *a = (const uint64_t *)st;

	/* Every field is a uint64_t counter (checked below). */
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		s[i] += a[i];
}
_Static_assert(sizeof(struct netback_stats) % sizeof(uint64_t) == 0, "counters only");

void netback_queue_detach(struct netback_queue *q)
{
	if (!q)
		return;
	netback_rx_unmap(q);
	hv_grant_unmap(q->hv, q->rx_sring, 1);
	hv_grant_unmap(q->hv, q->tx_sring, 1);
	pthread_mutex_destroy(&q->rate_lock);
	free(q->txbuf);
	free(q->rxbuf);
	free(q);
}

/* ---- the parser the offloads need ---- */

#define ETH_HLEN_      14u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u

static int l3_find(const uint8_t *f, size_t len, size_t *l3, uint16_t *type)
{
	size_t off = 12;
	uint16_t t;

	if (len < ETH_HLEN_)
		return -EINVAL;
	t = (uint16_t)(f[off] << 8 | f[off + 1]);
	if (t == ETHERTYPE_VLAN) { /* one 802.1Q tag */
		off += 4;
		if (len < off + 2)
			return -EINVAL;
		t = (uint16_t)(f[off] << 8 | f[off + 1]);
	}
	*l3 = off + 2;
	*type = t;
	return 0;
}

int netback_l4_find(const uint8_t *f, size_t len, size_t *off, uint8_t *proto, bool *v6)
{
	size_t l3, hlen;
	uint16_t type;

	if (l3_find(f, len, &l3, &type))
		return -EINVAL;
	if (type == ETHERTYPE_IPV4) {
		if (len < l3 + 20 || (f[l3] >> 4) != 4)
			return -EINVAL;
		hlen = (f[l3] & 0xfu) * 4u;
		/* A fragment after the first has no L4 header. */
		if (hlen < 20 || ((f[l3 + 6] & 0x1fu) | f[l3 + 7]))
			return -EINVAL;
		*proto = f[l3 + 9];
		*v6 = false;
	} else if (type == ETHERTYPE_IPV6) {
		if (len < l3 + 40 || (f[l3] >> 4) != 6)
			return -EINVAL;
		hlen = 40;
		*proto = f[l3 + 6];
		*v6 = true;
		/*
		 * Extension headers, as Linux's skb_checksum_setup_ipv6 walks them: hop-by-hop,
		 * routing and destination options (8-byte units past the first 8), authentication
		 * (4-byte units past the first 8); a fragment header ends it, no offload (a
		 * fragment has no whole L4 checksum).  Each within the frame; at most 8 of them.
		 */
		for (unsigned int n = 0;
		     *proto == 0 || *proto == 43 || *proto == 60 || *proto == 51 || *proto == 44;
		     n++) {
			size_t at = l3 + hlen, elen;

			if (*proto == 44 || n == 8 || len < at + 8)
				return -EINVAL;
			elen = *proto == 51 ? (f[at + 1] + 2u) * 4u : (f[at + 1] + 1u) * 8u;
			if (len < at + elen)
				return -EINVAL;
			*proto = f[at];
			hlen += elen;
		}
	} else {
		return -EINVAL;
	}
	*off = l3 + hlen;
	if (*proto == 6 && len >= *off + 20 && (f[*off + 12] >> 4) * 4u >= 20 &&
	    len >= *off + (f[*off + 12] >> 4) * 4u)
		return 0;
	if (*proto == 17 && len >= *off + 8)
		return 0;
	return -EINVAL;
}
