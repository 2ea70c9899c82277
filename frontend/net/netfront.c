/* SPDX-License-Identifier: MIT */
/*
 * netfront.c - libpvio-netfront (see pvio/netfront.h): the xenbus handshake of Linux's
 * xen-netfront (talk_to_netback, write_queue_xenstore_keys, xennet_connect) and each queue's TX
 * and RX rings (the RX path is rx.c).
 *
 * Pages: one per ring slot each way and queue, granted once per connection.  A TX page is
 * handed out again only after the back-end answered the slot that carried it; an RX page is
 * posted again only after its data was copied out.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h> /* Xen's public headers expect it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <xen/io/netif.h>

#include <linux/virtio_net.h>

#include "frontend/net/netfront.h"
#include "frontend/net/rx.h"
#include "hv/hv.h"
#include "ring/ring.h"
#include "xenbus/xenbus.h"

/* One queue: its rings, pages and event channels (one port for both rings unless split). */
struct nf_queue {
	evtchn_port_t tx_port; /* our port for TX (event-channel-tx, or event-channel) */
	evtchn_port_t rx_port; /* for RX (event-channel-rx); tx_port when not split */
	void *txs, *rxs;       /* the ring pages */
	grant_ref_t tx_ref, rx_ref;
	struct ring_front tx;	  /* our end of TX */
	uint8_t *txp, *rxp;	  /* NF_RING pages each way */
	grant_ref_t txr[NF_RING]; /* their grants */
	grant_ref_t rxr[NF_RING];
	uint16_t tx_free[NF_RING]; /* TX pages not in flight */
	unsigned int tx_nfree;	   /* entries of tx_free */
	bool tx_busy[NF_RING];	   /* TX page id is in flight */
	struct nf_rx rx;	   /* the RX path */
};

/* Where the device is (as libpvio-blkfront's reconnect.c). */
enum nf_status {
	NF_CONNECTED,	 /* queues up */
	NF_CONNECTING,	 /* keys written, waiting for the back-end's Connected */
	NF_DISCONNECTED, /* the back-end was lost: waiting for it to come back (Closed/InitWait) */
	NF_INITIALISING, /* we said Initialising: waiting for its InitWait */
	NF_GONE,	 /* its directory is gone: -ENOTCONN from now on */
};

struct netfront {
	struct hv *hv;	      /* the guest's seam (owned) */
	struct xs_handle *xs; /* xenstore (owned when own_xs) */
	bool own_xs;	      /* xs was opened here */
	struct xenbus_dev xd; /* device/vif/<devid> and the back-end's directory */
	int epfd;	      /* netfront_fd: the event channels and xenstore */
	enum nf_status status;
	unsigned int want_q;   /* opts.queues */
	uint64_t reconnects;   /* connections after the first */
	unsigned int nq;       /* queues */
	unsigned int rx_next;  /* the queue netfront_recv looks at first */
	struct nf_queue *q;    /* nq of them */
	uint8_t mac[6];	       /* from the toolstack */
	bool vnet;	       /* frames carry a virtio-net header */
	bool split;	       /* a port each for TX and RX (feature-split-event-channels) */
	unsigned int offloads; /* NETFRONT_OFFLOAD_* negotiated */
	bool fit_logged;       /* fit_queues said why it took fewer queues */
	int report;	       /* an error for netfront_poll to say once (-EPROTO) */
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes, rx_errors; /* of the queues torn down (reconnects) */
};

/* ---- tearing down ---- */

/* End a share the back-end has let go; one still mapped stays granted, never reused. */
static void end_share(struct netfront *nf, void *addr, unsigned int count)
{
	if (addr && hv_grant_end(nf->hv, addr, count) == -EBUSY)
		fprintf(stderr, "netfront: the back-end still maps %u page(s): left granted\n",
			count);
}

static void queue_release(struct netfront *nf, struct nf_queue *q)
{
	if (q->rx_port && q->rx_port != q->tx_port)
		hv_evtchn_unbind(nf->hv, q->rx_port);
	if (q->tx_port)
		hv_evtchn_unbind(nf->hv, q->tx_port);
	end_share(nf, q->txs, 1);
	end_share(nf, q->rxs, 1);
	end_share(nf, q->txp, NF_RING);
	end_share(nf, q->rxp, NF_RING);
}

/* Tear every queue down (a grant the back-end still maps stays granted, never reused). */
static void queues_release(struct netfront *nf)
{
	for (unsigned int i = 0; nf->q && i < nf->nq; i++) {
		/* The counters count since the open, across reconnects, as the TX ones do. */
		nf->rx_packets += nf->q[i].rx.packets;
		nf->rx_bytes += nf->q[i].rx.bytes;
		nf->rx_errors += nf->q[i].rx.errors;
		queue_release(nf, &nf->q[i]);
	}
	free(nf->q);
	nf->q = NULL;
	nf->nq = 0;
	nf->rx_next = 0;
}

/* ---- the handshake ---- */

/* One queue's keys: in the device's directory, or its queue-N/ when there are several. */
static int queue_keys(struct netfront *nf, xs_transaction_t t, unsigned int i)
{
	static const char *const names[] = { "tx-ring-ref", "rx-ring-ref", "event-channel",
					     "event-channel-tx", "event-channel-rx" };
	const struct nf_queue *q = &nf->q[i];
	const unsigned int vals[] = { q->tx_ref, q->rx_ref, q->tx_port, q->tx_port, q->rx_port };
	char key[48];
	int ret = 0;

	for (unsigned int k = 0; !ret && k < 5; k++) {
		/* As Linux: event-channel, or event-channel-tx and -rx when split. */
		if (k >= 2 && (k == 2) == nf->split)
			continue;
		if (nf->nq > 1)
			snprintf(key, sizeof(key), "queue-%u/%s", i, names[k]);
		else
			snprintf(key, sizeof(key), "%s", names[k]);
		ret = xenbus_printf(&nf->xd, t, key, "%u", vals[k]);
	}
	return ret;
}

/*
 * Remove what an earlier connection wrote: a back-end restarted with other features must not
 * read a stale multi-queue-num-queues, queue-N/, event channel or offload key.  0 or a
 * negative errno (a key that is not there is fine).
 */
static int keys_clear(struct netfront *nf, xs_transaction_t t)
{
	static const char *const keys[] = {
		"multi-queue-num-queues", "tx-ring-ref",       "rx-ring-ref",
		"event-channel",	  "event-channel-tx",  "event-channel-rx",
		"feature-gso-tcpv4",	  "feature-gso-tcpv6", "feature-ipv6-csum-offload",
		"feature-no-csum-offload"
	};
	char path[300];

	for (unsigned int i = 0; i < sizeof(keys) / sizeof(keys[0]) + NETFRONT_QUEUES_MAX; i++) {
		if (i < sizeof(keys) / sizeof(keys[0]))
			snprintf(path, sizeof(path), "%s/%s", nf->xd.nodename, keys[i]);
		else
			snprintf(path, sizeof(path), "%s/queue-%zu", nf->xd.nodename,
				 i - sizeof(keys) / sizeof(keys[0]));
		if (!xs_rm(nf->xs, t, path) && errno != ENOENT)
			return errno == EAGAIN ? -EAGAIN : -EIO;
	}
	return 0;
}

static int keys_fn(struct xenbus_dev *xd, xs_transaction_t t, void *arg)
{
	struct netfront *nf = arg;
	int ret = keys_clear(nf, t);

	/* As Linux: multi-queue-num-queues and queue-N/ only with more than one queue. */
	if (!ret && nf->nq > 1)
		ret = xenbus_printf(xd, t, "multi-queue-num-queues", "%u", nf->nq);
	for (unsigned int i = 0; !ret && i < nf->nq; i++)
		ret = queue_keys(nf, t, i);
	if (!ret)
		ret = xenbus_printf(xd, t, "request-rx-copy", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-rx-notify", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "feature-sg", "1");
	if (!ret && (nf->offloads & NETFRONT_OFFLOAD_TSO4))
		ret = xenbus_printf(xd, t, "feature-gso-tcpv4", "1");
	if (!ret && (nf->offloads & NETFRONT_OFFLOAD_TSO6))
		ret = xenbus_printf(xd, t, "feature-gso-tcpv6", "1");
	if (!ret && (nf->offloads & NETFRONT_OFFLOAD_CSUM))
		ret = xenbus_printf(xd, t, "feature-ipv6-csum-offload", "1");
	/* Without offloads frames reach the caller whole with their checksums. */
	if (!ret && !(nf->offloads & NETFRONT_OFFLOAD_CSUM))
		ret = xenbus_printf(xd, t, "feature-no-csum-offload", "1");
	if (!ret)
		ret = xenbus_printf(xd, t, "state", "%d", XenbusStateConnected);
	return ret;
}

/* Grant one queue's rings and pages to the back-end and post every RX buffer. */
static int share(struct netfront *nf, struct nf_queue *q)
{
	domid_t be = nf->xd.otherend_id;
	int ret = hv_grant_share(nf->hv, be, 1, true, &q->txs, &q->tx_ref);

	if (!ret)
		ret = hv_grant_share(nf->hv, be, 1, true, &q->rxs, &q->rx_ref);
	if (!ret)
		ret = hv_grant_share(nf->hv, be, NF_RING, false, (void **)&q->txp, q->txr);
	if (!ret)
		ret = hv_grant_share(nf->hv, be, NF_RING, true, (void **)&q->rxp, q->rxr);
	if (!ret)
		ret = ring_front_init(&q->tx, q->txs, 0, sizeof(struct netif_tx_request),
				      sizeof(struct netif_tx_response));
	if (!ret)
		ret = nf_rx_init(&q->rx, q->rxs, q->rxp, q->rxr);
	if (!ret)
		ret = hv_evtchn_alloc_unbound(nf->hv, be, &q->tx_port);
	if (!ret && nf->split)
		ret = hv_evtchn_alloc_unbound(nf->hv, be, &q->rx_port);
	else if (!ret)
		q->rx_port = q->tx_port;
	if (ret)
		return ret;
	for (unsigned int i = 0; i < NF_RING; i++)
		q->tx_free[i] = (uint16_t)(NF_RING - 1 - i);
	q->tx_nfree = NF_RING;
	return ring_front_push(&q->rx.ring) < 0 ? -EPROTO : 0;
}

/* A feature-* flag of the back-end: absent or unreadable is off. */
static bool back_flag(struct netfront *nf, const char *key)
{
	uint32_t v = 0;

	return !xenbus_otherend_read_u32(&nf->xd, XBT_NULL, key, &v) && v;
}

/*
 * What the caller's virtio-net headers may ask for and what RX may carry: partial checksums when
 * the back-end takes them for IPv6 too (a TAP cannot offload IPv4 alone), and TSO on top of it
 * where the back-end offers GSO and scatter-gather.
 */
static unsigned int offloads(struct netfront *nf)
{
	unsigned int o = 0;

	if (!nf->vnet || !back_flag(nf, "feature-ipv6-csum-offload"))
		return 0;
	o = NETFRONT_OFFLOAD_CSUM;
	if (back_flag(nf, "feature-sg") && back_flag(nf, "feature-gso-tcpv4"))
		o |= NETFRONT_OFFLOAD_TSO4;
	if (back_flag(nf, "feature-sg") && back_flag(nf, "feature-gso-tcpv6"))
		o |= NETFRONT_OFFLOAD_TSO6;
	return o;
}

/* As Linux: min(the back-end's multi-queue-max-queues (1 if absent), ours, online CPUs). */
static unsigned int queue_count(struct netfront *nf, unsigned int want)
{
	uint32_t max = 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (xenbus_otherend_read_u32(&nf->xd, XBT_NULL, "multi-queue-max-queues", &max) || !max)
		max = 1;
	if (!want)
		want = cpus > 0 ? (unsigned int)cpus : 1;
	if (want > max)
		want = max;
	return want < NETFRONT_QUEUES_MAX ? want : NETFRONT_QUEUES_MAX;
}

/* Grants one queue shares: its two rings and a page per slot each way. */
#define NF_QUEUE_GRANTS (2u + 2u * NF_RING)

/*
 * Fit the queues into the grants this process may still share (gntalloc's `limit` on Xen,
 * 1024 by default: one queue, not the two a 2-vCPU domU would take): fewer queues, or -ENOSPC
 * when not even one fits.  A limit we cannot read leaves them as they are: sharing then fails
 * with the kernel's own error.
 */
static int fit_queues(struct netfront *nf)
{
	unsigned int left, fit;

	if (hv_grant_left(nf->hv, &left) < 0 || left / NF_QUEUE_GRANTS >= nf->nq)
		return 0;
	fit = left / NF_QUEUE_GRANTS;
	if (!fit) {
		fprintf(stderr,
			"netfront: a queue shares %u grants, only %u are left under the grant "
			"limit (gntalloc's limit on Xen)\n",
			NF_QUEUE_GRANTS, left);
		return -ENOSPC;
	}
	if (!nf->fit_logged)
		fprintf(
		    stderr,
		    "netfront: %u queue(s), not %u: %u grants a queue must fit the %u left under "
		    "the grant limit (gntalloc's limit on Xen)\n",
		    fit, nf->nq, NF_QUEUE_GRANTS, left);
	nf->fit_logged = true;
	nf->nq = fit;
	return 0;
}

/* At the back-end's InitWait: negotiate, grant every queue, write our keys and Connected. */
static int talk_to_netback(struct netfront *nf)
{
	uint32_t copy = 0;
	int ret = 0;

	/* As Linux netfront: without the copying receive path there is nothing to do. */
	if (xenbus_otherend_read_u32(&nf->xd, XBT_NULL, "feature-rx-copy", &copy) || !copy)
		return -ENODEV;
	/*
	 * Everything is read again: a restarted back-end may offer other queues, offloads or event
	 * channels; and, as Linux's, a protocol error of the last connection is forgotten.
	 */
	queues_release(nf);
	nf->report = 0;
	nf->split = back_flag(nf, "feature-split-event-channels");
	nf->offloads = offloads(nf);
	nf->nq = queue_count(nf, nf->want_q);
	ret = fit_queues(nf);
	if (ret)
		return ret;
	nf->q = calloc(nf->nq, sizeof(*nf->q));
	if (!nf->q)
		return -ENOMEM;
	for (unsigned int i = 0; !ret && i < nf->nq; i++) {
		nf->q[i].rx.vnet = nf->vnet;
		nf->q[i].rx.gso_ok = nf->offloads & (NETFRONT_OFFLOAD_TSO4 | NETFRONT_OFFLOAD_TSO6);
		ret = share(nf, &nf->q[i]);
	}
	if (!ret)
		ret = xenbus_transaction(&nf->xd, keys_fn, nf);
	if (!ret) {
		nf->xd.state = XenbusStateConnected;
		nf->status = NF_CONNECTING;
	}
	return ret;
}

/*
 * An earlier front-end's clean close left us Closed, and the back-end Closed with us: say
 * Initialising, on which Linux's netback and pvio-netback offer InitWait again.
 */
static int reopen_closed(struct netfront *nf)
{
	uint32_t own;

	if (xenbus_read_u32(&nf->xd, XBT_NULL, "state", &own) || own != XenbusStateClosed)
		return 0;
	return xenbus_switch_state(&nf->xd, XenbusStateInitialising);
}

/* The first connection: the back-end's InitWait, our keys, its Connected. */
static int handshake(struct netfront *nf, int timeout_ms)
{
	char *mac;
	int ret = xenbus_read_str(&nf->xd, XBT_NULL, "mac", &mac);

	if (!ret) {
		ret = xenbus_parse_mac(mac, nf->mac);
		free(mac);
	}
	if (!ret)
		ret = reopen_closed(nf);
	if (!ret)
		ret = xenbus_wait_otherend_state(&nf->xd, XenbusStateInitWait, timeout_ms, NULL);
	if (!ret)
		ret = talk_to_netback(nf);
	if (!ret)
		ret = xenbus_wait_otherend_state(&nf->xd, XenbusStateConnected, timeout_ms, NULL);
	if (!ret)
		nf->status = NF_CONNECTED;
	return ret;
}

/* One fd for the caller to wait on: the event channels' and xenstore's (the state watch). */
static int epoll_make(struct netfront *nf)
{
	struct epoll_event ev = { .events = EPOLLIN };

	nf->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (nf->epfd < 0)
		return -errno;
	if (epoll_ctl(nf->epfd, EPOLL_CTL_ADD, hv_evtchn_fd(nf->hv), &ev) ||
	    epoll_ctl(nf->epfd, EPOLL_CTL_ADD, xs_fileno(nf->xs), &ev))
		return -errno;
	return 0;
}

int netfront_open(struct netfront **nfp, const struct netfront_opts *opts)
{
	struct netfront *nf = calloc(1, sizeof(*nf));
	char path[64];
	domid_t me;
	int ret;

	if (!nf)
		return -ENOMEM;
	nf->epfd = -1;
	nf->want_q = opts->queues;
	ret = hv_open(&nf->hv, NULL);
	if (ret)
		goto fail;
	nf->vnet = opts->vnet_hdr;
	nf->xs = opts->xs;
	if (!nf->xs) {
		nf->xs = xs_open(0);
		nf->own_xs = true;
	}
	ret = nf->xs ? hv_domid(nf->hv, &me) : -ECONNREFUSED;
	if (ret)
		goto fail;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u", me, opts->devid);
	ret = xenbus_dev_open(&nf->xd, nf->xs, XENBUS_FRONTEND, path);
	if (!ret)
		ret = handshake(nf, opts->timeout_ms ? opts->timeout_ms : 10000);
	if (!ret)
		ret = epoll_make(nf);
	if (ret)
		goto fail;
	*nfp = nf;
	return 0;
fail:
	netfront_close(nf);
	return ret;
}

void netfront_close(struct netfront *nf)
{
	if (!nf)
		return;
	if (nf->xd.nodename) {
		xenbus_switch_state(&nf->xd, XenbusStateClosing);
		xenbus_wait_otherend(&nf->xd,
				     XENBUS_STATE_BIT(XenbusStateClosing) |
					 XENBUS_STATE_BIT(XenbusStateClosed) |
					 XENBUS_STATE_BIT(XenbusStateUnknown),
				     5000, NULL);
		xenbus_switch_state(&nf->xd, XenbusStateClosed);
		xenbus_wait_otherend(&nf->xd,
				     XENBUS_STATE_BIT(XenbusStateClosed) |
					 XENBUS_STATE_BIT(XenbusStateUnknown) |
					 XENBUS_STATE_BIT(XenbusStateInitWait),
				     5000, NULL);
		xenbus_dev_close(&nf->xd);
	}
	queues_release(nf);
	if (nf->epfd >= 0)
		close(nf->epfd);
	if (nf->own_xs && nf->xs)
		xs_close(nf->xs);
	if (nf->hv)
		hv_close(nf->hv);
	free(nf);
}

void netfront_mac(const struct netfront *nf, uint8_t mac[6])
{
	memcpy(mac, nf->mac, 6);
}

int netfront_fd(const struct netfront *nf)
{
	return nf->epfd;
}

unsigned int netfront_offloads(const struct netfront *nf)
{
	return nf->offloads;
}

unsigned int netfront_queues(const struct netfront *nf)
{
	return nf->status == NF_CONNECTED ? nf->nq : 0;
}

void netfront_get_stats(const struct netfront *nf, struct netfront_stats *st)
{
	*st = (struct netfront_stats){ .tx_packets = nf->tx_packets,
				       .tx_bytes = nf->tx_bytes,
				       .tx_errors = nf->tx_errors,
				       .rx_packets = nf->rx_packets,
				       .rx_bytes = nf->rx_bytes,
				       .rx_errors = nf->rx_errors };
	for (unsigned int i = 0; i < nf->nq; i++) {
		st->rx_packets += nf->q[i].rx.packets;
		st->rx_bytes += nf->q[i].rx.bytes;
		st->rx_errors += nf->q[i].rx.errors;
	}
}

/* ---- TX ---- */

static void lost(struct netfront *nf, const char *why);

/*
 * The back-end broke the protocol: drop the connection as if it were lost (it is asked to
 * close, and a new handshake follows), and have netfront_poll say -EPROTO once.  -EPROTO.
 */
static int broke(struct netfront *nf)
{
	if (nf->status == NF_CONNECTED || nf->status == NF_CONNECTING)
		lost(nf, "protocol error");
	nf->report = -EPROTO;
	return -EPROTO;
}

/* Notify port when the push said the back-end wants it. */
static int notify_if(struct netfront *nf, evtchn_port_t port, int pushed)
{
	if (pushed < 0)
		return broke(nf);
	return pushed > 0 ? hv_evtchn_notify(nf->hv, port) : 0;
}

/*
 * The first slot's flags and the GSO extra info (type 0: none) for a virtio-net header: 0, or
 * -EINVAL for an offload not negotiated.
 */
static int tx_offloads(const struct netfront *nf, const struct virtio_net_hdr *h, uint16_t *flags,
		       struct netif_extra_info *gso)
{
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	*flags = 0;
	memset(gso, 0, sizeof(*gso));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(nf->offloads & NETFRONT_OFFLOAD_CSUM))
			return -EINVAL;
		*flags = NETTXF_csum_blank | NETTXF_data_validated;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		*flags = NETTXF_data_validated;
	}
	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	if (!h->gso_size || !(*flags & NETTXF_csum_blank) ||
	    !(type == VIRTIO_NET_HDR_GSO_TCPV4	 ? nf->offloads & NETFRONT_OFFLOAD_TSO4
	      : type == VIRTIO_NET_HDR_GSO_TCPV6 ? nf->offloads & NETFRONT_OFFLOAD_TSO6
						 : 0))
		return -EINVAL;
	gso->type = XEN_NETIF_EXTRA_TYPE_GSO;
	gso->u.gso.size = h->gso_size;
	gso->u.gso.type =
	    type == VIRTIO_NET_HDR_GSO_TCPV4 ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
	*flags |= NETTXF_extra_info;
	return 0;
}

/* The GSO extra info into the slot after the first (it carries no page and no id). */
static void tx_extra(struct nf_queue *q, const struct netif_extra_info *gso)
{
	struct netif_extra_info *x = ring_front_req_slot(&q->tx);

	x->type = gso->type;
	x->flags = 0;
	x->u.gso.size = gso->u.gso.size;
	x->u.gso.type = gso->u.gso.type;
}

/* Page i of the next frame: the i-th free TX page from the top of the stack. */
static uint16_t tx_page(const struct nf_queue *q, unsigned int i)
{
	return q->tx_free[q->tx_nfree - 1 - i];
}

/* Publish a frame of len bytes already in the next free TX pages (tx_page order). */
static int tx_publish(struct netfront *nf, struct nf_queue *q, size_t len, uint16_t flags,
		      const struct netif_extra_info *gso)
{
	unsigned int n = (unsigned int)((len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE);

	for (unsigned int i = 0; i < n; i++) {
		struct netif_tx_request *r = ring_front_req_slot(&q->tx);
		uint16_t id = q->tx_free[--q->tx_nfree];
		size_t part = len - (size_t)i * HV_PAGE_SIZE;

		if (part > HV_PAGE_SIZE)
			part = HV_PAGE_SIZE;
		q->tx_busy[id] = true;
		r->gref = q->txr[id];
		r->offset = 0;
		r->id = id;
		r->size = (uint16_t)(i ? part : len); /* the first slot says the frame's size */
		r->flags = (uint16_t)((i ? 0 : flags) | (i + 1 < n ? NETTXF_more_data : 0));
		if (!i && gso->type)
			tx_extra(q, gso);
	}
	nf->tx_packets++;
	nf->tx_bytes += len;
	return notify_if(nf, q->tx_port, ring_front_push(&q->tx));
}

int netfront_send_queue(struct netfront *nf, unsigned int qi, const void *buf, size_t len)
{
	const uint8_t *frame = buf;
	struct netif_extra_info gso = { 0 };
	struct virtio_net_hdr h = { 0 };
	uint16_t flags = 0;
	struct nf_queue *q;
	unsigned int n;

	if (nf->status != NF_CONNECTED)
		return -ENOTCONN;
	if (nf->vnet && len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		frame += sizeof(h);
		len -= sizeof(h);
	} else if (nf->vnet) {
		return -EINVAL;
	}
	if (len < 14 || len > NETFRONT_FRAME_MAX || qi >= nf->nq ||
	    tx_offloads(nf, &h, &flags, &gso))
		return -EINVAL;
	q = &nf->q[qi];
	n = (unsigned int)((len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE);
	if (n > q->tx_nfree || n + !!gso.type > ring_front_free(&q->tx))
		return -EAGAIN;
	for (unsigned int i = 0; i < n; i++) {
		size_t part = len - (size_t)i * HV_PAGE_SIZE;

		memcpy(q->txp + (size_t)tx_page(q, i) * HV_PAGE_SIZE,
		       frame + (size_t)i * HV_PAGE_SIZE, part > HV_PAGE_SIZE ? HV_PAGE_SIZE : part);
	}
	return tx_publish(nf, q, len, flags, &gso);
}

/* TX pages a frame of NETFRONT_FRAME_MAX bytes takes. */
#define TX_PAGES_MAX ((NETFRONT_FRAME_MAX + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE)

ssize_t netfront_send_queue_fd(struct netfront *nf, unsigned int qi, int fd)
{
	struct netif_extra_info gso = { 0 };
	struct virtio_net_hdr h = { 0 };
	struct iovec iov[1 + TX_PAGES_MAX];
	uint16_t flags = 0;
	struct nf_queue *q;
	unsigned int k = 0;
	ssize_t n;
	size_t len;
	int ret;

	if (nf->status != NF_CONNECTED)
		return -ENOTCONN;
	if (qi >= nf->nq)
		return -EINVAL;
	q = &nf->q[qi];
	/* Room for the largest frame first: its size is known only once it is read. */
	if (TX_PAGES_MAX > q->tx_nfree || TX_PAGES_MAX + 1 > ring_front_free(&q->tx))
		return -ENOBUFS;
	if (nf->vnet)
		iov[k++] = (struct iovec){ &h, sizeof(h) };
	for (unsigned int i = 0; i < TX_PAGES_MAX; i++)
		iov[k++] =
		    (struct iovec){ q->txp + (size_t)tx_page(q, i) * HV_PAGE_SIZE, HV_PAGE_SIZE };
	n = readv(fd, iov, (int)k);
	if (n <= 0)
		return n == 0 || errno == EAGAIN ? -EAGAIN : -errno;
	len = (size_t)n - (nf->vnet ? sizeof(h) : 0);
	if ((nf->vnet && (size_t)n < sizeof(h)) || len < 14 || len > NETFRONT_FRAME_MAX ||
	    tx_offloads(nf, &h, &flags, &gso))
		return -EINVAL; /* read and dropped: its pages stay free */
	ret = tx_publish(nf, q, len, flags, &gso);
	return ret ? ret : n;
}

int netfront_send(struct netfront *nf, const void *frame, size_t len)
{
	return netfront_send_queue(nf, 0, frame, len);
}

/* Collect the back-end's TX answers of q, freeing their pages: how many, or -EPROTO. */
static int tx_reap(struct netfront *nf, struct nf_queue *q)
{
	struct netif_tx_response rsp[32];
	int n, got = 0;

	do {
		while ((n = ring_front_consume(&q->tx, rsp, 32)) > 0) {
			got += n;
			for (int i = 0; i < n; i++) {
				if (rsp[i].status == NETIF_RSP_NULL)
					continue; /* an extra-info slot's: no page */
				if (rsp[i].id >= NF_RING || !q->tx_busy[rsp[i].id])
					return broke(nf); /* a slot not in flight */
				q->tx_busy[rsp[i].id] = false;
				q->tx_free[q->tx_nfree++] = rsp[i].id;
				if (rsp[i].status != NETIF_RSP_OKAY)
					nf->tx_errors++;
			}
		}
		if (n < 0)
			return broke(nf);
	} while ((n = ring_front_final_check(&q->tx)) > 0);
	return n < 0 ? broke(nf) : got;
}

/* ---- RX ---- */

/* Assemble q's next frame and hand the back-end the buffers taken. */
static int rx_collect(struct netfront *nf, struct nf_queue *q)
{
	if (nf_rx_collect(&q->rx))
		return broke(nf);
	return notify_if(nf, q->rx_port, ring_front_push(&q->rx.ring));
}

/* ---- losing the back-end and connecting again (as libpvio-blkfront's reconnect.c) ---- */

/*
 * Stop using the queues (frames in flight are lost, as on a NIC whose link went) and say
 * Closed.  They are released once the back-end is Closed (or gone): a live one that broke the
 * protocol unmaps them first, so that their grants end instead of staying granted for good.
 */
static void lost(struct netfront *nf, const char *why)
{
	fprintf(stderr, "netfront: the back-end was lost (%s): reconnecting\n", why);
	nf->status = NF_DISCONNECTED;
	xenbus_switch_state(&nf->xd, XenbusStateClosed);
}

/*
 * The toolstack's `online` of the back-end: 0 (or the key gone) once it detached the vif, which
 * then must not start over (as libpvio-blkfront).  A read error counts as online.
 */
static bool back_online(struct netfront *nf)
{
	uint32_t v;
	int ret = xenbus_otherend_read_u32(&nf->xd, XBT_NULL, "online", &v);

	return ret == -ENOENT ? false : ret < 0 || v != 0;
}

/* One step for the back-end's state st: 1 if our status changed, 0, or a negative errno. */
static int act_once(struct netfront *nf, enum xenbus_state st)
{
	enum nf_status before = nf->status;
	int ret = 0;

	if (st == XenbusStateUnknown) { /* its directory is gone: removed */
		if (nf->q)
			queues_release(nf);
		nf->status = NF_GONE;
	} else if (nf->status == NF_CONNECTED || nf->status == NF_CONNECTING) {
		if (st == XenbusStateClosing || st == XenbusStateClosed)
			lost(nf, xenbus_state_name(st));
		else if (nf->status == NF_CONNECTING && st == XenbusStateConnected)
			nf->status = NF_CONNECTED, nf->reconnects++;
	} else if (nf->status == NF_DISCONNECTED) {
		if (st == XenbusStateClosed || st == XenbusStateInitWait) {
			queues_release(nf);
			nf->status = back_online(nf) ? NF_INITIALISING : NF_GONE;
		}
		if (nf->status == NF_INITIALISING)
			ret = xenbus_switch_state(&nf->xd, XenbusStateInitialising);
	} else if (nf->status == NF_INITIALISING && st == XenbusStateInitWait) {
		if (talk_to_netback(nf))
			lost(nf, "handshake failed");
	}
	if (ret < 0)
		return ret;
	return nf->status != before;
}

/* Follow the back-end's state changes, if any. */
static int follow(struct netfront *nf)
{
	enum xenbus_state st;
	int ret = xenbus_otherend_changed(&nf->xd, &st);

	for (unsigned int i = 0; ret > 0 && i < 8; i++)
		ret = act_once(nf, st);
	return ret < 0 ? ret : 0;
}

/* Where port states are cheap to ask: a queue whose port the back-end closed (it died). */
static void check_channels(struct netfront *nf)
{
	if (!hv_evtchn_state_observable(nf->hv))
		return;
	for (unsigned int i = 0; nf->status == NF_CONNECTED && i < 2 * nf->nq; i++) {
		const struct nf_queue *q = &nf->q[i / 2];
		int st = hv_evtchn_state(nf->hv, i % 2 ? q->rx_port : q->tx_port);

		/* An error (-EPERM...) says we cannot ask, not that the channel closed. */
		if (st == HV_EVTCHN_CLOSED || st == HV_EVTCHN_UNBOUND)
			lost(nf, "event channel closed");
	}
}

int netfront_poll(struct netfront *nf)
{
	evtchn_port_t port;
	unsigned int pending = 0;
	int ret = 0, ready = 0;

	while (pending < 64 && hv_evtchn_pending(nf->hv, &port) == 0) {
		hv_evtchn_unmask(nf->hv, port);
		pending++;
	}
	ret = follow(nf);
	if (ret < 0)
		return ret;
	if (nf->status == NF_GONE)
		return -ENOTCONN;
	for (unsigned int i = 0; nf->status == NF_CONNECTED && !ret && i < nf->nq; i++) {
		int got = tx_reap(nf, &nf->q[i]);

		ret = got < 0 ? got : rx_collect(nf, &nf->q[i]);
		ready += nf->q[i].rx.frame_ready;
	}
	/*
	 * Any event may be the back-end closing its end (it died): its last event can merge with
	 * the one its closing sends, so not only events that brought nothing are looked at (a
	 * memory read a port, where check_channels asks at all).
	 */
	if (!ret && pending)
		check_channels(nf);
	if (nf->report) { /* a protocol error: said once, the device reconnecting meanwhile */
		ret = nf->report;
		nf->report = 0;
	}
	return ret ? ret : ready;
}

ssize_t netfront_recv_queue(struct netfront *nf, unsigned int qi, void *buf, size_t cap)
{
	struct nf_queue *q;
	ssize_t n;

	if (nf->status != NF_CONNECTED)
		return -EAGAIN; /* nothing to receive until connected again */
	if (qi >= nf->nq)
		return -EINVAL;
	q = &nf->q[qi];
	n = nf_rx_take(&q->rx, buf, cap);
	if (n == -EPROTO)
		return broke(nf);
	/* The buffers of the frame taken go back to the back-end at once. */
	if (n >= 0 || n == -EAGAIN) {
		int ret = notify_if(nf, q->rx_port, ring_front_push(&q->rx.ring));

		if (ret)
			return ret;
	}
	return n;
}

ssize_t netfront_recv_queue_fd(struct netfront *nf, unsigned int qi, int fd)
{
	struct virtio_net_hdr h;
	struct iovec iov[NF_RX_IOV];
	struct nf_queue *q;
	ssize_t len = 0;
	int n, ret;

	if (nf->status != NF_CONNECTED)
		return -EAGAIN;
	if (qi >= nf->nq)
		return -EINVAL;
	q = &nf->q[qi];
	n = nf_rx_take_iov(&q->rx, &h, iov);
	if (n == -EPROTO)
		return broke(nf);
	if (n >= 0) {
		for (int i = 0; i < n; i++)
			len += (ssize_t)iov[i].iov_len;
		/* One write, one frame (a TAP's); one fd refuses is dropped, as by a NIC. */
		(void)!writev(fd, iov, n);
		nf_rx_release(&q->rx);
	}
	if (n >= 0 || n == -EAGAIN) {
		ret = notify_if(nf, q->rx_port, ring_front_push(&q->rx.ring));
		if (ret)
			return ret;
	}
	return n >= 0 ? len : n;
}

ssize_t netfront_recv(struct netfront *nf, void *buf, size_t cap)
{
	if (nf->status != NF_CONNECTED)
		return -EAGAIN;
	for (unsigned int k = 0; k < nf->nq; k++) {
		unsigned int qi = (nf->rx_next + k) % nf->nq;
		ssize_t n = netfront_recv_queue(nf, qi, buf, cap);

		if (n != -EAGAIN) {
			nf->rx_next = (qi + 1) % nf->nq;
			return n;
		}
	}
	return -EAGAIN;
}
